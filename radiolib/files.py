"""Files written whole or not at all, and their sha256: the package's one implementation of each.

:func:`atomic_path` (and :func:`atomic_write` for bytes or text in memory) writes beside the
destination and renames over it, so a reader never sees a half-written file and a failed
write leaves the previous one. ``durable=True`` also flushes the file and its folder to disk,
for data that must survive a crash (checkpoints). :func:`sha256_file` hashes a file in blocks.

This module imports nothing of radiolib, so every layer (even :mod:`radiolib.results`) may
use it.

>>> import tempfile, pathlib
>>> path = pathlib.Path(tempfile.mkdtemp()) / "a.txt"
>>> atomic_write(path, "hello") == path, path.read_text()
(True, 'hello')
>>> sha256_file(path)[:12]
'2cf24dba5fb0'
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["atomic_path", "atomic_write", "sha256_file"]

_UMASK = os.umask(0o022)  # read the process umask (setting a safe one meanwhile)
os.umask(_UMASK)


def _fsync_dir(folder: Path) -> None:
    """Flush a folder's entries (the rename) to disk; a no-op where folders cannot be opened."""
    with contextlib.suppress(OSError):  # Windows cannot open a folder for fsync
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


@contextmanager
def atomic_path(path: str | os.PathLike, *, durable: bool = False) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success move it onto ``path`` atomically.

    The temporary name keeps the suffix of ``path`` (so ``np.save`` or matplotlib infer the
    format) and the file gets the permissions of a normal new file. On error or interruption
    (Ctrl-C, or SIGTERM where the program turns it into an exception as ``radiolib.cli``
    does) the temporary file is removed and ``path`` is left untouched. ``durable=True``
    fsyncs the file before the rename and the folder after it, so the new content survives a
    crash or power loss.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=path.suffix)
    try:  # BaseException below: Ctrl-C (KeyboardInterrupt) removes the temporary file too
        os.close(fd)
        os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes 0600; give the file normal permissions
        yield Path(tmp)
        if durable:
            with open(tmp, "rb+") as f:
                os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    if durable:
        _fsync_dir(path.parent)


def atomic_write(path: str | os.PathLike, data: str | bytes, *, durable: bool = False,
                 encoding: str = "utf-8") -> Path:
    """Write ``data`` (text in ``encoding``, or bytes) to ``path`` atomically; return the path."""
    with atomic_path(path, durable=durable) as tmp:
        if isinstance(data, str):
            tmp.write_text(data, encoding=encoding)
        else:
            tmp.write_bytes(data)
    return Path(path)


def sha256_file(path: str | os.PathLike, *, block: int = 1 << 20) -> str:
    """Hex sha256 of a file's bytes, read in ``block``-byte pieces (1 MiB)."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for piece in iter(lambda: f.read(block), b""):
            digest.update(piece)
    return digest.hexdigest()
