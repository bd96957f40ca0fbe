"""Batched crops, rotations and flips against torch / torchvision references."""

import math

import pytest
import torch
import torch.nn.functional as F
from torchvision.transforms.v2 import functional as TF

from radiolib.augment.geometry import (
    ATTEMPTS,
    crop_theta,
    resized_crops,
    rot90,
    sample_crop_boxes,
)


@pytest.fixture
def x():
    return torch.rand(3, 2, 16, 16, generator=torch.Generator().manual_seed(0))


def test_rot90_is_exact_per_image(x):
    k = torch.tensor([1, 2, 3])
    out = rot90(x, k)
    for i in range(3):
        assert torch.equal(out[i], torch.rot90(x[i], int(k[i]), dims=(-2, -1)))
    assert torch.equal(rot90(x, torch.tensor([0, 4, -4])), x)
    with pytest.raises(ValueError, match="square"):
        rot90(torch.rand(1, 1, 4, 6), torch.tensor([1]))


def test_integer_box_crop_and_identity(x):
    boxes = torch.tensor([[0.0, 0.0, 16.0, 16.0], [4.0, 2.0, 8.0, 8.0], [8.0, 8.0, 8.0, 8.0]])
    theta = crop_theta(boxes, 16, 16)[:, None]
    torch.testing.assert_close(resized_crops(x, theta, (16, 16))[0, 0], x[0], atol=1e-5, rtol=0)
    small = resized_crops(x, theta, (8, 8))[0]
    torch.testing.assert_close(small[1], x[1, :, 2:10, 4:12], atol=1e-5, rtol=0)
    torch.testing.assert_close(small[2], x[2, :, 8:, 8:], atol=1e-5, rtol=0)


def test_flips_and_rotation_follow_torchvision(x):
    full = torch.tensor([[0.0, 0.0, 16.0, 16.0]] * 3)
    flips = crop_theta(full, 16, 16, hflip=torch.tensor([True, False, True]),
                       vflip=torch.tensor([False, True, True]))
    out = resized_crops(x, flips[:, None], (16, 16))[0]
    refs = [x[0].flip(-1), x[1].flip(-2), x[2].flip(-1).flip(-2)]
    for o, r in zip(out, refs, strict=True):
        torch.testing.assert_close(o, r, atol=1e-5, rtol=0)
    angle = torch.tensor([math.radians(30.0), math.radians(-20.0), math.pi / 2])
    out = resized_crops(x, crop_theta(full, 16, 16, angle=angle)[:, None], (16, 16))[0]
    for i, deg in enumerate((30.0, -20.0, 90.0)):
        ref = TF.rotate(x[i], deg, interpolation=TF.InterpolationMode.BILINEAR)
        torch.testing.assert_close(out[i, :, 3:13, 3:13], ref[:, 3:13, 3:13], atol=1e-5, rtol=0)


def test_several_crops_per_image_share_one_call(x):
    boxes = torch.tensor([[0.0, 0.0, 8.0, 8.0], [8.0, 8.0, 8.0, 8.0]] * 3)
    theta = crop_theta(boxes, 16, 16).view(3, 2, 2, 3)
    out = resized_crops(x, theta, (8, 8))
    assert out.shape == (2, 3, 2, 8, 8)
    torch.testing.assert_close(out[1, 2], x[2, :, 8:, 8:], atol=1e-5, rtol=0)


def test_resize_of_whole_image_is_interpolate(x):
    theta = crop_theta(torch.tensor([[0.0, 0.0, 16.0, 16.0]] * 3), 16, 16)[:, None]
    for mode in ("bilinear", "bicubic"):
        out = resized_crops(x, theta, (24, 24), mode=mode)[0]
        ref = F.interpolate(x, size=(24, 24), mode=mode, align_corners=False)
        torch.testing.assert_close(out, ref, atol=1e-5, rtol=0)


@pytest.mark.parametrize("scale, ratio", [((0.08, 0.5), (3 / 4, 4 / 3)), ((0.5, 0.8), (1, 1)),
                                          ((0.05, 0.14), (3 / 4, 4 / 3))])
def test_crop_boxes_respect_scale_ratio_and_image(scale, ratio):
    g = torch.Generator().manual_seed(3)
    n = 4000
    u = torch.rand(n, 2 * ATTEMPTS + 2, generator=g, dtype=torch.float64)
    boxes = sample_crop_boxes(u[:, :ATTEMPTS], u[:, ATTEMPTS:2 * ATTEMPTS], u[:, -2], u[:, -1],
                              40, 48, scale, ratio)
    x0, y0, w, h = boxes.unbind(1)
    assert (x0 >= 0).all() and (y0 >= 0).all()
    assert (x0 + w <= 48 + 1e-9).all() and (y0 + h <= 40 + 1e-9).all()
    area = w * h / (40 * 48)
    assert (area >= scale[0] - 1e-9).all() and (area <= scale[1] + 1e-9).all()
    aspect = w / h
    assert (aspect >= ratio[0] - 1e-9).all() and (aspect <= ratio[1] + 1e-9).all()
    # no fallback at these settings: the area fraction is uniform over the scale range
    assert abs(area.mean().item() - sum(scale) / 2) < 0.02 * (scale[1] - scale[0])


def test_crop_boxes_fall_back_to_a_centred_crop_like_torchvision():
    u = torch.full((1, 2 * ATTEMPTS + 2), 0.99, dtype=torch.float64)
    box = sample_crop_boxes(u[:, :ATTEMPTS], u[:, ATTEMPTS:2 * ATTEMPTS], u[:, -2], u[:, -1],
                            32, 48, (1.0, 1.0), (1.0, 1.0))
    torch.testing.assert_close(box, torch.tensor([[8.0, 0.0, 32.0, 32.0]], dtype=torch.float64))
