"""Probe scores against the number of labelled examples per class (a label-count curve).

Lastufka et al. [0] (Appendix C.2, Table 6) retrain their MiraBest classifier with 36 to 729
labels in total; Riggi et al. [1] (Sect. 3.3) fine-tune the whole network on shrinking fractions
of their labelled set, against a model trained from scratch. Here the frozen-feature probe is
refitted on ``n`` examples per class, for growing ``n``, each size drawn again ``n_repeats``
times (the spread over draws is what a small label set costs).

For the paper's Table 6 the counts are totals, not per class: :func:`scaled_label_counts` maps
them to a training set of another size, :func:`label_draws` draws each total stratified by class
(seeded) and :func:`save_label_draws` keeps the indices beside the results.

- [0] Lastufka et al. 2024, A&A 690, A310, arXiv:2408.06147
- [1] Riggi et al. 2024, PASA, arXiv:2404.18462
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from radiolib.errors import DataError
from radiolib.evaluate.probes import linear_probe
from radiolib.files import atomic_path

__all__ = ["balanced_subset", "label_count_curve", "label_draws", "load_label_draws",
           "save_label_draws", "scaled_label_counts", "stratified_draw"]


def balanced_subset(labels, n_per_class: int, rng: np.random.Generator) -> np.ndarray:
    """Return indices of ``n_per_class`` random examples of every class (all of a smaller one)."""
    labels = np.asarray(labels)
    picks = [rng.permutation(np.flatnonzero(labels == c))[:n_per_class]
             for c in np.unique(labels)]
    return np.sort(np.concatenate(picks))


def label_count_curve(train_x, train_y, test_x, test_y, n_per_class: Sequence[int], *,
                      n_repeats: int = 3, seed: int = 0,
                      probe: Callable[..., dict] = linear_probe, **probe_kwargs) -> pd.DataFrame:
    """Score ``probe`` trained on ``n`` labelled examples per class, for each ``n``.

    Parameters
    ----------
    train_x, test_x : array, shape (N, D)
        Frozen features.
    train_y, test_y : array, shape (N,)
        Class labels.
    n_per_class : sequence of int
        Labelled examples per class; a value above a class's size takes all of it.
    n_repeats : int
        Draws of the labelled subset per ``n`` (seeded from ``seed``).
    probe : callable
        ``probe(train_x, train_y, test_x, test_y, **probe_kwargs)`` returning scores.

    Returns
    -------
    DataFrame
        One row per (``n_per_class``, ``repeat``): ``n_labels`` used and the probe's scores.
    """
    if n_repeats < 1 or not len(n_per_class) or min(n_per_class) < 1:
        raise ValueError(f"need n_repeats >= 1 and positive n_per_class, got {n_repeats}, "
                         f"{list(n_per_class)}")
    train_x, train_y = np.asarray(train_x), np.asarray(train_y)
    rng = np.random.default_rng(seed)
    rows = []
    for n in n_per_class:
        for repeat in range(n_repeats):
            idx = balanced_subset(train_y, int(n), rng)
            scores = probe(train_x[idx], train_y[idx], test_x, test_y, **probe_kwargs)
            rows.append({"n_per_class": int(n), "repeat": repeat, "n_labels": len(idx),
                         **scores})
    return pd.DataFrame(rows)


def scaled_label_counts(paper_counts: Sequence[int], paper_total: int,
                        n_available: int) -> np.ndarray:
    """Scale a paper's total label counts to a training set of ``n_available`` images.

    Each count keeps its share of the paper's training set: ``round(count * n_available /
    paper_total)`` (at least 1, at most ``n_available``), so the paper's full set maps to ours.
    """
    counts = np.asarray(paper_counts, dtype=np.float64)
    if paper_total < 1 or n_available < 1 or (counts < 1).any() or (counts > paper_total).any():
        raise ValueError(f"need 1 <= counts <= paper_total and n_available >= 1, got "
                         f"{list(paper_counts)}, {paper_total}, {n_available}")
    return np.clip(np.rint(counts * n_available / paper_total), 1, n_available).astype(int)


def stratified_draw(labels, n_labels: int, rng: np.random.Generator) -> np.ndarray:
    """Sorted indices of ``n_labels`` examples in total, classes in their proportions.

    Per class ``n_labels * share`` rounded by largest remainder (so quotas sum to
    ``n_labels``), every class present at least once when ``n_labels`` allows it.
    """
    labels = np.asarray(labels)
    classes, sizes = np.unique(labels, return_counts=True)
    if not 1 <= n_labels <= len(labels):
        raise ValueError(f"n_labels must be in 1..{len(labels)}, got {n_labels}")
    exact = n_labels * sizes / sizes.sum()
    quota = np.floor(exact).astype(int)
    if n_labels >= len(classes):
        quota = np.maximum(quota, 1)
    for i in np.argsort(-(exact - np.floor(exact)), kind="stable"):
        if quota.sum() >= n_labels:
            break
        if quota[i] < sizes[i]:
            quota[i] += 1
    while quota.sum() > n_labels:  # the at-least-one rule overshot: trim the largest
        quota[np.argmax(quota - exact)] -= 1
    picks = [rng.choice(np.flatnonzero(labels == c), q, replace=False)
             for c, q in zip(classes, quota, strict=True)]
    return np.sort(np.concatenate(picks))


def label_draws(labels, counts: Sequence[int], *, n_draws: int = 3,
                seed: int = 0) -> dict[int, list[np.ndarray]]:
    """``{count: [indices of draw 0, 1, ...]}``: :func:`stratified_draw` per count, seeded.

    Draw ``d`` of count ``n`` uses the generator seeded by ``(seed, n, d)``, so adding a count
    or a draw leaves the others unchanged.
    """
    if n_draws < 1:
        raise ValueError(f"n_draws must be >= 1, got {n_draws}")
    return {int(n): [stratified_draw(labels, int(n), np.random.default_rng([seed, int(n), d]))
                     for d in range(n_draws)] for n in counts}


def save_label_draws(path: str | os.PathLike, draws: dict[int, list[np.ndarray]]) -> Path:
    """Save :func:`label_draws` as ``.npz`` (``n<count>_d<draw>``), atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    arrays = {f"n{n}_d{d}": idx for n, runs in draws.items() for d, idx in enumerate(runs)}
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        np.savez(f, **arrays)
    return path


def load_label_draws(path: str | os.PathLike) -> dict[int, list[np.ndarray]]:
    """Read draws written by :func:`save_label_draws`."""
    try:
        with np.load(path) as z:
            keys = sorted((int(k[1:].split("_d")[0]), int(k.split("_d")[1]), k) for k in z.files)
            out: dict[int, list[np.ndarray]] = {}
            for n, _, key in keys:
                out.setdefault(n, []).append(z[key])
            return out
    except (OSError, KeyError, ValueError, IndexError) as exc:
        raise DataError(f"{path}: not a file of label-count draws ({exc})") from None
