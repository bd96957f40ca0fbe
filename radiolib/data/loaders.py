"""Labelled image sets of the papers' downstream tasks: MiraBest, its raw FIRST FITS, RGD, RGZ DR1.

Each loader fetches its dataset (mirror or network, hash-checked) and returns a
:class:`LabelledImages`: an ``(N, H, W)`` array, integer labels, class names, the split of
each image, a per-image metadata table and the provenance (citation, licence, checksums).
RGZ DR1 cannot be fetched: :func:`load_rgz_dr1` reads it where the user put it (its
manifest says where and in which layout) and says so when it is not there.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pandas as pd
from astropy.io import fits
from astropy.table import Table
from PIL import Image

from radiolib.data.fetch import dataset_dir, fetch
from radiolib.data.manifest import get_manifest
from radiolib.data.safe_pickle import safe_load
from radiolib.errors import ConfigError, DataError

__all__ = [
    "MIRABEST_CLASSES",
    "RGD_CLASSES",
    "RGZ_DR1_CLASSES",
    "LabelledImages",
    "load_first_fits",
    "load_mirabest",
    "load_mirabest_pngs",
    "load_rgd",
    "load_rgz_dr1",
    "parse_mirabest_code",
    "rgz_dr1_available",
]

PathLike = str | os.PathLike[str] | None

#: Classes of the MiraBest code's first digit (1, 2, 3).
MIRABEST_CLASSES = ("FRI", "FRII", "hybrid")
#: RGD class names per label set (``Label_literature`` / ``Label_CDL1``).
RGD_CLASSES = {
    "literature": ("FRI", "FRII", "Compact", "Bent"),
    "CDL1": ("FRI-Sta", "FRII", "Compact", "FRI-WAT", "FRI-NAT"),
}
#: Radio Galaxy Zoo components-peaks classes (Riggi et al. 2024 Sect. 3.1).
RGZ_DR1_CLASSES = ("1C-1P", "1C-2P", "1C-3P", "2C-2P", "2C-3P", "3C-3P")
#: Catalogue file names :func:`load_rgz_dr1` looks for in ``<data dir>/rgz_dr1/``.
RGZ_DR1_CATALOGUES = ("rgz_dr1_catalogue.csv", "rgz_dr1_catalogue.fits")
_CONFIDENCE = {"0": "confident", "1": "uncertain"}
_MORPHOLOGY = {"0": "standard", "1": "double-double", "2": "wide-angle tail", "4": "head-tail"}
_PNG_NAME = re.compile(r"^(?P<code>[1-3]\d\d)_(?P<ra>\d+\.\d+)_(?P<dec>[+-]\d+\.\d+)\.png$")
_FITS_NAME = re.compile(r"^(?P<code>[1-3]\d\d)_(?P<ra>\d+\.\d+)(?P<dec>[+-]\d+\.\d+)"
                        r"_(?P<z>\d+\.\d+)_(?P<size>\d+\.\d+)\.fits$")
_SPLIT_ORDER = ("train", "valid", "test")


@dataclass(frozen=True, eq=False)
class LabelledImages:
    """Images with labels, split, per-image metadata and provenance, as the loaders return."""

    images: np.ndarray
    labels: np.ndarray
    class_names: tuple[str, ...]
    split: np.ndarray | None
    meta: pd.DataFrame
    provenance: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self):
        n = len(self.images)
        if self.images.ndim != 3 or len(self.labels) != n or len(self.meta) != n:
            raise ValueError(f"images {self.images.shape}, labels {len(self.labels)} and meta "
                             f"{len(self.meta)} rows must describe the same N images")
        if self.split is not None and len(self.split) != n:
            raise ValueError(f"split has {len(self.split)} entries for {n} images")

    def __len__(self) -> int:
        return len(self.images)

    def counts(self) -> pd.DataFrame:
        """Return the number of images per class (rows) and split (columns), with a total."""
        names = pd.Categorical(np.asarray(self.class_names, dtype=object)[self.labels],
                               categories=list(self.class_names))
        if self.split is None:
            table = pd.DataFrame({"total": pd.Series(names).value_counts(sort=False)})
        else:
            table = pd.crosstab(names, np.asarray(self.split), dropna=False)
            order = [s for s in _SPLIT_ORDER if s in table.columns]
            table = table[order + [c for c in table.columns if c not in order]]
            table["total"] = table.sum(axis=1)
        table.index.name, table.columns.name = "class", "split"
        return table


def parse_mirabest_code(code: str) -> dict[str, Any]:
    """Decode a MiraBest class code such as ``"210"`` (class, confidence, morphology)."""
    if not re.fullmatch(r"[1-3][01]\d", code):
        raise DataError(f"not a MiraBest class code: {code!r}")
    return {
        "code": code,
        "label": int(code[0]) - 1,
        "class": MIRABEST_CLASSES[int(code[0]) - 1],
        "confidence": _CONFIDENCE[code[1]],
        "morphology": _MORPHOLOGY.get(code[2], f"unknown ({code[2]})"),
    }


def _provenance(name: str, files: list[str] | None = None) -> dict[str, Any]:
    manifest = get_manifest(name)
    entries = [f for f in manifest.files if files is None or f.path in files]
    return {
        "dataset": manifest.name,
        "title": manifest.title,
        "citation": manifest.citation,
        "licence": manifest.licence,
        "homepage": manifest.homepage,
        "files": [f.path for f in entries],
        "sha256": {f.path: f.sha256 for f in entries},
    }


def _match(pattern: re.Pattern[str], name: str) -> re.Match[str]:
    found = pattern.match(name)
    if found is None:
        raise DataError(f"unexpected file name {name!r} (expected {pattern.pattern})")
    return found


def load_mirabest(split: str = "train", *, data_dir: PathLike = None, mirror: PathLike = None,
                  progress: bool = False) -> LabelledImages:
    """Load the MiraBest batches (704 train / 88 test, 150x150 uint8) through the safe unpickler.

    ``split`` is ``"train"`` (``data_batch_*``), ``"test"`` (``test_batch``) or ``"all"``;
    labels are the batches' own (0 FRI, 1 FRII) and ``meta`` decodes each file name.
    """
    if split not in ("train", "test", "all"):
        raise ConfigError(f"split must be 'train', 'test' or 'all', got {split!r}")
    folder = fetch("mirabest", data_dir=data_dir, mirror=mirror, progress=progress) / "batches"
    info = safe_load(folder / "batches.meta")
    side = math.isqrt(int(info.get("num_vis", 22500)))
    train = sorted(folder.glob("data_batch_*"), key=lambda p: int(p.name.rsplit("_", 1)[1]))
    chosen = {"train": train, "test": [folder / "test_batch"],
              "all": [*train, folder / "test_batch"]}[split]
    images, labels, splits, rows = [], [], [], []
    for path in chosen:
        batch = safe_load(path)
        data = np.asarray(batch["data"], dtype=np.uint8).reshape(-1, side, side)
        images.append(data)
        labels.extend(int(v) for v in batch["labels"])
        splits += ["test" if path.name == "test_batch" else "train"] * len(data)
        for stored in batch["filenames"]:
            filename = Path(str(stored)).name
            found = _match(_PNG_NAME, filename)
            rows.append({"filename": filename, "batch": path.name,
                         **parse_mirabest_code(found["code"]),
                         "ra": float(found["ra"]), "dec": float(found["dec"])})
    meta = pd.DataFrame(rows).drop(columns="label")
    return LabelledImages(np.concatenate(images), np.asarray(labels, dtype=np.int64),
                          tuple(str(n) for n in info["label_names"]), np.asarray(splits),
                          meta, _provenance("mirabest", ["batches.tar.gz"]))


def load_mirabest_pngs(*, data_dir: PathLike = None, mirror: PathLike = None,
                       progress: bool = False) -> LabelledImages:
    """Load the 792 MiraBest PNGs; class, confidence and morphology come from the file name."""
    folder = fetch("mirabest", data_dir=data_dir, mirror=mirror, progress=progress) / "PNGs"
    paths = sorted(folder.glob("*.png"))
    if not paths:
        raise DataError(f"no PNG files in {folder}")
    images, rows = [], []
    for path in paths:
        with Image.open(path) as image:
            images.append(np.asarray(image.convert("L")))
        found = _match(_PNG_NAME, path.name)
        rows.append({"filename": path.name, **parse_mirabest_code(found["code"]),
                     "ra": float(found["ra"]), "dec": float(found["dec"])})
    meta = pd.DataFrame(rows)
    labels = meta.pop("label").to_numpy(dtype=np.int64)
    return LabelledImages(np.stack(images), labels, MIRABEST_CLASSES, None, meta,
                          _provenance("mirabest", ["pngs.tar.gz"]))


def load_first_fits(*, data_dir: PathLike = None, mirror: PathLike = None,
                    progress: bool = False) -> LabelledImages:
    """Load the 39 raw FIRST cut-outs behind MiraBest: float32 (39, 300, 300) Jy/beam, NaNs kept.

    Labels come from the class code in the file name; ``meta`` has ``ra``, ``dec``, ``z``,
    ``size_arcsec``, the code and the ``path`` of each FITS file (for WCS and header).
    """
    folder = fetch("mirabest_first_fits", data_dir=data_dir, mirror=mirror, progress=progress)
    images, rows = [], []
    for entry in get_manifest("mirabest_first_fits").files:
        path = folder / entry.path
        with fits.open(path, memmap=True) as hdul:
            data = np.array(hdul[0].data, dtype=np.float32)
        if data.ndim != 2:
            raise DataError(f"{path}: expected a 2-D image, got shape {data.shape}")
        images.append(data)
        found = _match(_FITS_NAME, path.name)
        rows.append({"filename": path.name, **parse_mirabest_code(found["code"]),
                     "ra": float(found["ra"]), "dec": float(found["dec"]),
                     "z": float(found["z"]), "size_arcsec": float(found["size"]),
                     "path": str(path)})
    if len({im.shape for im in images}) != 1:
        raise DataError(f"FIRST cut-outs in {folder} differ in shape")
    meta = pd.DataFrame(rows)
    labels = meta.pop("label").to_numpy(dtype=np.int64)
    return LabelledImages(np.stack(images), labels, MIRABEST_CLASSES, None, meta,
                          _provenance("mirabest_first_fits"))


def _text(value: Any) -> str:
    value = value[()] if hasattr(value, "shape") else value
    return value.decode() if isinstance(value, bytes) else str(value)


def load_rgd(split: str | None = None, labels: str = "literature", *, data_dir: PathLike = None,
             mirror: PathLike = None, progress: bool = False) -> LabelledImages:
    """Load the RadioGalaxyDataset (2158 FIRST images, 300x300 uint8) from its HDF5 file.

    ``split`` is ``None`` (all), ``"train"``, ``"valid"`` or ``"test"``; ``labels`` picks the
    label set and its split: ``"literature"`` (FRI, FRII, Compact, Bent; 1758/200/200) or
    ``"CDL1"`` (five classes, FRI split by morphology).
    """
    if labels not in RGD_CLASSES:
        raise ConfigError(f"labels must be one of {sorted(RGD_CLASSES)}, got {labels!r}")
    if split not in (None, *_SPLIT_ORDER):
        raise ConfigError(f"split must be None, 'train', 'valid' or 'test', got {split!r}")
    root = fetch("rgd", data_dir=data_dir, mirror=mirror, progress=progress)
    with h5py.File(root / "galaxy_data_h5.h5", "r") as h5:
        keys = sorted(h5, key=lambda k: int(k.rsplit("_", 1)[-1]))
        groups = [h5[k] for k in keys]
        splits = np.array([_text(g[f"Split_{labels}"]) for g in groups])
        codes = np.array([g[f"Label_{labels}"][()] for g in groups]).astype(np.int64)
        chosen = np.arange(len(keys)) if split is None else np.flatnonzero(splits == split)
        shape = groups[0]["Img"].shape
        images = np.empty((len(chosen), *shape), dtype=groups[0]["Img"].dtype)
        rows = []
        for j, i in enumerate(chosen):
            dataset = groups[i]["Img"]
            if dataset.shape != shape:
                raise DataError(f"{keys[i]}/Img has shape {dataset.shape}, expected {shape}")
            dataset.read_direct(images[j])
            attrs = dataset.attrs
            rows.append({"group": keys[i], "ra": float(attrs["RA"]), "dec": float(attrs["DEC"]),
                         "source": _text(attrs["Source"]),
                         "filepath": _text(attrs.get(f"Filepath_{labels}", "")),
                         "coord_str": _text(attrs.get("coord_str", ""))})
    return LabelledImages(images, codes[chosen], RGD_CLASSES[labels], splits[chosen],
                          pd.DataFrame(rows), _provenance("rgd"))


def _rgz_catalogue(root: Path) -> Path | None:
    return next((root / n for n in RGZ_DR1_CATALOGUES if (root / n).is_file()), None)


def rgz_dr1_available(*, data_dir: PathLike = None) -> bool:
    """Whether an RGZ DR1 catalogue is in ``<data dir>/rgz_dr1/`` (see its manifest)."""
    return _rgz_catalogue(dataset_dir("rgz_dr1", data_dir=data_dir)) is not None


def _read_cutout(path: Path) -> np.ndarray:
    """Read a 2-D float32 cut-out: FITS (first HDU with data, unit axes dropped) or PNG."""
    try:
        if path.suffix.lower() in (".fits", ".fit", ".fz") or path.name.endswith(".fits.gz"):
            with fits.open(path, memmap=False) as hdul:
                hdu = next((h for h in hdul if h.data is not None), None)
                data = None if hdu is None else np.squeeze(np.asarray(hdu.data, np.float32))
        else:
            with Image.open(path) as im:
                data = np.asarray(im.convert("F"), np.float32)
    except (OSError, ValueError) as exc:
        raise DataError(f"{path}: cannot read the cut-out ({exc})") from None
    if data is None or data.ndim != 2:
        raise DataError(f"{path}: expected a 2-D image, got "
                        f"{'no data' if data is None else data.shape}")
    return np.nan_to_num(data, nan=0.0)


def _resized(image: np.ndarray, side: int) -> np.ndarray:
    if image.shape == (side, side):
        return image
    return np.asarray(Image.fromarray(image).resize((side, side), Image.Resampling.BILINEAR))


def load_rgz_dr1(*, data_dir: PathLike = None, side: int | None = None,
                 consensus_min: float = 0.6) -> LabelledImages:
    """Load the user's RGZ DR1 cut-outs and their components-peaks classes.

    Reads ``<data dir>/rgz_dr1/`` laid out as the ``rgz_dr1`` manifest says: a catalogue
    (:data:`RGZ_DR1_CATALOGUES`, CSV or FITS table) with an ``image`` column (file under
    ``images/``, FITS or PNG) and either a ``class`` column (``"2C-3P"``...) or
    ``n_components`` and ``n_peaks`` (capped at 3); an optional ``consensus`` column keeps
    rows at or above ``consensus_min`` (the paper's 0.6, Sect. 3.1). Rows of other classes
    are dropped. Images are resized to ``side`` (default: the first image's side, an error
    if they differ). A missing folder or file is a :class:`DataError` that says what to do.
    """
    root = dataset_dir("rgz_dr1", data_dir=data_dir)
    path = _rgz_catalogue(root)
    if path is None:
        raise DataError(f"RGZ DR1 is not in {root} (no {' or '.join(RGZ_DR1_CATALOGUES)}): "
                        f"{get_manifest('rgz_dr1').instructions.strip()}")
    try:
        if path.suffix == ".csv":
            table = pd.read_csv(path)
        else:
            table = Table.read(path).to_pandas()
    except (OSError, ValueError) as exc:
        raise DataError(f"{path}: cannot read the catalogue ({exc})") from None
    if "image" not in table.columns or not ({"class"} <= set(table.columns)
                                            or {"n_components", "n_peaks"} <= set(table.columns)):
        raise DataError(f"{path}: needs an 'image' column and 'class' or 'n_components' + "
                        f"'n_peaks' columns; it has {list(table.columns)}")
    if "class" in table.columns:
        classes = table["class"].astype(str).str.strip().str.upper()
    else:
        c = table["n_components"].clip(upper=3).astype(int)
        p = table["n_peaks"].clip(upper=3).astype(int)
        classes = c.astype(str) + "C-" + p.astype(str) + "P"
    keep = classes.isin(RGZ_DR1_CLASSES).to_numpy().copy()
    if "consensus" in table.columns:
        keep &= (table["consensus"].to_numpy(float) >= consensus_min)
    table, classes = table.loc[keep].reset_index(drop=True), classes[keep].to_numpy()
    if not len(table):
        raise DataError(f"{path}: no row with one of the classes {RGZ_DR1_CLASSES}"
                        f"{f' and consensus >= {consensus_min}' if 'consensus' in table else ''}")
    images = []
    for name in table["image"].astype(str):
        file = root / "images" / name
        if not file.is_file():
            raise DataError(f"{path}: image {name!r} is not in {root / 'images'}")
        images.append(_read_cutout(file))
    size = side or images[0].shape[0]
    if side is None and any(im.shape != images[0].shape for im in images):
        raise DataError(f"{root / 'images'}: cut-outs differ in shape; pass side= to resize "
                        "them to one side")
    images = np.stack([_resized(im, size) for im in images])
    labels = np.array([RGZ_DR1_CLASSES.index(c) for c in classes], dtype=np.int64)
    meta = table.assign(**{"class": classes})
    return LabelledImages(images, labels, RGZ_DR1_CLASSES, None, meta, _provenance("rgz_dr1"))
