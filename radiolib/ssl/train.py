"""One training loop for SimCLR and DINO: resumable bit for bit, DDP-ready, logged.

``train(config, dataset, out_dir=...)`` builds the method of the config
(:func:`radiolib.ssl.registry.build_method`), its optimiser and the per-step schedules, and
trains for ``config.epochs``. Into ``out_dir`` it writes ``checkpoint.pt`` (everything needed
to resume, :mod:`radiolib.ssl.checkpoint`) at the end of every epoch, every
``checkpoint_every`` steps and when stopped by ``max_steps``; ``metrics.jsonl`` (one JSON
record per line: ``kind`` ``"train"`` with step, epoch, loss, lr, throughput in images/s;
``"eval"`` with what the ``evaluate`` callback returned every ``eval_every`` epochs); and
``config.yaml``.

``resume=True`` continues from ``out_dir/checkpoint.pt``: same weights, optimiser moments,
schedules, RNG states, augmentation generator and position in the epoch, so on CPU the result
is bit-identical to an uninterrupted run. It is refused when there is no checkpoint (nothing to
resume) and when the data set differs from the one the run started on (their fingerprints,
:func:`radiolib.ssl.data.describe_data`, are stored in the checkpoint). Without ``resume`` the
run folder must be new or empty, or (``overwrite=True``) an earlier run and nothing else
(:mod:`radiolib.outputs`): a finished run is never overwritten or appended to by mistake.
``init_from=ckpt`` starts a new run from trained weights: Riggi et al.'s smart_hulk is SimCLR
on hulk tiles, then ``train(..., init_from=hulk_dir / "checkpoint.pt")`` on banner tiles.

Under ``torchrun`` (``WORLD_SIZE`` > 1) every process calls :func:`train`; batches are
``config.batch_size`` per process, rank 0 logs and saves (:mod:`radiolib.ssl.distributed`).

The loop reads as its steps: :func:`_prepare_folder` (the run folder, checked),
:func:`_resume_state` (the checkpoint to continue, checked),
:func:`_start` (seed, build, optimiser, sampler), :func:`_restore`, :func:`_open_log`, then per
epoch :func:`_train_epoch` (with :func:`_log_train` and :func:`_save`) and :func:`_evaluate`.
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

from radiolib.errors import ConfigError, DataError
from radiolib.files import atomic_write
from radiolib.outputs import check_folder, check_replaceable, clear_folder, write_marker
from radiolib.ssl import distributed as D
from radiolib.ssl.checkpoint import capture_rng, load_checkpoint, restore_rng, save_checkpoint
from radiolib.ssl.data import dataset_for, describe_data
from radiolib.ssl.method import SSLMethod
from radiolib.ssl.registry import build_method

__all__ = ["CHECKPOINT", "METRICS", "TrainResult", "read_metrics", "train"]

CHECKPOINT, METRICS, CONFIG = "checkpoint.pt", "metrics.jsonl", "config.yaml"
#: What a run folder may hold (done.json: :mod:`radiolib.ssl.cache`'s mark of a finished run).
RUN_FILES = (CHECKPOINT, METRICS, CONFIG, "done.json")
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
    atomic_write(path, "".join(line + "\n" for line in keep))


def _log(path: Path, info: D.DistInfo, record: dict) -> None:
    if info.is_main:
        with open(path, "a", encoding="utf-8") as f:
            f.write(json.dumps(record) + "\n")


def train(config, dataset, *, out_dir, resume: bool = False, overwrite: bool = False,
          init_from=None, max_steps: int | None = None, device=None,
          log_every: int | None = None, evaluate: Evaluate | None = None,
          progress: bool = True) -> TrainResult:
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
        Continue from ``out_dir/checkpoint.pt`` (refused if there is none, or if it was
        trained on another data set).
    overwrite : bool
        Replace an earlier run in ``out_dir`` (only its own files may be there). Without it
        (or ``resume``) ``out_dir`` must be new or empty.
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
        ``config.eval_every`` epochs, e.g. :func:`radiolib.evaluate.count_mse_callback`.
    progress : bool
        Show a tqdm bar (rank 0).

    Returns
    -------
    TrainResult
    """
    if hasattr(dataset, "tiles") and hasattr(dataset, "fields"):  # a TileSet: scale it first
        dataset = dataset_for(config, dataset)
    info = D.init_distributed(device)
    try:
        return _train(config, dataset, Path(out_dir), info, resume, overwrite, init_from,
                      max_steps, log_every or config.log_every, evaluate, progress)
    finally:
        D.cleanup(info)


