"""`TileSet`: tiles of one or more fields in one compact on-disk dataset, read lazily.

A TileSet folder holds:

- the pixels, stored one of two ways (``fields.json`` says which, as ``storage``):

  - ``"pixels"`` (grid modes, hulk and MGCLS): each field's image once, as little-endian
    float32 ``pixels/NNN.npy``; a tile is the view ``pixels[y0:y1, x0:x1]`` of its box, so
    overlapping tiles share their pixels (hulk's 50 % overlap would otherwise store every
    pixel four times) and the tiler writes each pixel once;
  - ``"tiles"`` (banner, whose boxes are resized): ``tiles.npy``, float32 (N, S, S);

- ``index.csv``: one row per tile: ``tile, field, x0, y0, x1, y1, ra, dec, nan_fraction``
  (box in the field's pixels; RA/Dec of the box centre in deg, NaN without WCS) and any
  label columns;
- ``fields.json``: the tiling parameters and, per field, path, shape, WCS header, pixel scale,
  beam, counts and the scaling statistics fitted once on the whole field (`.stats`).

Either way ``TileSet.tiles`` reads like a read-only (N, S, S) float32 array, memory-mapped.
The folder is written into a hidden temporary folder beside its destination and renamed into
place, so a failed run leaves nothing behind. It holds the marker of :mod:`radiolib.outputs`:
an existing folder is replaced (``overwrite``) only when it is an earlier TileSet and nothing
else, and never when it holds the mosaic or catalogue being tiled. Being a sequence of
``(tile, row)`` a TileSet serves as a map-style ``torch.utils.data.Dataset`` as it is (torch
is not imported).
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

from radiolib.errors import ConfigError, DataError
from radiolib.outputs import (
    OutputError,
    check_folder,
    check_replaceable,
    listed_files,
    write_marker,
)

__all__ = ["INDEX_COLUMNS", "STORAGES", "TileSet", "TileSetExistsError", "TileSetWriter",
           "TileViews"]

TILES, INDEX, FIELDS, PIXELS = "tiles.npy", "index.csv", "fields.json", "pixels"
INDEX_COLUMNS = ("tile", "field", "x0", "y0", "x1", "y1", "ra", "dec", "nan_fraction")
FORMAT = "radiolib.tileset"
#: How tiles are stored: views of each field's pixels, or one (N, S, S) array of copies.
STORAGES = ("pixels", "tiles")


class TileSetExistsError(OutputError):
    """The output folder of a tiling is in the way (exists, or cannot be replaced).

    It exists (pass ``overwrite=True`` to replace it), or it holds more than a TileSet, or an
    input: then it is never replaced.
    """


def _legacy_files(folder: Path) -> list[str] | None:
    """Return the files of a TileSet written before output markers existed (None: not one)."""
    try:
        meta = json.loads((folder / FIELDS).read_text())
        if meta.get("format") != FORMAT:
            return None
        stored = [TILES] if meta.get("storage", "tiles") == "tiles" else \
            [f["pixels"] for f in meta["fields"].values()]
    except (OSError, ValueError, AttributeError, KeyError, TypeError):
        return None
    return [INDEX, FIELDS, *stored]


def _npy_header(shape: tuple[int, ...]) -> bytes:
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        buf, {"descr": "<f4", "fortran_order": False, "shape": tuple(int(v) for v in shape)})
    return buf.getvalue()


class _NpyAppender:
    """Append rows of a little-endian float32 ``.npy`` file with plain writes.

    The header is written first (with room to grow) and rewritten with the final first axis at
    `close`: unlike writing through ``open_memmap``, the written pages never count in the
    process's resident memory and no file page is faulted in twice.
    """

    def __init__(self, path: Path, row_shape: tuple[int, ...]):
        self.path, self.row_shape, self.n = path, tuple(row_shape), 0
        self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        self._header = _npy_header((0, *self.row_shape))
        self._write(memoryview(self._header))

    def _write(self, buffer: memoryview) -> None:
        while buffer.nbytes:
            buffer = buffer[os.write(self._fd, buffer):]

    def append(self, rows: np.ndarray) -> None:
        """Append one row (``row_shape``) or a batch (k, ``*row_shape``)."""
        rows = np.ascontiguousarray(rows, dtype="<f4")
        if rows.shape[-len(self.row_shape):] != self.row_shape:
            raise ValueError(f"rows must be {self.row_shape}, got {rows.shape}")
        self._write(memoryview(rows).cast("B"))
        self.n += 1 if rows.ndim == len(self.row_shape) else len(rows)

    def close(self) -> None:
        """Rewrite the header with the number of rows and close (no fsync: a derived cache)."""
        if self._fd is None:
            return
        header = _npy_header((self.n, *self.row_shape))
        if len(header) != len(self._header):  # cannot happen: numpy pads for growth
            raise RuntimeError("npy header length changed")
        os.pwrite(self._fd, header, 0)
        os.close(self._fd)
        self._fd = None


class TileSetWriter:
    """Append tiles and field records to a temporary folder; `commit` renames it into place.

    With ``storage="tiles"``, `write` appends tile copies to ``tiles.npy``; with
    ``storage="pixels"``, `pixels` opens a field's image file and `add_views` counts the tiles
    that are boxes of it. ``inputs`` (the mosaics and catalogues) may not lie in ``out_dir``.
    """

    def __init__(self, out_dir: str | os.PathLike, *, size: int, meta: dict,
                 overwrite: bool = False, storage: str = "tiles", inputs=()):
        if storage not in STORAGES:
            raise ValueError(f"storage must be one of {STORAGES}, got {storage!r}")
        self.out_dir, self.size, self.storage = Path(out_dir), int(size), storage
        self.meta = {**meta, "storage": storage}
        here = Path.cwd()
        if self.out_dir.resolve() in (here, *here.parents):
            raise ConfigError(f"{self.out_dir} is the current folder or holds it, so it cannot be "
                              "replaced by a TileSet; name a new folder, e.g. --out tiles")
        self.inputs = [str(Path(p).resolve()) for p in inputs]
        try:
            check_folder(self.out_dir, "tile", overwrite=overwrite, inputs=self.inputs,
                         legacy=_legacy_files, hint="pass --overwrite (overwrite=True)")
        except OutputError as exc:
            raise TileSetExistsError(str(exc)) from None
        self.out_dir.parent.mkdir(parents=True, exist_ok=True)
        self.tmp = Path(tempfile.mkdtemp(prefix=f".{self.out_dir.name}.tmp-",
                                         dir=self.out_dir.parent))
        self.n, self.fields, self._tables, self._files = 0, {}, [], []
        self._tiles = None
        if storage == "tiles":
            self._tiles = self._open(TILES, (self.size, self.size))
        else:
            (self.tmp / PIXELS).mkdir()

    def _open(self, name: str, row_shape: tuple[int, ...]) -> _NpyAppender:
        appender = _NpyAppender(self.tmp / name, row_shape)
        self._files.append(appender)
        return appender

    def write(self, tiles: np.ndarray) -> None:
        """Append one tile (S, S) or a batch (k, S, S) as copies (storage ``"tiles"``)."""
        if self._tiles is None:
            raise ValueError("this TileSet stores field pixels, not tile copies")
        tiles = np.asarray(tiles)
        if tiles.shape[-2:] != (self.size, self.size):
            raise ValueError(f"tiles must be {self.size}x{self.size}, got {tiles.shape}")
        self._tiles.append(tiles)
        self.n += 1 if tiles.ndim == 2 else len(tiles)

    def pixels(self, width: int) -> tuple[str, _NpyAppender]:
        """Open the next field's pixel file (rows of ``width``); return its relative path."""
        if self.storage != "pixels":
            raise ValueError("this TileSet stores tile copies, not field pixels")
        name = f"{PIXELS}/{len(self.fields):03d}.npy"
        return name, self._open(name, (int(width),))

    def add_views(self, k: int) -> None:
        """Count ``k`` more tiles stored as boxes of the last field's pixels."""
        self.n += int(k)

    def add_field(self, name: str, info: dict, table: pd.DataFrame) -> None:
        """Record a field (``info`` goes to fields.json) and the index rows of its tiles."""
        if name in self.fields:
            raise ValueError(f"field {name!r} was already added")
        self.fields[name] = {"name": name, **info}
        self._tables.append(table)

    def commit(self) -> Path:
        """Finish the files and rename the folder to ``out_dir`` (replacing an old one)."""
        for appender in self._files:
            appender.close()
        index = pd.concat(self._tables, ignore_index=True) if self._tables else \
            pd.DataFrame(columns=list(INDEX_COLUMNS))
        if len(index) != self.n:
            raise RuntimeError(f"{len(index)} index rows for {self.n} tiles")
        index.to_csv(self.tmp / INDEX, index=False)
        meta = {"format": FORMAT, "version": 2, **self.meta, "tile_size": self.size,
                "n_tiles": self.n, "n_skipped": sum(f["n_skipped"] for f in self.fields.values()),
                "fields": self.fields}
        (self.tmp / FIELDS).write_text(json.dumps(meta, indent=1, allow_nan=False))
        write_marker(self.tmp, "tile", listed_files(self.tmp), inputs=self.inputs)
        self.tmp.chmod(0o755)  # mkdtemp made it private
        old = None
        if self.out_dir.exists():  # checked again: renamed onto an empty folder of a unique name
            if any(self.out_dir.iterdir()):
                try:
                    check_replaceable(self.out_dir, "tile", inputs=self.inputs,
                                      legacy=_legacy_files)
                except OutputError as exc:
                    raise TileSetExistsError(str(exc)) from None
            old = Path(tempfile.mkdtemp(prefix=f".{self.out_dir.name}.old-",
                                        dir=self.out_dir.parent))
            try:
                os.replace(self.out_dir, old)
            except BaseException:  # e.g. out_dir is a file: leave no stray folder
                old.rmdir()
                raise
        try:
            os.replace(self.tmp, self.out_dir)
        except BaseException:  # put the old output back
            if old is not None:
                os.replace(old, self.out_dir)
            raise
        self._files = []
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
        return self.out_dir

    def abort(self) -> None:
        """Close the files and remove the temporary folder."""
        for appender in self._files:
            appender.close()
        self._files = []
        shutil.rmtree(self.tmp, ignore_errors=True)

    def __enter__(self) -> TileSetWriter:
        return self

    def __exit__(self, exc_type, *exc) -> None:
        if exc_type is not None or self.tmp.exists():
            self.abort()


