"""Backbones other groups released, as Lastufka et al. [0] evaluate them in Table 4 (Figs 9-11).

Each file is read from its dataset folder (``radiolib fetch NAME`` says where to get it; nothing
is downloaded behind the user's back), unpickled with ``torch.load(weights_only=True)`` and
loaded strictly: every key must map onto our module with the right shape, else a
:class:`~radiolib.errors.DataError` lists what did not fit. The layouts below are those of
each group's published code (files named), which is what the loaders were written and tested
against; the released files themselves cannot be fetched on an offline machine, so a layout
difference would show up as that error, never as silently random weights.

* ``dinov2:vitg14`` -- DINOv2 ViT-g/14 [1] (``dinov2_vitg14_pretrain.pth``): the ViT of
  facebookresearch/dinov2 ``dinov2/models/vision_transformer.py`` (SwiGLU feed-forward
  ``mlp.w12``/``mlp.w3``, LayerScale ``ls1``/``ls2``, a ``mask_token``), built with timm's
  ``vit_giant_patch14_dinov2`` and converted by timm's own checkpoint filter. Input: three
  equal channels scaled by ImageNet's mean and std (DINOv2's evaluation transform); the
  embedding is the normalised CLS token (1536-d).
* ``hayat2021:resnet50`` -- the MoCo v2 ResNet50 of Hayat et al. [2] (Lastufka et al.'s
  "GZ2 MoCo"; ``pretrained_paper_model.pth.tar``): ssl-sky-surveys ``models/resnet.py``, i.e.
  torchvision's names (``module.`` prefix from DataParallel, under ``model_state``) with a
  5-channel 7x7 stride-1 stem and no max-pool. Radio images enter as five equal channels.
* ``rgz_byol:resnet18`` -- the BYOL ResNet18 of Slijepcevic et al. [3] (``byol.ckpt``): a
  PyTorch Lightning checkpoint whose ``state_dict`` holds ``encoder.layers.<i>`` as in
  inigoval/architectures ``architectures/resnet.py`` (layer 0 the stem, 1-8 the basic blocks),
  mapped by :func:`map_byol_keys`; the stem's shape (channels, kernel) is read from the file,
  the input scaling from the checkpoint's ``hyper_parameters.config.data.mu/sig``.

- [0] Lastufka et al. 2024, A&A 690, A310, arXiv:2408.06147
- [1] Oquab et al. 2024, TMLR, arXiv:2304.07193; github.com/facebookresearch/dinov2
- [2] Hayat et al. 2021, ApJL 911, L33, arXiv:2012.13083; github.com/mahayat/ssl-sky-surveys
- [3] Slijepcevic et al. 2024, RASTI 3, 19, arXiv:2305.16127; github.com/inigoval/byol
"""

from __future__ import annotations

import argparse
import os
import re
import warnings
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torchvision.models import ResNet
from torchvision.models.resnet import BasicBlock, Bottleneck

from radiolib.data.fetch import dataset_dir
from radiolib.errors import DataError
from radiolib.models import FeatureExtractor, select_device

__all__ = ["RELEASED_BACKBONES", "TRUST_ENV", "ReleasedBackbone", "load_released_backbone",
           "map_byol_keys"]

#: ImageNet's channel mean and std: DINOv2's evaluation transform scales inputs by them.
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


@dataclass(frozen=True)
class ReleasedBackbone:
    """A released backbone: its dataset (manifest) and file, what it is, its training input side."""

    dataset: str
    file: str
    what: str
    image_size: int


#: Backbones of Lastufka et al.'s Table 4 trained by other groups, by the name
#: :func:`radiolib.evaluate.load_backbone` takes. ``image_size``: DINOv2's evaluation side,
#: Hayat et al.'s 64 px training crops, RGZ BYOL's 70 px centre crop.
RELEASED_BACKBONES: dict[str, ReleasedBackbone] = {
    "dinov2:vitg14": ReleasedBackbone("dinov2_vitg14", "dinov2_vitg14_pretrain.pth",
                                      "DINOv2 ViT-g/14", 224),
    "hayat2021:resnet50": ReleasedBackbone("hayat2021_moco", "pretrained_paper_model.pth.tar",
                                           "Hayat et al. 2021 MoCo ResNet50 (GZ2 MoCo)", 64),
    "rgz_byol:resnet18": ReleasedBackbone("rgz_byol", "byol.ckpt",
                                          "Slijepcevic et al. 2024 RGZ BYOL ResNet18", 70),
}
#: timm model that rebuilds each DINOv2 architecture; tests swap in a small one.
_TIMM_ARCH = {"dinov2:vitg14": ("vit_giant_patch14_dinov2", {})}


