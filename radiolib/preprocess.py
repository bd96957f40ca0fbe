"""Scale FITS images into arrays on disk: one ``.npy`` per input, PNG previews, ``index.csv``.

The batch step behind ``radiolib preprocess``: a bad file is reported with its reason and
skipped, the others are still written, and every file is written atomically (no partial
outputs). The output folder follows :mod:`radiolib.outputs`: a folder holding an earlier run is
replaced only with ``overwrite`` (and only if it holds nothing else), or added to with
``merge`` (the index then lists the earlier rows and the new ones; only the outputs of the
inputs processed again are replaced).
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
from radiolib.outputs import (
    OutputError,
    check_folder,
    check_replaceable,
    clear_folder,
    read_marker,
    write_marker,
)
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


def _read_index(path: Path) -> list[tuple]:
    """Return the rows of an earlier run's ``index.csv`` (without its header), or []."""
    if not path.is_file():
        return []
    with open(path, newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    if not rows or tuple(rows[0]) != INDEX_COLUMNS:
        raise OutputError(f"{path} is not the index of a `radiolib preprocess` run (its columns "
                          f"are not {', '.join(INDEX_COLUMNS)}); choose another output folder")
    return [tuple(r) for r in rows[1:]]


def _legacy_files(folder: Path) -> list[str] | None:
    """Return the files of a run written before output markers existed (from its index)."""
    try:
        rows = _read_index(folder / "index.csv")
    except (OutputError, OSError, ValueError):
        return None
    if not (folder / "index.csv").is_file():
        return None
    outputs = [Path(r[1]).name for r in rows if len(r) > 1 and r[1]]
    previews = [str(Path(n).with_suffix(".png")) for n in outputs]
    return ["index.csv", *outputs, *(n for n in previews if (folder / n).is_file())]


def _prepare(out_dir: Path, paths: list[Path], *, name: str, size: int | None, overwrite: bool,
             merge: bool) -> list[tuple]:
    """Check the output folder (see the module docstring); return the rows a merge keeps."""
    if overwrite and merge:
        raise ConfigError("use either overwrite (replace the earlier run) or merge (add to it), "
                          "not both")
    hint = "pass --merge (merge=True) to add to it or --overwrite (overwrite=True) to replace it"
    if overwrite:
        if check_folder(out_dir, "preprocess", overwrite=True, inputs=paths,
                        legacy=_legacy_files, hint=hint):
            clear_folder(out_dir, check_replaceable(out_dir, "preprocess", inputs=paths,
                                                    legacy=_legacy_files))
        return []
    if not merge or not out_dir.exists() or not any(out_dir.iterdir()):
        check_folder(out_dir, "preprocess", inputs=paths, legacy=_legacy_files, hint=hint)
        return []
    marker = read_marker(out_dir)
    if marker is None and _legacy_files(out_dir) is None:
        raise OutputError(f"cannot merge into {out_dir}: it holds no earlier `radiolib "
                          "preprocess` run (no index.csv); choose a new or empty output folder")
    if marker is not None and marker["command"] != "preprocess":
        raise OutputError(f"cannot merge into {out_dir}: it holds the output of `radiolib "
                          f"{marker['command']}`; choose another output folder")
    before = {k: (marker or {}).get(k) for k in ("scaling", "size")}
    if marker is not None and before != {"scaling": name, "size": size}:
        raise OutputError(f"cannot merge into {out_dir}: its run used scaling {before['scaling']}"
                          f" and size {before['size']}, this one {name} and {size}; use the same "
                          "settings or another output folder")
    return _read_index(out_dir / "index.csv")


def preprocess_files(paths: Iterable[str | os.PathLike], *, scaling: str | Scaling,
                     out_dir: str | os.PathLike, preview: bool = False,
                     size: int | None = None, overwrite: bool = False,
                     merge: bool = False) -> PreprocessReport:
    """Scale each FITS image and write ``<stem>.npy`` (+ ``<stem>.png``) and ``index.csv``.

    Parameters
    ----------
    paths : iterable of path-like
        FITS images.
    scaling : str or Scaling
        A name in `radiolib.scaling.SCALINGS` (e.g. ``"riggi3"``) or a scaling object.
    out_dir : path-like
        Output folder (created); a new or empty one unless ``overwrite`` or ``merge``.
    preview : bool
        Also write PNG previews.
    size : int, optional
        Output size in pixels (riggi3 resizes itself; others are resized after scaling).
    overwrite : bool
        Replace an earlier run in ``out_dir`` (refused if the folder holds anything else).
    merge : bool
        Add to an earlier run in ``out_dir`` made with the same scaling and size: an input
        processed before is written again under its earlier name (its stale preview or, if it
        now fails, its stale array removed), the index keeps the other rows; nothing else is
        removed.

    Returns
    -------
    PreprocessReport
        Written arrays, failures with reasons, and the index path.

    Raises
    ------
    OutputError
        If ``out_dir`` holds something these options may not replace or add to.
    """
    if size is not None and size < 1:
        raise ConfigError(f"size must be a positive number of pixels, got {size}")
    scaler, name, sized = _build(scaling, size)
    out_dir, paths = Path(out_dir), [Path(p) for p in paths]
    kept = _prepare(out_dir, paths, name=name, size=size, overwrite=overwrite, merge=merge)
    out_dir.mkdir(parents=True, exist_ok=True)
    earlier = {str(Path(r[0]).resolve()): Path(r[1]).name for r in kept if r[1]}
    again = {str(p.resolve()) for p in paths}
    kept = [r for r in kept if str(Path(r[0]).resolve()) not in again]
    # names taken: every earlier output and any file already there (an input processed
    # before is written again under its earlier name)
    used = {"index"} | {Path(n).stem for n in earlier.values()} | \
        {p.stem for p in out_dir.iterdir() if p.suffix in (".npy", ".png")}
    report, rows = PreprocessReport(), []
    for path in paths:
        before = earlier.get(str(path.resolve()))
        target = out_dir / (before or f"{_unique_stem(path, used)}.npy")
        stale = [target.with_suffix(".png")] if before and not preview else []
        try:
            array = scaler(read_fits(path).data)
            if size is not None and not sized:
                array = resize(array, size)
        except (RadiolibError, ValueError, OSError) as exc:  # a bad input: skipped, reported
            report.failed.append(Failure(path, str(exc)))
            rows.append((path, "", "", name, "failed", str(exc)))
            stale += [target] if before else []  # its earlier output no longer holds
        else:
            # an error writing (read-only or full disk) stops the run: it would fail every file
            png = atomic_path(target.with_suffix(".png")) if preview else nullcontext()
            with atomic_path(target) as tmp, png as tmp_png:
                np.save(tmp, array)
                if preview:
                    save_preview(tmp_png, array)
            report.written.append(target)
            rows.append((path, target, "x".join(map(str, array.shape)), name, "ok", ""))
        for old in stale:  # what an earlier run wrote for this input and this one replaced
            old.unlink(missing_ok=True)
    report.index_path = out_dir / "index.csv"
    with atomic_path(report.index_path) as tmp, open(tmp, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(INDEX_COLUMNS)
        writer.writerows([*kept, *rows])
    written = [p.name for p in report.written]
    written += [str(Path(n).with_suffix(".png")) for n in written if preview]
    write_marker(out_dir, "preprocess", ["index.csv", *written], add=merge, scaling=name,
                 size=size)
    return report
