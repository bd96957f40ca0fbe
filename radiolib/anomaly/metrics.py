"""Frame kinds and the threshold scan of a blind anomaly search (Riggi et al. 2024, Sect. 5.2).

Each frame is one kind, so a frame with several labels is counted once: ``peculiar`` (it has
PECULIAR), ``complex`` (not peculiar, but one of `COMPLEX_LABELS`), ``ordinary`` (any other
labelled frame) or ``unlabelled`` (outside the annotated subset). At a score threshold the
frames scoring at least the threshold are *selected*; recall, precision and the contamination
by complex and ordinary frames are counted over the labelled frames (only those can be
judged, so precision + C(complex) + C(ordinary) = 1), the contamination by unlabelled frames
over all selected frames.

>>> import numpy as np
>>> kinds = np.array(["peculiar", "complex", "ordinary", "peculiar", "unlabelled"])
>>> scan = threshold_scan([0.9, 0.8, 0.1, 0.2, 0.95], kinds, [0.5])
>>> scan[["recall", "precision", "contamination_unlabelled"]].round(3).values.tolist()
[[0.5, 0.5, 0.333]]
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

__all__ = ["COMPLEX_LABELS", "INTERESTING_LABELS", "KINDS", "METRICS", "crossing",
           "frame_kinds", "pure_compact", "threshold_scan"]

#: Frame kinds, most specific first.
KINDS = ("peculiar", "complex", "ordinary", "unlabelled")
#: Labels that make a non-peculiar frame "complex" (Fig. 12 caption lists the first four; a
#: frame with a filament is not ordinary either: our choice).
COMPLEX_LABELS = frozenset({"EXTENDED", "DIFFUSE", "DIFFUSE-LARGE", "RADIO-GALAXY", "FILAMENT"})
#: The "interesting" frames of the feature selection (Sect. 5.2).
INTERESTING_LABELS = frozenset({"EXTENDED", "DIFFUSE", "DIFFUSE-LARGE"})
#: The columns of :func:`threshold_scan` that are metrics (fractions 0-1).
METRICS = ("recall", "precision", "precision_peculiar_complex", "contamination_complex",
           "contamination_ordinary", "contamination_unlabelled")


def _sets(label_sets: Iterable) -> list[set[str]]:
    """Label sets from sets/lists or ``"A|B"`` strings."""
    out = []
    for s in label_sets:
        if isinstance(s, str):
            out.append({p for p in s.split("|") if p})
        else:
            out.append(set(s))
    return out


def frame_kinds(label_sets: Iterable, labelled: Sequence[bool] | None = None) -> np.ndarray:
    """Return the kind of each frame (see the module docstring); ``labelled`` defaults to all."""
    sets = _sets(label_sets)
    lab = np.ones(len(sets), bool) if labelled is None else np.asarray(labelled, bool)
    if lab.shape != (len(sets),):
        raise ValueError(f"labelled has shape {lab.shape}, expected ({len(sets)},)")
    kinds = np.array(["peculiar" if "PECULIAR" in s else "complex" if s & COMPLEX_LABELS
                      else "ordinary" for s in sets], dtype=object)
    kinds[~lab] = "unlabelled"
    return kinds.astype(str) if len(kinds) else np.zeros(0, dtype=str)


def pure_compact(label_sets: Iterable) -> np.ndarray:
    """Return True for frames whose only label is COMPACT (Fig. 12's 'pure compact' histogram)."""
    return np.array([s == {"COMPACT"} for s in _sets(label_sets)], dtype=bool)


def threshold_scan(scores, kinds, thresholds) -> pd.DataFrame:
    """Metrics of selecting the frames with ``score >= threshold``, one row per threshold.

    Columns: ``threshold``, ``n_selected`` (all frames), ``n_labelled_selected`` and
    :data:`METRICS` as fractions (NaN where a ratio has no frame to count).
    """
    s = np.asarray(scores, float)
    k = np.asarray(kinds).astype(str)
    if s.shape != k.shape:
        raise ValueError(f"scores {s.shape} and kinds {k.shape} differ in shape")
    bad = set(np.unique(k)) - set(KINDS)
    if bad:
        raise ValueError(f"unknown frame kinds {sorted(bad)}; expected {KINDS}")
    t = np.asarray(thresholds, float).reshape(-1)
    sel = s[None, :] >= t[:, None]  # (n_thresholds, n_frames)
    count = {kind: (sel & (k == kind)[None, :]).sum(1).astype(float) for kind in KINDS}
    n_sel = sel.sum(1).astype(float)
    n_lab = count["peculiar"] + count["complex"] + count["ordinary"]
    n_pec = float((k == "peculiar").sum())
    with np.errstate(invalid="ignore", divide="ignore"):
        table = {
            "threshold": t, "n_selected": n_sel.astype(int),
            "n_labelled_selected": n_lab.astype(int),
            "recall": count["peculiar"] / n_pec if n_pec else np.full(t.size, np.nan),
            "precision": count["peculiar"] / n_lab,
            "precision_peculiar_complex": (count["peculiar"] + count["complex"]) / n_lab,
            "contamination_complex": count["complex"] / n_lab,
            "contamination_ordinary": count["ordinary"] / n_lab,
            "contamination_unlabelled": count["unlabelled"] / n_sel,
        }
    return pd.DataFrame(table)


def crossing(scan: pd.DataFrame, scores=None, kinds=None, *, a: str = "recall",
             b: str = "precision") -> dict[str, float]:
    """Threshold where curves ``a`` and ``b`` of a scan cross, interpolated between grid points.

    The difference ``a - b`` is followed along the grid; where it changes sign between two
    thresholds the crossing is placed by linear interpolation (on a grid point where it is
    0, unless both curves are 0 there). With several crossings the one with the highest
    interpolated value wins (the best compromise). With ``scores`` and ``kinds`` the metrics
    are then evaluated exactly at that threshold; otherwise they are interpolated. Returns
    ``threshold``, ``value`` (the interpolated common value) and the :data:`METRICS`; all
    NaN where the curves never cross.
    """
    t = scan["threshold"].to_numpy(float)
    d = (scan[a] - scan[b]).to_numpy(float)
    va = scan[a].to_numpy(float)
    best: tuple[float, float] | None = None
    for i in range(len(t) - 1):
        d0, d1 = d[i], d[i + 1]
        if not (np.isfinite(d0) and np.isfinite(d1)):
            continue
        if d0 == 0 and va[i] == 0:  # both curves at zero: no compromise there
            continue
        if d0 == 0:
            cand = (t[i], va[i])
        elif d0 * d1 < 0:
            f = d0 / (d0 - d1)
            cand = (t[i] + f * (t[i + 1] - t[i]), va[i] + f * (va[i + 1] - va[i]))
        else:
            continue
        if best is None or cand[1] > best[1]:
            best = cand
    if best is None and len(t) and d[-1] == 0 and va[-1] > 0:
        best = (t[-1], va[-1])
    out = {"threshold": np.nan, "value": np.nan, **dict.fromkeys(METRICS, np.nan)}
    if best is None:
        return out
    out["threshold"], out["value"] = float(best[0]), float(best[1])
    if scores is not None and kinds is not None:
        row = threshold_scan(scores, kinds, [best[0]]).iloc[0]
        out.update({m: float(row[m]) for m in METRICS})
    else:
        order = np.argsort(t)
        for m in (m for m in METRICS if m in scan):
            out[m] = float(np.interp(best[0], t[order], scan[m].to_numpy(float)[order]))
    return out
