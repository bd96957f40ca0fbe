"""Pixel boxes of the three tilings, as pure vectorised functions of the image shape.

A box is a row ``(x0, y0, x1, y1)`` of an int64 array (N, 4): the tile is
``data[y0:y1, x0:x1]`` (x along columns, half-open). Boxes come in row-major order (by ``y0``
then ``x0``) so that a mosaic can be streamed in row bands.

- hulk (Riggi et al. 2024 [0]): sliding windows, 256² with 50 % overlap;
- MGCLS (Lastufka et al. 2024 [1]): 256² crops, the closest integer number per axis with the
  overlap kept ≤ 10 px;
- banner (Riggi et al. 2024 [0]): source-centred boxes 1.5x the source extent.

- [0] Riggi et al. 2024, PASA, arXiv:2404.18462
- [1] Lastufka et al. 2024, A&A 690, A310, arXiv:2408.06147
"""

from __future__ import annotations

import math

import numpy as np

__all__ = [
    "banner_boxes",
    "box_sums",
    "count_in_boxes",
    "hulk_boxes",
    "hulk_starts",
    "mgcls_boxes",
    "mgcls_starts",
    "n_hulk_tiles",
    "n_mgcls_tiles",
]


def _shape(shape) -> tuple[int, int]:
    ny, nx = (int(v) for v in shape[-2:])
    if ny < 0 or nx < 0:
        raise ValueError(f"shape must be non-negative, got {tuple(shape)}")
    return ny, nx


def _grid(ys: np.ndarray, xs: np.ndarray, size: int) -> np.ndarray:
    """Boxes of side ``size`` at every (y, x) start pair, row-major."""
    y0, x0 = (a.ravel() for a in np.meshgrid(ys, xs, indexing="ij"))
    return np.stack([x0, y0, x0 + size, y0 + size], axis=1).astype(np.int64).reshape(-1, 4)


def _stride(size: int, overlap: float) -> int:
    if size < 1:
        raise ValueError(f"size must be a positive number of pixels, got {size}")
    if not 0 <= overlap < 1:
        raise ValueError(f"overlap must be a fraction in [0, 1), got {overlap}")
    return max(1, round(size * (1 - overlap)))


def hulk_starts(n: int, size: int = 256, overlap: float = 0.5) -> np.ndarray:
    """Return window starts on an axis of length ``n``: stride ``size (1 - overlap)``, last at edge.

    Windows start at 0, s, 2s, ... while they fit; if they stop short of the border, one more
    window is aligned to it (start ``n - size``), so no pixel is lost and every tile is full
    size: only that last window overlaps its neighbour by more than designed. An axis shorter
    than ``size`` gets no window (nothing is padded).
    """
    stride = _stride(size, overlap)
    if n < size:
        return np.zeros(0, np.int64)
    starts = np.arange(0, n - size + 1, stride, dtype=np.int64)
    return starts if starts[-1] == n - size else np.append(starts, n - size)


def n_hulk_tiles(shape, size: int = 256, overlap: float = 0.5) -> int:
    """Count hulk tiles: per axis ``ceil((n - size) / stride) + 1`` (0 if ``n < size``)."""
    stride = _stride(size, overlap)
    per_axis = [0 if n < size else math.ceil((n - size) / stride) + 1 for n in _shape(shape)]
    return per_axis[0] * per_axis[1]


def hulk_boxes(shape, size: int = 256, overlap: float = 0.5) -> np.ndarray:
    """Sliding-window boxes (N, 4) of side ``size`` covering ``shape`` (ny, nx), see `hulk_starts`.

    Riggi et al. [0] tile survey mosaics with 256² windows and 50 % overlap ("hulk" dataset).
    """
    ny, nx = _shape(shape)
    return _grid(hulk_starts(ny, size, overlap), hulk_starts(nx, size, overlap), size)


def _mgcls_count(n: int, size: int, max_overlap: int) -> int:
    if size < 1 or max_overlap < 0:
        raise ValueError(f"need size >= 1 and max_overlap >= 0, got {size}, {max_overlap}")
    k = math.ceil(n / size)
    if k >= 2 and math.ceil((k * size - n) / (k - 1)) > max_overlap:
        k -= 1  # k crops would overlap by more than max_overlap: take one fewer, with gaps
    return k if n >= size else 0


