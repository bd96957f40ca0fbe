"""Read the authors' annotated images (one JSON file per image, one mask FITS per object).

Riggi et al. 2024 (Sect. 4.2) train on the dataset of Riggi et al. 2023, read by their
caesar-mrcnn detector. The paper does not spell out the files; the key names below are those
its detector's loader reads (github.com/SKA-INAF/caesar-mrcnn-tf2, ``mrcnn/dataset.py``).
One JSON object per image:

- ``img`` (required): the image FITS, a path relative to the JSON file's folder or absolute;
- ``telescope``: the survey's telescope (``vla``, ``atca``, ``askap``, ``meerkat`` in their
  set; ``survey`` is accepted instead, our name); ``bmaj``, ``bmin``: beam FWHM (arcsec);
  ``dx``, ``dy``: pixel sides (arcsec); ``bkg``, ``rms``: background and noise (Jy/beam);
  ``nx``, ``ny``: image size. Beam and pixel side missing from the JSON are read from the
  image header (BMAJ/BMIN, WCS) where it has them, else NaN;
- ``objs`` (required): a list, one entry per object, with ``mask`` (required: a FITS image
  of the same shape, nonzero inside the object; a path as ``img``), ``class`` (required:
  ``spurious``, ``compact``, ``extended``, ``extended-multisland`` or ``flagged``, any case;
  ``sidelobe``, the artefact class of their three-class scheme, reads as SPURIOUS),
  ``nislands`` (islands of the object; counted on the mask, 8-connected, where absent),
  ``sidelobe-mixed`` and ``sidelobe-near`` (1 when the object is blended with, or lies near,
  an imaging artefact; 0 where absent), and optionally ``name`` and ``snr``.

As the authors' loader does, an ``extended`` object with more than one island is
EXTENDED-MULTISLAND and an object with ``sidelobe-mixed`` set is FLAGGED (``relabel=False``
keeps the class as written). Anything else wrong (a file missing, not JSON, a key missing, an
unknown class, a mask of another shape or empty) is a :class:`~radiolib.errors.DataError`
naming the JSON file and what to fix: an image is never read with an object left out.
"""

from __future__ import annotations

import json
import math
import os
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from scipy import ndimage

from radiolib.detect.data import DetectionImage
from radiolib.detect.model import CLASS_NAMES
from radiolib.errors import DataError, FITSError
from radiolib.io import PixelOnlyWarning, read_fits

__all__ = ["CLASS_ALIASES", "json_files", "read_json_dataset", "read_json_image"]

#: Class names as the JSON files write them (lower case) -> ``CLASS_NAMES``.
CLASS_ALIASES = {**{c.lower(): c for c in CLASS_NAMES}, "sidelobe": "SPURIOUS"}


def json_files(source: str | os.PathLike | Sequence[str | os.PathLike]) -> list[Path]:
    """Return the JSON files of ``source``, a folder, a JSON file, a list file or several.

    A folder gives every ``*.json`` below it (sorted); a text file that is not ``.json`` lists
    one JSON path per line (relative to the list's folder; blank lines and ``#`` comments
    skipped).
    """
    if not isinstance(source, (str, os.PathLike)):
        return [p for item in source for p in json_files(item)]
    path = Path(source)
    if path.is_dir():
        found = sorted(path.rglob("*.json"))
        if not found:
            raise DataError(f"{path}: no .json file in this folder; give the folder of the "
                            "dataset's JSON files, one JSON file or a list of them")
        return found
    if not path.is_file():
        raise DataError(f"{path}: no such file or folder; give the dataset's folder, a JSON "
                        "file or a text file listing JSON files")
    if path.suffix.lower() == ".json":
        return [path]
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError:
        raise DataError(f"{path}: not a text list of JSON files (not UTF-8 text); give a "
                        "folder, a .json file or a list with one JSON path per line") from None
    files = [path.parent / line.strip() for line in lines
             if line.strip() and not line.lstrip().startswith("#")]
    if not files:
        raise DataError(f"{path}: the list names no JSON file; write one JSON path per line")
    return files


def read_json_dataset(source: str | os.PathLike | Sequence[str | os.PathLike], *,
                      relabel: bool = True) -> list[DetectionImage]:
    """Read every image of ``source`` (see :func:`json_files`) as a :class:`DetectionImage`."""
    return [read_json_image(p, relabel=relabel) for p in json_files(source)]


def _number(value, where: str, key: str) -> float:
    if value is None:
        return math.nan
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise DataError(f"{where}: {key!r} must be a number, got {value!r}; fix the JSON")
    return float(value)


def _flag(obj: dict, key: str, where: str) -> bool:
    value = obj.get(key, 0)
    if value not in (0, 1):  # True/False compare equal to 1/0
        raise DataError(f"{where}: {key!r} must be 0 or 1, got {value!r}; fix the JSON")
    return bool(value)


