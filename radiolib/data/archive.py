"""Unpack tar and zip archives safely: nothing may land outside the target folder.

Every member is checked before anything is written: absolute names, ``..`` components,
links that point outside the archive, members written through a link, and special files
(devices, FIFOs) are refused with a ``DataError``. Extraction goes to a temporary folder
inside the target and its top-level entries are then renamed into place, so an archive is
either fully unpacked or not at all. :func:`member_hashes` records what was unpacked (the
sha256 of each file, the target of each link) so that a later check can find a modified or
missing member, which :func:`restore_members` puts back from the archive alone.
"""

from __future__ import annotations

import os
import posixpath
import re
import shutil
import stat
import tarfile
import tempfile
import zipfile
from pathlib import Path, PurePosixPath

from radiolib.errors import DataError
from radiolib.files import sha256_file

__all__ = ["changed_members", "extract_archive", "member_hashes", "restore_members"]

_DRIVE = re.compile(r"^[A-Za-z]:")


def _refuse(archive: Path, member: str, why: str) -> DataError:
    return DataError(f"refusing to extract {archive.name}: member {member!r} {why}; "
                     "nothing was extracted (the archive is corrupt or malicious)")


def _clean(archive: Path, name: str) -> PurePosixPath | None:
    """Return the member's relative path, ``None`` for the root entry, or raise."""
    norm = name.replace("\\", "/")
    pure = PurePosixPath(norm)
    if not norm or pure.is_absolute() or _DRIVE.match(norm):
        raise _refuse(archive, name, "has an absolute path")
    if ".." in pure.parts:
        raise _refuse(archive, name, "contains '..'")
    parts = [p for p in pure.parts if p not in ("", ".")]
    return PurePosixPath(*parts) if parts else None


def _inside(target: str) -> bool:
    """Whether a link target, relative to the archive root, stays inside it."""
    norm = target.replace("\\", "/")
    if norm.startswith("/") or _DRIVE.match(norm):
        return False
    norm = posixpath.normpath(norm)
    return norm != ".." and not norm.startswith("../")


def _check_links(archive: Path, paths: list[PurePosixPath], links: set[PurePosixPath]) -> None:
    for rel in paths:
        for parent in rel.parents:
            if parent in links:
                raise _refuse(archive, str(rel), f"would be written through the link {parent}")


def _check_space(archive: Path, dest: Path, total: int) -> None:
    free = shutil.disk_usage(dest).free
    if total > free:
        raise DataError(f"cannot extract {archive.name}: it unpacks to {total / 1e6:.0f} MB "
                        f"but only {free / 1e6:.0f} MB are free in {dest}")


def _plan_tar(archive: Path, tar: tarfile.TarFile, out: Path) -> list[tarfile.TarInfo]:
    members, paths, links, total = [], [], set(), 0
    for member in tar.getmembers():
        rel = _clean(archive, member.name)
        if rel is None:
            continue
        if member.issym():
            if not _inside(posixpath.join(str(rel.parent), member.linkname)):
                raise _refuse(archive, member.name, f"is a symlink to {member.linkname!r}, "
                              "outside the archive")
            links.add(rel)
        elif member.islnk():
            if not _inside(member.linkname):
                raise _refuse(archive, member.name, f"is a hard link to {member.linkname!r}, "
                              "outside the archive")
        elif not (member.isfile() or member.isdir()):
            raise _refuse(archive, member.name, "is a device, FIFO or other special file")
        members.append(member)
        paths.append(rel)
        total += member.size
    _check_links(archive, paths, links)
    _check_space(archive, out, total)
    return members


def _extract_tar(archive: Path, out: Path) -> None:
    with tarfile.open(archive) as tar:
        members = _plan_tar(archive, tar, out)
        if hasattr(tarfile, "data_filter"):  # second line of defence (Python >= 3.11.4)
            tar.extractall(out, members=members, filter="data")
        else:  # pragma: no cover - older Pythons; members were checked above
            tar.extractall(out, members=members)


def _extract_zip(archive: Path, out: Path) -> None:
    with zipfile.ZipFile(archive) as zf:
        plan, links, total = [], set(), 0
        for info in zf.infolist():
            rel = _clean(archive, info.filename)
            if rel is None:
                continue
            target = None
            if stat.S_ISLNK(info.external_attr >> 16):
                target = zf.read(info).decode("utf-8", "replace")
                if not _inside(posixpath.join(str(rel.parent), target)):
                    raise _refuse(archive, info.filename, f"is a symlink to {target!r}, "
                                  "outside the archive")
                links.add(rel)
            plan.append((rel, info, target))
            total += info.file_size
        _check_links(archive, [rel for rel, _, _ in plan], links)
        _check_space(archive, out, total)
        for rel, info, target in plan:
            path = out.joinpath(*rel.parts)
            path.parent.mkdir(parents=True, exist_ok=True)
            if target is not None:
                os.symlink(target, path)
            elif info.is_dir():
                path.mkdir(exist_ok=True)
            else:
                with zf.open(info) as src, open(path, "wb") as dst:
                    shutil.copyfileobj(src, dst, 1 << 20)


