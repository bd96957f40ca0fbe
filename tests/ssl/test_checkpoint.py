"""Checkpoints: complete, weights_only-loadable, atomic, with the config inside."""

import random

import numpy as np
import pytest
import torch

from radiolib.errors import DataError
from radiolib.models import FeatureExtractor
from radiolib.ssl import SimCLR, load_checkpoint, load_pretrained, save_checkpoint, train
from radiolib.ssl.checkpoint import capture_rng, restore_rng

pytestmark = pytest.mark.usefixtures("one_thread")


def draws(generator):
    return (random.random(), float(np.random.rand()), torch.rand(3).tolist(),
            torch.rand(2, generator=generator).tolist())


def test_rng_states_round_trip():
    g = torch.Generator().manual_seed(5)
    np.random.randn()  # leave numpy with a cached gaussian
    state = capture_rng(g)
    first = draws(g)
    restore_rng(state, g)
    assert draws(g) == first
    with pytest.raises(DataError, match="augmentation"):
        restore_rng(capture_rng(), g)


def test_checkpoint_holds_everything_and_loads_weights_only(simclr_config, images3, tmp_path):
    result = train(simclr_config, images3, out_dir=tmp_path, max_steps=2, progress=False)
    raw = torch.load(result.checkpoint, weights_only=True)  # no pickled objects inside
    assert {"model", "optimizer", "scaler", "scheduler", "rng", "progress", "config"} <= set(raw)
    assert raw["progress"] == {"epoch": 0, "batch": 2, "step": 2, "world_size": 1}
    assert raw["scheduler"] == {"step": 2, "total_steps": 6}
    assert set(raw["rng"][0]) == {"python", "numpy", "torch", "cuda", "augment"}
    assert raw["optimizer"]["state"]  # Adam moments
    state = load_checkpoint(result.checkpoint)
    assert state["config"] == simclr_config  # stored and restored as the dataclass
    for k, v in result.method.state_dict().items():
        assert torch.equal(state["model"][k], v)


@pytest.mark.parametrize("method", ["simclr", "dino"])
def test_load_pretrained_gives_the_trained_backbone(method, request, tmp_path):
    config = request.getfixturevalue(f"{method}_config")
    data = request.getfixturevalue("images3" if method == "simclr" else "images1")
    result = train(config, data, out_dir=tmp_path, max_steps=1, progress=False)
    extractor = load_pretrained(result.checkpoint, device="cpu")
    assert isinstance(extractor, FeatureExtractor) and extractor.in_chans == config.in_chans
    expected = result.method.feature_extractor()  # SimCLR backbone / DINO teacher backbone
    x = data.images[:2, :, :32, :32]
    torch.testing.assert_close(extractor.embed(x), expected.embed(x), rtol=0, atol=0)


def test_writes_are_atomic(simclr_config, tmp_path, monkeypatch):
    model = SimCLR(simclr_config)
    path = save_checkpoint(tmp_path / "checkpoint.pt", config=simclr_config, model=model)
    before = path.read_bytes()

    def crash(obj, f, *args, **kwargs):
        f.write(b"half a checkpoint")
        raise KeyboardInterrupt  # killed while saving

    monkeypatch.setattr(torch, "save", crash)
    with pytest.raises(KeyboardInterrupt):
        save_checkpoint(path, config=simclr_config, model=model)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["checkpoint.pt"]  # no temporary left


def test_bad_files_are_reported(tmp_path):
    with pytest.raises(DataError, match="not found"):
        load_checkpoint(tmp_path / "missing.pt")
    torch.save({"student": {}}, tmp_path / "other.pt")
    with pytest.raises(DataError, match="not a radiolib SSL checkpoint"):
        load_checkpoint(tmp_path / "other.pt")
