"""Riggi et al. Task II (Sect. 4): the records of Figs. 9-10, the data set and the LoTSS check."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from radiolib.detect import CLASS_NAMES, SOURCE, DetectionImage
from radiolib.papers import riggi2024_detection as rd
from radiolib.published import published_rows

KEYS = {row["key"] for row in published_rows()}


def _long(f1s: dict[str, float], draws=(0, 1)):
    rows = [{"backbone": b, "draw": d, "class": c, "f1": f + 0.01 * d}
            for b, f in f1s.items() for d in draws for c in (*CLASS_NAMES, SOURCE)]
    return pd.DataFrame(rows)


def test_fig9_records_every_published_row_and_puts_the_rest_under_extra():
    r = rd.fig9_result(_long({b: 0.6 for b in rd.BACKBONES} | {"random": 0.3}))
    published = {k for k in r.records if not k.startswith("extra.")}
    fig9 = {k for k in KEYS if k.startswith("riggi2024.fig9.f1_")}
    assert published == fig9  # every F1 row of Fig. 9 (FLAGGED has none), nothing else
    assert r.records["riggi2024.fig9.f1_source_hulk_smgps_frozen"] == pytest.approx(60.5)
    assert r.uncertainties["riggi2024.fig9.f1_source_hulk_smgps_frozen"] == pytest.approx(0.5)
    assert r.records["extra.riggi2024_detection.fig9.f1_flagged_hulk_smgps_frozen"] == \
        pytest.approx(60.5)
    assert r.records["extra.riggi2024_detection.fig9.f1_source_random_frozen"] == \
        pytest.approx(30.5)


def test_fig10_low_and_full_rows():
    curve = pd.DataFrame([{"start": s, "draw": d, "n_train": n, "fraction": n / 40,
                           "f1": f + 0.1 * (n == 40)}
                          for s, f in (("scratch", 0.5), ("hulk_smgps", 0.55))
                          for d in (0, 1) for n in (4, 40)])
    r = rd.fig10_result(curve)
    assert {k for k in r.records if not k.startswith("extra.")} == \
        {k for k in KEYS if k.startswith("riggi2024.fig10.f1_")}
    assert r.records["riggi2024.fig10.f1_source_scratch_low_labels"] == pytest.approx(50)
    assert r.records["riggi2024.fig10.f1_source_hulk_smgps_full"] == pytest.approx(65)


def test_dataset_result_shares_and_keys():
    def image(labels):
        n = len(labels)
        return DetectionImage(np.zeros((8, 8), np.float32), np.zeros((n, 8, 8), bool),
                              np.array(labels), np.full(n, 10.0), np.arange(n))

    images = [image([2, 2, 3]), image([1]), image([2]), image([4, 5])]
    r = rd.dataset_result(images, np.array([0, 1]), np.array([2, 3]))
    assert {k for k in r.records if not k.startswith("extra.")} <= KEYS
    assert r.records["riggi2024.sec4_2.frac_train_compact"] == pytest.approx(50)
    assert r.records["riggi2024.sec4_2.frac_test_flagged"] == pytest.approx(100 / 3)
    assert r.table.loc[("train", "COMPACT"), "paper %"] == 53.6


def test_simulated_images_hold_one_mask_and_class_per_object(tmp_path):
    images = rd.detection_images(1, field_size=256, image_size=64, work=tmp_path,
                                 surveys={"ASKAP EMU": "emupilot"})
    assert images, "a 256² EMU-like field yields annotated images"
    for im in images:
        assert im.masks.shape == (len(im.labels), 64, 64) and im.masks.any(axis=(1, 2)).all()
        assert not (im.masks.sum(0) > 1).any()  # the segmentation map gives each pixel once
        assert set(im.labels) <= set(range(1, len(CLASS_NAMES) + 1))
