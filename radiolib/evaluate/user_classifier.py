"""A user's own morphology classifier: fit on labelled cut-outs, save, predict new files.

``fit_classifier`` reads a CSV of ``file,label`` (FITS or PNG cut-outs), preprocesses every
image with a named recipe, trains a linear head on a backbone (frozen, or with its last blocks
fine-tuned; :func:`radiolib.evaluate.finetune_classifier`), scores a held-out validation split
and writes a model folder: ``model.pt`` (weights), ``labels.json`` (the label map),
``preprocessing.json`` (recipe and input size) and ``metrics.json``.
``predict_files`` applies a model folder to new files with the same preprocessing.

Recipes (:data:`RECIPES`):

* ``mirabest``: how MiraBest's 150x150 images were made from raw FIRST cut-outs (Porter &
  Scaife 2023): the central 150x150 pixels, pixels below 3 sigma of the background set to
  zero, then rescaled to [0, 1] (MiraBest stores 0-255). An 8-bit image (PNG, or MiraBest
  itself) is already in that form and is only cropped and divided by 255, so raw FITS and
  MiraBest images mix in one model.
* ``riggi3``: the three-channel stack of Riggi et al. Sect. 2.3 (as in pre-training).
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from astropy.io import fits
from astropy.stats import sigma_clipped_stats
from PIL import Image, UnidentifiedImageError
from torch import nn

from radiolib.errors import ConfigError, DataError
from radiolib.evaluate.backbones import load_backbone
from radiolib.evaluate.classify import class_metrics
from radiolib.evaluate.finetune import finetune_classifier
from radiolib.evaluate.splits import holdout_split
from radiolib.files import atomic_path, atomic_write
from radiolib.models import feature_extractor
from radiolib.scaling import resize, riggi3

__all__ = ["FORMAT", "RECIPES", "fit_classifier", "mirabest_recipe", "predict_files",
           "preprocess", "read_image", "read_label_csv"]

#: Version of the model folder layout; a folder of another version is refused.
FORMAT = 1
RECIPES = ("mirabest", "riggi3")
MIRABEST_CROP = 150
MIRABEST_NSIGMA = 3.0


def read_image(path: str | os.PathLike) -> np.ndarray:
    """Read a 2-D image from FITS (first HDU holding 2-D data) or PNG/JPEG (greyscale)."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    try:
        if path.suffix.lower() in (".fits", ".fit", ".fts") or path.name.endswith(".fits.gz"):
            with fits.open(path, memmap=False) as hdul:
                data = next((np.squeeze(h.data) for h in hdul if h.data is not None
                             and np.squeeze(h.data).ndim == 2), None)
            if data is None:
                raise DataError(f"{path}: no 2-D image in this FITS file")
            return np.asarray(data, np.float32)
        with Image.open(path) as image:
            return np.asarray(image.convert("L"), np.float32)
    except (OSError, UnidentifiedImageError, ValueError) as exc:
        raise DataError(f"{path}: cannot read the image ({exc})") from None


def mirabest_recipe(image: np.ndarray, *, crop: int = MIRABEST_CROP,
                    nsigma: float = MIRABEST_NSIGMA, name: str = "image") -> np.ndarray:
    """Return the central ``crop`` pixels, clipped below ``nsigma`` background sigma, in [0, 1].

    8-bit images (integer values in 0-255, as MiraBest's) are only cropped and divided by 255.
    """
    image = np.asarray(image, np.float32)
    if image.ndim != 2 or min(image.shape) < crop:
        raise DataError(f"{name}: image {image.shape} is smaller than the recipe's "
                        f"{crop}x{crop} central crop")
    y0, x0 = (image.shape[0] - crop) // 2, (image.shape[1] - crop) // 2
    cut = image[y0:y0 + crop, x0:x0 + crop]
    finite = np.isfinite(cut)
    if not finite.any():
        raise DataError(f"{name}: no finite pixel in the central {crop}x{crop}")
    if cut[finite].min() >= 0 and cut[finite].max() <= 255 and np.all(cut[finite] % 1 == 0) \
            and cut[finite].max() > 1:
        return np.where(finite, cut, 0) / 255.0
    _, median, sigma = sigma_clipped_stats(cut[finite], sigma=3.0)
    out = np.where(finite & (cut >= median + nsigma * sigma), cut, np.nan)
    if not np.isfinite(out).any():
        return np.zeros_like(cut)
    lo, hi = np.nanmin(out), np.nanmax(out)
    scaled = (out - lo) / (hi - lo) if hi > lo else np.ones_like(out)
    return np.nan_to_num(scaled, nan=0.0).astype(np.float32)


