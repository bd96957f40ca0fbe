"""Morphology classification on a frozen backbone: balanced draws, a softmax head, per-class F1.

Riggi et al. [0] (Sect. 3) freeze a pre-trained ResNet18, train one linear layer followed by a
softmax on its 512-d features (30 epochs, rotations and flips as the only augmentation), and
score it on several balanced train/test draws by precision, recall and F1 per class and for
all classes (their Sect. 2.5), quoting the mean and its error over the draws.

* :func:`balanced_draws` draws ``n_draws`` seeded, disjoint, balanced train/test index sets;
  :func:`save_draws` / :func:`load_draws` keep them beside the results.
* :func:`dihedral_features` embeds every image in its eight flips and quarter turns once: with a
  frozen backbone, training on a randomly flipped and turned image is the same as training on
  the stored features of that view, so the augmentation costs eight forward passes per image
  instead of one per image and epoch.
* :func:`train_softmax_head` trains the layer (Adam, cross-entropy) on those features;
  :func:`class_metrics` scores predictions as the paper defines; :func:`frozen_protocol`
  runs the whole protocol over the draws and :func:`summarise_draws` gives mean ± error.
* :func:`finetune_predict` fine-tunes the whole network (or its last blocks) and scores its
  test predictions; :func:`label_fraction_curve` repeats it on shrinking fractions of the
  training set (the paper's Sect. 3.3, Fig. 7). :func:`confident_mistakes` lists the test
  images classified wrong with the highest probability (the paper's Fig. A.1).

- [0] Riggi et al. 2024, PASA, arXiv:2404.18462
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch import nn

from radiolib.errors import DataError
from radiolib.evaluate.finetune import finetune_classifier
from radiolib.files import atomic_path
from radiolib.models.extractor import FeatureExtractor

__all__ = ["METRICS", "N_VIEWS", "Draw", "ProtocolResult", "SoftmaxHead", "balanced_draws",
           "class_metrics", "confident_mistakes", "confusion", "dihedral_features",
           "finetune_predict", "frozen_protocol", "label_fraction_curve", "load_draws",
           "save_draws", "summarise_draws", "train_softmax_head"]

#: Scores per class and overall, as Riggi et al. Sect. 2.5 define them.
METRICS = ("precision", "recall", "f1", "contamination")
#: Flips and quarter turns of a square image (the dihedral group of order 8).
N_VIEWS = 8
#: Row of :func:`class_metrics` holding the scores over all classes.
ALL = "all"


@dataclass(frozen=True)
class Draw:
    """One balanced draw: indices of its training and test images (sorted, disjoint)."""

    train: np.ndarray
    test: np.ndarray


def balanced_draws(labels, n_train: int, n_test: int, *, n_draws: int = 5,
                   seed: int = 0) -> list[Draw]:
    """Draw ``n_draws`` balanced train/test index sets: ``n_train`` + ``n_test`` per class.

    In each draw the training and test images are disjoint; draws differ from one another and
    the same ``seed`` gives the same draws. A class with fewer than ``n_train + n_test`` images
    is an error that names it.
    """
    labels = np.asarray(labels)
    if n_train < 1 or n_test < 1 or n_draws < 1:
        raise ValueError(f"need n_train, n_test and n_draws >= 1, got {n_train}, {n_test}, "
                         f"{n_draws}")
    classes, counts = np.unique(labels, return_counts=True)
    if len(classes) < 2:
        raise ValueError(f"need two classes or more, got {classes.tolist()}")
    short = {c.item(): int(n) for c, n in zip(classes, counts, strict=True)
             if n < n_train + n_test}
    if short:
        raise ValueError(f"classes {short} hold fewer than n_train + n_test = "
                         f"{n_train + n_test} images")
    rng = np.random.default_rng(seed)
    draws = []
    for _ in range(n_draws):
        picks = [rng.permutation(np.flatnonzero(labels == c)) for c in classes]
        draws.append(Draw(np.sort(np.concatenate([p[:n_train] for p in picks])),
                          np.sort(np.concatenate([p[n_train:n_train + n_test] for p in picks]))))
    return draws


def save_draws(path: str | os.PathLike, draws: Sequence[Draw]) -> Path:
    """Save the drawn indices as ``.npz`` (``train_<i>``, ``test_<i>``), atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    arrays = {f"{part}_{i}": getattr(d, part) for i, d in enumerate(draws)
              for part in ("train", "test")}
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        np.savez(f, **arrays)
    return path


