"""`TileSet`: tiles of one or more fields in one compact on-disk dataset, read lazily.

A TileSet folder holds three files:

- ``tiles.npy``: float32 (N, S, S), memory-mapped on reading;
- ``index.csv``: one row per tile: ``tile, field, x0, y0, x1, y1, ra, dec, nan_fraction``
  (box in the field's pixels; RA/Dec of the box centre in deg, NaN without WCS) and any
  label columns;
- ``fields.json``: the tiling parameters and, per field, path, shape, WCS header, pixel scale,
  beam, counts and the scaling statistics fitted once on the whole field (`.stats`).

It is written into a hidden temporary folder beside its destination and renamed into place,
so a failed run leaves nothing behind. Being a sequence of ``(tile, row)`` it serves as a
map-style ``torch.utils.data.Dataset`` as it is (torch is not imported).
"""

from __future__ import annotations

import io
import json
import os
import shutil
import tempfile
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd
from astropy.io import fits
from astropy.wcs import WCS

from radiolib.errors import DataError

__all__ = ["INDEX_COLUMNS", "TileSet", "TileSetExistsError", "TileSetWriter"]

TILES, INDEX, FIELDS = "tiles.npy", "index.csv", "fields.json"
INDEX_COLUMNS = ("tile", "field", "x0", "y0", "x1", "y1", "ra", "dec", "nan_fraction")
FORMAT = "radiolib.tileset"


class TileSetExistsError(DataError, FileExistsError):
    """The output folder of a tiling exists already (pass ``overwrite=True`` to replace it)."""


def _npy_header(n: int, size: int) -> bytes:
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        buf, {"descr": "<f4", "fortran_order": False, "shape": (n, size, size)})
    return buf.getvalue()


