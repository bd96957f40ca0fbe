"""How much crop statistics vary within and between pointings, for simulated and real fields.

A count probe can only beat "predict the mean" when counts per crop vary for reasons an image
shows (depth, primary beam, artefacts, clusters), not only by Poisson scatter. These functions
put numbers on that, the same way for a simulated pointing (from its truth catalogue, no
pixels needed), a real image (a local-peak finder above 5 sigma) and a real source list:

- `find_peaks`: local maxima above ``nsigma`` x the local (block MAD) noise;
- `crop_boxes`: the MGCLS crops of an image whose four corners are observed;
- `plan_counts`, `image_counts`, `catalogue_counts`: sources per crop and each crop's distance
  from the pointing centre;
- `count_summary`: mean and variance of the counts (variance / mean = 1 for Poisson scatter),
  the part of the variance between pointings, the centre-to-edge ratio and the spread of the
  noise between pointings.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import NamedTuple

import numpy as np
from scipy import ndimage

from radiolib.sky.realism import block_rms
from radiolib.sky.truth import source_counts
from radiolib.tiling import count_in_boxes, mgcls_boxes

__all__ = ["CropCounts", "catalogue_counts", "count_summary", "crop_boxes", "find_peaks",
           "image_counts", "plan_counts"]


class CropCounts(NamedTuple):
    """Sources per crop (``counts``) and each crop centre's distance (px) from the centre."""

    counts: np.ndarray
    radius: np.ndarray


def _crop_counts(counts, radius) -> CropCounts:
    return CropCounts(np.asarray(counts, float), np.asarray(radius, float))


