"""The training loop: bit-identical resumption, metrics log, evaluation callback, smart_hulk."""

import json

import matplotlib
import pytest
import torch
from _tiny import TINY_DINO, TINY_SIMCLR
from matplotlib.figure import Figure

from radiolib.errors import ConfigError
from radiolib.evaluate import count_mse_callback
from radiolib.plots.ssl import plot_learning_curve
from radiolib.ssl import DINOConfig, SimCLRConfig, load_checkpoint, train
from radiolib.ssl.train import read_metrics

matplotlib.use("Agg")

pytestmark = pytest.mark.usefixtures("one_thread")


def assert_same_weights(a, b):
    sa, sb = a.state_dict(), b.state_dict()
    assert sa.keys() == sb.keys()
    differ = [k for k in sa if not torch.equal(sa[k], sb[k])]
    assert not differ, f"{len(differ)} tensors differ, e.g. {differ[:3]}"


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory, images3, images1):
    """One full run per method (2 epochs of 3 steps), the reference for the resume tests."""
    tmp = tmp_path_factory.mktemp("full")
    saved = torch.get_num_threads()
    torch.set_num_threads(1)  # as the one_thread fixture of the tests that compare with these
    try:
        return {"simclr": train(SimCLRConfig(**TINY_SIMCLR), images3, out_dir=tmp / "simclr",
                                progress=False),
                "dino": train(DINOConfig(**TINY_DINO), images1, out_dir=tmp / "dino",
                              progress=False)}
    finally:
        torch.set_num_threads(saved)


@pytest.mark.parametrize("method, kills", [
    ("simclr", [2]),      # mid-epoch 0
    pytest.param("simclr", [3], marks=pytest.mark.slow),     # exactly at the end of epoch 0
    pytest.param("simclr", [1, 4], marks=pytest.mark.slow),  # killed twice, then mid-epoch 1
    ("dino", [2]),
    pytest.param("dino", [4, 5], marks=pytest.mark.slow),
])
def test_resumed_run_is_bit_identical(method, kills, uninterrupted, tmp_path, request):
    config = request.getfixturevalue(f"{method}_config")
    data = request.getfixturevalue("images3" if method == "simclr" else "images1")
    run = tmp_path / "run"
    for i, k in enumerate(kills):
        part = train(config, data, out_dir=run, resume=i > 0, max_steps=k, progress=False)
        assert part.step == k and not part.finished
        assert load_checkpoint(run / "checkpoint.pt")["progress"]["step"] == k
    with open(run / "metrics.jsonl", "a") as f:
        f.write('{"kind": "train", "st')  # a record cut short by the kill
    result = train(config, data, out_dir=run, resume=True, progress=False)
    assert result.finished and result.step == 6
    assert_same_weights(result.method, uninterrupted[method].method)
    # the log of the resumed run reads like the uninterrupted one (no duplicated steps)
    steps = read_metrics(run).query("kind == 'train'")["step"].tolist()
    assert steps == list(range(1, 7))


def test_metrics_log_has_the_fields(uninterrupted):
    df = read_metrics(uninterrupted["simclr"].out_dir)
    train_rows = df[df["kind"] == "train"]
    assert {"step", "epoch", "loss", "lr", "throughput"} <= set(train_rows.columns)
    assert train_rows["epoch"].iloc[-1] == 2.0 and (train_rows["throughput"] > 0).all()
    assert train_rows["lr"].iloc[0] == 0.0  # linear warm-up from 0
    first = json.loads((uninterrupted["simclr"].out_dir / "metrics.jsonl").read_text()
                       .splitlines()[0])
    assert first["kind"] == "start" and first["total_steps"] == 6


def test_learning_curve_figure(uninterrupted):
    records = [{"kind": "train", "step": i, "epoch": i / 3, "loss": 5 - i / 2}
               for i in range(1, 7)] + [{"kind": "eval", "step": 3, "epoch": 1, "count_mse": 2.5},
                                        {"kind": "eval", "step": 6, "epoch": 2, "count_mse": 1.5}]
    fig = plot_learning_curve(records)
    assert isinstance(fig, Figure) and len(fig.axes) == 2  # loss and its twin MSE axis
    assert isinstance(plot_learning_curve(uninterrupted["dino"].metrics), Figure)
    assert isinstance(plot_learning_curve(read_metrics(uninterrupted["dino"].out_dir)), Figure)


