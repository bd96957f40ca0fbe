"""Get a dataset's files into the local data folder: hash-checked, from a mirror or the network.

Each file of a manifest is fetched with :func:`pooch.retrieve`, which writes to a temporary
file, checks the sha256 and renames it into place, so a failed or interrupted transfer leaves
nothing behind. A local mirror (``mirror=`` or ``$RADIOLIB_MIRROR``) is tried before the
upstream URL; archives are then unpacked once, safely, by :mod:`radiolib.data.archive`.
The sha256 of every unpacked file is recorded beside the archive (``.<archive>.extracted``)
and checked on every later fetch: a member modified or removed since is restored from the
(verified) archive, with a warning naming it; files that are not members are left alone.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import requests

# pooch imports tqdm.auto, which warns inside Jupyter when ipywidgets is missing
with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message="IProgress not found")
    import pooch

from radiolib.data.archive import (
    changed_members,
    extract_archive,
    member_hashes,
    restore_members,
)
from radiolib.data.manifest import FileEntry, Manifest, get_manifest
from radiolib.errors import DataError
from radiolib.files import atomic_write, sha256_file

__all__ = ["ENV_DATA", "ENV_MIRROR", "data_root", "dataset_dir", "fetch", "file_path",
           "mirror_root"]

ENV_DATA = "RADIOLIB_DATA"
ENV_MIRROR = "RADIOLIB_MIRROR"

Downloader = Callable[..., None]


def data_root(data_dir: str | os.PathLike[str] | None = None) -> Path:
    """Return the data folder: ``data_dir``, else ``$RADIOLIB_DATA``, else pooch's user cache."""
    if data_dir is not None:
        return Path(data_dir).expanduser()
    env = os.environ.get(ENV_DATA)
    return Path(env).expanduser() if env else Path(pooch.os_cache("radiolib"))


def mirror_root(mirror: str | os.PathLike[str] | None = None) -> Path | None:
    """Return the mirror folder: ``mirror``, else ``$RADIOLIB_MIRROR``, else ``None``."""
    if mirror is not None:
        return Path(mirror).expanduser()
    env = os.environ.get(ENV_MIRROR)
    return Path(env).expanduser() if env else None


def dataset_dir(name: str, *, data_dir: str | os.PathLike[str] | None = None) -> Path:
    """Return ``<data folder>/<name>``, where :func:`fetch` puts dataset ``name`` (not created)."""
    return data_root(data_dir) / get_manifest(name).name


def file_path(name: str, relpath: str, *, data_dir: str | os.PathLike[str] | None = None) -> Path:
    """Return the path of ``relpath`` inside a fetched dataset; ``DataError`` if it is missing."""
    root = dataset_dir(name, data_dir=data_dir)
    path = (root / relpath).resolve()
    if not path.is_relative_to(root.resolve()):
        raise DataError(f"{relpath!r} is outside dataset {name!r}")
    if not path.exists():
        raise DataError(f"{path} not found: run `radiolib fetch {name}` or "
                        f"radiolib.data.fetch({name!r}) first")
    return path


class _MirrorCopy:
    """A pooch downloader that copies a file from the local mirror instead of the network."""

    def __init__(self, source: Path):
        self.source = source

    def __call__(self, url: str, output_file: Any, pooch_obj: Any, check_only: bool = False):
        if check_only:
            return self.source.is_file()
        with open(self.source, "rb") as src:
            if hasattr(output_file, "write"):
                shutil.copyfileobj(src, output_file, 1 << 20)
            else:
                with open(output_file, "wb") as dst:
                    shutil.copyfileobj(src, dst, 1 << 20)
        return None


class _Hashing:
    """Wrap a downloader and record the sha256 of what it wrote (for the mismatch message)."""

    def __init__(self, downloader: Downloader):
        self.downloader = downloader
        self.actual: str | None = None

    def __call__(self, url: str, output_file: Any, pooch_obj: Any, **kwargs: Any) -> None:
        self.downloader(url, output_file, pooch_obj, **kwargs)
        self.actual = sha256_file(output_file)


def _http_downloader(progress: bool) -> Downloader:
    """Return the network downloader (a seam that tests replace)."""
    return pooch.HTTPDownloader(progressbar=progress, timeout=30)


@contextlib.contextmanager
def _pooch_log(progress: bool) -> Iterator[None]:
    logger = pooch.get_logger()
    level = logger.level
    if not progress:
        logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        logger.setLevel(level)


