"""Baselines that give an anomaly search's numbers a scale: random ranking and complexity.

The complexity score follows the idea of Segal et al. (2023) that Riggi et al. 2024 cite: a
frame holding complex emission compresses worse. Each frame is smoothed, resized, expressed
in units of its own robust noise, cut below ``floor`` sigma (so pure noise compresses to
almost nothing), quantised to 8 bits and compressed with zlib (gzip's deflate); the score is
the compressed size, mapped to [0, 1] over the frames. Our reading of their recipe, not
their code.
"""

from __future__ import annotations

import zlib

import numpy as np
from scipy import ndimage

__all__ = ["complexity_scores", "compressed_size", "random_scores", "to_unit"]


def to_unit(values) -> np.ndarray:
    """Map values linearly onto [0, 1] (min to 0, max to 1; all 0.5 when they are equal)."""
    v = np.asarray(values, float)
    lo, hi = np.nanmin(v), np.nanmax(v)
    return np.full_like(v, 0.5) if hi <= lo else (v - lo) / (hi - lo)


def random_scores(n: int, *, seed: int = 0) -> np.ndarray:
    """Uniform random scores in [0, 1]: the ranking of someone who inspects frames blindly."""
    return np.random.default_rng(seed).uniform(0, 1, int(n))


def compressed_size(frame, *, sigma: float = 1.5, size: int = 64, floor: float = 3.0,
                    clip: float = 50.0) -> int:
    """Bytes of the zlib-compressed, smoothed, resized, noise-cut frame (see the module doc)."""
    f = np.nan_to_num(np.asarray(frame, np.float32), nan=0.0)
    f = ndimage.gaussian_filter(f, sigma)
    if f.shape[0] != size or f.shape[1] != size:
        f = ndimage.zoom(f, (size / f.shape[0], size / f.shape[1]), order=1)
    med = np.median(f)
    noise = 1.4826 * np.median(np.abs(f - med))
    if not noise > 0:
        return len(zlib.compress(b"\x00" * f.size, 9))
    snr = np.clip((f - med) / noise, 0, clip)
    snr[snr < floor] = 0
    q = np.round(snr / clip * 255).astype(np.uint8)
    return len(zlib.compress(q.tobytes(), 9))


def complexity_scores(frames, **kwargs) -> np.ndarray:
    """Complexity score in [0, 1] of every frame (N, S, S); kwargs go to :func:`compressed_size`."""
    return to_unit([compressed_size(f, **kwargs) for f in frames])
