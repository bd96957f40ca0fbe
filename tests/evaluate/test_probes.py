"""Probes on frozen embeddings: source-count regression, linear and kNN probes, caching."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

from radiolib.evaluate import (
    bootstrap_std,
    checkpoint_embeddings,
    count_mse,
    count_regression_mse,
    knn_probe,
    linear_probe,
    random_embeddings,
)
from radiolib.ssl import ImageTensors, SimCLRConfig, train


@pytest.fixture
def blobs():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 200)
    x = rng.normal(size=(200, 8)) + 3.0 * (2 * y[:, None] - 1)  # opposite directions
    return x[:150], y[:150], x[150:], y[150:]


def test_count_regression_exact_on_linear_data():
    x = np.random.default_rng(1).normal(size=(60, 5))
    y = x @ [1.0, -2.0, 0.5, 0.0, 3.0] + 4.0
    assert count_regression_mse(x[:40], y[:40], x[40:], y[40:], n_components=5) < 1e-5
    assert count_regression_mse(x[:40], y[:40], x[40:], y[40:], n_components=5,
                                alphas=None) < 1e-18  # plain least squares


def test_count_regression_on_noise_features_does_not_fit_noise():
    """100 components of pure-noise features: least squares overfits, the ridge probe does not."""
    rng = np.random.default_rng(3)
    x, y = rng.normal(size=(300, 200)), rng.poisson(8, 300).astype(float)
    fit, test = slice(0, 200), slice(200, None)
    mean_mse = np.mean((y[test] - y[fit].mean()) ** 2)
    ridge = count_regression_mse(x[fit], y[fit], x[test], y[test])
    plain = count_regression_mse(x[fit], y[fit], x[test], y[test], alphas=None)
    assert ridge < 1.05 * mean_mse < plain


def test_count_regression_finds_a_weak_signal():
    rng = np.random.default_rng(4)
    y = rng.poisson(8, 400).astype(float)
    x = rng.normal(size=(400, 150))
    x[:, 0] += 0.5 * (y - 8)  # one informative direction among 150
    mean_mse = np.mean((y[300:] - y[:300].mean()) ** 2)
    assert count_regression_mse(x[:300], y[:300], x[300:], y[300:]) < 0.8 * mean_mse


@pytest.mark.parametrize("k", [3, 100])
def test_count_regression_is_the_training_callbacks_probe(k):
    rng = np.random.default_rng(2)
    x, y = rng.normal(size=(50, 12)), rng.poisson(5, 50).astype(float)
    ours = count_regression_mse(x[:35], y[:35], x[35:], y[35:], n_components=k)
    theirs = count_mse(*(torch.as_tensor(a) for a in (x[:35], y[:35], x[35:], y[35:])), k)
    assert ours == theirs


def test_count_regression_is_pca_standardised_ridge_with_loo_penalty():
    """As documented: PCA (full SVD) to n_components (100 by default), components standardised,
    RidgeCV over RIDGE_ALPHAS (or least squares), all fitted on the training split. Features of
    very different scales: the standardisation matters; 10 of 30 components: the PCA does."""
    from sklearn.decomposition import PCA
    from sklearn.linear_model import LinearRegression, RidgeCV
    from sklearn.preprocessing import StandardScaler

    from radiolib.evaluate.probes import RIDGE_ALPHAS

    def reference(train_x, train_y, test_x, test_y, k, layer):
        pca = PCA(k, svd_solver="full").fit(train_x)
        scaler = StandardScaler().fit(pca.transform(train_x))
        fitted = layer.fit(scaler.transform(pca.transform(train_x)), train_y)
        pred = fitted.predict(scaler.transform(pca.transform(test_x)))
        return np.mean((pred - test_y) ** 2)

    rng = np.random.default_rng(5)
    x = rng.normal(size=(160, 30)) * np.logspace(-2, 2, 30)
    y = x[:, :3] @ [0.5, -1.0, 0.02] + rng.normal(size=160)
    split = (x[:120], y[:120], x[120:], y[120:])
    for k, alphas, layer in [(10, RIDGE_ALPHAS, RidgeCV(alphas=RIDGE_ALPHAS)),
                             (10, None, LinearRegression())]:
        ours = count_regression_mse(*split, n_components=k, alphas=alphas)
        assert ours == pytest.approx(reference(*split, k, layer), rel=1e-9)
    wide = rng.normal(size=(220, 120))  # 120 features, 200 training rows: k = 100 by default
    target = wide[:, 0] + rng.normal(size=220)
    split = (wide[:200], target[:200], wide[200:], target[200:])
    assert count_regression_mse(*split) == pytest.approx(
        reference(*split, 100, RidgeCV(alphas=RIDGE_ALPHAS)), rel=1e-9)
    assert np.isfinite(count_regression_mse(x[:2], y[:2], x[2:5], y[2:5]))  # 2 rows suffice
    # 510 training rows of 150 features, 100 components: where scikit-learn's "auto" would take
    # a randomised, unseeded SVD (MSE off by 1e-3 here), the probe still uses the exact one
    big = rng.normal(size=(540, 150))
    counts = big[:, 0] + rng.normal(size=540)
    split = (big[:510], counts[:510], big[510:], counts[510:])
    assert count_regression_mse(*split) == pytest.approx(
        reference(*split, 100, RidgeCV(alphas=RIDGE_ALPHAS)), rel=1e-9)


def test_linear_probe_is_balanced_logistic_regression_on_standardised_features():
    """C = 1, max_iter 2000, classes weighted by inverse frequency, features standardised."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score
    from sklearn.preprocessing import StandardScaler

    rng = np.random.default_rng(6)
    y = (rng.random(300) < 0.15).astype(int)  # a rare class
    x = (rng.normal(size=(300, 6)) + 0.8 * y[:, None]) * np.logspace(-2, 2, 6)
    n = 60  # few training rows: the penalty matters (AUC 0.8564 at C = 1, 0.8557 at C = 2)
    scaler = StandardScaler().fit(x[:n])
    model = LogisticRegression(C=1.0, max_iter=2000, class_weight="balanced")
    model.fit(scaler.transform(x[:n]), y[:n])
    pred = model.predict(scaler.transform(x[200:]))
    proba = model.predict_proba(scaler.transform(x[200:]))[:, 1]
    scores = linear_probe(x[:n], y[:n], x[200:], y[200:])
    assert scores["auc"] == pytest.approx(0.8564, abs=1e-4)
    assert set(scores) == {"accuracy", "balanced_accuracy", "auc"}
    assert scores["accuracy"] == pytest.approx((pred == y[200:]).mean(), abs=1e-12)
    assert scores["auc"] == pytest.approx(roc_auc_score(y[200:], proba), abs=1e-12)
    recall = [(pred[y[200:] == c] == c).mean() for c in (0, 1)]
    assert scores["balanced_accuracy"] == pytest.approx(np.mean(recall), abs=1e-12)
    # c and max_iter reach the solver: C = 2, and 3 iterations (stopped far from the optimum)
    for c, max_iter in [(2.0, 2000), (1.0, 3)]:
        other = LogisticRegression(C=c, max_iter=max_iter, class_weight="balanced")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            other.fit(scaler.transform(x[:n]), y[:n])
            ours = linear_probe(x[:n], y[:n], x[200:], y[200:], c=c, max_iter=max_iter)
        auc = roc_auc_score(y[200:], other.predict_proba(scaler.transform(x[200:]))[:, 1])
        assert ours["auc"] == pytest.approx(auc, abs=1e-12)
        assert auc != pytest.approx(scores["auc"], abs=1e-6)


