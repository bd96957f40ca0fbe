import numpy as np
import pytest

lgb = pytest.importorskip("lightgbm")

from radiolib.anomaly import select_features  # noqa: E402


def _data(n=400, d=30, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(0, 1, (n, d))
    y = (x[:, 7] + 0.5 * x[:, 3] + 0.3 * rng.normal(0, 1, n)) > 0.8
    return x, y


def test_informative_features_rank_first_and_f1():
    x, y = _data()
    sel = select_features(x, y)
    assert set(sel.top(2)) == {7, 3}
    assert sel.f1 > 0.6
    assert sel.n_train + sel.n_valid + sel.n_test == len(y)


def test_early_stopping_sees_the_validation_split_only(monkeypatch):
    x, y = _data()
    seen = {}
    real_fit = lgb.LGBMClassifier.fit

    def spy(self, X, y_, **kw):
        seen["train"] = np.asarray(X).copy()
        seen["eval"] = [np.asarray(e).copy() for e in kw["eval_X"]]
        seen["callbacks"] = kw.get("callbacks")
        return real_fit(self, X, y_, **kw)

    monkeypatch.setattr(lgb.LGBMClassifier, "fit", spy)
    sel = select_features(x.astype(np.float32), y)
    assert len(seen["eval"]) == 1 and len(seen["eval"][0]) == sel.n_valid
    rows = {r.tobytes() for r in x.astype(np.float32)}
    train = {r.tobytes() for r in seen["train"]}
    valid = {r.tobytes() for r in seen["eval"][0]}
    assert not train & valid
    test = rows - train - valid
    assert len(test) == sel.n_test  # the test rows reached neither fit nor early stopping
    assert seen["callbacks"]  # early stopping is on


def test_early_stopping_stops_on_noise():
    rng = np.random.default_rng(0)
    x = rng.normal(0, 1, (400, 20))
    y = rng.uniform(0, 1, 400) > 0.5  # nothing to learn: validation loss rises at once
    sel = select_features(x, y, n_estimators=500, early_stopping_rounds=10)
    assert sel.best_iteration < 60


def test_too_few_of_a_class_is_refused():
    x, y = _data(n=50)
    y[:] = False
    y[:2] = True
    with pytest.raises(ValueError, match="at least 3"):
        select_features(x, y)