def load_draws(path: str | os.PathLike) -> list[Draw]:
    """Read draws written by :func:`save_draws`."""
    try:
        with np.load(path) as z:
            n = len([k for k in z.files if k.startswith("train_")])
            return [Draw(z[f"train_{i}"], z[f"test_{i}"]) for i in range(n)]
    except (OSError, KeyError, ValueError) as exc:
        raise DataError(f"{path}: not a file of balanced draws ({exc})") from None


def confusion(y_true, y_pred, n_classes: int) -> np.ndarray:
    """Return the confusion counts (K, K): row = true class, column = predicted class."""
    y_true, y_pred = np.asarray(y_true, np.int64), np.asarray(y_pred, np.int64)
    return np.bincount(y_true * n_classes + y_pred, minlength=n_classes**2
                       ).reshape(n_classes, n_classes)


def class_metrics(y_true, y_pred, class_names: Sequence[str]) -> pd.DataFrame:
    """Precision, recall, F1 and contamination per class, and over all classes (row ``all``).

    Per class, from the true positives, false positives and false negatives: P = TP / (TP +
    FP), R = TP / (TP + FN), F1 = 2PR / (P + R), C = 1 - P (Riggi et al. Sect. 2.5); a class
    never predicted has P = 0 (and F1 = 0). ``all`` is the unweighted mean over the classes
    (on balanced test sets the same as weighting by class size), with C = 1 - P; ``support``
    counts the true images, and ``accuracy`` (``all`` row) the fraction classified right.
    """
    k = len(class_names)
    cm = confusion(y_true, y_pred, k)
    tp = np.diag(cm).astype(float)
    predicted, support = cm.sum(0), cm.sum(1)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = np.where(predicted > 0, tp / predicted, 0.0)
        r = np.where(support > 0, tp / support, np.nan)
        f1 = np.where(p + r > 0, 2 * p * r / (p + r), 0.0)
    f1 = np.where(support > 0, f1, np.nan)
    table = pd.DataFrame({"precision": p, "recall": r, "f1": f1, "contamination": 1 - p,
                          "support": support}, index=pd.Index(list(class_names), name="class"))
    present = support > 0
    overall = {m: float(np.mean(table[m].to_numpy()[present])) for m in ("precision", "recall",
                                                                         "f1")}
    overall["contamination"] = 1 - overall["precision"]
    overall["support"] = int(support.sum())
    table.loc[ALL] = overall
    table["accuracy"] = np.nan
    table.loc[ALL, "accuracy"] = tp.sum() / max(1, support.sum())
    return table


def _views(x: torch.Tensor, k: int) -> torch.Tensor:
    """View ``k`` (0..7) of square images: ``k // 4`` horizontal flips, then ``k % 4`` turns."""
    if k >= 4:
        x = x.flip(-1)
    return torch.rot90(x, k % 4, dims=(-2, -1))


def dihedral_features(model: FeatureExtractor, images: torch.Tensor, *, views: int = N_VIEWS,
                      batch_size: int = 256) -> np.ndarray:
    """Frozen features (``views``, N, D) of each image in its first ``views`` dihedral views.

    View 0 is the image itself; with ``views=8`` every flip and quarter turn is there, which is
    all that rotation-and-flip augmentation can show a frozen backbone.
    """
    if not 1 <= views <= N_VIEWS:
        raise ValueError(f"views must be 1..{N_VIEWS}, got {views}")
    if images.ndim != 4 or images.shape[-1] != images.shape[-2]:
        raise ValueError(f"need square images (N, C, S, S), got {tuple(images.shape)}")
    return np.stack([model.embed(_views(images, k), batch_size=batch_size).numpy()
                     for k in range(views)])


@dataclass
class SoftmaxHead:
    """A trained linear layer + softmax on standardised features (``mean``, ``scale``)."""

    weight: np.ndarray
    bias: np.ndarray
    mean: np.ndarray
    scale: np.ndarray

    def predict_proba(self, features) -> np.ndarray:
        """Class probabilities (N, K) of features (N, D)."""
        z = (np.asarray(features, np.float64) - self.mean) / self.scale
        logits = z @ self.weight.T + self.bias
        logits -= logits.max(1, keepdims=True)
        e = np.exp(logits)
        return e / e.sum(1, keepdims=True)

    def predict(self, features) -> np.ndarray:
        """Most probable class of each row of ``features``."""
        return self.predict_proba(features).argmax(1)


