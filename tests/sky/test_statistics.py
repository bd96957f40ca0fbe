"""Crop statistics: the count truth against a peak finder, overdispersion, centre-to-edge."""

import dataclasses

import numpy as np
import pytest

from radiolib.sky import PRESETS, Variation, plan_field, simulate
from radiolib.sky.statistics import (
    catalogue_counts,
    count_summary,
    crop_boxes,
    find_peaks,
    image_counts,
    plan_counts,
)

MGCLS = PRESETS["mgcls"]
PLAIN = dataclasses.replace(MGCLS, variation=Variation(), cluster=None)  # PB only
FLAT = dataclasses.replace(PLAIN, pb_fwhm_arcmin=1e5)  # and no primary beam either


def _summary(preset, seeds=range(6), size=2048):
    return count_summary([plan_counts(plan_field(preset, size=size, seed=s)) for s in seeds])


@pytest.fixture(scope="module")
def mgcls_summary():
    return _summary(MGCLS)


def test_mgcls_counts_per_crop_are_overdispersed(mgcls_summary):
    # Poisson scatter alone gives var/mean = 1 (sampling error ~0.07 for 384 crops); the
    # preset's pointings (depth, DQF, density, cluster members, clustering) add ~3 to it.
    assert mgcls_summary["dispersion"] > 2.5
    assert mgcls_summary["between_var"] > 3  # pointing means differ beyond their own noise
    flat = _summary(FLAT)  # the control: none of it, no PB: Poisson
    assert flat["dispersion"] == pytest.approx(1.0, abs=0.25)
    assert flat["centre_edge"] == pytest.approx(1.0, abs=0.08)


def test_primary_beam_makes_centre_crops_richer(mgcls_summary):
    plain = _summary(PLAIN)  # PB-corrected noise rises outwards: fewer sources above 5 sigma
    assert plain["centre_edge"] > 1.1
    assert mgcls_summary["centre_edge"] > plain["centre_edge"]  # + the cluster's members


@pytest.fixture(scope="module")
def quiet_field(tmp_path_factory):
    """A 1024² MGCLS-like pointing without artefacts (DQF 0)."""
    return simulate("mgcls", size=1024, seed=21, out_dir=tmp_path_factory.mktemp("q"), dqf=0)


def _isolated(cat, x, y, radius):
    """Positions with no catalogued object of SNR >= 2 within ``radius`` but (at most) one.

    Extended sources and artefacts count within ``radius`` of their mask box: inside them a
    peak finder sees several peaks per object, which the compact-source truth does not list.
    """
    others = cat[(cat["snr"] >= 2) | (cat["kind"] != "source")]
    ox, oy = others["x"].to_numpy(), others["y"].to_numpy()
    ext = others[others["class"] != "compact"][["x0", "y0", "x1", "y1"]].to_numpy()
    keep = []
    for xi, yi in zip(x, y, strict=True):
        near = np.hypot(ox - xi, oy - yi) < radius
        in_box = ((ext[:, 0] - radius <= xi) & (xi < ext[:, 2] + radius)
                  & (ext[:, 1] - radius <= yi) & (yi < ext[:, 3] + radius))
        keep.append(near.sum() <= 1 and not in_box.any())
    return np.asarray(keep, bool)


def test_count_truth_matches_a_peak_finder_on_isolated_bright_sources(quiet_field):
    data = np.asarray(quiet_field.image().data, dtype=np.float32)
    cat = quiet_field.catalogue
    beam_px = MGCLS.beam[0] / MGCLS.pixel_scale
    radius = 3 * beam_px
    py, px, psnr = find_peaks(data, nsigma=5.0, beam_px=beam_px)

    def inside(x, y, margin=16):
        return np.asarray((x >= margin) & (x < 1024 - margin) & (y >= margin)
                          & (y < 1024 - margin))

    # truth -> finder: isolated compact sources of SNR >= 8 are found within 1.5 px
    bright = cat[(cat["class"] == "compact") & (cat["snr"] >= 8)]
    bright = bright[inside(bright["x"], bright["y"])]
    bright = bright[_isolated(cat, bright["x"], bright["y"], radius)]
    assert len(bright) >= 20
    found = [np.min(np.hypot(px - x, py - y)) <= 1.5
             for x, y in zip(bright["x"], bright["y"], strict=True)]
    assert np.mean(found) >= 0.95
    # finder -> truth: isolated peaks above 8 sigma are catalogued sources of SNR >= 5
    strong = (psnr >= 8) & inside(px, py)
    sx, sy = px[strong], py[strong]
    iso = _isolated(cat, sx, sy, radius)
    truth = cat[(cat["kind"] == "source") & (cat["snr"] >= 5)]
    tx, ty = truth["x"].to_numpy(), truth["y"].to_numpy()
    matched = [np.min(np.hypot(tx - x, ty - y)) <= 2.0
               for x, y in zip(sx[iso], sy[iso], strict=True)]
    assert len(matched) >= 20 and np.mean(matched) >= 0.95


