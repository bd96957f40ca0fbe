"""The anomaly search of Riggi et al. (Task III): its keys, Table 4 and the loop, on small data."""

import numpy as np
import pandas as pd
import pytest

from radiolib.papers import riggi2024_anomaly as ra
from radiolib.published import published_rows

KEYS = {row["key"] for row in published_rows()}


def test_keys_are_published_rows():
    keys = [k for table in ra.TABLE4.values() for k in table.values()]
    keys += [*ra.DATASET.values(), *ra.SELECTION.values(), *ra.SETTINGS.values(),
             *ra.FIGURES.values()]
    assert [k for k in keys if k not in KEYS] == []
    assert all(k.startswith("extra.") for k in ra.LOOP.values())


def _frames(n=400, seed=0):
    rng = np.random.default_rng(seed)
    kind = rng.choice(["peculiar", "complex", "ordinary"], n, p=[0.08, 0.3, 0.62])
    labels = np.where(kind == "peculiar", "PECULIAR|COMPACT",
                      np.where(kind == "complex", "EXTENDED|COMPACT", "COMPACT"))
    labelled = rng.uniform(size=n) < 0.5
    frames = pd.DataFrame({"labels": labels, "labelled": labelled, "truth_kind": kind,
                           "kind": np.where(labelled, kind, "unlabelled"),
                           "pure_compact": labels == "COMPACT",
                           "interesting": kind == "complex"})
    x = rng.normal(0, 1, (n, 20))
    x[kind == "peculiar", 3] += 6
    x[kind == "complex", 4] += 2
    return frames, x


def test_search_records_table4_and_beats_random():
    frames, x = _frames()
    sel = ra.feature_selection(x, frames)
    assert sel.records[ra.SELECTION["f1"]] > 50
    assert 4 in sel.details["selection"].top(2)
    scan = ra.forest_scan(x, np.array([3, 4, *range(5, 20), 0, 1, 2]), frames,
                          max_samples=("auto", 0.1), contamination=("auto", 0.01),
                          n_estimators=50)
    scores = dict(scan.details["scores"])
    scores["random"] = np.random.default_rng(1).uniform(size=len(frames))
    t4 = ra.table4(scores, frames)
    assert set(t4.table.index) == {"top2", "top5", "top10", "top15", "random"}
    assert t4.records[ra.TABLE4["top2"]["recall"]] > 60
    assert t4.table.loc["top2", "recall"] > t4.table.loc["random", "recall"] + 20
    assert t4.table.loc["top2", "recall (paper)"] == pytest.approx(55.6)
    row = t4.table.loc["top2"]
    assert row["precision"] + row["contamination_complex"] + row["contamination_ordinary"] == \
        pytest.approx(100)
    fig = ra.fig12_data(scores["top10"], frames)
    assert len(fig["groups"]["all"]) == len(frames)
    loop = ra.loop_result(x[:, :5], scores["top2"], frames, budget=40, batch=10)
    assert loop.records[ra.LOOP["score"]] > loop.records[ra.LOOP["random"]]
    assert ra.umap_2d(x[:50], method="pca").shape == (50, 2)
