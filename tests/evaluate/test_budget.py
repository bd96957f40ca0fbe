"""The budget runner: train once (cached), embed held-out images along the way, timed."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import radiolib.ssl.cache as cache
from radiolib.evaluate.budget import budget_train, cpu_model, read_checkpoints
from radiolib.ssl import ImageTensors, SimCLRConfig, build_method

TINY = dict(image_size=32, epochs=2, eval_every=1, batch_size=8, warmup_epochs=1,
            proj_hidden_dim=32, proj_out_dim=16, log_every=1, num_workers=0,
            backbone="resnet18_w32", lr=1e-3)


@pytest.fixture
def data():
    g = torch.Generator().manual_seed(3)
    return ImageTensors(torch.rand(16, 3, 32, 32, generator=g)), torch.rand(6, 3, 32, 32,
                                                                              generator=g)


@pytest.mark.slow
def test_cache_reuses_a_model_only_when_config_and_code_match(tmp_path, data, one_thread,
                                                             monkeypatch):
    train, images = data
    config = SimCLRConfig(**TINY)
    first = budget_train(config, train, images, cache_dir=tmp_path)
    assert first.run.trained
    assert list(first.checkpoints["epoch"]) == [0, 1, 2]
    assert (first.checkpoints["cpu_seconds"].diff().dropna() > 0).all()
    pace = first.idle_seconds_per_step()
    assert 0 < pace < first.checkpoints["wall_seconds"].iloc[-1] / 4  # 2 epochs of 2 steps

    same = budget_train(config.replace(log_every=2), train, images, cache_dir=tmp_path)
    assert not same.run.trained and same.run.out_dir == first.run.out_dir
    np.testing.assert_array_equal(same.embeddings(2), first.embeddings(2))

    other_config = budget_train(config.replace(lr=2e-3), train, images, cache_dir=tmp_path)
    assert other_config.run.trained and other_config.run.out_dir != first.run.out_dir

    monkeypatch.setattr(cache, "code_version", lambda: "edited training code")
    other_code = budget_train(config, train, images, cache_dir=tmp_path)
    assert other_code.run.trained
    assert other_code.run.out_dir not in (first.run.out_dir, other_config.run.out_dir)


@pytest.mark.slow
def test_epoch_zero_is_the_run_s_random_start_and_training_moves_it(tmp_path, data, one_thread):
    train, images = data
    config = SimCLRConfig(**TINY)
    run = budget_train(config, train, images, cache_dir=tmp_path)
    torch.manual_seed(config.seed)
    start = build_method(config).feature_extractor().embed(images).numpy()
    np.testing.assert_allclose(run.embeddings(0), start, rtol=1e-5, atol=1e-6)
    assert not np.allclose(run.embeddings(2), start, atol=1e-4)
    assert read_checkpoints(run.folder)["threads"].eq(1).all()


def test_code_version_follows_the_training_code_only(tmp_path, monkeypatch):
    for pkg in ("ssl", "augment", "models", "papers"):
        (tmp_path / pkg).mkdir()
        (tmp_path / pkg / "code.py").write_text(f"X = '{pkg}'\n")
    monkeypatch.setattr(cache, "__file__", str(tmp_path / "ssl" / "cache.py"))
    before = cache.code_version()
    (tmp_path / "papers" / "code.py").write_text("X = 'an experiment, not training'\n")
    assert cache.code_version() == before
    for pkg in ("ssl", "augment", "models"):
        (tmp_path / pkg / "code.py").write_text("X = 'edited'\n")
        assert cache.code_version() != before
        before = cache.code_version()


def test_budget_train_needs_checkpoints(tmp_path, data):
    train, images = data
    with pytest.raises(ValueError, match="eval_every"):
        budget_train(SimCLRConfig(**{**TINY, "eval_every": 0}), train, images,
                     cache_dir=tmp_path)


def test_cpu_model_is_named():
    assert isinstance(cpu_model(), str) and cpu_model()
