"""Argument checks and the random draws shared by the augmentation pipelines."""

from __future__ import annotations

import math

import torch

__all__ = ["check_image_batch", "check_positive", "check_probability", "check_range", "draw",
           "uniform"]


def check_probability(name: str, p: float) -> float:
    """Return ``p`` as a float, or raise ``ValueError`` unless ``0 <= p <= 1``."""
    if not (isinstance(p, (int, float)) and 0.0 <= float(p) <= 1.0):
        raise ValueError(f"{name} is a probability and must lie in [0, 1], got {p!r}")
    return float(p)


def check_range(name: str, bounds, *, low: float = -math.inf, high: float = math.inf,
                strict_low: bool = False) -> tuple[float, float]:
    """Return ``bounds`` as ``(lo, hi)`` floats with ``low <= lo <= hi <= high``, or raise.

    ``strict_low=True`` demands ``lo > low`` (e.g. a crop scale must be positive).
    """
    try:
        lo, hi = (float(b) for b in bounds)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a pair (min, max), got {bounds!r}") from None
    too_low = lo <= low if strict_low else lo < low
    if too_low or hi > high or lo > hi or not (math.isfinite(lo) and math.isfinite(hi)):
        side = "(" if strict_low else "["
        raise ValueError(f"{name} must satisfy min <= max within {side}{low}, {high}], "
                         f"got {bounds!r}")
    return lo, hi


def check_positive(name: str, value: float, *, allow_zero: bool = False) -> float:
    """Return ``value`` as a float, or raise unless it is positive (or zero if allowed)."""
    ok = isinstance(value, (int, float)) and (value >= 0 if allow_zero else value > 0)
    if not ok or not math.isfinite(value):
        kind = "non-negative" if allow_zero else "positive"
        raise ValueError(f"{name} must be a finite {kind} number, got {value!r}")
    return float(value)


def check_image_batch(x: torch.Tensor, channels: tuple[int, ...] | None = None) -> None:
    """Raise ``ValueError`` unless ``x`` is a floating (B, C, H, W) tensor."""
    if not isinstance(x, torch.Tensor) or x.ndim != 4 or not x.is_floating_point():
        got = (f"{x.dtype} tensor of shape {tuple(x.shape)}" if isinstance(x, torch.Tensor)
               else type(x).__name__)
        raise ValueError(f"expected a floating-point batch (B, C, H, W) in [0, 1], got {got}")
    if channels is not None and x.shape[1] not in channels:
        raise ValueError(f"expected {' or '.join(map(str, channels))} channels, "
                         f"got {x.shape[1]} (shape {tuple(x.shape)})")


def draw(n: int, k: int, generator: torch.Generator | None, device: torch.device) -> torch.Tensor:
    """Return ``(n, k)`` uniform [0, 1) numbers in one call, moved to ``device``.

    Every random parameter of a pipeline is a column of this matrix, so the stream a generator
    produces is consumed identically whichever augmentations are switched on, and the result
    is the same on CPU and GPU for one seed (draws happen on the generator's device).
    """
    gen_device = generator.device if generator is not None else torch.device("cpu")
    u = torch.rand(n, k, generator=generator, device=gen_device, dtype=torch.float64)
    return u.to(device)


def uniform(u: torch.Tensor, lo: float, hi: float) -> torch.Tensor:
    """Map uniform [0, 1) numbers ``u`` to [lo, hi)."""
    return lo + (hi - lo) * u
