"""The frozen-feature probe as Lastufka et al. [0] train it: PCA, then one torch linear layer.

:class:`LinearLayerProbe` is fit/predict with explicit state, like a scikit-learn estimator:
``fit(x, y)`` splits its rows 70/30 into fitting and validation rows (seeded), fits a
standardisation, a PCA to ``n_components`` and a second standardisation on the *fitting rows
only* (test rows are never passed to ``fit``; validation rows only score the loss per epoch),
then trains one ``nn.Linear`` for a fixed number of epochs (MSE for a regression; a single logit
with binary cross-entropy for two classes, softmax cross-entropy for more). The weight decay
applies to the weights, not the bias, so a converged probe is exactly a ridge regression
(``alpha = n * weight_decay / 2``) or an L2 logistic regression (``C = 1 / (n * weight_decay)``)
on the same components: the tests check this against scikit-learn.

:func:`sigma_outliers` is the paper's exclusion of extreme source counts (Sect. 4.1) and
:func:`linear_layer_runs` the mean ± std over seeded runs (Sect. 4.1: three runs). The paper's
settings (epochs per task, split, runs) live in :mod:`radiolib.papers.lastufka2024`.

- [0] Lastufka et al. 2024, A&A 690, A310, arXiv:2408.06147
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
import torch
from sklearn.decomposition import PCA
from sklearn.metrics import f1_score
from sklearn.preprocessing import StandardScaler
from torch import nn

from radiolib.errors import ConfigError

__all__ = ["LinearLayerProbe", "LinearLayerSettings", "linear_layer_runs", "sigma_outliers"]


class _threads:
    """Run a block with ``n`` torch threads, then restore the previous number."""

    def __init__(self, n: int):
        self.n = n

    def __enter__(self):
        self.before = torch.get_num_threads()
        torch.set_num_threads(self.n)

    def __exit__(self, *exc):
        torch.set_num_threads(self.before)


def _gradients(out: torch.Tensor, target: torch.Tensor, z: torch.Tensor, task: str):
    """Gradients of the mean loss of one batch w.r.t. the layer's weight and bias, closed form.

    ``out`` = ``z @ W.T + b``; the derivative of the mean MSE, binary cross-entropy on one logit
    or softmax cross-entropy with respect to ``out`` is (2 x) the residual over the batch size.
    Autograd would give the same numbers (a test compares) at several times the cost per step.
    """
    if task == "regression":
        residual = 2 * (out - target)
    elif out.shape[1] == 1:
        residual = torch.sigmoid(out) - target
    else:
        residual = torch.softmax(out, 1)
        residual[torch.arange(len(target)), target] -= 1
    residual = residual / len(out)
    return residual.T @ z, residual.sum(0)


@dataclass(frozen=True)
class LinearLayerSettings:
    """How the linear layer is trained (defaults: generic; the paper's are in papers/)."""

    task: str = "classification"  #: "regression" or "classification"
    epochs: int = 300
    lr: float = 1e-3
    batch_size: int = 64
    weight_decay: float = 0.0
    optimizer: str = "adam"  #: "sgd" or "adam"
    n_components: int = 100
    val_fraction: float = 0.3

    def __post_init__(self) -> None:
        if self.task not in ("regression", "classification"):
            raise ConfigError(f"task must be 'regression' or 'classification', got {self.task!r}")
        if self.optimizer not in ("sgd", "adam"):
            raise ConfigError(f"optimizer must be 'sgd' or 'adam', got {self.optimizer!r}")
        if self.epochs < 1 or self.batch_size < 1 or self.n_components < 1 or self.lr <= 0:
            raise ConfigError("epochs, batch_size, n_components and lr must be positive, got "
                              f"{self.epochs}, {self.batch_size}, {self.n_components}, {self.lr}")
        if not 0 <= self.val_fraction < 1:
            raise ConfigError(f"val_fraction must be in [0, 1), got {self.val_fraction}")


def sigma_outliers(values, n_sigma: float = 3.0) -> np.ndarray:
    """Boolean mask of the values more than ``n_sigma`` population stds from their mean.

    The paper drops crops whose source count lies that far from the mean before fitting or
    scoring the count probe (Sect. 4.1; 25 MGCLS and 4 MIGHTEE crops).
    """
    values = np.asarray(values, dtype=np.float64)
    if values.ndim != 1 or not len(values):
        raise ValueError(f"need a non-empty 1-D array of values, got shape {values.shape}")
    std = values.std()
    if std == 0:
        return np.zeros(len(values), dtype=bool)
    return np.abs(values - values.mean()) > n_sigma * std


class LinearLayerProbe:
    """Standardise, PCA, standardise (fitted on the fitting rows), then one linear layer.

    Attributes after :meth:`fit`: ``fit_rows_`` and ``val_rows_`` (indices into the rows given
    to ``fit``), ``scaler_``, ``pca_``, ``post_scaler_`` (scikit-learn, fitted on ``fit_rows_``
    only), ``layer_`` (the trained ``nn.Linear``), ``classes_`` (classification) and
    ``history_`` (training and validation loss per epoch).
    """

    def __init__(self, settings: LinearLayerSettings | None = None, *, seed: int = 0,
                 **changes) -> None:
        self.settings = replace(settings or LinearLayerSettings(), **changes)
        self.seed = int(seed)

    # -- fitting ---------------------------------------------------------------------------
    def _split(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        rng = np.random.default_rng(self.seed)
        order = rng.permutation(n)
        n_val = int(round(self.settings.val_fraction * n))
        n_val = min(n_val, n - 2)
        return np.sort(order[n_val:]), np.sort(order[:n_val])

    def _transform(self, x) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64)
        return self.post_scaler_.transform(self.pca_.transform(self.scaler_.transform(x)))

    def fit(self, x, y) -> LinearLayerProbe:
        """Fit on rows ``x`` (N, D) with targets ``y`` (N,); returns self."""
        s = self.settings
        x = np.asarray(x, dtype=np.float64)
        y = np.asarray(y)
        if x.ndim != 2 or len(x) != len(y) or len(x) < 3:
            raise ValueError(f"need features (N >= 3, D) and N targets, got {x.shape} and "
                             f"{y.shape}")
        self.fit_rows_, self.val_rows_ = self._split(len(x))
        fit_x = x[self.fit_rows_]
        self.scaler_ = StandardScaler().fit(fit_x)
        k = max(1, min(s.n_components, x.shape[1], len(fit_x) - 1))
        self.pca_ = PCA(k, svd_solver="full").fit(self.scaler_.transform(fit_x))
        self.post_scaler_ = StandardScaler().fit(
            self.pca_.transform(self.scaler_.transform(fit_x)))
        z = torch.as_tensor(self._transform(x), dtype=torch.float32)
        if s.task == "regression":
            target = torch.as_tensor(y, dtype=torch.float32).reshape(-1, 1)
            n_out, loss_fn = 1, nn.MSELoss()
        else:
            self.classes_, codes = np.unique(y, return_inverse=True)
            if len(self.classes_) < 2:
                raise ValueError("classification needs two classes or more in the training rows")
            binary = len(self.classes_) == 2
            target = torch.as_tensor(codes, dtype=torch.float32 if binary else torch.long)
            target = target.reshape(-1, 1) if binary else target
            n_out = 1 if binary else len(self.classes_)
            loss_fn = nn.BCEWithLogitsLoss() if binary else nn.CrossEntropyLoss()
        gen = torch.Generator().manual_seed(self.seed)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.seed)
            layer = nn.Linear(z.shape[1], n_out)
        groups = [{"params": [layer.weight], "weight_decay": s.weight_decay},
                  {"params": [layer.bias], "weight_decay": 0.0}]
        opt = (torch.optim.SGD(groups, lr=s.lr) if s.optimizer == "sgd"
               else torch.optim.Adam(groups, lr=s.lr))
        fit_idx = torch.as_tensor(self.fit_rows_)
        val_idx = torch.as_tensor(self.val_rows_)
        history = []
        with _threads(1), torch.no_grad():  # tiny matrices: threads cost more than they give
            for epoch in range(s.epochs):
                order = fit_idx[torch.randperm(len(fit_idx), generator=gen)]
                total = torch.zeros(())
                for start in range(0, len(order), s.batch_size):
                    idx = order[start:start + s.batch_size]
                    zb, tb = z[idx], target[idx]
                    out = layer(zb)
                    total += loss_fn(out, tb) * len(idx)
                    layer.weight.grad, layer.bias.grad = _gradients(out, tb, zb, s.task)
                    opt.step()
                val = (float(loss_fn(layer(z[val_idx]), target[val_idx]))
                       if len(val_idx) else float("nan"))
                history.append({"epoch": epoch + 1, "loss": float(total) / len(order),
                                "val_loss": val})
        self.layer_ = layer.eval()
        self.history_ = pd.DataFrame(history)
        return self

    # -- prediction ------------------------------------------------------------------------
    def _logits(self, x) -> torch.Tensor:
        if not hasattr(self, "layer_"):
            raise RuntimeError("call fit before predicting")
        with torch.no_grad():
            return self.layer_(torch.as_tensor(self._transform(x), dtype=torch.float32))

    def decision_function(self, x) -> np.ndarray:
        """Raw outputs: the regression value, or the class logit(s)."""
        out = self._logits(x).numpy().astype(np.float64)
        return out[:, 0] if out.shape[1] == 1 else out

    def predict_proba(self, x) -> np.ndarray:
        """Class probabilities (N, K), in the order of ``classes_``."""
        if self.settings.task != "classification":
            raise RuntimeError("predict_proba is for classification probes")
        logits = self._logits(x)
        if logits.shape[1] == 1:
            p = torch.sigmoid(logits[:, 0])
            return torch.stack([1 - p, p], 1).numpy().astype(np.float64)
        return torch.softmax(logits, 1).numpy().astype(np.float64)

    def predict(self, x) -> np.ndarray:
        """Predicted values (regression) or class labels (classification)."""
        if self.settings.task == "regression":
            return self.decision_function(x)
        return self.classes_[self.predict_proba(x).argmax(1)]

    def score(self, x, y) -> dict[str, float]:
        """``mse`` (regression) or ``accuracy``, ``error`` and ``f1`` (classification).

        F1 is the positive class's for two classes (the second in sorted order, FRII in
        MiraBest), else the macro average.
        """
        y = np.asarray(y)
        pred = self.predict(x)
        if self.settings.task == "regression":
            return {"mse": float(np.mean((pred - y.astype(np.float64)) ** 2))}
        acc = float(np.mean(pred == y))
        if len(self.classes_) == 2:
            f1 = f1_score(y, pred, pos_label=self.classes_[1], average="binary", zero_division=0)
        else:
            f1 = f1_score(y, pred, average="macro", zero_division=0)
        return {"accuracy": acc, "error": 1 - acc, "f1": float(f1)}


