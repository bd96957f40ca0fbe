"""torchvision's Mask R-CNN on a ResNet18-FPN whose trunk comes from a radiolib backbone.

:func:`build_detector` takes the ResNet18 weights of a SimCLR run folder / checkpoint,
``random:resnet18`` or ``imagenet:resnet18`` (anything :func:`radiolib.evaluate.load_backbone`
reads), turns its batch norms into torchvision's ``FrozenBatchNorm2d`` (as every torchvision
detection backbone: batches of a few images cannot estimate them) and freezes all but the top
``trainable_layers`` stages, as ``torchvision.models.detection.resnet_fpn_backbone`` does.
The input is the SSL models' 3-channel riggi3 stack in [0, 1], passed unnormalised (mean 0,
std 1) and unresized (``min_size = max_size = image_size``).
"""

from __future__ import annotations

import os

import torch
from torchvision.models import resnet18
from torchvision.models.detection import MaskRCNN
from torchvision.models.detection.anchor_utils import AnchorGenerator
from torchvision.models.detection.backbone_utils import BackboneWithFPN
from torchvision.ops.misc import FrozenBatchNorm2d

from radiolib.detect.config import DetectConfig
from radiolib.errors import ConfigError
from radiolib.evaluate import load_backbone

__all__ = ["CLASS_NAMES", "STAGES", "build_detector", "recalibrate_norms", "resnet18_fpn",
           "trunk_state"]

#: Detector labels 1..5 (0 is torchvision's background), the paper's five classes.
CLASS_NAMES = ("SPURIOUS", "COMPACT", "EXTENDED", "EXTENDED-MULTISLAND", "FLAGGED")
#: ResNet stages from the top, as torchvision counts ``trainable_backbone_layers``.
STAGES = ("layer4", "layer3", "layer2", "layer1", "conv1")
_RETURN = {"layer1": "0", "layer2": "1", "layer3": "2", "layer4": "3"}


def trunk_state(source: str | os.PathLike, *, seed: int | None = None) -> dict:
    """Return the ResNet18 trunk weights of ``source`` (no ``fc``), read with ``load_backbone``."""
    extractor = load_backbone(source, in_chans=3, device="cpu", seed=seed)
    if extractor.name != "resnet18" or extractor.in_chans != 3:
        raise ConfigError(f"the detector needs a 3-channel ResNet18 backbone; {os.fspath(source)}"
                          f" holds a {extractor.in_chans}-channel {extractor.name}")
    return {k: v for k, v in extractor.backbone.state_dict().items() if not k.startswith("fc.")}


def resnet18_fpn(state: dict | None, *, trainable_layers: int = 0,
                 out_channels: int = 256) -> BackboneWithFPN:
    """Build a ResNet18-FPN (levels 1-4 and a max-pooled 5th) with ``state`` loaded into its trunk.

    Batch norms are frozen; stages other than the top ``trainable_layers`` get no gradient.
    """
    if not 0 <= trainable_layers <= len(STAGES):
        raise ConfigError(f"trainable_layers must be in 0..5, got {trainable_layers}")
    trunk = resnet18(weights=None, norm_layer=FrozenBatchNorm2d)
    if state is not None:
        missing, unexpected = trunk.load_state_dict(state, strict=False)
        missing = [k for k in missing if not k.startswith("fc.")]
        if missing or unexpected:
            raise ConfigError(f"backbone weights do not fit a ResNet18 trunk (missing {missing[:3]}"
                              f", unexpected {unexpected[:3]})")
    train = STAGES[:trainable_layers]
    for name, p in trunk.named_parameters():
        p.requires_grad_(name.startswith(train) if train else False)
    return BackboneWithFPN(trunk, _RETURN, [64, 128, 256, 512], out_channels)


@torch.no_grad()
def recalibrate_norms(trunk: torch.nn.Module, x: torch.Tensor) -> int:
    """Set each frozen batch norm's statistics to those of its own input on ``x``; return count.

    One pass in order, so every layer is normalised with the statistics of what the layers
    before it now produce (like a train-mode pass, without changing any weight). Used before
    training a detector on a trunk whose running statistics do not fit its inputs.
    """
    def measure(module, args):
        inp = args[0]
        module.running_mean.copy_(inp.mean(dim=(0, 2, 3)))
        module.running_var.copy_(inp.var(dim=(0, 2, 3), unbiased=False))

    norms = [m for m in trunk.modules() if isinstance(m, FrozenBatchNorm2d)]
    handles = [m.register_forward_pre_hook(measure) for m in norms]
    try:
        trunk(x)
    finally:
        for h in handles:
            h.remove()
    return len(norms)


def build_detector(config: DetectConfig, init: str | os.PathLike | None = None, *,
                   device: str | torch.device | None = None) -> MaskRCNN:
    """Mask R-CNN for the five classes, trunk from ``init`` (None: random, seeded by config)."""
    torch.manual_seed(config.seed)
    state = trunk_state(init) if init is not None else None
    body = resnet18_fpn(state, trainable_layers=config.trainable_layers,
                        out_channels=config.fpn_channels)
    anchors = AnchorGenerator(tuple((s,) for s in config.anchor_sizes),
                              (tuple(config.aspect_ratios),) * len(config.anchor_sizes))
    if len(config.anchor_sizes) != 5:
        raise ConfigError("anchor_sizes needs one size per FPN level (5)")
    model = MaskRCNN(
        body, num_classes=len(CLASS_NAMES) + 1, min_size=config.image_size,
        max_size=config.image_size, image_mean=[0.0, 0.0, 0.0], image_std=[1.0, 1.0, 1.0],
        rpn_anchor_generator=anchors,
        rpn_pre_nms_top_n_train=config.rpn_pre_nms_top_n_train,
        rpn_pre_nms_top_n_test=config.rpn_pre_nms_top_n_test,
        rpn_post_nms_top_n_train=config.rpn_post_nms_top_n_train,
        rpn_post_nms_top_n_test=config.rpn_post_nms_top_n_test,
        rpn_batch_size_per_image=config.rpn_batch_size_per_image,
        box_batch_size_per_image=config.box_batch_size_per_image,
        box_detections_per_img=config.box_detections_per_img,
        box_score_thresh=config.box_score_thresh)
    if device is None:
        device = "cuda" if torch.cuda.is_available() else "cpu"
    return model.to(device)
