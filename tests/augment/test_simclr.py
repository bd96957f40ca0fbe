"""SimCLRAugment: validation, reproducibility, probabilities and ranges of Riggi et al. Table 2."""

import pytest
import torch

from radiolib.augment import SimCLRAugment

OFF = dict(crop_scale=(1.0, 1.0), crop_ratio=(1.0, 1.0), p_hflip=0.0, p_vflip=0.0,
           p_rot90=0.0, p_jitter=0.0, p_blur=0.0, p_threshold=0.0)


def gen(seed=0):
    return torch.Generator().manual_seed(seed)


@pytest.fixture
def x():
    return torch.rand(16, 3, 32, 32, generator=gen(42))


@pytest.mark.parametrize("kwargs, match", [
    (dict(p_hflip=1.5), "p_hflip is a probability"),
    (dict(p_blur=-0.1), "p_blur is a probability"),
    (dict(crop_scale=(0.0, 1.0)), "crop_scale"),
    (dict(crop_scale=(0.9, 0.8)), "crop_scale"),
    (dict(crop_scale=(0.8, 1.2)), "crop_scale"),
    (dict(threshold_percentile=(40, 160)), "threshold_percentile"),
    (dict(hue=0.6, jitter_strength=1.0), "hue"),
    (dict(brightness=-1), "brightness"),
    (dict(blur_kernel_size=4), "odd"),
    (dict(size=0), "size"),
    (dict(interpolation="area"), "interpolation"),
])
def test_invalid_arguments_raise_helpful_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        SimCLRAugment(**kwargs)


def test_defaults_are_riggi_table2():
    aug = SimCLRAugment()
    assert aug.crop_scale == (0.8, 1.0)
    assert aug.jitter == pytest.approx((0.4, 0.4, 0.4, 0.1))  # 0.8 / 0.2 at strength 0.5
    assert (aug.p_jitter, aug.p_blur, aug.p_threshold) == (0.8, 0.1, 0.5)
    assert aug.blur_sigma == (1.0, 3.0) and aug.threshold_percentile == (40.0, 60.0)
    assert aug.thresholding and "SimCLRAugment(" in repr(aug)
    assert (aug.p_hflip, aug.p_vflip, aug.p_rot90, aug.crop_mode) == (0.33, 0.33, 0.5, "side")


def test_views_have_input_shape_and_stay_in_unit_range(x):
    v1, v2 = SimCLRAugment()(x, gen())
    assert v1.shape == v2.shape == x.shape
    assert v1.min() >= 0 and v1.max() <= 1
    assert not torch.equal(v1, v2)
    assert SimCLRAugment(size=24).view(x, gen()).shape == (16, 3, 24, 24)


def test_same_seed_same_views_different_seed_different(x):
    aug = SimCLRAugment(p_blur=0.5)
    a, b, c = aug(x, gen(1)), aug(x, gen(1)), aug(x, gen(2))
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
    assert not torch.equal(a[0], c[0])


def test_geometry_does_not_depend_on_which_photometric_ops_are_on(x):
    """Every parameter has its own column, so switching jitter off keeps the same crops."""
    geo_only = SimCLRAugment(p_jitter=0.0, p_blur=0.0, thresholding=False)
    with_jitter = SimCLRAugment(p_jitter=1.0, brightness=0.0, contrast=0.0, saturation=0.0,
                                hue=0.0, p_blur=0.0, thresholding=False)
    assert torch.equal(geo_only.view(x, gen(3)), with_jitter.view(x, gen(3)))


def test_probability_zero_never_applies(x):
    out = SimCLRAugment(**OFF).view(x, gen())
    torch.testing.assert_close(out, x, atol=1e-5, rtol=0)


def test_probability_one_always_applies(x):
    out = SimCLRAugment(**{**OFF, "p_hflip": 1.0}).view(x, gen())
    torch.testing.assert_close(out, x.flip(-1), atol=1e-5, rtol=0)
    out = SimCLRAugment(**{**OFF, "p_threshold": 1.0, "threshold_percentile": (50, 50)}).view(
        x, gen())
    frac = (out == 0).float().mean(dim=(-2, -1))
    torch.testing.assert_close(frac, torch.full_like(frac, 0.5), atol=1 / 1024, rtol=0)


def test_rotation_by_quarter_turns_and_its_probability():
    x = torch.rand(400, 1, 8, 8, generator=gen(5))
    out = SimCLRAugment(**{**OFF, "p_rot90": 1.0}).view(x, gen())
    turns = []
    for o, i in zip(out, x, strict=True):
        errs = [(o - torch.rot90(i, k, dims=(-2, -1))).abs().max().item() for k in range(4)]
        assert min(errs) < 1e-5
        turns.append(errs.index(min(errs)))
    counts = torch.bincount(torch.tensor(turns), minlength=4)
    assert counts[0] == 0 and (counts[1:] > 100).all()  # 90, 180, 270 about equally often
    out = SimCLRAugment(**{**OFF, "p_rot90": 0.5}).view(x, gen())
    unrotated = ((out - x).abs().amax(dim=(1, 2, 3)) < 1e-5).float().mean()
    assert 0.4 < unrotated < 0.6


