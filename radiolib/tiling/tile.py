"""Tile FITS mosaics into a `TileSet`: hulk, MGCLS and banner modes, streamed in row chunks.

Grid modes (hulk, MGCLS) read the mosaic once, in chunks of rows, and store it once in the
TileSet (as little-endian float32): a tile is a view of its box, so overlapping tiles cost
no copy and no disk. Per-column NaN counts, prefix-summed between the boxes' row edges, give
every box's NaN fraction exactly. Banner boxes are cut, resized and stored as copies. Peak
memory is a chunk of rows (≤ 8 MB) plus small tables, whatever the mosaic size.
"""

from __future__ import annotations

import os
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from radiolib import __version__
from radiolib.capacity import check_capacity
from radiolib.errors import ConfigError
from radiolib.io import Image, read_fits
from radiolib.scaling import resize

from ._reader import MosaicReader
from .boxes import count_in_boxes, hulk_boxes, mgcls_boxes
from .catalogue import banner_boxes_from_catalogue, catalogue_pixels
from .stats import field_statistics
from .tileset import INDEX_COLUMNS, TileSet, TileSetWriter

__all__ = ["DEFAULT_NAN_MAX", "MODES", "tile_fields", "tile_fits"]

MODES = ("banner", "hulk", "mgcls")
#: NaN fraction above which a tile is skipped, per mode; MGCLS crops with any NaN are skipped
#: (our choice: Lastufka et al. do not discuss blank pixels).
DEFAULT_NAN_MAX = {"banner": 0.5, "hulk": 0.5, "mgcls": 0.0}

Labels = Callable[[np.ndarray], Mapping | pd.DataFrame] | Mapping | pd.DataFrame | None


