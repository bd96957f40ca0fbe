"""SimCLR [0] as Riggi et al. [1]: ResNet18 backbone, projector 512 -> 256 -> 128, NT-Xent.

A training step takes a batch of riggi3 tiles (B, 3, S, S) in [0, 1], draws two views of
every tile with :class:`radiolib.augment.SimCLRAugment` (Riggi et al.'s Table 2) from the
generator passed in, runs both views through the network in one pass of 2B images and returns
the NT-Xent loss of the B pairs. The loss gathers the projections of every rank (with
gradients) under ``torch.distributed``, so negatives come from the global batch.

- [0] Chen et al. 2020, SimCLR, https://arxiv.org/abs/2002.05709
- [1] Riggi et al. 2024, PASA, arXiv:2404.18462
"""

from __future__ import annotations

import torch
from torch import nn

from radiolib.augment import SimCLRAugment
from radiolib.models import FeatureExtractor, SimCLRProjectionHead, backbone
from radiolib.ssl.config import SimCLRConfig
from radiolib.ssl.method import SSLMethod
from radiolib.ssl.ntxent import NTXentLoss

__all__ = ["SimCLR", "augment_for"]


def augment_for(config: SimCLRConfig) -> SimCLRAugment:
    """Build the SimCLR augmentation pipeline of a config (output size: the input's)."""
    return SimCLRAugment(
        crop_scale=config.crop_scale, p_hflip=config.p_hflip, p_vflip=config.p_vflip,
        p_rot90=config.p_rot90, brightness=config.brightness, contrast=config.contrast,
        saturation=config.saturation, hue=config.hue, jitter_strength=config.jitter_strength,
        p_jitter=config.p_jitter, blur_sigma=config.blur_sigma, p_blur=config.p_blur,
        thresholding=config.thresholding, threshold_percentile=config.threshold_percentile,
        p_threshold=config.p_threshold, code_behaviour=config.code_behaviour)


class SimCLR(SSLMethod):
    """Backbone + projector trained with NT-Xent on two augmented views.

    Parameters
    ----------
    config : SimCLRConfig
        Backbone, projector sizes, temperature (``loss_temperature``), augmentation.

    Attributes
    ----------
    net : nn.Sequential
        ``backbone`` (B, C, S, S) -> (B, 512) then ``projector`` -> (B, 128).
    augment : SimCLRAugment
    criterion : NTXentLoss
        With ``gather_distributed=True``.

    Examples
    --------
    >>> cfg = SimCLRConfig(image_size=32, proj_hidden_dim=16, proj_out_dim=8)
    >>> model = SimCLR(cfg)
    >>> loss = model.training_step(torch.rand(4, 3, 32, 32), torch.Generator().manual_seed(0))
    >>> loss.shape
    torch.Size([])
    """

    def __init__(self, config: SimCLRConfig | None = None) -> None:
        super().__init__()
        self.config = config = config if config is not None else SimCLRConfig()
        if not isinstance(config, SimCLRConfig):
            raise TypeError(f"SimCLR needs a SimCLRConfig, got {type(config).__name__}")
        body, dim = backbone(config.backbone, config.in_chans, image_size=config.image_size)
        self.embed_dim = dim
        self.net = nn.Sequential()
        self.net.add_module("backbone", body)
        self.net.add_module("projector", SimCLRProjectionHead(dim, config.proj_hidden_dim,
                                                              config.proj_out_dim))
        self.augment = augment_for(config)
        self.criterion = NTXentLoss(config.loss_temperature, gather_distributed=True)

    @property
    def backbone(self) -> nn.Module:
        """The backbone, (B, C, S, S) -> (B, embed_dim)."""
        return self.net.backbone

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Projections (B, proj_out_dim) of images (B, C, S, S), without augmentation."""
        return self.net(x)

    def views(self, batch: torch.Tensor, generator: torch.Generator | None = None
              ) -> torch.Tensor:
        """Both views of every image, stacked view-major: (2B, C, S, S)."""
        v = self.augment.views(batch, 2, generator)
        return v.reshape(-1, *v.shape[2:])

    def training_step(self, batch: torch.Tensor, generator: torch.Generator | None = None, *,
                      epoch: int = 0) -> torch.Tensor:
        """NT-Xent loss of two random views of ``batch`` (B, C, S, S); shape ()."""
        x = self.views(batch, generator)
        with self.autocast(batch.device):
            z = self.trainable(x)
        z0, z1 = z.float().chunk(2)
        return self.criterion(z0, z1)

    def images_per_sample(self) -> int:
        """Two views per image."""
        return 2

    def feature_extractor(self) -> FeatureExtractor:
        """Return the backbone (projector dropped), sharing this module's weights."""
        c = self.config
        return FeatureExtractor(self.net.backbone, self.embed_dim, name=c.backbone,
                                in_chans=c.in_chans, image_size=c.image_size)
