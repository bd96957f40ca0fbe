"""Read row bands and boxes of a FITS image as native float32, with bounded resident memory.

A memory-mapped mosaic that is read end to end would otherwise stay resident in the process
(a 16k² float32 mosaic is 1 GiB). Plain float images (BITPIX -32/-64, no BSCALE/BZERO) are
mapped directly and the mapped pages are released with ``madvise(MADV_DONTNEED)`` every
``release_bytes`` read: they stay in the page cache, but no longer count in the resident set.
Other images (scaled integers, cubes) are read through the ``Image`` array.
"""

from __future__ import annotations

import math
import mmap
import warnings
from pathlib import Path

import numpy as np
from astropy.io import fits
from astropy.io.fits.verify import VerifyWarning

from radiolib.io import Image

__all__ = ["MosaicReader"]

_RAW_DTYPES = {-32: ">f4", -64: ">f8"}


def _raw_layout(image: Image) -> tuple[Path, int, str] | None:
    """(path, data offset, dtype) when the image pixels can be mapped as they lie on disk."""
    header = image.header
    if image.path is None or header.get("BITPIX") not in _RAW_DTYPES:
        return None
    if header.get("BSCALE", 1) != 1 or header.get("BZERO", 0) != 0:
        return None
    naxes = [int(header.get(f"NAXIS{k}", 0)) for k in range(1, int(header.get("NAXIS", 0)) + 1)]
    if naxes[:2] != [image.shape[1], image.shape[0]] or any(n != 1 for n in naxes[2:]):
        return None  # a plane of a cube, or axes that read_fits rearranged
    with fits.open(image.path, memmap=True) as hdul, warnings.catch_warnings():
        warnings.simplefilter("ignore", VerifyWarning)  # e.g. tabs in FIRST COMMENT cards
        for i, hdu in enumerate(hdul):
            if isinstance(hdu, fits.CompImageHDU):  # tiles of a compressed table, not pixels
                continue
            if hdu.header.tostring() == header.tostring():
                info = hdul.fileinfo(i)
                size = image.path.stat().st_size
                end = info["datLoc"] + image.data.size * abs(header["BITPIX"]) // 8
                return (image.path, info["datLoc"], _RAW_DTYPES[header["BITPIX"]]) \
                    if end <= size else None
    return None


class MosaicReader:
    """Row bands, boxes and a regular sample of an `Image`, as native float32 copies."""

    def __init__(self, image: Image, *, release_bytes: int = 8 << 20):
        self.shape = image.shape
        self.release_bytes, self._mm, self._span = release_bytes, None, None
        layout = _raw_layout(image)
        if layout is None:
            self._data = image.data
            return
        path, self._offset, dtype = layout
        with open(path, "rb") as f:
            self._mm = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
        self._data = np.frombuffer(self._mm, dtype, count=image.data.size,
                                   offset=self._offset).reshape(self.shape)

    @property
    def mapped(self) -> bool:
        """True when pixels are read from our own releasable mapping of the file."""
        return self._mm is not None

    @property
    def _row_bytes(self) -> int:
        return self.shape[1] * self._data.itemsize

    def _touch(self, y0: int, y1: int) -> None:
        """Note rows ``y0:y1`` as resident; release them all once they exceed the budget."""
        lo, hi = (y0, y1) if self._span is None else \
            (min(self._span[0], y0), max(self._span[1], y1))
        self._span = (lo, hi)
        if (hi - lo) * self._row_bytes >= self.release_bytes:
            self.release()

    def release(self) -> None:
        """Drop the mapped pages read so far from the resident set (they stay in page cache)."""
        if self._mm is not None and self._span is not None and hasattr(mmap, "MADV_DONTNEED"):
            start = self._offset + self._span[0] * self._row_bytes
            stop = self._offset + self._span[1] * self._row_bytes
            start -= start % mmap.PAGESIZE
            self._mm.madvise(mmap.MADV_DONTNEED, start, min(stop, len(self._mm)) - start)
        self._span = None

    def rows(self, y0: int, y1: int, out: np.ndarray | None = None) -> np.ndarray:
        """Rows ``y0:y1`` (inside the image) as float32 (y1 - y0, nx), into ``out`` if given."""
        band = self._data[y0:y1]
        if out is None:
            out = np.empty(band.shape, np.float32)
        np.copyto(out, band, casting="same_kind")
        self._touch(y0, y1)
        return out

    def box(self, x0: int, y0: int, x1: int, y1: int) -> np.ndarray:
        """Pixels of a box as float32 (y1 - y0, x1 - x0); the part outside the image is NaN."""
        ny, nx = self.shape
        out = np.full((y1 - y0, x1 - x0), np.nan, np.float32)
        cx0, cx1, cy0, cy1 = max(x0, 0), min(x1, nx), max(y0, 0), min(y1, ny)
        if cx0 < cx1 and cy0 < cy1:
            region = self._data[cy0:cy1, cx0:cx1]
            np.copyto(out[cy0 - y0 : cy1 - y0, cx0 - x0 : cx1 - x0], region, casting="same_kind")
            self._touch(cy0, cy1)
        return out

    def sample(self, max_pixels: int = 1_000_000) -> np.ndarray:
        """Pixels on a regular grid (same stride along both axes), at most ``max_pixels``."""
        ny, nx = self.shape
        step = max(1, math.ceil(math.sqrt(ny * nx / max_pixels)))
        ys = np.arange(0, ny, step)
        # pages are mapped in blocks, so the whole span of rows becomes resident, not only the
        # picked rows: read few enough rows at a time for that span to fit the budget
        chunk = max(1, self.release_bytes // (step * self._row_bytes))
        self.release()
        parts = []
        for i in range(0, len(ys), chunk):
            rows = ys[i : i + chunk]
            parts.append(np.asarray(self._data[rows, ::step], dtype=np.float32).ravel())
            self._touch(rows[0], rows[-1] + 1)
        return np.concatenate(parts) if parts else np.zeros(0, np.float32)

    def close(self) -> None:
        """Drop the mapping (pixels already copied out stay valid)."""
        self.release()
        self._data = None
        if self._mm is not None:
            try:
                self._mm.close()
            except BufferError:  # a view still exists somewhere: let the GC unmap it
                pass
            self._mm = None

    def __enter__(self) -> MosaicReader:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