def linear_layer_runs(train_x, train_y, test_x, test_y, settings: LinearLayerSettings, *,
                      n_runs: int = 3, seed: int = 0, exclude_sigma: float | None = None
                      ) -> tuple[dict[str, float], list[LinearLayerProbe]]:
    """Fit ``n_runs`` seeded probes on the training rows, score each on the test rows.

    Seeds ``seed, seed + 1, ...`` change the 70/30 split, the layer's initialisation and the
    batch order. With ``exclude_sigma``, rows whose target lies more than that many stds from
    the mean (:func:`sigma_outliers`, computed on training and test targets together, as the
    paper drops them before splitting) are removed from both. Returns the scores' mean and std
    (``<metric>`` and ``<metric>_std``, population std over runs, plus ``n_excluded``) and the
    fitted probes.
    """
    if n_runs < 1:
        raise ValueError(f"n_runs must be >= 1, got {n_runs}")
    train_x, train_y = np.asarray(train_x), np.asarray(train_y)
    test_x, test_y = np.asarray(test_x), np.asarray(test_y)
    n_excluded = 0
    if exclude_sigma is not None:
        drop = sigma_outliers(np.concatenate([train_y, test_y]).astype(np.float64),
                              exclude_sigma)
        n_excluded = int(drop.sum())
        keep_train, keep_test = ~drop[:len(train_y)], ~drop[len(train_y):]
        train_x, train_y = train_x[keep_train], train_y[keep_train]
        test_x, test_y = test_x[keep_test], test_y[keep_test]
    probes, scores = [], []
    for run in range(n_runs):
        probe = LinearLayerProbe(settings, seed=seed + run).fit(train_x, train_y)
        probes.append(probe)
        scores.append(probe.score(test_x, test_y))
    table = pd.DataFrame(scores)
    out = {name: float(table[name].mean()) for name in table}
    out |= {f"{name}_std": float(table[name].std(ddof=0)) for name in table}
    out["n_excluded"] = n_excluded
    return out, probes
