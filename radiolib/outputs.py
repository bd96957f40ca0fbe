"""Output folders: radiolib replaces only what it wrote itself, never what holds its input.

Every command that writes a folder (``tile``, ``simulate``, ``preprocess``, ``pretrain``) leaves
in it a marker, ``.radiolib-output.json``, naming the command and listing the files it wrote.
Before writing, a command asks this module whether it may:

- :func:`check_folder` for a command whose output is the whole folder: a new or empty folder
  is fine; an existing one may be replaced only with ``overwrite`` and only where
  :func:`check_replaceable` agrees: the marker names the same command, the folder holds no other
  file (leftover temporary files of the listed ones excepted) and none of the command's inputs;
- :func:`check_files` for a command that adds named files to a folder (``simulate``): a file
  already there may be replaced only where the marker lists it as written by that command.

Anything else is refused with an :class:`OutputError` naming what is in the way; nothing is
deleted then. :func:`clear_folder` removes exactly the listed files of a checked folder.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable
from pathlib import Path

from radiolib.errors import DataError
from radiolib.files import atomic_write

__all__ = ["MARKER", "OutputError", "check_files", "check_folder", "check_replaceable",
           "clear_folder", "listed_files", "read_marker", "write_marker"]

MARKER = ".radiolib-output.json"
FORMAT = "radiolib.output"
_SHOWN = 5  # files named in a message before "and N more"

#: Recognises an output written before markers existed: folder -> its files, or None.
Legacy = Callable[[Path], list[str] | None]


class OutputError(DataError, FileExistsError):
    """An output folder or file is in the way: radiolib will not replace what it did not write."""


def _names(items: Iterable[str], total: int | None = None) -> str:
    items = sorted(items)
    total = len(items) if total is None else total
    shown = ", ".join(items[:_SHOWN])
    return shown + (f" and {total - _SHOWN} more" if total > _SHOWN else "")


def read_marker(folder: str | os.PathLike) -> dict | None:
    """Return a folder's marker (``command``, ``files``...), or None if it has no valid one."""
    try:
        marker = json.loads((Path(folder) / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    ok = (isinstance(marker, dict) and marker.get("format") == FORMAT
          and isinstance(marker.get("command"), str) and isinstance(marker.get("files"), list)
          and all(isinstance(f, str) for f in marker["files"]))
    return marker if ok else None


def write_marker(folder: str | os.PathLike, command: str, files: Iterable[str], *,
                 add: bool = False, **extra) -> Path:
    """Write (atomically) the marker of ``folder``: ``command`` wrote ``files`` (relative paths).

    ``add=True`` keeps the files an earlier marker of the same command listed (a command that
    adds files to a folder); ``extra`` keys (e.g. the inputs) are stored as they are.
    """
    folder = Path(folder)
    files = set(files) - {MARKER}
    old = read_marker(folder) if add else None
    if old is not None and old["command"] == command:
        files |= set(old["files"])
        extra = {**{k: v for k, v in old.items() if k not in ("format", "command", "files")},
                 **extra}
    payload = {"format": FORMAT, "command": command, "files": sorted(files), **extra}
    return atomic_write(folder / MARKER, json.dumps(payload, indent=1, default=str) + "\n")


def listed_files(folder: str | os.PathLike) -> list[str]:
    """Every file (and link) under ``folder`` as a relative POSIX path, but the marker."""
    out, folder = [], Path(folder)
    for root, dirs, files in os.walk(folder):
        rel_root = Path(root).relative_to(folder)
        links = [d for d in dirs if (Path(root) / d).is_symlink()]  # never followed
        dirs[:] = [d for d in dirs if d not in links]
        out += [(rel_root / f).as_posix() for f in [*files, *links]]
    return sorted(f for f in out if f != MARKER)


def _is_leftover(rel: str, ours: set[str]) -> bool:
    """Whether ``rel`` is the hidden temporary file of a listed one (``.<name>.<random>``)."""
    path = Path(rel)
    return any(path.name.startswith(f".{Path(o).name}.") and Path(o).parent == path.parent
               for o in (*ours, MARKER))


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def check_replaceable(folder: str | os.PathLike, command: str, *,
                      inputs: Iterable[str | os.PathLike] = (),
                      legacy: Legacy | None = None) -> list[str]:
    """Refuse (:class:`OutputError`) unless ``folder`` may be replaced by ``command``'s output.

    It may if its marker names ``command`` (or, for a folder written before markers existed,
    ``legacy(folder)`` recognises it), it holds nothing but the files listed there (and their
    leftover temporary files) and none of ``inputs``. Returns the files to remove.
    """
    folder = Path(folder).resolve()
    for item in inputs:
        path = Path(item).resolve()
        if _inside(path, folder):
            raise OutputError(f"refusing to replace {folder}: it holds the input {path}; "
                              "choose another output folder")
    if _inside(Path.cwd().resolve(), folder):
        raise OutputError(f"refusing to replace {folder}: it is (or holds) the current folder; "
                          "choose another output folder")
    marker = read_marker(folder)
    present = listed_files(folder)
    if marker is None:
        ours = legacy(folder) if legacy is not None else None
        if ours is None:
            raise OutputError(
                f"refusing to replace {folder}: radiolib did not write it (no {MARKER}); it "
                f"holds {_names(present) or 'only empty folders'}; move them away or choose "
                "another output folder")
    elif marker["command"] != command:
        raise OutputError(f"refusing to replace {folder}: it holds the output of `radiolib "
                          f"{marker['command']}`, not of `radiolib {command}`; choose another "
                          "output folder")
    else:
        ours = marker["files"]
    ours = set(ours)
    foreign = [f for f in present if f not in ours and not _is_leftover(f, ours)]
    if foreign:
        raise OutputError(f"refusing to replace {folder}: besides what `radiolib {command}` "
                          f"wrote it holds {_names(foreign)}, which radiolib did not write; "
                          "move them away or choose another output folder")
    return present


def check_folder(folder: str | os.PathLike, command: str, *, overwrite: bool = False,
                 inputs: Iterable[str | os.PathLike] = (), legacy: Legacy | None = None,
                 hint: str = "pass --overwrite (overwrite=True) to replace it") -> bool:
    """Check that ``command`` may write its output folder; return whether it replaces one.

    A missing or empty folder is fine (False). An existing one needs ``overwrite`` and
    :func:`check_replaceable` (True); otherwise :class:`OutputError` says what to do (``hint``).
    """
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise OutputError(f"{folder} is a file, not a folder; choose a folder for the output")
    if not folder.exists() or not any(folder.iterdir()):
        return False
    if not overwrite:
        marker = read_marker(folder)
        if marker is None and (legacy is None or legacy(folder) is None):
            raise OutputError(f"{folder} holds files radiolib did not write "
                              f"({_names(listed_files(folder)) or 'empty folders'}); choose a "
                              "new or empty output folder")
        done = command if marker is None else marker["command"]
        raise OutputError(f"{folder} holds the output of an earlier `radiolib {done}`; choose "
                          f"another output folder{f' or {hint}' if done == command else ''}")
    check_replaceable(folder, command, inputs=inputs, legacy=legacy)
    return True


def check_files(folder: str | os.PathLike, command: str, names: Iterable[str], *,
                legacy: Callable[[Path], bool] | None = None) -> None:
    """Refuse (:class:`OutputError`) to replace a file of ``names`` that ``command`` did not write.

    Its own files are those the folder's marker lists (or, for files written before markers
    existed, those ``legacy(path)`` recognises).
    """
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise OutputError(f"{folder} is a file, not a folder; choose a folder for the output")
    marker = read_marker(folder)
    if marker is not None and marker["command"] != command:
        raise OutputError(f"{folder} holds the output of `radiolib {marker['command']}`; "
                          f"choose another folder for the output of `radiolib {command}`")
    ours = set(marker["files"]) if marker is not None else set()
    blocked = [n for n in names if (folder / n).exists() or (folder / n).is_symlink()]
    blocked = [n for n in blocked if n not in ours
               and not (legacy is not None and (folder / n).is_file() and legacy(folder / n))]
    if blocked:
        it = "it" if len(blocked) == 1 else "them"
        raise OutputError(f"refusing to replace {_names(blocked)} in {folder}: radiolib "
                          f"{command} did not write {it}; move {it} away or choose another "
                          "output folder")


def clear_folder(folder: str | os.PathLike, files: Iterable[str]) -> None:
    """Remove ``files`` (checked by :func:`check_replaceable`), the marker and emptied folders."""
    folder = Path(folder)
    for rel in [*files, MARKER]:
        (folder / rel).unlink(missing_ok=True)
    for root, dirs, _ in os.walk(folder, topdown=False):
        for d in dirs:
            path = Path(root) / d
            if not path.is_symlink() and not any(path.iterdir()):
                path.rmdir()
