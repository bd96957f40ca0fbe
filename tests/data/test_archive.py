import io
import os
import stat
import tarfile
import zipfile

import pytest

from radiolib.data import extract_archive
from radiolib.errors import DataError


def _tar(path, members):
    """members: list of (name, kind, payload): kind file|dir|symlink|hardlink|fifo."""
    with tarfile.open(path, "w:gz") as tar:
        for name, kind, payload in members:
            info = tarfile.TarInfo(name)
            if kind == "file":
                info.size = len(payload)
                tar.addfile(info, io.BytesIO(payload))
                continue
            info.type = {"dir": tarfile.DIRTYPE, "symlink": tarfile.SYMTYPE,
                         "hardlink": tarfile.LNKTYPE, "fifo": tarfile.FIFOTYPE}[kind]
            if kind in ("symlink", "hardlink"):
                info.linkname = payload
            tar.addfile(info)
    return path


def _zip(path, members):
    """members: list of (name, payload) or (name, target, 'symlink')."""
    with zipfile.ZipFile(path, "w") as zf:
        for name, payload, *kind in members:
            if kind:
                info = zipfile.ZipInfo(name)
                info.external_attr = (stat.S_IFLNK | 0o777) << 16
                zf.writestr(info, payload)
            else:
                zf.writestr(name, payload)
    return path


@pytest.fixture
def box(tmp_path):
    """An archive folder and a target folder inside a sandbox whose other files we watch."""
    (tmp_path / "work" / "dest").mkdir(parents=True)
    return tmp_path


def _everything(root):
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


TAR_ATTACKS = {
    "dotdot": [("ok.txt", "file", b"ok"), ("../evil", "file", b"x")],
    "nested-dotdot": [("a/../../evil", "file", b"x")],
    "absolute": [("/tmp/radiolib-evil-abs", "file", b"x")],
    "symlink-out": [("link", "symlink", "../../")],
    "symlink-absolute": [("link", "symlink", "/etc")],
    "hardlink-out": [("hard", "hardlink", "../../outside.txt")],
    "through-symlink": [("d", "symlink", "."), ("d/x.txt", "file", b"x")],
    "fifo": [("pipe", "fifo", None)],
}


@pytest.mark.parametrize("attack", sorted(TAR_ATTACKS))
def test_unsafe_tar_refused_and_nothing_written(box, attack):
    archive = _tar(box / "work" / "bad.tar.gz", TAR_ATTACKS[attack])
    before = _everything(box)
    with pytest.raises(DataError, match=r"refusing to extract bad\.tar\.gz: member .*nothing"):
        extract_archive(archive, box / "work" / "dest", kind="tar")
    assert _everything(box) == before
    assert not os.path.exists("/tmp/radiolib-evil-abs")


ZIP_ATTACKS = {
    "dotdot": [("ok.txt", b"ok"), ("../evil", b"x")],
    "absolute": [("/tmp/radiolib-evil-abs", b"x")],
    "backslash-dotdot": [("..\\evil", b"x")],
    "drive": [("C:/evil", b"x")],
    "symlink-out": [("link", "../../etc", "symlink")],
}


@pytest.mark.parametrize("attack", sorted(ZIP_ATTACKS))
def test_unsafe_zip_refused_and_nothing_written(box, attack):
    archive = _zip(box / "work" / "bad.zip", ZIP_ATTACKS[attack])
    before = _everything(box)
    with pytest.raises(DataError, match=r"refusing to extract bad\.zip"):
        extract_archive(archive, box / "work" / "dest", kind="zip")
    assert _everything(box) == before


def test_safe_tar_extracts_with_inner_link(box):
    archive = _tar(box / "a.tar.gz", [("top/", "dir", None), ("top/x.txt", "file", b"x"),
                                      ("top/link", "symlink", "x.txt"), ("./y.txt", "file", b"y")])
    dest = box / "work" / "dest"
    assert extract_archive(archive, dest, kind="tar") == ["top", "y.txt"]
    assert (dest / "top" / "link").read_bytes() == b"x"
    assert (dest / "y.txt").read_bytes() == b"y"
    assert not [p for p in dest.iterdir() if p.name.startswith(".extract-")]


def test_safe_zip_extracts_and_replaces_previous(box):
    dest = box / "work" / "dest"
    (dest / "top").mkdir()
    (dest / "top" / "stale.txt").write_text("old")
    archive = _zip(box / "a.zip", [("top/x.txt", b"x"), ("top/sub/", b""), ("top/l", "x.txt",
                                                                             "symlink")])
    assert extract_archive(archive, dest, kind="zip") == ["top"]
    assert sorted(p.name for p in (dest / "top").iterdir()) == ["l", "sub", "x.txt"]
    assert (dest / "top" / "l").read_bytes() == b"x"


@pytest.mark.parametrize("kind", ["tar", "zip"])
def test_corrupt_archive_is_a_data_error(box, kind):
    archive = box / f"broken.{kind}"
    archive.write_bytes(b"this is not an archive")
    with pytest.raises(DataError, match="cannot extract"):
        extract_archive(archive, box / "work" / "dest", kind=kind)
    assert list((box / "work" / "dest").iterdir()) == []


def test_unknown_kind():
    with pytest.raises(ValueError, match="unknown archive kind 'rar'"):
        extract_archive("x.rar", "dest", kind="rar")