def _unpack(archive: Path, dest: Path, kind: str, tmp: Path) -> list[str]:
    """Unpack safely into ``tmp`` (inside ``dest``); return its top-level names."""
    if kind not in ("tar", "zip"):
        raise ValueError(f"unknown archive kind {kind!r}; use 'tar' or 'zip'")
    try:
        (_extract_tar if kind == "tar" else _extract_zip)(archive, tmp)
    except (tarfile.TarError, zipfile.BadZipFile, EOFError, OSError) as exc:
        raise DataError(f"cannot extract {archive}: {type(exc).__name__}: {exc}") from None
    names = sorted(os.listdir(tmp))
    for name in names:
        final = dest / name
        if final.resolve() == archive.resolve() or name.startswith(".extract-"):
            raise _refuse(archive, name, "would overwrite the archive or a work folder")
    return names


def _fingerprint(path: Path) -> str:
    return f"link:{os.readlink(path)}" if path.is_symlink() else sha256_file(path)


def member_hashes(dest: str | os.PathLike[str], names: list[str]) -> dict[str, str]:
    """Map each file unpacked under the top-level ``names`` of ``dest`` to its sha256.

    Keys are POSIX paths relative to ``dest``; a link maps to ``"link:<target>"`` (never
    followed), so the record says exactly what extraction wrote.
    """
    dest, out = Path(dest), {}
    for name in names:
        top = dest / name
        if top.is_symlink() or top.is_file():
            out[name] = _fingerprint(top)
            continue
        for root, dirs, files in os.walk(top):
            links = [d for d in dirs if (Path(root) / d).is_symlink()]
            dirs[:] = [d for d in dirs if d not in links]
            for item in [*files, *links]:
                path = Path(root) / item
                out[path.relative_to(dest).as_posix()] = _fingerprint(path)
    return out


def changed_members(dest: str | os.PathLike[str], hashes: dict[str, str]) -> list[str]:
    """Return the members of ``hashes`` that are missing from ``dest`` or differ from it."""
    dest, bad = Path(dest), []
    for rel, digest in hashes.items():
        path = dest / rel
        try:
            if _fingerprint(path) != digest:
                bad.append(rel)
        except OSError:  # missing, or a folder where a file was
            bad.append(rel)
    return sorted(bad)


def restore_members(archive: str | os.PathLike[str], dest: str | os.PathLike[str], *,
                    kind: str, members: list[str] | None = None) -> dict[str, str]:
    """Put members back from the archive, touching nothing else in ``dest``.

    The archive is unpacked (safely) into a temporary folder, and each member file of
    ``members`` (default: every file the archive holds) replaces its copy in ``dest`` if that
    copy differs or is missing; files that are not members (the user's) stay. Returns
    :func:`member_hashes` of the whole archive.

    Raises
    ------
    DataError
        If the archive is unsafe or corrupt, or a member's place is taken by a folder.
    """
    archive, dest = Path(archive), Path(dest)
    tmp = Path(tempfile.mkdtemp(prefix=".extract-", dir=dest))
    try:
        hashes = member_hashes(tmp, _unpack(archive, dest, kind, tmp))
        wanted = hashes if members is None else {m: hashes[m] for m in members if m in hashes}
        for rel in changed_members(dest, wanted):
            final = dest / rel
            if final.is_dir() and not final.is_symlink():
                raise DataError(f"cannot restore {rel} from {archive.name}: a folder is in its "
                                f"place in {dest}; move it away and fetch again")
            final.parent.mkdir(parents=True, exist_ok=True)
            os.replace(tmp / rel, final)
        return hashes
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def extract_archive(archive: str | os.PathLike[str], dest: str | os.PathLike[str], *,
                    kind: str) -> list[str]:
    """Unpack ``archive`` (``kind`` ``"tar"`` or ``"zip"``) into ``dest``, refusing unsafe members.

    Parameters
    ----------
    archive
        The archive file (any compression ``tarfile`` understands, or a zip file).
    dest
        The folder to unpack into; existing entries with the same top-level names are replaced.
    kind
        ``"tar"`` or ``"zip"``.

    Returns
    -------
    list of str
        The top-level names created in ``dest``.

    Raises
    ------
    DataError
        If a member is unsafe (nothing is written then) or the archive is corrupt.
    """
    archive, dest = Path(archive), Path(dest)
    if kind not in ("tar", "zip"):
        raise ValueError(f"unknown archive kind {kind!r}; use 'tar' or 'zip'")
    dest.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".extract-", dir=dest))
    try:
        names = _unpack(archive, dest, kind, tmp)
        for name in names:
            final = dest / name
            if final.is_symlink() or final.is_file():
                final.unlink()
            elif final.is_dir():
                shutil.rmtree(final)
            os.replace(tmp / name, final)
        return names
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
