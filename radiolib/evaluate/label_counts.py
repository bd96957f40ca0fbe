"""Probe scores against the number of labelled examples per class (a label-count curve).

Lastufka et al. [0] (Appendix C.2, Table 6) retrain their MiraBest classifier with 36 to 729
labels in total; Riggi et al. [1] (Sect. 3.3) fine-tune the whole network on shrinking fractions
of their labelled set, against a model trained from scratch. Here the frozen-feature probe is
refitted on ``n`` examples per class, for growing ``n``, each size drawn again ``n_repeats``
times (the spread over draws is what a small label set costs).

- [0] Lastufka et al. 2024, A&A 690, A310, arXiv:2408.06147
- [1] Riggi et al. 2024, PASA, arXiv:2404.18462
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd

from radiolib.evaluate.probes import linear_probe

__all__ = ["balanced_subset", "label_count_curve"]


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
