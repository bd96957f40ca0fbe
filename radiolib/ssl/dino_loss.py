"""The DINO self-distillation loss with centring and sharpening [0], as Lastufka et al. [1].

The teacher sees the global crops only; its outputs are centred (a running mean ``center`` is
subtracted) and sharpened (``teacher_temp``, 0.04), the student's outputs of all crops are
softened by ``student_temp`` (0.1), and the loss is the cross-entropy between teacher and
student distributions averaged over every (teacher crop, student crop) pair of *different*
views. After each call the centre moves towards the teacher batch mean with momentum
``center_momentum`` (0.9), averaged across ranks when ``torch.distributed`` is initialised, so
all ranks keep the same centre.

- [0] Caron et al. 2021, DINO, https://arxiv.org/abs/2104.14294
- [1] Lastufka et al. 2024, A&A 690, A310, arXiv:2408.06147
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import nn

__all__ = ["DINOLoss"]


class DINOLoss(nn.Module):
    """Cross-entropy between centred, sharpened teacher and student outputs over crop pairs.

    Parameters
    ----------
    out_dim : int
        Output size of the DINO head (65536 in [1]).
    teacher_temp, student_temp : float
        Temperatures (0.04, 0.1). The teacher's can be overridden per call, e.g. with
        :func:`radiolib.ssl.teacher_temperature` for a warm-up.
    center_momentum : float
        Momentum of the running centre (0.9).

    Notes
    -----
    ``center`` is a buffer, so it is saved in ``state_dict()`` for exact resumption.
    """

    def __init__(self, out_dim: int = 65536, teacher_temp: float = 0.04,
                 student_temp: float = 0.1, center_momentum: float = 0.9) -> None:
        super().__init__()
        if not isinstance(out_dim, int) or out_dim < 1:
            raise ValueError(f"out_dim must be a positive int, got {out_dim!r}")
        for name, value in (("teacher_temp", teacher_temp), ("student_temp", student_temp)):
            if not isinstance(value, (int, float)) or not value > 0:
                raise ValueError(f"{name} must be a positive number, got {value!r}")
        if not 0.0 <= center_momentum <= 1.0:
            raise ValueError(f"center_momentum must lie in [0, 1], got {center_momentum!r}")
        self.out_dim = out_dim
        self.teacher_temp = float(teacher_temp)
        self.student_temp = float(student_temp)
        self.center_momentum = float(center_momentum)
        self.register_buffer("center", torch.zeros(1, out_dim))

    def extra_repr(self) -> str:
        """Sizes and temperatures, for ``print(loss)``."""
        return (f"out_dim={self.out_dim}, teacher_temp={self.teacher_temp}, "
                f"student_temp={self.student_temp}, center_momentum={self.center_momentum}")

    def forward(self, teacher_out: Sequence[torch.Tensor] | torch.Tensor,
                student_out: Sequence[torch.Tensor] | torch.Tensor,
                teacher_temp: float | None = None) -> torch.Tensor:
        """DINO loss of one step; updates the centre afterwards.

        Parameters
        ----------
        teacher_out : sequence of Tensor, each (B, out_dim), or Tensor (T, B, out_dim)
            Teacher outputs of the global crops (usually 2).
        student_out : sequence of Tensor, each (B, out_dim), or Tensor (S, B, out_dim)
            Student outputs of all crops, the same global crops first, in the same order.
            A crop-major network output (S B, out_dim) is passed without a copy as
            ``out.view(S, B, out_dim)``.
        teacher_temp : float, optional
            Teacher temperature for this step (default ``self.teacher_temp``).

        Returns
        -------
        Tensor, shape ()
        """
        teacher = teacher_out if isinstance(teacher_out, torch.Tensor) else list(teacher_out)
        student = student_out if isinstance(student_out, torch.Tensor) else list(student_out)
        if len(teacher) < 1 or len(student) < 2:
            raise ValueError("need at least one teacher output and two student outputs")
        shapes = sorted({tuple(t.shape) for t in [*teacher, *student]})
        if len(shapes) != 1 or len(shapes[0]) != 2 or shapes[0][1] != self.out_dim:
            raise ValueError(f"all outputs must be (B, {self.out_dim}), got shapes {shapes}")
        if not isinstance(teacher, torch.Tensor):
            teacher = torch.stack(teacher)
        if not isinstance(student, torch.Tensor):
            student = torch.stack(student)
        temp = self.teacher_temp if teacher_temp is None else float(teacher_temp)
        teacher = teacher.detach()  # (T, B, K)
        targets = F.softmax((teacher - self.center) / temp, dim=-1)
        log_student = F.log_softmax(student / self.student_temp, dim=-1)  # (S, B, K)
        # cross-entropy of every (teacher t, student s) pair, averaged over the batch: (T, S)
        ce = -torch.einsum("tbk,sbk->ts", targets, log_student) / teacher.shape[1]
        t_idx = torch.arange(len(teacher), device=ce.device)
        keep = torch.ones_like(ce, dtype=torch.bool)
        diag = t_idx[t_idx < ce.shape[1]]
        keep[diag, diag] = False  # a crop is never its own target
        loss = ce[keep].mean()
        self.update_center(teacher)
        return loss

    @torch.no_grad()
    def update_center(self, teacher: torch.Tensor) -> None:
        """Move the centre towards the mean teacher output (all crops, all ranks).

        Parameters
        ----------
        teacher : Tensor, shape (T, B, out_dim) or (N, out_dim)
        """
        flat = teacher.reshape(-1, self.out_dim)
        total = flat.sum(dim=0, keepdim=True)
        count = torch.tensor(float(flat.shape[0]), device=flat.device)
        if dist.is_available() and dist.is_initialized():
            dist.all_reduce(total)
            dist.all_reduce(count)
        batch_center = total / count
        self.center.mul_(self.center_momentum).add_(batch_center * (1 - self.center_momentum))
