"""Fine-tuning the last blocks of a backbone with a linear head (cf. Lastufka et al. Table 5)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from radiolib.evaluate.finetune import backbone_blocks, finetune_classifier
from radiolib.models import feature_extractor


@pytest.fixture
def task():
    """Faint vs bright noisy images: any orientation, so flips and turns keep the label."""
    gen = torch.Generator().manual_seed(0)
    y = torch.arange(80) % 2
    x = 0.2 + 0.4 * y.view(-1, 1, 1, 1) + 0.1 * torch.randn(80, 1, 32, 32, generator=gen)
    return x[:60], y[:60].numpy(), x[60:], y[60:].numpy()


@pytest.fixture
def model():
    torch.manual_seed(0)
    return feature_extractor("resnet18", 1, device="cpu")


def _state(m):
    return {k: v.clone() for k, v in m.state_dict().items()}


@pytest.mark.parametrize("name, n", [("resnet18", 5), ("vit_s8", 13)])
def test_blocks_cover_every_parameter_once(name, n):
    m = feature_extractor(name, 1, image_size=32, device="cpu")
    blocks = backbone_blocks(m)
    ids = [id(p) for b in blocks for p in b.parameters()]
    assert len(blocks) == n and len(ids) == len(set(ids))
    assert set(ids) == {id(p) for p in m.parameters()}


@pytest.mark.slow
def test_only_the_last_blocks_move_and_the_input_model_is_untouched(task, model):
    before = _state(model)
    run = finetune_classifier(model, *task, n_blocks=1, epochs=1, batch_size=20)
    after = run.model.state_dict()
    for k, v in model.state_dict().items():  # the caller's model: unchanged
        assert torch.equal(v, before[k]), k
    moved = {k for k, v in after.items() if not torch.equal(v, before[k])}
    assert moved and all(k.startswith("backbone.layer4.") for k in moved)  # incl. BN stats


@pytest.mark.slow
def test_zero_blocks_trains_the_head_alone(task, model):
    before = _state(model)
    rng = torch.get_rng_state()
    run = finetune_classifier(model, *task, n_blocks=0, epochs=3, batch_size=32)
    assert all(torch.equal(v, before[k]) for k, v in run.model.state_dict().items())
    assert list(run.history["epoch"]) == [1, 2, 3]
    assert run.scores["accuracy"] >= 0.9  # the head learnt, and its standardisation holds
    assert torch.equal(torch.get_rng_state(), rng)  # the caller's random stream is untouched


@pytest.mark.slow
def test_learns_a_simple_task_and_is_seeded(task, model):
    a = finetune_classifier(model, *task, n_blocks=2, epochs=3, batch_size=20, seed=1)
    b = finetune_classifier(model, *task, n_blocks=2, epochs=3, batch_size=20, seed=1)
    assert a.scores["accuracy"] >= 0.9 and 0 <= a.scores["auc"] <= 1
    assert a.scores == b.scores
    assert a.history["loss"].tolist() == b.history["loss"].tolist()
    test_y = task[3]
    assert a.predictions.shape == test_y.shape  # the predictions behind the accuracy
    assert np.mean(a.predictions == test_y) == pytest.approx(a.scores["accuracy"])


def test_bad_settings_are_refused(task, model):
    x, y, tx, ty = task
    with pytest.raises(ValueError, match="n_blocks >= 0"):
        finetune_classifier(model, *task, n_blocks=-1)
    with pytest.raises(ValueError, match="batch_size >= 2"):
        finetune_classifier(model, *task, n_blocks=0, batch_size=1)
    with pytest.raises(ValueError, match="1 images"):
        finetune_classifier(model, x[:1], y[:1], tx, ty, n_blocks=0)
    with pytest.raises(TypeError, match="ResNet or ViT"):
        backbone_blocks(type("M", (), {"backbone": torch.nn.Linear(2, 2)})())


def test_a_last_batch_of_one_image_is_skipped(task, model):
    x, y, tx, ty = task
    run = finetune_classifier(model, x[:21], y[:21], tx, ty, n_blocks=0, epochs=1,
                              batch_size=10)
    assert run.history["loss"].notna().all()


def test_progress_is_updated_once_per_epoch_with_the_loss(task, model):
    class Bar:
        def __init__(self):
            self.n, self.postfix = 0, {}

        def update(self, k):
            self.n += k

        def set_postfix(self, refresh=True, **kw):
            self.postfix = kw

    bar = Bar()
    run = finetune_classifier(model, *task, n_blocks=0, epochs=3, batch_size=20, progress=bar)
    assert bar.n == 3
    assert float(bar.postfix["loss"]) == pytest.approx(run.history["loss"].iloc[-1], abs=1e-3)


def test_single_channel_images_feed_a_model_of_more_channels(task):
    torch.manual_seed(0)
    five = feature_extractor("resnet18", 5, device="cpu")  # e.g. Hayat et al.'s ugriz ResNet50
    x_fit, y_fit, x_test, y_test = task
    seen = []
    five.backbone.conv1.register_forward_hook(lambda m, args, out: seen.append(args[0].shape[1]))
    finetune_classifier(five, x_fit, y_fit, x_test, y_test, n_blocks=1, epochs=1)
    assert seen and set(seen) == {5}  # training and test batches, all five channels