def test_evaluation_callback_is_logged_and_changes_nothing(simclr_config, images3,
                                                          uninterrupted, tmp_path):
    counts = torch.arange(24) % 4
    evaluate = count_mse_callback(images3.images, counts, n_components=4)
    result = train(simclr_config.replace(eval_every=1), images3, out_dir=tmp_path,
                   evaluate=evaluate, progress=False)
    evals = read_metrics(tmp_path).query("kind == 'eval'")
    assert evals["epoch"].tolist() == [1, 2] and (evals["count_mse"] >= 0).all()
    assert_same_weights(result.method, uninterrupted["simclr"].method)


def test_smart_hulk_continues_from_the_hulk_weights(simclr_config, images3, uninterrupted,
                                                    tmp_path):
    hulk = uninterrupted["simclr"]
    banner = simclr_config.replace(thresholding=False, name="smart_hulk")
    start = train(banner, images3, out_dir=tmp_path, init_from=hulk.checkpoint, max_steps=0,
                  progress=False)
    assert_same_weights(start.method, hulk.method)
    done = train(banner, images3, out_dir=tmp_path / "b", init_from=hulk.checkpoint,
                 max_steps=1, progress=False)
    assert done.step == 1  # a new run: its own step count and schedule
    assert read_metrics(tmp_path / "b")["init_from"].iloc[0] == str(hulk.checkpoint)
    with pytest.raises(ConfigError, match="do not fit this config"):
        train(banner.replace(proj_out_dim=8), images3, out_dir=tmp_path / "c",
              init_from=hulk.checkpoint)
    with pytest.raises(ConfigError, match="not both"):
        train(banner, images3, out_dir=tmp_path, init_from=hulk.checkpoint, resume=True)


def test_resume_refuses_a_changed_recipe(simclr_config, images3, tmp_path):
    train(simclr_config, images3, out_dir=tmp_path, max_steps=1, progress=False)
    with pytest.raises(ConfigError, match=r"lr: 0\.1 -> 0\.01"):
        train(simclr_config.replace(lr=0.01), images3, out_dir=tmp_path, resume=True)
    longer = train(simclr_config.replace(epochs=3), images3, out_dir=tmp_path, resume=True,
                   max_steps=2, progress=False)  # more epochs: allowed
    assert longer.step == 2


def test_batch_larger_than_the_data_is_a_config_error(simclr_config, images3, tmp_path):
    with pytest.raises(ConfigError, match="batch_size"):
        train(simclr_config.replace(batch_size=64), images3, out_dir=tmp_path)


@pytest.mark.slow
def test_cli_pretrain_and_resume(tileset_dir, tmp_path, capsys):
    from radiolib.cli import main

    common = ["pretrain", "--config", "simclr_riggi",  # a shipped recipe, by name
              "--data", str(tileset_dir), "--out", str(tmp_path / "run"), "--quiet",
              "--device", "cpu", "--set", "image_size=32", "--set", "batch_size=8",
              "--set", "num_workers=0", "--set", "proj_hidden_dim=16", "--epochs", "2"]
    assert main([*common, "--max-steps", "2"]) == 0
    assert "step 2" in capsys.readouterr().out
    state = load_checkpoint(tmp_path / "run" / "checkpoint.pt")
    assert state["config"].image_size == 32 and state["config"].epochs == 2
    assert main([*common, "--resume", "--max-steps", "3"]) == 0
    assert "step 3" in capsys.readouterr().out
    dino = ["pretrain", "--config", "dino_vits8.yaml", "--data",
            str(tileset_dir), "--out", str(tmp_path / "dino"), "--quiet", "--max-steps", "1",
            "--set", "backbone=resnet18", "--set", "image_size=32", "--set", "global_size=32",
            "--set", "local_size=16", "--set", "n_local=2", "--set", "out_dim=64",
            "--set", "batch_size=8", "--set", "num_workers=0"]
    assert main(dino) == 0
    assert main([*common[:-2], "--set", "bogus=1"]) == 2
    assert "unknown config key(s) 'bogus'" in capsys.readouterr().err


def test_cli_pretrain_unknown_config_lists_the_recipes(tmp_path, capsys):
    from radiolib.cli import main

    assert main(["pretrain", "--config", "simclr", "--data", str(tmp_path), "--out",
                 str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("radiolib pretrain: error: unknown config 'simclr'")
    assert "dino_resnet50, dino_vits8, simclr_riggi" in err and "Traceback" not in err
