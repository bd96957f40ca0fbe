"""Render source models in Jy/beam: Gaussians convolved with the beam analytically, textures by FFT.

A Gaussian of flux S (Jy) and intrinsic covariance C, seen through a beam of covariance B
(pixels²), is a Gaussian of covariance C + B and peak ``S * sqrt(det B / det(C + B))`` Jy/beam;
a point source therefore peaks at S. Many Gaussians are evaluated at once on fixed-size boxes
and scattered with ``np.add.at``, so compact sources cost a few microseconds each.
"""

from __future__ import annotations

import numpy as np
from scipy.ndimage import zoom
from scipy.signal import fftconvolve

from radiolib.sky.sources import TEXTURE_EXPDISK

__all__ = ["add_gaussians", "beam_kernel", "claim", "covariance", "gaussian_terms", "render_model"]

FWHM = 2.0 * np.sqrt(2.0 * np.log(2.0))
_TIERS = np.array([2, 3, 4, 5, 6, 8, 10, 12, 16, 20, 24, 32, 40, 48, 64, 80, 96, 128, 160, 192,
                   256, 320, 384, 512, 640, 768, 1024, 1536, 2048])


def covariance(fwhm_maj, fwhm_min, theta) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Covariance (cxx, cxy, cyy) in pixels² of Gaussians with FWHM axes and angle from +x."""
    s1, s2 = (np.asarray(fwhm_maj, float) / FWHM) ** 2, (np.asarray(fwhm_min, float) / FWHM) ** 2
    c, s = np.cos(theta), np.sin(theta)
    return s1 * c * c + s2 * s * s, (s1 - s2) * c * s, s1 * s * s + s2 * c * c


def beam_kernel(beam_cov, half: int) -> np.ndarray:
    """Unit-peak beam image on a (2 half + 1)² grid: convolving Jy/pixel with it gives Jy/beam."""
    bxx, bxy, byy = beam_cov
    det = bxx * byy - bxy * bxy
    yy, xx = np.mgrid[-half : half + 1, -half : half + 1].astype(float)
    q = (byy * xx * xx - 2 * bxy * xx * yy + bxx * yy * yy) / det
    return np.exp(-0.5 * q).astype(np.float32)


def gaussian_terms(comps: np.ndarray, beam_cov, floor: float) -> tuple[np.ndarray, ...]:
    """Per-Gaussian (x, y, peak, inverse covariance a, b, c, box half-size) after the beam.

    The box reaches where the Gaussian falls to ``floor`` Jy/beam (at least 3.5 sigma).
    """
    x, y, flux, fmaj, fmin, th = np.asarray(comps, float).reshape(-1, 6).T
    cxx, cxy, cyy = covariance(fmaj, fmin, th)
    bxx, bxy, byy = beam_cov
    cxx, cxy, cyy = cxx + bxx, cxy + bxy, cyy + byy
    det = cxx * cyy - cxy * cxy
    peak = flux * np.sqrt((bxx * byy - bxy * bxy) / det)
    nsig = np.sqrt(2 * np.log(np.maximum(np.abs(peak) / floor, np.exp(3.5**2 / 2))))
    half = np.ceil(nsig * np.sqrt(np.maximum(cxx, cyy))).astype(int)
    return x, y, peak, cyy / det, -cxy / det, cxx / det, half


def claim(best: np.ndarray, label: np.ndarray, idx: np.ndarray, val: np.ndarray,
          ids: np.ndarray) -> None:
    """Give pixels ``idx`` (flat) to object ``ids`` where ``val`` beats ``best`` (segmap update)."""
    if idx.size == 0:
        return
    order = np.lexsort((val, idx))
    idx, val, ids = idx[order], val[order], ids[order]
    last = np.r_[idx[1:] != idx[:-1], True]
    idx, val, ids = idx[last], val[last], ids[last]
    win = val > best.flat[idx]
    best.flat[idx[win]] = val[win]
    label.flat[idx[win]] = ids[win]


def add_gaussians(out: np.ndarray, terms, origin=(0, 0), chunk: int = 1 << 19,
                  claim_args=None) -> None:
    """Add beam-convolved Gaussians (`gaussian_terms`) into ``out`` whose pixel (0,0) is ``origin``.

    Gaussians are grouped by box size and evaluated in batches; pixels outside ``out`` are
    dropped. With ``claim_args=(best, label, ids, thr)``, pixels where Gaussian k reaches
    ``thr[k]`` are claimed for ``ids[k]`` in the segmap (see `claim`).
    """
    x, y, peak, a, b, c, half = terms
    ox, oy = origin
    ny, nx = out.shape
    tier = _TIERS[np.minimum(np.searchsorted(_TIERS, half), _TIERS.size - 1)]
    flat = out.reshape(-1)
    chunk = max(1 << 14, min(chunk, out.size // 4))  # temporaries stay below ``out``
    for r in np.unique(tier):
        sel = np.flatnonzero(tier == r)
        d = np.arange(-r, r + 1)
        step = max(1, chunk // d.size**2)
        for i in range(0, sel.size, step):
            k = sel[i : i + step]
            ix, iy = np.rint(x[k]).astype(int), np.rint(y[k]).astype(int)
            dx = (ix - x[k])[:, None] + d[None, :]
            dy = (iy - y[k])[:, None] + d[None, :]
            q = (a[k, None, None] * dx[:, None, :] ** 2 + c[k, None, None] * dy[:, :, None] ** 2
                 + 2 * b[k, None, None] * dx[:, None, :] * dy[:, :, None])
            val = peak[k, None, None] * np.exp(-0.5 * q)
            px = (ix - ox)[:, None, None] + d[None, None, :]
            py = (iy - oy)[:, None, None] + d[None, :, None]
            ok = (px >= 0) & (px < nx) & (py >= 0) & (py < ny)
            idx = (py * nx + px)[ok]
            np.add.at(flat, idx, val[ok])
            if claim_args is not None:
                best, label, ids, thr = claim_args
                mask = ok & (val >= thr[k, None, None])
                owner = np.broadcast_to(ids[k, None, None], val.shape)[mask]
                claim(best, label, (py * nx + px)[mask], val[mask].astype(best.dtype), owner)


def _random_field(rng, n: int, slope: float) -> np.ndarray:
    """Zero-mean, unit-variance Gaussian random field on n² pixels with P(k) ∝ k^-slope."""
    k = np.hypot(np.fft.fftfreq(n)[:, None], np.fft.rfftfreq(n)[None, :])
    amp = np.where(k > 0, k, 1.0) ** (-slope / 2) * (k > 0)
    f = np.fft.irfft2(np.fft.rfft2(rng.standard_normal((n, n))) * amp, s=(n, n))
    return (f - f.mean()) / (f.std() + 1e-12)


def _texture(row, beam_cov, kernel_half: int) -> tuple[np.ndarray, int, int]:
    """Render one texture (Jy/pixel, summing to its flux), convolved to Jy/beam; stamp, x0, y0."""
    kind, x, y, flux, scale, q, th, seed = row
    rng = np.random.default_rng(int(seed))
    half = int(np.ceil((6.0 if kind == TEXTURE_EXPDISK else 1.3) * scale)) + kernel_half
    n = 2 * half + 1
    coarse = int(min(n, 384))
    g = zoom(_random_field(rng, coarse, 3.0), n / coarse, order=1)[:n, :n]
    ix, iy = int(np.rint(x)), int(np.rint(y))
    yy, xx = np.mgrid[-half : half + 1, -half : half + 1].astype(float)
    xx, yy = xx + ix - x, yy + iy - y
    u = xx * np.cos(th) + yy * np.sin(th)
    v = (-xx * np.sin(th) + yy * np.cos(th)) / q
    r = np.hypot(u, v)
    if kind == TEXTURE_EXPDISK:
        img = np.exp(-r / scale) * np.clip(1 + 0.3 * g, 0, None)
    else:
        img = np.exp(-0.5 * (r / (scale / FWHM * 2)) ** 2) * np.exp(0.9 * g)
    img *= np.clip(1.2 - r / (half - kernel_half), 0, 1)  # taper to zero at the stamp edge
    img *= flux / img.sum()
    out = fftconvolve(img, beam_kernel(beam_cov, kernel_half).astype(float), mode="same")
    return out.astype(np.float32), ix - half, iy - half


def render_model(comps: np.ndarray, textures: np.ndarray, beam_cov, floor: float,
                 kernel_half: int) -> tuple[np.ndarray, int, int]:
    """Render a whole model on one stamp in Jy/beam; return (stamp, x0, y0) of its pixel (0,0)."""
    terms = gaussian_terms(comps, beam_cov, floor)
    x, y, half = terms[0], terms[1], terms[6]
    tex = [_texture(row, beam_cov, kernel_half) for row in np.asarray(textures).reshape(-1, 8)]
    lo_x = [np.floor(x - half).min()] if x.size else []
    lo_y = [np.floor(y - half).min()] if y.size else []
    hi_x = [np.ceil(x + half).max() + 1] if x.size else []
    hi_y = [np.ceil(y + half).max() + 1] if y.size else []
    for st, tx, ty in tex:
        lo_x, lo_y = [*lo_x, tx], [*lo_y, ty]
        hi_x, hi_y = [*hi_x, tx + st.shape[1]], [*hi_y, ty + st.shape[0]]
    x0, y0 = int(min(lo_x)), int(min(lo_y))
    stamp = np.zeros((int(max(hi_y)) - y0, int(max(hi_x)) - x0), np.float64)
    if x.size:
        add_gaussians(stamp, terms, (x0, y0))
    for st, tx, ty in tex:
        stamp[ty - y0 : ty - y0 + st.shape[0], tx - x0 : tx - x0 + st.shape[1]] += st
    return stamp.astype(np.float32), x0, y0
