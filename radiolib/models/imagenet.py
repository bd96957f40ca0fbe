"""torchvision's ImageNet-1k ResNet18, the non-radio baseline of Riggi et al. [0] (Fig. 5).

The weights are read from the ``torchvision_resnet18_imagenet`` dataset folder (never
downloaded behind the user's back: an offline machine gets a :class:`DataError` saying where
to put the file), with ``torch.load(weights_only=True)``, strictly: every key but the 1000-class
``fc`` layer must fit our backbone.

- [0] Riggi et al. 2024, PASA, arXiv:2404.18462
"""

from __future__ import annotations

import os

import torch

from radiolib.data.fetch import dataset_dir
from radiolib.errors import DataError
from radiolib.models.backbones import backbone, default_device
from radiolib.models.extractor import FeatureExtractor

__all__ = ["IMAGENET_DATASET", "IMAGENET_FILE", "imagenet_available", "load_imagenet_resnet18"]

IMAGENET_DATASET = "torchvision_resnet18_imagenet"
IMAGENET_FILE = "resnet18-f37072fd.pth"


def imagenet_available(*, data_dir: str | os.PathLike | None = None) -> bool:
    """Whether the ImageNet ResNet18 weights are in the data folder."""
    return (dataset_dir(IMAGENET_DATASET, data_dir=data_dir) / IMAGENET_FILE).is_file()


def load_imagenet_resnet18(*, image_size: int = 224, data_dir: str | os.PathLike | None = None,
                           device: str | torch.device | None = None) -> FeatureExtractor:
    """Return the ImageNet-1k ResNet18 as a 3-channel :class:`FeatureExtractor` (512-d)."""
    path = dataset_dir(IMAGENET_DATASET, data_dir=data_dir) / IMAGENET_FILE
    if not path.is_file():
        raise DataError(f"ImageNet ResNet18 weights not available offline: {path} is missing; "
                        f"see `radiolib fetch {IMAGENET_DATASET}` for where to get them")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # unpickling errors have many types
        raise DataError(f"cannot read {path} with torch.load(weights_only=True): {exc}") \
            from None
    state = {k: v for k, v in state.items() if not k.startswith("fc.")}
    net, dim = backbone("resnet18", 3, image_size=image_size)
    try:
        net.load_state_dict(state, strict=True)
    except RuntimeError as exc:  # missing, unexpected or mis-shaped keys, all listed
        raise DataError(f"{path} does not fit torchvision's resnet18: {exc}") from None
    model = FeatureExtractor(net, dim, name="resnet18", in_chans=3, image_size=image_size)
    return model.to(default_device() if device is None else device).eval()