def find_peaks(data: np.ndarray, *, nsigma: float = 5.0, beam_px: float = 4.0,
               block: int = 128) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return ``(y, x, snr)`` of local maxima above ``nsigma`` x the local noise.

    The noise is the robust (MAD) rms of each ``block``² block (`block_rms`), the background
    the image median; a peak is the maximum of its ``beam_px``-wide neighbourhood (odd, >= 3
    pixels). NaN pixels are never peaks. A plain counter, the hand-made baseline of the count
    probe and the check of the simulator's count truth.
    """
    data = np.asarray(data, dtype=np.float32)
    finite = np.isfinite(data)
    if not finite.any():
        return np.zeros(0, int), np.zeros(0, int), np.zeros(0)
    blocks = block_rms(data, block)
    fill = np.nanmedian(blocks) if np.isfinite(blocks).any() else 1.0
    blocks = np.where(np.isfinite(blocks), blocks, fill)
    iy = np.minimum(np.arange(data.shape[0]) // block, blocks.shape[0] - 1)
    ix = np.minimum(np.arange(data.shape[1]) // block, blocks.shape[1] - 1)
    snr = (data - np.median(data[finite])) / blocks[iy][:, ix]
    snr = np.where(finite, snr, -np.inf)
    size = max(3, int(np.ceil(beam_px)) | 1)
    peak = (snr == ndimage.maximum_filter(snr, size=size, mode="constant", cval=-np.inf))
    y, x = np.nonzero(peak & (snr >= nsigma))
    return y, x, snr[y, x]


def crop_boxes(shape: tuple[int, int], valid: Callable | None = None, *, size: int = 256,
               max_overlap: int = 10) -> np.ndarray:
    """MGCLS crops (`radiolib.tiling.mgcls_boxes`) whose four corners are observed.

    ``valid(x, y)`` says which pixel positions are observed (a plan's ``maps.valid``); without
    it every crop counts. The tiler skips crops holding a NaN the same way.
    """
    boxes = mgcls_boxes(shape, size, max_overlap)
    if valid is None or len(boxes) == 0:
        return boxes
    x0, y0, x1, y1 = (boxes[:, i].astype(float) for i in range(4))
    ok = np.ones(len(boxes), bool)
    for cx, cy in ((x0, y0), (x1 - 1, y0), (x0, y1 - 1), (x1 - 1, y1 - 1)):
        ok &= np.asarray(valid(cx, cy), bool)
    return boxes[ok]


def _radius(boxes: np.ndarray, centre: tuple[float, float]) -> np.ndarray:
    cx = (boxes[:, 0] + boxes[:, 2] - 1) / 2
    cy = (boxes[:, 1] + boxes[:, 3] - 1) / 2
    return np.hypot(cx - centre[0], cy - centre[1])


def _image_centre(shape) -> tuple[float, float]:
    return (shape[1] - 1) / 2, (shape[0] - 1) / 2


def plan_counts(plan, *, size: int = 256, snr_min: float = 5.0, max_overlap: int = 10,
                components: bool = False) -> CropCounts:
    """Count sources with SNR >= ``snr_min`` per observed MGCLS crop of a plan (its truth).

    ``components``: count each source's components (`source_counts`), as MIGHTEE's catalogue.
    """
    boxes = crop_boxes(plan.shape, plan.maps.valid, size=size, max_overlap=max_overlap)
    counts = source_counts(plan.catalogue, boxes, snr_min=snr_min, components=components)
    return _crop_counts(counts, _radius(boxes, _image_centre(plan.shape)))


def image_counts(data: np.ndarray, *, size: int = 256, nsigma: float = 5.0, beam_px: float = 4.0,
                 block: int = 128, centre: tuple[float, float] | None = None) -> CropCounts:
    """Count the peaks of `find_peaks` per blank-free MGCLS crop of an image."""
    data = np.asarray(data, dtype=np.float32)
    finite = np.isfinite(data)

    def valid(x, y):
        return finite[np.asarray(y, int), np.asarray(x, int)]

    boxes = crop_boxes(data.shape, valid, size=size)
    if len(boxes):  # crops with a NaN inside (not only at the corners) are skipped too
        nan_free = [finite[y0:y1, x0:x1].all() for x0, y0, x1, y1 in boxes]
        boxes = boxes[np.asarray(nan_free, bool)]
    y, x, _ = find_peaks(data, nsigma=nsigma, beam_px=beam_px, block=block)
    centre = _image_centre(data.shape) if centre is None else centre
    return _crop_counts(count_in_boxes(x, y, boxes), _radius(boxes, centre))


def catalogue_counts(ra, dec, *, centre: tuple[float, float], cell_deg: float,
                     snr=None, snr_min: float = 5.0, edge_quantile: float = 0.02) -> CropCounts:
    """Count a real source list's sources per square cell (tangent plane about ``centre``).

    Cells tile the rectangle between the ``edge_quantile`` and ``1 - edge_quantile`` quantiles
    of the sources' offsets, so only cells inside the catalogue's footprint count. With
    ``snr`` (peak / local rms), only sources with ``snr >= snr_min`` count. The radius is in
    cells' units x 256 (so that it reads like pixels of 256-pixel crops).
    """
    ra, dec = np.asarray(ra, float), np.asarray(dec, float)
    if snr is not None:
        keep = np.asarray(snr, float) >= snr_min
        ra, dec = ra[keep], dec[keep]
    x = (((ra - centre[0] + 180) % 360) - 180) * np.cos(np.radians(centre[1])) / cell_deg
    y = (dec - centre[1]) / cell_deg
    lo_x, hi_x = np.quantile(x, [edge_quantile, 1 - edge_quantile])
    lo_y, hi_y = np.quantile(y, [edge_quantile, 1 - edge_quantile])
    nx, ny = int(np.floor(hi_x - lo_x)), int(np.floor(hi_y - lo_y))
    if nx < 1 or ny < 1:
        raise ValueError(f"the catalogue's footprint holds no {cell_deg} deg cell")
    gx = np.floor(x - lo_x).astype(int)
    gy = np.floor(y - lo_y).astype(int)
    inside = (gx >= 0) & (gx < nx) & (gy >= 0) & (gy < ny)
    counts = np.bincount(gy[inside] * nx + gx[inside], minlength=nx * ny)
    cy, cx = np.divmod(np.arange(nx * ny), nx)
    radius = np.hypot(cx + 0.5 + lo_x, cy + 0.5 + lo_y) * 256
    return _crop_counts(counts, radius)


def count_summary(pointings: Sequence[CropCounts], rms: Sequence[float] | None = None) -> dict:
    """Summarise counts per crop pooled over pointings, and their variation within and between.

    Returns
    -------
    dict
        ``n_pointings``, ``n_crops``, ``mean``, ``var``, ``dispersion`` (var / mean: 1 for
        pure Poisson scatter), ``within_dispersion`` (mean over pointings of their own var /
        mean), ``between_var`` (variance of the pointings' mean counts),
        ``pointing_mean_min`` / ``pointing_mean_max``, ``centre_edge`` (mean count of the half
        of each pointing's crops nearest its centre over the farther half, pooled) and, with
        ``rms`` (one noise level per pointing), ``rms_spread_dex`` (std of log10 rms) and
        ``rms_max_min`` (max / min).
    """
    pointings = [_crop_counts(*p) for p in pointings]
    pointings = [p for p in pointings if p.counts.size]
    if not pointings:
        raise ValueError("count_summary needs at least one pointing with crops")
    allc = np.concatenate([p.counts for p in pointings])
    means = np.array([p.counts.mean() for p in pointings])
    within = [p.counts.var(ddof=1) / p.counts.mean() for p in pointings
              if p.counts.size > 1 and p.counts.mean() > 0]
    inner, outer = [], []
    for p in pointings:
        if p.counts.size < 2:
            continue
        near = p.radius <= np.median(p.radius)
        if near.all():  # all crops at the same radius: no edge
            continue
        inner.append(p.counts[near].mean())
        outer.append(p.counts[~near].mean())
    var = float(allc.var(ddof=1)) if allc.size > 1 else float("nan")
    out = {
        "n_pointings": len(pointings), "n_crops": int(allc.size), "mean": float(allc.mean()),
        "var": var, "dispersion": var / float(allc.mean()) if allc.mean() > 0 else float("nan"),
        "within_dispersion": float(np.mean(within)) if within else float("nan"),
        "between_var": float(means.var(ddof=1)) if means.size > 1 else float("nan"),
        "pointing_mean_min": float(means.min()), "pointing_mean_max": float(means.max()),
        "centre_edge": float(np.sum(inner) / np.sum(outer)) if outer and np.sum(outer) > 0
        else float("nan"),
    }
    if rms is not None:
        r = np.asarray(rms, float)
        out["rms_spread_dex"] = float(np.std(np.log10(r), ddof=1)) if r.size > 1 else 0.0
        out["rms_max_min"] = float(r.max() / r.min())
    return out
