"""Radio source detection (Riggi et al. 2024 Task II): Mask R-CNN on radiolib backbones.

torchvision's Mask R-CNN with a ResNet18-FPN whose trunk comes from a SimCLR run, random
initialisation or ImageNet (:mod:`~radiolib.detect.model`); annotated images from the
simulator's truth, re-balanced splits and the paper's augmentations
(:mod:`~radiolib.detect.data`), or read from the authors' one-JSON-per-image format
(:mod:`~radiolib.detect.jsonset`); the paper's IoU-matched completeness / reliability / F1
(:mod:`~radiolib.detect.metrics`); training, prediction, checkpoints and run folders
(:mod:`~radiolib.detect.train`); whole mosaics to catalogues (:mod:`~radiolib.detect.mosaic`)
and cross-matching with a source list (:mod:`~radiolib.detect.crossmatch`).
"""

from radiolib.detect.config import DetectConfig, config_table, load_detect_config
from radiolib.detect.crossmatch import crossmatch
from radiolib.detect.data import DetectionImage, class_counts, field_images, rebalanced_split
from radiolib.detect.jsonset import json_files, read_json_dataset, read_json_image
from radiolib.detect.metrics import (
    GROUPS,
    SOURCE,
    completeness_by,
    image_counts,
    mask_iou,
    match,
    scores,
)
from radiolib.detect.model import (
    CLASS_NAMES,
    build_detector,
    recalibrate_norms,
    resnet18_fpn,
    trunk_state,
)
from radiolib.detect.mosaic import detect_mosaic, write_catalogue
from radiolib.detect.train import (
    evaluate_detector,
    load_detector,
    predict,
    resolve_device,
    save_detector,
    train_detector,
    train_run,
)

__all__ = [
    "CLASS_NAMES",
    "GROUPS",
    "SOURCE",
    "DetectConfig",
    "DetectionImage",
    "build_detector",
    "class_counts",
    "completeness_by",
    "config_table",
    "crossmatch",
    "detect_mosaic",
    "evaluate_detector",
    "field_images",
    "image_counts",
    "json_files",
    "load_detect_config",
    "load_detector",
    "mask_iou",
    "match",
    "predict",
    "recalibrate_norms",
    "read_json_dataset",
    "read_json_image",
    "rebalanced_split",
    "resnet18_fpn",
    "resolve_device",
    "save_detector",
    "scores",
    "train_detector",
    "train_run",
    "trunk_state",
    "write_catalogue",
]
