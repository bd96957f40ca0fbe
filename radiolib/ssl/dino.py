"""DINO [0] as Lastufka et al. [1]: student and EMA teacher, centring, multi-crop, single channel.

Per step, :class:`radiolib.augment.DINOAugment` cuts 2 global and ``n_local`` local crops of
every image; the teacher sees the global crops (no gradients), the student all of them, crops of
one size going through the backbone together (DINO's ``MultiCropWrapper``); the loss
(:class:`radiolib.ssl.DINOLoss`) centres and sharpens the teacher and updates its centre
(averaged over ranks). After the optimiser step the teacher follows the student by an EMA whose
momentum goes from ``momentum_teacher`` (0.996) to 1 on a cosine.

As the DINO code: the config's optimiser (AdamW, or SGD with momentum 0.9 for the ResNet50
recipe) with no weight decay on biases and norms, weight decay on a cosine from
``weight_decay`` to ``weight_decay_end`` (constant 1e-4 for the ResNet50, 0.04 to 0.4 for the
ViT-S/8), learning rate scaled by global batch / 256, per-parameter gradient-norm clipping, and
the last head layer frozen during the first ``freeze_last_layer`` epochs.

Across ranks the student is DistributedDataParallel (SyncBatchNorm on CUDA), so every rank
applies the same update and the EMA keeps the teacher identical; the teacher's batch-norm
statistics (its own forward passes) are averaged across ranks after each step.

- [0] Caron et al. 2021, DINO, https://arxiv.org/abs/2104.14294
- [1] Lastufka et al. 2024, A&A 690, A310, arXiv:2408.06147
"""

from __future__ import annotations

import copy
from collections.abc import Sequence

import torch
import torch.distributed as dist
from torch import nn

from radiolib.augment import DINOAugment
from radiolib.models import DINOHead, FeatureExtractor, backbone
from radiolib.ssl.config import DINOConfig
from radiolib.ssl.dino_loss import DINOLoss
from radiolib.ssl.method import SSLMethod
from radiolib.ssl.schedules import cosine_schedule, teacher_temperature, update_momentum

__all__ = ["DINO", "MultiCropNet", "augment_for"]


def augment_for(config: DINOConfig) -> DINOAugment:
    """Build the multi-crop pipeline of a config."""
    c = config
    return DINOAugment(
        n_local=c.n_local, global_size=c.global_size, local_size=c.local_size,
        global_scale=c.global_scale, local_scale=c.local_scale, rotation=c.rotation,
        rotation_degrees=c.rotation_degrees, p_rotation=c.p_rotation,
        autocontrast=c.autocontrast, p_autocontrast=c.p_autocontrast, power_law=c.power_law,
        p_power_law=c.p_power_law, power_range=c.power_range, code_behaviour=c.code_behaviour)


class MultiCropNet(nn.Module):
    """Backbone + DINO head over a list of crops; consecutive crops of one size share a pass.

    Parameters
    ----------
    backbone : nn.Module
        (B, C, s, s) -> (B, D) for any crop size s.
    head : DINOHead
        (B, D) -> (B, out_dim).
    """

    def __init__(self, backbone: nn.Module, head: nn.Module) -> None:
        super().__init__()
        self.backbone, self.head = backbone, head

    def forward(self, crops: Sequence[torch.Tensor]) -> torch.Tensor:
        """Head outputs of every crop, crop-major: (len(crops) * B, out_dim)."""
        feats, start = [], 0
        for end in range(1, len(crops) + 1):
            if end == len(crops) or crops[end].shape[-2:] != crops[start].shape[-2:]:
                feats.append(self.backbone(torch.cat(list(crops[start:end]))))
                start = end
        return self.head(torch.cat(feats))


