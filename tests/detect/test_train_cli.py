"""`radiolib detect train`: a few steps on the JSON fixture, then `radiolib detect` uses it."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from radiolib.cli import main
from radiolib.detect import load_detector
from radiolib.outputs import read_marker

#: Few proposals and a small batch, so that a step takes about a second on a CPU.
FAST = ["--set", "batch_size=2", "--set", "rpn_pre_nms_top_n_train=200",
        "--set", "rpn_post_nms_top_n_train=100", "--set", "rpn_pre_nms_top_n_test=100",
        "--set", "rpn_post_nms_top_n_test=50", "--set", "box_batch_size_per_image=32",
        "--set", "rpn_batch_size_per_image=64", "--set", "image_size=64"]


@pytest.mark.slow
def test_train_then_detect(json_dataset, tmp_path, capsys):
    root, field, *_ = json_dataset
    run = tmp_path / "run"
    args = ["detect", "train", "--data", str(root / "dataset.txt"), "--init", "random:resnet18",
            "--out", str(run), "--steps", "3", "--trainable-layers", "2", "--device", "cpu",
            "--quiet", *FAST]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "trained 3 steps" in out and str(run / "detector.pt") in out
    losses = pd.read_csv(run / "losses.csv")
    assert len(losses) == 3 and np.isfinite(losses["loss"]).all()
    assert read_marker(run)["command"] == "detect train"
    model, config = load_detector(run, device="cpu")
    assert config.trainable_layers == 2 and config.image_size == 64
    assert config.batch_size == 2

    # the trained weights are those saved: the heads moved away from a fresh detector's
    from radiolib.detect import build_detector

    fresh = build_detector(config, "random:resnet18", device="cpu")
    assert not torch.equal(model.roi_heads.box_predictor.cls_score.weight,
                           fresh.roi_heads.box_predictor.cls_score.weight)

    # `radiolib detect` loads the run and writes a catalogue of the simulated field
    assert main(["detect", str(field.image_path), "--model", str(run), "--out",
                 str(tmp_path / "cat"), "--device", "cpu", "--quiet"]) == 0
    assert "detections" in capsys.readouterr().out
    stem = field.image_path.stem
    table = pd.read_csv(tmp_path / "cat" / f"{stem}.csv")
    assert list(table.columns[:4]) == ["id", "ra", "dec", "class"]
    assert (tmp_path / "cat" / f"{stem}.fits").is_file()
    assert (tmp_path / "cat" / f"{stem}.reg").is_file()

    # an existing run is kept unless --overwrite, and then replaced
    before = (run / "detector.pt").stat().st_mtime_ns
    assert main(args) == 2
    assert "--overwrite" in capsys.readouterr().err
    assert (run / "detector.pt").stat().st_mtime_ns == before
    assert main([*args, "--overwrite", "--steps", "1"]) == 0
    assert len(pd.read_csv(run / "losses.csv")) == 1


def test_bad_data_or_init_is_one_line(json_dataset, tmp_path, capsys):
    root, *_ = json_dataset
    (root / "img1.json").write_text("{not json")
    base = ["detect-train", "--init", "random:resnet18", "--steps", "1", "--device", "cpu",
            "--quiet"]
    assert main([*base, "--data", str(root), "--out", str(tmp_path / "r1")]) == 2
    err = capsys.readouterr().err.strip()
    assert "img1.json: not valid JSON" in err and "\n" not in err
    assert not (tmp_path / "r1" / "detector.pt").exists()
    assert main([*base, "--data", str(root / "img0.json"), "--out", str(tmp_path / "r2"),
                 "--init", str(tmp_path / "no_such_run")]) == 2
    assert "\n" not in capsys.readouterr().err.strip()
    assert main([*base, "--data", str(root / "img0.json"), "--out", str(tmp_path / "r3"),
                 "--set", "bogus=1"]) == 2
    assert "unknown detector config key" in capsys.readouterr().err
