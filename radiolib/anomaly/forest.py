"""Isolation Forest anomaly scores in [0, 1] and the scans of Riggi et al. 2024 (Sect. 5.2).

The score is Liu et al.'s (2008) ``s = 2^(-E[h(x)] / c(n))``: 1 for points isolated at once,
about 0.5 or less for ordinary ones; scikit-learn's ``score_samples`` is its negative.
In scikit-learn ``contamination`` does not change the forest or its scores, only the offset
that ``predict`` flags outliers with (the ``contamination`` quantile of the training scores,
or ``s > 0.5`` for ``"auto"``): :func:`scan_forest` therefore fits one forest per
``max_samples`` and applies every contamination to it, which is what a refit would give.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from sklearn.ensemble import IsolationForest
from sklearn.metrics import average_precision_score, f1_score

__all__ = ["CONTAMINATION_GRID", "MAX_SAMPLES_GRID", "N_ESTIMATORS", "forest_scores",
           "outlier_flags", "scan_forest"]

#: Base estimators of the ensemble (Sect. 5.2).
N_ESTIMATORS = 200
#: The contamination values scanned (Sect. 5.2).
CONTAMINATION_GRID: tuple = ("auto", 0.001, 0.01, 0.1)
#: The max_samples values scanned (Sect. 5.2).
MAX_SAMPLES_GRID: tuple = ("auto", 0.001, 0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7,
                           0.8, 0.9, 1.0)


def _max_samples(value, n: int):
    """scikit-learn's max_samples, with fractions kept to at least 2 frames (a tree needs 2)."""
    if value == "auto":
        return "auto"
    value = float(value)
    if not 0 < value <= 1:
        raise ValueError(f"max_samples must be 'auto' or in (0, 1], got {value!r}")
    return max(2, min(n, int(value * n)))


def _forest(x: np.ndarray, max_samples, n_estimators: int, seed: int) -> IsolationForest:
    return IsolationForest(n_estimators=n_estimators, max_samples=_max_samples(max_samples,
                                                                                len(x)),
                           random_state=seed).fit(x)


def forest_scores(x, *, max_samples="auto", n_estimators: int = N_ESTIMATORS,
                  seed: int = 0) -> np.ndarray:
    """Anomaly score in [0, 1] of every row of ``x`` by an Isolation Forest fitted on all rows."""
    x = np.asarray(x, float)
    return -_forest(x, max_samples, n_estimators, seed).score_samples(x)


def outlier_flags(scores, contamination) -> np.ndarray:
    """Return the outlier flags of ``IsolationForest.predict`` from scores and contamination."""
    s = np.asarray(scores, float)
    if contamination == "auto":
        return s > 0.5
    c = float(contamination)
    if not 0 < c <= 0.5:
        raise ValueError(f"contamination must be 'auto' or in (0, 0.5], got {contamination!r}")
    return s > np.percentile(s, 100 * (1 - c))


def scan_forest(x, target, labelled, *, max_samples: Sequence = MAX_SAMPLES_GRID,
                contamination: Sequence = CONTAMINATION_GRID,
                n_estimators: int = N_ESTIMATORS, seed: int = 0) -> pd.DataFrame:
    """Score every (max_samples, contamination) setting on the labelled frames.

    The forest is fitted on all frames (unsupervised); ``target`` (bool, e.g. PECULIAR) is
    read only on the ``labelled`` ones. Columns: ``max_samples``, ``contamination``, ``ap``
    (average precision of the score for ``target``: threshold-free, so the same for every
    contamination), ``f1``, ``recall``, ``precision`` of ``predict``'s outlier flag, and
    ``n_flagged``. Rows are sorted best first: by ``ap`` then ``f1``.
    """
    x = np.asarray(x, float)
    y = np.asarray(target, bool)
    lab = np.asarray(labelled, bool)
    rows = []
    for ms in max_samples:
        s = forest_scores(x, max_samples=ms, n_estimators=n_estimators, seed=seed)
        ap = average_precision_score(y[lab], s[lab]) if y[lab].any() else np.nan
        for c in contamination:
            flag = outlier_flags(s, c)
            tp = float((flag & y & lab).sum())
            n_flag_lab = float((flag & lab).sum())
            rows.append({"max_samples": ms, "contamination": c, "ap": ap,
                         "f1": f1_score(y[lab], flag[lab], zero_division=0.0),
                         "recall": tp / y[lab].sum() if y[lab].any() else np.nan,
                         "precision": tp / n_flag_lab if n_flag_lab else np.nan,
                         "n_flagged": int(flag.sum())})
    table = pd.DataFrame(rows)
    order = np.lexsort((-table["f1"].fillna(-1).to_numpy(), -table["ap"].fillna(-1).to_numpy()))
    return table.iloc[order].reset_index(drop=True)
