"""Batched intensity operations against torchvision's per-image functional ops and numpy."""

import pytest
import torch
from torchvision.transforms.v2 import functional as TF

from radiolib.augment.photometric import (
    adjust_brightness,
    adjust_contrast,
    adjust_hue,
    adjust_saturation,
    autocontrast,
    color_jitter,
    gaussian_blur,
    linear_rescale,
    power_law,
)


@pytest.fixture
def batch():
    return torch.rand(5, 3, 24, 24, generator=torch.Generator().manual_seed(1))


@pytest.mark.parametrize("ours, theirs, factors", [
    (adjust_brightness, TF.adjust_brightness, [0.6, 1.0, 1.4, 0.0, 0.9]),
    (adjust_contrast, TF.adjust_contrast, [0.6, 1.0, 1.4, 0.0, 0.9]),
    (adjust_saturation, TF.adjust_saturation, [0.6, 1.0, 1.4, 0.0, 0.9]),
    (adjust_hue, TF.adjust_hue, [-0.5, -0.1, 0.0, 0.1, 0.45]),
])
@pytest.mark.parametrize("channels", [1, 3])
def test_jitter_ops_match_torchvision_image_by_image(batch, ours, theirs, factors, channels):
    x = batch[:, :channels]
    out = ours(x, torch.tensor(factors))
    ref = torch.stack([theirs(x[i], f) for i, f in enumerate(factors)])
    torch.testing.assert_close(out, ref, atol=2e-6, rtol=0)


def test_color_jitter_runs_each_image_in_its_own_order(batch):
    factors = torch.tensor([[0.7, 1.3, 0.5, 0.1]] * 5)
    orders = torch.tensor([[0, 1, 2, 3], [3, 2, 1, 0], [1, 3, 0, 2], [2, 0, 3, 1], [0, 3, 1, 2]])
    out = color_jitter(batch, factors, orders)
    ops = [TF.adjust_brightness, TF.adjust_contrast, TF.adjust_saturation, TF.adjust_hue]
    for i in range(5):
        ref = batch[i]
        for op in orders[i].tolist():
            ref = ops[op](ref, float(factors[i, op]))
        torch.testing.assert_close(out[i], ref, atol=2e-6, rtol=0)


@pytest.mark.parametrize("sigma, radius", [(1.0, 3), (2.5, 8), (0.3, 1)])
def test_gaussian_blur_matches_torchvision(batch, sigma, radius):
    sig = torch.tensor([sigma, 2 * sigma, sigma, 1.0, 3.0])
    rad = torch.tensor([radius, radius, 1, 2, 9])
    out = gaussian_blur(batch, sig, rad)
    for i in range(5):
        k = 2 * int(rad[i]) + 1
        ref = TF.gaussian_blur(batch[i], [k, k], [float(sig[i])] * 2)
        torch.testing.assert_close(out[i], ref, atol=1e-6, rtol=0)


def test_autocontrast_matches_torchvision_and_uses_given_limits(batch):
    x = batch * 0.5 + 0.2
    torch.testing.assert_close(autocontrast(x), torch.stack([TF.autocontrast(i) for i in x]),
                               atol=1e-6, rtol=0)
    lo, hi = torch.zeros(5, 3, 1, 1), torch.ones(5, 3, 1, 1)
    torch.testing.assert_close(autocontrast(x, lo, hi), x)
    flat = torch.full((1, 1, 4, 4), 0.3)
    torch.testing.assert_close(autocontrast(flat), flat)


def test_power_law_and_linear_rescale_ranges(batch):
    x = batch * 0.5 + 0.2
    out = power_law(x, torch.tensor([0.5, 1.0, 2.0, 1.5, 0.7]))
    assert out.amin() == 0 and out.amax() == 1
    torch.testing.assert_close(out[1], autocontrast(x)[1])
    torch.testing.assert_close(out[2], autocontrast(x)[2] ** 2)
    lin = linear_rescale(x)
    torch.testing.assert_close(lin.amin(dim=(-2, -1)), -torch.ones(5, 3))
    torch.testing.assert_close(lin.amax(dim=(-2, -1)), torch.ones(5, 3))


@pytest.mark.parametrize("op", [adjust_contrast, adjust_saturation])
def test_colour_operations_refuse_other_channel_counts(op):
    with pytest.raises(ValueError, match="1 or 3"):
        op(torch.rand(1, 2, 8, 8), torch.tensor([0.5]))