def mgcls_starts(n: int, size: int = 256, max_overlap: int = 10) -> np.ndarray:
    """Crop starts along one axis: the closest crop count whose overlap stays ≤ ``max_overlap``.

    With ``k = ceil(n / size)`` crops the axis is covered and neighbours overlap by
    ``(k size - n) / (k - 1)`` px; if that exceeds ``max_overlap`` one crop fewer is used and
    the remainder ``n - k size`` is spread as equal gaps between crops (those pixels are in no
    crop), as the stride of the authors' ``calc_stride``. Either way the first crop starts at 0,
    the last ends at ``n`` and the starts are evenly spaced (rounded to whole pixels); a single
    crop is centred.
    """
    k = _mgcls_count(n, size, max_overlap)
    if k <= 1:
        return np.full(k, (n - size) // 2, np.int64)
    return np.rint(np.linspace(0, n - size, k)).astype(np.int64)


def n_mgcls_tiles(shape, size: int = 256, max_overlap: int = 10) -> int:
    """Count MGCLS crops: the product of the per-axis counts of `mgcls_starts`."""
    ny, nx = _shape(shape)
    return _mgcls_count(ny, size, max_overlap) * _mgcls_count(nx, size, max_overlap)


def mgcls_boxes(shape, size: int = 256, max_overlap: int = 10) -> np.ndarray:
    """Crop boxes (N, 4) of Lastufka et al. [1] for an image of ``shape``, see `mgcls_starts`."""
    ny, nx = _shape(shape)
    return _grid(mgcls_starts(ny, size, max_overlap), mgcls_starts(nx, size, max_overlap), size)


def banner_boxes(x, y, size_pix, *, factor: float = 1.5, min_size: int = 32,
                 shape=None) -> np.ndarray:
    """Square boxes (N, 4) centred on sources at pixel ``(x, y)``, side ``factor`` x their extent.

    The side is ``max(round(factor * size_pix), min_size)`` pixels (Riggi et al. [0]: 1.5x the
    source's extent), capped at the longer image side when ``shape`` is given. Boxes stay
    centred, so a source near the border gets a box that sticks out of the image: those pixels
    read as NaN (as ``Cutout2D(mode="partial")``) and count towards the tile's NaN fraction.
    """
    x, y, extent = np.broadcast_arrays(*(np.asarray(v, dtype=np.float64) for v in (x, y, size_pix)))
    if not (np.isfinite(x).all() and np.isfinite(y).all()):
        raise ValueError("banner_boxes: source positions must be finite")
    if min_size < 1 or factor <= 0:
        raise ValueError(f"need factor > 0 and min_size >= 1, got {factor}, {min_size}")
    side = np.maximum(np.rint(factor * np.nan_to_num(extent, nan=0.0)), min_size).astype(np.int64)
    if shape is not None:
        side = np.minimum(side, max(max(_shape(shape)), 1))
    x0 = np.floor(x + 0.5).astype(np.int64) - side // 2  # centre pixel, then half the side
    y0 = np.floor(y + 0.5).astype(np.int64) - side // 2
    return np.stack([x0, y0, x0 + side, y0 + side], axis=1).reshape(-1, 4)


def box_sums(values: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """Sum of ``values`` (ny, nx) inside each box, through one integral image (O(1) per box).

    Boxes are clipped to the image; e.g. ``box_sums(np.isnan(data), boxes)`` counts NaNs.
    """
    values = np.asarray(values)
    ny, nx = values.shape
    integral = np.zeros((ny + 1, nx + 1), np.int64 if values.dtype.kind in "biu" else np.float64)
    np.cumsum(np.cumsum(values, axis=0, dtype=integral.dtype), axis=1, out=integral[1:, 1:])
    b = np.asarray(boxes, dtype=np.int64).reshape(-1, 4)
    x0, x1 = np.clip(b[:, 0], 0, nx), np.clip(b[:, 2], 0, nx)
    y0, y1 = np.clip(b[:, 1], 0, ny), np.clip(b[:, 3], 0, ny)
    return integral[y1, x1] - integral[y0, x1] - integral[y1, x0] + integral[y0, x0]


def count_in_boxes(x, y, boxes) -> np.ndarray:
    """Count the points (x, y) (0-based pixel coordinates) inside each box (N, 4).

    Box ``(x0, y0, x1, y1)`` holds pixels ``data[y0:y1, x0:x1]``; pixel i spans [i - 1/2, i + 1/2),
    so a point is inside when ``x0 - 1/2 <= x < x1 - 1/2`` (and likewise in y).
    """
    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    b = np.asarray(boxes, np.float64).reshape(-1, 4) - 0.5
    order = np.argsort(x, kind="stable")
    x, y = x[order], y[order]
    lo, hi = np.searchsorted(x, b[:, 0], "left"), np.searchsorted(x, b[:, 2], "left")
    counts = np.empty(len(b), np.int64)
    for i, (y0, y1) in enumerate(b[:, [1, 3]]):
        yy = y[lo[i] : hi[i]]
        counts[i] = np.count_nonzero((yy >= y0) & (yy < y1))
    return counts
