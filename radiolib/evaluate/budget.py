"""Pre-training on a budget: train once (cached), embed held-out images along the way, timed.

:func:`budget_train` runs :func:`radiolib.ssl.cache.cached_train` with an evaluation callback
(:func:`embedding_callback`) that, every ``config.eval_every`` epochs, embeds a fixed set of
evaluation images with the current backbone (DINO: the teacher's) and saves the embeddings
with the training time spent so far: wall seconds, process CPU seconds (every thread) and the
machine's load. Epoch 0 is the same architecture at its random initialisation (the seed the
run starts from), so every curve starts at the random-weights baseline. Probes are fitted
later on the saved embeddings (:mod:`radiolib.papers.pretraining_budget`): changing a probe
never retrains.

The embeddings lie beside the run folder, in ``<run folder>.emb/epoch_NNNN.npy`` with a
``.json`` of the timings each; a finished run is reused only when its config, data, evaluation
images and the training code are unchanged (its cache key, :func:`radiolib.ssl.cache.run_key`).

On a shared machine wall time depends on the other jobs, and so does CPU time (threads spin
while they wait, caches are shared): :meth:`BudgetRun.idle_seconds_per_step` estimates the
idle machine's pace from the fastest spans of the training log.
"""

from __future__ import annotations

import json
import os
import platform
import random
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from radiolib.files import atomic_path, atomic_write
from radiolib.ssl.cache import CachedRun, cached_train, fingerprint, run_dir
from radiolib.ssl.registry import build_method
from radiolib.ssl.train import CHECKPOINT, read_metrics

__all__ = ["BudgetRun", "budget_train", "cpu_model", "embedding_callback", "read_checkpoints"]

EMB_SUFFIX = ".emb"


def cpu_model() -> str:
    """Return the CPU's model name (``/proc/cpuinfo``; elsewhere the platform's processor)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


@dataclass(frozen=True)
class BudgetRun:
    """A finished budget run: the cached run and its embedding checkpoints (one row an epoch)."""

    run: CachedRun
    folder: Path
    checkpoints: pd.DataFrame
    batch_size: int

    def idle_seconds_per_step(self, quantile: float = 0.9) -> float:
        """Seconds a training step takes on an idle machine, estimated from the fast spans.

        The training log has a throughput (images/s, wall clock) every few steps; other jobs
        on a shared machine only ever slow a span down, so a high quantile of the spans'
        throughput estimates the idle one (CPU time is inflated by contention too).
        """
        spans = read_metrics(self.run.metrics).query("kind == 'train'")["throughput"]
        return self.batch_size / float(np.quantile(spans.to_numpy(float), quantile))

    def embeddings(self, epoch: int) -> np.ndarray:
        """Return the evaluation images' embeddings after ``epoch`` epochs (0: random weights)."""
        return np.load(self.folder / f"epoch_{epoch:04d}.npy")


def _save(folder: Path, epoch: int, emb: np.ndarray, info: dict) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    with atomic_path(folder / f"epoch_{epoch:04d}.npy") as tmp:
        np.save(tmp, emb)
    atomic_write(folder / f"epoch_{epoch:04d}.json", json.dumps(info) + "\n")


def read_checkpoints(folder: str | os.PathLike) -> pd.DataFrame:
    """Return the timings of the saved embeddings in ``folder``, one row an epoch, sorted."""
    rows = [json.loads(p.read_text()) for p in sorted(Path(folder).glob("epoch_*.json"))]
    cols = ["epoch", "step", "wall_seconds", "cpu_seconds", "threads", "load1"]
    return pd.DataFrame(rows, columns=cols).sort_values("epoch").reset_index(drop=True)


def embedding_callback(images: torch.Tensor, folder: str | os.PathLike, *,
                       steps_per_epoch: int, batch_size: int = 256):
    """Return ``evaluate(method, epoch)`` that saves the embeddings of ``images`` and timings.

    Training time is counted between calls (the embedding itself excluded); a run resumed
    from a checkpoint continues from the timings saved at its last epoch.
    """
    folder = Path(folder)
    done = read_checkpoints(folder) if folder.is_dir() else pd.DataFrame()
    clock = {"wall": 0.0, "cpu": 0.0} if done.empty else \
        {"wall": float(done["wall_seconds"].iloc[-1]), "cpu": float(done["cpu_seconds"].iloc[-1])}
    mark = {"wall": time.perf_counter(), "cpu": time.process_time()}

    def evaluate(method, epoch: int) -> dict:
        clock["wall"] += time.perf_counter() - mark["wall"]
        clock["cpu"] += time.process_time() - mark["cpu"]
        emb = method.feature_extractor().embed(images, batch_size=batch_size).numpy()
        info = {"epoch": epoch, "step": epoch * steps_per_epoch,
                "wall_seconds": round(clock["wall"], 3), "cpu_seconds": round(clock["cpu"], 3),
                "threads": torch.get_num_threads(), "load1": round(os.getloadavg()[0], 2)}
        _save(folder, epoch, emb, info)
        mark["wall"], mark["cpu"] = time.perf_counter(), time.process_time()
        return {k: info[k] for k in ("wall_seconds", "cpu_seconds", "load1")}

    return evaluate


def _initial_embeddings(config, images: torch.Tensor, batch_size: int) -> np.ndarray:
    """Embeddings by the run's starting weights: same seeding as :func:`radiolib.ssl.train`."""
    random.seed(config.seed)
    np.random.seed(config.seed)
    torch.manual_seed(config.seed)
    return build_method(config).feature_extractor().embed(images, batch_size=batch_size).numpy()


def budget_train(config, dataset, images: torch.Tensor, *, cache_dir: str | os.PathLike,
                 data_key: str | None = None, batch_size: int = 256,
                 progress: bool = False) -> BudgetRun:
    """Train ``config`` on ``dataset`` (cached), embedding ``images`` every ``eval_every`` epochs.

    Parameters
    ----------
    config : SimCLRConfig or DINOConfig
        ``eval_every`` (> 0) sets the checkpoints of the curve; ``epochs`` its end.
    dataset : Dataset
        The training images (in memory, e.g. :func:`radiolib.ssl.dataset_for`).
    images : Tensor, shape (N, C, S, S)
        Evaluation images, scaled as the training data.
    cache_dir : path-like
        Folder of the cached runs.
    """
    if config.eval_every < 1:
        raise ValueError("budget_train needs config.eval_every >= 1 (epochs between "
                         "embedding checkpoints)")
    data_key = fingerprint(dataset) if data_key is None else data_key
    eval_key = f"embeddings:{fingerprint(images)}"
    out = run_dir(config, data_key, cache_dir=cache_dir, eval_key=eval_key)
    folder = out.with_name(out.name + EMB_SUFFIX)
    if not (out / CHECKPOINT).is_file():  # a new run, or one killed before its first epoch
        for stale in folder.glob("epoch_*"):
            if not stale.name.startswith("epoch_0000."):
                stale.unlink()
    if not (folder / "epoch_0000.npy").is_file():
        _save(folder, 0, _initial_embeddings(config, images, batch_size),
              {"epoch": 0, "step": 0, "wall_seconds": 0.0, "cpu_seconds": 0.0,
               "threads": torch.get_num_threads(), "load1": round(os.getloadavg()[0], 2)})
    callback = embedding_callback(images, folder, batch_size=batch_size,
                                  steps_per_epoch=len(dataset) // config.batch_size)
    run = cached_train(config, dataset, cache_dir=cache_dir, data_key=data_key,
                       evaluate=callback, eval_key=eval_key, progress=progress)
    return BudgetRun(run, folder, read_checkpoints(folder), config.batch_size)
