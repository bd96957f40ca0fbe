"""Reference features of the probes: pixel histogram, peak counter, shape moments."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from radiolib.evaluate import PeakCounter, PixelHistogram, ShapeMoments
from radiolib.evaluate.baselines import robust_noise


def _gauss(shape, y, x, amplitude, width):
    yy, xx = np.indices(shape)
    return amplitude * np.exp(-((yy - y) ** 2 + (xx - x) ** 2) / (2 * width ** 2))


def _field(rng, n_sources, *, side=128, amplitude=20.0, spacing=14, width=1.5):
    """Unit Gaussian noise plus ``n_sources`` isolated Gaussian sources on a grid."""
    image = rng.normal(size=(side, side))
    cells = [(y, x) for y in range(spacing, side - spacing, spacing)
             for x in range(spacing, side - spacing, spacing)]
    for k in rng.choice(len(cells), n_sources, replace=False):
        image += _gauss(image.shape, *cells[k], amplitude, width)
    return image


def test_peak_counter_counts_isolated_peaks_exactly():
    rng = np.random.default_rng(0)
    counts = [0, 1, 5, 17, 40]
    images = np.stack([_field(rng, n) for n in counts])
    np.testing.assert_array_equal(PeakCounter().fit(images).transform(images)[:, 0], counts)


def test_peak_counter_threshold_and_input_shapes():
    rng = np.random.default_rng(1)
    image = _field(rng, 0)
    image += _gauss(image.shape, 40, 40, 8.0, 1.5)  # 8 sigma: above 5, below 10
    image += _gauss(image.shape, 80, 80, 3.0, 1.5)  # 3 sigma: below 5
    batch = torch.from_numpy(image[None, None]).float()  # (N, C, H, W) tensor
    assert PeakCounter(n_sigma=5).transform(batch)[0, 0] == 1
    assert PeakCounter(n_sigma=10).transform(batch)[0, 0] == 0
    flat = np.zeros((1, 16, 16))
    flat[0, 5:7, 5:7] = 1.0  # a flat-topped source on a clipped background counts once
    assert PeakCounter().transform(flat)[0, 0] == 1
    blank = image.copy()
    blank[:, :20] = np.nan  # a tile at a mosaic's edge
    assert PeakCounter().transform(blank[None])[0, 0] == 1
    assert np.isfinite(PixelHistogram().fit(blank[None]).transform(blank[None])).all()
    assert np.isfinite(ShapeMoments().transform(np.full((1, 8, 8), np.nan))).all()
    with pytest.raises(ValueError, match="N, H, W"):
        PeakCounter().transform(np.zeros((16, 16)))


def test_robust_noise_ignores_sources():
    rng = np.random.default_rng(2)
    background, sigma = robust_noise(_field(rng, 10) + 3.0)
    assert background == pytest.approx(3.0, abs=0.1)
    assert sigma == pytest.approx(1.0, rel=0.1)


def test_pixel_histogram_bins_hold_equal_shares_of_training_pixels():
    rng = np.random.default_rng(3)
    images = rng.lognormal(size=(20, 32, 32))
    features = PixelHistogram(bins=8).fit(images).transform(images)
    assert features.shape == (20, 7 + 8)  # the last bin is 1 - the others
    assert np.all(features[:, :7].sum(axis=1) < 1)
    np.testing.assert_allclose(features[:, :7].mean(axis=0), 1 / 8, atol=0.01)
    brighter = PixelHistogram(bins=8).fit(images).transform(images * 10)
    assert brighter[:, :7].sum(axis=1).mean() < 0.2  # most land in the open top bin


def test_shape_moments_tell_one_blob_from_a_double():
    rng = np.random.default_rng(4)
    single = rng.normal(size=(64, 64)) * 0.1 + _gauss((64, 64), 32, 32, 10.0, 3.0)
    double = rng.normal(size=(64, 64)) * 0.1 + _gauss((64, 64), 32, 16, 10.0, 2.0) \
        + _gauss((64, 64), 32, 48, 9.0, 2.0)
    f = ShapeMoments().fit(None).transform(np.stack([single, double]))
    n_comp, n_peaks, _, size, elongation, _, fr_ratio, _, extent = f.T
    assert list(n_comp) == [1, 2] and list(n_peaks) == [1, 2]
    assert fr_ratio[0] == 0 and fr_ratio[1] == pytest.approx(32 / (2 * extent[1]), rel=0.05)
    assert elongation[0] > 0.9 > 0.3 > elongation[1] and size[1] > size[0]
    assert ShapeMoments().transform(np.zeros((1, 8, 8)))[0].tolist() == [0] * 9
