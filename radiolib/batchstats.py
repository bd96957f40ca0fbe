"""Batched robust statistics for radio images: sigma-clip bounds, zscale limits, resizing.

Vectorised over rows of a (N, P) array so that a batch of tiles costs a few numpy calls instead
of one astropy call per tile; each function reproduces the astropy algorithm it names.
"""

from __future__ import annotations

import numpy as np

__all__ = ["resize", "sigma_clip_bounds", "zscale_limits"]


def _zero_nan(x: np.ndarray) -> np.ndarray:
    """Set NaNs of ``x`` to 0 in place (cheaper than ``np.nan_to_num``) and return it."""
    np.copyto(x, 0.0, where=np.isnan(x))
    return x


_RESIZE_BLOCK = 1 << 24  # input values converted to float32 at a time by resize (64 MB)


def resize(x: np.ndarray, size: int, *, antialias: bool = False) -> np.ndarray:
    """Bilinearly resize the last two axes of ``x`` (..., H, W) to (size, size), float32.

    Half-pixel centres, no anti-aliasing by default: the ``order=1`` resize used for Riggi et
    al.'s [0] input (the paper says only that each channel is resized to 224).
    Other dtypes (e.g. 8-bit images) are converted a block of images at a time, so a large
    stack is never held as float32 at its input size.
    """
    import torch  # here, not at the top: `radiolib simulate / tile / inspect` never load torch
    import torch.nn.functional as F

    x = np.asarray(x)
    if x.shape[-2:] == (size, size):
        return np.ascontiguousarray(x, dtype=np.float32)
    flat = x.reshape(-1, *x.shape[-2:])
    out = np.empty((len(flat), size, size), np.float32)
    block = max(1, _RESIZE_BLOCK // max(1, x.shape[-2] * x.shape[-1]))
    with torch.no_grad():
        for i in range(0, len(flat), block):
            chunk = torch.from_numpy(np.ascontiguousarray(flat[i:i + block], dtype=np.float32))
            out[i:i + block] = F.interpolate(chunk[:, None], size=(size, size), mode="bilinear",
                                             align_corners=False, antialias=antialias)[:, 0]
    return out.reshape(*x.shape[:-2], size, size)


def sigma_clip_bounds(rows: np.ndarray, sigma_lower: float = 5.0, sigma_upper: float = 30.0,
                      maxiters: int = 5) -> tuple[np.ndarray, np.ndarray]:
    """Bounds of astropy ``sigma_clip(row, sigma_lower, sigma_upper, return_bounds=True)``.

    Median/std clipping for each row of ``rows`` (N, P), NaNs ignored (no infs). One sort per
    row makes every clipped set a slice, so medians are O(1) and the sums are updated by the
    clipped tails only.
    """
    s = np.sort(rows, axis=1)  # NaNs go last
    n = np.full(len(s), s.shape[1])
    blank = np.flatnonzero(np.isnan(s[:, -1]))
    n[blank] = np.count_nonzero(~np.isnan(s[blank]), axis=1)
    a, b, r = np.zeros_like(n), n.copy(), np.arange(len(s))
    shift = s[r, np.maximum(n - 1, 0) // 2]  # centring keeps float32 sums accurate
    s1, s2 = np.zeros(len(s)), np.zeros(len(s))
    for j in range(0, s.shape[1], 4096):  # column blocks stay in cache
        d = s[:, j : j + 4096] - shift[:, None]
        if blank.size:
            _zero_nan(d)
        s1 += d.sum(axis=1)  # pairwise summation within a block, float64 across blocks
        s2 += np.square(d, out=d).sum(axis=1)
    shift = shift.astype(np.float64)
    lo, hi = np.full(len(s), np.nan), np.full(len(s), np.nan)
    active = n > 0
    for _ in range(maxiters):
        idx = np.flatnonzero(active)
        if idx.size == 0:
            break
        ai, cnt = a[idx], b[idx] - a[idx]
        median = 0.5 * (s[idx, ai + (cnt - 1) // 2].astype(np.float64) + s[idx, ai + cnt // 2])
        mean = s1[idx] / cnt
        std = np.sqrt(np.maximum(s2[idx] / cnt - mean**2, 0.0))
        lo[idx], hi[idx] = median - sigma_lower * std, median + sigma_upper * std
        moves = (s[idx, a[idx]] < lo[idx].astype(s.dtype)) | (
            s[idx, b[idx] - 1] > hi[idx].astype(s.dtype))  # sorted: only the ends can go
        active[idx[~moves]] = False
        for i in idx[moves]:
            row = s[i, a[i] : b[i]]
            na = a[i] + np.searchsorted(row, row.dtype.type(lo[i]), "left")
            nb = a[i] + np.searchsorted(row, row.dtype.type(hi[i]), "right")
            if nb <= na:
                active[i] = False
                continue
            cut = np.concatenate([s[i, a[i] : na], s[i, nb : b[i]]]).astype(np.float64) - shift[i]
            s1[i], s2[i] = s1[i] - cut.sum(), s2[i] - np.dot(cut, cut)
            a[i], b[i] = na, nb
    return lo, hi


def _dilate(bad: np.ndarray, k: int) -> np.ndarray:
    """Row-wise ``np.convolve(bad, ones(k), mode="same") > 0`` (window i - k//2 .. i + (k-1)//2)."""
    if k <= 1:
        return bad
    c = np.zeros((bad.shape[0], bad.shape[1] + 1), np.int32)
    np.cumsum(bad, axis=1, out=c[:, 1:])
    i = np.arange(bad.shape[1])
    upper, lower = np.minimum(i + (k - 1) // 2 + 1, bad.shape[1]), np.maximum(i - k // 2, 0)
    return (c[:, upper] - c[:, lower]) > 0


def zscale_limits(rows: np.ndarray, *, contrast: float | tuple[float, ...] = 0.25,
                  n_samples: int = 1000, max_reject: float = 0.5, min_npixels: int = 5,
                  krej: float = 2.5, max_iterations: int = 5) -> tuple[np.ndarray, np.ndarray]:
    """Astropy ``ZScaleInterval.get_limits`` for every row of NaN-free ``rows`` (N, P) at once.

    Same sampling (every ``P // n_samples``-th pixel), iterative line fit with ``krej`` σ
    rejection and mask growth, and contrast-scaled slope; rows that stop early are frozen.
    With a tuple of contrasts the fit is shared and the limits have shape (len(contrast), N).
    """
    stride = int(max(1.0, rows.shape[1] / n_samples))
    s = np.sort(rows[:, ::stride][:, :n_samples], axis=1).astype(np.float64)
    m, npix = s.shape
    minpix = max(min_npixels, int(npix * max_reject))
    x = np.arange(npix, dtype=np.float64)
    good = np.ones_like(s, dtype=bool)
    ngood, last, slope = np.full(m, npix), np.full(m, npix + 1), np.zeros(m)
    for _ in range(max_iterations):
        act = np.flatnonzero((ngood < last) & (ngood >= minpix))
        if act.size == 0:
            break
        w = good[act].astype(np.float64)
        cnt = w.sum(axis=1)
        dx = x - (w @ x / cnt)[:, None]
        dy = s[act] - (np.einsum("ij,ij->i", w, s[act]) / cnt)[:, None]
        wdx = w * dx
        fit = np.einsum("ij,ij->i", wdx, dy) / np.einsum("ij,ij->i", wdx, dx)
        flat = dy - fit[:, None] * dx
        resid = flat - (np.einsum("ij,ij->i", w, flat) / cnt)[:, None]
        thr = (krej * np.sqrt(np.einsum("ij,ij,ij->i", w, resid, resid) / cnt))[:, None]
        bad = _dilate((w == 0) | (flat < -thr) | (flat > thr), max(1, int(npix * 0.01)))
        good[act], last[act], slope[act] = ~bad, ngood[act], fit
        ngood[act] = npix - bad.sum(axis=1)
    ok = ngood >= minpix
    slope = slope / np.reshape(contrast, (-1, 1))
    centre, median = (npix - 1) // 2, np.median(s, axis=1)
    vmin = np.where(ok, np.maximum(s[:, 0], median - (centre - 1) * slope), s[:, 0])
    vmax = np.where(ok, np.minimum(s[:, -1], median + (npix - centre) * slope), s[:, -1])
    return (vmin, vmax) if np.ndim(contrast) else (vmin[0], vmax[0])
