"""One training loop for SimCLR and DINO: resumable bit for bit, DDP-ready, logged.

``train(config, dataset, out_dir=...)`` builds the method of the config (:func:`build_method`),
its optimiser (Adam for SimCLR, AdamW for DINO) and the per-step schedules, and trains for
``config.epochs``. Into ``out_dir`` it writes ``checkpoint.pt`` (everything needed to resume,
:mod:`radiolib.ssl.checkpoint`) at the end of every epoch, every ``checkpoint_every`` steps
and when stopped by ``max_steps``; ``metrics.jsonl`` (one JSON record per line: ``kind``
``"train"`` with step, epoch, loss, lr, throughput in images/s; ``"eval"`` with what the
``evaluate`` callback returned every ``eval_every`` epochs); and ``config.yaml``.

``resume=True`` continues from ``out_dir/checkpoint.pt`` (or starts if there is none): same
weights, optimiser moments, schedules, RNG states, augmentation generator and position in the
epoch, so on CPU the result is bit-identical to an uninterrupted run. ``init_from=ckpt`` starts
a new run from trained weights: Riggi et al.'s smart_hulk is SimCLR on hulk tiles, then
``train(..., init_from=hulk_dir / "checkpoint.pt")`` on banner tiles.

Under ``torchrun`` (``WORLD_SIZE`` > 1) every process calls :func:`train`; batches are
``config.batch_size`` per process, rank 0 logs and saves (:mod:`radiolib.ssl.distributed`).
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch
import yaml
from torch.utils.data import DataLoader
from tqdm.auto import tqdm

from radiolib.errors import ConfigError
from radiolib.ssl import distributed as D
from radiolib.ssl.checkpoint import capture_rng, load_checkpoint, restore_rng, save_checkpoint
from radiolib.ssl.method import SSLMethod

__all__ = ["CHECKPOINT", "METRICS", "TrainResult", "build_method", "read_metrics", "train"]

CHECKPOINT, METRICS = "checkpoint.pt", "metrics.jsonl"
Evaluate = Callable[[SSLMethod, int], dict]


@dataclass
class TrainResult:
    """What :func:`train` leaves behind (on every rank; files are written by rank 0)."""

    method: SSLMethod
    out_dir: Path
    checkpoint: Path
    metrics: Path
    step: int
    epoch: float
    finished: bool
    loss: float | None


def build_method(config) -> SSLMethod:
    """Build the method of a config: :class:`~radiolib.ssl.simclr.SimCLR` or ``DINO``."""
    from radiolib.ssl.dino import DINO
    from radiolib.ssl.simclr import SimCLR

    methods = {"dino": DINO, "simclr": SimCLR}
    if getattr(config, "method", None) not in methods:
        raise ConfigError(f"no training method for {type(config).__name__}")
    return methods[config.method](config)


def read_metrics(path) -> pd.DataFrame:
    """Read ``metrics.jsonl`` (or a run folder holding one) into a DataFrame, one row a record.

    Columns: ``kind`` (start / train / eval), ``step``, ``epoch`` (float), ``loss``, ``lr``,
    ``throughput`` (images/s) and whatever the evaluation callback returned.
    """
    path = Path(path)
    path = path / METRICS if path.is_dir() else path
    records = [json.loads(ln) for ln in path.read_text().splitlines() if ln.strip()]
    return pd.DataFrame.from_records(records)


def _collate(items: list) -> torch.Tensor:
    """Stack images (C, S, S) -- or the first element of (image, ...) items -- to (B, C, S, S)."""
    xs = [torch.as_tensor(it[0] if isinstance(it, (tuple, list)) else it) for it in items]
    x = torch.stack(xs).float()
    return x[:, None] if x.ndim == 3 else x


def _seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def _check_resumable(stored, config) -> None:
    if stored.method != config.method:
        raise ConfigError(f"checkpoint is a {stored.method} run, the config is {config.method}")
    changed = {k: v for k, v in stored.diff(config).items() if k not in config.RESUMABLE}
    if changed:
        lines = ", ".join(f"{k}: {a!r} -> {b!r}" for k, (a, b) in changed.items())
        raise ConfigError(f"cannot resume: config differs from the checkpoint's in {lines}; only "
                          f"{', '.join(sorted(config.RESUMABLE))} may change")


def _truncate_metrics(path: Path, step: int) -> None:
    """Drop records written after ``step`` (by a run killed after its last checkpoint)."""
    if not path.is_file():
        return
    keep = []
    for line in path.read_text().splitlines():
        try:
            if json.loads(line).get("step", 0) <= step:
                keep.append(line)
        except ValueError:  # a line cut short when the run was killed
            continue
    path.write_text("".join(line + "\n" for line in keep))


def _log(path: Path, info: D.DistInfo, record: dict) -> None:
    if info.is_main:
        with open(path, "a", encoding="utf-8") as f:
            f.write(json.dumps(record) + "\n")


def train(config, dataset, *, out_dir, resume: bool = False, init_from=None,
          max_steps: int | None = None, device=None, log_every: int | None = None,
          evaluate: Evaluate | None = None, progress: bool = True) -> TrainResult:
    """Train ``config``'s method on ``dataset``; see the module docstring.

    Parameters
    ----------
    config : SimCLRConfig or DINOConfig
    dataset : Dataset or TileSet
        Items are images (C, S, S) in [0, 1] (e.g. :func:`radiolib.ssl.data.dataset_for`); a
        TileSet is passed through ``dataset_for(config, tileset)`` first.
    out_dir : path-like
        Run folder: checkpoint.pt, metrics.jsonl, config.yaml.
    resume : bool
        Continue from ``out_dir/checkpoint.pt`` when it exists.
    init_from : path-like, optional
        Checkpoint whose weights start a new run (smart_hulk); excludes ``resume``.
    max_steps : int, optional
        Stop (and checkpoint) once the global step count reaches it.
    device : str or torch.device, optional
        Default CUDA when available (GPU ``LOCAL_RANK`` under torchrun), else CPU.
    log_every : int, optional
        Steps between metrics records (default ``config.log_every``).
    evaluate : callable, optional
        ``evaluate(method, epoch) -> {name: value}``, called by rank 0 every
        ``config.eval_every`` epochs, e.g. :func:`radiolib.ssl.callbacks.count_mse_callback`.
    progress : bool
        Show a tqdm bar (rank 0).

    Returns
    -------
    TrainResult
    """
    if hasattr(dataset, "tiles") and hasattr(dataset, "fields"):  # a TileSet: scale it first
        from radiolib.ssl.data import dataset_for

        dataset = dataset_for(config, dataset)
    info = D.init_distributed(device)
    try:
        return _train(config, dataset, Path(out_dir), info, resume, init_from, max_steps,
                      log_every or config.log_every, evaluate, progress)
    finally:
        D.cleanup(info)


def _train(config, dataset, out_dir, info, resume, init_from, max_steps, log_every, evaluate,
           progress) -> TrainResult:
    if resume and init_from is not None:
        raise ConfigError("use either resume (same run) or init_from (new run), not both")
    ckpt_path, metrics_path = out_dir / CHECKPOINT, out_dir / METRICS
    state = load_checkpoint(ckpt_path) if resume and ckpt_path.is_file() else None
    if state is not None:
        _check_resumable(state["config"], config)
        if state["progress"]["world_size"] != info.world_size:
            raise ConfigError(f"checkpoint was written by {state['progress']['world_size']} "
                              f"process(es), this run has {info.world_size}")
    dev = info.device
    _seed_everything(config.seed)
    method = build_method(config).to(dev)
    if init_from is not None:
        source = load_checkpoint(init_from)
        if source["config"].method != config.method:
            raise ConfigError(f"init_from {init_from} is a {source['config'].method} run")
        try:
            method.load_state_dict(source["model"])
        except RuntimeError as exc:
            raise ConfigError(f"init_from {init_from}: its weights do not fit this config "
                              f"({str(exc).splitlines()[0]})") from exc
    if info.distributed:
        method.distribute(dev)
    optimizer = method.configure_optimizer(info.world_size)
    scaler = torch.amp.GradScaler(dev.type, enabled=config.amp and dev.type == "cuda")
    sampler = D.ResumableSampler(dataset, num_replicas=info.world_size, rank=info.rank,
                                 seed=config.seed)
    per_epoch = len(sampler) // config.batch_size
    if per_epoch == 0:
        raise ConfigError(f"config key 'batch_size': {config.batch_size} per process x "
                          f"{info.world_size} process(es) exceeds the {len(dataset)} images")
    total = config.epochs * per_epoch
    generator = torch.Generator().manual_seed(config.seed + 1_000_003 * info.rank)
    epoch = batch_idx = step = 0
    if state is not None:
        method.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        if state["scaler"]:
            scaler.load_state_dict(state["scaler"])
        restore_rng(state["rng"][info.rank], generator)
        p = state["progress"]
        epoch, batch_idx, step = p["epoch"], p["batch"], p["step"]
        if info.is_main:
            _truncate_metrics(metrics_path, step)
    if info.is_main:
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / "config.yaml").write_text(yaml.safe_dump(config.to_dict(), sort_keys=False))
    _log(metrics_path, info, {"kind": "start", "step": step, "epoch": epoch + batch_idx / per_epoch,
                              "resumed": state is not None, "world_size": info.world_size,
                              "init_from": None if init_from is None else str(init_from),
                              "device": str(dev), "total_steps": total})
    loader = DataLoader(dataset, batch_size=config.batch_size, sampler=sampler, drop_last=True,
                        num_workers=config.num_workers, collate_fn=_collate,
                        pin_memory=dev.type == "cuda", generator=torch.Generator())

    def save() -> None:
        rng = D.gather_objects(capture_rng(generator), info)
        if info.is_main:
            save_checkpoint(ckpt_path, config=config, model=method, optimizer=optimizer,
                            scaler=scaler, total_steps=total, rng=rng,
                            progress={"epoch": epoch, "batch": batch_idx, "step": step,
                                      "world_size": info.world_size})
        D.barrier(info)  # the file is complete before any rank may read it (resume)

    bar = tqdm(total=total, initial=step, desc=config.name, unit="step", dynamic_ncols=True,
               disable=not (progress and info.is_main))
    last_loss, running, n_run, clock = None, torch.zeros((), device=dev), 0, time.perf_counter()
    stop = max_steps is not None and step >= max_steps
    while epoch < config.epochs and not stop:
        sampler.set_position(epoch, batch_idx * config.batch_size)
        method.train()
        for batch in loader if batch_idx < per_epoch else ():
            lr = method.set_schedule(optimizer, step, total, per_epoch, info.world_size)
            optimizer.zero_grad(set_to_none=True)
            loss = method.training_step(batch.to(dev, non_blocking=True), generator, epoch=epoch)
            scaler.scale(loss).backward()
            scaler.unscale_(optimizer)
            method.after_backward(epoch)
            scaler.step(optimizer)
            scaler.update()
            method.after_step(step, total)
            step, batch_idx, n_run = step + 1, batch_idx + 1, n_run + 1
            running += loss.detach()
            bar.update(1)
            stop = max_steps is not None and step >= max_steps
            if step % log_every == 0 or batch_idx == per_epoch or stop:
                last_loss = D.all_reduce_mean(running.item() / n_run, info)
                if not np.isfinite(last_loss):
                    raise FloatingPointError(f"loss is {last_loss} at step {step}; stopping")
                elapsed = time.perf_counter() - clock
                _log(metrics_path, info, {
                    "kind": "train", "step": step, "epoch": epoch + batch_idx / per_epoch,
                    "loss": last_loss, "lr": lr, "throughput": round(
                        n_run * config.batch_size * info.world_size / max(elapsed, 1e-9), 2)})
                bar.set_postfix(loss=f"{last_loss:.4g}", lr=f"{lr:.3g}")
                running.zero_()
                n_run, clock = 0, time.perf_counter()
            if stop or (config.checkpoint_every and step % config.checkpoint_every == 0):
                save()
            if stop:
                break
        if batch_idx < per_epoch:
            break
        epoch, batch_idx = epoch + 1, 0
        if evaluate is not None and config.eval_every and epoch % config.eval_every == 0 \
                and info.is_main:
            saved = capture_rng()  # the callback must not change the training's random streams
            values = evaluate(method, epoch)
            restore_rng(saved)
            method.train()
            _log(metrics_path, info, {"kind": "eval", "step": step, "epoch": epoch, **values})
        save()
        clock = time.perf_counter()
    bar.close()
    if info.distributed:  # rank 0's batch-norm statistics, as DDP uses and checkpoints them
        for buffer in method.net.buffers():
            torch.distributed.broadcast(buffer, 0)
    return TrainResult(method, out_dir, ckpt_path, metrics_path, step,
                       epoch + batch_idx / per_epoch, epoch >= config.epochs, last_loss)