@dataclass
class _Run:
    """What the steps of one run share: its parts, files, schedule length and position."""

    config: object
    info: D.DistInfo
    method: SSLMethod
    optimizer: torch.optim.Optimizer
    scaler: torch.amp.GradScaler
    sampler: D.ResumableSampler
    generator: torch.Generator
    out_dir: Path
    per_epoch: int
    data: dict | None = None
    epoch: int = 0
    batch_idx: int = 0
    step: int = 0
    loader: DataLoader | None = None

    @property
    def device(self) -> torch.device:
        """The device this process trains on."""
        return self.info.device

    @property
    def total(self) -> int:
        """Length of the schedules, in steps."""
        return self.config.epochs * self.per_epoch

    @property
    def position(self) -> float:
        """Epochs done, as a fraction (the ``epoch`` of log records)."""
        return self.epoch + self.batch_idx / self.per_epoch

    @property
    def checkpoint(self) -> Path:
        """The run's checkpoint file."""
        return self.out_dir / CHECKPOINT

    @property
    def metrics(self) -> Path:
        """The run's metrics log."""
        return self.out_dir / METRICS


@dataclass
class _LossMeter:
    """Sum of the losses since the last train record, and when that record was written."""

    running: torch.Tensor
    n: int = 0
    clock: float = 0.0
    last: float | None = None

    def reset(self) -> None:
        """Start a new span (after a record)."""
        self.running.zero_()
        self.n, self.clock = 0, time.perf_counter()


def _train(config, dataset, out_dir, info, resume, overwrite, init_from, max_steps, log_every,
           evaluate, progress) -> TrainResult:
    if resume and init_from is not None:
        raise ConfigError("use either resume (same run) or init_from (new run), not both")
    if resume and overwrite:
        raise ConfigError("use either resume (continue the run) or overwrite (replace it), "
                          "not both")
    data = describe_data(dataset)
    replaced = _prepare_folder(out_dir, info, resume=resume, overwrite=overwrite, data=data)
    state = _resume_state(config, out_dir / CHECKPOINT, info, data) if resume else None
    run = _start(config, dataset, out_dir, info, init_from)
    run.data = data
    if state is not None:
        _restore(run, state)
    _open_log(run, resumed=state is not None, init_from=init_from, replaced=replaced)
    run.loader = DataLoader(dataset, batch_size=config.batch_size, sampler=run.sampler,
                            drop_last=True, num_workers=config.num_workers,
                            collate_fn=_collate, pin_memory=run.device.type == "cuda",
                            generator=torch.Generator())
    bar = tqdm(total=run.total, initial=run.step, desc=config.name, unit="step",
               dynamic_ncols=True, disable=not (progress and info.is_main))
    meter = _LossMeter(torch.zeros((), device=run.device), clock=time.perf_counter())
    stop = max_steps is not None and run.step >= max_steps
    while run.epoch < config.epochs and not stop:
        stop = _train_epoch(run, bar, meter, max_steps, log_every)
        if run.batch_idx < run.per_epoch:  # stopped inside the epoch
            break
        run.epoch, run.batch_idx = run.epoch + 1, 0
        _evaluate(run, evaluate)
        _save(run)
        meter.clock = time.perf_counter()
    bar.close()
    if info.distributed:  # rank 0's batch-norm statistics, as DDP uses and checkpoints them
        for buffer in run.method.net.buffers():
            torch.distributed.broadcast(buffer, 0)
    return TrainResult(run.method, out_dir, run.checkpoint, run.metrics, run.step, run.position,
                       run.epoch >= config.epochs, meter.last)


def _legacy_run(folder: Path) -> list[str] | None:
    """Return the files of a run folder written before output markers existed (None: not one)."""
    names = {p.name for p in folder.iterdir()}
    return sorted(names) if names <= set(RUN_FILES) and names & {CHECKPOINT, METRICS} else None


