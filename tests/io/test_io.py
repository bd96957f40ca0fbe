"""radiolib.io: reading survey FITS the way they come, and failing clearly when they can't be."""

from __future__ import annotations

import mmap
import os
import warnings
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits
from astropy.table import Table

from radiolib.errors import DataError, FITSError
from radiolib.io import (
    Beam,
    PixelOnlyWarning,
    describe,
    read_catalogue,
    read_fits,
    robust_noise,
    write_fits,
)

SHARED_DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
FIRST = sorted((SHARED_DATA / "mirabest_fits_sample").glob("*.fits"))
FIELDS = SHARED_DATA / "real_fields"
needs_data = pytest.mark.skipif(not FIRST, reason=f"real data not found at {SHARED_DATA}")


def celestial_header(ny: int = 32, nx: int = 40) -> fits.Header:
    h = fits.Header()
    h.update(CTYPE1="RA---SIN", CTYPE2="DEC--SIN", CRVAL1=150.0, CRVAL2=2.0, CRPIX1=nx / 2,
             CRPIX2=ny / 2, CDELT1=-1.5 / 3600, CDELT2=1.5 / 3600, CUNIT1="deg", CUNIT2="deg",
             BMAJ=6 / 3600, BMIN=4 / 3600, BPA=30.0, BUNIT="JY/BEAM")
    return h


def write(path: Path, *hdus) -> Path:
    fits.HDUList(list(hdus)).writeto(path)
    return path


def is_memory_mapped(array: np.ndarray) -> bool:
    while array is not None:
        if isinstance(array, (np.memmap, mmap.mmap)):
            return True
        array = getattr(array, "base", None)
    return False


def noise(shape=(32, 40), seed=0) -> np.ndarray:
    return np.random.default_rng(seed).normal(0, 1e-4, shape).astype(np.float32)


# ---------------------------------------------------------------- files that cannot be used
def _not_fits(p):
    p.write_text("SIMPLE? no, this is a text file\n")


def _empty(p):
    p.write_bytes(b"")


def _truncated_data(p):
    write(p, fits.PrimaryHDU(noise((100, 100)), celestial_header(100, 100)))
    p.write_bytes(p.read_bytes()[: 2880 * 3])


def _truncated_header(p):
    write(p, fits.PrimaryHDU(noise()))
    p.write_bytes(p.read_bytes()[:1000])


def _table_only(p):
    write(p, fits.PrimaryHDU(), fits.BinTableHDU(Table({"RA": [1.0], "DEC": [2.0]})))


def _empty_primary(p):
    write(p, fits.PrimaryHDU())


def _all_nan(p):
    write(p, fits.PrimaryHDU(np.full((8, 8), np.nan, np.float32), celestial_header(8, 8)))


def _cube(p):
    h = celestial_header()
    h.update(CTYPE3="FREQ", CRVAL3=1.4e9, CDELT3=1e6, CRPIX3=1)
    write(p, fits.PrimaryHDU(np.ones((5, 32, 40), np.float32), h))


BAD_FILES = [
    (None, "no such file.*radiolib fetch"),
    (_not_fits, "not a readable FITS file"),
    (_empty, "empty"),
    (_truncated_data, "truncated"),
    (_truncated_header, "truncated"),
    (_table_only, "no HDU with 2-D image data.*read_catalogue"),
    (_empty_primary, "no HDU with 2-D image data.*holds no pixels"),
    (_all_nan, "every pixel is NaN"),
    (_cube, r"3-D cube of shape \(5, 32, 40\).*plane=k"),
]


@pytest.mark.parametrize(("make", "match"), BAD_FILES,
                         ids=["missing"] + [m.__name__.strip("_") for m, _ in BAD_FILES[1:]])
def test_bad_files_raise_fits_error_saying_what_to_do(tmp_path, make, match):
    path = tmp_path / "image.fits"
    if make is not None:
        make(path)
    with pytest.raises(FITSError, match=match):
        read_fits(path)


def test_fits_error_is_a_value_error(tmp_path):
    with pytest.raises(ValueError):
        read_fits(tmp_path / "missing.fits")


# ---------------------------------------------------------------- what survey images look like
def test_degenerate_freq_stokes_axes_are_squeezed_and_memory_mapped(tmp_path):
    h = celestial_header()
    h.update(CTYPE3="FREQ", CRVAL3=1.4e9, CDELT3=1e6, CRPIX3=1, CTYPE4="STOKES", CRVAL4=1,
             CDELT4=1, CRPIX4=1)
    data = noise()[None, None]
    image = read_fits(write(tmp_path / "4d.fits", fits.PrimaryHDU(data, h)))
    assert image.shape == (32, 40)
    np.testing.assert_array_equal(image.data, data[0, 0])
    assert is_memory_mapped(image.data)
    assert image.wcs is not None and image.wcs.naxis == 2
    assert image.pixel_scale == pytest.approx(1.5)
    assert image.beam == Beam(6.0, 4.0, 30.0)