def test_count_regression_rejects_bad_shapes():
    with pytest.raises(ValueError, match="training features"):
        count_regression_mse(np.zeros(5), np.zeros(5), np.zeros((2, 1)), np.zeros(2))


@pytest.mark.parametrize("probe", [linear_probe, knn_probe])
def test_probes_separate_blobs(blobs, probe):
    scores = probe(*blobs, n_boot=20)
    assert scores["accuracy"] > 0.95 and scores["auc"] > 0.95
    assert 0 <= scores["auc_std"] < 0.1


def test_multiclass_probe_has_no_auc(blobs):
    x, y, tx, ty = blobs
    scores = knn_probe(x, y + (x[:, 0] > 3), tx, ty + (tx[:, 0] > 3))
    assert "auc" not in scores and 0 <= scores["balanced_accuracy"] <= 1


def test_bootstrap_std_of_a_constant_is_zero():
    assert bootstrap_std(lambda i: 1.0, 10, n_boot=5) == 0.0


def test_bootstrap_std_is_the_spread_over_seeded_resamples_with_replacement():
    """200 resamples of n items drawn by default_rng(0) (documented defaults), then np.std."""
    values = np.random.default_rng(3).normal(size=50)
    rng = np.random.default_rng(0)
    expected = np.std([values[rng.integers(0, 50, 50)].mean() for _ in range(200)])
    ours = bootstrap_std(lambda i: values[i].mean(), 50)
    assert ours == pytest.approx(expected, rel=1e-12)
    assert ours == pytest.approx(values.std() / np.sqrt(50), rel=0.15)  # the standard error


