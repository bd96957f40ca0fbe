"""Multi-process training with ``torchrun`` (DistributedDataParallel), on CPU (gloo) or GPUs (nccl).

:func:`init_distributed` reads what ``torchrun`` (or Slurm via ``torchrun``) puts in the
environment -- ``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``, ``MASTER_ADDR``, ``MASTER_PORT`` -- and
starts the process group: nccl when the device is CUDA (one GPU per process, ``LOCAL_RANK``),
gloo on CPU. Without those variables it returns a one-process :class:`DistInfo`, so the same
training code runs everywhere. :class:`ResumableSampler` is a ``DistributedSampler`` (same
shuffle for a given seed and epoch on every rank, disjoint shards) that can start in the middle
of an epoch. :func:`run_local` spawns ``world_size`` processes on this machine, for tests and
notebooks (``radiolib/configs/README.md`` shows ``torchrun`` and Slurm).

NT-Xent gathers the projections of all ranks with gradients
(``NTXentLoss(gather_distributed=True)``, set by :class:`~radiolib.ssl.simclr.SimCLR`); the DINO
loss averages its centre over ranks; DDP averages gradients, so every rank takes the same step.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass

import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from torch.utils.data import DistributedSampler

from radiolib.models.backbones import select_device

__all__ = ["DistInfo", "ResumableSampler", "all_reduce_mean", "barrier", "cleanup",
           "gather_objects", "init_distributed", "run_local"]


@dataclass(frozen=True)
class DistInfo:
    """Where this process stands: rank, world size, local rank, device, backend, and owner.

    ``owner`` is True when :func:`init_distributed` started the process group (and so
    :func:`cleanup` should end it).
    """

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    device: torch.device = torch.device("cpu")
    backend: str | None = None
    owner: bool = False

    @property
    def is_main(self) -> bool:
        """Rank 0: the process that logs and writes checkpoints."""
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        """More than one process."""
        return self.world_size > 1


def _device(device: str | torch.device | None, local_rank: int) -> torch.device:
    device = select_device(device)  # None / "auto": CUDA when available; a missing one: refused
    if device.type == "cuda" and device.index is None:
        device = torch.device("cuda", local_rank % max(1, torch.cuda.device_count()))
    return device


def init_distributed(device: str | torch.device | None = None) -> DistInfo:
    """Start (or join) the process group described by the environment; pick the device.

    Parameters
    ----------
    device : str or torch.device, optional
        ``"cuda"`` / ``"cpu"`` / ``"auto"``; default (and ``"auto"``) CUDA when available.
        CUDA asked for where there is none raises `ConfigError`. With CUDA each process uses GPU
        ``LOCAL_RANK``.

    Returns
    -------
    DistInfo
    """
    env = os.environ
    world = int(env.get("WORLD_SIZE", "1"))
    rank, local = int(env.get("RANK", "0")), int(env.get("LOCAL_RANK", env.get("RANK", "0")))
    owner = False
    if dist.is_available() and dist.is_initialized():
        rank, world = dist.get_rank(), dist.get_world_size()
    dev = _device(device, local)
    if dev.type == "cuda":
        torch.cuda.set_device(dev)
    backend = "nccl" if dev.type == "cuda" else "gloo"
    if world > 1 and not dist.is_initialized():
        dist.init_process_group(backend, init_method="env://", rank=rank, world_size=world)
        owner = True
    if world > 1:
        backend = dist.get_backend()
    return DistInfo(rank, world, local, dev, backend if world > 1 else None, owner)


def cleanup(info: DistInfo) -> None:
    """End the process group if :func:`init_distributed` started it."""
    if info.owner and dist.is_initialized():
        dist.destroy_process_group()


def all_reduce_mean(value: float, info: DistInfo) -> float:
    """Mean of a number over ranks (the number itself on one process)."""
    if not info.distributed:
        return float(value)
    t = torch.tensor([float(value)], dtype=torch.float64, device=info.device)
    dist.all_reduce(t)
    return float(t.item()) / info.world_size


def barrier(info: DistInfo) -> None:
    """Wait for every rank (nothing on one process)."""
    if info.distributed:
        dist.barrier()


def gather_objects(obj, info: DistInfo) -> list:
    """``[obj of rank 0, obj of rank 1, ...]`` on every rank (``[obj]`` on one process)."""
    if not info.distributed:
        return [obj]
    out = [None] * info.world_size
    dist.all_gather_object(out, obj)
    return out


class ResumableSampler(DistributedSampler):
    """``DistributedSampler`` that can skip the first samples of an epoch (to resume mid-epoch).

    The order of an epoch depends only on ``seed`` and the epoch (``torch.Generator`` seeded
    with ``seed + epoch``), and each rank takes every ``num_replicas``-th index, so a resumed
    run sees exactly the samples an uninterrupted run would.

    Parameters
    ----------
    dataset : Dataset
    num_replicas, rank : int
        World size and rank (given explicitly: no process group is needed for one process).
    seed : int
    shuffle : bool
    """

    def __init__(self, dataset, *, num_replicas: int = 1, rank: int = 0, seed: int = 0,
                 shuffle: bool = True) -> None:
        super().__init__(dataset, num_replicas=num_replicas, rank=rank, shuffle=shuffle,
                         seed=seed, drop_last=True)
        self.start = 0

    def set_position(self, epoch: int, start: int = 0) -> None:
        """Iterate over ``epoch`` from its ``start``-th sample (of this rank) on."""
        self.set_epoch(epoch)
        if not 0 <= start <= self.num_samples:
            raise ValueError(f"start must lie in [0, {self.num_samples}], got {start}")
        self.start = start

    def __iter__(self):
        return iter(list(super().__iter__())[self.start:])

    def __len__(self) -> int:
        return self.num_samples - self.start


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _entry(rank: int, fn, world_size: int, port: int, args: tuple) -> None:
    os.environ.update(RANK=str(rank), LOCAL_RANK=str(rank), WORLD_SIZE=str(world_size),
                      MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    fn(rank, *args)


def run_local(fn, world_size: int = 2, *args) -> None:
    """Run ``fn(rank, *args)`` in ``world_size`` spawned processes with a torchrun environment.

    ``fn`` must be importable (a module-level function); inside it,
    :func:`init_distributed` (or :func:`radiolib.ssl.train`) joins the group. Processes are
    spawned, not forked (forking after torch has started its thread pools can deadlock).
    """
    if world_size < 1:
        raise ValueError(f"world_size must be positive, got {world_size}")
    mp.start_processes(_entry, args=(fn, world_size, _free_port(), args), nprocs=world_size,
                       start_method="spawn")