def _prepare_folder(out_dir: Path, info: D.DistInfo, *, resume: bool, overwrite: bool,
                    data: dict) -> list[str]:
    """Check the run folder: something to resume, or a new one (or, overwriting, a run's only).

    Returns the files of the run it replaces, which rank 0 removes when the new run starts
    (:func:`_open_log`): every rank has checked the folder by then.
    """
    if resume:
        if not (out_dir / CHECKPOINT).is_file():
            why = ("the run stopped before its first checkpoint; start it again with "
                   "--overwrite (overwrite=True)" if (out_dir / METRICS).is_file() else
                   "start a new run without --resume")
            raise DataError(f"nothing to resume in {out_dir}: no {CHECKPOINT} there; {why}")
        return []
    inputs = [data["name"]] if Path(data["name"]).exists() else []  # a TileSet's folder
    replace = check_folder(out_dir, "pretrain", overwrite=overwrite, inputs=inputs,
                           legacy=_legacy_run, hint="pass --resume (resume=True) to continue "
                           "it or --overwrite (overwrite=True) to replace it")
    files = check_replaceable(out_dir, "pretrain", inputs=inputs, legacy=_legacy_run) \
        if replace else []
    D.barrier(info)
    return files


def _resume_state(config, path: Path, info: D.DistInfo, data: dict) -> dict:
    """Return the checkpoint a resumed run continues from, checked against config and data."""
    state = load_checkpoint(path)
    _check_resumable(state["config"], config)
    stored = state.get("data")
    if stored and stored.get("fingerprint") != data["fingerprint"]:
        raise ConfigError(
            f"cannot resume: the run in {path.parent} was started on {stored.get('name')} "
            f"({stored.get('n')} images, fingerprint {stored.get('fingerprint')}), this data "
            f"set is {data['name']} ({data['n']} images, fingerprint {data['fingerprint']}); "
            "resume with the data it started on, or start a new run (another --out)")
    if state["progress"]["world_size"] != info.world_size:
        raise ConfigError(f"checkpoint was written by {state['progress']['world_size']} "
                          f"process(es), this run has {info.world_size}")
    return state


def _start(config, dataset, out_dir: Path, info: D.DistInfo, init_from) -> _Run:
    """Seed, build the method (from ``init_from``'s weights), its optimiser, scaler and sampler."""
    dev = info.device
    _seed_everything(config.seed)
    method = build_method(config).to(dev)
    if init_from is not None:
        _load_init(method, config, init_from)
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
    generator = torch.Generator().manual_seed(config.seed + 1_000_003 * info.rank)
    return _Run(config, info, method, optimizer, scaler, sampler, generator, out_dir, per_epoch)


def _load_init(method: SSLMethod, config, init_from) -> None:
    """Start from the weights of another run's checkpoint (smart_hulk from hulk)."""
    source = load_checkpoint(init_from)
    if source["config"].method != config.method:
        raise ConfigError(f"init_from {init_from} is a {source['config'].method} run")
    try:
        method.load_state_dict(source["model"])
    except RuntimeError as exc:
        raise ConfigError(f"init_from {init_from}: its weights do not fit this config "
                          f"({str(exc).splitlines()[0]})") from exc


def _restore(run: _Run, state: dict) -> None:
    """Set weights, optimiser, scaler, RNG states and position from a checkpoint."""
    run.method.load_state_dict(state["model"])
    run.optimizer.load_state_dict(state["optimizer"])
    if state["scaler"]:
        run.scaler.load_state_dict(state["scaler"])
    restore_rng(state["rng"][run.info.rank], run.generator)
    p = state["progress"]
    run.epoch, run.batch_idx, run.step = p["epoch"], p["batch"], p["step"]
    if run.info.is_main:
        _truncate_metrics(run.metrics, run.step)


