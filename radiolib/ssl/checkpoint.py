"""Checkpoints holding everything needed to resume a run bit for bit (torchvision references).

A checkpoint is one ``torch.save`` dict, readable with ``torch.load(weights_only=True)``::

    format, version     "radiolib.ssl.checkpoint", 2 (1: before data and checksum)
    method, config      "simclr" | "dino", the full config as plain types (TrainConfig.to_dict)
    model               state_dict of the method module (SimCLR: backbone + projector; DINO:
                        student, teacher and the loss centre)
    optimizer, scaler   their state_dicts (the scaler's is empty when AMP is off)
    scheduler           {"step", "total_steps"}: the schedules are functions of the global step
    progress            {"epoch", "batch", "step", "world_size"}: the next batch to train on
    rng                 one entry per rank: python, numpy, torch CPU, CUDA and the augmentation
                        generator's states, as tensors and lists (no pickled objects)
    data                what the run trains on: {"fingerprint", "name", "n"} (or None), so that
                        a resume on other data is refused
    checksum            sha256 of all the above, tensors' bytes included (:func:`content_digest`)

The checksum is written at save and verified at load: a checkpoint whose bytes changed on
disk (flipped bits inside a tensor, which ``torch.load`` does not notice) is refused, as are
empty, truncated and foreign files, each with one line saying what is wrong.

Writes are atomic and durable (:func:`radiolib.files.atomic_path`): the file is written beside
its destination, flushed to disk and renamed over it, so a run killed while saving leaves the
previous checkpoint. This module is the format only: :mod:`radiolib.ssl.registry` builds the
method a checkpoint holds, :mod:`radiolib.ssl.train` writes them.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import random
from pathlib import Path
from typing import Any

import numpy as np
import torch

from radiolib.errors import ConfigError, DataError
from radiolib.files import atomic_path
from radiolib.ssl.config import load_config

__all__ = ["FORMAT", "capture_rng", "content_digest", "load_checkpoint", "restore_rng",
           "save_checkpoint"]

FORMAT, VERSION = "radiolib.ssl.checkpoint", 2
_READABLE = (1, 2)  # version 1 files (no checksum) still load, unverified


def _feed(digest, obj) -> None:
    """Add ``obj`` to ``digest``: a tensor by dtype, shape and bytes, containers item by item."""
    if isinstance(obj, torch.Tensor):
        t = obj.detach().cpu().contiguous()
        digest.update(f"T{t.dtype}{tuple(t.shape)}|".encode())
        digest.update(memoryview(t.reshape(-1).view(torch.uint8).numpy()))
    elif isinstance(obj, dict):
        digest.update(f"D{len(obj)}|".encode())
        for key, value in obj.items():
            _feed(digest, key)
            _feed(digest, value)
    elif isinstance(obj, (list, tuple)):
        digest.update(f"{type(obj).__name__[0]}{len(obj)}|".encode())
        for value in obj:
            _feed(digest, value)
    else:
        digest.update(f"{type(obj).__name__}:{obj!r}|".encode())


def content_digest(state: dict) -> str:
    """Hex sha256 of a checkpoint's content (every entry but ``checksum``, tensors' bytes too)."""
    digest = hashlib.sha256()
    _feed(digest, {k: v for k, v in state.items() if k != "checksum"})
    return digest.hexdigest()


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
                    rng: list[dict] | None = None, data: dict | None = None) -> Path:
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
    data : dict, optional
        The data set's ``fingerprint``, ``name`` and size ``n``
        (:func:`radiolib.ssl.data.describe_data`).
    """
    progress = dict(progress or {"epoch": 0, "batch": 0, "step": 0, "world_size": 1})
    state = {
        "format": FORMAT, "version": VERSION, "method": config.method,
        "config": config.to_dict(), "model": model.state_dict(),
        "optimizer": optimizer.state_dict() if optimizer is not None else {},
        "scaler": scaler.state_dict() if scaler is not None else {},
        "scheduler": {"step": progress["step"], "total_steps": total_steps},
        "progress": progress, "rng": rng or [], "data": data,
    }
    state["checksum"] = content_digest(state)
    with atomic_path(path, durable=True) as tmp, open(tmp, "wb") as f:
        torch.save(state, f)
    return Path(path)


def _read(path: Path, map_location) -> object:
    """``torch.load`` with ``weights_only=True``; an unreadable file is one clear DataError."""
    hint = "resume from another copy, or start the run again (--overwrite)"
    if path.stat().st_size == 0:
        raise DataError(f"checkpoint {path} is empty (a copy cut short?); {hint}")
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError, ValueError, OSError, KeyError,
            AttributeError, IndexError, TypeError) as exc:
        text = str(exc)
        if "unsupported global" in text.lower():  # torch refused to build a pickled object
            raise DataError(f"{path} is not a radiolib SSL checkpoint: it holds objects other "
                            "than weights and plain data, which are never loaded") from None
        # torch's weights_only message is long: keep its reason, after "WeightsUnpickler error:"
        lines = [ln.strip() for ln in text.split("WeightsUnpickler error:")[-1].splitlines()]
        first = next((ln for ln in lines if ln), type(exc).__name__)[:120]
        raise DataError(f"checkpoint {path} cannot be read: it is truncated, corrupt or not a "
                        f"torch file ({first}); {hint}") from None


def load_checkpoint(path: str | os.PathLike, map_location: str | torch.device = "cpu"
                    ) -> dict[str, Any]:
    """Read a checkpoint with ``weights_only=True``, check its format and its checksum.

    Returns the dict described in the module docstring; ``config`` is turned back into a
    :class:`SimCLRConfig` / :class:`DINOConfig` (key ``"config"``).

    Raises
    ------
    DataError
        If the file is missing, empty, truncated, not a radiolib checkpoint, or its content
        does not match the checksum written when it was saved.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"checkpoint {path} not found")
    state = _read(path, map_location)
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise DataError(f"{path} is not a radiolib SSL checkpoint (format "
                        f"{state.get('format') if isinstance(state, dict) else None!r})")
    if state.get("version") not in _READABLE:
        raise DataError(f"{path}: checkpoint version {state.get('version')} is not supported "
                        f"(expected {VERSION})")
    if state["version"] >= 2 and state.get("checksum") != content_digest(state):
        raise DataError(f"checkpoint {path} is corrupted: its content no longer matches the "
                        "checksum written when it was saved; resume from another copy, or "
                        "start the run again (--overwrite)")
    try:
        state["config"] = load_config(state["config"])
    except (ConfigError, KeyError, TypeError) as exc:
        raise DataError(f"{path}: stored config is invalid ({exc})") from exc
    state.setdefault("data", None)
    return state
