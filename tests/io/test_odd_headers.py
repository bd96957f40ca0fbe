"""Headers as they come from the wild: written back cleanly, read or refused with one message.

Each case here was found by the fuzz test (test_fuzz_fits.py) or reported in issue 12.
"""

from __future__ import annotations

import os
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits

from radiolib.errors import FITSError
from radiolib.io import PixelOnlyWarning, describe, read_fits, write_fits

REPO = Path(__file__).resolve().parents[2]
SHARED_DATA = REPO.parent / "shared" / "data"
FIRST = sorted((SHARED_DATA / "mirabest_fits_sample").glob("*.fits"))


def _cards(*lines: str) -> bytes:
    head = "".join(line.ljust(80) for line in (*lines, "END"))
    return head.ljust(-(-len(head) // 2880) * 2880).encode("latin-1")


def _image_file(path: Path, *extra: str, naxis=(8, 8), bitpix=-32) -> Path:
    head = _cards("SIMPLE  =                    T", f"BITPIX  = {bitpix:>20}",
                  "NAXIS   =                    2", f"NAXIS1  = {naxis[0]:>20}",
                  f"NAXIS2  = {naxis[1]:>20}", *extra)
    data = np.arange(64, dtype=">f4").tobytes()
    path.write_bytes(head + data + b"\0" * (-len(data) % 2880))
    return path


def test_write_fits_replaces_tabs_in_comment_and_history_cards_and_keeps_the_text(tmp_path):
    header = fits.Header.fromstring(_cards(
        "COMMENT Copyright:   1994, University of California. \t  Permission is granted",
        "HISTORY made\twith\ttabs", "OBJECT  = 'a\tb'               / tab\tin comment"
    ).decode("latin-1"))
    path = write_fits(tmp_path / "out.fits", np.ones((4, 5), np.float32), header)
    back = fits.getheader(path)
    assert str(back["COMMENT"][0]).split() == ["Copyright:", "1994,", "University", "of",
                                               "California.", "Permission", "is", "granted"]
    assert str(back["HISTORY"][0]) == "made with tabs"
    assert back["OBJECT"] == "a b" and back.comments["OBJECT"] == "tab in comment"
    assert [p.name for p in tmp_path.iterdir()] == ["out.fits"]


@pytest.mark.skipif(not FIRST, reason=f"real data not found at {SHARED_DATA}")
def test_a_skyview_cutout_is_written_back_with_its_header(tmp_path):
    image = read_fits(FIRST[0])
    assert any("\t" in str(v) for v in image.header["COMMENT"])  # the case of the issue
    write_fits(tmp_path / "copy.fits", image.data, image.header)
    copy = read_fits(tmp_path / "copy.fits")
    np.testing.assert_array_equal(copy.data, image.data)
    assert copy.beam == image.beam and copy.pixel_scale == pytest.approx(image.pixel_scale)
    assert len(copy.header["COMMENT"]) == len(image.header["COMMENT"])


def test_a_negative_axis_length_is_refused_not_looped_on(tmp_path):
    """NAXIS1 = -90 puts astropy's next HDU at offset 0: it would read the same one forever."""
    path = _image_file(tmp_path / "neg.fits", naxis=(-90, 8))
    code = ("from radiolib.io import read_fits\n"
            "from radiolib.errors import FITSError\n"
            f"try:\n    read_fits({str(path)!r})\nexcept FITSError as e:\n    print(e)\n")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, env=env)
    assert "has an invalid NAXIS1 card (-90)" in done.stdout, done.stdout + done.stderr


@pytest.mark.parametrize("card, match", [
    ("BSCALE  =                'abc'", "BSCALE card .* not a finite number"),
    ("BZERO   =                1E400", "BZERO card .* not a finite number"),
])
def test_non_numeric_scaling_cards_are_refused(tmp_path, card, match):
    with pytest.raises(FITSError, match=match):
        read_fits(_image_file(tmp_path / "s.fits", card))


def test_an_unparsable_card_is_dropped_with_a_warning(tmp_path):
    path = _image_file(tmp_path / "u.fits", "SURVEY  = 'FIRST", "BMAJ    =                'big'",
                       "BMIN    =               0.0015")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PixelOnlyWarning)  # no WCS in this header
        with pytest.warns(UserWarning, match="1 header card"):
            image = read_fits(path)
    assert image.shape == (8, 8) and image.beam is None  # a BMAJ that is no number: no beam


def test_describe_a_galactic_image(tmp_path):
    header = fits.Header({"CTYPE1": "GLON-CAR", "CTYPE2": "GLAT-CAR", "CRVAL1": 330.0,
                          "CRVAL2": 0.5, "CRPIX1": 16, "CRPIX2": 16, "CDELT1": -2 / 3600,
                          "CDELT2": 2 / 3600, "BUNIT": "Jy/beam"})
    rng = np.random.default_rng(0)
    path = write_fits(tmp_path / "g.fits", rng.normal(size=(32, 32)).astype(np.float32), header)
    info = describe(read_fits(path))
    assert info["centre (deg)"].startswith("lon 329.99") and "GALACTIC" in info["centre (deg)"]
    assert info["centre (hms/dms)"].endswith("(ICRS)")


def test_a_mismatched_celestial_pair_reads_in_pixel_only_mode(tmp_path):
    header = fits.Header({"CTYPE1": "GLON-CAR", "CTYPE2": "DEC--SIN", "CRVAL1": 1.0,
                          "CRVAL2": 1.0, "CRPIX1": 4, "CRPIX2": 4, "CDELT1": -1e-3,
                          "CDELT2": 1e-3})
    path = write_fits(tmp_path / "m.fits", np.ones((8, 8), np.float32), header)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        image = read_fits(path)
    assert image.wcs is None and describe(image)["wcs"].startswith("none")
