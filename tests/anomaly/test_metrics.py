import numpy as np
import pandas as pd
import pytest

from radiolib.anomaly import crossing, frame_kinds, pure_compact, threshold_scan


def test_frame_kinds_count_multi_label_frames_once():
    sets = ["PECULIAR|EXTENDED|COMPACT", "EXTENDED|COMPACT", "COMPACT", "ARTEFACT|COMPACT",
            "RADIO-GALAXY", "PECULIAR", "COMPACT"]
    labelled = [True, True, True, True, True, True, False]
    kinds = frame_kinds(sets, labelled)
    assert kinds.tolist() == ["peculiar", "complex", "ordinary", "ordinary", "complex",
                              "peculiar", "unlabelled"]
    assert pure_compact(sets).tolist() == [False, False, True, False, False, False, True]


def test_threshold_scan_by_hand():
    # 2 peculiar (one multi-label), 2 complex, 3 ordinary, 2 unlabelled
    sets = ["PECULIAR|DIFFUSE", "PECULIAR", "DIFFUSE", "EXTENDED|COMPACT", "COMPACT",
            "COMPACT|ARTEFACT", "BACKGROUND", "COMPACT", "PECULIAR"]
    labelled = [True] * 7 + [False, False]
    scores = [0.9, 0.3, 0.8, 0.7, 0.75, 0.2, 0.1, 0.95, 0.85]
    kinds = frame_kinds(sets, labelled)
    scan = threshold_scan(scores, kinds, [0.5, 0.0, 1.0])
    row = scan.iloc[0]
    # selected: pec(0.9), diffuse(0.8), extended(0.7), compact(0.75), unl(0.95), unl(0.85)
    assert row["n_selected"] == 6 and row["n_labelled_selected"] == 4
    assert row["recall"] == pytest.approx(1 / 2)
    assert row["precision"] == pytest.approx(1 / 4)
    assert row["precision_peculiar_complex"] == pytest.approx(3 / 4)
    assert row["contamination_complex"] == pytest.approx(2 / 4)
    assert row["contamination_ordinary"] == pytest.approx(1 / 4)
    assert row["contamination_unlabelled"] == pytest.approx(2 / 6)
    # precision + complex + ordinary contamination = 1 (each labelled frame counted once)
    assert row["precision"] + row["contamination_complex"] + row["contamination_ordinary"] == \
        pytest.approx(1)
    everything = scan.iloc[1]
    assert everything["recall"] == 1 and everything["precision"] == pytest.approx(2 / 7)
    nothing = scan.iloc[2]
    assert nothing["n_selected"] == 0 and np.isnan(nothing["precision"])


def test_threshold_scan_refuses_bad_kinds():
    with pytest.raises(ValueError, match="unknown frame kinds"):
        threshold_scan([0.1], ["weird"], [0.5])


def test_crossing_between_grid_points():
    scan = pd.DataFrame({"threshold": [0.0, 0.5, 1.0], "recall": [1.0, 0.8, 0.0],
                         "precision": [0.1, 0.4, 1.0]})
    for m in ("precision_peculiar_complex", "contamination_complex", "contamination_ordinary",
              "contamination_unlabelled"):
        scan[m] = 0.0
    out = crossing(scan)
    # d = 0.4 at 0.5, -1.0 at 1.0 -> crossing at 0.5 + 0.5 * 0.4 / 1.4
    assert out["threshold"] == pytest.approx(0.5 + 0.5 * 0.4 / 1.4)
    assert out["value"] == pytest.approx(0.8 - 0.8 * 0.4 / 1.4)
    assert out["recall"] == pytest.approx(out["value"])


def test_crossing_on_a_grid_point_and_none():
    scan = pd.DataFrame({"threshold": [0.0, 0.5, 1.0], "recall": [1.0, 0.5, 0.1],
                         "precision": [0.2, 0.5, 0.9]})
    assert crossing(scan)["threshold"] == pytest.approx(0.5)
    never = pd.DataFrame({"threshold": [0.0, 1.0], "recall": [1.0, 0.9],
                          "precision": [0.1, 0.2]})
    assert np.isnan(crossing(never)["threshold"])


def test_crossing_evaluates_metrics_exactly_with_scores():
    rng = np.random.default_rng(1)
    kinds = np.array(["peculiar"] * 20 + ["complex"] * 30 + ["ordinary"] * 150)
    scores = np.where(kinds == "peculiar", rng.uniform(0.5, 1, 200), rng.uniform(0, 0.8, 200))
    grid = np.linspace(0, 1, 21)
    out = crossing(threshold_scan(scores, kinds, grid), scores, kinds)
    assert 0.5 < out["threshold"] < 0.8
    exact = threshold_scan(scores, kinds, [out["threshold"]]).iloc[0]
    assert out["recall"] == exact["recall"] and out["precision"] == exact["precision"]
    assert abs(out["recall"] - out["precision"]) < 0.2


def test_crossing_ignores_both_curves_at_zero():
    scan = pd.DataFrame({"threshold": [0.0, 0.5, 1.0], "recall": [1.0, 0.0, 0.0],
                         "precision": [0.1, 0.0, 0.0]})
    assert np.isnan(crossing(scan)["threshold"])