class ScaledInput(nn.Module):
    """Scale images by a per-channel mean and std, then run ``net`` (the loaders' front end)."""

    def __init__(self, net: nn.Module, mean, std) -> None:
        super().__init__()
        self.net = net
        self.register_buffer("mean", torch.as_tensor(mean, dtype=torch.float32).view(1, -1, 1, 1))
        self.register_buffer("std", torch.as_tensor(std, dtype=torch.float32).view(1, -1, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Features of ``(x - mean) / std``."""
        return self.net((x - self.mean) / self.std)


class _ScaledResNet(ResNet):
    """torchvision's ResNet (``fc`` the identity) scaling its input first.

    It keeps ResNet's attributes (``conv1`` ... ``layer4``) so fine-tuning can split it into
    blocks (:func:`radiolib.evaluate.backbone_blocks`).
    """

    def __init__(self, block, layers, *, in_chans: int, kernel: int, stride: int,
                 maxpool: bool, mean: float = 0.0, std: float = 1.0) -> None:
        super().__init__(block, layers)
        self.conv1 = nn.Conv2d(in_chans, 64, kernel, stride=stride, padding=kernel // 2,
                               bias=False)
        if not maxpool:
            self.maxpool = nn.Identity()
        self.fc = nn.Identity()
        self.register_buffer("mean", torch.tensor(float(mean)))
        self.register_buffer("std", torch.tensor(float(std)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Pooled features (B, 512 or 2048) of ``(x - mean) / std``."""
        return super().forward((x - self.mean) / self.std)


#: Set to 1 to unpickle a released file in full when the safe reader refuses it (only for a
#: file you trust: unpickling can run code). Training checkpoints such as Lightning's may hold
#: objects beyond tensors and numbers.
TRUST_ENV = "RADIOLIB_TRUST_CHECKPOINTS"
#: Beyond tensors and containers, what the safe reader accepts: numpy scalars and dtypes (in
#: saved configs) and argparse namespaces (saved arguments).
#: Files written under numpy 1 name ``numpy.core``; numpy 2 calls it ``numpy._core``.
_NP_CORE = getattr(np, "_core", None) or np.core
_SAFE = [argparse.Namespace, np.dtype, _NP_CORE.multiarray.scalar,
         (_NP_CORE.multiarray.scalar, "numpy.core.multiarray.scalar"),
         *(getattr(np.dtypes, n) for n in ("Float32DType", "Float64DType", "Int64DType")
           if hasattr(np, "dtypes"))]
#: RGZ BYOL's input mean and std (inigoval/byol's RGZ data module), for a checkpoint whose
#: config lacks them.
RGZ_MU, RGZ_SIG = 0.008008896, 0.05303395


def _read(name: str, data_dir, *, mmap: bool = False) -> tuple[Path, object]:
    """Return the file of backbone ``name`` and what the safe reader (or the opt-in) reads.

    ``mmap``: map the tensors from the file instead of reading them into memory (for files in
    torch's zip format; others are read).
    """
    spec = RELEASED_BACKBONES[name]
    path = dataset_dir(spec.dataset, data_dir=data_dir) / spec.file
    if not path.is_file():
        raise DataError(f"{spec.what} weights not available: {path} is missing; "
                        f"`radiolib fetch {spec.dataset}` says where to get them")
    try:
        with torch.serialization.safe_globals(_SAFE):
            mapped = mmap and zipfile.is_zipfile(path)
            return path, torch.load(path, map_location="cpu", weights_only=True, mmap=mapped)
    except Exception as exc:  # unpickling errors have many types
        if os.environ.get(TRUST_ENV) == "1":
            warnings.warn(f"{path}: unpickled in full ({TRUST_ENV}=1)", stacklevel=3)
            try:
                return path, torch.load(path, map_location="cpu", weights_only=False)
            except Exception as again:
                raise DataError(f"cannot read {path}: {again}; download it again (`radiolib "
                                f"fetch {spec.dataset}` says from where)") from None
        lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
        why = next((line for line in lines if "Unsupported global" in line),
                   lines[0] if lines else type(exc).__name__)
        raise DataError(f"cannot read {path} with the safe reader "
                        f"(torch.load(weights_only=True)): {why} If the file is complete and "
                        f"you trust it, set {TRUST_ENV}=1 to unpickle it in full") from None


def _check(path: Path) -> str:
    """Say what to do about a file that is not what it should be."""
    return (f"check that {path.name} is the file `radiolib fetch {path.parent.name}` names, "
            "complete (download it again if unsure)")


def _tensors(obj, path: Path, *keys: str) -> dict[str, torch.Tensor]:
    """Return the state dict under the first of ``keys`` present (or ``obj`` if it is one)."""
    if isinstance(obj, Mapping):
        for key in keys:
            if isinstance(obj.get(key), Mapping):
                obj = obj[key]
                break
    if not isinstance(obj, Mapping) or not obj or \
            not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise DataError(f"{path} holds no state dict under {' or '.join(keys)}; {_check(path)}")
    return dict(obj)


def _load_strict(net: nn.Module, state: dict, path: Path, what: str, *,
                 assign: bool = False) -> None:
    """Load ``state`` into ``net`` with every key fitting; else say which did not.

    ``assign``: take the tensors themselves (for a module built on the meta device).
    """
    try:
        net.load_state_dict(state, strict=True, assign=assign)
    except RuntimeError as exc:  # missing, unexpected or mis-shaped keys, all listed
        raise DataError(f"{path} does not fit {what} ({_check(path)}): {exc}") from None


def _scalar(value, default: float, what: str, path: Path) -> float:
    """Read a number saved as such, as a numpy scalar or a 1-tuple; ``default`` if absent."""
    if value is None:
        warnings.warn(f"{path}: no {what} in the checkpoint's config; using {default}",
                      stacklevel=4)
        return default
    try:
        return float(torch.as_tensor(value, dtype=torch.float64).reshape(-1)[0])
    except (TypeError, ValueError, IndexError):
        raise DataError(f"{path}: the config's {what} is {value!r}, not a number; "
                        f"{_check(path)}") from None


def map_byol_keys(state: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """RGZ BYOL's online encoder (``encoder.layers.<i>...``) renamed to torchvision resnet18's.

    Layer 0 is the stem (``0.0`` conv, ``0.1`` batch norm), layers 1-8 the basic blocks two per
    stage; the momentum encoder and the projection/prediction heads are dropped.
    """
    out = {}
    for key, value in state.items():
        m = re.fullmatch(r"encoder\.layers\.(\d+)\.(.+)", key)
        if m is None:
            continue
        i, rest = int(m.group(1)), m.group(2)
        if i == 0:
            stem = re.fullmatch(r"([01])\.(.+)", rest)
            if stem is None:
                raise DataError(f"unexpected stem key {key!r} in the RGZ BYOL encoder")
            out[f"{('conv1', 'bn1')[int(stem.group(1))]}.{stem.group(2)}"] = value
        elif 1 <= i <= 8:
            out[f"layer{(i + 1) // 2}.{(i + 1) % 2}.{rest}"] = value
        else:
            raise DataError(f"unexpected key {key!r}: a ResNet18 encoder has layers 0-8")
    return out


def _rgz_byol(name: str, data_dir) -> FeatureExtractor:
    """RGZ BYOL's online encoder as a 1-channel ResNet18 scaling by the saved mean and std."""
    path, ckpt = _read(name, data_dir)
    state = map_byol_keys(_tensors(ckpt, path, "state_dict"))
    if "conv1.weight" not in state:
        raise DataError(f"{path} has no BYOL encoder (no encoder.layers.0.0.weight); "
                        f"{_check(path)}")
    hyper = ckpt.get("hyper_parameters") if isinstance(ckpt, Mapping) else None
    config = hyper.get("config") if isinstance(hyper, Mapping) else None
    data = config.get("data") if isinstance(config, Mapping) else None
    data = data if isinstance(data, Mapping) else {}
    mean = _scalar(data.get("mu"), RGZ_MU, "input mean (data.mu)", path)
    std = _scalar(data.get("sig"), RGZ_SIG, "input std (data.sig)", path)
    out_c, in_chans, k, _ = state["conv1.weight"].shape
    net = _ScaledResNet(BasicBlock, [2, 2, 2, 2], in_chans=in_chans, kernel=k,
                        stride=1 if k == 3 else 2, maxpool=True, mean=mean, std=std)
    _load_strict(net, state | {"mean": net.mean, "std": net.std}, path, "a ResNet18 encoder")
    return FeatureExtractor(net, 512, name="resnet18", in_chans=in_chans,
                            image_size=RELEASED_BACKBONES[name].image_size)


def _hayat2021(name: str, data_dir) -> FeatureExtractor:
    """Hayat et al.'s ResNet50 (5-channel stride-1 stem, no max-pool) without its classifier."""
    path, ckpt = _read(name, data_dir)
    raw = _tensors(ckpt, path, "model_state", "state_dict")
    raw = {k.removeprefix("module."): v for k, v in raw.items()}
    if any(k.startswith("encoder_q.") for k in raw):  # a MoCo training state: the query encoder
        raw = {k.removeprefix("encoder_q."): v for k, v in raw.items()
               if k.startswith("encoder_q.")}
    state = {k: v for k, v in raw.items() if not k.startswith("fc.")}  # classifier/projection
    if "conv1.weight" not in state:
        raise DataError(f"{path} has no ResNet50 (no conv1.weight); {_check(path)}")
    _, in_chans, k, _ = state["conv1.weight"].shape
    net = _ScaledResNet(Bottleneck, [3, 4, 6, 3], in_chans=in_chans, kernel=k, stride=1,
                        maxpool=False)
    _load_strict(net, state | {"mean": net.mean, "std": net.std}, path, "a ResNet50")
    return FeatureExtractor(net, 2048, name="resnet50", in_chans=in_chans,
                            image_size=RELEASED_BACKBONES[name].image_size)


def _dinov2(name: str, data_dir) -> FeatureExtractor:
    """DINOv2's ViT through timm, ImageNet-scaled input, the normalised CLS token out."""
    import timm  # a dependency; imported here, as only this loader needs it
    from timm.models.vision_transformer import checkpoint_filter_fn
    path, ckpt = _read(name, data_dir, mmap=True)  # 4.5 GB: mapped, not copied
    state = _tensors(ckpt, path, "teacher", "model", "state_dict")
    arch, kwargs = _TIMM_ARCH[name]
    if "pos_embed" not in state or state["pos_embed"].ndim != 3:
        raise DataError(f"{path} has no DINOv2 position embedding (pos_embed); {_check(path)}")
    side = int(round((state["pos_embed"].shape[1] - 1) ** 0.5))
    with torch.device("meta"):  # no memory until the file's tensors are assigned
        vit = timm.create_model(arch, pretrained=False, num_classes=0, dynamic_img_size=True,
                                dynamic_img_pad=True, **kwargs,
                                img_size=side * _vit_patch(arch, kwargs))
    _load_strict(vit, checkpoint_filter_fn(state, vit), path, f"timm's {arch}", assign=True)
    net = ScaledInput(vit, IMAGENET_MEAN, IMAGENET_STD)
    return FeatureExtractor(net, vit.num_features, name=name.partition(":")[2], in_chans=3,
                            image_size=RELEASED_BACKBONES[name].image_size)


def _vit_patch(arch: str, kwargs: Mapping) -> int:
    """Patch side of a timm ViT name (``..._patch14_...``) unless ``kwargs`` sets one."""
    if "patch_size" in kwargs:
        return int(kwargs["patch_size"])
    m = re.search(r"patch(\d+)", arch)
    return int(m.group(1)) if m else 16


_LOADERS = {"dinov2:vitg14": _dinov2, "hayat2021:resnet50": _hayat2021,
            "rgz_byol:resnet18": _rgz_byol}


def load_released_backbone(name: str, *, data_dir: str | os.PathLike | None = None,
                           device: str | torch.device | None = None) -> FeatureExtractor:
    """Return the :data:`RELEASED_BACKBONES` entry ``name`` as a FeatureExtractor, in eval mode.

    Raises :class:`~radiolib.errors.DataError` when its file is absent (saying where to get it),
    unreadable, or does not fit the architecture.
    """
    if name not in _LOADERS:
        raise KeyError(f"unknown released backbone {name!r}; choose from {sorted(_LOADERS)}")
    return _LOADERS[name](name, data_dir).to(select_device(device)).eval()
