"""Train, run, evaluate, save and load a detector (torchvision Mask R-CNN), on CPU or CUDA.

:func:`train_detector` runs SGD over augmented batches with a tqdm bar and returns the loss
per step; :func:`predict` gives numpy masks, labels and scores; :func:`evaluate_detector`
sums the Sect. 4.3 counts over a test sample; :func:`save_detector` writes a checkpoint
atomically (with the config, the classes and a format tag) that :func:`load_detector` checks;
:func:`train_run` reads a dataset in the authors' JSON format, trains and saves a run folder
(``radiolib detect train``).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from tqdm.auto import tqdm

from radiolib.detect.config import DetectConfig, load_detect_config
from radiolib.detect.data import DetectionImage, to_tensors
from radiolib.detect.jsonset import json_files, read_json_dataset
from radiolib.detect.metrics import image_counts, scores
from radiolib.detect.model import CLASS_NAMES, build_detector, recalibrate_norms
from radiolib.errors import ConfigError, DataError
from radiolib.files import atomic_path, atomic_write
from radiolib.models import select_device
from radiolib.outputs import check_folder, check_replaceable, clear_folder, write_marker

__all__ = ["FORMAT", "RUN_COMMAND", "evaluate_detector", "load_detector", "predict",
           "resolve_device", "save_detector", "train_detector", "train_run"]

#: Checkpoint format tag; a checkpoint with another is refused.
FORMAT = "radiolib.detect/1"
#: The command named in a run folder's output marker (:mod:`radiolib.outputs`).
RUN_COMMAND = "detect train"


_CALIBRATION = 32  # training images whose activations set the frozen batch-norm statistics

def resolve_device(device: str | torch.device | None) -> torch.device:
    """``device``, or CUDA when present, else the CPU."""
    if device is None or device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def train_detector(model, images: Sequence[DetectionImage], config: DetectConfig, *,
                   steps: int | None = None, seed: int = 0, progress: bool = True) -> pd.DataFrame:
    """Train ``model`` in place; ``steps`` batches (default: ``config.epochs`` epochs).

    Batches of ``config.batch_size`` images in a seeded random order, each augmented
    (:func:`radiolib.detect.data.to_tensors`). Returns one row per step: step, epoch, loss.
    """
    if not images:
        raise DataError("no training images: the training sample is empty")
    device = next(model.parameters()).device
    if config.recalibrate_norms:  # frozen statistics from the training images (see config)
        calib, _ = to_tensors(list(images[:_CALIBRATION]), with_targets=False)
        recalibrate_norms(model.backbone.body, torch.stack(calib).to(device))
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.SGD(params, lr=config.lr, momentum=config.momentum,
                          weight_decay=config.weight_decay)
    warm = max(1, config.warmup_steps)  # linear from lr / 1000 to lr, as torchvision's recipe
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda i: 1.0 if i >= warm else 0.001 + (1 - 0.001) * i / warm)
    per_epoch = -(-len(images) // config.batch_size)
    total = steps if steps is not None else config.epochs * per_epoch
    rng = np.random.default_rng(seed)
    torch.manual_seed(seed)
    model.train()
    rows, order = [], np.zeros(0, int)
    bar = tqdm(range(total), desc="detector", unit="step", disable=not progress, leave=False)
    for step in bar:
        if len(order) < config.batch_size:
            order = np.concatenate([order, rng.permutation(len(images))])
        pick, order = order[:config.batch_size], order[config.batch_size:]
        x, targets = to_tensors([images[i] for i in pick], rng=rng, p_rot90=config.p_rot90,
                                p_flip=config.p_flip, zscale_contrast=config.zscale_contrast)
        losses = model([t.to(device) for t in x],
                       [{k: v.to(device) for k, v in t.items()} for t in targets])
        loss = sum(losses.values())
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, config.clip_grad_norm)
        opt.step()
        sched.step()
        rows.append({"step": step, "epoch": step // per_epoch, "loss": float(loss.detach())})
        bar.set_postfix(loss=f"{rows[-1]['loss']:.3f}")
    model.eval()
    return pd.DataFrame(rows)


@torch.no_grad()
def predict(model, images: Sequence[np.ndarray | DetectionImage], config: DetectConfig, *,
            batch_size: int = 8) -> list[dict]:
    """Return detections per image: ``masks`` (k, H, W) bool, ``labels`` and ``scores`` (k,).

    Images are raw pixels (or :class:`DetectionImage`), scaled as in pre-training; masks are
    the model's probabilities above ``config.mask_threshold``.
    """
    device = next(model.parameters()).device
    model.eval()
    out = []
    for i in range(0, len(images), batch_size):
        chunk = [im if isinstance(im, DetectionImage) else
                 DetectionImage(np.asarray(im, np.float32), np.zeros((0, *np.shape(im)), bool),
                                np.zeros(0, int), np.zeros(0), np.zeros(0, int))
                 for im in images[i:i + batch_size]]
        x, _ = to_tensors(chunk, with_targets=False)
        for r in model([t.to(device) for t in x]):
            out.append({"masks": (r["masks"][:, 0] >= config.mask_threshold).cpu().numpy(),
                        "labels": r["labels"].cpu().numpy(), "scores": r["scores"].cpu().numpy(),
                        "boxes": r["boxes"].cpu().numpy()})
    return out


def evaluate_detector(model, images: Sequence[DetectionImage], config: DetectConfig, *,
                      batch_size: int = 8) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Scores per class (counts, recall, precision, F1) and one row per true object.

    The object table has its image, class, SNR and the class of the detection matched to it
    (empty when missed), for completeness against SNR.
    """
    preds = predict(model, images, config, batch_size=batch_size)
    total, objects = None, []
    for k, (im, p) in enumerate(zip(images, preds, strict=True)):
        counts, matched = image_counts(im.masks, im.labels, p["masks"], p["labels"],
                                       p["scores"], score_threshold=config.score_threshold,
                                       iou_threshold=config.iou_threshold)
        total = counts if total is None else total + counts
        for cls, snr, m in zip(im.class_names, im.snr, matched, strict=True):
            objects.append({"image": k, "class": cls, "snr": snr,
                            "matched": CLASS_NAMES[m - 1] if m else ""})
    return scores(total), pd.DataFrame(objects)


