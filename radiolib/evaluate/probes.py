"""Embeddings of images by a pre-trained backbone, cached on disk, and cheap probes on them.

* :func:`checkpoint_embeddings` embeds images with the backbone of a radiolib SSL checkpoint
  (:func:`radiolib.ssl.registry.load_pretrained`) and caches the result as ``.npy``, keyed by the
  checkpoint's and the images' content: a notebook re-run, or another notebook using the same
  checkpoint, reads it back. :func:`random_embeddings` is the untrained baseline.
* :func:`count_regression_mse` is Lastufka et al.'s [0] source-count probe: PCA to 100
  components, one linear layer on the frozen features, test MSE. The layer is fitted as a
  ridge regression whose penalty is chosen by leave-one-out error on the training split: the
  paper trains its layer for 100 epochs (Sect. 4) and names no regularisation; plain least
  squares on 100 components of a few hundred crops fits noise and loses to predicting the mean.
* :func:`linear_probe` (logistic regression on standardised features) and :func:`knn_probe`
  (cosine k nearest neighbours) score a label, e.g. Riggi et al.'s [1] frame labels.

- [0] Lastufka et al. 2024, A&A 690, A310, arXiv:2408.06147
- [1] Riggi et al. 2024, PASA, arXiv:2404.18462
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from sklearn.decomposition import PCA
from sklearn.linear_model import LinearRegression, LogisticRegression, RidgeCV
from sklearn.metrics import accuracy_score, balanced_accuracy_score, roc_auc_score
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from radiolib.files import atomic_path, sha256_file
from radiolib.models import feature_extractor
from radiolib.ssl.cache import fingerprint
from radiolib.ssl.registry import load_pretrained

__all__ = ["RIDGE_ALPHAS", "bootstrap_std", "checkpoint_embeddings", "count_regression_fit",
           "count_regression_mse", "knn_probe", "knn_probe_fit", "linear_probe",
           "linear_probe_fit", "random_embeddings"]

#: Ridge penalties tried by the count probe, on standardised PCA components.
RIDGE_ALPHAS = tuple(np.logspace(-3, 5, 17))


def checkpoint_embeddings(checkpoint: str | os.PathLike, images: torch.Tensor, *,
                          cache_dir: str | os.PathLike | None = None,
                          batch_size: int = 256) -> np.ndarray:
    """Embeddings (N, D) of ``images`` (N, C, S, S) by a checkpoint's backbone, cached.

    The cache file is ``<cache_dir>/emb-<checkpoint hash>-<images hash>.npy`` (no caching when
    ``cache_dir`` is None). DINO checkpoints give the teacher's backbone.
    """
    path = None
    if cache_dir is not None:
        path = Path(cache_dir) / f"emb-{sha256_file(checkpoint)[:16]}-{fingerprint(images)}.npy"
        if path.is_file():
            return np.load(path)
    model = load_pretrained(checkpoint)  # on CUDA when there is one
    emb = model.embed(images, batch_size=batch_size).numpy()
    if path is not None:
        with atomic_path(path) as tmp:
            np.save(tmp, emb)
    return emb


def random_embeddings(name: str, images: torch.Tensor, *, seed: int = 0,
                      batch_size: int = 256) -> np.ndarray:
    """Embeddings by a randomly initialised backbone ``name`` (the untrained baseline)."""
    torch.manual_seed(seed)
    model = feature_extractor(name, images.shape[1], image_size=images.shape[-1])
    return model.embed(images, batch_size=batch_size).numpy()


def _pca(n_components: int, train_x) -> PCA:
    """PCA to ``n_components``, capped by the features and the training samples (minus one)."""
    k = max(1, min(n_components, np.shape(train_x)[1], len(train_x) - 1))
    return PCA(k, svd_solver="full")


def count_regression_fit(train_x, train_y, *, n_components: int = 100, alphas=RIDGE_ALPHAS):
    """Fit the count probe: PCA(``n_components``), standardisation, then a linear layer.

    The layer is a ridge regression with the penalty in ``alphas`` of least leave-one-out
    error (``alphas=None``: plain least squares). The number of components is capped by the
    features and the training samples (minus one). Returns the fitted scikit-learn pipeline.
    """
    train_x = np.asarray(train_x, np.float64)
    if train_x.ndim != 2 or len(train_x) < 2:
        raise ValueError(f"need (N >= 2, D) training features, got {train_x.shape}")
    layer = LinearRegression() if alphas is None else RidgeCV(alphas=tuple(alphas))
    model = make_pipeline(_pca(n_components, train_x), StandardScaler(), layer)
    return model.fit(train_x, np.asarray(train_y, np.float64))


def count_regression_mse(train_x, train_y, test_x, test_y, *, n_components: int = 100,
                         alphas=RIDGE_ALPHAS) -> float:
    """Test MSE of :func:`count_regression_fit`'s probe, fitted on the training split.

    Parameters
    ----------
    train_x, test_x : array, shape (N, D)
        Frozen embeddings.
    train_y, test_y : array, shape (N,)
        Source counts.
    """
    model = count_regression_fit(train_x, train_y, n_components=n_components, alphas=alphas)
    pred = model.predict(np.asarray(test_x, np.float64))
    return float(np.mean((pred - np.asarray(test_y, np.float64)) ** 2))


def _scores(y_true, pred, proba, classes, n_boot: int) -> dict[str, float]:
    metrics = {"accuracy": lambda i: accuracy_score(y_true[i], pred[i]),
               "balanced_accuracy": lambda i: balanced_accuracy_score(y_true[i], pred[i])}
    if len(classes) == 2 and len(np.unique(y_true)) == 2:
        metrics["auc"] = lambda i: roc_auc_score(y_true[i] == classes[1], proba[i, 1])
    every = np.arange(len(y_true))
    out = {name: float(f(every)) for name, f in metrics.items()}
    if n_boot:
        out.update({f"{name}_std": bootstrap_std(f, len(y_true), n_boot=n_boot)
                    for name, f in metrics.items()})
    return out


def linear_probe_fit(train_x, train_y, *, c: float = 1.0, max_iter: int = 2000,
                     n_components: int | None = None):
    """Fit :func:`linear_probe`'s model (optional PCA, standardisation, balanced logistic)."""
    steps = [] if n_components is None else [_pca(n_components, train_x)]
    model = make_pipeline(*steps, StandardScaler(), LogisticRegression(
        C=c, max_iter=max_iter, class_weight="balanced"))
    return model.fit(np.asarray(train_x), np.asarray(train_y))


