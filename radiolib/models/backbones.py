"""Backbones of both papers and the feature-extractor interface used by every downstream task.

* ``resnet18`` (Riggi et al. [0], 512-d) and ``resnet50`` (Lastufka et al. [1], 2048-d):
  torchvision ResNets, ``fc`` replaced by ``Identity`` (the pooled features), first convolution
  rebuilt for 1-channel input as in the released DINO code;
* ``resnet18_w32``: ResNet18's layout at half its width (32-256 channels, 256-d, ~4x fewer
  operations), not in either paper: a smaller net for the CPU pre-training-budget study;
* ``vit_s8`` (ViT-S/8, 384-d) of [1] and ``vit_b16`` (ViT-B/16, 768-d), which is among the
  released checkpoints of [1] but not in the paper: torchvision's
  :class:`~torchvision.models.VisionTransformer` returning the CLS token, for any input size
  (position embeddings interpolated as in DINO [2]).

No pretrained weights are downloaded (``weights=None``); published checkpoints are loaded by
:mod:`radiolib.models.weights`.

- [0] Riggi et al. 2024, PASA, arXiv:2404.18462
- [1] Lastufka et al. 2024, A&A 690, A310, arXiv:2408.06147
- [2] Caron et al. 2021, DINO, https://arxiv.org/abs/2104.14294
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn
from torchvision.models import resnet18, resnet50
from torchvision.models.resnet import BasicBlock
from torchvision.models.vision_transformer import VisionTransformer

from radiolib.errors import ConfigError

__all__ = ["BACKBONES", "BackboneSpec", "ViTBackbone", "attention_maps", "backbone",
           "backbone_spec", "default_device", "select_device"]


@dataclass(frozen=True)
class BackboneSpec:
    """What the package knows of a backbone before building it: family, embedding, patch.

    ``patch_size`` is None for ResNets; ``layers``, ``heads`` and ``mlp_dim`` are the ViT
    encoder's (0 for ResNets).
    """

    name: str
    family: str
    embed_dim: int
    patch_size: int | None = None
    layers: int = 0
    heads: int = 0
    mlp_dim: int = 0


#: The backbone registry: every name the package builds, configs accept and weights map to.
_SPECS: dict[str, BackboneSpec] = {s.name: s for s in (
    BackboneSpec("resnet18", "resnet", 512),
    BackboneSpec("resnet50", "resnet", 2048),
    BackboneSpec("resnet18_w32", "resnet", 256),
    BackboneSpec("vit_b16", "vit", 768, patch_size=16, layers=12, heads=12, mlp_dim=3072),
    BackboneSpec("vit_s8", "vit", 384, patch_size=8, layers=12, heads=6, mlp_dim=1536),
)}
_RESNET = {"resnet18": resnet18, "resnet50": resnet50}
#: Narrow ResNets: name -> (blocks per stage, channels of the first stage).
_NARROW = {"resnet18_w32": ((2, 2, 2, 2), 32)}
BACKBONES: tuple[str, ...] = tuple(sorted(_SPECS))


def backbone_spec(name: str) -> BackboneSpec:
    """Return the registry entry of backbone ``name`` (ValueError naming the valid ones)."""
    try:
        return _SPECS[name]
    except (KeyError, TypeError):
        raise ValueError(f"unknown backbone {name!r}; choose from {', '.join(BACKBONES)}") \
            from None


def default_device() -> torch.device:
    """``cuda`` when a GPU is visible, else ``cpu``."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def select_device(device: str | torch.device | None = None) -> torch.device:
    """Return ``device`` checked to exist here; ``None`` or ``"auto"`` is `default_device`.

    Raises
    ------
    ConfigError
        For an unknown device name, or CUDA asked for where torch sees no GPU.
    """
    if device is None or device == "auto":
        return default_device()
    try:
        device = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise ConfigError(f"unknown device {device!r} ({exc}); use cpu, cuda or auto") from None
    if device.type == "cuda":
        if not torch.cuda.is_available():
            why = "built without CUDA" if torch.version.cuda is None else "no GPU or driver found"
            raise ConfigError(f"device {str(device)!r} asked for, but this machine has no CUDA "
                              f"GPU that torch {torch.__version__} can use ({why}); use device "
                              "'auto' (--device auto: the GPU when there is one, else the CPU) "
                              "or 'cpu'")
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise ConfigError(f"device {str(device)!r} asked for, but this machine has "
                              f"{torch.cuda.device_count()} CUDA GPU(s); use 'cuda' or 'auto'")
    return device