def test_truth_counts_and_peak_counts_agree_per_crop(quiet_field):
    data = np.asarray(quiet_field.image().data, dtype=np.float32)
    beam_px = MGCLS.beam[0] / MGCLS.pixel_scale
    peaks = image_counts(data, size=128, beam_px=beam_px)
    plan = plan_field("mgcls", size=1024, seed=21, dqf=0)
    truth = plan_counts(plan, size=128)
    np.testing.assert_allclose(truth.radius, peaks.radius)
    assert np.corrcoef(truth.counts, peaks.counts)[0, 1] > 0.8
    assert peaks.counts.sum() == pytest.approx(truth.counts.sum(), rel=0.25)


def test_find_peaks_on_noise_and_injected_points():
    rng = np.random.default_rng(1)
    data = rng.normal(0, 1.0, (512, 512)).astype(np.float32)
    assert len(find_peaks(data, nsigma=5.0)[0]) <= 2  # ~0.08 expected above 5 sigma
    yx = rng.integers(20, 492, (30, 2))
    yx = yx[np.all(np.abs(yx[:, None] - yx[None]) .max(-1) + np.eye(len(yx)) * 99 > 6, axis=1)]
    data[yx[:, 0], yx[:, 1]] += 10.0
    data[0:8, 0:8] = np.nan
    y, x, snr = find_peaks(data, nsigma=5.0)
    hits = {(int(a), int(b)) for a, b in zip(y, x, strict=True)}
    assert {(int(a), int(b)) for a, b in yx} <= hits and (snr >= 5).all()


def test_crop_boxes_keep_observed_crops_only():
    boxes = crop_boxes((1024, 1024), lambda x, y: np.hypot(x - 511.5, y - 511.5) < 520)
    assert 0 < len(boxes) < 16
    r = np.hypot(boxes[:, [0, 2]] - 511.5, boxes[:, [1, 3]] - 511.5)
    assert (r < 520 + 1).all()
    assert len(crop_boxes((1024, 1024))) == 16


def test_count_summary_of_poisson_and_mixed_pointings():
    rng = np.random.default_rng(2)
    r = np.arange(2000.0)
    poisson = [(rng.poisson(20, 2000), r) for _ in range(3)]
    s = count_summary(poisson, rms=[1.0, 1.0, 1.0])
    assert s["dispersion"] == pytest.approx(1.0, abs=0.05) and s["rms_max_min"] == 1.0
    assert s["centre_edge"] == pytest.approx(1.0, abs=0.05)
    mixed = count_summary([(rng.poisson(10, 2000), r), (rng.poisson(30, 2000), r)],
                          rms=[1.0, 10.0])
    assert mixed["between_var"] == pytest.approx(200, rel=0.05)
    assert mixed["dispersion"] > 4 and mixed["within_dispersion"] == pytest.approx(1, abs=0.1)
    assert mixed["rms_spread_dex"] == pytest.approx(np.std([0, 1], ddof=1))
    edge = count_summary([(np.r_[np.full(10, 30), np.full(10, 10)], np.arange(20.0))])
    assert edge["centre_edge"] == pytest.approx(3.0)
    with pytest.raises(ValueError, match="at least one pointing"):
        count_summary([])


def test_catalogue_counts_of_a_uniform_list():
    rng = np.random.default_rng(3)
    n = 40_000
    ra = 150 + rng.uniform(-2, 2, n) / np.cos(np.radians(30))
    dec = 30 + rng.uniform(-2, 2, n)
    c = catalogue_counts(ra, dec, centre=(150, 30), cell_deg=0.1, edge_quantile=0.0)
    assert c.counts.size == 39 * 39 or c.counts.size == 40 * 40
    assert c.counts.mean() == pytest.approx(n / 1600, rel=0.05)
    snr = np.where(np.arange(n) % 2 == 0, 10.0, 1.0)
    half = catalogue_counts(ra, dec, centre=(150, 30), cell_deg=0.1, snr=snr, edge_quantile=0.0)
    assert half.counts.mean() == pytest.approx(c.counts.mean() / 2, rel=0.05)


def test_plan_counts_of_components_count_multi_component_sources_more_than_once():
    plan = plan_field("mightee", size=1024, seed=4)
    sources = plan_counts(plan, size=256)
    components = plan_counts(plan, size=256, components=True)
    np.testing.assert_allclose(sources.radius, components.radius)  # the same crops
    assert (components.counts >= sources.counts).all()
    cat = plan.catalogue
    multi = (cat["kind"] == "source") & (cat["snr"] >= 5) & (cat["n_components"] > 1)
    assert multi.sum() > 0  # this seed has radio galaxies of several components ...
    assert components.counts.sum() > sources.counts.sum()  # ... and they count more than once