def test_bootstrap_std_skips_resamples_the_metric_rejects():
    values = np.arange(30.0)

    def metric(index):  # as AUC on a resample with one class only
        if (index == 0).any():
            raise ValueError("one class only")
        return values[index].mean()

    rng, kept = np.random.default_rng(0), []
    for _ in range(200):
        index = rng.integers(0, 30, 30)
        if not (index == 0).any():
            kept.append(values[index].mean())
    assert 10 < len(kept) < 190
    assert bootstrap_std(metric, 30) == pytest.approx(np.std(kept), rel=1e-12)
    calls = []

    def once(index):  # one resample scores, the others fail: no spread to speak of
        calls.append(1)
        if len(calls) > 1:
            raise ValueError("one class only")
        return 0.5

    assert np.isnan(bootstrap_std(once, 10, n_boot=5)) and len(calls) == 5
    twice = iter([0.25, 0.75])
    assert bootstrap_std(lambda i: next(twice), 10, n_boot=2) == 0.25  # two values: a spread


def reference_knn(train_x, train_y, test_x, k=10):
    """Cosine k nearest neighbours voting with weights 1 / cosine distance, in numpy."""
    a = train_x / np.linalg.norm(train_x, axis=1, keepdims=True)
    b = test_x / np.linalg.norm(test_x, axis=1, keepdims=True)
    dist = 1.0 - b @ a.T
    nearest = np.argsort(dist, axis=1)[:, :k]
    weights = 1.0 / np.take_along_axis(dist, nearest, axis=1)
    classes = np.unique(train_y)
    votes = np.stack([(weights * (train_y[nearest] == c)).sum(1) for c in classes], axis=1)
    return classes[votes.argmax(1)], votes / votes.sum(1, keepdims=True)


def reference_auc(positive, score):
    """Probability that a positive scores above a negative (ties count half)."""
    pos, neg = score[positive], score[~positive]
    return ((pos[:, None] > neg).mean() + 0.5 * (pos[:, None] == neg).mean())


def test_knn_probe_is_cosine_10_nearest_weighted_by_distance():
    """Rows scaled at random: cosine neighbours differ from Euclidean ones; overlapping classes:
    k and the weights change predictions."""
    rng = np.random.default_rng(7)
    y = rng.integers(0, 2, 200)
    x = rng.normal(size=(200, 6)) + 0.3 * (2 * y[:, None] - 1)
    x *= rng.uniform(0.2, 5.0, (200, 1))
    train_x, train_y, test_x, test_y = x[:120], y[:120], x[120:], y[120:]
    pred, proba = reference_knn(train_x, train_y, test_x)
    scores = knn_probe(train_x, train_y, test_x, test_y)
    assert set(scores) == {"accuracy", "balanced_accuracy", "auc"}  # no bootstrap by default
    assert scores["accuracy"] == pytest.approx((pred == test_y).mean(), abs=1e-12)
    recall = [(pred[test_y == c] == c).mean() for c in (0, 1)]
    assert scores["balanced_accuracy"] == pytest.approx(np.mean(recall), abs=1e-12)
    assert scores["auc"] == pytest.approx(reference_auc(test_y == 1, proba[:, 1]), abs=1e-12)
    # the test can tell: k = 11 gives AUC 0.7419 here (uniform votes 0.7481, Euclidean 0.7125)
    assert scores["auc"] == pytest.approx(0.7406, abs=1e-4)
    other_k = reference_knn(train_x, train_y, test_x, k=11)[1]
    assert reference_auc(test_y == 1, other_k[:, 1]) != pytest.approx(scores["auc"], abs=1e-12)
    assert knn_probe(train_x, train_y, test_x, test_y, k=11)["auc"] == pytest.approx(
        reference_auc(test_y == 1, other_k[:, 1]), abs=1e-12)
    # n_boot resamples of the test items, the spread of each score
    spread = knn_probe(train_x, train_y, test_x, test_y, n_boot=7)["accuracy_std"]
    assert spread == bootstrap_std(lambda i: (pred[i] == test_y[i]).mean(), 80, n_boot=7)


