import tracemalloc

import numpy as np
import pandas as pd
import pytest
from astropy.io import fits
from astropy.wcs import WCS
from scipy import ndimage
from scipy.optimize import curve_fit

from radiolib.errors import ConfigError
from radiolib.io import read_fits
from radiolib.sky import DET_CLASSES, RGZ_CLASSES, plan_field, render_rows, simulate
from radiolib.sky.simulate import write_field


def test_files_header_and_wcs(emu_field):
    assert emu_field.image_path.name == "emupilot_11.fits"
    assert emu_field.segmap_path.name == "emupilot_11_segmap.fits"
    image = read_fits(emu_field.image_path)
    h = image.header
    assert image.data.dtype == np.dtype(">f4") and image.shape == (1024, 1024)
    assert (h["CTYPE1"], h["CTYPE2"], h["BUNIT"]) == ("RA---SIN", "DEC--SIN", "Jy/beam")
    assert (image.beam.bmaj, image.beam.bmin, image.beam.bpa) == pytest.approx((13, 11, 70))
    assert image.pixel_scale == pytest.approx(2.0, rel=1e-3)
    assert h["DQF"] == emu_field.dqf == 2 and h["SIMSEED"] == 11
    assert 0 < image.nan_fraction < 0.3  # a NaN border, most of the field observed
    with fits.open(emu_field.segmap_path) as hdul:
        hdul.verify("exception")
        assert hdul[0].data.dtype == np.dtype(">i4")


def test_catalogue_columns(emu_field):
    cat = pd.read_csv(emu_field.catalogue_path, keep_default_na=False)
    for col in ("id", "ra", "dec", "x", "y", "flux", "peak", "class", "n_components", "n_peaks",
                "n_islands", "x0", "y0", "x1", "y1", "size_arcsec", "rgz_class", "det_class"):
        assert col in cat.columns
    assert cat["id"].is_unique and (cat["id"] > 0).all()
    assert set(cat["det_class"]) <= {"", *DET_CLASSES}
    assert set(cat["rgz_class"]) <= {"", *RGZ_CLASSES}
    assert set(cat["kind"]) <= {"source", "artefact", "mosaicking"}
    assert (cat.loc[cat.kind == "artefact", "det_class"] == "SPURIOUS").all()
    assert ((cat["x1"] > cat["x0"]) & (cat["y1"] > cat["y0"])).all()


def test_wcs_round_trip(emu_field):
    cat = emu_field.catalogue
    wcs = WCS(emu_field.header).celestial
    x, y = wcs.world_to_pixel_values(cat["ra"].to_numpy(), cat["dec"].to_numpy())
    np.testing.assert_allclose(x, cat["x"], atol=1e-6)
    np.testing.assert_allclose(y, cat["y"], atol=1e-6)


def test_bright_sources_are_in_the_image(emu_field, emu_data):
    cat = emu_field.catalogue
    bright = cat[(cat.kind == "source") & (cat.snr > 10) & (cat.det_class != "FLAGGED")]
    assert len(bright) > 50
    value = emu_data[bright["y_peak"], bright["x_peak"]]
    assert np.all(value > 3 * bright["rms_local"]), "a SNR>10 source is not above the noise"
    compact = bright[bright["class"] == "compact"]
    ratio = emu_data[compact["y_peak"], compact["x_peak"]] / compact["flux"]
    assert np.median(ratio) == pytest.approx(1.0, abs=0.1)


def test_segmap_masks_inside_bounding_boxes(emu_field):
    seg = np.asarray(emu_field.segmap())
    cat = emu_field.catalogue.set_index("id")
    ids = np.unique(seg[seg > 0])
    slices = ndimage.find_objects(seg)
    for i in ids:
        sy, sx = slices[i - 1]
        r = cat.loc[i]
        assert r.x0 <= sx.start and sx.stop <= r.x1 and r.y0 <= sy.start and sy.stop <= r.y1
    detected = cat[(cat.kind == "source") & (cat.n_islands > 0)].index
    assert np.isin(detected, ids).mean() > 0.95
    box, mask = emu_field.mask(int(cat.index[cat.snr.argmax()]))
    assert mask.shape == (box[3] - box[1], box[2] - box[0]) and mask.any()


def _gauss2d(xy, a, x0, y0, sx, sy, th, c):
    x, y = xy
    u = (x - x0) * np.cos(th) + (y - y0) * np.sin(th)
    v = -(x - x0) * np.sin(th) + (y - y0) * np.cos(th)
    return a * np.exp(-0.5 * (u**2 / sx**2 + v**2 / sy**2)) + c


