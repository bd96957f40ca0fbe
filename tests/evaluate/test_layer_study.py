"""Table 5 machinery: the paper's layer count, exactly the intended parameters train."""

import numpy as np
import pytest
import torch

from radiolib.evaluate.layer_study import (
    PaperHead,
    center_crop,
    finetune_layers,
    paper_layers,
    trainable_layers,
)
from radiolib.models import FeatureExtractor, ViTBackbone, feature_extractor

pytestmark = pytest.mark.usefixtures("one_thread")


def _tiny_vit():
    torch.manual_seed(0)
    return FeatureExtractor(ViTBackbone(16, 8, 3, 2, 16, 32, 1), 16, name="vit_tiny",
                            in_chans=1, image_size=16)


def test_layer_counts_follow_the_finetuning_code_of_slijepcevic():
    r18 = feature_extractor("resnet18_w32", 1, image_size=32, device="cpu")
    layers = paper_layers(r18)
    assert len(layers) == 9  # stem + 8 BasicBlocks
    assert layers[-2:] == list(r18.backbone.layer4)
    r50 = feature_extractor("resnet50", 1, image_size=32, device="cpu")
    layers = paper_layers(r50)
    assert len(layers) == 17  # stem + 16 Bottlenecks
    assert layers[-9:] == [*r50.backbone.layer3, *r50.backbone.layer4]
    names = trainable_layers(r50, 9)
    assert names and all(n.startswith(("backbone.layer3.", "backbone.layer4.")) for n in names)
    assert len(paper_layers(_tiny_vit())) == 4  # patch embedding + 3 blocks


def _one_step(model, n):
    trainable_layers(model, n)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    from radiolib.evaluate.layer_study import _set_modes
    _set_modes(model, n)
    head = PaperHead(model.embed_dim, 2)
    params = [p for p in model.parameters() if p.requires_grad] + list(head.parameters())
    opt = torch.optim.SGD(params, lr=0.1)
    x = torch.randn(4, 1, model.image_size, model.image_size)
    loss = torch.nn.functional.cross_entropy(head(model(x)), torch.tensor([0, 1, 0, 1]))
    loss.backward()
    opt.step()
    return before, model.state_dict()


@pytest.mark.parametrize("n", range(10))
def test_exactly_the_last_n_resnet_layers_change(n):
    torch.manual_seed(n)
    model = feature_extractor("resnet18_w32", 1, image_size=32, device="cpu")
    layers = paper_layers(model)
    expected = {id(p) for layer in layers[len(layers) - n:] for p in layer.parameters()}
    if n == 0:
        expected = set()
    names = trainable_layers(model, n)
    assert {id(p) for k, p in model.named_parameters() if k in names} == expected
    before, after = _one_step(model, n)
    params = dict(model.named_parameters())
    for key, value in after.items():
        if key in params:
            changed = not torch.equal(before[key], value)
            assert changed == (id(params[key]) in expected), key
            assert params[key].requires_grad == (id(params[key]) in expected), key
        elif "num_batches_tracked" not in key:  # BatchNorm running statistics
            layer_of = key.rsplit(".", 1)[0]
            trained = any(f"{layer_of}.weight" == k for k in names)
            assert (not torch.equal(before[key], value)) == trained, key


@pytest.mark.parametrize("n", range(5))
def test_exactly_the_last_n_vit_layers_change(n):
    model = _tiny_vit()
    layers = paper_layers(model)
    expected = {id(p) for layer in layers[len(layers) - n:] for p in layer.parameters()}
    if n == 0:
        expected = set()
    before, after = _one_step(model, n)
    for key, p in model.named_parameters():
        assert (not torch.equal(before[key], after[key])) == (id(p) in expected), key


def test_center_crop_takes_the_middle():
    images = np.arange(2 * 6 * 6).reshape(2, 6, 6)
    out = center_crop(images, 2)
    assert out.shape == (2, 1, 2, 2)
    assert out[0, 0].tolist() == [[14.0, 15.0], [20.0, 21.0]]
    with pytest.raises(ValueError, match="does not fit"):
        center_crop(images, 7)


def test_finetune_layers_smoke_and_seeded():
    model = feature_extractor("resnet18_w32", 1, image_size=16, device="cpu")
    rng = np.random.default_rng(0)
    x = torch.as_tensor(rng.normal(size=(12, 1, 16, 16)), dtype=torch.float32)
    y = np.array([0, 1] * 6)
    state = {k: v.clone() for k, v in model.state_dict().items()}
    a = finetune_layers(model, x[:8], y[:8], x[8:], y[8:], n_layers=2, epochs=3, last_epochs=2,
                        batch_size=4, seed=1, device="cpu")
    b = finetune_layers(model, x[:8], y[:8], x[8:], y[8:], n_layers=2, epochs=3, last_epochs=2,
                        batch_size=4, seed=1, device="cpu")
    assert a["error"] == b["error"] and a["history"]["loss"].equals(b["history"]["loss"])
    assert a["history"]["error"].notna().sum() == 2
    assert 0 <= a["error"] <= 1 and a["n_trainable"] > 0
    assert all(torch.equal(state[k], v) for k, v in model.state_dict().items())  # copy only
