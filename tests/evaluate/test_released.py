"""Other groups' backbones of Lastufka et al.'s Table 4, loaded from files in their layouts.

The released files cannot be fetched offline, so each test writes a small file laid out as the
group's code saves it (key names from the files the loader's docstring cites) from weights it
knows, and checks that the loaded backbone gives the same features as the reference network.
"""

from __future__ import annotations

import pytest
import torch
import torchvision
from torch import nn

from radiolib.errors import DataError
from radiolib.evaluate import backbone_blocks, load_backbone, released
from radiolib.evaluate.released import load_released_backbone, map_byol_keys


class _UpstreamEncoder(nn.Module):
    """The encoder as inigoval/architectures' ResNet holds it: ``layers`` (stem, 8 blocks, pool)
    and the ``finetuning_layers`` alias of all but the pool (so both names are in its state)."""

    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.layers = nn.ModuleList([nn.Sequential(net.conv1, net.bn1, nn.ReLU(), net.maxpool),
                                     *net.layer1, *net.layer2, *net.layer3, *net.layer4,
                                     nn.AdaptiveAvgPool2d((1, 1))])
        self.finetuning_layers = self.layers[:-1]

    def forward(self, x):
        for layer in self.layers:
            x = layer(x)
        return x.flatten(1)


def _save(tmp_path, name, obj):
    spec = released.RELEASED_BACKBONES[name]
    folder = tmp_path / spec.dataset
    folder.mkdir(exist_ok=True)
    torch.save(obj, folder / spec.file)


def _byol_layout(state: dict) -> dict:
    """Rename torchvision resnet18 keys to inigoval/architectures' ``encoder.layers.<i>``."""
    out = {}
    for key, value in state.items():
        head, _, rest = key.partition(".")
        if head in ("conv1", "bn1"):
            out[f"encoder.layers.0.{('conv1', 'bn1').index(head)}.{rest}"] = value
        elif head.startswith("layer"):
            block, _, rest = rest.partition(".")
            out[f"encoder.layers.{2 * (int(head[5:]) - 1) + int(block) + 1}.{rest}"] = value
    return out


def _byol_reference(kernel: int) -> nn.Module:
    torch.manual_seed(0)
    net = torchvision.models.resnet18()
    net.conv1 = nn.Conv2d(1, 64, kernel, stride=1 if kernel == 3 else 2, padding=kernel // 2,
                          bias=False)
    net.fc = nn.Identity()
    for m in net.modules():  # non-trivial batch-norm statistics
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.uniform_(-0.1, 0.1)
            m.running_var.uniform_(0.5, 1.5)
    return net.eval()


@pytest.mark.parametrize("kernel", [3, 7])  # architectures' `downscale` stem, and the default
def test_rgz_byol_lightning_checkpoint_gives_the_encoders_features(tmp_path, kernel):
    upstream = _UpstreamEncoder(_byol_reference(kernel)).eval()
    encoder = {f"encoder.{k}": v for k, v in upstream.state_dict().items()}
    assert "encoder.layers.3.downsample.0.weight" in encoder  # layer2.0, as architectures names it
    assert "encoder.finetuning_layers.8.bn2.running_var" in encoder
    state = encoder | {k.replace("encoder.", "encoder_momentum.", 1): v + 1
                       for k, v in encoder.items()}
    state |= {"projection_head.layer.0.weight": torch.zeros(1024, 512),
              "dummy_param": torch.zeros(0)}
    ckpt = {"state_dict": state, "epoch": 3, "global_step": 10,  # mean, std as 1-tuples
            "hyper_parameters": {"config": {"data": {"mu": (0.008,), "sig": (0.05,)}}}}
    _save(tmp_path, "rgz_byol:resnet18", ckpt)
    model = load_released_backbone("rgz_byol:resnet18", data_dir=tmp_path, device="cpu")
    x = torch.rand(3, 1, 70, 70)
    with torch.no_grad():
        torch.testing.assert_close(model.embed(x), upstream((x - 0.008) / 0.05))
    assert (model.in_chans, model.embed_dim, model.image_size) == (1, 512, 70)
    assert len(backbone_blocks(model)) == 5  # fine-tuning can split it (Table 5)
    del ckpt["hyper_parameters"]  # no saved mean and std: inigoval/byol's RGZ values, said
    _save(tmp_path, "rgz_byol:resnet18", ckpt)
    with pytest.warns(UserWarning, match="no input (mean|std)"):
        model = load_released_backbone("rgz_byol:resnet18", data_dir=tmp_path, device="cpu")
    with torch.no_grad():
        torch.testing.assert_close(model.embed(x), upstream((x - released.RGZ_MU) /
                                                            released.RGZ_SIG))