def test_header_beam_matches_measured_psf(emu_field, emu_data):
    cat = emu_field.catalogue
    src = cat[(cat["class"] == "compact") & (cat.snr > 50)]
    others = cat[cat.kind != "mosaicking"]
    fitted = 0
    for _, r in src.sort_values("snr", ascending=False).iterrows():
        near = (abs(others.x - r.x) < 20) & (abs(others.y - r.y) < 20) & (others.snr > 1)
        if near.sum() > 1 or r.det_class == "FLAGGED":
            continue  # not isolated
        h, x, y = 12, int(r.x_peak), int(r.y_peak)
        cut = emu_data[y - h : y + h + 1, x - h : x + h + 1]
        if cut.shape != (2 * h + 1, 2 * h + 1) or not np.isfinite(cut).all():
            continue
        yy, xx = np.mgrid[-h : h + 1, -h : h + 1]
        p, _ = curve_fit(_gauss2d, (xx.ravel(), yy.ravel()), cut.ravel(),
                         p0=[cut.max(), 0, 0, 3, 2.5, 0, 0])
        fwhm = np.sort(np.abs(p[3:5]))[::-1] * 2.3548 * 2.0
        np.testing.assert_allclose(fwhm, [13.0, 11.0], rtol=0.1)
        fitted += 1
        if fitted == 3:
            break
    assert fitted >= 1


def test_same_seed_same_bytes_other_seed_differs(tmp_path):
    a = simulate("smgps", size=256, seed=3, out_dir=tmp_path / "a")
    b = simulate("smgps", size=256, seed=3, out_dir=tmp_path / "b")
    c = simulate("smgps", size=256, seed=4, out_dir=tmp_path / "c")
    for x, y in ((a.image_path, b.image_path), (a.segmap_path, b.segmap_path),
                 (a.catalogue_path, b.catalogue_path)):
        assert x.read_bytes() == y.read_bytes()
    assert a.image_path.read_bytes() != c.image_path.read_bytes()


def test_streamed_strips_equal_one_block(tmp_path):
    plan = plan_field("mgcls", size=(300, 420), seed=5, dqf=3)
    whole, labels = render_rows(plan, 0, 300)
    write_field(plan, tmp_path, strip_rows=37)
    streamed = fits.getdata(tmp_path / "mgcls_5.fits")
    seg = fits.getdata(tmp_path / "mgcls_5_segmap.fits")
    np.testing.assert_array_equal(np.isnan(streamed), np.isnan(whole))
    np.testing.assert_allclose(streamed, whole, rtol=0, atol=1e-3 * plan.preset.rms,
                               equal_nan=True)
    assert np.mean(seg == labels) > 0.9999


def _peak_bytes(plan, out_dir, strip_rows):
    tracemalloc.start()
    try:
        write_field(plan, out_dir, strip_rows=strip_rows)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_streaming_memory_does_not_grow_with_the_image(tmp_path):
    short = _peak_bytes(plan_field("emupilot", size=(512, 1024), seed=1, dqf=0), tmp_path, 64)
    plan = plan_field("emupilot", size=(4096, 1024), seed=1, dqf=0)
    tall = _peak_bytes(plan, tmp_path, 64)
    image_bytes = 2 * 4096 * 1024 * 4  # image + segmap
    assert tall < 0.2 * image_bytes, f"peak {tall / 2**20:.1f} MiB"
    assert tall < 1.5 * short


def test_class_counts_follow_the_preset():
    from radiolib.sky.population import expected_counts

    plan = plan_field("emupilot", size=4096, seed=2)
    cat = plan.catalogue
    valid = plan.maps.valid(*np.meshgrid(np.arange(0, 4096, 16.0), np.arange(0, 4096, 16.0))).mean()
    expected = expected_counts(plan.preset, plan.shape, plan.pixel_scale)
    total_exp = sum(expected.values()) * valid
    counts = cat.loc[cat.kind == "source", "class"].value_counts()
    for cls, n_exp in expected.items():
        n_exp *= valid
        if n_exp >= 20:
            assert abs(counts.get(cls, 0) - n_exp) < 4 * np.sqrt(n_exp), cls
            frac = counts.get(cls, 0) / counts.sum()
            tol = 0.01 + 4 * np.sqrt(n_exp) / total_exp
            assert frac == pytest.approx(n_exp / total_exp, abs=tol)


