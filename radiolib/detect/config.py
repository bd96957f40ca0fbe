"""The detector's settings: a frozen dataclass read from YAML, every key and value checked.

``load_detect_config("maskrcnn_riggi")`` reads the recipe shipped in ``radiolib/configs/`` (or
any YAML path); its ``provenance:`` block says where each value comes from (paper / unknown /
run), with the same scheme and checker as the SSL recipes
(:func:`radiolib.ssl.config.check_provenance`).
"""

from __future__ import annotations

import dataclasses
import math
import os
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
import yaml

from radiolib.errors import ConfigError
from radiolib.ssl.config import check_provenance, config_path

__all__ = ["DetectConfig", "config_table", "load_detect_config"]

METHOD = "maskrcnn"


@dataclass(frozen=True)
class DetectConfig:
    """Mask R-CNN with a ResNet18-FPN backbone: model, data, augmentation, metrics, training.

    ``trainable_layers`` counts ResNet stages trained from the top (0: trunk frozen, as the
    paper's Sect. 4.3; 5: everything, as its fine-tuning of Sect. 4.4), as torchvision's
    ``trainable_backbone_layers``.
    """

    name: str = "maskrcnn_riggi"
    seed: int = 0
    backbone: str = "resnet18"
    trainable_layers: int = 0
    fpn_channels: int = 256
    anchor_sizes: tuple = (4, 8, 16, 32, 64)
    aspect_ratios: tuple = (0.5, 1.0, 2.0)
    rpn_pre_nms_top_n_train: int = 2000
    rpn_pre_nms_top_n_test: int = 1000
    rpn_post_nms_top_n_train: int = 2000
    rpn_post_nms_top_n_test: int = 1000
    rpn_batch_size_per_image: int = 256
    box_batch_size_per_image: int = 512
    box_detections_per_img: int = 100
    box_score_thresh: float = 0.05
    mask_threshold: float = 0.5
    scaling: str = "riggi3"
    image_size: int = 128
    p_rot90: float = 0.5
    p_flip: float = 0.5
    zscale_contrast: tuple = (0.25, 0.4)
    score_threshold: float = 0.5
    iou_threshold: float = 0.6
    epochs: int = 250
    batch_size: int = 4
    lr: float = 0.005
    momentum: float = 0.9
    weight_decay: float = 1e-4
    warmup_steps: int = 100
    clip_grad_norm: float = 10.0
    recalibrate_norms: bool = True
    provenance: dict = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            if f.name != "provenance":
                object.__setattr__(self, f.name, _checked(f.name, getattr(self, f.name),
                                                          f.default))

    def replace(self, **changes: Any) -> DetectConfig:
        """Return a copy with ``changes`` (checked; an unknown key is a ConfigError)."""
        unknown = sorted(set(changes) - set(self.to_dict()))
        if unknown:
            raise ConfigError(f"unknown detector config key(s) {unknown}; valid: "
                              f"{', '.join(self.to_dict())}")
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """Plain values (lists for tuples), stored in every detector checkpoint."""
        return {f.name: list(v) if isinstance(v := getattr(self, f.name), tuple) else v
                for f in dataclasses.fields(self) if f.name != "provenance"}


_LIMITS = {"trainable_layers": (0, 5), "p_rot90": (0, 1), "p_flip": (0, 1),
           "mask_threshold": (0, 1), "box_score_thresh": (0, 1), "score_threshold": (0, 1),
           "iou_threshold": (0, 1), "momentum": (0, 1)}


def _checked(name: str, value: Any, default: Any) -> Any:
    """``value`` in the type of ``default`` (and its limits), or a ConfigError naming ``name``."""
    def bad(why: str) -> ConfigError:
        return ConfigError(f"detector config key {name!r}: {why}, got {value!r}")

    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise bad("must be true or false")
        return value
    if isinstance(default, str):
        if not isinstance(value, str):
            raise bad("must be a string")
        if name == "backbone" and value != "resnet18":
            raise bad("only resnet18 (the paper's) is supported")
        if name == "scaling" and value != "riggi3":
            raise bad("only riggi3 (the SSL models' input) is supported")
        return value
    if isinstance(default, tuple):
        if not isinstance(value, (list, tuple)) or not value or any(
                isinstance(v, bool) or not isinstance(v, (int, float)) or v <= 0 for v in value):
            raise bad("must be a list of positive numbers")
        if name == "zscale_contrast" and (len(value) != 2 or value[0] > value[1]):
            raise bad("must be [min, max]")
        return tuple(value)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise bad("must be a number")
    if isinstance(default, int):
        if value != int(value):
            raise bad("must be an integer")
        value = int(value)
        if value < 0 or (value == 0 and name not in ("trainable_layers", "seed", "warmup_steps")):
            raise bad("must be positive")
    else:
        value = float(value)
    lo, hi = _LIMITS.get(name, (0, math.inf))
    if not lo <= value <= hi:
        raise bad(f"must be in [{lo}, {hi}]")
    return value


def load_detect_config(source: str | os.PathLike | dict = "maskrcnn_riggi") -> DetectConfig:
    """Read a detector config from a YAML path, a shipped recipe's name or a dict."""
    if isinstance(source, dict):
        data, where = dict(source), "detector config"
    else:
        path = config_path(source)
        where = os.fspath(path)
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except yaml.YAMLError as exc:
            raise ConfigError(f"{where}: not valid YAML ({exc})") from exc
    if not isinstance(data, dict) or data.pop("method", METHOD) != METHOD:
        raise ConfigError(f"{where}: not a detector config (method must be {METHOD!r})")
    provenance = check_provenance(data.pop("provenance", {}), where)
    known = {f.name for f in dataclasses.fields(DetectConfig)} - {"provenance"}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ConfigError(f"{where}: unknown detector config key(s) {unknown}; valid: "
                          f"{', '.join(sorted(known))}")
    return DetectConfig(**data, provenance=provenance)


def config_table(config: DetectConfig) -> pd.DataFrame:
    """One row per setting: its value, where it comes from and the note or reference."""
    rows = []
    for key, value in config.to_dict().items():
        entry = config.provenance.get(key, {})
        ref = entry.get("ref")
        where = ", ".join(ref) if isinstance(ref, list) else ref or entry.get("where", "")
        rows.append({"setting": key, "value": str(value), "from": entry.get("from", ""),
                     "source / note": where or entry.get("note", "")})
    return pd.DataFrame(rows).set_index("setting")
