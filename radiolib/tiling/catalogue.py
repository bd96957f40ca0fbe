"""Source positions and extents from a catalogue, in the pixel frame of an image.

Any table with sky positions and a size works (a PyBDSF or caesar source list: RA/DEC in
degrees, ``Maj`` in arcsec) as does one with pixel positions (the simulator's truth: ``x``,
``y`` and a size in pixels or a bounding box). Columns are found by common names, case
insensitive, or named explicitly.
"""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
from astropy import units as u
from astropy.table import Table

from radiolib.errors import DataError
from radiolib.io import Image, read_catalogue

from .boxes import banner_boxes

__all__ = ["banner_boxes_from_catalogue", "catalogue_pixels"]

_NAMES = {
    "ra": ("ra", "ra_deg", "raj2000", "ra_j2000", "ra_icrs"),
    "dec": ("dec", "dec_deg", "dej2000", "decj2000", "dec_j2000", "de_icrs"),
    "size": ("maj", "major", "maj_arcsec", "size_arcsec", "im_maj", "smax_asec", "extent_arcsec"),
    "x": ("x", "x_pix", "xpix", "x_pixel"),
    "y": ("y", "y_pix", "ypix", "y_pixel"),
    "size_pix": ("size_pix", "extent_pix", "size_pixels", "maj_pix"),
    "bbox": (("bbox_x0", "bbox_y0", "bbox_x1", "bbox_y1"), ("x0", "y0", "x1", "y1")),
    "source": ("source_name", "source_id", "name", "id", "source"),
}


def _find(columns: list[str], key: str, given: str | None) -> str | None:
    if given is not None:
        if given not in columns:
            raise DataError(f"catalogue has no column {given!r}; it has {', '.join(columns)}")
        return given
    lower = {c.lower(): c for c in columns}
    return next((lower[n] for n in _NAMES[key] if n in lower), None)


def _values(table: Table, column: str, unit: u.Unit, default: u.Unit) -> np.ndarray:
    col = table[column]
    have = getattr(col, "unit", None) or default
    try:
        return (np.asarray(col, dtype=np.float64) * u.Unit(have)).to_value(unit)
    except (u.UnitsError, ValueError) as exc:
        raise DataError(f"catalogue column {column!r} in {have} cannot be read as {unit}") from exc


def _as_table(catalogue) -> Table:
    if isinstance(catalogue, (str, os.PathLike)):
        return read_catalogue(catalogue)
    if isinstance(catalogue, pd.DataFrame):
        return Table.from_pandas(catalogue)
    return catalogue if isinstance(catalogue, Table) else Table(catalogue)


def catalogue_pixels(image: Image, catalogue, *, ra: str | None = None, dec: str | None = None,
                     size: str | None = None, size_unit: str = "arcsec",
                     inside: bool = True) -> pd.DataFrame:
    """Pixel position and extent of each source: DataFrame ``row, source, x, y, extent_pix``.

    Parameters
    ----------
    image : Image
        The image whose pixel frame is used (its WCS and pixel scale for sky columns).
    catalogue : path, astropy Table, DataFrame or mapping of columns
        Sky columns (RA, DEC in deg; a major axis such as PyBDSF ``Maj``, unit from the
        column or ``size_unit``) or pixel columns (``x``, ``y``; ``size_pix`` or a bounding box
        ``bbox_x0 .. bbox_y1`` / ``x0 .. y1``). Pixel columns are used when present.
    ra, dec, size : str, optional
        Column names, when they are not found by their usual names.
    inside : bool
        Keep only sources whose centre falls on the image (``row`` is the catalogue row).
    """
    table = _as_table(catalogue)
    cols = list(table.colnames)
    bbox = next((b for b in _NAMES["bbox"] if all(c in cols for c in b)), None)
    xcol, ycol = _find(cols, "x", None), _find(cols, "y", None)
    if xcol and ycol and (_find(cols, "size_pix", None) or bbox):
        x = np.asarray(table[xcol], dtype=np.float64)
        y = np.asarray(table[ycol], dtype=np.float64)
        if (spix := _find(cols, "size_pix", None)) is not None:
            extent = np.asarray(table[spix], dtype=np.float64)
        else:
            b = np.stack([np.asarray(table[c], dtype=np.float64) for c in bbox])
            extent = np.maximum(b[2] - b[0], b[3] - b[1])
    else:
        rcol, dcol, scol = _find(cols, "ra", ra), _find(cols, "dec", dec), _find(cols, "size", size)
        if rcol is None or dcol is None or scol is None:
            raise DataError("catalogue needs RA, DEC and a size column (e.g. PyBDSF RA, DEC, Maj) "
                            f"or x, y and size_pix/bbox; it has {', '.join(cols)}; name them "
                            "with ra=, dec=, size=")
        if image.wcs is None or not image.pixel_scale:
            raise DataError("the image has no celestial WCS, so sky positions of the catalogue "
                            "cannot be placed on it; give pixel columns x, y, size_pix instead")
        lon, lat = _values(table, rcol, u.deg, u.deg), _values(table, dcol, u.deg, u.deg)
        x, y = image.wcs.world_to_pixel_values(lon, lat)
        extent = _values(table, scol, u.arcsec, u.Unit(size_unit)) / image.pixel_scale
    scol = _find(cols, "source", None)
    names = np.asarray(table[scol]).astype(str) if scol else np.arange(len(table)).astype(str)
    frame = pd.DataFrame({"row": np.arange(len(table)), "source": names, "x": x, "y": y,
                          "extent_pix": extent})
    if inside:
        ny, nx = image.shape
        ok = (x >= -0.5) & (x < nx - 0.5) & (y >= -0.5) & (y < ny - 0.5)
        frame = frame[ok].reset_index(drop=True)
    return frame


def banner_boxes_from_catalogue(image: Image, catalogue, *, factor: float = 1.5,
                                min_size: int = 32, **columns) -> tuple[np.ndarray, pd.DataFrame]:
    """Banner boxes (N, 4) of the catalogue sources inside ``image``, and those sources.

    Sources come from `catalogue_pixels` (``columns`` are passed on); boxes from `banner_boxes`.
    """
    sources = catalogue_pixels(image, catalogue, **columns)
    boxes = banner_boxes(sources["x"].to_numpy(), sources["y"].to_numpy(),
                         sources["extent_pix"].to_numpy(), factor=factor, min_size=min_size,
                         shape=image.shape)
    return boxes, sources
