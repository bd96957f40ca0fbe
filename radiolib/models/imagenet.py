"""Backbones trained on natural images, read from their data folders: never downloaded here.

torchvision's ImageNet-1k ResNet18 is the non-radio baseline of Riggi et al. [0] (Fig. 5),
DINO's ImageNet ResNet50 a row of Lastufka et al.'s Table 4 [1]. The weights are read from
each one's dataset folder (never
downloaded behind the user's back: an offline machine gets a :class:`DataError` saying where
to put the file), with ``torch.load(weights_only=True)``, strictly: every key but a
classification ``fc`` layer must fit our backbone.

- [0] Riggi et al. 2024, PASA, arXiv:2404.18462
- [1] Lastufka et al. 2024, A&A 690, A310, arXiv:2408.06147
"""

from __future__ import annotations

import os

import torch

from radiolib.data.fetch import dataset_dir
from radiolib.errors import DataError
from radiolib.models.backbones import backbone, default_device
from radiolib.models.extractor import FeatureExtractor

__all__ = ["IMAGENET_DATASET", "IMAGENET_FILE", "NATURAL_IMAGE_BACKBONES", "imagenet_available",
           "load_imagenet_resnet18", "load_natural_image_backbone"]

IMAGENET_DATASET = "torchvision_resnet18_imagenet"
IMAGENET_FILE = "resnet18-f37072fd.pth"
#: Backbones trained on natural images whose files are torchvision ResNet state dicts, by the
#: name :func:`radiolib.evaluate.load_backbone` takes -> (dataset, file, architecture, what):
#: Riggi et al.'s ImageNet baseline and Lastufka et al.'s DINO ImageNet ResNet50 (Table 4).
NATURAL_IMAGE_BACKBONES = {
    "imagenet:resnet18": (IMAGENET_DATASET, IMAGENET_FILE, "resnet18", "ImageNet ResNet18"),
    "dino_imagenet:resnet50": ("dino_resnet50_imagenet", "dino_resnet50_pretrain.pth",
                               "resnet50", "DINO ImageNet ResNet50"),
}


def imagenet_available(*, data_dir: str | os.PathLike | None = None) -> bool:
    """Whether the ImageNet ResNet18 weights are in the data folder."""
    return (dataset_dir(IMAGENET_DATASET, data_dir=data_dir) / IMAGENET_FILE).is_file()


def load_imagenet_resnet18(*, image_size: int = 224, data_dir: str | os.PathLike | None = None,
                           device: str | torch.device | None = None) -> FeatureExtractor:
    """Return the ImageNet-1k ResNet18 as a 3-channel :class:`FeatureExtractor` (512-d)."""
    return load_natural_image_backbone("imagenet:resnet18", image_size=image_size,
                                       data_dir=data_dir, device=device)


def load_natural_image_backbone(name: str, *, image_size: int = 224,
                                data_dir: str | os.PathLike | None = None,
                                device: str | torch.device | None = None) -> FeatureExtractor:
    """Return a :data:`NATURAL_IMAGE_BACKBONES` entry as a 3-channel :class:`FeatureExtractor`.

    Read from its dataset folder with ``torch.load(weights_only=True)`` and loaded strictly:
    every key but a classification ``fc`` layer must fit torchvision's architecture.
    """
    dataset, file, arch, what = NATURAL_IMAGE_BACKBONES[name]
    path = dataset_dir(dataset, data_dir=data_dir) / file
    if not path.is_file():
        raise DataError(f"{what} weights not available offline: {path} is missing; "
                        f"see `radiolib fetch {dataset}` for where to get them")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # unpickling errors have many types
        raise DataError(f"cannot read {path} with torch.load(weights_only=True): {exc}") \
            from None
    state = {k: v for k, v in state.items() if not k.startswith("fc.")}
    net, dim = backbone(arch, 3, image_size=image_size)
    try:
        net.load_state_dict(state, strict=True)
    except RuntimeError as exc:  # missing, unexpected or mis-shaped keys, all listed
        raise DataError(f"{path} does not fit torchvision's {arch}: {exc}") from None
    model = FeatureExtractor(net, dim, name=arch, in_chans=3, image_size=image_size)
    return model.to(default_device() if device is None else device).eval()
