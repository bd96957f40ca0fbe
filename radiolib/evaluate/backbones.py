"""One entry point for every backbone the book evaluates: :func:`load_backbone`.

A *source* names where the weights come from, and the result is always a
:class:`radiolib.models.FeatureExtractor` whose ``image_size`` is the input side the weights
were trained at (so that a notebook reads it from the model, not from a parameter to keep in
step with another notebook):

* a radiolib run folder or its ``checkpoint.pt`` (SimCLR: the backbone; DINO: the teacher's);
* a published checkpoint by name (:data:`PUBLISHED`), read through its data manifest and
  sha256-checked where the manifest records a hash; a clear error says where to put it when
  it is absent;
* ``random:<arch>``, a randomly initialised backbone (the untrained baseline);
* ``imagenet:resnet18``, torchvision's ImageNet-1k ResNet18 (Riggi et al.'s non-radio
  baseline), and ``dino_imagenet:resnet50``, DINO's ImageNet ResNet50 (a backbone of Lastufka
  et al.'s Table 4), when their weights are in the data folder
  (:mod:`radiolib.models.imagenet`);
* the other groups' backbones of Lastufka et al.'s Table 4 (``dinov2:vitg14``,
  ``hayat2021:resnet50``, ``rgz_byol:resnet18``) when their files are in the data folder
  (:mod:`radiolib.evaluate.released`).

>>> load_backbone("random:resnet18", image_size=32, device="cpu").image_size
32
"""

from __future__ import annotations

import os
from pathlib import Path

import torch

from radiolib.errors import ConfigError, DataError
from radiolib.evaluate.released import RELEASED_BACKBONES, load_released_backbone
from radiolib.models import (
    BACKBONES,
    FeatureExtractor,
    feature_extractor,
    load_dino_checkpoint,
    select_device,
)
from radiolib.models.imagenet import NATURAL_IMAGE_BACKBONES, load_natural_image_backbone
from radiolib.ssl.checkpoint import load_checkpoint
from radiolib.ssl.registry import build_method
from radiolib.ssl.train import CHECKPOINT

__all__ = ["PUBLISHED", "load_backbone"]

#: Published checkpoints by name -> (file in the ``lastufka_dino_weights`` dataset, architecture).
#: The ResNet50 is the epoch-425 teacher the paper evaluates; the ViT-S/8 file is the released
#: epoch-325 teacher (the paper reports training it to 475 epochs).
PUBLISHED: dict[str, tuple[str, str]] = {
    "lastufka2024:resnet50": ("mgcls_resnet50_pretrain_425_teacher.pth", "resnet50"),
    "lastufka2024:vit_s8": ("mgcls_vits8_pretrain_325_teacher.pth", "vit_s8"),
    "lastufka2024:vit_b16": ("mgcls_vitb16_pretrain_025_teacher.pth", "vit_b16"),
}

IMAGENET = "imagenet:resnet18"
_FORMS = ("a radiolib run folder or checkpoint file, 'random:<arch>' (arch one of "
          f"{sorted(BACKBONES)}), a natural-image backbone ({sorted(NATURAL_IMAGE_BACKBONES)}), "
          f"a backbone released by others ({sorted(RELEASED_BACKBONES)}) or a published name "
          f"({sorted(PUBLISHED)})")


def load_backbone(source: str | os.PathLike[str], *, in_chans: int = 1, image_size: int = 224,
                  device: str | torch.device | None = None,
                  seed: int | None = None) -> FeatureExtractor:
    """Return the backbone ``source`` names as a :class:`FeatureExtractor` in eval mode.

    ``in_chans`` and ``image_size`` apply to ``random:`` backbones only (trained ones carry
    their own); ``seed`` seeds a random initialisation. ``device`` defaults to CUDA if present.
    """
    text = os.fspath(source)
    if text.startswith("random:"):
        arch = text.partition(":")[2]
        if arch not in BACKBONES:
            raise ConfigError(f"unknown architecture {arch!r} in {text!r}; expected {_FORMS}")
        if seed is not None:
            torch.manual_seed(seed)
        model = feature_extractor(arch, in_chans, image_size=image_size, device=device)
    elif text in NATURAL_IMAGE_BACKBONES:  # IMAGENET among them
        model = load_natural_image_backbone(text, image_size=image_size, device=device)
    elif text in RELEASED_BACKBONES:
        model = load_released_backbone(text, device=device)
    elif text in PUBLISHED:
        file, arch = PUBLISHED[text]
        model = load_dino_checkpoint(file, arch, device=device)
    else:
        model = _load_run(Path(text).expanduser(), device)
    return model.eval()


def _load_run(path: Path, device) -> FeatureExtractor:
    """Load the backbone of a radiolib run folder or checkpoint, with its training input size."""
    if path.is_dir():
        path = path / CHECKPOINT
    if not path.is_file():
        raise DataError(f"no backbone at {path}: expected {_FORMS}")
    state = load_checkpoint(path)
    method = build_method(state["config"])
    method.load_state_dict(state["model"])
    model = method.feature_extractor()  # carries the config's image_size
    return model.to(select_device(device))
