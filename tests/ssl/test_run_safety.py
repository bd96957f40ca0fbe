"""Runs are never lost or silently corrupted (issue 12): a finished run is not overwritten
without --overwrite, --resume needs a checkpoint and the same data, and a damaged checkpoint is
refused with one line."""

from __future__ import annotations

import json
import os
import struct
import zipfile

import pytest
import torch

from radiolib.cli import main
from radiolib.errors import ConfigError, DataError
from radiolib.outputs import MARKER
from radiolib.ssl import ImageTensors, load_checkpoint, train
from radiolib.ssl.cache import cached_train
from radiolib.ssl.train import read_metrics

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def finished(tmp_path_factory, images3):
    """A finished 1-epoch SimCLR run (3 steps) and its files' bytes."""
    from _tiny import TINY_SIMCLR

    from radiolib.ssl import SimCLRConfig

    out = tmp_path_factory.mktemp("finished") / "run"
    saved = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        train(SimCLRConfig(**{**TINY_SIMCLR, "epochs": 1}), images3, out_dir=out,
              progress=False)
    finally:
        torch.set_num_threads(saved)
    return out


def copy_run(src, dst):
    dst.mkdir()
    for p in src.iterdir():
        (dst / p.name).write_bytes(p.read_bytes())
    return dst


