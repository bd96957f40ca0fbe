"""Batched, seeded augmentations of Riggi et al. 2024 (SimCLR) and Lastufka et al. 2024 (DINO).

Pipelines take a batch (B, C, H, W) in [0, 1] and a :class:`torch.Generator`; every random
parameter is drawn per image, in one call, so a seed reproduces the views exactly:

>>> import torch
>>> from radiolib.augment import DINOAugment, SimCLRAugment
>>> g = torch.Generator().manual_seed(0)
>>> view1, view2 = SimCLRAugment()(torch.rand(4, 3, 64, 64), g)
>>> crops = DINOAugment(global_size=64, local_size=32)(torch.rand(4, 1, 96, 96), g)
>>> len(crops), tuple(crops[0].shape), tuple(crops[-1].shape)
(10, (4, 1, 64, 64), (4, 1, 32, 32))

:mod:`~radiolib.augment.geometry`, :mod:`~radiolib.augment.photometric` and
:mod:`~radiolib.augment.thresholding` hold the batched operations with per-image parameters that
the pipelines are made of.
"""

from radiolib.augment.dino import DINOAugment
from radiolib.augment.geometry import crop_theta, resized_crops, rot90, sample_crop_boxes
from radiolib.augment.photometric import (
    autocontrast,
    color_jitter,
    gaussian_blur,
    linear_rescale,
    power_law,
)
from radiolib.augment.simclr import SimCLRAugment
from radiolib.augment.thresholding import threshold_below_percentile

__all__ = [
    "DINOAugment",
    "SimCLRAugment",
    "autocontrast",
    "color_jitter",
    "crop_theta",
    "gaussian_blur",
    "linear_rescale",
    "power_law",
    "resized_crops",
    "rot90",
    "sample_crop_boxes",
    "threshold_below_percentile",
]
