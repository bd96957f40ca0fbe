import functools
import hashlib
import http.server
import importlib
import json
import os
import socket
import threading
import warnings
from pathlib import Path

import pytest
import requests

from radiolib.data import data_root, dataset_dir, fetch, file_path, mirror_root
from radiolib.errors import DataError

# the function radiolib.data.fetch shadows the module of the same name as an attribute
fetch_module = importlib.import_module("radiolib.data.fetch")


def _files(root):
    """Files under root, except the per-dataset lock files that fetch keeps beside them."""
    return sorted(str(p.relative_to(root)) for p in root.rglob("*")
                  if p.is_file() and p.suffix != ".lock")


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def http_server(toy):
    """Serve the toy mirror folder on 127.0.0.1 (the real network path, offline)."""

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    handler = functools.partial(Quiet, directory=str(toy.mirror))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_folders_from_arguments_and_environment(tmp_path, monkeypatch):
    assert data_root() == tmp_path / "default-data"  # set by the autouse fixture
    assert data_root(tmp_path / "x") == tmp_path / "x"
    assert mirror_root() is None
    monkeypatch.setenv("RADIOLIB_MIRROR", str(tmp_path / "m"))
    assert mirror_root() == tmp_path / "m"
    assert mirror_root(tmp_path / "n") == tmp_path / "n"
    monkeypatch.delenv("RADIOLIB_DATA")
    assert data_root().name == "radiolib"  # pooch's user cache


def test_fetch_copies_from_mirror_and_extracts(toy):
    root = fetch("toy", data_dir=toy.data, mirror=toy.mirror, progress=False)
    assert root == toy.data / "toy" == dataset_dir("toy", data_dir=toy.data)
    assert (root / "hello.txt").read_bytes() == toy.files["hello.txt"]
    assert (root / "pack" / "sub" / "b.txt").read_bytes() == b"beta"
    marker = json.loads((root / ".pack.tar.gz.extracted").read_text())
    assert marker["members"] == ["pack"]
    assert file_path("toy", "pack/a.txt", data_dir=toy.data).read_bytes() == b"alpha"
    with pytest.raises(DataError, match=r"not found: run `radiolib fetch toy`"):
        file_path("toy", "pack/zzz.txt", data_dir=toy.data)
    with pytest.raises(DataError, match="outside dataset"):
        file_path("toy", "../../etc/passwd", data_dir=toy.data)


def test_mirror_from_environment(toy, monkeypatch):
    monkeypatch.setenv("RADIOLIB_MIRROR", str(toy.mirror))
    monkeypatch.setenv("RADIOLIB_DATA", str(toy.data))
    assert (fetch("toy", progress=False) / "hello.txt").is_file()


def test_present_file_is_not_copied_again_nor_re_extracted(toy, monkeypatch):
    root = fetch("toy", data_dir=toy.data, mirror=toy.mirror, progress=False)
    stamp = {p: (root / p).stat().st_mtime_ns for p in ("hello.txt", "pack/a.txt")}
    calls = []
    original = fetch_module._MirrorCopy.__call__
    monkeypatch.setattr(fetch_module._MirrorCopy, "__call__",
                        lambda self, *a, **k: calls.append(a[0]) or original(self, *a, **k))
    fetch("toy", data_dir=toy.data, mirror=toy.mirror, progress=False)
    assert calls == []
    assert {p: (root / p).stat().st_mtime_ns for p in stamp} == stamp
    # a corrupted local copy is replaced from the mirror, and the archive re-extracted if gone
    (root / "hello.txt").write_bytes(b"garbage")
    (root / "pack" / "a.txt").unlink()
    (root / "pack").rename(root / "moved")
    with pytest.warns(UserWarning, match="restored from the verified archive"):
        fetch("toy", data_dir=toy.data, mirror=toy.mirror, progress=False)
    assert len(calls) == 1 and (root / "hello.txt").read_bytes() == toy.files["hello.txt"]
    assert (root / "pack" / "a.txt").read_bytes() == b"alpha"


def test_hash_mismatch_is_refused_and_nothing_kept(toy):
    (toy.mirror / "toy" / "hello.txt").write_bytes(b"tampered")
    expected = toy.entry("hello.txt")["sha256"]
    with pytest.raises(DataError) as info:
        fetch("toy", data_dir=toy.data, mirror=toy.mirror, progress=False)
    message = str(info.value)
    assert "sha256 mismatch for file 'hello.txt' of dataset 'toy'" in message
    assert expected in message and "was not kept" in message
    assert info.value.__cause__ is None and info.value.__suppress_context__
    assert _files(toy.data) == []


