import numpy as np
import pandas as pd
import pytest
from astropy.table import Table

from radiolib.sky.truth import (
    FRAME_LABELS,
    det_class,
    frame_labels,
    islands_and_peaks,
    label_matrix,
    primary_label,
    rgz_class,
    source_counts,
)


def _cat(rows):
    cols = ["id", "kind", "class", "snr", "x", "y", "flux", "x0", "y0", "x1", "y1"]
    return pd.DataFrame(rows, columns=cols)


CAT = _cat([
    (1, "source", "compact", 20.0, 10, 10, 1e-3, 8, 8, 13, 13),
    (2, "source", "compact", 3.0, 40, 10, 1e-4, 38, 8, 43, 13),       # too faint to count
    (3, "source", "ring", 9.0, 150, 150, 5e-3, 130, 130, 170, 170),
    (4, "source", "cloud", 8.0, 300, 300, 1.0, 200, 200, 400, 400),   # large diffuse
    (5, "source", "hii", 12.0, 520, 520, 1e-2, 510, 510, 530, 530),   # small diffuse
    (6, "artefact", "sidelobes", 6.0, 700, 700, 0.0, 690, 690, 710, 710),
    (7, "mosaicking", "seam", 0.8, 900, 500, 0.0, 890, 0, 910, 1000),
    (8, "source", "frii", 50.0, 1000, 1000, 0.1, 980, 990, 1020, 1010),
])


@pytest.mark.parametrize(("box", "expected"), [
    ((0, 0, 32, 32), {"COMPACT"}),
    ((32, 0, 64, 32), {"BACKGROUND"}),
    ((128, 128, 192, 192), {"PECULIAR"}),
    ((165, 165, 229, 229), {"BACKGROUND"}),  # 1.6 % of the ring, 20 % of the box on the cloud
    ((150, 380, 214, 444), {"BACKGROUND"}),  # 7 % of the box on the cloud
    ((250, 250, 350, 350), {"DIFFUSE-LARGE"}),
    ((500, 500, 564, 564), {"DIFFUSE"}),
    ((680, 680, 720, 720), {"ARTEFACT"}),
    ((880, 100, 944, 164), {"MOSAICKING"}),
    ((990, 980, 1060, 1040), {"RADIO-GALAXY"}),
])
def test_frame_labels_of_known_boxes(box, expected):
    assert frame_labels(CAT, [box]) == [frozenset(expected)]


def test_frame_labels_accept_tables_and_dicts():
    boxes = [(0, 0, 32, 32), (128, 128, 192, 192)]
    expected = frame_labels(CAT, boxes)
    assert frame_labels(Table.from_pandas(CAT), boxes) == expected
    assert frame_labels({k: CAT[k].to_numpy() for k in CAT}, boxes) == expected


def test_frame_labels_threshold_and_many_boxes():
    assert frame_labels(CAT, [(32, 0, 64, 32)], snr_min=2.0) == [frozenset({"COMPACT"})]
    grid = [(x, y, x + 64, y + 64) for y in range(0, 1024, 32) for x in range(0, 1024, 32)]
    labels = frame_labels(CAT, grid)
    assert len(labels) == len(grid) and all(labels)


def test_primary_label_and_matrix():
    assert primary_label({"COMPACT", "PECULIAR", "RADIO-GALAXY"}) == "PECULIAR"
    assert primary_label({"COMPACT", "MOSAICKING"}) == "MOSAICKING"
    assert primary_label(set()) == "BACKGROUND"
    m = label_matrix([{"COMPACT"}, {"BACKGROUND"}, {"FILAMENT", "COMPACT"}])
    assert m.shape == (3, len(FRAME_LABELS)) and m.dtype == bool
    assert m[2].sum() == 2 and m[0, FRAME_LABELS.index("COMPACT")]


def test_source_counts_half_open_boxes_and_thresholds():
    boxes = [(0, 0, 50, 50), (10, 10, 11, 11), (0, 0, 10, 10), (0, 0, 2000, 2000)]
    assert source_counts(CAT, boxes).tolist() == [1, 1, 0, 5]
    assert source_counts(CAT, boxes, snr_min=2.0).tolist() == [2, 1, 0, 6]
    assert source_counts(CAT, boxes, flux_min=0.05).tolist() == [0, 0, 0, 2]


def test_source_counts_of_components_count_each_component_at_its_source():
    cat = CAT.assign(n_components=[1, 1, 0, 1, 1, 0, 0, 3])  # the FRII: three components
    boxes = [(0, 0, 50, 50), (990, 990, 1010, 1010), (0, 0, 2000, 2000)]
    assert source_counts(cat, boxes).tolist() == [1, 1, 5]
    # a source with no component listed (diffuse) still counts once
    assert source_counts(cat, boxes, components=True).tolist() == [1, 3, 7]


def test_bad_boxes_raise():
    with pytest.raises(ValueError, match="x1 > x0"):
        source_counts(CAT, [(10, 0, 5, 5)])
    with pytest.raises(ValueError, match="x1 > x0"):
        frame_labels(CAT, [(0, 10, 5, 5)])


@pytest.mark.parametrize(("n_islands", "n_peaks", "expected"), [
    (1, 1, "1C-1P"), (1, 2, "1C-2P"), (2, 3, "2C-3P"), (3, 7, "3C-3P"), (4, 5, "3C-3P"),
    (2, 1, ""), (0, 0, ""),
])
def test_rgz_class(n_islands, n_peaks, expected):
    assert rgz_class(n_islands, n_peaks) == expected


def test_det_class():
    assert det_class("artefact", "sidelobes", 1) == "SPURIOUS"
    assert det_class("source", "compact", 1) == "COMPACT"
    assert det_class("source", "resolved", 1) == "EXTENDED"
    assert det_class("source", "frii", 2) == "EXTENDED-MULTISLAND"
    assert det_class("source", "frii", 2, flagged=True) == "FLAGGED"
    assert det_class("source", "compact", 0) == ""
    assert det_class("mosaicking", "seam", 0) == ""


def test_islands_and_peaks():
    yy, xx = np.mgrid[:60, :120]

    def g(x, y, s=3.0):
        return np.exp(-((xx - x) ** 2 + (yy - y) ** 2) / (2 * s * s))

    assert islands_and_peaks(g(30, 30), 0.1, 5.0) == (1, 1)
    assert islands_and_peaks(g(30, 30) + g(90, 30), 0.1, 5.0) == (2, 2)
    assert islands_and_peaks(g(30, 30) + g(42, 30), 0.1, 5.0) == (1, 2)
    assert islands_and_peaks(g(30, 30), 2.0, 5.0) == (0, 0)