class TileSetWriter:
    """Append tiles and field records to a temporary folder; `commit` renames it into place.

    Tiles go to ``tiles.npy`` with plain file writes after a numpy header that is rewritten
    with the final count at the end: unlike writing through ``open_memmap``, the written pages
    never count in the process's resident memory and no file page is faulted in twice.
    """

    def __init__(self, out_dir: str | os.PathLike, *, size: int, meta: dict,
                 overwrite: bool = False):
        self.out_dir, self.size, self.meta = Path(out_dir), int(size), dict(meta)
        if self.out_dir.exists() and not overwrite:
            raise TileSetExistsError(f"{self.out_dir} exists; choose another output folder or "
                                     "pass overwrite=True")
        self.out_dir.parent.mkdir(parents=True, exist_ok=True)
        self.tmp = Path(tempfile.mkdtemp(prefix=f".{self.out_dir.name}.tmp-",
                                         dir=self.out_dir.parent))
        self.n, self.fields, self._tables = 0, {}, []
        self._fd = os.open(self.tmp / TILES, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        self._header = _npy_header(0, self.size)
        self._write(memoryview(self._header))

    def _write(self, buffer: memoryview) -> None:
        while buffer.nbytes:
            buffer = buffer[os.write(self._fd, buffer):]

    def write(self, tiles: np.ndarray) -> None:
        """Append one tile (S, S) or a batch (k, S, S), converted to little-endian float32."""
        tiles = np.ascontiguousarray(tiles, dtype="<f4")
        if tiles.shape[-2:] != (self.size, self.size):
            raise ValueError(f"tiles must be {self.size}x{self.size}, got {tiles.shape}")
        self._write(memoryview(tiles).cast("B"))
        self.n += 1 if tiles.ndim == 2 else len(tiles)

    def add_field(self, name: str, info: dict, table: pd.DataFrame) -> None:
        """Record a field (``info`` goes to fields.json) and the index rows of its tiles."""
        if name in self.fields:
            raise ValueError(f"field {name!r} was already added")
        self.fields[name] = {"name": name, **info}
        self._tables.append(table)

    def commit(self) -> Path:
        """Finish the files and rename the folder to ``out_dir`` (replacing an old one)."""
        header = _npy_header(self.n, self.size)
        if len(header) != len(self._header):  # cannot happen: numpy pads for growth
            raise RuntimeError("npy header length changed")
        os.pwrite(self._fd, header, 0)  # no fsync: a derived cache, atomic but not durable
        os.close(self._fd)
        self._fd = None
        index = pd.concat(self._tables, ignore_index=True) if self._tables else \
            pd.DataFrame(columns=list(INDEX_COLUMNS))
        if len(index) != self.n:
            raise RuntimeError(f"{len(index)} index rows for {self.n} tiles")
        index.to_csv(self.tmp / INDEX, index=False)
        meta = {"format": FORMAT, "version": 1, **self.meta, "tile_size": self.size,
                "n_tiles": self.n, "n_skipped": sum(f["n_skipped"] for f in self.fields.values()),
                "fields": self.fields}
        (self.tmp / FIELDS).write_text(json.dumps(meta, indent=1, allow_nan=False))
        self.tmp.chmod(0o755)  # mkdtemp made it private
        old = None
        if self.out_dir.exists():  # renamed onto an empty folder of a unique name
            old = Path(tempfile.mkdtemp(prefix=f".{self.out_dir.name}.old-",
                                        dir=self.out_dir.parent))
            os.replace(self.out_dir, old)
        os.replace(self.tmp, self.out_dir)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
        return self.out_dir

    def abort(self) -> None:
        """Remove the temporary folder."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        shutil.rmtree(self.tmp, ignore_errors=True)

    def __enter__(self) -> TileSetWriter:
        return self

    def __exit__(self, exc_type, *exc) -> None:
        if exc_type is not None or self._fd is not None:
            self.abort()


class TileSet:
    """Tiles on disk: ``len``, ``ts[i] -> (tile (S, S) float32, row dict)``, boxes, WCS, stats.

    Open with `TileSet.open`. ``transform`` (e.g. a per-field scaling) is applied to each tile
    returned by ``__getitem__``; ``tiles`` is the memory-mapped (N, S, S) array itself.
    """

    def __init__(self, path: str | os.PathLike, *, transform=None):
        self.path, self.transform = Path(path), transform
        self.meta = json.loads((self.path / FIELDS).read_text())
        self.index = pd.read_csv(self.path / INDEX, dtype={"field": str, "source": str})
        self._tiles = None

    @classmethod
    def open(cls, path: str | os.PathLike, *, transform=None) -> TileSet:
        """Open a TileSet folder written by `radiolib.tiling.tile_fits` / `tile_fields`."""
        path = Path(path)
        missing = [n for n in (TILES, INDEX, FIELDS) if not (path / n).is_file()]
        if missing:
            raise DataError(f"{path}: not a TileSet (missing {', '.join(missing)}); "
                            "write one with `radiolib tile`")
        return cls(path, transform=transform)

    @property
    def tiles(self) -> np.ndarray:
        """The tiles, float32 (N, S, S), memory-mapped read-only."""
        if self._tiles is None:
            self._tiles = np.load(self.path / TILES, mmap_mode="r")
        return self._tiles

    @property
    def fields(self) -> dict[str, dict]:
        """Per-field records (path, shape, wcs_header, pixel_scale, beam, stats, limits...)."""
        return self.meta["fields"]

    @property
    def boxes(self) -> np.ndarray:
        """Pixel boxes (N, 4) ``x0, y0, x1, y1`` of the tiles in their field."""
        return self.index[["x0", "y0", "x1", "y1"]].to_numpy(np.int64)

    @property
    def tile_size(self) -> int:
        """Side S of the stored tiles (banner boxes are resized to it)."""
        return int(self.meta["tile_size"])

    @property
    def n_skipped(self) -> int:
        """Number of candidate tiles skipped for their NaN fraction."""
        return int(self.meta["n_skipped"])

    @cached_property
    def _rows(self) -> list[dict]:
        return self.index.to_dict("records")

    def __len__(self) -> int:
        return len(self.index)

    def __getitem__(self, i: int) -> tuple[np.ndarray, dict]:
        i = range(len(self))[i]  # IndexError and negative indices as for a list
        tile = np.array(self.tiles[i])
        return (self.transform(tile) if self.transform else tile), dict(self._rows[i])

    def field_wcs(self, name: str) -> WCS | None:
        """Return the celestial WCS of a field, or None."""
        text = self.fields[name].get("wcs_header")
        return None if text is None else WCS(fits.Header.fromstring(text))

    def tile_wcs(self, i: int) -> WCS | None:
        """WCS of tile ``i``: the field's with CRPIX shifted to the box (and scaled if resized)."""
        row = self.index.iloc[i]
        wcs = self.field_wcs(row["field"])
        if wcs is None:
            return None
        # a stored pixel p (1-based) covers field pixels (p - 1/2) s + 1/2 + box start, where
        # the scale s = box side / S is > 1 for a banner box that was shrunk to S
        scale = np.array([row["x1"] - row["x0"], row["y1"] - row["y0"]]) / self.tile_size
        wcs.wcs.crpix = (wcs.wcs.crpix - [row["x0"], row["y0"]] - 0.5) / scale + 0.5
        if np.any(scale != 1):
            if wcs.wcs.has_cd():
                wcs.wcs.cd = wcs.wcs.cd * scale
            else:
                wcs.wcs.pc = wcs.wcs.get_pc() * scale
        wcs.pixel_shape = (self.tile_size, self.tile_size)
        return wcs

    def summary(self) -> str:
        """One line: tiles written and skipped, mode, size, fields, folder."""
        return (f"{len(self)} tiles written, {self.n_skipped} skipped (NaN fraction above "
                f"{self.meta['params']['nan_max']}); mode {self.meta['mode']}, "
                f"{self.tile_size}x{self.tile_size} px, {len(self.fields)} field(s) -> {self.path}")

    def __getstate__(self) -> dict:  # DataLoader workers re-open the memory map
        return {**self.__dict__, "_tiles": None}

    def __repr__(self) -> str:
        return f"TileSet({str(self.path)!r}, n={len(self)}, mode={self.meta['mode']!r})"