class TileViews:
    """Tiles (N, S, S) float32 as boxes of memory-mapped field images, indexed like an array.

    ``views[i]`` is a read-only view of the field's pixels; a slice, an integer array or a
    boolean mask gives a stacked copy; ``np.asarray(views)`` reads them all.
    """

    dtype = np.dtype(np.float32)
    ndim = 3

    def __init__(self, planes: list[np.ndarray], plane: np.ndarray, y0: np.ndarray,
                 x0: np.ndarray, size: int):
        self._planes, self._plane = planes, np.asarray(plane, np.int64)
        self._y0, self._x0 = np.asarray(y0, np.int64), np.asarray(x0, np.int64)
        self.size = int(size)

    @property
    def shape(self) -> tuple[int, int, int]:
        """(N, S, S), as for the array of copies."""
        return (len(self._plane), self.size, self.size)

    @property
    def nbytes(self) -> int:
        """Bytes of all tiles as copies (the stored bytes are fewer where boxes overlap)."""
        return len(self._plane) * self.size * self.size * self.dtype.itemsize

    def __len__(self) -> int:
        return len(self._plane)

    def _one(self, i: int) -> np.ndarray:
        y0, x0, s = self._y0[i], self._x0[i], self.size
        return self._planes[self._plane[i]][y0 : y0 + s, x0 : x0 + s]

    def __getitem__(self, key):
        if isinstance(key, tuple):
            first, rest = key[0], key[1:]
            picked = self[first]
            return picked[rest] if np.ndim(picked) == 2 else picked[(slice(None), *rest)]
        if isinstance(key, (int, np.integer)):
            return self._one(range(len(self))[key])
        picked = np.arange(len(self))[key]
        out = np.empty((len(picked), self.size, self.size), np.float32)
        for j, i in enumerate(picked):
            np.copyto(out[j], self._one(i))
        return out

    def __iter__(self):
        return (self._one(i) for i in range(len(self)))

    def __array__(self, dtype=None, copy=None):
        out = self[:]
        return out if dtype is None else out.astype(dtype, copy=False)

    def __repr__(self) -> str:
        return f"TileViews(shape={self.shape}, planes={len(self._planes)})"