def test_cube_plane_can_be_picked(tmp_path):
    _cube(path := tmp_path / "cube.fits")
    assert read_fits(path, plane=2).shape == (32, 40)
    with pytest.raises(FITSError, match="plane=7 is outside 0..4"):
        read_fits(path, plane=7)


def test_bscale_bzero_and_blank_are_applied_as_float32_copy(tmp_path):
    raw = np.arange(12, dtype=np.int16).reshape(3, 4)
    hdu = fits.PrimaryHDU(raw, celestial_header(3, 4))
    hdu.header.update(BSCALE=0.5, BZERO=10.0, BLANK=3)
    image = read_fits(write(tmp_path / "scaled.fits", hdu))
    assert image.data.dtype == np.float32 and not is_memory_mapped(image.data)
    expected = (10.0 + 0.5 * raw).astype(np.float32)
    expected[0, 3] = np.nan
    np.testing.assert_array_equal(image.data, expected)


def test_nan_blanks_are_kept(tmp_path):
    data = noise()
    data[:8] = np.nan
    image = read_fits(write(tmp_path / "blank.fits", fits.PrimaryHDU(data, celestial_header())))
    assert np.isnan(image.data[:8]).all() and np.isfinite(image.data[8:]).all()
    assert image.nan_fraction == pytest.approx(8 / 32)
    assert image.noise == pytest.approx(1e-4, rel=0.1)


@pytest.mark.parametrize(("header", "match"), [
    ({}, "no celestial WCS"),
    ({"CTYPE1": "RA---XYZ", "CTYPE2": "DEC--XYZ"}, "WCS is invalid"),
])
def test_missing_or_invalid_wcs_warns_and_reads_pixels_only(tmp_path, header, match):
    hdu = fits.PrimaryHDU(noise())
    hdu.header.update(header)
    with pytest.warns(PixelOnlyWarning, match=match):
        image = read_fits(write(tmp_path / "nowcs.fits", hdu))
    assert image.wcs is None and image.pixel_scale is None and image.beam is None
    info = describe(image)
    assert "pixel-only" in info["wcs"] and "centre (deg)" not in info


def test_first_image_hdu_is_found_after_an_empty_primary_and_by_name(tmp_path):
    path = write(tmp_path / "ext.fits", fits.PrimaryHDU(),
                 fits.ImageHDU(noise(), celestial_header(), name="SKY"),
                 fits.ImageHDU(noise(seed=1), celestial_header(), name="RMS"))
    np.testing.assert_array_equal(read_fits(path).data, noise())
    np.testing.assert_array_equal(read_fits(path, hdu="RMS").data, noise(seed=1))
    with pytest.raises(FITSError, match="has no HDU 'MODEL'"):
        read_fits(path, hdu="MODEL")
    with pytest.raises(FITSError, match=r"no HDU with 2-D image data \(#0 PRIMARY"):
        read_fits(path, hdu=0)


def test_beam_from_aips_history_card(tmp_path):
    h = celestial_header()
    del h["BMAJ"], h["BMIN"], h["BPA"]
    h.add_history("AIPS   CLEAN BMAJ=  1.5000E-03 BMIN=  1.0000E-03 BPA=  45.00")
    image = read_fits(write(tmp_path / "aips.fits", fits.PrimaryHDU(noise(), h)))
    assert image.beam == Beam(5.4, 3.6, 45.0, origin="AIPS HISTORY card")
    assert image.beam.area == pytest.approx(np.pi * 5.4 * 3.6 / (4 * np.log(2)))


# ---------------------------------------------------------------- noise and summaries
def test_robust_noise_ignores_sources_and_nans():
    data = noise((200, 200)).astype(np.float64)
    data[50:60, 50:60] = 1.0  # a bright source
    data[:20] = np.nan
    assert robust_noise(data) == pytest.approx(1e-4, rel=0.03)
    with pytest.raises(ValueError, match="no finite pixels"):
        robust_noise(np.full((4, 4), np.nan))


def test_describe_reports_shape_scale_beam_centre_nans_and_noise(tmp_path):
    image = read_fits(write(tmp_path / "d.fits", fits.PrimaryHDU(noise(), celestial_header())))
    info = describe(image)
    assert all(isinstance(v, str) and len(k) <= 16 for k, v in info.items())
    assert info["shape"].startswith("32 x 40")
    assert info["pixel scale"] == '1.500"/pixel'
    assert info["beam"] == '6.00" x 4.00", PA 30.0 deg'
    assert "RA---SIN" in info["wcs"] and "h" in info["centre (hms/dms)"]
    assert "Jy/beam" in info["noise (MAD)"] and "mJy/beam" in info["noise (MAD)"]


