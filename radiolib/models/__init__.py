"""Backbones, heads and published checkpoints of Riggi et al. 2024 and Lastufka et al. 2024.

>>> from radiolib.models import DINOHead, SimCLRProjectionHead, backbone
>>> net, dim = backbone("resnet18", in_chans=3)
>>> dim, SimCLRProjectionHead(dim).layers[-1].out_features
(512, 128)

Every downstream task takes a :class:`FeatureExtractor` (``.embed(x) -> (B, D)``): build one
with :func:`feature_extractor` or load the published DINO weights with
:func:`load_dino_checkpoint`.
"""

from radiolib.models.backbones import (
    BACKBONES,
    BackboneSpec,
    ViTBackbone,
    attention_maps,
    backbone,
    backbone_spec,
    default_device,
    select_device,
)
from radiolib.models.extractor import FeatureExtractor, feature_extractor
from radiolib.models.heads import DINOHead, SimCLRProjectionHead
from radiolib.models.weights import (
    load_dino_checkpoint,
    load_dino_head,
    map_dino_keys,
    read_dino_state_dict,
)

__all__ = [
    "BACKBONES",
    "BackboneSpec",
    "DINOHead",
    "FeatureExtractor",
    "SimCLRProjectionHead",
    "ViTBackbone",
    "attention_maps",
    "backbone",
    "backbone_spec",
    "default_device",
    "select_device",
    "feature_extractor",
    "load_dino_checkpoint",
    "load_dino_head",
    "map_dino_keys",
    "read_dino_state_dict",
]
