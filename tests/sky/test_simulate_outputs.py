"""`radiolib simulate` replaces only files it wrote itself."""

from __future__ import annotations

import json

from radiolib.cli import main
from radiolib.outputs import MARKER


def simulate(out, seed="1"):
    return main(["simulate", "--preset", "emupilot", "--size", "64", "--seed", seed,
                 "--out", str(out)])


def test_simulate_refuses_to_replace_a_user_file_of_the_same_name(tmp_path, capsys):
    (tmp_path / "emupilot_1_catalogue.csv").write_text("my own catalogue")
    (tmp_path / "notes.txt").write_text("mine")
    assert simulate(tmp_path) == 2
    err = capsys.readouterr().err
    assert "refusing to replace emupilot_1_catalogue.csv" in err and err.count("\n") == 1
    assert (tmp_path / "emupilot_1_catalogue.csv").read_text() == "my own catalogue"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["emupilot_1_catalogue.csv",
                                                         "notes.txt"]


def test_simulate_adds_to_a_folder_and_rewrites_its_own_files(tmp_path, capsys):
    (tmp_path / "notes.txt").write_text("mine")
    assert simulate(tmp_path) == 0 and simulate(tmp_path, "2") == 0
    assert simulate(tmp_path) == 0  # the same field again: its own files are replaced
    files = json.loads((tmp_path / MARKER).read_text())["files"]
    assert files == sorted(f"emupilot_{s}{e}" for s in (1, 2)
                           for e in (".fits", "_segmap.fits", "_catalogue.csv"))
    assert (tmp_path / "notes.txt").read_text() == "mine"
    (tmp_path / MARKER).unlink()  # a field simulated before markers: recognised by content
    assert simulate(tmp_path) == 0


def test_simulate_into_a_tileset_is_refused(tmp_path, capsys):
    (tmp_path / MARKER).write_text(json.dumps({"format": "radiolib.output", "command": "tile",
                                               "files": ["index.csv"]}))
    assert simulate(tmp_path) == 2
    assert "holds the output of `radiolib tile`" in capsys.readouterr().err