# ---------------------------------------------------------------- writing
def test_write_fits_round_trips_and_leaves_no_temporary_files(tmp_path):
    header = celestial_header()
    path = write_fits(tmp_path / "sub" / "out.fits", noise(), header)
    image = read_fits(path)
    np.testing.assert_array_equal(image.data, noise())
    assert image.beam == Beam(6.0, 4.0, 30.0)
    assert sorted(os.listdir(path.parent)) == ["out.fits"]


def test_write_fits_failure_keeps_the_old_file(tmp_path, monkeypatch):
    path = write_fits(tmp_path / "out.fits", noise())
    before = path.read_bytes()

    def disk_full(self, name, **kwargs):
        Path(name).write_bytes(b"partial")
        raise OSError("No space left on device")

    monkeypatch.setattr(fits.PrimaryHDU, "writeto", disk_full)
    with pytest.raises(OSError, match="No space"):
        write_fits(path, noise(seed=1))
    assert path.read_bytes() == before and os.listdir(tmp_path) == ["out.fits"]


def test_write_fits_rejects_non_numeric_pixels(tmp_path):
    with pytest.raises(FITSError, match="give a numeric array"):
        write_fits(tmp_path / "out.fits", np.array([["a"]]))


# ---------------------------------------------------------------- catalogues
def test_read_catalogue_csv_and_errors(tmp_path):
    Table({"RA": [1.0, 2.0], "DEC": [3.0, 4.0]}).write(tmp_path / "cat.csv")
    assert len(read_catalogue(tmp_path / "cat.csv")) == 2
    with pytest.raises(DataError, match="no such catalogue"):
        read_catalogue(tmp_path / "missing.csv")
    (tmp_path / "cat.txt").write_text("x")
    with pytest.raises(DataError, match="unknown catalogue format"):
        read_catalogue(tmp_path / "cat.txt")


# ---------------------------------------------------------------- real survey data
@needs_data
@pytest.mark.parametrize("path", FIRST[:39:6], ids=lambda p: p.name[:20])
def test_real_first_cutouts(path):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no astropy noise, no pixel-only fallback
        image = read_fits(path)
    assert image.shape == (300, 300) and is_memory_mapped(image.data)
    assert image.pixel_scale == pytest.approx(1.8)
    assert image.beam.bmaj == pytest.approx(5.4) and "FIRST" in image.beam.origin
    ra, dec = (float(v) for v in path.name.split("_")[1].replace("+", " +").split())
    centre = image.wcs.pixel_to_world(149.5, 149.5)
    assert (centre.ra.deg, centre.dec.deg) == pytest.approx((ra, dec), abs=1e-3)
    assert 5e-5 < image.noise < 1e-3  # FIRST: ~0.15 mJy/beam


@needs_data
@pytest.mark.parametrize(("name", "scale", "bmaj", "dtype"), [
    ("ScorpioS17Field.fits", 1.5, 6.5, ">f4"),
    ("P205+55-mosaic.fits", 1.5, 6.0, ">f8"),
])
def test_real_wide_fields(name, scale, bmaj, dtype):
    image = read_fits(FIELDS / name)
    assert image.data.dtype == np.dtype(dtype) and is_memory_mapped(image.data)
    assert image.wcs is not None and image.pixel_scale == pytest.approx(scale, rel=1e-4)
    assert image.beam.bmaj == pytest.approx(bmaj, rel=1e-4)
    assert "mJy/beam" in describe(image)["noise (MAD)"]


@needs_data
def test_real_lotss_catalogue():
    table = read_catalogue(FIELDS / "catalog_shimwell_reduced.srl.fits")
    assert len(table) == 12093 and {"RA", "DEC", "Peak_flux", "Isl_rms"} <= set(table.colnames)


def test_finite_check_reads_the_middle_rows_first():
    """read_fits' check for a finite pixel must not read a mosaic's blank border first: the
    pages it reads through the memory map stay resident (115 MiB extra for a 16k² mosaic)."""
    from radiolib.io import _has_finite

    class Rows:
        """A (160, 4) image that records which rows are read."""

        def __init__(self, data):
            self.data, self.shape, self.read = data, data.shape, []

        def __getitem__(self, rows):
            self.read.append((rows.start, rows.stop))
            return self.data[rows]

    data = np.full((160, 4), np.nan)
    data[60:100] = 1.0  # a blank border of 60 rows around a finite middle
    rows = Rows(data)
    assert _has_finite(rows) and rows.read == [(64, 80)]  # one read of 16 rows, in the middle
    edge = np.full((160, 4), np.nan)
    edge[-1, -1] = 0.0
    assert _has_finite(edge) and not _has_finite(np.full((160, 4), np.nan))
