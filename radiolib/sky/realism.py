"""Statistics for judging how realistic a simulated field is, computed the same way on real ones.

`field_stats` summarises an image in numbers that a book figure can put side by side for the
simulator and for real survey images: noise level and its spatial variation, the pixel
histogram in units of the noise, the density of sources above 5 sigma, and how often pixels
around bright sources dip below -3 sigma (sidelobe ripples).
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from radiolib.io import robust_noise

__all__ = ["QUANTILES", "block_rms", "field_stats"]

QUANTILES = (0.001, 0.01, 0.05, 0.5, 0.95, 0.99, 0.999)


def block_rms(data: np.ndarray, block: int = 128, min_finite: float = 0.5) -> np.ndarray:
    """Robust (MAD) noise of each ``block``² block; NaN where under ``min_finite`` is finite."""
    ny, nx = data.shape
    out = np.full((max(1, ny // block), max(1, nx // block)), np.nan)
    for j in range(out.shape[0]):
        for i in range(out.shape[1]):
            b = np.asarray(data[j * block : (j + 1) * block, i * block : (i + 1) * block])
            if np.count_nonzero(np.isfinite(b)) >= min_finite * b.size:
                out[j, i] = robust_noise(b)
    return out


def _upsample(grid: np.ndarray, shape: tuple[int, int], block: int) -> np.ndarray:
    iy = np.minimum(np.arange(shape[0]) // block, grid.shape[0] - 1)
    ix = np.minimum(np.arange(shape[1]) // block, grid.shape[1] - 1)
    return grid[iy][:, ix]


def field_stats(data: np.ndarray, *, beam_px: float = 4.0, block: int = 128,
                pixel_scale: float | None = None, bright_nsigma: float = 50.0,
                ripple_beams: float = 15.0) -> dict:
    """Summarise an image's noise, pixel histogram, source density and artefacts.

    Parameters
    ----------
    data : ndarray, shape (ny, nx)
        Image in any unit (NaN blanks allowed); meant for fields up to a few thousand pixels.
    beam_px : float
        Beam FWHM in pixels: sets the ripple annulus around bright sources.
    block : int
        Block size (pixels) of the local-noise map.
    pixel_scale : float, optional
        Arcsec per pixel; adds ``source_density_deg2``.
    bright_nsigma, ripple_beams : float
        Bright sources peak above ``bright_nsigma`` x local noise; their "surroundings" are the
        pixels between 2 and ``ripple_beams`` beams from them.

    Returns
    -------
    dict
        ``rms``, ``rms_variation`` (std / median of block noise), ``rms_p90_p10``,
        ``quantiles`` (pixel quantiles in noise units, keyed by `QUANTILES`),
        ``n_sources`` and ``source_density_mpix`` (islands peaking above 5 local sigma),
        ``negative_fraction`` (pixels < -3 sigma), ``ripple_negative_fraction`` (the same near
        bright sources; NaN without bright sources), ``n_bright``, ``nan_fraction``.
    """
    data = np.asarray(data, dtype=np.float32)
    finite = np.isfinite(data)
    rms = robust_noise(data)
    median = float(np.median(data[finite][:: max(1, finite.sum() // 4_000_000)]))
    blocks = block_rms(data, block)
    good = blocks[np.isfinite(blocks)]
    local = _upsample(np.where(np.isfinite(blocks), blocks, rms), data.shape, block)
    snr = np.where(finite, (data - median) / local, 0.0)
    values = snr[finite]
    quant = np.quantile(values[:: max(1, values.size // 4_000_000)], QUANTILES)
    labels, n = ndimage.label(snr >= 3.0, structure=np.ones((3, 3)))
    peaks = ndimage.maximum(snr, labels, np.arange(1, n + 1)) if n else np.zeros(0)
    sources = np.flatnonzero(peaks >= 5.0) + 1
    bright = np.flatnonzero(peaks >= bright_nsigma) + 1
    ripple = float("nan")
    if bright.size:
        core = np.isin(labels, bright)
        near = ndimage.distance_transform_edt(~core)
        ring = finite & (near > 2 * beam_px) & (near <= ripple_beams * beam_px) & ~(labels > 0)
        if ring.any():
            ripple = float(np.mean(snr[ring] < -3.0))
    mpix = finite.sum() / 1e6
    out = {
        "rms": float(rms),
        "rms_variation": float(np.std(good) / np.median(good)) if good.size > 1 else 0.0,
        "rms_p90_p10": float(np.percentile(good, 90) / np.percentile(good, 10))
        if good.size > 1 else 1.0,
        "quantiles": dict(zip(QUANTILES, (float(q) for q in quant), strict=True)),
        "n_sources": int(sources.size),
        "source_density_mpix": float(sources.size / mpix) if mpix else 0.0,
        "negative_fraction": float(np.mean(values < -3.0)),
        "ripple_negative_fraction": ripple,
        "n_bright": int(bright.size),
        "nan_fraction": float(1 - finite.mean()),
    }
    if pixel_scale is not None:
        out["source_density_deg2"] = sources.size / (mpix * 1e6 * (pixel_scale / 3600) ** 2)
    return out
