"""Detect sources over a whole FITS mosaic: tiles, one detector pass, each source once.

:func:`detect_mosaic` reads the mosaic memory-mapped (:func:`radiolib.io.read_fits`), cuts it
into the hulk sliding windows of :mod:`radiolib.tiling` (side = the detector's input, overlap
50 %), runs the detector on batches of tiles and keeps a detection only in the tile whose
centre is nearest its mask centroid, so that a source crossing a tile border is reported
once, from the tile that sees it whole. Each detection gets its sky position (the mosaic's
WCS), box, mask area and integrated flux (pixel sum / beam area in pixels, Jy);
:func:`write_catalogue` writes it as FITS, CSV and a DS9 region file.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
from astropy.table import Table
from tqdm.auto import tqdm

from radiolib.detect.config import DetectConfig
from radiolib.detect.model import CLASS_NAMES
from radiolib.detect.train import load_detector, predict
from radiolib.errors import FITSError
from radiolib.files import atomic_path, atomic_write
from radiolib.io import read_fits
from radiolib.tiling import hulk_starts

__all__ = ["COLUMNS", "detect_mosaic", "detect_to_catalogue", "for_catalogue", "owned",
           "tile_starts", "write_catalogue"]

COLUMNS = ("id", "ra", "dec", "class", "score", "x", "y", "x0", "y0", "x1", "y1", "area_px",
           "flux_jy")


def tile_starts(n: int, size: int, overlap: float = 0.5) -> np.ndarray:
    """Window starts along an axis of ``n`` pixels (one window at 0 if ``n < size``: padded)."""
    return hulk_starts(n, size, overlap) if n >= size else np.zeros(1, np.int64)


def owned(centre: float, starts: np.ndarray, size: int, k: int) -> bool:
    """Whether window ``k`` (of ``starts``) has the centre nearest ``centre`` (ties: first)."""
    return int(np.argmin(np.abs(starts + size / 2 - centre))) == k


def for_catalogue(model, config: DetectConfig):
    """Make ``model``'s heads keep only boxes scoring above ``config.score_threshold``; return it.

    The catalogue drops the others anyway, and non-maximum suppression lets a box be removed
    only by a higher-scoring one, so the catalogue stays the same (but for a score of exactly
    the threshold) without the masks of every low-score box: most of a CPU forward pass.
    """
    model.roi_heads.score_thresh = max(config.box_score_thresh, config.score_threshold)
    return model


def detect_mosaic(path: str | os.PathLike, model, config: DetectConfig, *,
                  overlap: float = 0.5, pixel_only: bool = False, batch_size: int = 8,
                  progress: bool = True) -> pd.DataFrame:
    """Return the catalogue of detections (score >= ``config.score_threshold``) of a mosaic.

    A mosaic without a celestial WCS or a beam is refused unless ``pixel_only`` (then RA,
    Dec and flux are NaN). Columns :data:`COLUMNS`; pixels are 0-based, boxes half-open.
    """
    image = read_fits(path)
    if not pixel_only and (image.wcs is None or image.beam is None):
        what = "celestial WCS" if image.wcs is None else "beam (BMAJ/BMIN)"
        raise FITSError(f"{path}: no {what}, so detections cannot get sky positions and "
                        "fluxes; fix the header or pass --pixel-only")
    size = config.image_size
    ny, nx = image.shape
    ys, xs = tile_starts(ny, size, overlap), tile_starts(nx, size, overlap)
    jobs = [(j, i) for j in range(len(ys)) for i in range(len(xs))]
    beam_px = (image.beam.area / image.pixel_scale**2) if (image.beam and image.pixel_scale) \
        else np.nan
    rows = []
    bar = tqdm(total=len(jobs), desc="detect", unit="tile", disable=not progress, leave=False)
    for b in range(0, len(jobs), batch_size):
        batch = jobs[b:b + batch_size]
        tiles = []
        for j, i in batch:
            tile = np.full((size, size), np.nan, np.float32)
            y0, x0 = int(ys[j]), int(xs[i])
            part = np.asarray(image.data[y0:y0 + size, x0:x0 + size], np.float32)
            tile[:part.shape[0], :part.shape[1]] = part
            tiles.append(tile)
        for (j, i), tile, det in zip(batch, tiles, predict(model, tiles, config),
                                     strict=True):
            y0, x0 = int(ys[j]), int(xs[i])
            for mask, label, score in zip(det["masks"], det["labels"], det["scores"],
                                          strict=True):
                if score < config.score_threshold or not mask.any():
                    continue
                yy, xx = np.nonzero(mask)
                cy, cx = yy.mean() + y0, xx.mean() + x0
                if not (owned(cx, xs, size, i) and owned(cy, ys, size, j)):
                    continue
                flux = float(np.nansum(tile[mask])) / beam_px
                rows.append({"class": CLASS_NAMES[int(label) - 1], "score": float(score),
                             "x": float(cx), "y": float(cy), "x0": int(xx.min() + x0),
                             "y0": int(yy.min() + y0), "x1": int(xx.max() + x0 + 1),
                             "y1": int(yy.max() + y0 + 1), "area_px": int(mask.sum()),
                             "flux_jy": flux})
        bar.update(len(batch))
    bar.close()
    table = pd.DataFrame(rows, columns=[c for c in COLUMNS if c not in ("id", "ra", "dec")])
    if image.wcs is not None and len(table):
        ra, dec = image.wcs.pixel_to_world_values(table["x"].to_numpy(), table["y"].to_numpy())
    else:
        ra = dec = np.full(len(table), np.nan)
    table.insert(0, "dec", np.asarray(dec, float))
    table.insert(0, "ra", np.asarray(ra, float) % 360)
    table.insert(0, "id", np.arange(1, len(table) + 1))
    return table


def write_catalogue(table: pd.DataFrame, out_dir: str | os.PathLike,
                    stem: str = "detections") -> dict[str, Path]:
    """Write ``table`` as ``<stem>.fits``, ``<stem>.csv`` and ``<stem>.reg`` (DS9), atomically."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"fits": out / f"{stem}.fits", "csv": out / f"{stem}.csv", "reg": out / f"{stem}.reg"}
    with atomic_path(paths["fits"]) as tmp:
        Table.from_pandas(table).write(tmp, format="fits", overwrite=True)
    with atomic_path(paths["csv"]) as tmp:
        table.to_csv(tmp, index=False)
    sky = len(table) and np.isfinite(table["ra"]).all()
    lines = ["# Region file format: DS9", "global color=green", "fk5" if sky else "image"]
    for r in table.to_dict("records"):
        if sky:
            lines.append(f"point({r['ra']:.6f},{r['dec']:.6f}) # point=x "
                         f"text={{{r['class']} {r['score']:.2f}}}")
        else:  # DS9 image coordinates are 1-based
            lines.append(f"box({(r['x0'] + r['x1']) / 2 + 0.5:.1f},"
                         f"{(r['y0'] + r['y1']) / 2 + 0.5:.1f},{r['x1'] - r['x0']},"
                         f"{r['y1'] - r['y0']},0) # text={{{r['class']}}}")
    atomic_write(paths["reg"], "\n".join(lines) + "\n")
    return paths


def detect_to_catalogue(path: str | os.PathLike, detector: str | os.PathLike,
                        out_dir: str | os.PathLike, *, device=None, overlap: float = 0.5,
                        pixel_only: bool = False, progress: bool = True
                        ) -> tuple[pd.DataFrame, dict[str, Path]]:
    """Load a saved detector, run it over a mosaic and write the catalogue files (the CLI's)."""
    model, config = load_detector(detector, device=device)
    for_catalogue(model, config)
    table = detect_mosaic(path, model, config, overlap=overlap, pixel_only=pixel_only,
                          progress=progress)
    return table, write_catalogue(table, out_dir, Path(path).stem)