@pytest.mark.slow
def test_peculiar_fraction_of_hulk_tiles():
    """SMGPS, by bounding boxes (plans only): the tuned emupilot fraction is checked under the
    visibility rule in tests/papers/test_frame_truth.py."""
    from radiolib.sky import frame_labels

    fractions = []
    for seed in range(3):
        plan = plan_field("smgps", size=4096, seed=seed)
        corners = range(0, 4096 - 256 + 1, 128)
        boxes = np.array([(x, y, x + 256, y + 256) for y in corners for x in corners])
        boxes = boxes[plan.maps.valid(boxes[:, 0] + 128, boxes[:, 1] + 128)]
        labels = frame_labels(plan.catalogue, boxes)
        fractions.append(np.mean(["PECULIAR" in s for s in labels]))
    assert 0.035 <= np.mean(fractions) <= 0.11, fractions


@pytest.mark.slow
def test_preset_specific_content():
    mg = [plan_field("mgcls", size=2048, seed=s).catalogue for s in range(3)]
    assert any((c["class"] == "halo").any() for c in mg)
    sm = plan_field("smgps", size=3072, seed=0).catalogue
    assert {"hii", "cloud", "filament"} <= set(sm["class"])
    art = plan_field("emupilot", size=1024, seed=2, dqf=3).catalogue
    assert (art.kind == "artefact").any() and (art.det_class == "FLAGGED").any()
    flagged = art[art.det_class == "FLAGGED"]
    spurious = art[art.kind == "artefact"]
    for _, r in flagged.iterrows():  # a flagged source sits inside an artefact's box
        assert ((spurious.x0 <= r.x_peak) & (r.x_peak < spurious.x1)
                & (spurious.y0 <= r.y_peak) & (r.y_peak < spurious.y1)).any()
    quiet = plan_field("emupilot", size=1024, seed=2, dqf=0).catalogue
    assert (quiet.kind == "artefact").sum() < (art.kind == "artefact").sum()


def test_mgcls_noise_rises_towards_the_edge(tmp_path):
    from radiolib.sky.realism import block_rms

    f = simulate("mgcls", size=2048, seed=2, out_dir=tmp_path, dqf=0)
    rms = block_rms(np.asarray(f.image().data), block=128)  # 16 x 16 blocks
    nominal = f.header["NOISE"]  # at the pointing centre (the cluster there inflates blocks)
    assert np.nanmin(rms[6:10, 6:10]) < 1.15 * nominal
    assert np.nanmedian(rms[[0, -1]][:, 6:10]) > 1.3 * nominal
    assert not np.isnan(f.image().data).any()  # a 51' square lies inside the PB = 0.2 cut


def test_mgcls_pointing_is_cut_at_the_preset_primary_beam_level():
    from radiolib.sky.render import FWHM

    plan = plan_field("mgcls", size=4500, seed=2, dqf=0)  # 112': wider than the cut disc
    p = plan.preset
    radius = p.pb_fwhm_arcmin * 60 / p.pixel_scale / FWHM * np.sqrt(2 * np.log(1 / p.pb_cut))
    phi = np.linspace(0, 2 * np.pi, 64, endpoint=False)
    for r, expected in ((0.97 * radius, True), (1.03 * radius, False)):
        x, y = 2249.5 + r * np.cos(phi), 2249.5 + r * np.sin(phi)
        assert (plan.maps.valid(x, y) == expected).all()


def test_pixel_scale_override(tmp_path):
    plan = plan_field("emupilot", size=256, seed=0, pixel_scale=1.0)
    assert plan.header["CDELT2"] == pytest.approx(1 / 3600)
    assert plan.header["BMAJ"] == pytest.approx(13 / 3600)


@pytest.mark.parametrize("size", [0, 10, 10.5, "big", (512,), True, 200_000])
def test_bad_size(size, tmp_path):
    with pytest.raises(ValueError, match="size must be an integer number of pixels"):
        simulate("emupilot", size=size, out_dir=tmp_path)


def test_bad_preset_and_arguments(tmp_path):
    with pytest.raises(ConfigError, match="emupilot, first, mgcls, mightee, smgps"):
        simulate("vlass", size=256, out_dir=tmp_path)
    with pytest.raises(ValueError, match="seed"):
        plan_field("emupilot", size=256, seed=-1)
    with pytest.raises(ValueError, match="dqf"):
        plan_field("emupilot", size=256, dqf=4)
    assert not list(tmp_path.iterdir())
