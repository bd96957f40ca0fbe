"""Schedules against DINO's array versions; EMA update against its defining formula."""

import numpy as np
import pytest
import torch
from torch import nn

from radiolib.ssl import cosine_schedule, teacher_temperature, update_momentum


def dino_cosine_scheduler(base, final, epochs, niter, warmup_epochs=0, start_warmup=0.0):
    """utils.cosine_scheduler of the DINO code, as used by Lastufka et al."""
    warmup = np.array([])
    warmup_iters = warmup_epochs * niter
    if warmup_epochs > 0:
        warmup = np.linspace(start_warmup, base, warmup_iters)
    iters = np.arange(epochs * niter - warmup_iters)
    schedule = final + 0.5 * (base - final) * (1 + np.cos(np.pi * iters / len(iters)))
    return np.concatenate((warmup, schedule))


@pytest.mark.parametrize("base, final, epochs, niter, warmup, start", [
    (5e-4, 1e-6, 10, 7, 2, 0.0),      # learning rate with warm-up
    (0.996, 1.0, 6, 5, 0, 0.0),       # teacher momentum
    (0.04, 0.4, 4, 3, 0, 0.0),        # weight decay
    (1e-3, 0.0, 5, 4, 1, 1e-4),       # warm-up from a non-zero value
])
def test_cosine_schedule_matches_dino(base, final, epochs, niter, warmup, start):
    ref = dino_cosine_scheduler(base, final, epochs, niter, warmup, start)
    ours = [cosine_schedule(s, epochs * niter, base, final, warmup * niter, start)
            for s in range(epochs * niter)]
    np.testing.assert_allclose(ours, ref, rtol=1e-12, atol=1e-15)
    assert cosine_schedule(epochs * niter + 3, epochs * niter, base, final) == final


def test_teacher_temperature_matches_dino():
    ref = np.concatenate((np.linspace(0.04, 0.07, 30), np.ones(70) * 0.07))
    ours = [teacher_temperature(e, 30, 0.04, 0.07) for e in range(100)]
    np.testing.assert_allclose(ours, ref)
    assert teacher_temperature(5) == 0.04


def test_schedule_arguments_are_checked():
    with pytest.raises(ValueError, match="warmup_steps"):
        cosine_schedule(0, 10, 1.0, 0.0, warmup_steps=11)
    with pytest.raises(ValueError, match="non-negative"):
        teacher_temperature(-1)


def test_update_momentum_is_an_ema_of_parameters():
    torch.manual_seed(0)
    student, teacher = nn.Linear(3, 2), nn.Linear(3, 2)
    s0 = [p.detach().clone() for p in student.parameters()]
    t0 = [p.detach().clone() for p in teacher.parameters()]
    update_momentum(student, teacher, 0.9)
    for s, t, t_new in zip(s0, t0, teacher.parameters(), strict=True):
        torch.testing.assert_close(t_new.detach(), 0.9 * t + 0.1 * s)
    update_momentum(student, teacher, 1.0)
    update_momentum(student, teacher, 0.0)
    for s, t in zip(student.parameters(), teacher.parameters(), strict=True):
        torch.testing.assert_close(t, s)
    with pytest.raises(ValueError, match="momentum"):
        update_momentum(student, teacher, 1.5)
    with pytest.raises(ValueError, match="differ"):
        update_momentum(student, nn.Sequential(nn.Linear(3, 2), nn.Linear(2, 2)), 0.5)


def test_schedule_edges():
    """Defaults (no warm-up; a warm-up starts from 0), a 1-step warm-up, a warm-up as long as
    the run, the first step after the run; the teacher's defaults and 1-epoch warm-up."""
    assert cosine_schedule(0, 10, 1.0, 0.0) == 1.0  # no warm-up: the cosine starts at once
    assert cosine_schedule(0, 10, 1.0, 0.0, warmup_steps=3) == 0.0
    assert cosine_schedule(0, 10, 1.0, 0.2, warmup_steps=1, warmup_start=0.5) == 0.5
    assert cosine_schedule(1, 10, 1.0, 0.2, warmup_steps=1) == 1.0
    assert cosine_schedule(3, 4, 1.0, 0.2, warmup_steps=4) == 1.0  # all warm-up: 0 .. 1
    assert cosine_schedule(10, 10, 1.0, 0.2) == 0.2
    assert cosine_schedule(4, 4, 1.0, 0.2, warmup_steps=4) == 0.2  # after an all-warm-up run
    assert cosine_schedule(0, 1, 1.0, 0.2) == 1.0  # a one-step run is valid: its start value
    assert teacher_temperature(0, 2) == 0.04 and teacher_temperature(1, 2, 0.04, 0.07) == 0.07
    assert teacher_temperature(0, start=0.04, end=0.07) == 0.07  # no warm-up by default
    assert teacher_temperature(0, 1, 0.04, 0.07) == 0.04
