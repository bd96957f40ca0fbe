"""The feature-extractor interface: ``.embed(x) -> (B, D)``, used by every downstream task.

Probes, fine-tuning, source counts, similarity search and anomaly scores all take a
:class:`FeatureExtractor`, whatever its origin (our SimCLR/DINO training, a published
checkpoint, a random baseline), so a downstream notebook never needs to know the backbone.
"""

from __future__ import annotations

from collections.abc import Iterable

import torch
from torch import nn

from radiolib.models.backbones import backbone, select_device

__all__ = ["FeatureExtractor", "feature_extractor"]


class FeatureExtractor(nn.Module):
    """A backbone mapping images (B, C, H, W) to embeddings (B, D).

    Parameters
    ----------
    backbone : nn.Module
        Pooled ResNet features or a ViT CLS token, (B, C, H, W) -> (B, embed_dim).
    embed_dim : int
        Embedding size D.
    name : str
        Architecture name, for the record (``"resnet18"``, ``"vit_s8"``, ...).
    in_chans : int
        Expected input channels.
    image_size : int, optional
        Input side the weights were trained at (None when unknown); evaluations resize to it.
    """

    def __init__(self, backbone: nn.Module, embed_dim: int, *, name: str = "",
                 in_chans: int = 3, image_size: int | None = None) -> None:
        super().__init__()
        self.backbone = backbone
        self.embed_dim = int(embed_dim)
        self.name = name
        self.in_chans = int(in_chans)
        self.image_size = None if image_size is None else int(image_size)

    def extra_repr(self) -> str:
        """Name, channels and embedding size, for ``print(model)``."""
        return (f"name={self.name!r}, in_chans={self.in_chans}, embed_dim={self.embed_dim}, "
                f"image_size={self.image_size}")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Embeddings with gradients (training, fine-tuning), shape (B, D)."""
        return self.backbone(x)

    @property
    def device(self) -> torch.device:
        """Device of the parameters."""
        return next(self.parameters()).device

    @torch.no_grad()
    def embed(self, x: torch.Tensor | Iterable[torch.Tensor], *, batch_size: int = 256
              ) -> torch.Tensor:
        """Embeddings for inference: eval mode, no gradients, in batches, returned on the CPU.

        Parameters
        ----------
        x : Tensor, shape (B, C, H, W), or an iterable of such batches (e.g. a DataLoader
            yielding tensors)
            Images; moved batch by batch to the model's device.
        batch_size : int
            Images per forward pass when ``x`` is one tensor.

        Returns
        -------
        Tensor, shape (B, D), float32 on the CPU
        """
        if batch_size < 1:
            raise ValueError(f"batch_size must be positive, got {batch_size}")
        batches = x.split(batch_size) if isinstance(x, torch.Tensor) else x
        was_training = self.training
        self.eval()
        try:
            device = self.device
            out = [self.backbone(b.to(device, non_blocking=True)).float().cpu() for b in batches]
        finally:
            self.train(was_training)
        if not out:
            return torch.empty(0, self.embed_dim)
        return torch.cat(out)


def feature_extractor(name: str, in_chans: int = 3, *, image_size: int = 224,
                      device: str | torch.device | None = None) -> FeatureExtractor:
    """Build a randomly initialised :class:`FeatureExtractor` on ``device`` (default: CUDA).

    See :func:`radiolib.models.backbone` for the names; load published weights with
    :func:`radiolib.models.load_dino_checkpoint`.
    """
    module, dim = backbone(name, in_chans, image_size=image_size)
    model = FeatureExtractor(module, dim, name=name, in_chans=in_chans, image_size=image_size)
    return model.to(select_device(device))
