"""The paper's linear-layer probe: closed-form agreement, no test-row leakage, outliers, seeds."""

import numpy as np
import pytest
import torch
from sklearn.linear_model import LogisticRegression, Ridge

from radiolib.errors import ConfigError
from radiolib.evaluate.linear_layer import (
    LinearLayerProbe,
    LinearLayerSettings,
    linear_layer_runs,
    sigma_outliers,
)

pytestmark = pytest.mark.usefixtures("one_thread")


#: Full-batch training long enough to converge on these small problems.
CONVERGED = dict(epochs=1500, batch_size=1000, optimizer="adam", lr=0.1, n_components=4)


def _data(n=80, d=6, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, d)) @ rng.normal(size=(d, d))
    w = rng.normal(size=d)
    return x, x @ w + rng.normal(scale=0.5, size=n)


def test_regression_matches_closed_form_ridge():
    x, y = _data()
    wd = 0.05
    probe = LinearLayerProbe(task="regression", weight_decay=wd, **CONVERGED).fit(x, y)
    z = probe._transform(x[probe.fit_rows_])
    n = len(z)
    ridge = Ridge(alpha=n * wd / 2).fit(z, y[probe.fit_rows_])
    # tolerance: 1e-3 relative on the predictions (float32 training vs float64 closed form)
    np.testing.assert_allclose(probe.predict(x), ridge.predict(probe._transform(x)),
                               rtol=1e-3, atol=1e-3 * np.abs(y).max())
    np.testing.assert_allclose(probe.layer_.weight.detach().numpy()[0], ridge.coef_,
                               atol=2e-3 * np.abs(ridge.coef_).max())


@pytest.mark.parametrize("n_classes", [2, 3])
def test_classification_matches_sklearn_logistic(n_classes):
    x, _ = _data(n=120)
    rng = np.random.default_rng(1)
    scores = x @ rng.normal(size=(x.shape[1], n_classes)) + rng.normal(size=(120, n_classes))
    y = scores.argmax(1)
    wd = 0.02
    probe = LinearLayerProbe(task="classification", weight_decay=wd, **CONVERGED).fit(x, y)
    z = probe._transform(x[probe.fit_rows_])
    ref = LogisticRegression(C=1 / (len(z) * wd), max_iter=10000, tol=1e-10).fit(
        z, y[probe.fit_rows_])
    # tolerance: class probabilities within 2e-3
    np.testing.assert_allclose(probe.predict_proba(x), ref.predict_proba(probe._transform(x)),
                               atol=2e-3)
    assert (probe.predict(x) == ref.predict(probe._transform(x))).mean() > 0.98


def test_pca_and_scalers_see_only_the_fitting_rows():
    x, y = _data(n=100)
    probe = LinearLayerProbe(task="regression", epochs=2, n_components=3).fit(x, y)
    fit = probe.fit_rows_
    assert len(fit) == 70 and len(probe.val_rows_) == 30
    assert not set(fit) & set(probe.val_rows_)
    np.testing.assert_allclose(probe.scaler_.mean_, x[fit].mean(0))
    assert not np.allclose(probe.scaler_.mean_, x.mean(0))  # validation rows are left out
    # PCA mean: the mean of the standardised fitting rows (zero), not of all rows
    np.testing.assert_allclose(probe.pca_.mean_, 0, atol=1e-12)
    assert np.abs(probe.scaler_.transform(x).mean(0)).max() > 1e-3


def test_runs_never_fit_on_test_rows():
    x, y = _data(n=100)
    settings = LinearLayerSettings(task="regression", epochs=3, n_components=3)
    _, probes = linear_layer_runs(x[:60], y[:60], x[60:], y[60:], settings, n_runs=2)
    _, leaked = linear_layer_runs(x[:60], y[:60], x[60:] + 1e3, y[60:], settings, n_runs=2)
    for a, b in zip(probes, leaked, strict=True):
        np.testing.assert_array_equal(a.pca_.components_, b.pca_.components_)
        np.testing.assert_array_equal(a.scaler_.mean_, b.scaler_.mean_)
        np.testing.assert_array_equal(a.layer_.weight.detach(), b.layer_.weight.detach())


def test_sigma_outliers_removes_exactly_the_stated_rows():
    counts = np.array([10.0] * 50 + [11.0] * 49 + [100.0])
    mask = sigma_outliers(counts, 3)
    assert list(np.flatnonzero(mask)) == [99]
    mean, std = counts.mean(), counts.std()
    np.testing.assert_array_equal(mask, np.abs(counts - mean) > 3 * std)
    assert not sigma_outliers(np.ones(5)).any()


def test_runs_exclude_outliers_from_train_and_test():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(100, 5))
    y = rng.poisson(10, 100).astype(float)
    y[[5, 80]] = 200.0  # one outlier in the training rows, one in the test rows
    settings = LinearLayerSettings(task="regression", epochs=2, n_components=3)
    scores, probes = linear_layer_runs(x[:70], y[:70], x[70:], y[70:], settings, n_runs=1,
                                       exclude_sigma=3)
    assert scores["n_excluded"] == 2
    assert len(probes[0].fit_rows_) + len(probes[0].val_rows_) == 69


def test_seeded_runs_reproducible_and_distinct():
    x, y = _data(n=90)
    settings = LinearLayerSettings(task="regression", epochs=20, n_components=3)
    a, pa = linear_layer_runs(x[:60], y[:60], x[60:], y[60:], settings, n_runs=3, seed=4)
    b, pb = linear_layer_runs(x[:60], y[:60], x[60:], y[60:], settings, n_runs=3, seed=4)
    assert a == b
    assert set(a) == {"mse", "mse_std", "n_excluded"} and a["mse_std"] > 0
    assert not np.array_equal(pa[0].fit_rows_, pa[1].fit_rows_)


def test_bad_settings_are_config_errors():
    with pytest.raises(ConfigError, match="task"):
        LinearLayerSettings(task="ranking")
    with pytest.raises(ConfigError, match="optimizer"):
        LinearLayerSettings(optimizer="lamb")


@pytest.mark.parametrize("task,k", [("regression", 1), ("classification", 1),
                                    ("classification", 3)])
def test_closed_form_gradients_equal_autograd(task, k):
    from torch import nn

    from radiolib.evaluate.linear_layer import _gradients

    gen = torch.Generator().manual_seed(0)
    z = torch.randn(9, 5, generator=gen, dtype=torch.float64)
    layer = nn.Linear(5, k).double()
    if task == "regression":
        target, loss_fn = torch.randn(9, 1, generator=gen, dtype=torch.float64), nn.MSELoss()
    elif k == 1:
        target = torch.randint(0, 2, (9, 1), generator=gen).double()
        loss_fn = nn.BCEWithLogitsLoss()
    else:
        target, loss_fn = torch.randint(0, k, (9,), generator=gen), nn.CrossEntropyLoss()
    loss_fn(layer(z), target).backward()
    with torch.no_grad():
        g_w, g_b = _gradients(layer(z), target, z, task)
    torch.testing.assert_close(g_w, layer.weight.grad, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(g_b, layer.bias.grad, rtol=1e-12, atol=1e-12)


def test_fit_restores_the_thread_count():
    before = torch.get_num_threads()
    rng = np.random.default_rng(0)
    LinearLayerProbe(LinearLayerSettings(task="regression", epochs=1, n_components=2)).fit(
        rng.normal(size=(10, 3)), rng.normal(size=10))
    assert torch.get_num_threads() == before
