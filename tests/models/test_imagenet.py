"""torchvision's ImageNet ResNet18 through its manifest: loaded strictly, or a clear error."""

from __future__ import annotations

import pytest
import torch
import torchvision

from radiolib.errors import DataError
from radiolib.evaluate import load_backbone
from radiolib.models.imagenet import IMAGENET_DATASET, IMAGENET_FILE, load_imagenet_resnet18


def test_missing_weights_say_they_are_not_available_offline(tmp_path):
    with pytest.raises(DataError, match="not available offline.*radiolib fetch"):
        load_imagenet_resnet18(data_dir=tmp_path)


def test_a_torchvision_state_dict_loads_and_gives_the_pooled_features(tmp_path, monkeypatch):
    torch.manual_seed(0)
    reference = torchvision.models.resnet18().eval()
    folder = tmp_path / IMAGENET_DATASET
    folder.mkdir()
    torch.save(reference.state_dict(), folder / IMAGENET_FILE)
    model = load_imagenet_resnet18(data_dir=tmp_path, image_size=32, device="cpu")
    x = torch.rand(2, 3, 32, 32)
    reference.fc = torch.nn.Identity()
    with torch.no_grad():
        torch.testing.assert_close(model.embed(x), reference(x))
    monkeypatch.setenv("RADIOLIB_DATA", str(tmp_path))
    assert load_backbone("imagenet:resnet18", image_size=32, device="cpu").embed_dim == 512


def test_a_file_of_other_weights_is_refused(tmp_path):
    folder = tmp_path / IMAGENET_DATASET
    folder.mkdir()
    torch.save({"conv1.weight": torch.zeros(1)}, folder / IMAGENET_FILE)
    with pytest.raises(DataError, match="does not fit|cannot"):
        load_imagenet_resnet18(data_dir=tmp_path)


def test_dino_imagenet_resnet50_loads_by_name_from_its_dataset_folder(tmp_path, monkeypatch):
    torch.manual_seed(0)
    reference = torchvision.models.resnet50().eval()
    state = {k: v for k, v in reference.state_dict().items() if not k.startswith("fc.")}
    folder = tmp_path / "dino_resnet50_imagenet"
    folder.mkdir()
    torch.save(state, folder / "dino_resnet50_pretrain.pth")  # DINO's file has no fc layer
    monkeypatch.setenv("RADIOLIB_DATA", str(tmp_path))
    model = load_backbone("dino_imagenet:resnet50", image_size=32, device="cpu")
    reference.fc = torch.nn.Identity()
    x = torch.rand(2, 3, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(model.embed(x), reference(x))
    assert model.embed_dim == 2048


def test_absent_dino_imagenet_weights_say_where_to_put_them(tmp_path, monkeypatch):
    monkeypatch.setenv("RADIOLIB_DATA", str(tmp_path))
    with pytest.raises(DataError, match="DINO ImageNet ResNet50 weights not available offline.*"
                                        "radiolib fetch dino_resnet50_imagenet"):
        load_backbone("dino_imagenet:resnet50")