@contextlib.contextmanager
def _locked(root: Path, name: str) -> Iterator[None]:
    """Serialise fetches of one dataset across processes (POSIX advisory lock, else none)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows: no lock
        yield
        return
    with open(root / f".{name}.lock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _short(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return f"{type(exc).__name__}: {text[:160]}{'...' if len(text) > 160 else ''}"


def _retrieve(manifest: Manifest, entry: FileEntry, root: Path, mirror: Path | None,
              progress: bool) -> Path:
    dest = root / entry.path
    source = mirror / entry.mirror if mirror is not None else None
    if source is not None and source.is_file():
        url, downloader = source.as_uri(), _MirrorCopy(source)
    else:
        url, downloader = entry.url, _http_downloader(progress)
    hashing = _Hashing(downloader)
    try:
        with _pooch_log(progress):
            pooch.retrieve(url, known_hash=f"sha256:{entry.sha256}", fname=dest.name,
                           path=dest.parent, downloader=hashing, progressbar=progress)
    except requests.RequestException as exc:
        raise DataError(_missing(manifest, entry, mirror, source, exc)) from None
    except ValueError as exc:
        if hashing.actual is None or hashing.actual == entry.sha256:
            raise DataError(f"{manifest.name}: {entry.path}: {_short(exc)}") from None
        raise DataError(
            f"sha256 mismatch for file {entry.path!r} of dataset {manifest.name!r} "
            f"(from {url}): expected {entry.sha256}, got {hashing.actual}. The file was not "
            "kept; the source is corrupt or not the version this manifest pins."
        ) from None
    except OSError as exc:
        raise DataError(_missing(manifest, entry, mirror, source, exc)) from None
    with contextlib.suppress(OSError):  # pooch's temporary files are private (0600)
        mode = dest.stat().st_mode
        if mode & 0o044 != 0o044:
            os.chmod(dest, mode | 0o044)
    return dest


def _missing(manifest: Manifest, entry: FileEntry, mirror: Path | None, source: Path | None,
             exc: BaseException) -> str:
    where = (f"{ENV_MIRROR} is not set" if mirror is None
             else f"not in the mirror either (looked for {source})")
    note = f" Note: {entry.note}" if entry.note else ""
    return (
        f"cannot get file {entry.path!r} of dataset {manifest.name!r}: download from "
        f"{entry.url} failed ({_short(exc)}), and {where}. To use a local copy, put it at "
        f"<mirror>/{entry.mirror} and run `export {ENV_MIRROR}=/path/to/mirror` (or pass "
        f"mirror=... / --mirror).{note}"
    )


def _extract_once(manifest: Manifest, entry: FileEntry, root: Path) -> None:
    """Unpack an archive the first time; later, check its members and restore changed ones."""
    archive = root / entry.path
    marker = archive.with_name(f".{archive.name}.extracted")
    done = {}
    with contextlib.suppress(OSError, ValueError):
        done = json.loads(marker.read_text())
    if not isinstance(done, dict) or done.get("sha256") != entry.sha256:
        members = extract_archive(archive, archive.parent, kind=entry.extract)
        files = member_hashes(archive.parent, members)
    else:
        members, files = done.get("members", []), done.get("files")
        if isinstance(files, dict) and all(isinstance(v, str) for v in files.values()):
            changed = changed_members(archive.parent, files)
            if not changed:
                return
        else:  # unpacked by an older radiolib, with no record of the members' hashes
            changed = None
        files = restore_members(archive, archive.parent, kind=entry.extract, members=changed)
        if changed:
            shown = ", ".join(changed[:5]) + (f" and {len(changed) - 5} more"
                                               if len(changed) > 5 else "")
            warnings.warn(f"{manifest.name}: {len(changed)} file(s) unpacked from {entry.path} "
                          f"were modified or removed since ({shown}); restored from the "
                          "verified archive", UserWarning, stacklevel=3)
    atomic_write(marker, json.dumps({"sha256": entry.sha256, "members": members,
                                     "files": files}))


def fetch(name: str, *, data_dir: str | os.PathLike[str] | None = None,
          mirror: str | os.PathLike[str] | None = None, progress: bool = True) -> Path:
    """Make dataset ``name`` present and verified in ``<data folder>/<name>/``; return that folder.

    Parameters
    ----------
    name
        A manifest name (see :func:`radiolib.data.list_datasets`).
    data_dir
        Data folder; default ``$RADIOLIB_DATA``, else ``pooch.os_cache("radiolib")``.
    mirror
        Local mirror folder laid out as the manifests' ``mirror`` paths say; default
        ``$RADIOLIB_MIRROR``. Files found there are copied instead of downloaded.
    progress
        Show a tqdm progress bar and pooch's log lines for network downloads.

    Returns
    -------
    Path
        The dataset folder, holding the files and the unpacked archives.

    Raises
    ------
    DataError
        If the dataset cannot be downloaded automatically, a file is unavailable, or a
        checksum does not match.
    """
    manifest = get_manifest(name)
    if not manifest.downloadable:
        raise DataError(f"dataset {name!r} ({manifest.title}) cannot be fetched automatically: "
                        f"{manifest.instructions}")
    base = data_root(data_dir)
    for folder in (base, *base.parents):  # the nearest existing one must be a folder
        if folder.exists():
            if not folder.is_dir():
                raise DataError(f"data folder {base}: {folder} is a file, not a folder; give "
                                f"--data-dir (or ${ENV_DATA}) a folder")
            break
    root = base / manifest.name
    root.mkdir(parents=True, exist_ok=True)
    if not os.access(root, os.W_OK | os.X_OK):  # else every file would look "not found"
        raise DataError(f"data folder {root} cannot be written; give --data-dir (or "
                        f"${ENV_DATA}) a folder you can write")
    mirror_dir = mirror_root(mirror)
    with _locked(root.parent, manifest.name):
        for entry in manifest.files:
            _retrieve(manifest, entry, root, mirror_dir, progress)
        for entry in manifest.files:
            if entry.extract != "none":
                _extract_once(manifest, entry, root)
    return root