class ViTBackbone(VisionTransformer):
    """torchvision ViT returning the CLS token (B, D), for any input size divisible by the patch.

    ``image_size`` is the size the position embeddings are built for; other sizes interpolate
    them bicubically exactly as DINO's ``interpolate_pos_encoding`` [2].

    Parameters
    ----------
    image_size, patch_size, num_layers, num_heads, hidden_dim, mlp_dim : int
        As :class:`torchvision.models.VisionTransformer`.
    in_chans : int
        Input channels (1 for Lastufka et al.'s single-channel crops).
    """

    def __init__(self, image_size: int = 224, patch_size: int = 8, num_layers: int = 12,
                 num_heads: int = 6, hidden_dim: int = 384, mlp_dim: int = 1536,
                 in_chans: int = 3) -> None:
        super().__init__(image_size=image_size, patch_size=patch_size, num_layers=num_layers,
                         num_heads=num_heads, hidden_dim=hidden_dim, mlp_dim=mlp_dim)
        self.heads = nn.Identity()
        self.in_chans = in_chans
        if in_chans != 3:
            self.conv_proj = nn.Conv2d(in_chans, hidden_dim, patch_size, stride=patch_size)
            nn.init.trunc_normal_(self.conv_proj.weight,
                                  std=math.sqrt(1 / (in_chans * patch_size ** 2)))
            nn.init.zeros_(self.conv_proj.bias)

    def _position_embedding(self, rows: int, cols: int) -> torch.Tensor:
        pos = self.encoder.pos_embedding
        n = pos.shape[1] - 1
        side = math.isqrt(n)
        if rows == cols == side:
            return pos
        grid = pos[:, 1:].reshape(1, side, side, -1).permute(0, 3, 1, 2)
        # DINO's interpolate_pos_encoding: a scale factor with +0.1 against rounding errors
        grid = F.interpolate(grid, scale_factor=((rows + 0.1) / side, (cols + 0.1) / side),
                             mode="bicubic", align_corners=False)
        if grid.shape[-2:] != (rows, cols):
            raise RuntimeError(f"position embeddings interpolated to {tuple(grid.shape[-2:])}, "
                               f"expected {(rows, cols)}")
        return torch.cat([pos[:, :1], grid.permute(0, 2, 3, 1).reshape(1, rows * cols, -1)], 1)

    def embed_tokens(self, x: torch.Tensor) -> torch.Tensor:
        """Patch tokens with the class token and position embeddings, before the encoder.

        Parameters
        ----------
        x : Tensor, shape (B, C, H, W)

        Returns
        -------
        Tensor, shape (B, 1 + (H / p) (W / p), D)
        """
        b, c, h, w = x.shape
        p = self.patch_size
        if c != self.in_chans or h % p or w % p:
            raise ValueError(f"expected (B, {self.in_chans}, H, W) with H and W multiples of "
                             f"{p}, got {tuple(x.shape)}")
        tokens = self.conv_proj(x)
        rows, cols = tokens.shape[-2:]
        tokens = tokens.flatten(2).transpose(1, 2)
        tokens = torch.cat([self.class_token.expand(b, -1, -1), tokens], dim=1)
        return self.encoder.dropout(tokens + self._position_embedding(rows, cols))

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """All tokens after the final LayerNorm, shape (B, 1 + N, D)."""
        return self.encoder.ln(self.encoder.layers(self.embed_tokens(x)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """CLS token embedding, shape (B, D)."""
        return self.forward_features(x)[:, 0]


def _narrow_resnet(name: str) -> nn.Module:
    """Return torchvision's ResNet18 rebuilt with narrower stages (same attributes, same init)."""
    blocks, width = _NARROW[name]
    model = resnet18(weights=None)
    model.inplanes = width
    model.conv1 = nn.Conv2d(3, width, kernel_size=7, stride=2, padding=3, bias=False)
    model.bn1 = nn.BatchNorm2d(width)
    for i, n in enumerate(blocks):
        setattr(model, f"layer{i + 1}",
                model._make_layer(BasicBlock, width * 2 ** i, n, stride=1 if i == 0 else 2))
    for m in model.modules():  # torchvision's ResNet initialisation
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
    return model


def _resnet(name: str, in_chans: int) -> tuple[nn.Module, int]:
    model = _narrow_resnet(name) if name in _NARROW else _RESNET[name](weights=None)
    if in_chans != 3:  # as the released DINO code: a fresh 7x7 stem conv for 1 channel
        model.conv1 = nn.Conv2d(in_chans, model.conv1.out_channels, kernel_size=7, stride=2,
                                padding=3, bias=False)
        nn.init.kaiming_normal_(model.conv1.weight, mode="fan_out", nonlinearity="relu")
    model.fc = nn.Identity()
    return model, _SPECS[name].embed_dim


def backbone(name: str, in_chans: int = 3, *, image_size: int = 224) -> tuple[nn.Module, int]:
    """Build a randomly initialised backbone and return it with its embedding size.

    Parameters
    ----------
    name : {"resnet18", "resnet18_w32", "resnet50", "vit_s8", "vit_b16"}
    in_chans : int
        Input channels: 3 (Riggi et al.'s 3-channel stack) or 1 (Lastufka et al.).
    image_size : int
        ViT only: the size the position embeddings are built for (224 in [1]).

    Returns
    -------
    module : nn.Module
        Maps (B, in_chans, H, W) to (B, embed_dim).
    embed_dim : int
        512, 256, 2048, 384 or 768.
    """
    if not isinstance(in_chans, int) or in_chans < 1:
        raise ValueError(f"in_chans must be a positive int, got {in_chans!r}")
    spec = backbone_spec(name)
    if spec.family == "resnet":
        return _resnet(name, in_chans)
    if image_size % spec.patch_size:
        raise ValueError(f"image_size {image_size} is not a multiple of the patch "
                         f"{spec.patch_size}")
    return ViTBackbone(image_size, spec.patch_size, spec.layers, spec.heads, spec.embed_dim,
                       spec.mlp_dim, in_chans), spec.embed_dim


@torch.no_grad()
def attention_maps(vit: ViTBackbone, x: torch.Tensor) -> torch.Tensor:
    """CLS-token attention of the last block over the patches, per head (as DINO's figures).

    Parameters
    ----------
    vit : ViTBackbone
    x : Tensor, shape (B, C, H, W)

    Returns
    -------
    Tensor, shape (B, heads, N)
        Softmax weights of the CLS query on the ``N = (H / p) (W / p)`` patch keys (row-major);
        reshape to (B, heads, H / p, W / p) for images.
    """
    if isinstance(vit, nn.Module) and hasattr(vit, "backbone"):
        vit = vit.backbone
    if not isinstance(vit, ViTBackbone):
        raise TypeError(f"attention maps need a ViTBackbone, got {type(vit).__name__}")
    *blocks, last = vit.encoder.layers
    tokens = vit.embed_tokens(x)
    for block in blocks:
        tokens = block(tokens)
    y = last.ln_1(tokens)
    _, weights = last.self_attention(y, y, y, need_weights=True, average_attn_weights=False)
    return weights[:, :, 0, 1:]