def _load(path: Path) -> dict:
    if not path.is_file():
        raise DataError(f"{path}: no such JSON file; fix the dataset list or restore the file")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        where = f" (line {exc.lineno}, column {exc.colno})" if hasattr(exc, "lineno") else ""
        raise DataError(f"{path}: not valid JSON{where}; fix the file or remove it from the "
                        "dataset") from None
    if not isinstance(data, dict):
        raise DataError(f"{path}: a JSON object with 'img' and 'objs' expected, got a "
                        f"{type(data).__name__}; see radiolib.detect.jsonset for the format")
    for key in ("img", "objs"):
        if key not in data:
            raise DataError(f"{path}: no {key!r} key; each image's JSON needs 'img' (the image "
                            "FITS) and 'objs' (its objects), see radiolib.detect.jsonset")
    if not isinstance(data["objs"], list):
        raise DataError(f"{path}: 'objs' must be a list of objects; fix the JSON")
    return data


def _fits_pixels(path: Path, where: str, what: str):
    if not path.is_file():
        raise DataError(f"{where}: {what} {path} not found; fix its path in the JSON (relative "
                        "to the JSON's folder) or restore the file")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", PixelOnlyWarning)  # masks need no WCS
            return read_fits(path)
    except FITSError as exc:
        raise DataError(f"{where}: {what}: {exc}") from None


def read_json_image(path: str | os.PathLike, *, relabel: bool = True) -> DetectionImage:
    """Read one image's JSON file, its image and its masks (format: the module docstring).

    ``meta`` holds ``json``, ``image``, ``survey``, ``bmaj``, ``bmin``, ``dx``, ``dy``,
    ``bkg``, ``rms`` and ``objects``: per object its ``name``, ``mask`` path, ``class`` as
    written, ``nislands``, ``sidelobe_mixed`` and ``sidelobe_near``. ``ids`` number the
    objects 1.. in file order; ``snr`` is NaN where the JSON gives none.
    """
    path = Path(path)
    data = _load(path)
    root = path.parent
    image = _fits_pixels(root / str(data["img"]), str(path), "image")
    pixels = np.array(image.data, dtype=np.float32)
    if pixels.shape[0] != pixels.shape[1]:
        raise DataError(f"{path}: image {data['img']} is {pixels.shape[1]}x{pixels.shape[0]} "
                        "px; the detector takes square images: cut it square")
    masks, labels, snr, objects = [], [], [], []
    for k, obj in enumerate(data["objs"]):
        if not isinstance(obj, dict) or "mask" not in obj or "class" not in obj:
            raise DataError(f"{path}: object {k} needs a 'mask' and a 'class'; fix the JSON")
        name = str(obj.get("name", k))
        where = f"{path}: object {name}"
        written = str(obj["class"])
        cls = CLASS_ALIASES.get(written.lower())
        if cls is None:
            raise DataError(f"{where}: unknown class {written!r}; use one of "
                            f"{', '.join(CLASS_ALIASES)} (relabel it in the JSON)")
        mask_img = _fits_pixels(root / str(obj["mask"]), where, "mask")
        mask = np.asarray(mask_img.data)
        if mask.shape != pixels.shape:
            raise DataError(f"{where}: mask {obj['mask']} is {mask.shape[1]}x{mask.shape[0]} px, "
                            f"the image {pixels.shape[1]}x{pixels.shape[0]}; masks must cover "
                            "the image pixel for pixel")
        mask = np.nan_to_num(mask) != 0
        if not mask.any():
            raise DataError(f"{where}: mask {obj['mask']} is empty; remove the object or fix "
                            "its mask")
        nislands = obj.get("nislands")
        if nislands is None:
            nislands = ndimage.label(mask, structure=np.ones((3, 3)))[1]
        elif isinstance(nislands, bool) or not isinstance(nislands, int) or nislands < 0:
            raise DataError(f"{where}: 'nislands' must be a count, got {nislands!r}; fix the "
                            "JSON")
        mixed, near = _flag(obj, "sidelobe-mixed", where), _flag(obj, "sidelobe-near", where)
        if relabel and cls == "EXTENDED" and nislands > 1:
            cls = "EXTENDED-MULTISLAND"
        if relabel and mixed:
            cls = "FLAGGED"
        masks.append(mask)
        labels.append(CLASS_NAMES.index(cls) + 1)
        snr.append(_number(obj.get("snr"), where, "snr"))
        objects.append({"name": name, "mask": str(root / str(obj["mask"])), "class": written,
                        "nislands": int(nislands), "sidelobe_mixed": mixed,
                        "sidelobe_near": near})
    beam = image.beam
    pixel = image.pixel_scale
    meta = {"json": str(path), "image": str(root / str(data["img"])),
            "survey": str(data.get("telescope", data.get("survey", ""))),
            "bmaj": _number(data.get("bmaj", beam.bmaj if beam else None), str(path), "bmaj"),
            "bmin": _number(data.get("bmin", beam.bmin if beam else None), str(path), "bmin"),
            "dx": _number(data.get("dx", pixel), str(path), "dx"),
            "dy": _number(data.get("dy", pixel), str(path), "dy"),
            "bkg": _number(data.get("bkg"), str(path), "bkg"),
            "rms": _number(data.get("rms"), str(path), "rms"),
            "objects": objects}
    n = pixels.shape[0]
    shape = (len(masks), n, n)
    return DetectionImage(
        pixels, np.array(masks, dtype=bool).reshape(shape), np.array(labels, dtype=np.int64),
        np.array(snr, dtype=float), np.arange(1, len(masks) + 1, dtype=np.int64),
        f"{meta['survey']}:{path.stem}" if meta["survey"] else path.stem, (0, 0, n, n), meta)
