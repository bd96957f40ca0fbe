"""Dataset manifests: one YAML file per dataset in ``data_manifests/``, read into dataclasses.

A manifest says where each file of a dataset comes from (upstream URL, path in a local mirror),
its sha256 and size, whether it is an archive to unpack, and how to cite and licence it. The
folder is ``$RADIOLIB_MANIFESTS`` when set, else the package's ``data_manifests/`` (package
data: installed with radiolib).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from types import MappingProxyType
from typing import Any

import yaml

from radiolib.errors import ConfigError
from radiolib.resources import package_folder

__all__ = [
    "ENV_MANIFESTS",
    "EXTRACT_KINDS",
    "FileEntry",
    "Manifest",
    "get_manifest",
    "list_datasets",
    "load_manifest",
    "manifest_dir",
]

ENV_MANIFESTS = "RADIOLIB_MANIFESTS"
EXTRACT_KINDS = ("none", "tar", "zip")

_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_URL = re.compile(r"^(https?|ftp)://\S+$")
_TOP_KEYS = {"name", "title", "description", "citation", "licence", "homepage", "files",
             "layout", "downloadable"}
_FILE_KEYS = {"path", "url", "mirror", "sha256", "size", "extract"}
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass(frozen=True)
class FileEntry:
    """One file of a dataset: where it goes, where it comes from, and its checksum."""

    path: str
    url: str
    mirror: str
    sha256: str | None
    size: int | None
    extract: str = "none"
    note: str = ""


@dataclass(frozen=True)
class Manifest:
    """A dataset as described by its ``radiolib/data_manifests/<name>.yaml`` file."""

    name: str
    title: str
    description: str
    citation: str
    licence: str
    homepage: str
    files: tuple[FileEntry, ...]
    layout: Mapping[str, str]
    downloadable: bool
    instructions: str = ""
    source: Path | None = None


def manifest_dir() -> Path:
    """Return the manifest folder: ``$RADIOLIB_MANIFESTS``, else the package's own."""
    return package_folder("data_manifests", ENV_MANIFESTS)


def _relative(value: Any, where: str, *, folder_ok: bool) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{where}: expected a relative path, got {value!r}")
    pure = PurePosixPath(value)
    if pure.is_absolute() or ".." in pure.parts or "\\" in value or re.match(r"^[A-Za-z]:", value):
        raise ConfigError(f"{where}: {value!r} must be a relative path inside the folder "
                          "(no leading '/', no '..')")
    if value.endswith("/") and not folder_ok:
        raise ConfigError(f"{where}: {value!r} is a folder; a downloadable file needs a file name")
    return value


def _text(raw: Mapping[str, Any], key: str, where: str) -> str:
    value = raw.get(key)
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{where}: '{key}' must be a non-empty string, got {value!r}")
    return " ".join(value.split())


def _file_entry(raw: Any, where: str, downloadable: bool) -> FileEntry:
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{where}: expected a mapping with keys {sorted(_FILE_KEYS)}")
    missing = sorted(_FILE_KEYS - set(raw))
    if missing:
        raise ConfigError(f"{where}: missing {', '.join(missing)} (every file needs "
                          f"{', '.join(sorted(_FILE_KEYS))})")
    unknown = sorted(set(raw) - _FILE_KEYS - {"note"})
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {', '.join(unknown)}")
    url = raw["url"]
    if not isinstance(url, str) or not _URL.match(url):
        raise ConfigError(f"{where}.url: expected an http(s) or ftp URL, got {url!r}")
    sha, size = raw["sha256"], raw["size"]
    if sha is None or size is None:
        if downloadable:
            raise ConfigError(f"{where}: sha256 and size are required when downloadable is true")
    elif not isinstance(sha, str) or not _SHA256.match(sha):
        raise ConfigError(f"{where}.sha256: expected 64 lowercase hex digits, got {sha!r}")
    if size is not None and (isinstance(size, bool) or not isinstance(size, int) or size < 0):
        raise ConfigError(f"{where}.size: expected a byte count (int >= 0), got {size!r}")
    extract = raw["extract"]
    if extract not in EXTRACT_KINDS:
        raise ConfigError(f"{where}.extract: unknown {extract!r}; use one of "
                          f"{', '.join(EXTRACT_KINDS)}")
    note = raw.get("note") or ""
    return FileEntry(
        path=_relative(raw["path"], f"{where}.path", folder_ok=not downloadable),
        url=url,
        mirror=_relative(raw["mirror"], f"{where}.mirror", folder_ok=not downloadable),
        sha256=sha,
        size=size,
        extract=extract,
        note=" ".join(str(note).split()),
    )


