"""Scale FITS images into arrays on disk: one ``.npy`` per input, PNG previews, ``index.csv``.

The batch step behind ``radiolib preprocess``: a bad file is reported with its reason and
skipped, the others are still written, and every file is written atomically (no partial
outputs).
"""

from __future__ import annotations

import csv
import inspect
import os
from collections.abc import Iterable
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image as PILImage

from radiolib.errors import ConfigError, RadiolibError
from radiolib.files import atomic_path
from radiolib.io import read_fits
from radiolib.scaling import SCALINGS, Scaling, get_scaling, resize

__all__ = ["Failure", "PreprocessReport", "preprocess_files", "save_preview"]

INDEX_COLUMNS = ("input", "output", "shape", "scaling", "status", "reason")


@dataclass(frozen=True)
class Failure:
    """An input that could not be preprocessed, and why."""

    path: Path
    reason: str


@dataclass
class PreprocessReport:
    """What `preprocess_files` wrote (``.npy`` paths), what failed, and where the index is."""

    written: list[Path] = field(default_factory=list)
    failed: list[Failure] = field(default_factory=list)
    index_path: Path | None = None


def save_preview(path: str | os.PathLike, array: np.ndarray) -> None:
    """Write a PNG of a scaled array in [0, 1]: (H, W) as grey, (3, H, W) as RGB, north up."""
    pixels = np.asarray(array, dtype=np.float32)
    if pixels.ndim == 3:  # channel-first; a non-RGB stack shows its first channel
        pixels = np.moveaxis(pixels, 0, -1) if pixels.shape[0] == 3 else pixels[0]
    pixels = np.flipud(np.clip(np.nan_to_num(pixels), 0.0, 1.0))  # FITS row 0 is the bottom
    PILImage.fromarray(np.round(pixels * 255).astype(np.uint8)).save(path, format="PNG")


def _build(scaling: str | Scaling, size: int | None) -> tuple[Scaling, str, bool]:
    """Return the scaling, its name, and whether it resizes to ``size`` itself."""
    if isinstance(scaling, Scaling):
        return scaling, type(scaling).__name__, False
    if size is None:
        return get_scaling(scaling), scaling, True
    if scaling in SCALINGS and "size" in inspect.signature(SCALINGS[scaling]).parameters:
        return get_scaling(scaling, size=size), scaling, True
    return get_scaling(scaling), scaling, False


def _unique_stem(path: Path, used: set[str]) -> str:
    stem, k = path.name.removesuffix(".gz").rsplit(".", 1)[0], 1
    candidate = stem
    while candidate in used:
        candidate, k = f"{stem}-{k}", k + 1
    used.add(candidate)
    return candidate


def preprocess_files(paths: Iterable[str | os.PathLike], *, scaling: str | Scaling,
                     out_dir: str | os.PathLike, preview: bool = False,
                     size: int | None = None) -> PreprocessReport:
    """Scale each FITS image and write ``<stem>.npy`` (+ ``<stem>.png``) and ``index.csv``.

    Parameters
    ----------
    paths : iterable of path-like
        FITS images.
    scaling : str or Scaling
        A name in `radiolib.scaling.SCALINGS` (e.g. ``"riggi3"``) or a scaling object.
    out_dir : path-like
        Output folder (created).
    preview : bool
        Also write PNG previews.
    size : int, optional
        Output size in pixels (riggi3 resizes itself; others are resized after scaling).

    Returns
    -------
    PreprocessReport
        Written arrays, failures with reasons, and the index path.
    """
    if size is not None and size < 1:
        raise ConfigError(f"size must be a positive number of pixels, got {size}")
    scaler, name, sized = _build(scaling, size)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    report, rows, used = PreprocessReport(), [], {"index"}
    for path in map(Path, paths):
        target = out_dir / f"{_unique_stem(path, used)}.npy"
        try:
            array = scaler(read_fits(path).data)
            if size is not None and not sized:
                array = resize(array, size)
        except (RadiolibError, ValueError, OSError) as exc:  # a bad input: skipped, reported
            report.failed.append(Failure(path, str(exc)))
            rows.append((path, "", "", name, "failed", str(exc)))
            continue
        # an error writing (read-only or full disk) stops the run: it would fail every file
        png = atomic_path(target.with_suffix(".png")) if preview else nullcontext()
        with atomic_path(target) as tmp, png as tmp_png:
            np.save(tmp, array)
            if preview:
                save_preview(tmp_png, array)
        report.written.append(target)
        rows.append((path, target, "x".join(map(str, array.shape)), name, "ok", ""))
    report.index_path = out_dir / "index.csv"
    with atomic_path(report.index_path) as tmp, open(tmp, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(INDEX_COLUMNS)
        writer.writerows(rows)
    return report
