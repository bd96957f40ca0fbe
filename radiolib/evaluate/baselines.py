"""Reference features for the probes: pixel statistics (a floor) and hand-made ones (headroom).

A backbone's probe score means little alone. Fed to the same probe as the embeddings, these
scikit-learn transformers (``fit`` / ``transform`` on images) give two reference rows:

* :class:`PixelHistogram` -- a histogram of pixel values plus robust moments: what a probe gets
  from the brightness distribution alone, with no notion of shape or position.
* :class:`PeakCounter` -- the number of local maxima above ``n_sigma`` times the image's robust
  noise: the hand-made answer to "how many sources are in this crop".
* :class:`ShapeMoments` -- a few classical morphology numbers of the emission above the noise
  (components, peaks, size, elongation, concentration, and the separation of the two brightest
  peaks over the extent, the Fanaroff-Riley ratio): a hand-made answer for classification.

Images are (N, H, W) or (N, C, H, W) arrays, tensors or a TileSet's tiles (read one at a
time, so memory-mapped tiles stay on disk); of several channels the first is used. Blank
(NaN) pixels, outside a mosaic's coverage, read as the image's median.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage
from sklearn.base import BaseEstimator, TransformerMixin

__all__ = ["PeakCounter", "PixelHistogram", "ShapeMoments", "robust_noise"]

_MAD_TO_SIGMA = 1.4826
_EIGHT = np.ones((3, 3), dtype=bool)  # 8-connected neighbourhood


def _images(images):
    """Yield the (H, W) float64 images of a batch (the first channel of (N, C, H, W))."""
    n = len(images) if hasattr(images, "__len__") else 0
    first = np.asarray(images[0]) if n else np.zeros(0)
    if first.ndim not in (2, 3):
        raise ValueError(f"expected images of shape (N, H, W) or (N, C, H, W), got "
                         f"{getattr(images, 'shape', n)}")
    for i in range(n):
        image = images[i]
        image = np.asarray(image.numpy() if hasattr(image, "numpy") else image, np.float64)
        image = image[0] if image.ndim == 3 else image
        blank = ~np.isfinite(image)
        if blank.any():  # outside a mosaic's coverage: read as flat background
            image = np.where(blank, np.median(image[~blank]) if (~blank).any() else 0.0, image)
        yield image


def robust_noise(image: np.ndarray) -> tuple[float, float]:
    """Return ``(background, sigma)``: the median and the MAD scaled to a Gaussian sigma.

    Where more than half the pixels are equal (a clipped background), the MAD is 0 and the
    standard deviation stands in for it.
    """
    image = np.asarray(image, np.float64)
    median = float(np.median(image))
    sigma = _MAD_TO_SIGMA * float(np.median(np.abs(image - median)))
    return median, sigma if sigma > 0 else float(np.std(image))


def _peaks(image: np.ndarray, threshold: float, size: int, within=None) -> tuple[np.ndarray, int]:
    """Labelled local maxima above ``threshold`` (a flat top counts once) and their number.

    ``within``: an optional mask the maxima must lie in.
    """
    image = np.asarray(image, np.float64)
    top = image == ndimage.maximum_filter(image, size=size, mode="constant", cval=-np.inf)
    top &= image > threshold
    if within is not None:
        top &= within
    return ndimage.label(top, structure=_EIGHT)


class PixelHistogram(TransformerMixin, BaseEstimator):
    """Fraction of pixels in each of ``bins`` brightness bins (but the last), plus moments.

    The bin edges are quantiles of (up to ``max_fit_pixels``) training pixels, so each bin
    holds about as many training pixels whatever the units. The moments are the median, the
    logs of the robust sigma and of the standard deviation over it, and the mean, 1st, 99th and
    99.9th percentiles and maximum in robust sigmas from the median (through asinh, so that a
    few bright crops do not dominate a linear probe).
    """

    def __init__(self, bins: int = 32, max_fit_pixels: int = 1_000_000, seed: int = 0):
        self.bins = bins
        self.max_fit_pixels = max_fit_pixels
        self.seed = seed

    def fit(self, images, y=None):
        """Choose the bin edges from the training images' pixels."""
        rng = np.random.default_rng(self.seed)
        per_image = max(1, self.max_fit_pixels // max(1, len(images)))
        sample = []
        for image in _images(images):
            v = image.reshape(-1)
            sample.append(rng.choice(v, per_image, replace=False) if per_image < v.size else v)
        edges = np.unique(np.quantile(np.concatenate(sample), np.linspace(0, 1, self.bins + 1)))
        self.edges_ = edges[1:-1]  # inner edges; the outer bins are open-ended
        return self

    def transform(self, images) -> np.ndarray:
        """Return (N, n_bins - 1 + 8) features."""
        out = []
        for image in _images(images):
            v = image.reshape(-1)
            hist = np.bincount(np.searchsorted(self.edges_, v), minlength=len(self.edges_) + 1)
            background, sigma = robust_noise(v)
            scale = sigma if sigma > 0 else 1.0
            tails = np.arcsinh((np.array([v.mean(), *np.percentile(v, [1, 99, 99.9]), v.max()])
                                - background) / scale)  # in noise units, heavy tails tamed
            moments = [background, np.log(scale), np.log(v.std() / scale + 1e-12), *tails]
            # the last bin's share is one minus the others': dropped, so that no feature is an
            # exact combination of the others (a probe would standardise that null direction)
            out.append(np.concatenate([hist[:-1] / v.size, moments]))
        return np.asarray(out)


class PeakCounter(TransformerMixin, BaseEstimator):
    """Number of local maxima above ``n_sigma`` robust noise sigmas over the background.

    A maximum is a pixel not exceeded in its ``size`` x ``size`` neighbourhood (about a
    beam: smaller windows split a noisy source in two); touching maxima of equal value count
    once. Returns an (N, 1) feature: fitted linearly to a source
    count, it is the hand-made reference of the source-count probe.
    """

    def __init__(self, n_sigma: float = 5.0, size: int = 5):
        self.n_sigma = n_sigma
        self.size = size

    def fit(self, images=None, y=None):
        """Nothing to learn (scikit-learn API)."""
        return self

    def transform(self, images) -> np.ndarray:
        """Return the (N, 1) peak counts."""
        counts = []
        for image in _images(images):
            background, sigma = robust_noise(image)
            counts.append(_peaks(image, background + self.n_sigma * sigma, self.size)[1])
        return np.asarray(counts, dtype=np.float64)[:, None]


class ShapeMoments(TransformerMixin, BaseEstimator):
    """Classical morphology numbers of the emission above ``n_sigma`` noise sigmas.

    Per image (N, 9): number of components (of at least ``min_pixels`` pixels), number of
    peaks in them (maxima of ``size``-pixel windows), log of the summed emission over sigma,
    flux-weighted size and elongation (from the second moments), concentration (share of the
    emission within half the extent of the centroid), separation of the two brightest peaks
    over twice the extent (the Fanaroff-Riley ratio; 0 with one peak), offset of the
    brightest peak from the centroid over the extent, and the extent (largest distance of an
    emitting pixel from the centroid).
    """

    def __init__(self, n_sigma: float = 3.0, min_pixels: int = 3, size: int = 5):
        self.n_sigma = n_sigma
        self.min_pixels = min_pixels
        self.size = size

    def fit(self, images=None, y=None):
        """Nothing to learn (scikit-learn API)."""
        return self

    def _one(self, image: np.ndarray) -> list[float]:
        image = np.asarray(image, np.float64)
        background, sigma = robust_noise(image)
        threshold = background + self.n_sigma * sigma
        mask = image > threshold
        comps, n = ndimage.label(mask, structure=_EIGHT)
        sizes = np.bincount(comps.reshape(-1))
        big = sizes >= self.min_pixels
        big[0] = False  # the background
        n_comp = int(big.sum())
        mask = big[comps]  # emission: the components kept
        if not mask.any() or sigma <= 0:
            return [n_comp, 0, 0, 0, 0, 0, 0, 0, 0]
        w = np.where(mask, image - background, 0.0)
        total = w.sum()
        yy, xx = np.indices(image.shape, dtype=np.float64)
        cy, cx = (w * yy).sum() / total, (w * xx).sum() / total
        dy, dx = yy - cy, xx - cx
        cov = np.array([[(w * dy * dy).sum(), (w * dy * dx).sum()],
                        [(w * dy * dx).sum(), (w * dx * dx).sum()]]) / total
        small, large = np.clip(np.linalg.eigvalsh(cov), 0, None)
        radius = np.hypot(dy, dx)
        extent = max(float(radius[mask].max()), 1.0)
        concentration = w[radius <= extent / 2].sum() / total
        labels, n_peaks = _peaks(image, threshold, self.size, within=mask)
        if n_peaks:
            heights = ndimage.maximum(image, labels, range(1, n_peaks + 1))
            spots = np.asarray(ndimage.center_of_mass(mask, labels, range(1, n_peaks + 1)))
            order = np.argsort(heights)[::-1]
            first = spots[order[0]]
            offset = np.hypot(first[0] - cy, first[1] - cx) / extent
            fr = (np.hypot(*(first - spots[order[1]])) / (2 * extent)) if n_peaks > 1 else 0.0
        else:
            offset = fr = 0.0
        return [n_comp, n_peaks, np.log1p(total / sigma), np.sqrt(small + large),
                np.sqrt(small / large) if large > 0 else 1.0, concentration, fr, offset, extent]

    def transform(self, images) -> np.ndarray:
        """Return the (N, 9) shape features."""
        return np.asarray([self._one(image) for image in _images(images)], dtype=np.float64)