def snapshot(folder):
    return {p.relative_to(folder): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def flip_tensor_bytes(path, *, offset_fraction=0.5):
    """Flip one byte inside the largest tensor of a torch zip file (torch.load does not see it)."""
    with zipfile.ZipFile(path) as zf:
        info = max((i for i in zf.infolist() if "/data/" in i.filename),
                   key=lambda i: i.file_size)
    with open(path, "r+b") as f:
        f.seek(info.header_offset)
        header = f.read(30)
        name_len, extra_len = struct.unpack("<HH", header[26:30])
        at = info.header_offset + 30 + name_len + extra_len + int(info.file_size * offset_fraction)
        f.seek(at)
        byte = f.read(1)
        f.seek(at)
        f.write(bytes([byte[0] ^ 0xFF]))


def test_a_finished_run_is_not_overwritten_without_overwrite(finished, simclr_config, images3,
                                                             tmp_path):
    run = copy_run(finished, tmp_path / "run")
    before = snapshot(run)
    with pytest.raises(FileExistsError, match=r"holds the output of an earlier `radiolib "
                                              r"pretrain`.*--resume.*--overwrite"):
        train(simclr_config, images3, out_dir=run, progress=False)
    assert snapshot(run) == before  # checkpoint and metrics untouched, nothing appended
    result = train(simclr_config, images3, out_dir=run, overwrite=True, max_steps=1,
                   progress=False)
    assert result.step == 1
    starts = read_metrics(run).query("kind == 'start'")
    assert len(starts) == 1  # one run in the log, not two
    assert sorted(json.loads((run / MARKER).read_text())["files"]) == \
        ["checkpoint.pt", "config.yaml", "metrics.jsonl"]
    with pytest.raises(ConfigError, match="not both"):
        train(simclr_config, images3, out_dir=run, overwrite=True, resume=True)


def test_cli_pretrain_over_a_finished_run_says_resume_or_overwrite(finished, tileset_dir,
                                                                   tmp_path, capsys):
    run = copy_run(finished, tmp_path / "run")
    before = snapshot(run)
    assert main(["pretrain", "--config", "simclr_riggi", "--data", str(tileset_dir), "--out",
                 str(run), "--quiet", "--set", "image_size=32"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--resume" in err and "--overwrite" in err
    assert snapshot(run) == before


def test_overwrite_never_removes_user_files_or_the_data(finished, simclr_config, images3,
                                                        tileset_dir, tmp_path, capsys):
    run = copy_run(finished, tmp_path / "run")
    (run / "notes.md").write_text("my notes on this run")
    with pytest.raises(FileExistsError, match="holds notes.md, which radiolib did not write"):
        train(simclr_config, images3, out_dir=run, overwrite=True)
    assert (run / "notes.md").is_file() and (run / "checkpoint.pt").is_file()
    tiles = snapshot(tileset_dir)
    assert main(["pretrain", "--config", "simclr_riggi", "--data", str(tileset_dir), "--out",
                 str(tileset_dir), "--overwrite", "--quiet", "--set", "image_size=32"]) == 2
    assert "it holds the input" in capsys.readouterr().err
    assert snapshot(tileset_dir) == tiles


def test_resume_with_nothing_to_resume_says_so_and_stops(simclr_config, images3, tmp_path):
    with pytest.raises(DataError, match=r"nothing to resume in .*: no checkpoint.pt there; "
                                        r"start a new run without --resume"):
        train(simclr_config, images3, out_dir=tmp_path / "new", resume=True)
    assert not (tmp_path / "new").exists()  # nothing started from scratch
    (tmp_path / "killed").mkdir()  # a run killed before its first checkpoint
    (tmp_path / "killed" / "metrics.jsonl").write_text('{"kind": "start", "step": 0}\n')
    with pytest.raises(DataError, match="stopped before its first checkpoint; start it again "
                                        "with --overwrite"):
        train(simclr_config, images3, out_dir=tmp_path / "killed", resume=True)


def test_resume_on_other_data_is_refused_naming_both(simclr_config, images3, tmp_path):
    train(simclr_config, images3, out_dir=tmp_path, max_steps=1, progress=False)
    other = ImageTensors(images3.images[:16].clone(), source="/data/other_tiles")
    with pytest.raises(ConfigError) as info:
        train(simclr_config, other, out_dir=tmp_path, resume=True)
    message = str(info.value)
    stored = load_checkpoint(tmp_path / "checkpoint.pt")["data"]
    assert stored["n"] == 24 and stored["name"] == "24 images of 3x32x32"
    assert "cannot resume" in message and "24 images of 3x32x32" in message
    assert "/data/other_tiles (16 images" in message and stored["fingerprint"] in message
    same_size = ImageTensors(1 - images3.images)  # same shape, other pixels
    with pytest.raises(ConfigError, match="cannot resume"):
        train(simclr_config, same_size, out_dir=tmp_path, resume=True)
    assert train(simclr_config, images3, out_dir=tmp_path, resume=True, max_steps=2,
                 progress=False).step == 2  # the same data: resumed


def test_a_checkpoint_with_flipped_tensor_bytes_is_refused(finished, simclr_config, images3,
                                                           tmp_path, capsys):
    run = copy_run(finished, tmp_path / "run")
    flip_tensor_bytes(run / "checkpoint.pt")
    torch.load(run / "checkpoint.pt", weights_only=True)  # torch alone does not notice
    with pytest.raises(DataError, match="is corrupted: its content no longer matches the "
                                        "checksum"):
        load_checkpoint(run / "checkpoint.pt")
    with pytest.raises(DataError, match="corrupted"):
        train(simclr_config.replace(epochs=2), images3, out_dir=run, resume=True)


@pytest.mark.parametrize("damage", ["empty", "truncated", "random", "foreign", "pickle"])
def test_damaged_or_foreign_checkpoints_are_one_clear_line(damage, finished, tmp_path,
                                                           tileset_dir, capsys):
    run = copy_run(finished, tmp_path / "run")
    path = run / "checkpoint.pt"
    data = path.read_bytes()
    if damage == "empty":
        path.write_bytes(b"")
    elif damage == "truncated":
        path.write_bytes(data[: len(data) // 2])
    elif damage == "random":
        path.write_bytes(os.urandom(4096))
    elif damage == "foreign":
        torch.save({"state_dict": {"w": torch.zeros(3)}}, path)
    else:
        class Evil:
            def __reduce__(self):
                return (os.system, (f"touch {tmp_path / 'pwned'}",))
        torch.save({"x": Evil()}, path)
    expected = {"empty": "is empty", "truncated": "cannot be read: it is truncated",
                "random": "cannot be read", "foreign": "is not a radiolib SSL checkpoint",
                "pickle": "holds objects other than weights"}[damage]
    with pytest.raises(DataError, match=expected):
        load_checkpoint(path)
    assert main(["pretrain", "--config", "simclr_riggi", "--data", str(tileset_dir), "--out",
                 str(run), "--resume", "--quiet", "--set", "image_size=32"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and expected in err and "Traceback" not in err
    assert not (tmp_path / "pwned").exists()


def test_cached_train_restarts_a_run_killed_before_its_first_checkpoint(simclr_config,
                                                                        images3, tmp_path):
    first = cached_train(simclr_config, images3, cache_dir=tmp_path, max_steps=0)
    # as if killed before its first checkpoint: the config and the log are there, no checkpoint
    assert not first.checkpoint.exists() and (first.out_dir / "metrics.jsonl").is_file()
    again = cached_train(simclr_config, images3, cache_dir=tmp_path)
    assert again.out_dir == first.out_dir and again.checkpoint.is_file()
    assert len(read_metrics(again.out_dir).query("kind == 'start'")) == 1
    files = json.loads((again.out_dir / MARKER).read_text())["files"]
    assert "done.json" in files