class DINO(SSLMethod):
    """Student (``net``) and teacher networks, the DINO loss with its centre, the multi-crop.

    Parameters
    ----------
    config : DINOConfig

    Attributes
    ----------
    net, teacher : MultiCropNet
        Same architecture; the teacher has no gradients and is updated by :meth:`after_step`.
    criterion : DINOLoss
        Holds the centre (a buffer, saved in ``state_dict``).
    augment : DINOAugment
    """

    def __init__(self, config: DINOConfig | None = None) -> None:
        super().__init__()
        self.config = c = config if config is not None else DINOConfig()
        if not isinstance(c, DINOConfig):
            raise TypeError(f"DINO needs a DINOConfig, got {type(c).__name__}")
        body, dim = backbone(c.backbone, c.in_chans, image_size=c.global_size)
        self.embed_dim = dim
        head = DINOHead(dim, c.hidden_dim, c.bottleneck_dim, c.out_dim, c.head_layers,
                        norm_last_layer=c.norm_last_layer, use_bn=c.use_bn_in_head)
        self.net = MultiCropNet(body, head)
        self.teacher = copy.deepcopy(self.net)
        self.teacher.requires_grad_(False)
        self.criterion = DINOLoss(c.out_dim, c.teacher_temp, c.student_temp, c.center_momentum)
        self.augment = augment_for(c)

    def distribute(self, device: torch.device) -> None:
        """DDP student (SyncBatchNorm on CUDA); teacher reset to the broadcast student."""
        if device.type == "cuda":
            self.net = nn.SyncBatchNorm.convert_sync_batchnorm(self.net)
        super().distribute(device)
        self.teacher.load_state_dict(self.net.state_dict())

    def param_groups(self) -> list[dict]:
        """DINO's groups: weights with weight decay, biases and norms without."""
        decay, no_decay = [], []
        for name, p in self.net.named_parameters():
            if p.requires_grad:
                (no_decay if name.endswith(".bias") or p.ndim == 1 else decay).append(p)
        return [{"params": decay}, {"params": no_decay, "weight_decay": 0.0}]

    def base_lr(self, world_size: int = 1) -> float:
        """``lr * global batch / 256`` (DINO's linear scaling rule)."""
        return self.config.lr * self.config.batch_size * world_size / 256.0

    def set_schedule(self, optimizer, step, total_steps, steps_per_epoch, world_size=1):
        """Warm-up + cosine learning rate, cosine weight decay on the first group."""
        lr = super().set_schedule(optimizer, step, total_steps, steps_per_epoch, world_size)
        optimizer.param_groups[0]["weight_decay"] = cosine_schedule(
            step, total_steps, self.config.weight_decay, self.config.weight_decay_end)
        return lr

    def crops(self, batch: torch.Tensor, generator: torch.Generator | None = None
              ) -> list[torch.Tensor]:
        """Global crops then local crops of ``batch`` (B, C, S, S), each (B, C, s, s)."""
        return self.augment(batch, generator)

    def training_step(self, batch: torch.Tensor, generator: torch.Generator | None = None, *,
                      epoch: int = 0) -> torch.Tensor:
        """DINO loss of the multi-crop views of ``batch`` (B, C, S, S); shape ()."""
        crops = self.crops(batch, generator)
        c = self.config
        with self.autocast(batch.device):
            with torch.inference_mode():  # no graph, no autograd bookkeeping for the teacher
                t = self.teacher(crops[:2])
            s = self.trainable(crops)
        temp = teacher_temperature(epoch, c.warmup_teacher_temp_epochs, c.warmup_teacher_temp,
                                   c.teacher_temp)
        # crop-major outputs viewed as (crops, B, out_dim): no copies into per-crop stacks
        t, s = t.float(), s.float()
        return self.criterion(t.view(2, -1, t.shape[-1]), s.view(len(crops), -1, s.shape[-1]),
                              teacher_temp=temp)

    def after_backward(self, epoch: int) -> None:
        """Per-parameter gradient clipping (DINO's ``clip_gradients``); freeze the last layer."""
        grads = [p.grad for p in self.net.parameters() if p.grad is not None]
        if self.config.clip_grad > 0 and grads:
            norms = torch.stack(torch._foreach_norm(grads))
            scale = torch.clamp(self.config.clip_grad / (norms + 1e-6), max=1.0)
            # as DINO, which scales only the gradients above the limit: x * 1.0 is x exactly
            torch._foreach_mul_(grads, list(scale.unbind()))
        if epoch < self.config.freeze_last_layer:
            for name, p in self.net.named_parameters():
                if "last_layer" in name:
                    p.grad = None

    @torch.no_grad()
    def after_step(self, step: int, total_steps: int) -> None:
        """Teacher EMA with the cosine momentum of ``step``; BN statistics averaged over ranks."""
        m = cosine_schedule(step, total_steps, self.config.momentum_teacher, 1.0)
        update_momentum(self.net, self.teacher, m)
        if dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1:
            buffers = [b for b in self.teacher.buffers() if b.is_floating_point()]
            if buffers:
                flat = torch.cat([b.reshape(-1) for b in buffers])
                dist.all_reduce(flat)
                flat /= dist.get_world_size()
                for b, v in zip(buffers, flat.split([b.numel() for b in buffers]), strict=True):
                    b.copy_(v.view_as(b))

    def images_per_sample(self) -> int:
        """Crops per image: 2 global + ``n_local``."""
        return 2 + self.config.n_local

    def feature_extractor(self) -> FeatureExtractor:
        """Return the teacher's backbone (what DINO evaluates), sharing its weights."""
        c = self.config
        return FeatureExtractor(self.teacher.backbone, self.embed_dim, name=c.backbone,
                                in_chans=c.in_chans, image_size=c.image_size)