@pytest.mark.filterwarnings("ignore:A single label:UserWarning",
                            "ignore:y_pred contains classes:UserWarning")
def test_probe_scores_auc_only_with_two_classes_on_both_sides(blobs):
    x, y, tx, ty = blobs
    one_class = knn_probe(x, y, tx[ty == 1], ty[ty == 1])  # AUC undefined on one class
    assert "auc" not in one_class and one_class["accuracy"] > 0.9
    three = np.where(x[:, 0] > 3, 2, y)  # three classes to learn, two in the test set
    assert "auc" not in linear_probe(x, three, tx, ty)


def test_pca_keeps_fewer_components_than_training_samples():
    from radiolib.evaluate.probes import _pca

    assert _pca(100, np.zeros((10, 50))).n_components == 9  # at most n - 1
    assert _pca(100, np.zeros((300, 50))).n_components == 50  # at most the features
    assert _pca(100, np.zeros((2, 50))).n_components == 1




@pytest.mark.slow
def test_checkpoint_embeddings_are_cached(tmp_path):
    cfg = SimCLRConfig(image_size=32, epochs=1, batch_size=8, warmup_epochs=0,
                       proj_hidden_dim=16, proj_out_dim=8, num_workers=0)
    images = torch.rand(8, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    run = train(cfg, ImageTensors(images), out_dir=tmp_path / "run", progress=False)
    emb = checkpoint_embeddings(run.checkpoint, images, cache_dir=tmp_path / "emb")
    assert emb.shape == (8, 512)
    assert len(list((tmp_path / "emb").glob("emb-*.npy"))) == 1
    np.testing.assert_array_equal(emb, checkpoint_embeddings(run.checkpoint, images,
                                                             cache_dir=tmp_path / "emb"))


def test_random_embeddings_are_seeded():
    images = torch.rand(4, 1, 32, 32)
    a = random_embeddings("resnet18", images, seed=1)
    assert a.shape == (4, 512)
    np.testing.assert_array_equal(a, random_embeddings("resnet18", images, seed=1))


def test_class_probe_with_precomputed_reference_rows_equals_computing_them():
    from radiolib.evaluate.scoring import class_probe, class_reference_rows

    rng = np.random.default_rng(0)
    images = rng.normal(size=(40, 16, 16)).astype(np.float32)
    y = np.repeat([0, 1], 20)
    images[y == 1, 6:10, 6:10] += 8.0  # a bright source in class 1
    fit, test = np.arange(0, 40, 2), np.arange(1, 40, 2)
    feats = {"model": (rng.normal(size=(20, 3)), rng.normal(size=(20, 3)))}
    pair = (images[fit], images[test])
    direct = class_probe(feats, y[fit], y[test], images=pair, n_boot=50)
    reused = class_probe(feats, y[fit], y[test], reference_rows=class_reference_rows(pair),
                         n_boot=50)
    assert set(direct.predictions) == set(reused.predictions) == {"model", "pixel histogram",
                                                                   "shape moments"}
    for name in direct.predictions:
        np.testing.assert_array_equal(direct.predictions[name], reused.predictions[name])
    assert direct.kinds == reused.kinds
