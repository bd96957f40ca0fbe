"""The morphology-classification protocol of Riggi et al. Sect. 3 (radiolib.evaluate.classify)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.metrics import precision_recall_fscore_support

from radiolib.errors import DataError
from radiolib.evaluate.classify import (
    balanced_draws,
    class_metrics,
    dihedral_features,
    finetune_predict,
    frozen_protocol,
    load_draws,
    save_draws,
    summarise_draws,
    train_softmax_head,
)
from radiolib.evaluate.finetune import backbone_blocks
from radiolib.models import feature_extractor

NAMES = ("a", "b", "c")


def _blobs(n_per_class=60, k=3, d=16, spread=0.3, seed=0):
    rng = np.random.default_rng(seed)
    centres = rng.normal(0, 3, (k, d))
    y = np.repeat(np.arange(k), n_per_class)
    return centres[y] + spread * rng.normal(size=(len(y), d)), y


def test_metrics_match_a_hand_computed_case():
    y_true, y_pred = [0, 0, 0, 1, 1, 2], [0, 0, 1, 1, 2, 2]
    t = class_metrics(y_true, y_pred, NAMES)
    # a: TP 2, FP 0, FN 1; b: TP 1, FP 1, FN 1; c: TP 1, FP 1, FN 0
    assert t.loc["a", ["precision", "recall", "f1"]].tolist() == pytest.approx([1, 2 / 3, 0.8])
    assert t.loc["b", ["precision", "recall", "f1"]].tolist() == pytest.approx([0.5, 0.5, 0.5])
    assert t.loc["c", ["precision", "recall", "f1"]].tolist() == pytest.approx([0.5, 1, 2 / 3])
    assert t.loc["b", "contamination"] == pytest.approx(0.5)
    assert t.loc["all", "f1"] == pytest.approx((0.8 + 0.5 + 2 / 3) / 3)
    assert t.loc["all", "accuracy"] == pytest.approx(4 / 6)
    assert t["support"].tolist() == [3, 2, 1, 6]


def test_metrics_match_scikit_learn_including_a_class_never_predicted():
    rng = np.random.default_rng(1)
    y_true = rng.integers(0, 4, 200)
    y_pred = np.where(rng.random(200) < 0.6, y_true, rng.integers(0, 3, 200))  # 3: rarely
    y_pred[y_pred == 3] = 0  # class 3 is never predicted
    t = class_metrics(y_true, y_pred, ("w", "x", "y", "z"))
    p, r, f, s = precision_recall_fscore_support(y_true, y_pred, labels=range(4),
                                                 zero_division=0)
    np.testing.assert_allclose(t["precision"].iloc[:4], p)
    np.testing.assert_allclose(t["recall"].iloc[:4], r)
    np.testing.assert_allclose(t["f1"].iloc[:4], f)
    macro = precision_recall_fscore_support(y_true, y_pred, average="macro", zero_division=0)
    assert t.loc["all", ["precision", "recall", "f1"]].tolist() == pytest.approx(macro[:3])


def test_balanced_draws_are_balanced_disjoint_and_reproducible():
    y = np.repeat([0, 1, 2], [50, 30, 80])
    draws = balanced_draws(y, 10, 6, n_draws=4, seed=3)
    assert len(draws) == 4
    for d in draws:
        assert np.bincount(y[d.train]).tolist() == [10, 10, 10]
        assert np.bincount(y[d.test]).tolist() == [6, 6, 6]
        assert not set(d.train) & set(d.test)
    again = balanced_draws(y, 10, 6, n_draws=4, seed=3)
    assert all(np.array_equal(a.train, b.train) and np.array_equal(a.test, b.test)
               for a, b in zip(draws, again, strict=True))
    assert not np.array_equal(draws[0].train, draws[1].train)  # the draws differ
    other = balanced_draws(y, 10, 6, n_draws=1, seed=4)
    assert not np.array_equal(draws[0].train, other[0].train)


def test_a_class_too_small_for_the_draw_is_named():
    y = np.repeat([0, 1], [50, 12])
    with pytest.raises(ValueError, match=r"\{1: 12\}"):
        balanced_draws(y, 10, 6)


def test_draws_round_trip_through_a_file(tmp_path):
    y = np.repeat([0, 1], 20)
    draws = balanced_draws(y, 5, 5, n_draws=3)
    back = load_draws(save_draws(tmp_path / "draws.npz", draws))
    assert len(back) == 3 and all(np.array_equal(a.test, b.test)
                                  for a, b in zip(draws, back, strict=True))
    (tmp_path / "bad.npz").write_text("not numpy")
    with pytest.raises(DataError, match="bad.npz"):
        load_draws(tmp_path / "bad.npz")


def test_separable_features_score_almost_perfectly():
    x, y = _blobs()
    draws = balanced_draws(y, 30, 20, n_draws=3)
    result = frozen_protocol(x, y, draws, NAMES, epochs=30, batch_size=16)
    assert result.summary.loc["all", "f1"] >= 0.98
    assert (result.summary.loc[list(NAMES), "f1"] >= 0.95).all()
    assert len(result.predictions) == 3 and "f1_err" in result.summary.columns


def test_shuffled_labels_score_at_chance():
    x, y = _blobs(n_per_class=200, spread=1.0)
    y = np.random.default_rng(5).permutation(y)
    draws = balanced_draws(y, 120, 80, n_draws=3)
    f1 = frozen_protocol(x, y, draws, NAMES, epochs=10).summary.loc["all", "f1"]
    assert abs(f1 - 1 / 3) < 0.08


def test_head_training_is_seeded_and_uses_every_view():
    x, y = _blobs(n_per_class=20)
    views = np.stack([x, x + 0.01])  # two views of each image
    a = train_softmax_head(views, y, epochs=3, seed=7)
    b = train_softmax_head(views, y, epochs=3, seed=7)
    c = train_softmax_head(views, y, epochs=3, seed=8)
    np.testing.assert_array_equal(a.weight, b.weight)
    assert not np.array_equal(a.weight, c.weight)
    assert a.predict_proba(x).sum(1) == pytest.approx(np.ones(len(x)))
    with pytest.raises(ValueError, match="features"):
        train_softmax_head(x, y[:-1])


def test_summary_is_mean_and_mean_error_over_draws():
    import pandas as pd

    per_draw = pd.DataFrame({"draw": [0, 1, 2], "class": "all", "f1": [0.5, 0.6, 0.7]})
    s = summarise_draws(per_draw)
    assert s.loc["all", "f1"] == pytest.approx(0.6)
    assert s.loc["all", "f1_err"] == pytest.approx(0.1 / np.sqrt(3))


@pytest.fixture
def tiny():
    torch.manual_seed(0)
    return feature_extractor("resnet18", 1, image_size=16, device="cpu")


def test_dihedral_views_are_the_flips_and_turns_of_the_image(tiny):
    x = torch.rand(4, 1, 16, 16)
    f = dihedral_features(tiny, x)
    assert f.shape == (8, 4, 512)
    np.testing.assert_allclose(f[0], tiny.embed(x).numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(f[1], tiny.embed(torch.rot90(x, 1, (-2, -1))).numpy(),
                               rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(f[4], tiny.embed(x.flip(-1)).numpy(), rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="square"):
        dihedral_features(tiny, torch.rand(2, 1, 16, 12))


@pytest.mark.slow
def test_fine_tuning_leaves_the_frozen_blocks_unchanged(tiny, monkeypatch):
    gen = torch.Generator().manual_seed(0)
    y = np.arange(24) % 2
    x = 0.2 + 0.4 * torch.as_tensor(y).view(-1, 1, 1, 1) + 0.1 * torch.randn(24, 1, 16, 16,
                                                                            generator=gen)
    draw = balanced_draws(y, 8, 4, n_draws=1)[0]
    before = {k: v.clone() for k, v in tiny.state_dict().items()}
    import radiolib.evaluate.classify as classify

    runs = []
    real = classify.finetune_classifier

    def spy(*args, **kwargs):
        runs.append(real(*args, **kwargs))
        return runs[-1]

    monkeypatch.setattr(classify, "finetune_classifier", spy)
    table = finetune_predict(tiny, x, y, draw, ("faint", "bright"), n_blocks=2, epochs=1,
                             batch_size=8)
    assert set(table.index) == {"faint", "bright", "all"}
    tuned = runs[0].model
    frozen = backbone_blocks(tuned)[:-2]
    names = {id(p): n for n, p in tuned.named_parameters()}
    for block in frozen:
        for p in block.parameters():
            assert torch.equal(p, before[names[id(p)]])
    assert all(torch.equal(v, before[k]) for k, v in tiny.state_dict().items())
