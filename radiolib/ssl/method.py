"""What the training loop needs from a self-supervised method: :class:`SSLMethod`.

A method is an ``nn.Module`` whose ``state_dict`` is everything trained (and, for DINO, the
teacher and the loss centre). The loop (:func:`radiolib.ssl.train.train`) calls, per step::

    method.set_schedule(optimizer, step, total_steps, steps_per_epoch)  # lr, weight decay
    loss = method.training_step(batch, generator, epoch=epoch)          # augment + forward
    scaler.scale(loss).backward(); scaler.unscale_(optimizer)
    method.after_backward(epoch)                                         # clipping, freezing
    scaler.step(optimizer); scaler.update()
    method.after_step(step, total_steps)                                 # teacher EMA

:meth:`SSLMethod.distribute` wraps the trainable network in ``DistributedDataParallel``
without registering the wrapper as a sub-module, so state dicts keep the same keys on one
process or many.
"""

from __future__ import annotations

import contextlib

import torch
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from radiolib.ssl.schedules import cosine_schedule

__all__ = ["SSLMethod"]


class SSLMethod(nn.Module):
    """Base class of :class:`~radiolib.ssl.simclr.SimCLR` and :class:`~radiolib.ssl.dino.DINO`.

    Subclasses set ``self.config`` and the trainable network (``self.net``) and implement
    :meth:`training_step` and :meth:`feature_extractor`.
    """

    config = None
    net: nn.Module

    @property
    def trainable(self) -> nn.Module:
        """The network to call in the step: ``self.net``, or its DDP wrapper once distributed."""
        return self.__dict__.get("_ddp") or self.net

    def distribute(self, device: torch.device) -> None:
        """Wrap ``self.net`` in DDP (parameters broadcast from rank 0 at construction)."""
        ids = [device.index] if device.type == "cuda" else None
        self.__dict__["_ddp"] = DistributedDataParallel(self.net, device_ids=ids)

    def autocast(self, device: torch.device):
        """Mixed precision (float16) on CUDA when ``config.amp``; a no-op otherwise."""
        if self.config.amp and device.type == "cuda":
            return torch.autocast("cuda", dtype=torch.float16)
        return contextlib.nullcontext()

    def param_groups(self) -> list[dict]:
        """Parameter groups for the optimiser: one group of every trainable parameter."""
        return [{"params": [p for p in self.net.parameters() if p.requires_grad]}]

    def base_lr(self, world_size: int = 1) -> float:
        """Peak learning rate after warm-up."""
        return self.config.lr

    def configure_optimizer(self, world_size: int = 1) -> torch.optim.Optimizer:
        """Build the config's optimiser over :meth:`param_groups`.

        Adam, AdamW, or SGD with momentum 0.9 as DINO's code; the learning rate is set by the
        schedule.

        The fused Adam(W) is used where torch has one (CPU and CUDA, float32).
        """
        kind = getattr(self.config, "optimizer", "adamw")
        cls = {"adam": torch.optim.Adam, "sgd": torch.optim.SGD}.get(kind, torch.optim.AdamW)
        kwargs = {"lr": self.base_lr(world_size), "weight_decay": self.config.weight_decay}
        if kind == "sgd":  # torch's fused SGD refuses the frozen head's missing gradients
            return cls(self.param_groups(), momentum=0.9, **kwargs)
        try:  # one fused kernel over all parameters: 3x faster steps on CPU, same maths
            return cls(self.param_groups(), fused=True, **kwargs)
        except RuntimeError:  # a device or dtype without a fused implementation
            return cls(self.param_groups(), **kwargs)

    def set_schedule(self, optimizer: torch.optim.Optimizer, step: int, total_steps: int,
                     steps_per_epoch: int, world_size: int = 1) -> float:
        """Set the learning rate of ``step``: linear warm-up from 0, then cosine to ``min_lr``.

        Returns the learning rate.
        """
        warmup = min(self.config.warmup_epochs * steps_per_epoch, total_steps)
        lr = cosine_schedule(step, total_steps, self.base_lr(world_size), self.config.min_lr,
                             warmup_steps=warmup)
        for group in optimizer.param_groups:
            group["lr"] = lr
        return lr

    def training_step(self, batch: torch.Tensor, generator: torch.Generator | None = None, *,
                      epoch: int = 0) -> torch.Tensor:
        """Augment ``batch`` (B, C, H, W), run the network and return the scalar loss."""
        raise NotImplementedError

    def after_backward(self, epoch: int) -> None:
        """Clip gradients between backward and the optimiser step (they are unscaled)."""
        if self.config.clip_grad > 0:
            nn.utils.clip_grad_norm_(self.net.parameters(), self.config.clip_grad)

    def after_step(self, step: int, total_steps: int) -> None:
        """Update after the optimiser step (the DINO teacher's EMA); nothing here."""

    def images_per_sample(self) -> int:
        """Backbone passes per input image and step (views or crops), for throughput."""
        return 1

    def feature_extractor(self):
        """Return the trained backbone as a :class:`radiolib.models.FeatureExtractor`."""
        raise NotImplementedError
