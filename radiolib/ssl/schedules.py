"""Schedules and the teacher's EMA update: small free functions the training loops call.

Values follow DINO's ``utils.cosine_scheduler`` and ``DINOLoss.teacher_temp_schedule`` [0]
(used unchanged by Lastufka et al. [1]), evaluated at one step instead of materialised as arrays:

* learning rate: linear warm-up then cosine decay (SimCLR of Riggi et al. [2]; DINO);
* teacher momentum: cosine from 0.996 to 1 (``cosine_schedule(step, total, 0.996, 1.0)``);
* teacher temperature: linear warm-up (``teacher_temperature``), then constant.

- [0] Caron et al. 2021, DINO, https://github.com/facebookresearch/dino
- [1] Lastufka et al. 2024, A&A 690, A310, arXiv:2408.06147
- [2] Riggi et al. 2024, PASA, arXiv:2404.18462
"""

from __future__ import annotations

import math

import torch
from torch import nn

__all__ = ["cosine_schedule", "teacher_temperature", "update_momentum"]


def cosine_schedule(step: int, total: int, start: float, end: float, warmup_steps: int = 0,
                    warmup_start: float = 0.0) -> float:
    """Value at ``step`` of a linear warm-up followed by a half-cosine from ``start`` to ``end``.

    Equal to ``utils.cosine_scheduler(start, end, ...)[step]`` of DINO: the warm-up goes
    linearly from ``warmup_start`` (step 0) to ``start`` (step ``warmup_steps - 1``); the cosine
    then starts at ``start`` and approaches ``end`` over the remaining steps.

    Parameters
    ----------
    step : int
        Global step, ``0 <= step < total`` (later steps return ``end``).
    total : int
        Number of steps in the schedule (epochs x steps per epoch).
    start, end : float
        Value after the warm-up and value approached at the end.
    warmup_steps : int
        Length of the linear warm-up.
    warmup_start : float
        Value at step 0 when there is a warm-up.

    Returns
    -------
    float
    """
    if total < 1 or not 0 <= warmup_steps <= total or step < 0:
        raise ValueError(f"need 0 <= step, 0 <= warmup_steps <= total and total >= 1, got "
                         f"step={step}, warmup_steps={warmup_steps}, total={total}")
    if step < warmup_steps:
        if warmup_steps == 1:
            return float(warmup_start)
        return warmup_start + (start - warmup_start) * step / (warmup_steps - 1)
    decay = total - warmup_steps
    if step >= total:
        return float(end)
    i = step - warmup_steps
    return end + 0.5 * (start - end) * (1 + math.cos(math.pi * i / decay))


def teacher_temperature(epoch: int, warmup_epochs: int = 0, start: float = 0.04,
                        end: float = 0.04) -> float:
    """DINO's teacher temperature: linear from ``start`` to ``end`` over the warm-up, then ``end``.

    The released code of Lastufka et al. uses 0.04 throughout (no warm-up); the paper does not
    give the teacher temperature.
    """
    if epoch < 0 or warmup_epochs < 0:
        raise ValueError(f"epoch and warmup_epochs must be non-negative, got {epoch}, "
                         f"{warmup_epochs}")
    if epoch >= warmup_epochs:
        return float(end)
    if warmup_epochs == 1:
        return float(start)
    return start + (end - start) * epoch / (warmup_epochs - 1)


@torch.no_grad()
def update_momentum(student: nn.Module, teacher: nn.Module, m: float) -> None:
    """EMA of the student into the teacher: ``teacher = m teacher + (1 - m) student``.

    Acts on parameters (as DINO), in place; buffers such as batch-norm statistics are left to
    the teacher's own forward passes. ``m = 1`` leaves the teacher unchanged.
    """
    if not 0.0 <= m <= 1.0:
        raise ValueError(f"momentum must lie in [0, 1], got {m!r}")
    t_params = list(teacher.parameters())
    s_params = list(student.parameters())
    if len(t_params) != len(s_params):
        raise ValueError(f"student and teacher differ: {len(s_params)} vs {len(t_params)} "
                         f"parameter tensors")
    if not t_params:
        return
    # t + (1 - m) (s - t): the same average in one pass over the parameters instead of two
    torch._foreach_lerp_(t_params, [p.detach() for p in s_params], 1.0 - m)
