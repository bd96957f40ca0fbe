"""Fixtures for the data tests: an isolated environment, the shared mirror, toy datasets."""

from __future__ import annotations

import hashlib
import importlib
import io
import tarfile
import urllib.parse
from pathlib import Path

import pytest
import requests
import yaml

#: The real small data kept beside the project (never copied into the repository).
SHARED_DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"


@pytest.fixture(autouse=True)
def isolated_env(monkeypatch, tmp_path):
    """No test reads the user's data folder, mirror or manifests, or goes through a proxy."""
    for var in ("RADIOLIB_MIRROR", "RADIOLIB_MANIFESTS", "HTTP_PROXY", "HTTPS_PROXY",
                "http_proxy", "https_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("RADIOLIB_DATA", str(tmp_path / "default-data"))
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")


@pytest.fixture(autouse=True)
def offline(monkeypatch):
    """Downloads may only reach 127.0.0.1: tests never use the internet, even when it is there."""
    module = importlib.import_module("radiolib.data.fetch")
    real = module._http_downloader

    def guarded(progress):
        downloader = real(progress)

        def download(url, *args, **kwargs):
            host = urllib.parse.urlsplit(url).hostname
            if host not in ("127.0.0.1", "localhost"):
                raise requests.ConnectionError(f"tests do not use the network (host {host})")
            return downloader(url, *args, **kwargs)

        return download

    monkeypatch.setattr(module, "_http_downloader", guarded)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not (SHARED_DATA / "README.md").is_file():
        pytest.skip(f"the shared test data are not at {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture(scope="session")
def real_data_dir(tmp_path_factory) -> Path:
    """One data folder for all loader tests, so archives are unpacked once per session."""
    return tmp_path_factory.mktemp("radiolib-data")


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def make_targz(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


class Toy:
    """A toy dataset 'toy': a text file and a tar.gz, a mirror holding them, its manifest."""

    def __init__(self, root: Path, monkeypatch):
        self.root = root
        self.manifests = root / "manifests"
        self.mirror = root / "mirror"
        self.data = root / "data"
        self.manifests.mkdir(parents=True)
        (self.mirror / "toy").mkdir(parents=True)
        self.files = {
            "hello.txt": b"hello radio sky\n" * 1000,
            "pack.tar.gz": make_targz({"pack/a.txt": b"alpha", "pack/sub/b.txt": b"beta"}),
        }
        for name, data in self.files.items():
            (self.mirror / "toy" / name).write_bytes(data)
        self.write_manifest()
        monkeypatch.setenv("RADIOLIB_MANIFESTS", str(self.manifests))

    def entry(self, name: str, url: str | None = None) -> dict:
        data = self.files[name]
        return {"path": name, "url": url or f"https://example.org/toy/{name}",
                "mirror": f"toy/{name}", "sha256": sha256(data), "size": len(data),
                "extract": "tar" if name.endswith(".tar.gz") else "none"}

    def write_manifest(self, files: list[dict] | None = None, **overrides) -> Path:
        doc = {"name": "toy", "title": "Toy dataset", "description": "For tests.",
               "citation": "Nobody 2024", "licence": "CC0", "homepage": "https://example.org",
               "downloadable": True,
               "files": files if files is not None else [self.entry(n) for n in self.files],
               "layout": {"hello.txt": "text", "pack/": "unpacked archive"}}
        doc.update(overrides)
        path = self.manifests / f"{doc['name']}.yaml"
        path.write_text(yaml.safe_dump(doc, sort_keys=False))
        return path


@pytest.fixture
def toy(tmp_path, monkeypatch) -> Toy:
    return Toy(tmp_path / "toy", monkeypatch)


@pytest.fixture
def helpers():
    """Small builders shared by the test modules (conftest is not importable by name)."""
    from types import SimpleNamespace

    return SimpleNamespace(sha256=sha256, make_targz=make_targz)
