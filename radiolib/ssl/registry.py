"""The method registry: build a method from its config, or load a trained one from a checkpoint.

It sits between the method modules (:mod:`radiolib.ssl.simclr`, :mod:`radiolib.ssl.dino`) and
their users, so that neither the checkpoint format (:mod:`radiolib.ssl.checkpoint`) nor the
training loop (:mod:`radiolib.ssl.train`) has to know which methods exist.

>>> from radiolib.ssl import SimCLRConfig
>>> type(build_method(SimCLRConfig(image_size=32))).__name__
'SimCLR'
"""

from __future__ import annotations

import os

import torch

from radiolib.errors import ConfigError
from radiolib.models import FeatureExtractor, select_device
from radiolib.ssl.checkpoint import load_checkpoint
from radiolib.ssl.dino import DINO
from radiolib.ssl.method import SSLMethod
from radiolib.ssl.simclr import SimCLR

__all__ = ["METHODS", "build_method", "load_method", "load_pretrained"]

#: Method name (a config's ``method``) -> the :class:`SSLMethod` that trains it.
METHODS: dict[str, type[SSLMethod]] = {"dino": DINO, "simclr": SimCLR}


def build_method(config) -> SSLMethod:
    """Build the (untrained) method of a config: :class:`SimCLR` or :class:`DINO`."""
    if getattr(config, "method", None) not in METHODS:
        raise ConfigError(f"no training method for {type(config).__name__}")
    return METHODS[config.method](config)


def load_method(path: str | os.PathLike, *, device: str | torch.device = "cpu") -> SSLMethod:
    """Return the method a radiolib checkpoint holds, with its trained weights, on ``device``."""
    state = load_checkpoint(path)
    method = build_method(state["config"])
    method.load_state_dict(state["model"])
    return method.to(device)


def load_pretrained(path: str | os.PathLike, *,
                    device: str | torch.device | None = None) -> FeatureExtractor:
    """Return the trained backbone of a checkpoint as a :class:`radiolib.models.FeatureExtractor`.

    SimCLR: the backbone (projector dropped); DINO: the teacher's backbone, as DINO evaluates.
    """
    return load_method(path).feature_extractor().to(
        select_device(device))
