"""Detection metrics as Riggi et al. 2024 Sect. 4.3 define them: one-to-one mask-IoU matching.

Detections with score >= 0.5 are matched to true objects one to one by mask IoU >= 0.6
(:func:`match`: the assignment of largest total IoU among allowed pairs, so no object or
detection counts twice). Per class, completeness (recall) is the share of true objects of
that class matched by a detection of the same class, reliability (precision) the share of
detections of that class matched to a true object of that class; SOURCE pools COMPACT,
EXTENDED and EXTENDED-MULTISLAND on both sides.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy.optimize import linear_sum_assignment

from radiolib.detect.model import CLASS_NAMES

__all__ = ["GROUPS", "SOURCE", "completeness_by", "image_counts", "mask_iou", "match",
           "scores"]

SOURCE = "SOURCE"
#: Class groups scored besides the five classes.
GROUPS = {SOURCE: ("COMPACT", "EXTENDED", "EXTENDED-MULTISLAND")}
ROWS = (*CLASS_NAMES, SOURCE)


def mask_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU of every pair of boolean masks: ``a`` (n, H, W), ``b`` (m, H, W) -> (n, m)."""
    a = np.asarray(a, bool).reshape(len(a), -1).astype(np.float32)
    b = np.asarray(b, bool).reshape(len(b), -1).astype(np.float32)
    inter = a @ b.T
    union = a.sum(1)[:, None] + b.sum(1)[None, :] - inter
    return np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)


def match(iou: np.ndarray, threshold: float = 0.6) -> list[tuple[int, int]]:
    """One-to-one pairs ``(row, col)`` with IoU >= ``threshold`` and the largest total IoU."""
    iou = np.asarray(iou, float)
    if iou.size == 0:
        return []
    allowed = iou >= threshold
    rows, cols = linear_sum_assignment(np.where(allowed, -iou, 1.0))
    return [(int(r), int(c)) for r, c in zip(rows, cols, strict=True) if allowed[r, c]]


def _in(names: np.ndarray, row: str) -> np.ndarray:
    return np.isin(names, GROUPS.get(row, (row,)))


def image_counts(true_masks, true_labels, pred_masks, pred_labels, pred_scores, *,
                 score_threshold: float = 0.5, iou_threshold: float = 0.6
                 ) -> tuple[pd.DataFrame, np.ndarray]:
    """Return counts per class of one image (n_true, n_pred, tp) and, per true object, its match.

    Labels are 1-based class indices. Returns the counts (rows :data:`ROWS`) and, for each
    true object, the class index of the detection matched to it (0 when none).
    """
    keep = np.asarray(pred_scores) >= score_threshold
    pm, pl = np.asarray(pred_masks, bool)[keep], np.asarray(pred_labels)[keep]
    tl = np.asarray(true_labels)
    pairs = match(mask_iou(true_masks, pm), iou_threshold) if len(tl) and len(pl) else []
    names = np.array(CLASS_NAMES)
    tn, pn = names[tl - 1] if len(tl) else names[:0], names[pl - 1] if len(pl) else names[:0]
    matched = np.zeros(len(tl), dtype=np.int64)
    for r, c in pairs:
        matched[r] = pl[c]
    rows = {}
    for row in ROWS:
        tp = sum(1 for r, c in pairs if _in(tn[r:r + 1], row)[0] and _in(pn[c:c + 1], row)[0])
        rows[row] = {"n_true": int(_in(tn, row).sum()), "n_pred": int(_in(pn, row).sum()),
                     "tp": tp}
    return pd.DataFrame.from_dict(rows, orient="index"), matched


def scores(counts: pd.DataFrame) -> pd.DataFrame:
    """Completeness (recall), reliability (precision) and F1 from summed counts (NaN if 0/0)."""
    c = counts.astype(float)
    recall = c["tp"] / c["n_true"].where(c["n_true"] > 0)
    precision = c["tp"] / c["n_pred"].where(c["n_pred"] > 0)
    f1 = 2 * c["tp"] / (c["n_true"] + c["n_pred"]).where(c["n_true"] + c["n_pred"] > 0)
    return c.assign(recall=recall, precision=precision, f1=f1)


def completeness_by(values: Sequence[float], found: Sequence[bool], edges) -> pd.DataFrame:
    """Share of objects found in bins of ``values`` (e.g. SNR or flux), with its binomial error."""
    values, found = np.asarray(values, float), np.asarray(found, bool)
    idx = np.digitize(values, edges) - 1
    rows = []
    for k in range(len(edges) - 1):
        sel = idx == k
        n = int(sel.sum())
        p = float(found[sel].mean()) if n else np.nan
        rows.append({"lo": edges[k], "hi": edges[k + 1], "n": n, "completeness": p,
                     "error": float(np.sqrt(p * (1 - p) / n)) if n else np.nan})
    return pd.DataFrame(rows)