class TileSet:
    """Tiles on disk: ``len``, ``ts[i] -> (tile (S, S) float32, row dict)``, boxes, WCS, stats.

    Open with `TileSet.open`. ``transform`` (e.g. a per-field scaling) is applied to each tile
    returned by ``__getitem__``; ``tiles`` reads like the (N, S, S) array itself.
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
        missing = [n for n in (INDEX, FIELDS) if not (path / n).is_file()]
        if not missing:
            meta = json.loads((path / FIELDS).read_text())
            files = [TILES] if meta.get("storage", "tiles") == "tiles" else \
                [f["pixels"] for f in meta["fields"].values()]
            missing = [n for n in files if not (path / n).is_file()]
        if missing:
            raise DataError(f"{path}: not a TileSet (missing {', '.join(missing)}); "
                            "write one with `radiolib tile`")
        return cls(path, transform=transform)

    @property
    def storage(self) -> str:
        """``"pixels"`` (tiles are boxes of each field's stored image) or ``"tiles"`` (copies)."""
        return self.meta.get("storage", "tiles")  # version-1 sets stored copies

    @property
    def tiles(self) -> np.ndarray | TileViews:
        """The tiles, float32 (N, S, S), memory-mapped read-only (a `TileViews` for pixels)."""
        if self._tiles is None:
            if self.storage == "tiles":
                self._tiles = np.load(self.path / TILES, mmap_mode="r")
            else:
                names = list(self.fields)
                planes = [np.load(self.path / self.fields[n]["pixels"], mmap_mode="r")
                          for n in names]
                plane = self.index["field"].map({n: k for k, n in enumerate(names)})
                self._tiles = TileViews(planes, plane.to_numpy(np.int64),
                                        self.index["y0"].to_numpy(), self.index["x0"].to_numpy(),
                                        self.tile_size)
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
        tile = np.array(self.tiles[i], dtype=np.float32)  # a writable copy
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
