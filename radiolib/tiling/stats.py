"""Scaling statistics of a whole field, fitted once so that every crop can be scaled alike.

Lastufka et al. [1] scale MGCLS crops with limits of the whole field (e.g. the 2-98 or
2-99.9 percentiles); Riggi et al. [0] use sigma clipping (5, 30) and zscale (0.25, 0.4). The
limits of every preset in `radiolib.scaling.FIELD_LIMITS` are fitted on a regular sample of the
field's finite pixels; `radiolib.scaling.fitted_scaling` turns them back into a scaling.

- [0] Riggi et al. 2024, PASA, arXiv:2404.18462
- [1] Lastufka et al. 2024, A&A 690, A310, arXiv:2408.06147
"""

from __future__ import annotations

import numpy as np

from radiolib.io import robust_noise
from radiolib.scaling import FIELD_LIMITS, get_scaling

__all__ = ["PERCENTILES", "field_statistics"]

#: Percentiles stored for every field.
PERCENTILES = (0.5, 1.0, 2.0, 50.0, 98.0, 99.0, 99.5, 99.9)


def _number(value: float) -> float | None:
    """Return ``value`` as a JSON-safe float, None for NaN or infinity."""
    return float(value) if np.isfinite(value) else None


def field_statistics(sample: np.ndarray) -> dict:
    """Statistics and scaling limits of a field from a regular sample of its pixels.

    Returns ``{"stats": {...}, "limits": {key: [vmin, vmax]}}`` with the NaN fraction, mean,
    std, median, MAD noise, percentiles ``p<q>`` and the sigma-clipped median and std (of the
    5/30 clip), all from the finite pixels; non-finite results are stored as None.
    """
    values = np.asarray(sample, dtype=np.float32).ravel()
    finite = np.isfinite(values)
    nan_fraction = 1.0 - finite.mean() if values.size else 1.0
    values = values[finite]
    if values.size == 0:
        return {"stats": {"n_sample": 0, "nan_fraction": nan_fraction}, "limits": {}}
    percentiles = np.percentile(values, PERCENTILES)
    stats = {"n_sample": int(values.size), "nan_fraction": float(nan_fraction),
             "mean": float(values.mean(dtype=np.float64)),
             "std": float(values.std(dtype=np.float64)), "min": float(values.min()),
             "max": float(values.max()), "noise_mad": robust_noise(values)}
    stats.update({f"p{q:g}": float(v) for q, v in zip(PERCENTILES, percentiles, strict=True)})
    stats["median"] = stats["p50"]
    limits = {}
    for key, (name, kwargs) in FIELD_LIMITS.items():
        fitted = get_scaling(name, **kwargs).fit(values)
        limits[key] = [float(fitted.vmin_), float(fitted.vmax_)]
    lo, hi = limits["sigmaclip_5_30"]  # lo = m - 5 s, hi = m + 30 s
    stats["sigmaclip_median"], stats["sigmaclip_std"] = (30 * lo + 5 * hi) / 35, (hi - lo) / 35
    return {"stats": {k: v if isinstance(v, int) else _number(v) for k, v in stats.items()},
            "limits": {k: [_number(v) for v in pair] for k, pair in limits.items()}}