def _tile_grid(reader: MosaicReader, boxes: np.ndarray, writer: TileSetWriter, nan_max: float,
               *, chunk_bytes: int = 8 << 20) -> tuple[np.ndarray, np.ndarray, dict]:
    """Store the field's pixels once (tiles are views of them); keep boxes with NaN ≤ nan_max.

    Rows are read once, in chunks, between consecutive box edges along y; per such row
    segment the NaN count of every column is prefix-summed and kept at the boxes' x edges
    (a table of y edges x x edges), from which each box's NaN count is four lookups. A chunk
    without NaN costs one sum.
    Returns ``keep``, the NaN fraction of every box and ``{"pixels": file}`` for fields.json.
    """
    ny, nx = reader.shape
    name, pixels = writer.pixels(nx)
    edges = np.unique(np.concatenate([[0, ny], boxes[:, 1], boxes[:, 3]]))
    x_edges = np.unique(np.concatenate([boxes[:, 0], boxes[:, 2]]))
    table = np.zeros((len(edges), len(x_edges)), np.int64)  # NaNs: rows < y edge, cols < x edge
    buffer = np.empty((max(1, min(ny, chunk_bytes // max(1, 4 * nx))), nx), np.float32)
    counts = np.zeros(nx + 1, np.int64)
    for k, (a, b) in enumerate(zip(edges[:-1], edges[1:], strict=True)):
        counts[:] = 0
        for r in range(a, b, len(buffer)):
            stop = min(b, r + len(buffer))
            rows = reader.rows(r, stop, out=buffer[: stop - r])
            pixels.append(rows)
            columns = np.add.reduce(rows, axis=0)  # NaN where a column holds a NaN (or inf - inf)
            bad = np.flatnonzero(~np.isfinite(columns))
            if bad.size:
                counts[bad + 1] += np.isnan(rows[:, bad]).sum(axis=0)
        table[k + 1] = table[k] + np.cumsum(counts)[x_edges]
    s0, s1 = np.searchsorted(edges, boxes[:, 1]), np.searchsorted(edges, boxes[:, 3])
    x0, x1 = np.searchsorted(x_edges, boxes[:, 0]), np.searchsorted(x_edges, boxes[:, 2])
    nans = table[s1, x1] - table[s1, x0] - table[s0, x1] + table[s0, x0]
    area = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    nan_fraction = nans / np.maximum(area, 1)
    keep = nan_fraction <= nan_max
    writer.add_views(int(keep.sum()))
    return keep, nan_fraction.astype(float), {"pixels": name}


def _tile_banner(reader: MosaicReader, boxes: np.ndarray, writer: TileSetWriter,
                 nan_max: float) -> tuple[np.ndarray, np.ndarray, dict]:
    """Cut each box (NaN outside the image), skip by NaN fraction, resize to S, write."""
    keep, nan_fraction = np.zeros(len(boxes), bool), np.zeros(len(boxes))
    for i, box in enumerate(boxes):
        cut = reader.box(*(int(v) for v in box))
        nan_fraction[i] = np.count_nonzero(np.isnan(cut)) / cut.size
        if nan_fraction[i] <= nan_max:
            keep[i] = True
            writer.write(resize(cut, writer.size))
    return keep, nan_fraction, {}


def _label_columns(labels: Labels, boxes: np.ndarray, keep: np.ndarray) -> pd.DataFrame:
    if labels is None:
        return pd.DataFrame(index=range(int(keep.sum())))
    if callable(labels):
        table = pd.DataFrame(labels(boxes[keep]))
    else:
        table = pd.DataFrame(labels)
        if len(table) != len(keep):
            raise ConfigError(f"labels have {len(table)} rows but the field has {len(keep)} "
                              "candidate tiles; pass a callable labels(boxes) instead")
        table = table[keep]
    if len(table) != keep.sum():
        raise ConfigError(f"labels(boxes) returned {len(table)} rows for {keep.sum()} boxes")
    if clash := set(table.columns) & set(INDEX_COLUMNS):
        raise ConfigError(f"label columns {sorted(clash)} clash with the index columns")
    for column in table.columns:  # label sets (e.g. frame labels) -> "A|B" strings for the CSV
        if len(table) and isinstance(table[column].iloc[0], (set, frozenset)):
            table[column] = ["|".join(sorted(v)) for v in table[column]]
    return table.reset_index(drop=True)


def _field_info(image: Image, boxes, keep, nan_max, stats, catalogue) -> dict:
    beam = image.beam
    return {
        "path": str(Path(image.path).resolve()) if image.path else None,
        "shape": [int(v) for v in image.shape], "unit": image.unit,
        "pixel_scale": image.pixel_scale,
        "beam": None if beam is None else {"bmaj": beam.bmaj, "bmin": beam.bmin,
                                           "bpa": beam.bpa, "origin": beam.origin},
        "wcs_header": None if image.wcs is None else image.wcs.to_header_string(relax=True),
        "catalogue": None if catalogue is None or not isinstance(catalogue, (str, os.PathLike))
        else str(Path(catalogue).resolve()),
        "n_candidates": len(boxes), "n_written": int(keep.sum()),
        "n_skipped": int(len(boxes) - keep.sum()), "nan_max": nan_max, **stats,
    }


def _check_disk(path, mode: str, shape: tuple[int, int], n_boxes: int,
                writer: TileSetWriter) -> None:
    """Refuse a field whose pixels (grid modes) or tile copies (banner) would not fit on disk."""
    if mode == "banner":
        need = {"tiles": 4 * writer.size**2 * n_boxes}
        smaller = "use a smaller --size, free some disk space or write elsewhere (--out)"
    else:
        need = {"pixels": 4 * shape[0] * shape[1]}
        smaller = "free some disk space or write the TileSet elsewhere (--out)"
    need["index"] = 200 * n_boxes  # about 200 bytes of index.csv per tile
    check_capacity(f"tiling {path} ({mode}, {n_boxes} tiles)", folder=writer.tmp, disk=need,
                   smaller=smaller)


def _one_field(path, name, mode, writer, *, size, overlap, max_overlap, factor, min_size,
               nan_max, catalogue, labels, stats_pixels) -> None:
    clock = [time.perf_counter()]
    image = read_fits(path)
    sources = None
    if mode == "banner":
        boxes, sources = banner_boxes_from_catalogue(image, catalogue, factor=factor,
                                                     min_size=min_size)
    else:
        boxes = hulk_boxes(image.shape, size, overlap) if mode == "hulk" else \
            mgcls_boxes(image.shape, size, max_overlap)
        if len(boxes) == 0:
            warnings.warn(f"{path}: the image ({image.shape[0]} x {image.shape[1]}) is smaller "
                          f"than a {size}-pixel tile: no tile", UserWarning, stacklevel=3)
    _check_disk(path, mode, image.shape, len(boxes), writer)
    first = writer.n
    with MosaicReader(image) as reader:
        tiler = _tile_banner if mode == "banner" else _tile_grid
        keep, nan_fraction, stored = tiler(reader, boxes, writer, nan_max)
        clock.append(time.perf_counter())
        stats = field_statistics(reader.sample(stats_pixels))
        clock.append(time.perf_counter())
    kept = boxes[keep]
    table = pd.DataFrame({"tile": np.arange(first, writer.n), "field": name,
                          "x0": kept[:, 0], "y0": kept[:, 1], "x1": kept[:, 2],
                          "y1": kept[:, 3], "ra": np.nan, "dec": np.nan,
                          "nan_fraction": nan_fraction[keep]})
    if image.wcs is not None and len(kept):
        cx, cy = (kept[:, 0] + kept[:, 2] - 1) / 2, (kept[:, 1] + kept[:, 3] - 1) / 2
        table["ra"], table["dec"] = image.wcs.pixel_to_world_values(cx, cy)
    if sources is not None:
        src = sources[keep].reset_index(drop=True)
        table["source"], table["source_row"] = src["source"], src["row"]
        table["source_x"], table["source_y"] = src["x"], src["y"]
        table["source_extent_pix"] = src["extent_pix"]
    elif catalogue is not None:  # grid modes: how many catalogued sources each tile holds
        points = catalogue_pixels(image, catalogue)
        table["n_sources"] = count_in_boxes(points["x"], points["y"], kept)
    table = pd.concat([table, _label_columns(labels, boxes, keep)], axis=1)
    info = {**_field_info(image, boxes, keep, nan_max, stats, catalogue), **stored}
    clock.append(time.perf_counter())
    info["seconds"] = dict(zip(("tiles", "stats", "index"), np.diff(clock).round(4).tolist(),
                               strict=True))
    writer.add_field(name, info, table)


def tile_fields(paths: Sequence[str | os.PathLike], mode: str, *, out_dir: str | os.PathLike,
                size: int = 256, overlap: float = 0.5, max_overlap: int = 10,
                factor: float = 1.5, min_size: int = 32, nan_max: float | None = None,
                catalogues: Sequence | None = None, labels: Sequence[Labels] | None = None,
                names: Sequence[str] | None = None, overwrite: bool = False,
                stats_pixels: int = 1_000_000) -> TileSet:
    """Tile several FITS fields into one `TileSet` at ``out_dir``; see `tile_fits`.

    ``catalogues``, ``labels`` and ``names`` are per path (same length); field names default
    to the file stems, made unique.
    """
    if mode not in MODES:
        raise ConfigError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
    checks = {"size >= 1": size >= 1, "0 <= overlap < 1": 0 <= overlap < 1,
              "max_overlap >= 0": max_overlap >= 0, "factor > 0": factor > 0,
              "min_size >= 1": min_size >= 1, "nan_max >= 0": nan_max is None or nan_max >= 0}
    if failed := [k for k, ok in checks.items() if not ok]:
        raise ConfigError(f"tiling parameters out of range: need {', '.join(failed)}")
    paths = [Path(p) for p in paths]
    catalogues = list(catalogues) if catalogues is not None else [None] * len(paths)
    labels = list(labels) if labels is not None else [None] * len(paths)
    if names is None:
        stems = [p.stem for p in paths]
        names = [s if stems[:i].count(s) == 0 else f"{s}-{stems[:i].count(s) + 1}"
                 for i, s in enumerate(stems)]
    if not len(catalogues) == len(labels) == len(names) == len(paths):
        raise ConfigError("catalogues, labels and names need one entry per path")
    if mode == "banner" and any(c is None for c in catalogues):
        raise ConfigError("banner mode needs a source catalogue for every field")
    nan_max = DEFAULT_NAN_MAX[mode] if nan_max is None else float(nan_max)
    params = {"size": size, "nan_max": nan_max, "overlap": overlap, "max_overlap": max_overlap,
              "factor": factor, "min_size": min_size}
    meta = {"mode": mode, "params": params, "radiolib_version": __version__}
    storage = "tiles" if mode == "banner" else "pixels"  # banner boxes are resized: copies
    inputs = [*paths, *(c for c in catalogues if isinstance(c, (str, os.PathLike)))]
    with TileSetWriter(out_dir, size=size, meta=meta, overwrite=overwrite, storage=storage,
                       inputs=inputs) as writer:
        for path, catalogue, label, name in zip(paths, catalogues, labels, names, strict=True):
            _one_field(path, name, mode, writer, size=size, overlap=overlap,
                       max_overlap=max_overlap, factor=factor, min_size=min_size,
                       nan_max=nan_max, catalogue=catalogue, labels=label,
                       stats_pixels=stats_pixels)
        return TileSet.open(writer.commit())


def tile_fits(path: str | os.PathLike, mode: str, *, out_dir: str | os.PathLike,
              size: int = 256, overlap: float = 0.5, catalogue=None,
              nan_max: float | None = None, labels: Labels = None, name: str | None = None,
              **kwargs) -> TileSet:
    """Tile one FITS mosaic into a `TileSet` written atomically at ``out_dir``.

    Parameters
    ----------
    path : path-like
        FITS image, read memory-mapped and streamed in row bands (bounded memory).
    mode : {"hulk", "mgcls", "banner"}
        Sliding windows (``size``, ``overlap``), MGCLS crops (``size``, ``max_overlap``) or
        source-centred boxes from ``catalogue`` (``factor``, ``min_size``), resized to ``size``.
    catalogue : path, Table or DataFrame, optional
        Source list; required for banner. In grid modes it adds ``n_sources`` per tile.
    nan_max : float, optional
        Tiles with a larger NaN fraction are skipped (and counted); default by mode,
        `DEFAULT_NAN_MAX`.
    labels : callable or table, optional
        ``labels(boxes) -> columns`` for the written boxes (e.g. from `radiolib.sky.truth`),
        or a table with one row per candidate box; its columns join the index.
    name : str, optional
        Field name in the index (default: the file stem).
    **kwargs
        ``max_overlap``, ``factor``, ``min_size``, ``stats_pixels``, ``overwrite`` (replace
        an earlier TileSet at ``out_dir``; a folder holding anything else, or the mosaic or
        catalogue, is refused: `radiolib.outputs`).

    Returns
    -------
    TileSet
        The written dataset, opened; ``len(ts)`` tiles written, ``ts.n_skipped`` skipped.
    """
    return tile_fields([path], mode, out_dir=out_dir, size=size, overlap=overlap,
                       nan_max=nan_max, catalogues=[catalogue], labels=[labels],
                       names=None if name is None else [name], **kwargs)
