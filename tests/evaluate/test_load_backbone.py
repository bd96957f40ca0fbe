"""load_backbone: one entry point for run folders, checkpoints, published names and random:."""

from __future__ import annotations

import pytest
import torch

from radiolib.errors import ConfigError, DataError
from radiolib.evaluate import PUBLISHED, load_backbone
from radiolib.models import FeatureExtractor
from radiolib.ssl import ImageTensors, SimCLRConfig, train
from radiolib.ssl.checkpoint import load_checkpoint

TINY = dict(image_size=32, epochs=1, batch_size=8, warmup_epochs=0, proj_hidden_dim=32,
            proj_out_dim=16, log_every=1, num_workers=0)


def test_random_backbone_has_the_requested_input_and_is_seeded():
    a = load_backbone("random:resnet18", in_chans=1, image_size=48, device="cpu", seed=4)
    b = load_backbone("random:resnet18", in_chans=1, image_size=48, device="cpu", seed=4)
    assert isinstance(a, FeatureExtractor) and not a.training
    assert (a.name, a.in_chans, a.image_size, a.embed_dim) == ("resnet18", 1, 48, 512)
    x = torch.rand(2, 1, 48, 48)
    torch.testing.assert_close(a.embed(x), b.embed(x))


@pytest.mark.parametrize("source", ["random:resnet19", "lastufka2024:vit_xl", "no/such/run"])
def test_unknown_sources_name_the_accepted_forms(source):
    with pytest.raises((ConfigError, DataError), match=r"random:<arch>.*published name"):
        load_backbone(source, device="cpu")


def test_published_name_absent_says_where_to_put_it(tmp_path, monkeypatch):
    monkeypatch.setenv("RADIOLIB_DATA", str(tmp_path))
    file, _ = PUBLISHED["lastufka2024:resnet50"]
    with pytest.raises(DataError, match=rf"{file} not found.*lastufka_dino_weights"):
        load_backbone("lastufka2024:resnet50", device="cpu")


def test_run_folder_and_its_checkpoint_give_the_trained_backbone_at_its_input_size(tmp_path):
    data = ImageTensors(torch.rand(16, 3, 32, 32, generator=torch.Generator().manual_seed(3)))
    result = train(SimCLRConfig(**TINY), data, out_dir=tmp_path, max_steps=1, progress=False)
    by_folder = load_backbone(tmp_path, device="cpu")
    by_file = load_backbone(result.checkpoint, device="cpu")
    assert by_folder.image_size == 32 and by_folder.in_chans == 3
    trained = load_checkpoint(result.checkpoint)["model"]
    weight = next(v for k, v in trained.items() if k.endswith("conv1.weight"))
    torch.testing.assert_close(by_folder.backbone.conv1.weight.detach(), weight)
    x = torch.rand(2, 3, 32, 32)
    torch.testing.assert_close(by_folder.embed(x), by_file.embed(x))
