"""Label-count curves, the PCA option of the linear probe, and t-SNE maps."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from radiolib.evaluate import balanced_subset, label_count_curve, linear_probe, tsne_2d


@pytest.fixture
def blobs():
    """Three classes on well-separated centres in 20 dimensions, plus noise dimensions."""
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 600)
    centres = rng.normal(size=(3, 20)) * 4
    x = centres[y] + rng.normal(size=(600, 20))
    return x[:450], y[:450], x[450:], y[450:]


def test_balanced_subset_takes_n_of_each_class_or_all_of_a_small_one():
    labels = np.array([0] * 10 + [1] * 3 + [2] * 7)
    idx = balanced_subset(labels, 5, np.random.default_rng(0))
    assert np.bincount(labels[idx]).tolist() == [5, 3, 5]
    assert len(set(idx.tolist())) == len(idx)


def test_label_count_curve_rows_and_sizes(blobs):
    curve = label_count_curve(*blobs, [2, 10, 1000], n_repeats=2, seed=1)
    assert isinstance(curve, pd.DataFrame) and len(curve) == 6
    assert curve.groupby("n_per_class")["n_labels"].first().tolist() == [6, 30, 450]
    assert {"accuracy", "balanced_accuracy"} <= set(curve.columns)


def test_label_count_curve_improves_with_labels_on_a_hard_problem():
    rng = np.random.default_rng(3)
    y = rng.integers(0, 2, 1200)
    x = rng.normal(size=(1200, 30))
    x[:, 0] += 1.0 * (2 * y - 1)  # one weak direction among 30 noise dimensions
    curve = label_count_curve(x[:1000], y[:1000], x[1000:], y[1000:], [3, 300],
                              n_repeats=5, seed=0)
    mean = curve.groupby("n_per_class")["accuracy"].mean()
    assert mean[300] > mean[3] + 0.1 and mean[300] > 0.75


def test_label_count_curve_draws_are_seeded(blobs):
    a = label_count_curve(*blobs, [2], n_repeats=3, seed=5)
    b = label_count_curve(*blobs, [2], n_repeats=3, seed=5)
    pd.testing.assert_frame_equal(a, b)


def test_label_count_curve_rejects_bad_arguments(blobs):
    with pytest.raises(ValueError, match="n_repeats"):
        label_count_curve(*blobs, [0])
    with pytest.raises(ValueError, match="n_repeats"):
        label_count_curve(*blobs, [5], n_repeats=0)


def test_label_count_curve_defaults_and_probe_arguments(blobs):
    """3 draws per size from default_rng(0); 1 label per class and 1 draw are valid; the
    probe gets its keyword arguments."""
    curve = label_count_curve(*blobs, [1])
    assert curve["repeat"].tolist() == [0, 1, 2] and (curve["n_labels"] == 3).all()
    pd.testing.assert_frame_equal(curve, label_count_curve(*blobs, [1], n_repeats=3, seed=0))
    rng, train_y = np.random.default_rng(0), blobs[1]
    first = balanced_subset(train_y, 1, rng)  # the first draw, as the curve makes it
    expected = linear_probe(blobs[0][first], train_y[first], blobs[2], blobs[3])
    assert curve.loc[0, "accuracy"] == pytest.approx(expected["accuracy"])
    assert len(label_count_curve(*blobs, [1], n_repeats=1)) == 1
    seen = []

    def probe(train_x, train_y, test_x, test_y, **kwargs):
        seen.append(kwargs)
        return {"score": 1.0}

    label_count_curve(*blobs, [2], n_repeats=1, probe=probe, n_components=4)
    assert seen == [{"n_components": 4}]


def test_linear_probe_with_pca_keeps_the_signal_and_caps_components(blobs):
    full = linear_probe(*blobs)
    reduced = linear_probe(*blobs, n_components=5)
    assert full["accuracy"] > 0.95 and reduced["accuracy"] > 0.95
    x, y, tx, ty = blobs
    loud = np.random.default_rng(9).normal(0, 100, (len(x) + len(tx), 1))  # label-free
    x2, tx2 = np.hstack([x, loud[:len(x)]]), np.hstack([tx, loud[len(x):]])
    one = linear_probe(x2, y, tx2, ty, n_components=1)  # the first component: the loud noise
    assert one["accuracy"] < 0.6 and linear_probe(x2, y, tx2, ty)["accuracy"] > 0.95
    few = linear_probe(x[:4], np.array([0, 1, 2, 0]), tx, ty, n_components=100)  # k -> 3
    assert 0 <= few["accuracy"] <= 1


@pytest.mark.slow
def test_tsne_keeps_separate_clusters_apart(blobs):
    x, y = blobs[0][:150], blobs[1][:150]
    xy = tsne_2d(x, perplexity=20, seed=0)
    assert xy.shape == (150, 2)
    centres = np.stack([xy[y == c].mean(0) for c in range(3)])
    spread = max(np.linalg.norm(xy[y == c] - centres[c], axis=1).mean() for c in range(3))
    gaps = [np.linalg.norm(centres[i] - centres[j]) for i in range(3) for j in range(i + 1, 3)]
    assert min(gaps) > 2 * spread
    np.testing.assert_allclose(xy, tsne_2d(x, perplexity=20, seed=0))


def test_tsne_rejects_too_few_samples():
    with pytest.raises(ValueError, match="N >= 3"):
        tsne_2d(np.zeros((2, 4)))