def train_softmax_head(features, labels, *, n_classes: int | None = None, epochs: int = 30,
                       lr: float = 1e-3, batch_size: int = 64, weight_decay: float = 0.0,
                       seed: int = 0) -> SoftmaxHead:
    """Train one linear layer with a softmax (cross-entropy, Adam) on frozen features.

    ``features`` is (N, D), or (V, N, D) for V views of each image (from
    :func:`dihedral_features`): each epoch then shows every image once, in a view drawn at
    random, which is rotation-and-flip augmentation. Features are standardised with the mean
    and spread of the training features. Seeded: same inputs and seed, same head.
    """
    x = np.asarray(features, np.float32)
    x = x[None] if x.ndim == 2 else x
    y = np.asarray(labels, np.int64)
    if x.ndim != 3 or x.shape[1] != len(y) or len(y) < 2:
        raise ValueError(f"need features (N, D) or (V, N, D) for N >= 2 labels, got "
                         f"{np.shape(features)} for {len(y)} labels")
    if epochs < 1 or batch_size < 1:
        raise ValueError(f"need epochs >= 1 and batch_size >= 1, got {epochs}, {batch_size}")
    k = int(y.max()) + 1 if n_classes is None else int(n_classes)
    mean = x.reshape(-1, x.shape[-1]).mean(0)
    scale = x.reshape(-1, x.shape[-1]).std(0)
    scale = np.where(scale > 0, scale, 1.0).astype(np.float32)
    xt = torch.from_numpy((x - mean) / scale)
    yt = torch.from_numpy(y)
    gen = torch.Generator().manual_seed(seed)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        layer = nn.Linear(x.shape[-1], k)
    opt = torch.optim.Adam(layer.parameters(), lr=lr, weight_decay=weight_decay)
    loss_fn = nn.CrossEntropyLoss()
    n_views, n = xt.shape[0], xt.shape[1]
    for _ in range(epochs):
        order = torch.randperm(n, generator=gen)
        view = torch.randint(0, n_views, (n,), generator=gen)
        for start in range(0, n, batch_size):
            idx = order[start:start + batch_size]
            loss = loss_fn(layer(xt[view[idx], idx]), yt[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
    return SoftmaxHead(layer.weight.detach().double().numpy(),
                       layer.bias.detach().double().numpy(), mean.astype(np.float64),
                       scale.astype(np.float64))


@dataclass
class ProtocolResult:
    """Scores of every draw (long table), their mean ± error, and each draw's predictions."""

    per_draw: pd.DataFrame
    summary: pd.DataFrame
    predictions: list[dict] = field(default_factory=list)


def summarise_draws(per_draw: pd.DataFrame) -> pd.DataFrame:
    """Mean and mean error (std / sqrt(n), NaN for one draw) of each class's scores.

    ``per_draw`` has columns ``draw, class`` and metric columns; returns one row per class with
    ``<metric>`` and ``<metric>_err`` columns, classes in their first order.
    """
    metrics = [c for c in per_draw.columns if c not in ("draw", "class", "support")]
    grouped = per_draw.groupby("class", sort=False)[metrics]
    n = grouped.count()
    err = grouped.std(ddof=1) / np.sqrt(n)
    return grouped.mean().join(err.add_suffix("_err"))


def frozen_protocol(features, labels, draws: Sequence[Draw], class_names: Sequence[str], *,
                    epochs: int = 30, lr: float = 1e-3, batch_size: int = 64,
                    seed: int = 0) -> ProtocolResult:
    """Train and score a softmax head on each draw of frozen features (Riggi et al. Sect. 3.2).

    ``features`` is (V, N, D) from :func:`dihedral_features` (V = 8: augmented training) or
    (N, D); the test images are scored in their own view (view 0). Draw ``i`` trains with seed
    ``seed + i``.
    """
    x = np.asarray(features)
    x = x[None] if x.ndim == 2 else x
    y = np.asarray(labels)
    rows, predictions = [], []
    for i, d in enumerate(draws):
        head = train_softmax_head(x[:, d.train], y[d.train], n_classes=len(class_names),
                                  epochs=epochs, lr=lr, batch_size=batch_size, seed=seed + i)
        proba = head.predict_proba(x[0, d.test])
        pred = proba.argmax(1)
        table = class_metrics(y[d.test], pred, class_names)
        rows.append(table.reset_index().assign(draw=i))
        predictions.append({"test": d.test, "y_true": y[d.test], "y_pred": pred,
                            "proba": proba})
    per_draw = pd.concat(rows, ignore_index=True)
    return ProtocolResult(per_draw, summarise_draws(per_draw), predictions)


def finetune_predict(model: FeatureExtractor, images: torch.Tensor, labels, draw: Draw,
                     class_names: Sequence[str], *, n_blocks: int = 99, epochs: int = 150,
                     lr: float = 1e-4, head_lr: float = 1e-3, batch_size: int = 32,
                     seed: int = 0, device=None) -> pd.DataFrame:
    """Fine-tune a copy of ``model`` on a draw's training images; score its test images.

    The last ``n_blocks`` (default: all) train with a linear head; the result is
    :func:`class_metrics` of the test predictions. Rotations and flips are the augmentation
    (:func:`radiolib.evaluate.finetune_classifier`).
    """
    y = np.asarray(labels)
    run = finetune_classifier(model, images[draw.train], y[draw.train], images[draw.test],
                              y[draw.test], n_blocks=n_blocks, epochs=epochs, lr=lr,
                              head_lr=head_lr, batch_size=batch_size, seed=seed, device=device)
    dev = next(run.head.parameters()).device
    with torch.no_grad():
        logits = torch.cat([run.head(run.model(b.to(dev))).cpu()
                            for b in images[draw.test].split(256)])
    return class_metrics(y[draw.test], logits.argmax(1).numpy(), class_names)


def label_fraction_curve(starts: dict[str, FeatureExtractor], images: torch.Tensor, labels,
                         draws: Sequence[Draw], fractions: Sequence[float],
                         class_names: Sequence[str], *, seed: int = 0,
                         progress=None, **finetune) -> pd.DataFrame:
    """Fine-tune each starting model on shrinking fractions of each draw's training set.

    For every draw, fraction ``f`` and start, ``round(f x n)`` of the ``n`` training images per
    class (at least one) are drawn, seeded, and the model fine-tuned on them
    (:func:`finetune_predict`, keyword arguments ``finetune``); the draw's test set never
    changes. Returns one row per (start, fraction, draw): ``n_train`` and the ``all`` scores.
    ``progress`` (e.g. a tqdm bar) is updated once per run.
    """
    if not fractions or min(fractions) <= 0 or max(fractions) > 1:
        raise ValueError(f"fractions must lie in (0, 1], got {list(fractions)}")
    y = np.asarray(labels)
    rng = np.random.default_rng(seed)
    rows = []
    for i, d in enumerate(draws):
        per_class = int(np.bincount(y[d.train]).max())
        for f in sorted(fractions):
            n = max(1, int(round(f * per_class)))
            picks = [rng.permutation(d.train[y[d.train] == c])[:n] for c in np.unique(y[d.train])]
            sub = Draw(np.sort(np.concatenate(picks)), d.test)
            for name, model in starts.items():
                table = finetune_predict(model, images, y, sub, class_names, seed=seed + i,
                                         **finetune)
                rows.append({"start": name, "fraction": f, "draw": i,
                             "n_train": len(sub.train), **table.loc[ALL, list(METRICS)]})
                if progress is not None:
                    progress.update(1)
    return pd.DataFrame(rows)


def confident_mistakes(predictions: Sequence[dict], n: int = 8) -> pd.DataFrame:
    """Return the ``n`` misclassified test images predicted with the highest probability.

    ``predictions`` as in :attr:`ProtocolResult.predictions`; returns ``draw, index`` (into the
    labelled set), ``y_true, y_pred, probability``, most confident first.
    """
    rows = []
    for i, p in enumerate(predictions):
        wrong = np.flatnonzero(p["y_pred"] != p["y_true"])
        rows += [{"draw": i, "index": int(p["test"][j]), "y_true": int(p["y_true"][j]),
                  "y_pred": int(p["y_pred"][j]), "probability": float(p["proba"][j].max())}
                 for j in wrong]
    table = pd.DataFrame(rows, columns=["draw", "index", "y_true", "y_pred", "probability"])
    table = table.sort_values("probability", ascending=False, kind="stable")
    return table.head(n).reset_index(drop=True)
