import numpy as np
import pytest
from sklearn.ensemble import IsolationForest

from radiolib.anomaly import (
    complexity_scores,
    crossing,
    forest_scores,
    frame_kinds,
    outlier_flags,
    random_scores,
    scan_forest,
    threshold_scan,
)


def _planted(n=600, n_out=20, d=8, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(0, 1, (n, d))
    out = rng.choice(n, n_out, replace=False)
    x[out] += rng.choice([-1, 1], (n_out, d)) * 5
    y = np.zeros(n, bool)
    y[out] = True
    return x, y


def test_planted_outliers_rank_high_and_shuffled_give_chance():
    x, y = _planted()
    s = forest_scores(x, n_estimators=100)
    assert s.min() >= 0 and s.max() <= 1
    top = np.argsort(-s)[: y.sum()]
    assert y[top].mean() > 0.9
    kinds = frame_kinds(["PECULIAR" if v else "COMPACT" for v in y])
    good = crossing(threshold_scan(s, kinds, np.linspace(0, 1, 101)), s, kinds)
    assert good["recall"] > 0.8
    # features unrelated to the labels: recall at the top-k is near chance (k / n)
    rng = np.random.default_rng(3)
    chance = []
    for rep in range(10):
        xs = rng.normal(0, 1, x.shape)
        s2 = forest_scores(xs, n_estimators=50, seed=rep)
        top2 = np.argsort(-s2)[:60]
        chance.append(y[top2].sum() / y.sum())
    assert abs(np.mean(chance) - 60 / len(y)) < 0.06


def test_outlier_flags_match_sklearn_predict():
    x, _ = _planted(n=300)
    for c in ("auto", 0.01, 0.1):
        model = IsolationForest(n_estimators=50, max_samples=64, contamination=c,
                                random_state=0).fit(x)
        ours = outlier_flags(-model.score_samples(x), c)
        np.testing.assert_array_equal(ours, model.predict(x) == -1)


def test_scan_forest_grid_and_order():
    x, y = _planted(n=300)
    labelled = np.ones(len(y), bool)
    labelled[::3] = False
    table = scan_forest(x, y, labelled, max_samples=("auto", 0.1, 1.0),
                        contamination=("auto", 0.1), n_estimators=30)
    assert len(table) == 6
    assert table["ap"].is_monotonic_decreasing
    assert table["ap"].iloc[0] > 0.5
    with pytest.raises(ValueError):
        forest_scores(x, max_samples=1.5)


def test_baselines():
    r = random_scores(1000, seed=0)
    assert 0 <= r.min() and r.max() <= 1
    rng = np.random.default_rng(0)
    noise = rng.normal(0, 1, (6, 64, 64))
    busy = noise.copy()
    yy, xx = np.mgrid[:64, :64]
    for k in range(3, 6):  # more and more structure
        for _ in range(k * 3):
            cx, cy = rng.uniform(5, 59, 2)
            width = rng.uniform(1, 6)
            busy[k] += 30 * np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / (2 * width**2))
    s = complexity_scores(busy, size=64)
    assert s[3:].min() > s[:3].max()