def test_missing_everywhere_gives_one_clear_message(toy):
    url = f"http://127.0.0.1:{_closed_port()}/toy/hello.txt"
    toy.write_manifest(files=[toy.entry("hello.txt", url=url)])
    (toy.mirror / "toy" / "hello.txt").unlink()
    with pytest.raises(DataError) as info:
        fetch("toy", data_dir=toy.data, mirror=toy.mirror, progress=False)
    message = str(info.value)
    assert "cannot get file 'hello.txt' of dataset 'toy'" in message
    assert url in message and "ConnectionError" in message
    assert f"not in the mirror either (looked for {toy.mirror / 'toy' / 'hello.txt'})" in message
    assert "export RADIOLIB_MIRROR=/path/to/mirror" in message
    assert "<mirror>/toy/hello.txt" in message
    assert info.value.__suppress_context__
    with pytest.raises(DataError, match="RADIOLIB_MIRROR is not set"):
        fetch("toy", data_dir=toy.data, progress=False)
    assert _files(toy.data) == []


def test_download_over_http(toy, http_server):
    toy.write_manifest(files=[toy.entry(n, url=f"{http_server}/toy/{n}") for n in toy.files])
    root = fetch("toy", data_dir=toy.data, mirror=None, progress=False)
    assert (root / "hello.txt").read_bytes() == toy.files["hello.txt"]
    assert (root / "pack" / "a.txt").read_bytes() == b"alpha"


def test_download_with_wrong_hash_over_http(toy, http_server):
    entry = toy.entry("hello.txt", url=f"{http_server}/toy/pack.tar.gz")
    toy.write_manifest(files=[entry])
    with pytest.raises(DataError, match="sha256 mismatch .* was not kept"):
        fetch("toy", data_dir=toy.data, progress=False)
    assert _files(toy.data) == []


def test_http_404_is_a_clear_error(toy, http_server):
    toy.write_manifest(files=[toy.entry("hello.txt", url=f"{http_server}/nothing-here")])
    with pytest.raises(DataError, match=r"download from http://127\.0\.0\.1:\d+/nothing-here "
                                        r"failed \(HTTPError: 404"):
        fetch("toy", data_dir=toy.data, progress=False)


@pytest.mark.parametrize("error", [requests.ConnectionError("connection reset by peer"),
                                   OSError("disk vanished"), KeyboardInterrupt()])
