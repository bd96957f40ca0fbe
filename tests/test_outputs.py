"""radiolib.outputs: an overwrite replaces only what radiolib wrote, never an input."""

from __future__ import annotations

import os

import pytest

from radiolib.outputs import (
    MARKER,
    OutputError,
    check_files,
    check_folder,
    check_replaceable,
    clear_folder,
    read_marker,
    write_marker,
)


def make_output(folder, command="tile", files=("a.npy", "sub/b.npy")):
    for rel in files:
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        (folder / rel).write_text(rel)
    write_marker(folder, command, files)
    return folder


def test_new_or_empty_folder_needs_no_overwrite(tmp_path):
    assert check_folder(tmp_path / "new", "tile") is False
    (tmp_path / "empty").mkdir()
    assert check_folder(tmp_path / "empty", "tile") is False


def test_existing_output_needs_overwrite_and_is_then_replaceable(tmp_path):
    out = make_output(tmp_path / "out")
    with pytest.raises(OutputError, match=r"earlier `radiolib tile`; choose another output "
                                          r"folder or pass --overwrite"):
        check_folder(out, "tile")
    assert check_folder(out, "tile", overwrite=True) is True
    (out / ".a.npy.x1y2.npy").write_text("left by a killed write")  # our temporary: ours
    files = check_replaceable(out, "tile")
    assert files == [".a.npy.x1y2.npy", "a.npy", "sub/b.npy"]
    clear_folder(out, files)
    assert list(out.iterdir()) == []


def test_user_files_are_never_replaced(tmp_path):
    out = make_output(tmp_path / "out")
    (out / "notes.txt").write_text("mine")
    with pytest.raises(OutputError, match=r"holds notes\.txt, which radiolib did not write"):
        check_folder(out, "tile", overwrite=True)
    plain = tmp_path / "plain"
    plain.mkdir()
    (plain / "thesis.tex").write_text("mine")
    with pytest.raises(OutputError, match=r"radiolib did not write it \(no \.radiolib-output"
                                          r"\.json\); it holds thesis\.tex"):
        check_folder(plain, "tile", overwrite=True)
    with pytest.raises(OutputError, match=r"holds files radiolib did not write \(thesis\.tex\)"):
        check_folder(plain, "tile")
    assert (out / "notes.txt").read_text() == "mine" and (plain / "thesis.tex").is_file()


def test_a_folder_holding_an_input_or_another_commands_output_is_refused(tmp_path):
    out = make_output(tmp_path / "out", files=("a.npy", "mosaic.fits"))
    with pytest.raises(OutputError, match=r"it holds the input .*mosaic\.fits"):
        check_folder(out, "tile", overwrite=True, inputs=[out / "mosaic.fits"])
    with pytest.raises(OutputError, match=r"output of `radiolib tile`, not of `radiolib "
                                          r"preprocess`"):
        check_folder(out, "preprocess", overwrite=True)
    with pytest.raises(OutputError, match="earlier `radiolib tile`; choose another output "
                                          "folder$"):
        check_folder(out, "preprocess")


def test_the_current_folder_and_a_file_are_refused(tmp_path, monkeypatch):
    out = make_output(tmp_path / "out")
    monkeypatch.chdir(out)
    with pytest.raises(OutputError, match="current folder"):
        check_folder(".", "tile", overwrite=True)
    (tmp_path / "file").write_text("x")
    with pytest.raises(OutputError, match="is a file, not a folder"):
        check_folder(tmp_path / "file", "tile")
    with pytest.raises(OutputError, match="is a file, not a folder"):
        check_files(tmp_path / "file", "simulate", ["a.fits"])


def test_legacy_outputs_are_recognised_by_the_callback(tmp_path):
    out = tmp_path / "old"
    out.mkdir()
    (out / "index.csv").write_text("x")
    assert check_replaceable(out, "tile", legacy=lambda f: ["index.csv"]) == ["index.csv"]
    with pytest.raises(OutputError, match="no .radiolib-output.json"):
        check_replaceable(out, "tile", legacy=lambda f: None)


def test_check_files_replaces_only_listed_files(tmp_path):
    out = make_output(tmp_path / "sim", command="simulate", files=("s_0.fits",))
    check_files(out, "simulate", ["s_0.fits", "s_1.fits"])  # ours, and a new one
    (out / "s_1.fits").write_text("a user's file")
    with pytest.raises(OutputError, match=r"refusing to replace s_1\.fits in .*: radiolib "
                                          r"simulate did not write it"):
        check_files(out, "simulate", ["s_1.fits"])
    check_files(out, "simulate", ["s_1.fits"], legacy=lambda p: True)
    write_marker(out, "simulate", ["s_2.fits"], add=True)
    assert read_marker(out)["files"] == ["s_0.fits", "s_2.fits"]
    tiles = make_output(tmp_path / "tiles")
    with pytest.raises(OutputError, match="holds the output of `radiolib tile`"):
        check_files(tiles, "simulate", ["x.fits"])


def test_a_broken_marker_is_no_marker(tmp_path):
    (tmp_path / MARKER).write_text("{not json")
    assert read_marker(tmp_path) is None
    (tmp_path / MARKER).write_text('{"format": "radiolib.output", "command": 3, "files": []}')
    assert read_marker(tmp_path) is None


def test_links_are_listed_not_followed(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "precious.txt").write_text("mine")
    out = make_output(tmp_path / "out", files=("a.npy",))
    os.symlink(outside, out / "link")
    with pytest.raises(OutputError, match="holds link, which radiolib did not write"):
        check_replaceable(out, "tile")
    assert (outside / "precious.txt").is_file()