def save_detector(path: str | os.PathLike, model, config: DetectConfig, *,
                  init: str = "") -> Path:
    """Write the model, its config and classes to ``path`` atomically; return ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {"format": FORMAT, "config": config.to_dict(), "classes": list(CLASS_NAMES),
             "init": str(init), "model": model.state_dict()}
    with atomic_path(path, durable=True) as tmp:
        torch.save(state, tmp)
    return path


def load_detector(path: str | os.PathLike, *, device=None):
    """Read a :func:`save_detector` checkpoint: ``(model, config)``; other files are refused."""
    path = Path(path)
    if path.is_dir():
        path = path / "detector.pt"
    if not path.is_file():
        raise DataError(f"no detector at {path}: train one with `radiolib detect train` or "
                        "notebook 08, and pass its detector.pt")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - any unreadable file gets the same advice
        raise DataError(f"{path} is not a radiolib detector checkpoint ({exc.__class__.__name__})"
                        ) from None
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        got = state.get("format") if isinstance(state, dict) else type(state).__name__
        raise DataError(f"{path}: detector format {got!r}, this radiolib reads {FORMAT!r}; "
                        "retrain the detector with this version")
    if tuple(state["classes"]) != CLASS_NAMES:
        raise DataError(f"{path}: classes {state['classes']} differ from {list(CLASS_NAMES)}; "
                        "retrain the detector with this version")
    config = load_detect_config({"method": "maskrcnn", **state["config"]})
    model = build_detector(config, None, device=resolve_device(device))
    model.load_state_dict(state["model"])
    return model.eval(), config


def train_run(data, out_dir: str | os.PathLike, *, init: str | os.PathLike | None = None,
              config: str | os.PathLike | dict = "maskrcnn_riggi", changes: dict | None = None,
              steps: int | None = None, device=None, overwrite: bool = False,
              progress: bool = True) -> tuple[Path, pd.DataFrame]:
    """Train a detector on a JSON dataset and save it in a run folder; return (detector, losses).

    ``data`` is what :func:`radiolib.detect.jsonset.json_files` reads (a folder, a JSON file or
    a list of them); ``init`` the trunk's weights (a SimCLR run or checkpoint,
    ``random:resnet18``, ``imagenet:resnet18``; None: random, seeded by the config);
    ``changes`` override keys of ``config``. Training is :func:`train_detector` (as notebook
    08's), for ``steps`` steps (default: the config's epochs). ``out_dir`` receives
    ``detector.pt`` (what ``radiolib detect --model`` loads) and ``losses.csv``; a folder
    holding anything else is refused, an earlier run is replaced only with ``overwrite``.
    """
    out = Path(out_dir)
    cfg = load_detect_config(config)
    cfg = cfg.replace(**changes) if changes else cfg
    if steps is not None and steps < 1:
        raise ConfigError(f"steps must be at least 1, got {steps}")
    where = select_device(device)  # a missing GPU is said before the data are read
    inputs = json_files(data)
    replace = check_folder(out, RUN_COMMAND, overwrite=overwrite, inputs=inputs)
    images = read_json_dataset(inputs)
    model = build_detector(cfg, init, device=where)
    losses = train_detector(model, images, cfg, steps=steps, seed=cfg.seed, progress=progress)
    if replace:  # checked again: the folder may have changed while training
        clear_folder(out, check_replaceable(out, RUN_COMMAND, inputs=inputs))
    out.mkdir(parents=True, exist_ok=True)
    path = save_detector(out / "detector.pt", model, cfg, init=str(init or "random"))
    atomic_write(out / "losses.csv", losses.to_csv(index=False))
    write_marker(out, RUN_COMMAND, ["detector.pt", "losses.csv"], init=str(init or "random"),
                 images=len(images), steps=len(losses))
    return path, losses