def linear_probe(train_x, train_y, test_x, test_y, *, c: float = 1.0, max_iter: int = 2000,
                 n_components: int | None = None, n_boot: int = 0) -> dict[str, float]:
    """Logistic regression on standardised features: accuracy, balanced accuracy (and AUC).

    Classes are weighted by their inverse frequency (rare labels such as PECULIAR count).
    ``auc`` is given for two classes (the probability of the second, in sorted order); with
    ``n_boot`` > 0, ``<metric>_std`` is each score's bootstrap spread over the test items.
    ``n_components`` first projects on that many principal components of the training
    features (capped by the features and the training samples), Lastufka et al.'s [0] PCA-100
    before their one linear layer.
    """
    model = linear_probe_fit(train_x, train_y, c=c, max_iter=max_iter,
                             n_components=n_components)
    return _scores(np.asarray(test_y), model.predict(test_x), model.predict_proba(test_x),
                   model.classes_, n_boot)


def knn_probe_fit(train_x, train_y, *, k: int = 10):
    """Fit :func:`knn_probe`'s cosine, distance-weighted k-nearest-neighbour classifier."""
    model = KNeighborsClassifier(n_neighbors=min(k, len(train_x)), metric="cosine",
                                 weights="distance")
    return model.fit(np.asarray(train_x), np.asarray(train_y))


def knn_probe(train_x, train_y, test_x, test_y, *, k: int = 10,
              n_boot: int = 0) -> dict[str, float]:
    """Cosine k-nearest-neighbour vote (distance-weighted); scores as :func:`linear_probe`."""
    model = knn_probe_fit(train_x, train_y, k=k)
    return _scores(np.asarray(test_y), model.predict(test_x), model.predict_proba(test_x),
                   model.classes_, n_boot)


def bootstrap_std(metric: Callable[[np.ndarray], float], n: int, *, n_boot: int = 200,
                  seed: int = 0) -> float:
    """Return the spread (std) of ``metric(index)`` over bootstrap resamples of ``n`` items.

    ``metric`` takes an index array into the test set and returns the score on those items.
    """
    rng = np.random.default_rng(seed)
    values = []
    for _ in range(n_boot):
        try:
            values.append(metric(rng.integers(0, n, n)))
        except ValueError:  # a resample with one class only (AUC undefined)
            continue
    return float(np.std(values)) if len(values) > 1 else float("nan")
