"""Mask-IoU matching and the Sect. 4.3 scores on hand-made masks."""

from __future__ import annotations

import numpy as np
import pytest

from radiolib.detect import CLASS_NAMES, image_counts, mask_iou, match, scores
from radiolib.detect.metrics import completeness_by

COMPACT, EXTENDED, SPURIOUS = (CLASS_NAMES.index(c) + 1 for c in
                               ("COMPACT", "EXTENDED", "SPURIOUS"))


def square(x0, y0, side, shape=(20, 20)):
    m = np.zeros(shape, bool)
    m[y0:y0 + side, x0:x0 + side] = True
    return m


def test_mask_iou_by_hand():
    a = np.stack([square(0, 0, 4), square(10, 10, 2)])
    b = np.stack([square(2, 0, 4), square(10, 10, 2), square(15, 15, 1)])
    iou = mask_iou(a, b)
    assert iou.shape == (2, 3)
    assert iou[0, 0] == pytest.approx(8 / 24)  # 2x4 overlap of two 4x4 squares
    assert iou[1, 1] == 1.0 and iou[0, 2] == 0.0


def test_match_is_one_to_one_and_maximises_total_iou():
    # truth 0 overlaps both detections; greedy on the best pair would leave truth 1 unmatched
    iou = np.array([[0.9, 0.8], [0.85, 0.0]])
    assert sorted(match(iou, 0.6)) == [(0, 1), (1, 0)]
    # a detection covering two objects counts once
    assert match(np.array([[0.7], [0.65]]), 0.6) == [(0, 0)]
    # below the threshold nothing is paired, even when it is the only candidate
    assert match(np.array([[0.59]]), 0.6) == []
    assert match(np.zeros((0, 3)), 0.6) == []


def test_match_ties_pick_one_pair_only():
    pairs = match(np.array([[0.8, 0.8]]), 0.6)
    assert len(pairs) == 1 and pairs[0][0] == 0


def test_counts_and_scores_by_hand():
    truth = np.stack([square(0, 0, 4), square(10, 10, 3), square(15, 0, 3)])
    tl = np.array([COMPACT, EXTENDED, SPURIOUS])
    pred = np.stack([square(0, 0, 4), square(10, 10, 3), square(5, 15, 2), square(15, 0, 3)])
    pl = np.array([COMPACT, COMPACT, COMPACT, SPURIOUS])
    ps = np.array([0.9, 0.8, 0.7, 0.3])  # the matching SPURIOUS detection is below 0.5
    counts, matched = image_counts(truth, tl, pred, pl, ps)
    assert list(matched) == [COMPACT, COMPACT, 0]
    assert counts.loc["COMPACT"].tolist() == [1, 3, 1]  # n_true, n_pred, tp
    assert counts.loc["EXTENDED"].tolist() == [1, 0, 0]  # found, but called COMPACT
    assert counts.loc["SPURIOUS"].tolist() == [1, 0, 0]
    assert counts.loc["SOURCE"].tolist() == [2, 3, 2]  # both sources found as sources
    s = scores(counts)
    assert s.loc["COMPACT", "recall"] == 1.0
    assert s.loc["COMPACT", "precision"] == pytest.approx(1 / 3)
    assert s.loc["COMPACT", "f1"] == pytest.approx(0.5)
    assert s.loc["SOURCE", "f1"] == pytest.approx(2 * 2 / 5)
    assert np.isnan(s.loc["FLAGGED", "f1"])  # no object, no detection: undefined, not 0


def test_completeness_by_bins():
    table = completeness_by([1, 2, 6, 7, 8], [False, True, True, True, False], [0, 5, 10])
    assert table["n"].tolist() == [2, 3]
    assert table["completeness"].tolist() == pytest.approx([0.5, 2 / 3])
