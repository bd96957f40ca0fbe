"""`radiolib tile --overwrite` replaces only an earlier TileSet, never user files or the input."""

from __future__ import annotations

import json

from radiolib.cli import main
from radiolib.outputs import MARKER
from radiolib.tiling import TileSet


def snapshot(folder):
    return {p.relative_to(folder).as_posix(): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def tile(mosaic, out, *extra):
    return main(["tile", str(mosaic), "--mode", "hulk", "--size", "128", "--out", str(out),
                 *extra])


def test_overwrite_of_a_folder_with_user_files_is_refused(mosaic, tmp_path, capsys):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("three weeks of notes")
    (out / "sub").mkdir()
    (out / "sub" / "data.csv").write_text("1,2,3")
    before = snapshot(out)
    assert tile(mosaic, out, "--overwrite") == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "radiolib did not write it" in err
    assert "notes.txt" in err and "sub/data.csv" in err
    assert snapshot(out) == before  # nothing deleted, nothing added
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine", "mosaic.fits"]  # no temp


def test_overwrite_of_the_folder_holding_the_mosaic_is_refused(mosaic, tmp_path, capsys):
    before = snapshot(tmp_path)
    assert tile(mosaic, tmp_path, "--overwrite") == 2
    err = capsys.readouterr().err
    assert f"it holds the input {mosaic}" in err
    assert snapshot(tmp_path) == before


def test_overwrite_of_a_tileset_holding_the_input_is_refused(mosaic, tmp_path, capsys):
    out = tmp_path / "ts"
    assert tile(mosaic, out) == 0
    moved = out / "mosaic.fits"
    mosaic.rename(moved)  # the input now sits inside the earlier output
    capsys.readouterr()
    assert tile(moved, out, "--overwrite") == 2
    assert "it holds the input" in capsys.readouterr().err and moved.is_file()


def test_overwrite_replaces_an_earlier_tileset_only(mosaic, tmp_path, capsys):
    out = tmp_path / "ts"
    assert tile(mosaic, out) == 0
    marker = json.loads((out / MARKER).read_text())
    assert marker["command"] == "tile" and marker["inputs"] == [str(mosaic.resolve())]
    assert sorted(marker["files"]) == ["fields.json", "index.csv", "pixels/000.npy"]
    assert tile(mosaic, out) == 2  # no --overwrite: refused
    assert "pass --overwrite" in capsys.readouterr().err
    assert tile(mosaic, out, "--overwrite", "--size", "64") == 0
    assert TileSet.open(out).tile_size == 64
    (out / "my_labels.csv").write_text("tile,label")  # the user adds a file: now it is theirs
    assert tile(mosaic, out, "--overwrite") == 2
    assert "my_labels.csv" in capsys.readouterr().err and (out / "my_labels.csv").is_file()


def test_a_tileset_written_before_markers_is_still_replaceable(mosaic, tmp_path):
    out = tmp_path / "ts"
    assert tile(mosaic, out) == 0
    (out / MARKER).unlink()  # as radiolib wrote it before this change
    assert tile(mosaic, out, "--overwrite", "--size", "64") == 0
    assert TileSet.open(out).tile_size == 64