def test_byol_key_map_drops_momentum_and_heads_and_refuses_a_deeper_encoder():
    mapped = map_byol_keys({"encoder.layers.0.0.weight": torch.zeros(1),
                            "encoder.layers.5.conv1.weight": torch.zeros(1),
                            "encoder_momentum.layers.0.0.weight": torch.zeros(1),
                            "prediction_head.layer.0.weight": torch.zeros(1)})
    assert set(mapped) == {"conv1.weight", "layer3.0.conv1.weight"}
    with pytest.raises(DataError, match="layers 0-8"):
        map_byol_keys({"encoder.layers.12.conv1.weight": torch.zeros(1)})


def _hayat_reference() -> nn.Module:
    torch.manual_seed(1)
    net = torchvision.models.resnet50()
    net.conv1 = nn.Conv2d(5, 64, 7, stride=1, padding=3, bias=False)  # ssl-sky-surveys' stem
    net.maxpool = nn.Identity()
    return net.eval()


@pytest.mark.parametrize("moco", [False, True])
def test_hayat2021_checkpoint_gives_the_resnet50_features(tmp_path, monkeypatch, moco):
    reference = _hayat_reference()
    state = reference.state_dict()  # with its 1000-class fc, as models/resnet.py saves it
    if moco:  # a MoCo training state: query and key encoders
        state = {f"encoder_q.{k}": v for k, v in state.items()} | \
                {f"encoder_k.{k}": v * 0 for k, v in state.items()}
    _save(tmp_path, "hayat2021:resnet50",
          {"model_state": {f"module.{k}": v for k, v in state.items()}, "epoch": 101})
    monkeypatch.setenv("RADIOLIB_DATA", str(tmp_path))
    model = load_backbone("hayat2021:resnet50", device="cpu")
    reference.fc = nn.Identity()
    x = torch.rand(2, 5, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(model.embed(x), reference(x))
    assert (model.in_chans, model.embed_dim) == (5, 2048)


def test_timms_vit_g14_has_the_shapes_of_dinov2s_released_file():
    timm = pytest.importorskip("timm")
    with torch.device("meta"):
        vit = timm.create_model("vit_giant_patch14_dinov2", pretrained=False, num_classes=0,
                                img_size=518)
    shapes = {k: tuple(v.shape) for k, v in vit.state_dict().items()}
    # dinov2's ViT-g/14: 1536 wide, 40 blocks, SwiGLU hidden (int(4 * 1536 * 2 / 3) + 7) // 8 * 8
    # = 4096 (w12: 2 x 4096 out), a 37 x 37 + 1 position table for its 518 px training side
    assert shapes["blocks.39.mlp.fc1.weight"] == (8192, 1536)
    assert shapes["blocks.39.mlp.fc2.weight"] == (1536, 4096)
    assert shapes["pos_embed"] == (1, 1370, 1536) and "blocks.40.norm1.weight" not in shapes
    assert shapes["blocks.0.ls1.gamma"] == (1536,)


def test_dinov2_state_dict_loads_through_timm(tmp_path, monkeypatch):
    timm = pytest.importorskip("timm")
    small = dict(embed_dim=48, depth=2, num_heads=2)  # ViT-g/14's blocks, fewer and narrower
    monkeypatch.setitem(released._TIMM_ARCH, "dinov2:vitg14", ("vit_giant_patch14_dinov2", small))
    torch.manual_seed(2)
    reference = timm.create_model("vit_giant_patch14_dinov2", pretrained=False, num_classes=0,
                                  img_size=56, **small).eval()
    # dinov2's own names: SwiGLU feed-forward w12/w3 (dinov2/layers/swiglu_ffn.py), a mask token
    state = {k.replace(".mlp.fc1.", ".mlp.w12.").replace(".mlp.fc2.", ".mlp.w3."): v
             for k, v in reference.state_dict().items()}
    state["mask_token"] = torch.zeros(1, 48)
    assert {"blocks.1.mlp.w12.weight", "blocks.1.ls2.gamma", "pos_embed"} <= set(state)
    _save(tmp_path, "dinov2:vitg14", state)
    model = load_released_backbone("dinov2:vitg14", data_dir=tmp_path, device="cpu")
    x = torch.rand(2, 3, 56, 56)
    mean = torch.tensor(released.IMAGENET_MEAN).view(1, 3, 1, 1)
    std = torch.tensor(released.IMAGENET_STD).view(1, 3, 1, 1)
    with torch.no_grad():
        torch.testing.assert_close(model.embed(x), reference((x - mean) / std))
        assert model.embed(torch.rand(1, 3, 64, 64)).shape == (1, 48)  # any side: padded to 14s
    assert (model.in_chans, model.embed_dim, model.image_size) == (3, 48, 224)


@pytest.mark.parametrize("name", sorted(released.RELEASED_BACKBONES))
def test_absent_file_says_how_to_get_it(tmp_path, name):
    dataset = released.RELEASED_BACKBONES[name].dataset
    with pytest.raises(DataError, match=f"not available.*radiolib fetch {dataset}"):
        load_released_backbone(name, data_dir=tmp_path)


def test_other_weights_or_other_objects_are_refused(tmp_path):
    _save(tmp_path, "hayat2021:resnet50",
          {"model_state": {"conv1.weight": torch.zeros(64, 5, 7, 7)}})
    with pytest.raises(DataError, match="does not fit a ResNet50"):
        load_released_backbone("hayat2021:resnet50", data_dir=tmp_path)
    _save(tmp_path, "rgz_byol:resnet18", {"state_dict": {"other.weight": torch.zeros(1)}})
    with pytest.raises(DataError, match="no BYOL encoder"):
        load_released_backbone("rgz_byol:resnet18", data_dir=tmp_path)
    _save(tmp_path, "rgz_byol:resnet18", [1, 2, 3])
    with pytest.raises(DataError, match="no state dict"):
        load_released_backbone("rgz_byol:resnet18", data_dir=tmp_path)
    with pytest.raises(KeyError, match="choose from"):
        load_released_backbone("dinov2:vitl14", data_dir=tmp_path)


def test_radiolib_embed_takes_a_released_backbone_by_name(tmp_path, monkeypatch):
    import numpy as np
    from PIL import Image

    from radiolib.evaluate import embed_inputs
    reference = _byol_reference(3)
    _save(tmp_path, "rgz_byol:resnet18",
          {"state_dict": _byol_layout(reference.state_dict()),
           "hyper_parameters": {"config": {"data": {"mu": 0.0, "sig": 1.0}}}})
    monkeypatch.setenv("RADIOLIB_DATA", str(tmp_path))
    files = []
    for i in range(3):
        files.append(tmp_path / f"g{i}.png")
        Image.fromarray((np.random.default_rng(i).random((40, 40)) * 255).astype("uint8")) \
            .save(files[-1])
    done = embed_inputs("rgz_byol:resnet18", files, tmp_path / "f.npz", device="cpu",
                        progress=False)
    with np.load(done.path) as z:
        assert z["features"].shape == (3, 512) and "rgz_byol" in str(z["backbone"])


class _Custom:  # an object the safe reader refuses (module-level: picklable)
    pass


def test_numpy_numbers_in_a_saved_config_load_and_other_objects_need_the_opt_in(tmp_path,
                                                                               monkeypatch):
    import numpy as np
    reference = _byol_reference(3)
    encoder = _byol_layout(reference.state_dict())
    config = {"data": {"mu": np.float32(0.5), "sig": np.float64(2.0)}}
    _save(tmp_path, "rgz_byol:resnet18",
          {"state_dict": encoder, "hyper_parameters": {"config": config}})
    model = load_released_backbone("rgz_byol:resnet18", data_dir=tmp_path, device="cpu")
    x = torch.rand(2, 1, 40, 40)
    with torch.no_grad():
        torch.testing.assert_close(model.embed(x), reference((x - 0.5) / 2.0))
    _save(tmp_path, "rgz_byol:resnet18", {"state_dict": encoder, "callbacks": _Custom(),
                                          "hyper_parameters": {"config": config}})
    with pytest.raises(DataError, match=f"safe reader.*{released.TRUST_ENV}=1"):
        load_released_backbone("rgz_byol:resnet18", data_dir=tmp_path)
    monkeypatch.setenv(released.TRUST_ENV, "1")
    with pytest.warns(UserWarning, match="unpickled in full"):
        assert load_released_backbone("rgz_byol:resnet18", data_dir=tmp_path).embed_dim == 512