def preprocess(images: Sequence[np.ndarray], recipe: str, image_size: int, *,
               names: Sequence[str] | None = None) -> torch.Tensor:
    """Apply ``recipe`` to 2-D images and resize: (N, C, S, S) float32 (C = 1 or 3)."""
    if recipe not in RECIPES:
        raise ConfigError(f"unknown preprocessing recipe {recipe!r}; choose one of "
                          f"{', '.join(RECIPES)}")
    names = names or [f"image {i}" for i in range(len(images))]
    if recipe == "mirabest":
        cut = np.stack([mirabest_recipe(im, name=n) for im, n in zip(images, names, strict=True)])
        return torch.from_numpy(resize(cut, image_size, antialias=True)[:, None].astype(
            np.float32))
    out = []
    for im, n in zip(images, names, strict=True):
        if min(im.shape) < 8:
            raise DataError(f"{n}: image {im.shape} is too small for the riggi3 recipe")
        out.append(riggi3(size=image_size)(np.asarray(im, np.float32)))
    return torch.from_numpy(np.stack(out).astype(np.float32))


def read_label_csv(path: str | os.PathLike) -> pd.DataFrame:
    """Read ``file,label`` rows; relative files are taken from the CSV's folder.

    Errors name the CSV and the problem: missing columns, files that do not exist, one class.
    """
    path = Path(path)
    try:
        table = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (OSError, pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise DataError(f"{path}: cannot read the label CSV ({exc})") from None
    if not {"file", "label"} <= set(table.columns):
        raise DataError(f"{path}: needs columns 'file' and 'label', has {list(table.columns)}")
    if table.empty:
        raise DataError(f"{path}: no labelled files")
    table["file"] = [str(Path(f) if Path(f).is_absolute() else path.parent / f)
                     for f in table["file"]]
    missing = [f for f in table["file"] if not Path(f).is_file()]
    if missing:
        raise DataError(f"{path}: {len(missing)} listed file(s) do not exist, e.g. {missing[0]}")
    if table["label"].nunique() < 2:
        raise DataError(f"{path}: only one class ({table['label'].iloc[0]!r}); need two or more")
    return table[["file", "label"]]


def _inputs(x: torch.Tensor, in_chans: int) -> torch.Tensor:
    if x.shape[1] == in_chans:
        return x
    if x.shape[1] == 1:
        return x.expand(-1, in_chans, -1, -1).contiguous()
    raise ConfigError(f"the recipe gives {x.shape[1]} channels but the backbone takes "
                      f"{in_chans}; use a matching --recipe")


def fit_classifier(backbone: str, labels_csv: str | os.PathLike, out_dir: str | os.PathLike, *,
                   recipe: str = "mirabest", image_size: int | None = None, n_blocks: int = 0,
                   epochs: int = 30, batch_size: int = 32, val_fraction: float = 0.2,
                   seed: int = 0, device: str | None = None) -> dict:
    """Train a classifier on the labelled files and write its model folder; return metrics.

    ``backbone`` is anything :func:`radiolib.evaluate.load_backbone` reads; ``image_size``
    defaults to the backbone's. ``n_blocks = 0`` trains a head on frozen features; more
    fine-tunes the last blocks too. A seeded ``val_fraction`` of the files is held out and
    scored (precision, recall, F1 per class, as Riggi et al. Sect. 2.5).
    """
    table = read_label_csv(labels_csv)
    classes = sorted(table["label"].unique())
    y = np.array([classes.index(v) for v in table["label"]])
    model = load_backbone(backbone, in_chans=1 if recipe == "mirabest" else 3,
                          image_size=image_size or 224, device=device, seed=seed)
    size = int(image_size or model.image_size or 224)
    x = _inputs(preprocess([read_image(f) for f in table["file"]], recipe, size,
                           names=list(table["file"])), model.in_chans)
    fit, val = holdout_split(len(y), val_fraction, seed=seed)
    if len(np.unique(y[fit])) < 2:
        raise DataError(f"{labels_csv}: the training split holds one class only; label more "
                        "files of each class")
    run = finetune_classifier(model, x[fit], y[fit], x[val], y[val], n_blocks=n_blocks,
                              epochs=epochs, batch_size=min(batch_size, len(fit)), seed=seed)
    with torch.no_grad():
        dev = next(run.head.parameters()).device
        pred = torch.cat([run.head(run.model(b.to(dev))).argmax(1).cpu()
                          for b in x[val].split(256)]).numpy()
    scores = class_metrics(y[val], pred, classes)
    metrics = {"n_fit": int(len(fit)), "n_validation": int(len(val)),
               "accuracy": float(scores.loc["all", "accuracy"]),
               "per_class": scores.drop(columns="accuracy").round(4).to_dict(orient="index")}
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    state = {"format": FORMAT, "arch": run.model.name, "in_chans": run.model.in_chans,
             "image_size": size, "embed_dim": run.model.embed_dim, "n_classes": len(classes),
             "backbone": run.model.state_dict(), "head": run.head.state_dict()}
    with atomic_path(out / "model.pt") as tmp:
        torch.save(state, tmp)
    atomic_write(out / "labels.json", json.dumps(classes, indent=1) + "\n")
    atomic_write(out / "preprocessing.json", json.dumps(
        {"format": FORMAT, "recipe": recipe, "image_size": size, "backbone": str(backbone),
         "n_blocks": n_blocks, "epochs": epochs, "seed": seed}, indent=1) + "\n")
    atomic_write(out / "metrics.json", json.dumps(metrics, indent=1) + "\n")
    return metrics


def _load_model(model_dir: Path):
    try:
        prep = json.loads((model_dir / "preprocessing.json").read_text(encoding="utf-8"))
        classes = json.loads((model_dir / "labels.json").read_text(encoding="utf-8"))
        state = torch.load(model_dir / "model.pt", map_location="cpu", weights_only=True)
    except (OSError, ValueError, RuntimeError) as exc:
        raise DataError(f"{model_dir}: not a radiolib classify model folder ({exc})") from None
    if prep.get("format") != FORMAT or state.get("format") != FORMAT:
        raise DataError(f"{model_dir}: model folder of format {prep.get('format')}, this "
                        f"radiolib reads format {FORMAT}; fit the model again")
    net = feature_extractor(state["arch"], state["in_chans"], image_size=state["image_size"],
                            device="cpu")
    net.load_state_dict(state["backbone"])
    head = nn.Sequential(nn.BatchNorm1d(state["embed_dim"], affine=False),
                         nn.Linear(state["embed_dim"], state["n_classes"]))
    head.load_state_dict(state["head"])
    return net.eval(), head.eval(), classes, prep


def predict_files(model_dir: str | os.PathLike, files: Sequence[str | os.PathLike],
                  out_csv: str | os.PathLike | None = None) -> pd.DataFrame:
    """Classify ``files`` with a model folder of :func:`fit_classifier`, same preprocessing.

    Returns (and writes to ``out_csv``) ``file, label, p_<class>...``.
    """
    if not files:
        raise DataError("no files to classify")
    net, head, classes, prep = _load_model(Path(model_dir))
    names = [str(f) for f in files]
    x = _inputs(preprocess([read_image(f) for f in names], prep["recipe"], prep["image_size"],
                           names=names), net.in_chans)
    with torch.no_grad():
        proba = torch.cat([torch.softmax(head(net(b)), 1) for b in x.split(256)]).numpy()
    table = pd.DataFrame({"file": names, "label": np.asarray(classes)[proba.argmax(1)]})
    for k, c in enumerate(classes):
        table[f"p_{c}"] = proba[:, k]
    if out_csv is not None:
        atomic_write(out_csv, table.to_csv(index=False))
    return table