def _open_log(run: _Run, *, resumed: bool, init_from, replaced: list[str]) -> None:
    """Start the log (rank 0): the marker, ``config.yaml`` and the ``start`` record.

    The files of a run this one replaces are removed first.
    """
    if run.info.is_main:
        clear_folder(run.out_dir, replaced)
        run.out_dir.mkdir(parents=True, exist_ok=True)
        write_marker(run.out_dir, "pretrain", [CHECKPOINT, METRICS, CONFIG], add=True)
        atomic_write(run.out_dir / CONFIG, yaml.safe_dump(run.config.to_dict(), sort_keys=False))
    _log(run.metrics, run.info, {
        "kind": "start", "step": run.step, "epoch": run.position, "resumed": resumed,
        "data": run.data,
        "world_size": run.info.world_size,
        "init_from": None if init_from is None else str(init_from),
        "device": str(run.device), "total_steps": run.total})


def _train_epoch(run: _Run, bar, meter: _LossMeter, max_steps: int | None,
                 log_every: int) -> bool:
    """Train the rest of the current epoch (from ``run.batch_idx``); return whether to stop.

    Logs every ``log_every`` steps and at the end of the epoch, and checkpoints every
    ``config.checkpoint_every`` steps and when ``max_steps`` is reached.
    """
    config, method, optimizer, scaler = run.config, run.method, run.optimizer, run.scaler
    run.sampler.set_position(run.epoch, run.batch_idx * config.batch_size)
    method.train()
    stop = False
    for batch in run.loader if run.batch_idx < run.per_epoch else ():
        lr = method.set_schedule(optimizer, run.step, run.total, run.per_epoch,
                                 run.info.world_size)
        optimizer.zero_grad(set_to_none=True)
        loss = method.training_step(batch.to(run.device, non_blocking=True), run.generator,
                                    epoch=run.epoch)
        scaler.scale(loss).backward()
        scaler.unscale_(optimizer)
        method.after_backward(run.epoch)
        scaler.step(optimizer)
        scaler.update()
        method.after_step(run.step, run.total)
        run.step, run.batch_idx, meter.n = run.step + 1, run.batch_idx + 1, meter.n + 1
        meter.running += loss.detach()
        bar.update(1)
        stop = max_steps is not None and run.step >= max_steps
        if run.step % log_every == 0 or run.batch_idx == run.per_epoch or stop:
            _log_train(run, meter, lr)
            bar.set_postfix(loss=f"{meter.last:.4g}", lr=f"{lr:.3g}")
        if stop or (config.checkpoint_every and run.step % config.checkpoint_every == 0):
            _save(run)
        if stop:
            break
    return stop


def _log_train(run: _Run, meter: _LossMeter, lr: float) -> None:
    """Write a ``train`` record: mean loss over the ranks and steps since the last, throughput."""
    meter.last = D.all_reduce_mean(meter.running.item() / meter.n, run.info)
    if not np.isfinite(meter.last):
        raise FloatingPointError(f"loss is {meter.last} at step {run.step}; stopping")
    elapsed = time.perf_counter() - meter.clock
    _log(run.metrics, run.info, {
        "kind": "train", "step": run.step, "epoch": run.position, "loss": meter.last, "lr": lr,
        "throughput": round(meter.n * run.config.batch_size * run.info.world_size
                            / max(elapsed, 1e-9), 2)})
    meter.reset()


def _evaluate(run: _Run, evaluate: Evaluate | None) -> None:
    """Call the evaluation callback at an ``eval_every`` epoch (rank 0), keeping RNG streams."""
    config = run.config
    if evaluate is None or not config.eval_every or run.epoch % config.eval_every \
            or not run.info.is_main:
        return
    saved = capture_rng()  # the callback must not change the training's random streams
    values = evaluate(run.method, run.epoch)
    restore_rng(saved)
    run.method.train()
    _log(run.metrics, run.info, {"kind": "eval", "step": run.step, "epoch": run.epoch, **values})


def _save(run: _Run) -> None:
    """Checkpoint the run (every rank's RNG states, gathered; rank 0 writes)."""
    rng = D.gather_objects(capture_rng(run.generator), run.info)
    if run.info.is_main:
        save_checkpoint(run.checkpoint, config=run.config, model=run.method,
                        optimizer=run.optimizer, scaler=run.scaler, total_steps=run.total,
                        rng=rng, data=run.data,
                        progress={"epoch": run.epoch, "batch": run.batch_idx, "step": run.step,
                                  "world_size": run.info.world_size})
    D.barrier(run.info)  # the file is complete before any rank may read it (resume)