def test_interrupted_download_leaves_no_partial_file(toy, monkeypatch, error):
    def half_then_fail(url, output_file, pooch_obj, **kwargs):
        data = toy.files["hello.txt"]
        with open(output_file, "wb") as out:
            out.write(data[: len(data) // 2])
        raise error

    monkeypatch.setattr(fetch_module, "_http_downloader", lambda progress: half_then_fail)
    expected = KeyboardInterrupt if isinstance(error, KeyboardInterrupt) else DataError
    with pytest.raises(expected):
        fetch("toy", data_dir=toy.data, mirror=None, progress=False)
    assert _files(toy.data) == []


def test_not_downloadable_gives_the_instructions(toy):
    entry = {**toy.entry("hello.txt"), "sha256": None, "size": None}
    toy.write_manifest(files=[entry], downloadable=False,
                       instructions="Email the survey team and put the files in images/.")
    with pytest.raises(DataError, match=r"'toy' \(Toy dataset\) cannot be fetched automatically: "
                                        r"Email the survey team"):
        fetch("toy", data_dir=toy.data)
    assert not (toy.data / "toy").exists()


def test_real_placeholder_refuses(tmp_path):
    with pytest.raises(DataError, match=r"mgcls_dr1.*cannot be fetched automatically.*7epd-w356"):
        fetch("mgcls_dr1", data_dir=tmp_path)


def test_unsafe_archive_in_a_dataset_is_refused(toy, helpers):
    bad = helpers.make_targz({"../escaped.txt": b"x"})
    toy.files["pack.tar.gz"] = bad
    (toy.mirror / "toy" / "pack.tar.gz").write_bytes(bad)
    toy.write_manifest()
    with pytest.raises(DataError, match="refusing to extract pack.tar.gz"):
        fetch("toy", data_dir=toy.data, mirror=toy.mirror, progress=False)
    assert not (toy.data / "escaped.txt").exists()
    assert not (toy.data / "toy" / ".pack.tar.gz.extracted").exists()


def test_concurrent_fetches_do_not_collide(toy):
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(4) as pool:
        roots = list(pool.map(lambda _: fetch("toy", data_dir=toy.data, mirror=toy.mirror,
                                              progress=False), range(4)))
    assert len(set(roots)) == 1
    assert (roots[0] / "pack" / "a.txt").read_bytes() == b"alpha"
    assert not [p for p in roots[0].iterdir() if p.name.startswith((".extract-", "tmp"))]


def test_fetched_files_are_world_readable(toy):
    root = fetch("toy", data_dir=toy.data, mirror=toy.mirror, progress=False)
    assert (root / "hello.txt").stat().st_mode & 0o044 == 0o044


def test_a_modified_extracted_member_is_restored_from_the_archive(toy):
    root = fetch("toy", data_dir=toy.data, mirror=toy.mirror, progress=False)
    marker = json.loads((root / ".pack.tar.gz.extracted").read_text())
    assert marker["files"] == {"pack/a.txt": hashlib.sha256(b"alpha").hexdigest(),
                               "pack/sub/b.txt": hashlib.sha256(b"beta").hexdigest()}
    (root / "pack" / "a.txt").write_bytes(b"alphx")  # same size, one byte changed
    (root / "pack" / "mine.txt").write_text("a user's file beside the members")
    with pytest.warns(UserWarning, match=r"toy: 1 file\(s\) unpacked from pack\.tar\.gz were "
                                         r"modified or removed since \(pack/a\.txt\)"):
        fetch("toy", data_dir=toy.data, mirror=toy.mirror, progress=False)
    assert (root / "pack" / "a.txt").read_bytes() == b"alpha"
    assert (root / "pack" / "mine.txt").read_text() == "a user's file beside the members"
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # intact now: no warning, nothing rewritten
        stamp = (root / "pack" / "sub" / "b.txt").stat().st_mtime_ns
        fetch("toy", data_dir=toy.data, mirror=toy.mirror, progress=False)
        assert (root / "pack" / "sub" / "b.txt").stat().st_mtime_ns == stamp


def test_an_extraction_without_a_record_of_hashes_is_checked_against_the_archive(toy):
    root = fetch("toy", data_dir=toy.data, mirror=toy.mirror, progress=False)
    marker = root / ".pack.tar.gz.extracted"
    old = json.loads(marker.read_text())
    del old["files"]  # as an older radiolib wrote it
    marker.write_text(json.dumps(old))
    (root / "pack" / "sub" / "b.txt").write_bytes(b"tampered")
    fetch("toy", data_dir=toy.data, mirror=toy.mirror, progress=False)
    assert (root / "pack" / "sub" / "b.txt").read_bytes() == b"beta"
    assert set(json.loads(marker.read_text())["files"]) == {"pack/a.txt", "pack/sub/b.txt"}


def test_a_folder_in_the_place_of_a_member_is_a_clear_error(toy):
    root = fetch("toy", data_dir=toy.data, mirror=toy.mirror, progress=False)
    (root / "pack" / "a.txt").unlink()
    (root / "pack" / "a.txt").mkdir()
    (root / "pack" / "a.txt" / "kept.txt").write_text("mine")
    with pytest.raises(DataError, match=r"cannot restore pack/a\.txt from pack\.tar\.gz: a "
                                        r"folder is in its place"):
        fetch("toy", data_dir=toy.data, mirror=toy.mirror, progress=False)
    assert (root / "pack" / "a.txt" / "kept.txt").read_text() == "mine"
    assert not [p for p in root.iterdir() if p.name.startswith(".extract-")]


def test_unwritable_data_folder_says_so_instead_of_not_found(toy, monkeypatch):
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda p, mode, **kw: False
                        if Path(p) == toy.data / "toy" else real_access(p, mode, **kw))
    with pytest.raises(DataError, match=r"toy cannot be written; give --data-dir"):
        fetch("toy", data_dir=toy.data, mirror=toy.mirror, progress=False)
    assert not any((toy.data / "toy").iterdir())  # nothing written, nothing left half-done
