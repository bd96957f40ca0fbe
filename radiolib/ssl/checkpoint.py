"""Checkpoints holding everything needed to resume a run bit for bit (torchvision references).

A checkpoint is one ``torch.save`` dict, readable with ``torch.load(weights_only=True)``::

    format, version     "radiolib.ssl.checkpoint", 1
    method, config      "simclr" | "dino", the full config as plain types (TrainConfig.to_dict)
    model               state_dict of the method module (SimCLR: backbone + projector; DINO:
                        student, teacher and the loss centre)
    optimizer, scaler   their state_dicts (the scaler's is empty when AMP is off)
    scheduler           {"step", "total_steps"}: the schedules are functions of the global step
    progress            {"epoch", "batch", "step", "world_size"}: the next batch to train on
    rng                 one entry per rank: python, numpy, torch CPU, CUDA and the augmentation
                        generator's states, as tensors and lists (no pickled objects)

Writes are atomic and durable (:func:`radiolib.files.atomic_path`): the file is written beside
its destination, flushed to disk and renamed over it, so a run killed while saving leaves the
previous checkpoint. This module is the format only: :mod:`radiolib.ssl.registry` builds the
method a checkpoint holds, :mod:`radiolib.ssl.train` writes them.
"""

from __future__ import annotations

import os
import random
from pathlib import Path
from typing import Any

import numpy as np
import torch

from radiolib.errors import ConfigError, DataError
from radiolib.files import atomic_path
from radiolib.ssl.config import load_config

__all__ = ["FORMAT", "capture_rng", "load_checkpoint", "restore_rng", "save_checkpoint"]

FORMAT, VERSION = "radiolib.ssl.checkpoint", 1


def capture_rng(generator: torch.Generator | None = None) -> dict[str, Any]:
    """Every random state a training step may consume, as tensors and plain lists.

    Parameters
    ----------
    generator : torch.Generator, optional
        The augmentation generator.
    """
    version, mt, gauss = random.getstate()
    np_state = np.random.get_state(legacy=False)
    return {
        "python": [version, list(mt), gauss],
        "numpy": {"key": torch.from_numpy(np_state["state"]["key"].astype(np.int64)),
                  "pos": int(np_state["state"]["pos"]), "has_gauss": int(np_state["has_gauss"]),
                  "gauss": float(np_state["gauss"])},
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
        "augment": generator.get_state() if generator is not None else None,
    }


def restore_rng(state: dict[str, Any], generator: torch.Generator | None = None) -> None:
    """Set the states captured by :func:`capture_rng` (and the augmentation generator's)."""
    version, mt, gauss = state["python"]
    random.setstate((version, tuple(mt), gauss))
    np_state = state["numpy"]
    np.random.set_state({"bit_generator": "MT19937",
                         "state": {"key": np_state["key"].numpy().astype(np.uint32),
                                   "pos": np_state["pos"]},
                         "has_gauss": np_state["has_gauss"], "gauss": np_state["gauss"]})
    torch.set_rng_state(state["torch"])
    if state["cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"][:torch.cuda.device_count()])
    if generator is not None:
        if state["augment"] is None:
            raise DataError("checkpoint holds no augmentation generator state")
        generator.set_state(state["augment"])


def save_checkpoint(path: str | os.PathLike, *, config, model: torch.nn.Module,
                    optimizer: torch.optim.Optimizer | None = None, scaler=None,
                    progress: dict[str, int] | None = None, total_steps: int | None = None,
                    rng: list[dict] | None = None) -> Path:
    """Write a checkpoint atomically and durably (temporary file, fsync, rename); return its path.

    Parameters
    ----------
    path : path-like
        Destination (its folder is created).
    config : TrainConfig
        Stored as plain types.
    model : nn.Module
        The method module (not a DDP wrapper).
    optimizer, scaler : optional
        Their ``state_dict()`` are stored.
    progress : dict
        ``epoch``, ``batch`` (next batch in that epoch), ``step`` (global), ``world_size``.
    total_steps : int
        Length of the schedules.
    rng : list of dict
        :func:`capture_rng` of every rank, in rank order.
    """
    progress = dict(progress or {"epoch": 0, "batch": 0, "step": 0, "world_size": 1})
    state = {
        "format": FORMAT, "version": VERSION, "method": config.method,
        "config": config.to_dict(), "model": model.state_dict(),
        "optimizer": optimizer.state_dict() if optimizer is not None else {},
        "scaler": scaler.state_dict() if scaler is not None else {},
        "scheduler": {"step": progress["step"], "total_steps": total_steps},
        "progress": progress, "rng": rng or [],
    }
    with atomic_path(path, durable=True) as tmp, open(tmp, "wb") as f:
        torch.save(state, f)
    return Path(path)


def load_checkpoint(path: str | os.PathLike, map_location: str | torch.device = "cpu"
                    ) -> dict[str, Any]:
    """Read a checkpoint with ``weights_only=True`` and check its format.

    Returns the dict described in the module docstring; ``config`` is turned back into a
    :class:`SimCLRConfig` / :class:`DINOConfig` (key ``"config"``).
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"checkpoint {path} not found")
    state = torch.load(path, map_location=map_location, weights_only=True)
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise DataError(f"{path} is not a radiolib SSL checkpoint (format "
                        f"{state.get('format') if isinstance(state, dict) else None!r})")
    if state.get("version") != VERSION:
        raise DataError(f"{path}: checkpoint version {state.get('version')} is not supported "
                        f"(expected {VERSION})")
    try:
        state["config"] = load_config(state["config"])
    except ConfigError as exc:
        raise DataError(f"{path}: stored config is invalid ({exc})") from exc
    return state