def test_flip_probability_is_statistically_sane():
    x = torch.rand(1000, 1, 6, 6, generator=gen(6))
    out = SimCLRAugment(**{**OFF, "p_vflip": 0.3}).view(x, gen())
    flipped = ((out - x.flip(-2)).abs().amax(dim=(1, 2, 3)) < 1e-5).float().mean()
    assert 0.25 < flipped < 0.35


def test_jitter_factors_stay_in_their_ranges():
    x = torch.full((500, 3, 4, 4), 0.5)
    aug = SimCLRAugment(**{**OFF, "p_jitter": 1.0, "contrast": 0.0, "saturation": 0.0,
                           "hue": 0.0})
    ratio = aug.view(x, gen())[:, :, 0, 0].mean(1) / 0.5
    assert ratio.min() >= 0.6 - 1e-6 and ratio.max() <= 1.4 + 1e-6  # brightness 0.8 x 0.5
    assert ratio.max() - ratio.min() > 0.7


def test_thresholding_switch_for_banner_data(x):
    aug = SimCLRAugment(**{**OFF, "p_threshold": 1.0}, thresholding=False)
    torch.testing.assert_close(aug.view(x, gen()), x, atol=1e-5, rtol=0)


def test_single_channel_input_and_blur():
    x = torch.rand(4, 1, 32, 32, generator=gen(7))
    out = SimCLRAugment(**{**OFF, "p_blur": 1.0, "p_jitter": 1.0}).view(x, gen())
    assert out.shape == x.shape and out.std() < x.std()


def test_bad_input_is_rejected():
    with pytest.raises(ValueError, match=r"\(B, C, H, W\)"):
        SimCLRAugment()(torch.rand(3, 32, 32))
    with pytest.raises(ValueError, match="square"):
        SimCLRAugment().view(torch.rand(2, 3, 16, 24))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a GPU")
def test_cuda_batch_matches_cpu(x):
    aug = SimCLRAugment()
    cpu = aug.view(x, gen(9))
    gpu = aug.view(x.cuda(), gen(9)).cpu()
    torch.testing.assert_close(gpu, cpu, atol=1e-4, rtol=0)


def test_paper_flips_are_one_or_the_other_with_their_probabilities():
    x = torch.rand(3000, 1, 6, 6, generator=gen(8))
    out = SimCLRAugment(**{**OFF, "p_hflip": 0.2, "p_vflip": 0.5}).view(x, gen())
    same = lambda y: ((out - y).abs().amax(dim=(1, 2, 3)) < 1e-5)  # noqa: E731
    h, v, none = same(x.flip(-1)), same(x.flip(-2)), same(x)
    assert not (h & v).any() and (h | v | none).all()  # Table 2: a flip h or v, never both
    for kind, p in ((h, 0.2), (v, 0.5), (none, 0.3)):
        assert abs(kind.float().mean() - p) < 0.035
    with pytest.raises(ValueError, match="p_hflip \\+ p_vflip must be <= 1"):
        SimCLRAugment(p_hflip=0.6, p_vflip=0.6)


def test_code_behaviour_flips_one_of_three():
    x = torch.rand(1200, 1, 6, 6, generator=gen(8))
    out = SimCLRAugment(**OFF, code_behaviour=True).view(x, gen())
    same = lambda y: ((out - y).abs().amax(dim=(1, 2, 3)) < 1e-5)  # noqa: E731
    h, v, none = same(x.flip(-1)), same(x.flip(-2)), same(x)
    assert not (h & v).any() and (h | v | none).all()  # exclusive, never both
    for kind in (h, v, none):
        assert 0.28 < kind.float().mean() < 0.39


@pytest.mark.parametrize("kwargs", [{}, {"code_behaviour": True}])
def test_crop_is_square_with_side_fraction_in_crop_scale(kwargs):
    n = 64
    ramp = torch.linspace(0, 1, n)
    x = torch.stack([ramp.expand(n, n), ramp[:, None].expand(n, n)])[None].repeat(300, 1, 1, 1)
    args = {**OFF, "crop_scale": (0.6, 0.9), "crop_ratio": (3 / 4, 4 / 3)}
    out = SimCLRAugment(**args, **kwargs).view(x, gen())
    span_x = (out[:, 0, :, -1] - out[:, 0, :, 0]).abs().mean(1)  # flips keep the span
    span_y = (out[:, 1, -1] - out[:, 1, 0]).abs().mean(1)
    torch.testing.assert_close(span_x, span_y, atol=0.01, rtol=0)  # square whatever crop_ratio
    assert 0.6 - 0.03 < span_x.min() and span_x.max() < 0.9 + 0.01
    assert span_x.max() / span_x.min() > 1.35  # sides spread over 0.6-0.9
    area = SimCLRAugment(**args, crop_mode="area").view(x, gen())
    ratio = (area[:, 0, :, -1] - area[:, 0, :, 0]).abs().mean(1) / \
        (area[:, 1, -1] - area[:, 1, 0]).abs().mean(1)
    assert ratio.std() > 0.05  # torchvision's crop varies the aspect ratio
