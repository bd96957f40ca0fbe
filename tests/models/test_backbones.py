"""Backbones, the ViT wrapper, attention maps and the FeatureExtractor interface."""

import pytest
import torch
import torch.nn.functional as F
from torchvision.models.vision_transformer import VisionTransformer

from radiolib.models import (
    BACKBONES,
    FeatureExtractor,
    ViTBackbone,
    attention_maps,
    backbone,
    default_device,
    feature_extractor,
)

DIMS = {"resnet18": 512, "resnet18_w32": 256, "resnet50": 2048, "vit_s8": 384, "vit_b16": 768}


@pytest.fixture(scope="module")
def tiny_vit():
    torch.manual_seed(0)
    return ViTBackbone(image_size=32, patch_size=8, num_layers=2, num_heads=3, hidden_dim=48,
                       mlp_dim=96, in_chans=1).eval()


@pytest.mark.parametrize("name", BACKBONES)
@pytest.mark.parametrize("in_chans", [1, 3])
def test_backbone_output_dims(name, in_chans):
    torch.manual_seed(0)
    net, dim = backbone(name, in_chans)
    assert dim == DIMS[name]
    with torch.no_grad():
        out = net.eval()(torch.rand(2, in_chans, 32, 32))
    assert out.shape == (2, dim) and torch.isfinite(out).all()


def test_unknown_backbone_and_bad_channels():
    with pytest.raises(ValueError, match="unknown backbone 'vgg'.*resnet18"):
        backbone("vgg")
    with pytest.raises(ValueError, match="in_chans"):
        backbone("resnet18", 0)
    with pytest.raises(ValueError, match="multiple"):
        backbone("vit_s8", image_size=100)


def test_vit_matches_torchvision_at_its_native_size():
    torch.manual_seed(1)
    ours = ViTBackbone(image_size=32, patch_size=8, num_layers=2, num_heads=3, hidden_dim=48,
                       mlp_dim=96).eval()
    ref = VisionTransformer(image_size=32, patch_size=8, num_layers=2, num_heads=3,
                            hidden_dim=48, mlp_dim=96).eval()
    ref.heads = torch.nn.Identity()
    ref.load_state_dict(ours.state_dict())
    x = torch.rand(3, 3, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(ours(x), ref(x))


def test_vit_accepts_other_sizes_by_interpolating_position_embeddings(tiny_vit):
    with torch.no_grad():
        assert tiny_vit(torch.rand(2, 1, 48, 64)).shape == (2, 48)
        pos = tiny_vit._position_embedding(4, 4)
        assert pos is tiny_vit.encoder.pos_embedding
        grid = tiny_vit._position_embedding(6, 8)[:, 1:].reshape(1, 6, 8, 48)
    ref = F.interpolate(tiny_vit.encoder.pos_embedding[:, 1:].reshape(1, 4, 4, 48)
                        .permute(0, 3, 1, 2), scale_factor=(6.1 / 4, 8.1 / 4), mode="bicubic")
    torch.testing.assert_close(grid.permute(0, 3, 1, 2), ref)
    with pytest.raises(ValueError, match="multiples of 8"):
        tiny_vit(torch.rand(1, 1, 30, 32))


def test_attention_maps_are_the_last_block_cls_softmax(tiny_vit):
    x = torch.rand(2, 1, 32, 48)
    maps = attention_maps(tiny_vit, x)
    assert maps.shape == (2, 3, 24)
    # reference: recompute softmax(q k^T / sqrt(d)) of the CLS query from the block's weights
    with torch.no_grad():
        tokens = tiny_vit.embed_tokens(x)
        tokens = tiny_vit.encoder.layers[0](tokens)
        last = tiny_vit.encoder.layers[1]
        y = last.ln_1(tokens)
        q, k, _ = (y @ last.self_attention.in_proj_weight.T
                   + last.self_attention.in_proj_bias).chunk(3, dim=-1)
        q = q.view(2, -1, 3, 16).transpose(1, 2)
        k = k.view(2, -1, 3, 16).transpose(1, 2)
        ref = torch.softmax(q @ k.transpose(-1, -2) / 4.0, dim=-1)[:, :, 0, 1:]
    torch.testing.assert_close(maps, ref, atol=1e-6, rtol=1e-5)
    assert attention_maps(FeatureExtractor(tiny_vit, 48, in_chans=1), x).shape == (2, 3, 24)
    with pytest.raises(TypeError, match="ViTBackbone"):
        attention_maps(backbone("resnet18")[0], x)


def test_feature_extractor_embed_batches_and_restores_mode(tiny_vit):
    model = FeatureExtractor(tiny_vit, 48, name="tiny", in_chans=1).train()
    x = torch.rand(5, 1, 32, 32)
    emb = model.embed(x, batch_size=2)
    assert emb.shape == (5, 48) and emb.device.type == "cpu" and model.training
    with torch.no_grad():
        torch.testing.assert_close(emb, model.eval()(x))
    torch.testing.assert_close(model.embed(iter([x[:3], x[3:]])), emb)
    assert model.embed(iter([])).shape == (0, 48)
    assert "embed_dim=48" in repr(model)


def test_feature_extractor_factory_uses_the_default_device():
    model = feature_extractor("resnet18", in_chans=1)
    assert model.device.type == default_device().type
    assert model.embed(torch.rand(2, 1, 32, 32)).shape == (2, 512)


def test_narrow_resnet_is_resnet18_at_half_width():
    wide, _ = backbone("resnet18", 1)
    narrow, dim = backbone("resnet18_w32", 1)
    widths = [getattr(narrow, f"layer{i}")[0].conv1.out_channels for i in range(1, 5)]
    assert widths == [32, 64, 128, 256] and dim == 256
    assert narrow.conv1.in_channels == 1 and narrow.conv1.out_channels == 32
    assert [len(getattr(narrow, f"layer{i}")) for i in range(1, 5)] == [2, 2, 2, 2]
    n_wide = sum(p.numel() for p in wide.parameters())
    n_narrow = sum(p.numel() for p in narrow.parameters())
    assert 3.5 < n_wide / n_narrow < 4.5  # half the channels: a quarter of the weights
