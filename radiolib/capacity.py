"""Will a job fit? Memory and disk space available, checked against a job's estimate.

A job too large for the machine is refused before it starts, with its numbers and how to make
it smaller, rather than killed by the kernel or a full disk after an hour of work.

>>> format_bytes(3 * 2**30), format_bytes(1536)
('3.0 GiB', '1.5 KiB')
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Mapping
from pathlib import Path

from radiolib.errors import ResourceError

__all__ = ["available_memory", "check_capacity", "format_bytes", "free_disk", "shortfall"]

_CGROUP = Path("/sys/fs/cgroup")


def format_bytes(n: float) -> str:
    """``n`` bytes in binary units, one decimal: ``'64.0 GiB'``."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(n) < 1024 or unit == "TiB":
            return f"{n:.0f} B" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    raise AssertionError("unreachable")


def _cgroup_headroom() -> int | None:
    """Bytes left under this container's cgroup-v2 memory limit; None without a limit."""
    try:
        limit = (_CGROUP / "memory.max").read_text().strip()
        used = int((_CGROUP / "memory.current").read_text())
    except (OSError, ValueError):
        return None
    return None if limit == "max" else max(0, int(limit) - used)


def available_memory() -> int | None:
    """Bytes a new allocation may use without swapping; None where it cannot be known.

    Linux's ``MemAvailable`` (free memory plus reclaimable caches), else the free pages of
    ``os.sysconf``; bounded by a container's cgroup memory limit.
    """
    found = None
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    found = int(line.split()[1]) * 1024
                    break
    except (OSError, ValueError, IndexError):
        pass
    if found is None:
        try:
            found = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        except (ValueError, OSError, AttributeError):  # no such names on this platform
            return None
    headroom = _cgroup_headroom()
    return found if headroom is None else min(found, headroom)


def free_disk(path: str | os.PathLike) -> int:
    """Free bytes on the file system that holds ``path`` (or its nearest existing parent)."""
    path = Path(path).absolute()
    while not path.exists() and path != path.parent:
        path = path.parent
    return shutil.disk_usage(path).free


def shortfall(folder: str | os.PathLike, *, disk: Mapping[str, int] | None = None,
              memory: int = 0) -> list[str]:
    """Say what does not fit, one phrase each (empty when all fits); see `check_capacity`."""
    problems = []
    need_disk = sum((disk or {}).values())
    if need_disk:
        free = free_disk(folder)
        if need_disk > free:
            parts = ", ".join(f"{k} {format_bytes(v)}" for k, v in (disk or {}).items())
            problems.append(f"about {format_bytes(need_disk)} of disk in {os.fspath(folder)} "
                            f"({parts}) but {format_bytes(free)} are free")
    if memory:
        avail = available_memory()
        if avail is not None and memory > avail:
            problems.append(f"about {format_bytes(memory)} of memory but "
                            f"{format_bytes(avail)} are available")
    return problems


def check_capacity(job: str, *, folder: str | os.PathLike,
                   disk: Mapping[str, int] | None = None, memory: int = 0,
                   smaller: str | Callable[[], str] = "") -> None:
    """Refuse ``job`` when its estimated memory or disk needs exceed what is available.

    Parameters
    ----------
    job : str
        What is being done, e.g. ``"a 131072 x 131072 emupilot field"``.
    folder : path-like
        Where the outputs go (its file system's free space is checked).
    disk : mapping, optional
        Bytes written per output, e.g. ``{"image": ..., "segmap": ...}``.
    memory : int
        Bytes of memory the job needs at its peak.
    smaller : str or callable
        How to make the job smaller (or a function saying it, called only on refusal),
        appended to the message.

    Raises
    ------
    ResourceError
        With the estimated and the available numbers.
    """
    if problems := shortfall(folder, disk=disk, memory=memory):
        hint = smaller() if callable(smaller) else smaller
        raise ResourceError(f"{job} needs {' and '.join(problems)}"
                            + (f"; {hint}" if hint else ""))
