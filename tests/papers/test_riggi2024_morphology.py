"""Riggi et al. Task I (Sect. 3): simulated RGZ-like classes and the records of Figs 5-7."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import ndimage

from radiolib.papers import riggi2024_morphology as morph
from radiolib.published import published_rows
from radiolib.sky import RGZ_CLASSES, plan_field, simulate

KEYS = {row["key"] for row in published_rows()}


def _summary(value=0.8, err=0.01):
    idx = [*RGZ_CLASSES, "all"]
    return pd.DataFrame({"f1": value, "f1_err": err}, index=pd.Index(idx, name="class"))


def test_fig5_records_every_published_row_and_puts_others_under_extra():
    summaries = {b: _summary() for b in morph.BACKBONES} | {"random": _summary(0.5)}
    r = morph.fig5_result(summaries)
    published = [k for k in r.records if not k.startswith("extra.")]
    assert len(published) == 6 * 7 and set(published) <= KEYS
    fig5 = {k for k in KEYS if k.startswith("riggi2024.fig5.f1_")}
    assert fig5 == set(published)  # every F1 row of Fig. 5, nothing else
    assert r.records["riggi2024.fig5.f1_all_imagenet_frozen"] == pytest.approx(80)
    assert r.uncertainties["riggi2024.fig5.f1_all_imagenet_frozen"] == pytest.approx(1)
    assert r.records["extra.riggi2024_morphology.fig5.f1_all_random_frozen"] == pytest.approx(50)


def test_fig6_rates_are_the_off_diagonal_share_of_each_true_class():
    counts = np.eye(6, dtype=int) * 80
    counts[3, 0] = 20  # 2C-2P: 20 of 100 put in 1C-1P
    r = morph.fig6_result(counts, RGZ_CLASSES, backbone="hulk_smgps")
    assert set(r.records) <= KEYS and len(r.records) == 3
    assert r.records["riggi2024.fig6.misclass_rate_2c_2p"] == pytest.approx(20)
    assert r.records["riggi2024.fig6.misclass_rate_3c_3p"] == pytest.approx(0)


def test_fig7_takes_the_smallest_and_largest_fractions():
    curve = pd.DataFrame([{"start": s, "fraction": f, "draw": d, "n_train": 60 * f,
                           "f1": (0.3 if s == "scratch" else 0.6) + 0.3 * f + 0.01 * d}
                          for s in ("scratch", "smart_hulk_smgps") for f in (0.05, 0.5, 1.0)
                          for d in range(3)])
    r = morph.fig7_result(curve)
    pub = {k: v for k, v in r.records.items() if not k.startswith("extra.")}
    assert set(pub) == {k for k in KEYS if k.startswith("riggi2024.fig7.f1_")}
    assert pub["riggi2024.fig7.f1_scratch_low_labels"] == pytest.approx(100 * (0.3 + 0.015 + 0.01))
    assert pub["riggi2024.fig7.f1_smart_hulk_smgps_full"] == pytest.approx(100 * 0.91)
    assert r.uncertainties["riggi2024.fig7.f1_scratch_full"] == pytest.approx(
        100 * 0.01 / np.sqrt(3))


def test_fraction_sample_follows_the_paper_mix():
    labels = np.repeat(np.arange(6), [5000, 3000, 400, 2000, 300, 500])
    idx, table = morph.fraction_sample(labels, RGZ_CLASSES)
    kept = np.bincount(labels[idx], minlength=6)
    assert np.allclose(100 * kept / kept.sum(), list(morph.FRACTIONS.values()), atol=0.2)
    assert len(np.unique(idx)) == len(idx)
    assert table.loc["1C-1P", "available"] == 5000


def test_balanced_size_shrinks_to_the_rarest_class():
    labels = np.repeat([0, 1], [100, 8])
    assert morph.balanced_size(labels, 10, 6) == (5, 3)
    assert morph.balanced_size(np.repeat([0, 1], 20), 10, 6) == (10, 6)
    with pytest.raises(ValueError, match="rarest class"):
        morph.balanced_size(np.repeat([0, 1], [10, 1]), 10, 6)


def test_simulated_cp_classes_match_islands_and_peaks_of_the_truth_masks(tmp_path):
    """Components: 8-connected islands of the segmap mask; peaks: local maxima of the noise-free
    model inside it; both capped at 3. Checked on isolated sources (no other box overlaps)."""
    field = simulate("first", size=1024, seed=3, out_dir=tmp_path)
    plan = plan_field("first", size=1024, seed=3)
    stamps = {s.id: s for s in plan.stamps}
    cat = field.catalogue
    src = cat[(cat["kind"] == "source") & (cat["rgz_class"] != "") & (cat["snr"] >= 10)]
    boxes = cat[["x0", "y0", "x1", "y1"]].to_numpy()
    beam_px = 5.4 / 1.8
    min_area = 0.25 * np.pi * beam_px**2 / (4 * np.log(2))
    checked, classes_checked = 0, set()
    for _, row in src.iterrows():
        x0, y0, x1, y1 = (int(row[c]) for c in ("x0", "y0", "x1", "y1"))
        overlap = ((boxes[:, 0] < x1) & (boxes[:, 2] > x0) & (boxes[:, 1] < y1)
                   & (boxes[:, 3] > y0))
        if overlap.sum() > 1 or int(row["id"]) not in stamps:
            continue
        _, mask = field.mask(int(row["id"]))
        islands, n = ndimage.label(mask, structure=np.ones((3, 3)))
        areas = np.bincount(islands.ravel())[1:]
        n_c = int((areas >= min_area).sum())
        stamp, sx0, sy0 = stamps[int(row["id"])].render()
        model = stamp[y0 - sy0:y1 - sy0, x0 - sx0:x1 - sx0]
        size = max(3, int(np.ceil(beam_px)) | 1)
        peaks = (model == ndimage.maximum_filter(model, size=size)) & mask
        n_p = max(1, int(peaks.sum()))
        assert row["rgz_class"] == f"{min(n_c, 3)}C-{min(n_p, 3)}P", row.to_dict()
        checked += 1
        classes_checked.add(row["rgz_class"])
    assert checked >= 10
    assert len(classes_checked) >= 3, classes_checked  # multi-component classes too
