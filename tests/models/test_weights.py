"""Loading DINO checkpoints saved the way Lastufka et al.'s code saves them (fabricated here).

The ViT checkpoints come from a plain re-implementation of DINO's ``vision_transformer.py``
(its parameter names and its ``interpolate_pos_encoding``), so the explicit key mapping is
checked numerically, not only by names.
"""

import argparse
import hashlib
import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from radiolib.errors import DataError
from radiolib.models import (
    DINOHead,
    ViTBackbone,
    backbone,
    load_dino_checkpoint,
    load_dino_head,
    map_dino_keys,
    read_dino_state_dict,
)


class RefBlock(nn.Module):
    def __init__(self, dim, heads, mlp):
        super().__init__()
        self.heads = heads
        self.norm1, self.norm2 = nn.LayerNorm(dim, eps=1e-6), nn.LayerNorm(dim, eps=1e-6)
        self.attn = nn.Module()
        self.attn.qkv, self.attn.proj = nn.Linear(dim, 3 * dim), nn.Linear(dim, dim)
        self.mlp = nn.Module()
        self.mlp.fc1, self.mlp.fc2 = nn.Linear(dim, mlp), nn.Linear(mlp, dim)

    def forward(self, x):
        b, n, c = x.shape
        qkv = self.attn.qkv(self.norm1(x)).reshape(b, n, 3, self.heads, c // self.heads)
        q, k, v = qkv.permute(2, 0, 3, 1, 4)
        attn = ((q @ k.transpose(-2, -1)) * (c // self.heads) ** -0.5).softmax(dim=-1)
        x = x + self.attn.proj((attn @ v).transpose(1, 2).reshape(b, n, c))
        return x + self.mlp.fc2(F.gelu(self.mlp.fc1(self.norm2(x))))


class RefViT(nn.Module):
    """DINO's VisionTransformer (num_classes=0), written plainly with DINO's parameter names."""

    def __init__(self, img_size=32, patch=8, dim=48, depth=2, heads=3, mlp=96, in_chans=1):
        super().__init__()
        self.patch = patch
        self.patch_embed = nn.Module()
        self.patch_embed.proj = nn.Conv2d(in_chans, dim, patch, stride=patch)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, dim))
        self.pos_embed = nn.Parameter(torch.zeros(1, (img_size // patch) ** 2 + 1, dim))
        self.blocks = nn.ModuleList(RefBlock(dim, heads, mlp) for _ in range(depth))
        self.norm = nn.LayerNorm(dim, eps=1e-6)
        with torch.no_grad():
            for p in self.parameters():
                p.add_(torch.randn_like(p) * 0.2)

    def interpolate_pos_encoding(self, x, w, h):
        npatch, n = x.shape[1] - 1, self.pos_embed.shape[1] - 1
        if npatch == n and w == h:
            return self.pos_embed
        dim = x.shape[-1]
        w0, h0 = w // self.patch + 0.1, h // self.patch + 0.1
        side = int(math.sqrt(n))
        pos = F.interpolate(self.pos_embed[:, 1:].reshape(1, side, side, dim).permute(0, 3, 1, 2),
                            scale_factor=(w0 / side, h0 / side), mode="bicubic")
        pos = pos.permute(0, 2, 3, 1).view(1, -1, dim)
        return torch.cat((self.pos_embed[:, :1], pos), dim=1)

    def forward(self, x):
        b, _, w, h = x.shape  # DINO's naming: w is the height
        x = self.patch_embed.proj(x).flatten(2).transpose(1, 2)
        x = torch.cat((self.cls_token.expand(b, -1, -1), x), dim=1)
        x = x + self.interpolate_pos_encoding(x, w, h)
        for block in self.blocks:
            x = block(x)
        return self.norm(x)[:, 0]


def dino_head_state(head):
    """Our DINOHead state with DINO's (torch.nn.utils.weight_norm) names."""
    names = {"last_layer.parametrizations.weight.original0": "last_layer.weight_g",
             "last_layer.parametrizations.weight.original1": "last_layer.weight_v"}
    return {names.get(k, k): v for k, v in head.state_dict().items()}


def checkpoint(student, teacher, student_head, teacher_head, ddp_teacher):
    """A DINO ``checkpoint.pth`` as main_meerkat.py saves it."""
    t_prefix = "module." if ddp_teacher else ""
    return {
        "student": {**{f"module.backbone.{k}": v for k, v in student.state_dict().items()},
                    **{f"module.head.{k}": v for k, v in dino_head_state(student_head).items()}},
        "teacher": {**{f"{t_prefix}backbone.{k}": v for k, v in teacher.state_dict().items()},
                    **{f"{t_prefix}head.{k}": v for k, v in dino_head_state(teacher_head).items()}},
        "optimizer": torch.optim.AdamW(student.parameters()).state_dict(),
        "epoch": 425,
        "args": argparse.Namespace(arch="resnet50", in_chans=1, out_dim=100,
                                   global_crops_scale=(0.4, 1.0), augmentations=["rotate"]),
        "dino_loss": {"center": torch.zeros(1, 100)},
    }


@pytest.fixture(scope="module")
def resnet_ckpt(tmp_path_factory):
    torch.manual_seed(0)
    student, teacher = backbone("resnet18", 1)[0], backbone("resnet18", 1)[0]
    heads = DINOHead(512, 64, 16, 100), DINOHead(512, 64, 16, 100)
    path = tmp_path_factory.mktemp("ckpt") / "checkpoint.pth"
    torch.save(checkpoint(student, teacher, *heads, ddp_teacher=True), path)
    return path, student.eval(), teacher.eval(), heads


def test_full_checkpoint_loads_teacher_and_student(resnet_ckpt):
    path, student, teacher, _ = resnet_ckpt
    x = torch.rand(2, 1, 32, 32)
    for which, ref in (("teacher", teacher), ("student", student)):
        model = load_dino_checkpoint(path, "resnet18", which, device="cpu")
        assert model.in_chans == 1 and model.embed_dim == 512 and not model.training
        with torch.no_grad():
            torch.testing.assert_close(model.embed(x), ref(x))


def test_head_loads_with_sizes_from_the_weights(resnet_ckpt):
    path, _, _, (_, teacher_head) = resnet_ckpt
    head = load_dino_head(path).eval()
    assert head.last_layer.weight.shape == (100, 16)
    x = torch.rand(3, 512)
    with torch.no_grad():
        torch.testing.assert_close(head(x), teacher_head.eval()(x))


def test_checksum_is_verified(resnet_ckpt):
    path = resnet_ckpt[0]
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    assert read_dino_state_dict(path, sha256=digest.upper())
    with pytest.raises(DataError, match="fails its checksum"):
        read_dino_state_dict(path, sha256="0" * 64)


def test_missing_file_says_where_to_get_it(tmp_path):
    with pytest.raises(DataError, match="radiolib fetch lastufka_dino_weights"):
        load_dino_checkpoint(tmp_path / "nope.pth", "resnet50")


def test_wrong_keys_fail_loudly(tmp_path, resnet_ckpt):
    state = read_dino_state_dict(resnet_ckpt[0])
    state["module.backbone.layer9.weight"] = state.pop("module.backbone.layer1.0.conv1.weight")
    torch.save({"teacher": state}, tmp_path / "renamed.pth")
    with pytest.raises(DataError, match=r"missing: layer1\.0\.conv1\.weight.*unexpected: "
                                        r"layer9\.weight"):
        load_dino_checkpoint(tmp_path / "renamed.pth", "resnet18", device="cpu")
    with pytest.raises(DataError, match="wrong shape"):  # resnet18 weights for resnet50
        load_dino_checkpoint(resnet_ckpt[0], "resnet50", device="cpu")
    with pytest.raises(DataError, match="in_chans|wrong shape"):
        load_dino_checkpoint(resnet_ckpt[0], "resnet18", in_chans=3, device="cpu")


def test_unsafe_pickles_and_wrong_contents_are_refused(tmp_path):
    torch.save({"teacher": {"x": torch.zeros(1)}, "extra": nn.Linear(2, 2)}, tmp_path / "a.pth")
    with pytest.raises(DataError, match="weights_only=True"):
        read_dino_state_dict(tmp_path / "a.pth")
    torch.save({"x": torch.zeros(1)}, tmp_path / "flat.pth")
    assert read_dino_state_dict(tmp_path / "flat.pth")  # a network saved alone is the teacher
    with pytest.raises(DataError, match="single network"):
        read_dino_state_dict(tmp_path / "flat.pth", "student")
    torch.save({"epoch": 3}, tmp_path / "b.pth")
    with pytest.raises(DataError, match="no 'teacher'"):
        read_dino_state_dict(tmp_path / "b.pth")
    with pytest.raises(ValueError, match="which"):
        read_dino_state_dict(tmp_path / "b.pth", "ema")


@pytest.mark.parametrize("size", [(32, 32), (48, 64)])
def test_vit_key_mapping_reproduces_dino_numerically(size):
    torch.manual_seed(2)
    ref = RefViT().eval()
    state = {f"backbone.{k}": v for k, v in ref.state_dict().items()}  # non-DDP teacher
    body, head, unmapped = map_dino_keys(state, "vit_s8")
    assert not head and not unmapped
    ours = ViTBackbone(32, 8, 2, 3, 48, 96, in_chans=1).eval()
    ours.load_state_dict(body, strict=True)
    x = torch.rand(2, 1, *size)
    with torch.no_grad():
        torch.testing.assert_close(ours(x), ref(x), atol=1e-5, rtol=1e-5)


@pytest.mark.slow
def test_vit_s8_teacher_file_by_bare_name_from_the_data_folder(tmp_path, monkeypatch):
    torch.manual_seed(3)
    ref = RefViT(img_size=224, patch=8, dim=384, depth=12, heads=6, mlp=1536).eval()
    folder = tmp_path / "lastufka_dino_weights"
    folder.mkdir()
    torch.save(ref.state_dict(), folder / "mgcls_vits8_pretrain_325_teacher.pth")
    monkeypatch.setenv("RADIOLIB_DATA", str(tmp_path))
    model = load_dino_checkpoint("mgcls_vits8_pretrain_325_teacher.pth", "vit_s8", device="cpu")
    assert model.embed_dim == 384 and model.in_chans == 1
    x = torch.rand(2, 1, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(model.embed(x), ref(x), atol=1e-4, rtol=1e-4)
    state = ref.state_dict()
    state["blocks.0.attn.qkv_typo.weight"] = state.pop("blocks.0.attn.qkv.weight")
    torch.save(state, tmp_path / "typo.pth")
    with pytest.raises(DataError, match=r"missing: encoder\.layers\.encoder_layer_0\.self_"
                                        r"attention\.in_proj_weight.*unexpected: blocks\.0\.attn"
                                        r"\.qkv_typo\.weight"):
        load_dino_checkpoint(tmp_path / "typo.pth", "vit_s8", device="cpu")