def load_manifest(path: str | os.PathLike[str]) -> Manifest:
    """Read and validate one manifest file, raising ``ConfigError`` with the faulty field."""
    path = Path(path)
    try:
        raw = yaml.load(path.read_text(encoding="utf-8"), Loader=_LOADER)
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"cannot read manifest {path}: {exc}") from None
    where = str(path)
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{where}: expected a YAML mapping at the top level")
    missing = sorted(_TOP_KEYS - set(raw))
    if missing:
        raise ConfigError(f"{where}: missing {', '.join(missing)}")
    unknown = sorted(set(raw) - _TOP_KEYS - {"instructions"})
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {', '.join(unknown)}")
    name = raw["name"]
    if not isinstance(name, str) or not _NAME.match(name) or name != path.stem:
        raise ConfigError(f"{where}: name {name!r} must be lower_snake_case and match the file "
                          f"name {path.stem!r}")
    downloadable = raw["downloadable"]
    if not isinstance(downloadable, bool):
        raise ConfigError(f"{where}: downloadable must be true or false, got {downloadable!r}")
    instructions = " ".join(str(raw.get("instructions") or "").split())
    if not downloadable and not instructions:
        raise ConfigError(f"{where}: a dataset with downloadable: false needs 'instructions' "
                          "(how to obtain the files and where to put them)")
    files = raw["files"]
    if not isinstance(files, list) or not files:
        raise ConfigError(f"{where}: 'files' must be a non-empty list")
    entries = tuple(_file_entry(f, f"{where}: files[{i}]", downloadable)
                    for i, f in enumerate(files))
    layout = raw["layout"]
    if not isinstance(layout, Mapping) or not all(isinstance(k, str) for k in layout):
        raise ConfigError(f"{where}: 'layout' must map paths to descriptions")
    return Manifest(
        name=name,
        title=_text(raw, "title", where),
        description=_text(raw, "description", where),
        citation=_text(raw, "citation", where),
        licence=_text(raw, "licence", where),
        homepage=_text(raw, "homepage", where),
        files=entries,
        layout=MappingProxyType({k: " ".join(str(v).split()) for k, v in layout.items()}),
        downloadable=downloadable,
        instructions=instructions,
        source=path,
    )


def list_datasets() -> list[Manifest]:
    """Return every manifest of the manifest folder, sorted by name."""
    folder = manifest_dir()
    if not folder.is_dir():
        raise ConfigError(f"manifest folder {folder} does not exist (set ${ENV_MANIFESTS})")
    return [load_manifest(p) for p in sorted(folder.glob("*.yaml"))]


def get_manifest(name: str) -> Manifest:
    """Return the manifest called ``name``; ``ConfigError`` listing the valid names otherwise."""
    folder = manifest_dir()
    path = folder / f"{name}.yaml"
    if isinstance(name, str) and _NAME.match(name) and path.is_file():
        return load_manifest(path)
    valid = ", ".join(p.stem for p in sorted(folder.glob("*.yaml"))) or "(none)"
    raise ConfigError(f"unknown dataset {name!r}; valid names: {valid} "
                      f"(manifests in {folder})")
