"""DINOAugment: multi-crop shapes, switches, code behaviour, reproducibility (Lastufka et al.)."""

import pytest
import torch
import torch.nn.functional as F

from radiolib.augment import DINOAugment

SMALL = dict(global_size=32, local_size=16, n_local=3)
OFF = dict(rotation=False, autocontrast=False, power_law=False, blur=False, flips=False)


def gen(seed=0):
    return torch.Generator().manual_seed(seed)


@pytest.fixture
def x():
    return torch.rand(4, 1, 48, 48, generator=gen(11))


def test_multicrop_shapes_globals_first(x):
    crops = DINOAugment(**SMALL)(x, gen())
    assert [tuple(c.shape) for c in crops] == [(4, 1, 32, 32)] * 2 + [(4, 1, 16, 16)] * 3
    crops = DINOAugment(global_size=24, local_size=8, n_local=0)(x, gen())
    assert len(crops) == 2


def test_paper_defaults():
    aug = DINOAugment()
    assert (aug.global_size, aug.local_size, aug.n_local) == (224, 96, 8)
    assert aug.global_scale == (0.4, 1.0) and aug.local_scale == (0.05, 0.4)
    assert aug.flips and aug.blur_kernel_size is None
    code = DINOAugment(code_behaviour=True)
    assert not code.flips and code.blur_kernel_size == 3


@pytest.mark.parametrize("kwargs, match", [
    (dict(code_behaviour=True, flips=True), "no flips"),
    (dict(p_blur=(1.0, 0.1)), "three probabilities"),
    (dict(p_rotation=2), "p_rotation"),
    (dict(local_scale=(0.5, 0.1)), "local_scale"),
    (dict(power_range=(0.0, 2.0)), "power_range"),
    (dict(n_local=-1), "n_local"),
])
def test_invalid_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        DINOAugment(**kwargs)


def test_reproducible_from_the_generator(x):
    aug = DINOAugment(**SMALL)
    a, b, c = aug(x, gen(1)), aug(x, gen(1)), aug(x, gen(2))
    assert all(torch.equal(p, q) for p, q in zip(a, b, strict=True))
    assert not torch.equal(a[2], c[2])


def test_everything_off_and_full_scale_is_a_plain_resize(x):
    aug = DINOAugment(**SMALL, **OFF, global_scale=(1.0, 1.0), crop_ratio=(1.0, 1.0))
    ref = F.interpolate(x, size=(32, 32), mode="bicubic", align_corners=False).clamp(0, 1)
    for crop in aug(x, gen())[:2]:
        torch.testing.assert_close(crop, ref, atol=1e-5, rtol=0)


def test_switches_do_not_change_the_other_draws(x):
    """Turning blur on changes only the blurred crops: geometry draws are identical."""
    base = DINOAugment(**SMALL, **OFF)(x, gen(4))
    blur = DINOAugment(**SMALL, **{**OFF, "blur": True}, p_blur=(1.0, 0.0, 0.0))(x, gen(4))
    assert not torch.equal(base[0], blur[0])
    assert all(torch.equal(p, q) for p, q in zip(base[1:], blur[1:], strict=True))


def test_rotation_fills_corners_with_zeros():
    x = torch.ones(64, 1, 32, 32)
    aug = DINOAugment(**SMALL, **{**OFF, "rotation": True}, p_rotation=1.0,
                      rotation_degrees=30.0, global_scale=(1.0, 1.0), crop_ratio=(1.0, 1.0),
                      interpolation="bilinear")
    g = aug(x, gen())[0]
    corners = g[:, 0, [0, 0, -1, -1], [0, -1, 0, -1]]
    assert (corners.amax(1) < 0.5).float().mean() > 0.9  # |angle| > ~2 degrees darkens corners
    assert torch.allclose(g[:, 0, 14:18, 14:18], torch.ones(1))


def test_autocontrast_and_power_law_on_local_crops_only(x):
    x = x * 0.5 + 0.25
    aug = DINOAugment(**SMALL, **{**OFF, "autocontrast": True}, p_autocontrast=1.0,
                      interpolation="bilinear")
    crops = aug(x, gen())
    for local in crops[2:]:
        torch.testing.assert_close(local.amin(dim=(-2, -1)), torch.zeros(4, 1))
        torch.testing.assert_close(local.amax(dim=(-2, -1)), torch.ones(4, 1))
    assert crops[0].amin() > 0.2  # globals untouched
    paper = DINOAugment(**SMALL, **{**OFF, "power_law": True}, p_power_law=1.0)(x, gen())
    assert all(c.amin() >= 0 and c.amax() <= 1 for c in paper)


def test_code_behaviour_power_law_is_a_linear_rescale_to_minus_one_one(x):
    aug = DINOAugment(**SMALL, **{**OFF, "power_law": True}, p_power_law=1.0, code_behaviour=True,
                      local_scale=(1.0, 1.0), crop_ratio=(1.0, 1.0), interpolation="bilinear")
    crops = aug(x, gen())
    lo, hi = x.amin(dim=(-2, -1)), x.amax(dim=(-2, -1))
    ref = (F.interpolate(x, size=(16, 16), mode="bilinear", align_corners=False) - lo[..., None,
           None]) / (hi - lo)[..., None, None] * 2 - 1
    for local in crops[2:]:
        torch.testing.assert_close(local, ref, atol=1e-5, rtol=0)
    assert crops[0].amin() >= 0  # globals are not rescaled


def test_blur_probabilities_per_crop_kind():
    x = torch.rand(400, 1, 24, 24, generator=gen(3))
    kw = dict(global_size=24, local_size=24, n_local=1, global_scale=(1.0, 1.0),
              local_scale=(1.0, 1.0), crop_ratio=(1.0, 1.0), interpolation="bilinear")
    plain = DINOAugment(**kw, **OFF)(x, gen(8))
    blurred = DINOAugment(**kw, **{**OFF, "blur": True}, blur_sigma=(0.5, 2.0))(x, gen(8))
    rates = [(~torch.isclose(b, p, atol=1e-6)).flatten(1).any(1).float().mean().item()
             for b, p in zip(blurred, plain, strict=True)]
    assert rates[0] == 1.0 and 0.05 < rates[1] < 0.15 and 0.42 < rates[2] < 0.58


@pytest.mark.parametrize("code", [False, True])
def test_everything_on_gives_finite_crops_in_both_behaviours(x, code):
    crops = DINOAugment(**SMALL, code_behaviour=code, p_rotation=1.0, p_autocontrast=1.0,
                        p_power_law=1.0)(x, gen(5))
    assert all(torch.isfinite(c).all() for c in crops)
    lo = min(c.amin().item() for c in crops[2:])
    assert lo < -0.5 if code else lo >= 0.0  # the code's rescale reaches -1, the paper's not
