"""Train once, reuse: cached_train trains only when no finished run has the same key."""

from __future__ import annotations

import pytest
import torch
from _tiny import TINY_SIMCLR

from radiolib.ssl import ImageTensors, SimCLRConfig
from radiolib.ssl.cache import cached_train, fingerprint, run_key


@pytest.fixture
def config() -> SimCLRConfig:
    return SimCLRConfig(**{**TINY_SIMCLR, "epochs": 1})


@pytest.fixture
def data() -> ImageTensors:
    return ImageTensors(torch.rand(16, 3, 32, 32, generator=torch.Generator().manual_seed(3)))


@pytest.mark.slow
def test_second_call_reuses_the_run(tmp_path, config, data):
    first = cached_train(config, data, cache_dir=tmp_path)
    assert first.trained and first.checkpoint.is_file()
    again = cached_train(config.replace(name=config.name, log_every=3), data, cache_dir=tmp_path)
    assert not again.trained
    assert again.checkpoint == first.checkpoint


@pytest.mark.slow
def test_a_change_of_the_training_code_retrains(tmp_path, config, data, monkeypatch):
    from radiolib.ssl import cache

    first = cached_train(config, data, cache_dir=tmp_path)
    monkeypatch.setattr(cache, "code_version", lambda: "edited-code")  # as if a .py changed
    again = cached_train(config, data, cache_dir=tmp_path)
    assert again.trained and again.checkpoint != first.checkpoint
    monkeypatch.undo()
    assert not cached_train(config, data, cache_dir=tmp_path).trained  # the first still reused


def test_code_version_follows_the_training_files(tmp_path, monkeypatch):
    from radiolib.ssl import cache

    root = tmp_path / "radiolib"
    for pkg in cache._PACKAGES:
        (root / pkg).mkdir(parents=True)
        (root / pkg / "a.py").write_text("x = 1\n")
    monkeypatch.setattr(cache, "__file__", str(root / "ssl" / "cache.py"))
    before = cache.code_version()
    (root / cache._PACKAGES[-1] / "a.py").write_text("x = 2\n")
    assert cache.code_version() != before


@pytest.mark.parametrize("change", [{"lr": 2e-3}, {"thresholding": False}, {"epochs": 2}])
def test_training_settings_change_the_key(config, change):
    assert run_key(config, "d") != run_key(config.replace(**change), "d")


@pytest.mark.parametrize("change", [{"name": "other"}, {"num_workers": 2}, {"log_every": 7}])
def test_bookkeeping_does_not_change_the_key(config, change):
    assert run_key(config, "d") == run_key(config.replace(**change), "d")


def test_data_and_init_change_the_key(config):
    assert run_key(config, "a") != run_key(config, "b")
    assert run_key(config, "a") != run_key(config, "a", init_from="0123")
    assert run_key(config, "a") != run_key(config, "a", code="other code")


def test_fingerprint_follows_content(data):
    same = ImageTensors(data.images.clone())
    assert fingerprint(data) == fingerprint(same)
    same.images[0, 0, 0, 0] += 1
    assert fingerprint(data) != fingerprint(same)
    with pytest.raises(TypeError, match="data_key"):
        fingerprint([1, 2, 3])


@pytest.mark.slow
def test_init_from_a_cached_run(tmp_path, config, data):
    first = cached_train(config, data, cache_dir=tmp_path)
    second = cached_train(config.replace(name="continued"), data, cache_dir=tmp_path,
                          init_from=first)
    assert second.trained and second.out_dir != first.out_dir


@pytest.mark.slow
def test_unfinished_run_resumes(tmp_path, config, data):
    partial = cached_train(config, data, cache_dir=tmp_path, max_steps=1)
    assert partial.trained and not (partial.out_dir / "done.json").exists()
    done = cached_train(config, data, cache_dir=tmp_path)
    assert done.out_dir == partial.out_dir and (done.out_dir / "done.json").is_file()


def test_evaluate_needs_a_key(tmp_path, config, data):
    with pytest.raises(ValueError, match="eval_key"):
        cached_train(config, data, cache_dir=tmp_path, evaluate=lambda m, e: {})


@pytest.mark.slow
def test_saved_runs_are_found_again(tmp_path, config, data):
    from radiolib.ssl.cache import load_runs, save_runs

    run = cached_train(config, data, cache_dir=tmp_path)
    path = save_runs(tmp_path, "simclr", {"tiny": run})
    assert path == tmp_path / "simclr.json" and not list(tmp_path.glob("*.tmp"))
    found = load_runs(tmp_path, "simclr")
    assert list(found) == ["tiny"]
    assert found["tiny"].checkpoint.resolve() == run.checkpoint.resolve()
    assert found["tiny"].key == run.key
    moved = tmp_path.parent / (tmp_path.name + "-moved")  # the whole cache folder moves
    tmp_path.rename(moved)
    assert load_runs(moved, "simclr")["tiny"].checkpoint.is_file()


def test_missing_runs_say_what_makes_them(tmp_path, config, data):
    from radiolib.errors import DataError
    from radiolib.ssl.cache import load_runs, save_runs

    with pytest.raises(DataError, match="no 'dino' runs.*run notebook 04 first"):
        load_runs(tmp_path, "dino", made_by="notebook 04")
    run = cached_train(config, data, cache_dir=tmp_path)
    save_runs(tmp_path, "dino", {"tiny": run})
    run.checkpoint.unlink()
    with pytest.raises(DataError, match="checkpoint .* is missing; run notebook 04 first"):
        load_runs(tmp_path, "dino", made_by="notebook 04")
    (tmp_path / "dino.json").write_text("{not json")
    with pytest.raises(DataError, match="not a record of runs"):
        load_runs(tmp_path, "dino")
    (tmp_path / "dino.json").write_text('{"tiny": {"key": "k"}}')
    with pytest.raises(DataError, match="not a record of runs"):
        load_runs(tmp_path, "dino")
