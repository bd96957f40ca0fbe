"""Train once, reuse: a finished run is found again by the hash of everything that made it.

Notebooks that need a pre-trained checkpoint call :func:`cached_train` instead of
:func:`radiolib.ssl.train`. The run folder is ``<cache_dir>/<name>-<hash>``, where the hash
covers the training maths of the config (every key but the bookkeeping ones of
:data:`IGNORED_KEYS`), a fingerprint of the data, the checkpoint a run starts from (smart_hulk),
the evaluation callback's key and the source of :mod:`radiolib.ssl`, :mod:`radiolib.augment`
and :mod:`radiolib.models` (so a change to the training code retrains). A run is reused when its
folder holds a ``done.json`` written after the last epoch; an unfinished one is resumed from its
checkpoint (:func:`radiolib.ssl.train` with ``resume=True``), so an interrupted notebook
continues where it stopped. :func:`save_runs` records finished runs under a name (the DINO
notebook's two backbones) and :func:`load_runs` finds them again from a later notebook.

>>> from radiolib.ssl import SimCLRConfig
>>> run_key(SimCLRConfig(), "data") == run_key(SimCLRConfig(name="other"), "data")
True
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

from radiolib.errors import DataError
from radiolib.files import atomic_write, sha256_file
from radiolib.outputs import write_marker
from radiolib.ssl.data import fingerprint
from radiolib.ssl.train import CHECKPOINT, METRICS, train

__all__ = ["IGNORED_KEYS", "CachedRun", "cached_train", "code_version", "fingerprint",
           "load_runs", "run_dir", "run_key", "save_runs"]

#: Config keys that change how a run is logged or named, not its weights.
IGNORED_KEYS = frozenset({"name", "num_workers", "log_every", "checkpoint_every"})
_PACKAGES = ("ssl", "augment", "models")
DONE = "done.json"


@dataclass(frozen=True)
class CachedRun:
    """A finished run: its folder, checkpoint and metrics log, and whether this call trained it."""

    key: str
    out_dir: Path
    checkpoint: Path
    metrics: Path
    trained: bool


def code_version() -> str:
    """Hash of the training code: every ``.py`` file of radiolib.ssl, .augment and .models."""
    root = Path(__file__).resolve().parent.parent
    h = hashlib.sha256()
    for pkg in _PACKAGES:
        for path in sorted((root / pkg).rglob("*.py")):
            h.update(str(path.relative_to(root)).encode())
            h.update(path.read_bytes())
    return h.hexdigest()[:16]


def run_key(config, data_key: str, *, init_from: str | None = None,
            eval_key: str | None = None, code: str | None = None) -> str:
    """Return the cache key of a run (16 hex digits); see the module docstring."""
    settings = {k: v for k, v in config.to_dict().items() if k not in IGNORED_KEYS}
    payload = {"config": settings, "data": data_key, "init_from": init_from,
               "eval": eval_key, "code": code}
    text = json.dumps(payload, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def run_dir(config, data_key: str, *, cache_dir: str | os.PathLike,
            init_from: str | None = None, eval_key: str | None = None) -> Path:
    """Return the folder :func:`cached_train` uses for this run (``init_from``: its digest)."""
    key = run_key(config, data_key, init_from=init_from, eval_key=eval_key, code=code_version())
    return Path(cache_dir) / f"{config.name}-{key}"


def cached_train(config, dataset, *, cache_dir: str | os.PathLike, data_key: str | None = None,
                 init_from: str | os.PathLike | CachedRun | None = None, evaluate=None,
                 eval_key: str | None = None, progress: bool = False, **kwargs) -> CachedRun:
    """Return the finished run of ``config`` on ``dataset``, training it only if needed.

    Parameters
    ----------
    config : SimCLRConfig or DINOConfig
    dataset : Dataset
        What :func:`radiolib.ssl.train` trains on.
    cache_dir : path-like
        Folder of the cached runs (shared by the notebooks of a profile).
    data_key : str, optional
        Identifies the data; default :func:`fingerprint` of ``dataset``.
    init_from : path-like or CachedRun, optional
        Checkpoint whose weights start the run (smart_hulk); its content is part of the key.
    evaluate : callable, optional
        Evaluation callback passed to :func:`radiolib.ssl.train`; give ``eval_key`` (what it
        computes, on which data) so that runs with different callbacks are not confused.
    progress : bool
        Show the progress bar.
    **kwargs
        Passed to :func:`radiolib.ssl.train` (``device``, ``log_every``...).
    """
    if evaluate is not None and eval_key is None:
        raise ValueError("give eval_key= to name the evaluation callback (it is part of the key)")
    if isinstance(init_from, CachedRun):
        init_from = init_from.checkpoint
    init_digest = None if init_from is None else sha256_file(init_from)[:16]
    data_key = fingerprint(dataset) if data_key is None else data_key
    out = run_dir(config, data_key, cache_dir=cache_dir, init_from=init_digest,
                  eval_key=eval_key)
    key = out.name.rsplit("-", 1)[1]
    run = CachedRun(key, out, out / CHECKPOINT, out / METRICS, trained=False)
    if (out / DONE).is_file() and run.checkpoint.is_file():
        return run
    resume = run.checkpoint.is_file()
    # no checkpoint yet: start again, replacing what a run killed before its first one left
    result = train(config, dataset, out_dir=out, resume=resume, overwrite=not resume,
                   init_from=None if resume else init_from, evaluate=evaluate,
                   progress=progress, **kwargs)
    if not result.finished:
        return CachedRun(key, out, run.checkpoint, run.metrics, trained=True)
    atomic_write(out / DONE, json.dumps({"key": key, "data": data_key, "init_from": init_digest,
                                         "eval": eval_key, "step": result.step,
                                         "config": config.to_dict()}, indent=1) + "\n")
    write_marker(out, "pretrain", [DONE], add=True)
    return CachedRun(key, out, run.checkpoint, run.metrics, trained=True)


def save_runs(cache_dir: str | os.PathLike, group: str, runs) -> Path:
    """Record finished runs under a name, for other notebooks: ``<cache_dir>/<group>.json``.

    ``runs`` maps a label (e.g. "ResNet50") to a :class:`CachedRun`. The file is written to a
    temporary name, then renamed (:func:`radiolib.files.atomic_write`).
    """
    root = Path(cache_dir)
    path = root / f"{group}.json"
    path.parent.mkdir(parents=True, exist_ok=True)

    def rel(p) -> str:  # relative to the cache folder, so that the folder can move
        return os.path.relpath(Path(p).resolve(), root.resolve())

    entries = {label: {"key": r.key, "out_dir": rel(r.out_dir), "checkpoint": rel(r.checkpoint),
                       "metrics": rel(r.metrics)} for label, r in runs.items()}
    atomic_write(path, json.dumps(entries, indent=1) + "\n")
    return path


def load_runs(cache_dir: str | os.PathLike, group: str, *, made_by: str = "") -> dict:
    """Return the runs :func:`save_runs` recorded as ``group``: label -> :class:`CachedRun`.

    Raises
    ------
    DataError
        When the record or one of its checkpoints is missing, naming what makes them
        (``made_by``, e.g. the notebook that trains the runs).
    """
    root = Path(cache_dir)
    path = root / f"{group}.json"
    hint = f"; run {made_by} first" if made_by else ""
    try:
        entries = json.loads(path.read_text(encoding="utf-8"))
        runs = {label: CachedRun(e["key"], root / e["out_dir"], root / e["checkpoint"],
                                 root / e["metrics"], trained=False)
                for label, e in entries.items()}
    except FileNotFoundError:
        raise DataError(f"no {group!r} runs recorded in {path.parent}{hint}") from None
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise DataError(f"{path} is not a record of runs ({type(exc).__name__}: {exc}){hint}") \
            from None
    for label, run in runs.items():
        if not run.checkpoint.is_file():
            raise DataError(f"{group!r} run {label!r}: checkpoint {run.checkpoint} is missing"
                            f"{hint}")
    return runs
