"""Fixtures for the tiling tests: small FITS mosaics written on the fly, and the real data."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits

#: The real small data kept beside the project (never copied into the repository).
SHARED_DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"


def wcs_header(ny: int, nx: int, *, pixel_arcsec: float = 2.0) -> fits.Header:
    return fits.Header({"CTYPE1": "RA---SIN", "CTYPE2": "DEC--SIN", "CRVAL1": 150.0,
                        "CRVAL2": -30.0, "CRPIX1": nx / 2 + 0.5, "CRPIX2": ny / 2 + 0.5,
                        "CDELT1": -pixel_arcsec / 3600, "CDELT2": pixel_arcsec / 3600,
                        "CUNIT1": "deg", "CUNIT2": "deg", "BMAJ": 6 / 3600, "BMIN": 5 / 3600,
                        "BPA": 0.0, "BUNIT": "Jy/beam"})


def write_mosaic(path: Path, ny: int, nx: int, *, seed: int = 0, nan_border: int = 0,
                 chunk: int = 512) -> Path:
    """Write a float32 FITS mosaic row block by row block (never all of it in memory)."""
    header = fits.Header({"SIMPLE": True, "BITPIX": -32, "NAXIS": 2, "NAXIS1": nx,
                          "NAXIS2": ny})
    header.update(wcs_header(ny, nx))
    rng = np.random.default_rng(seed)
    with open(path, "wb") as f:
        f.write(header.tostring().encode("ascii"))
        for y in range(0, ny, chunk):
            block = rng.normal(0, 1e-4, (min(chunk, ny - y), nx)).astype(np.float32)
            if nan_border:
                rows = np.arange(y, y + len(block))[:, None]
                cols = np.arange(nx)[None, :]
                edge = (rows < nan_border) | (rows >= ny - nan_border) | (cols < nan_border) \
                    | (cols >= nx - nan_border)
                block[edge] = np.nan
            f.write(block.astype(">f4").tobytes())
        f.write(b"\0" * (-(ny * nx * 4) % 2880))
    return path


@pytest.fixture
def make_mosaic():
    """The `write_mosaic` function (test modules here are not a package, so cannot import it)."""
    return write_mosaic


@pytest.fixture
def mosaic(tmp_path) -> Path:
    """A 700 x 600 (ny x nx) noise mosaic with a 150-pixel NaN border and a SIN WCS."""
    return write_mosaic(tmp_path / "mosaic.fits", 700, 600, nan_border=150)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not (SHARED_DATA / "real_fields").is_dir():
        pytest.skip(f"real data not found at {SHARED_DATA}")
    return SHARED_DATA
