"""radiolib.scaling: limits agree with astropy, per-field vs per-crop, riggi3, NaN blanks."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
from astropy.stats import sigma_clip
from astropy.visualization import (
    AsymmetricPercentileInterval,
    LogStretch,
    MinMaxInterval,
    PowerStretch,
    ZScaleInterval,
)
from numpy.testing import assert_allclose

from radiolib import batchstats
from radiolib import scaling as S
from radiolib.errors import ConfigError
from radiolib.scaling import (
    SCALINGS,
    Compose,
    MinMax,
    Percentile,
    SigmaClip,
    Stack,
    ZScale,
    get_scaling,
    resize,
    riggi3,
)

SCORPIO = (Path(__file__).resolve().parents[2].parent / "shared" / "data" / "real_fields"
           / "ScorpioS17Field.fits")


def synthetic_sky(n: int = 6, size: int = 96, seed: int = 0) -> np.ndarray:
    """Gaussian noise with a few bright and extended sources: (n, size, size) float32."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:size, :size]
    sky = rng.normal(1e-4, 1e-4, (n, size, size))
    for img in sky:
        for x0, y0, flux, width in rng.uniform([0, 0, 1e-3, 1], [size, size, 0.1, 8], (4, 4)):
            img += flux * np.exp(-((xx - x0) ** 2 + (yy - y0) ** 2) / (2 * width**2))
    return sky.astype(np.float32)


def real_tiles(n: int = 4, size: int = 256) -> np.ndarray | None:
    if not SCORPIO.exists():
        return None
    from radiolib.io import read_fits

    field = np.asarray(read_fits(SCORPIO).data, dtype=np.float32)
    return np.stack([field[i : i + size, i : i + size] for i in range(0, 200 * n, 200)])


#: Tolerance of radiolib's bilinear resize against scipy's: torch computes the source coordinate
#: ``(i + 0.5) * in / out - 0.5`` in float32, off by up to ~3e-5 px at 256 px (2 x 256 x 6e-8),
#: which moves a pixel in [0, 1] by as much times the step to its neighbour (at most 1).
RESIZE_ATOL = 5e-5


def scipy_resize(x: np.ndarray, size: int) -> np.ndarray:
    """Bilinear resize of the last two axes with half-pixel centres and edge pixels repeated:
    ``scipy.ndimage.zoom(order=1, grid_mode=True, mode="nearest")`` (skimage's ``resize(order=1,
    anti_aliasing=False)``), one image at a time, independent of torch."""
    from scipy.ndimage import zoom

    flat = x.reshape(-1, *x.shape[-2:])
    factors = (size / x.shape[-2], size / x.shape[-1])
    out = [zoom(np.asarray(i, np.float64), factors, order=1, grid_mode=True, mode="nearest")
           for i in flat]
    return np.stack(out).reshape(*x.shape[:-2], size, size)


def astropy_riggi3(tile: np.ndarray, size: int | None) -> np.ndarray:
    """Reference: Riggi et al. 2024 channels with astropy, one tile at a time, resized by scipy."""
    _, lo, hi = sigma_clip(tile[np.isfinite(tile)], sigma_lower=5, sigma_upper=30,
                           return_bounds=True)
    channels = [np.clip(tile, lo, hi), ZScaleInterval(contrast=0.25)(tile),
                ZScaleInterval(contrast=0.4)(tile)]
    out = np.nan_to_num(np.stack([MinMaxInterval()(c) for c in channels])).astype(np.float32)
    return out if size is None else scipy_resize(out, size)


class TestLimits:
    """Table-driven comparisons with astropy on the same pixels; rerun with NaN blanks below."""

    blank = False

    @pytest.fixture(params=["synthetic", "real"])
    def images(self, request) -> np.ndarray:
        images = synthetic_sky() if request.param == "synthetic" else real_tiles()
        if images is None:
            pytest.skip(f"real Scorpio field not found at {SCORPIO}")
        if self.blank:
            images = images.copy()
            images[:, :20, :30] = np.nan  # a blanked corner, as at mosaic edges
            images[1, 40:45] = np.nan
        return images

    @staticmethod
    def check(ours, reference, images):
        reference = np.asarray(reference, dtype=np.float64)
        span = np.nanmax(images) - np.nanmin(images)
        assert_allclose(ours[0], reference[:, 0], rtol=1e-5, atol=1e-6 * span)
        assert_allclose(ours[1], reference[:, 1], rtol=1e-5, atol=1e-6 * span)

    @pytest.mark.parametrize("contrast", [0.1, 0.25, 0.4, 1.0])
    def test_zscale_matches_astropy(self, images, contrast):
        ours = ZScale(contrast).limits(images.reshape(len(images), -1))
        self.check(ours, [ZScaleInterval(contrast=contrast).get_limits(i) for i in images], images)

    @pytest.mark.parametrize(("lower", "upper"), [(2, 98), (2, 99.9), (0, 100), (25, 75)])
    def test_percentile_matches_astropy(self, images, lower, upper):
        ours = Percentile(lower, upper).limits(images.reshape(len(images), -1))
        reference = [AsymmetricPercentileInterval(lower, upper).get_limits(i) for i in images]
        self.check(ours, reference, images)

    @pytest.mark.parametrize(("low", "up", "maxiters"), [(5, 30, 5), (3, 3, 5), (1, 2, 1)])
    def test_sigma_clip_matches_astropy(self, images, low, up, maxiters):
        ours = SigmaClip(low, up, maxiters=maxiters).limits(images.reshape(len(images), -1))
        reference = [sigma_clip(i[np.isfinite(i)], sigma_lower=low, sigma_upper=up,
                                maxiters=maxiters, return_bounds=True)[1:] for i in images]
        self.check(ours, reference, images)

    def test_minmax_matches_astropy(self, images):
        ours = MinMax().limits(images.reshape(len(images), -1))
        self.check(ours, [MinMaxInterval().get_limits(i) for i in images], images)

    @pytest.mark.parametrize("name", sorted(SCALINGS))
    def test_outputs_are_float32_in_unit_range_with_blanks_zero(self, images, name):
        out = get_scaling(name)(images)
        assert out.dtype == np.float32 and np.isfinite(out).all()
        assert out.min() >= 0 and out.max() <= 1
        if name != "riggi3":
            assert out.shape == images.shape
            assert (out[np.isnan(images)] == 0).all()

    def test_batch_equals_one_image_at_a_time(self, images):
        scaling = ZScale(0.4)
        assert_allclose(scaling(images), np.stack([scaling(i) for i in images]))


class TestLimitsWithBlanks(TestLimits):
    """The same table with NaN blanks: statistics ignore them and they come out as 0."""

    blank = True


def test_zscale_edge_cases_match_astropy():
    rng = np.random.default_rng(1)
    for values in (np.full(50, 3.0), rng.normal(size=4), rng.normal(size=300),
                   np.r_[rng.normal(size=900), np.full(100, 50.0)]):
        ours = ZScale().get_limits(values)
        assert ours == pytest.approx(ZScaleInterval().get_limits(values), rel=1e-6)


def test_dilation_equals_numpy_convolve():
    bad = np.random.default_rng(2).random((5, 200)) < 0.05
    for k in (1, 2, 3, 10, 11):
        expected = np.array([np.convolve(r, np.ones(k, bool), mode="same") for r in bad])
        np.testing.assert_array_equal(batchstats._dilate(bad, k), expected)


# ---------------------------------------------------------------- per field vs per crop
@pytest.mark.parametrize("scaling", [ZScale(), Percentile(2, 99.9), SigmaClip(), MinMax()],
                         ids=repr)
def test_fitted_on_a_field_every_crop_gets_the_field_limits(scaling):
    field = synthetic_sky(n=1, size=256, seed=3)[0]
    crops = np.stack([field[i : i + 64, j : j + 64] for i in (0, 96, 192) for j in (0, 160)])
    scaling.fit(field)
    assert scaling.is_fitted
    assert (scaling.vmin_, scaling.vmax_) == pytest.approx(scaling.get_limits(field))
    expected = np.clip((crops - scaling.vmin_) / (scaling.vmax_ - scaling.vmin_), 0, 1)
    assert_allclose(scaling.transform(crops), expected, atol=1e-6)
    per_crop = scaling(crops)  # __call__: statistics of each crop, fitted state ignored
    assert_allclose(per_crop, type(scaling)(**scaling_args(scaling))(crops))
    assert not np.allclose(per_crop, expected, atol=1e-3)


def scaling_args(scaling):
    return {k: v for k, v in vars(scaling).items() if not k.endswith("_")}


def test_unfitted_transform_is_per_image():
    images = synthetic_sky(n=3)
    assert_allclose(ZScale().transform(images), ZScale()(images))


# ---------------------------------------------------------------- composition
def test_interval_plus_stretch_matches_astropy_composition():
    image = synthetic_sky(n=1)[0]
    ours = (Percentile(1, 99) + S.LogStretch(100)) + S.PowerStretch(0.5)
    assert isinstance(ours, Compose) and len(ours.steps) == 3
    expected = PowerStretch(0.5)(LogStretch(100)(AsymmetricPercentileInterval(1, 99)(image)))
    assert_allclose(ours(image), expected, rtol=1e-5, atol=1e-6)


def test_interval_plus_stretch_is_astropys_stretch_plus_interval():
    # astropy composes right to left: its "stretch + interval" is radiolib's "interval + stretch"
    image = synthetic_sky(n=1)[0]
    astropy_written = LogStretch(100) + AsymmetricPercentileInterval(1, 99)
    assert_allclose((Percentile(1, 99) + S.LogStretch(100))(image), astropy_written(image),
                    rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("wrong", [
    lambda: S.LogStretch(100) + Percentile(1, 99),
    lambda: S.PowerStretch(0.5) + S.ZScale(),
    lambda: Compose(S.LogStretch(), S.PowerStretch(), S.SigmaClip()),
])
def test_stretch_before_interval_is_refused_with_the_order_to_write(wrong):
    with pytest.raises(ConfigError, match=r"left to right.*write .*Stretch"):
        wrong()


def test_repr_shows_the_parameters_only():
    """What error messages and logs print: the constructor's arguments, neither the fitted
    limits nor the wrapped astropy object."""
    assert repr(S.LogStretch(100)) == "LogStretch(a=100)"
    assert repr(S.PowerStretch(0.5)) == "PowerStretch(a=0.5)"
    assert repr(Percentile(1, 99).fit(np.arange(10.0))) == "Percentile(lower=1.0, upper=99.0)"
    with pytest.raises(ConfigError, match=r"write Percentile\(lower=1.0, upper=99.0\) \+ "
                                          r"LogStretch\(a=100\) "):
        S.LogStretch(100) + Percentile(1, 99)


def test_stretches_may_follow_each_other_after_an_interval():
    assert len((S.MinMax() + S.LogStretch() + S.PowerStretch()).steps) == 3


def test_compose_fits_its_interval_on_the_field():
    field = synthetic_sky(n=1, size=128, seed=4)[0, :127, :125]  # an odd number of pixels
    scaling = get_scaling("log").fit(field)
    assert scaling.is_fitted and scaling.steps[0].vmin_ == pytest.approx(field.min())
    crop = field[:32, :32]
    expected = LogStretch(1000)(np.clip((crop - field.min()) / np.ptp(field), 0, 1))
    assert_allclose(scaling.transform(crop), expected, rtol=1e-5, atol=1e-6)


def test_compose_fits_each_step_on_the_fitted_output_of_the_steps_before():
    """Fields above ``max_fit_pixels`` (mosaics of 67 M pixels) are fitted on a strided sample:
    the next step is then fitted on the field as the first step's *stored* limits scale it,
    not on limits recomputed from every pixel."""
    field = synthetic_sky(n=1, size=100, seed=16)[0]

    def first():
        step = Percentile(5, 95)
        step.max_fit_pixels = 500  # every 20th pixel
        return step

    scaling = Compose(first(), Percentile(10, 90)).fit(field)
    alone = first().fit(field)
    second = Percentile(10, 90).fit(alone.transform(field))
    assert (scaling.steps[1].vmin_, scaling.steps[1].vmax_) == (second.vmin_, second.vmax_)
    every_pixel = Percentile(10, 90).fit(Percentile(5, 95)(field))
    assert scaling.steps[1].vmax_ != pytest.approx(every_pixel.vmax_, rel=1e-3)


# ---------------------------------------------------------------- riggi3
def test_riggi3_shape_dtype_and_size():
    images = synthetic_sky(n=3, size=150)
    assert riggi3()(images[0]).shape == (3, 224, 224)
    out = riggi3(size=64)(images)
    assert out.shape == (3, 3, 64, 64) and out.dtype == np.float32
    assert 0 <= out.min() and out.max() <= 1


def test_riggi3_channels_are_min_max_normalised_before_resize():
    out = Stack(*riggi3().channels)(synthetic_sky(n=2))
    assert_allclose(out.min(axis=(2, 3)), 0, atol=1e-7)
    assert_allclose(out.max(axis=(2, 3)), 1, atol=1e-6)


@pytest.mark.parametrize("size", [None, 224])
def test_riggi3_matches_the_per_tile_astropy_pipeline(size):
    tiles = real_tiles(n=3)
    tiles = synthetic_sky(n=3, size=128) if tiles is None else tiles
    tiles[0, :10] = np.nan
    scaling = riggi3() if size else Stack(*riggi3().channels)
    expected = np.stack([astropy_riggi3(t, size) for t in tiles])
    # 2e-5: the float32 statistics; RESIZE_ATOL more once resized
    assert_allclose(scaling(tiles), expected, rtol=0, atol=2e-5 + (RESIZE_ATOL if size else 0))


@pytest.mark.parametrize(("shape", "size"), [((256, 256), 224), ((40, 50), 32), ((20, 20), 48),
                                             ((33, 17), 64)], ids=str)
def test_resize_matches_scipy_bilinear(shape, size):
    """`resize` (banner tiles, riggi3) is the half-pixel bilinear resize without anti-aliasing."""
    x = np.random.default_rng(sum(shape)).random((2, *shape)).astype(np.float32)
    assert_allclose(resize(x, size), scipy_resize(x, size), rtol=0, atol=RESIZE_ATOL)
    stack = Stack(MinMax(), size=size, minmax=False)  # riggi3's resize, on [0, 1] images
    assert_allclose(stack(x)[:, 0], scipy_resize(MinMax()(x), size), rtol=0, atol=RESIZE_ATOL)


def test_riggi3_batches_across_chunks_like_single_images():
    images = synthetic_sky(n=S._CHUNK + 3, size=24, seed=5)
    images[S._CHUNK + 1] = np.nan  # an all-blank image
    scaling = riggi3(size=16)
    batch = scaling(images)
    assert_allclose(batch, np.stack([scaling(i) for i in images]), atol=1e-6)
    assert (batch[S._CHUNK + 1] == 0).all()


def test_riggi3_per_field_uses_field_statistics_per_channel():
    field = synthetic_sky(n=1, size=256, seed=6)[0]
    scaling = riggi3(size=32).fit(field)
    assert [c.vmin_ for c in scaling.channels] == pytest.approx(
        [c.get_limits(field)[0] for c in scaling.channels])
    crops = np.stack([field[:64, :64], field[100:164, 100:164]])
    assert not np.allclose(scaling.transform(crops), scaling(crops), atol=1e-3)


@pytest.mark.parametrize("image", [np.full((16, 16), 2.0), np.full((16, 16), np.nan)],
                         ids=["constant", "all-nan"])
@pytest.mark.parametrize("name", sorted(SCALINGS))
def test_constant_and_blank_images_give_zeros(image, name):
    assert (get_scaling(name)(image) == 0).all()


# ---------------------------------------------------------------- names and errors
def test_registry_holds_both_papers_scalings():
    assert {"sigmaclip", "zscale", "contrast", "log", "power", "minmax", "riggi3"} <= set(SCALINGS)


def test_unknown_name_lists_the_valid_ones():
    with pytest.raises(ConfigError, match="unknown scaling 'zscal'; choose one of contrast, log"):
        get_scaling("zscal")


@pytest.mark.parametrize(("name", "kwargs", "match"), [
    ("zscale", {"contrast": 0}, r"contrast must be in \(0, 1\]"),
    ("zscale", {"n_samples": 3}, "n_samples must be >= 10"),
    ("contrast", {"lower": 98, "upper": 2}, "need 0 <= lower < upper <= 100"),
    ("sigmaclip", {"sigma_lower": -5}, "must be > 0"),
    ("sigmaclip", {"maxiters": 0}, "maxiters must be >= 1"),
    ("log", {"a": 0}, "a must be > 0"),
    ("riggi3", {"contrasts": (0.25,)}, "two zscale contrasts"),
    ("riggi3", {"size": 0}, "size must be a positive int"),
    ("minmax", {"contrast": 0.3}, "bad keyword arguments"),
])
def test_bad_arguments_explain_themselves(name, kwargs, match):
    with pytest.raises(ConfigError, match=match):
        get_scaling(name, **kwargs)
    if name != "minmax":
        with pytest.raises(ValueError, match=match):
            SCALINGS[name](**kwargs)


@pytest.mark.parametrize("shape", [(10,), (0, 8, 8), (2, 2, 8, 8)])
def test_wrong_input_shape(shape):
    with pytest.raises(ValueError, match=r"expected an image \(H, W\) or a batch"):
        ZScale()(np.zeros(shape))


@pytest.mark.parametrize("name", sorted(SCALINGS))
def test_infinite_pixels_are_ignored_by_statistics_and_clipped(name):
    image = synthetic_sky(n=1, size=64, seed=7)[0]
    dirty = image.copy()
    dirty[0, 0], dirty[0, 1] = np.inf, -np.inf
    out, clean = get_scaling(name)(dirty), get_scaling(name)(np.where(np.isinf(dirty), np.nan,
                                                                      dirty))
    assert np.isfinite(out).all() and 0 <= out.min() and out.max() <= 1
    if name != "riggi3":
        assert_allclose(out.ravel()[2:], clean.ravel()[2:], atol=1e-6)
        assert out[0, 0] == 1 and out[0, 1] == 0


def test_resize_of_8bit_stacks_in_blocks_equals_one_float_pass(monkeypatch):
    import torch
    import torch.nn.functional as F

    images = np.random.default_rng(4).integers(0, 256, (7, 2, 30, 30)).astype(np.uint8)
    ref = F.interpolate(torch.from_numpy(images.reshape(-1, 1, 30, 30).astype(np.float32)),
                        size=(12, 12), mode="bilinear", align_corners=False,
                        antialias=True).numpy().reshape(7, 2, 12, 12)
    monkeypatch.setattr("radiolib.batchstats._RESIZE_BLOCK", 2000)  # two images per block
    out = resize(images, 12, antialias=True)
    assert out.dtype == np.float32 and out.shape == (7, 2, 12, 12)
    np.testing.assert_array_equal(out, ref)
    np.testing.assert_array_equal(resize(images[0, 0], 12, antialias=True), ref[0, 0])
    assert resize(images, 30).dtype == np.float32  # same size: as float32
    assert resize(images[:0], 12).shape == (0, 2, 12, 12)  # an empty stack


# ---------------------------------------------------------------- edges found by `make mutate`
def test_defaults_are_the_papers_and_astropys():
    """Percentile 2-98 (Lastufka et al.), sigma clip 5/30 with 5 iterations and riggi3's
    channels (Riggi et al.), ZScale as astropy's ZScaleInterval, stretches log 1000 and sqrt."""
    assert (Percentile().lower, Percentile().upper) == (2.0, 98.0)
    clip = SigmaClip()
    assert (clip.sigma_lower, clip.sigma_upper, clip.maxiters) == (5.0, 30.0, 5)
    first = riggi3().channels[0]
    assert (first.sigma_lower, first.sigma_upper) == (5.0, 30.0)
    custom = riggi3(sigma_lower=3.0, sigma_upper=20.0).channels[0]
    assert (custom.sigma_lower, custom.sigma_upper) == (3.0, 20.0)
    astropy = ZScaleInterval()
    ours = ZScale()
    assert (ours.contrast, ours.n_samples, ours.max_reject, ours.min_npixels, ours.krej,
            ours.max_iterations) == (astropy.contrast, astropy.n_samples, astropy.max_reject,
                                     astropy.min_npixels, astropy.krej, astropy.max_iterations)
    image = synthetic_sky(n=1, size=32, seed=8)[0]
    unit = MinMaxInterval()(image)
    assert_allclose(get_scaling("power")(image), PowerStretch(0.5)(unit), rtol=1e-5, atol=1e-6)
    assert_allclose(get_scaling("log")(image), LogStretch(1000)(unit), rtol=1e-5, atol=1e-6)
    assert repr(Percentile(2, 99.9)) == "Percentile(lower=2.0, upper=99.9)"
    assert repr(MinMax().fit(image)) == "MinMax()"  # fitted limits are not parameters


def test_zscale_passes_its_fit_parameters():
    image = synthetic_sky(n=1, size=64, seed=9)[0]
    kwargs = dict(n_samples=50, max_reject=0.2, min_npixels=20, krej=1.5, max_iterations=2)
    ours = ZScale(0.3, **kwargs).get_limits(image)
    assert ours == pytest.approx(ZScaleInterval(contrast=0.3, **kwargs).get_limits(image),
                                 rel=1e-5)


@pytest.mark.parametrize("build", [
    lambda: Percentile(0, 100), lambda: SigmaClip(5.0, 0.5), lambda: SigmaClip(0.5, 30),
    lambda: S.LogStretch(0.5), lambda: S.PowerStretch(0.1), lambda: ZScale(1.0),
    lambda: ZScale(n_samples=10), lambda: ZScale(max_reject=1.0), lambda: ZScale(krej=0.5),
    lambda: ZScale(max_iterations=1), lambda: Stack(MinMax(), size=1), lambda: Compose(MinMax()),
], ids=lambda f: "")
def test_smallest_valid_parameters_are_accepted(build):
    assert isinstance(build(), S.Scaling)


@pytest.mark.parametrize(("build", "match"), [
    (lambda: Percentile(5, 5), "lower < upper"), (lambda: Percentile(0, 100.5), "upper <= 100"),
    (lambda: SigmaClip(5, 0), "must be > 0"), (lambda: SigmaClip(0, 30), "must be > 0"),
    (lambda: S.LogStretch(0), "a must be > 0"), (lambda: S.PowerStretch(0), "a must be > 0"),
    (lambda: ZScale(1.5), "contrast"), (lambda: ZScale(max_reject=0), "max_reject"),
    (lambda: ZScale(max_reject=1.5), "max_reject"), (lambda: ZScale(krej=0), "krej"),
    (lambda: ZScale(max_iterations=0), "max_iterations"),
    (lambda: Stack(), "^Stack needs one or more Interval channels$"),
    (lambda: Stack(MinMax(), S.LogStretch()), "Interval channels"),
    (lambda: Compose(), "^Compose needs one or more Scaling steps$"),
    (lambda: Compose(MinMax(), "log"), "Scaling steps"),
])
def test_invalid_parameters_are_rejected(build, match):
    with pytest.raises(ValueError, match=match):
        build()


def test_equal_fitted_limits_give_zeros_not_a_step():
    """A field of one value has vmin = vmax: every crop scales to 0 (scale 0, not 1/0 or 1)."""
    crops = np.array([[[0.0, 1.0], [2.0, 3.0]]], np.float32)
    flat = MinMax().fit(np.ones(10))
    assert (flat.transform(crops) == 0).all()
    stack = Stack(MinMax(), size=None, minmax=False).fit(np.ones(10))
    assert (stack.transform(crops) == 0).all()


def test_stretches_clip_their_input_to_the_unit_range():
    x = np.array([[2.0, -1e-4, 0.5]], np.float32)
    log_half = np.log(1000 * 0.5 + 1) / np.log(1001)
    assert_allclose(S.LogStretch()(x), [[1.0, 0.0, log_half]], rtol=1e-6)
    assert_allclose(S.PowerStretch()(x), [[1.0, 0.0, np.sqrt(0.5)]], rtol=1e-6)


def test_fit_samples_fields_above_max_fit_pixels_with_a_stride():
    scaling = MinMax()
    scaling.max_fit_pixels = 100
    scaling.fit(np.arange(1000, dtype=np.float32))
    assert (scaling.vmin_, scaling.vmax_) == (0.0, 990.0)  # every 10th pixel


def test_batches_longer_than_a_chunk_equal_one_image_at_a_time():
    images = synthetic_sky(n=S._CHUNK + 3, size=16, seed=10)
    for scaling in (ZScale(0.4), Percentile(1, 99)):
        assert_allclose(scaling(images), np.stack([scaling(i) for i in images]), atol=1e-6)


def test_stack_ignores_infinite_pixels_in_its_statistics():
    """As the single-channel scalings: +-inf is left out of the limits, then clipped."""
    image = synthetic_sky(n=1, size=48, seed=11)[0]
    dirty = image.copy()
    dirty[0, 0] = np.inf
    clean = np.where(np.isinf(dirty), np.nan, dirty)
    scaling = Stack(*riggi3().channels)
    assert_allclose(scaling(dirty).reshape(3, -1)[:, 1:], scaling(clean).reshape(3, -1)[:, 1:],
                    atol=1e-6)


def test_a_stack_inside_a_composition_scales_as_on_its_own():
    images = synthetic_sky(n=2, size=32, seed=12)
    stack = Stack(SigmaClip(), ZScale(0.25), size=None)
    assert_allclose(Compose(stack)(images), stack(images), atol=1e-6)
    field = images[0]
    assert_allclose(MinMax().fit_transform(field), MinMax().fit(field).transform(field))


@pytest.mark.parametrize("name", sorted(SCALINGS))
def test_blank_infinite_and_constant_images_raise_no_numpy_warnings(name):
    """Blanks, +-inf and constant images are expected input (mosaic edges, masked sources):
    they are handled without RuntimeWarnings (inf - inf, inf x 0, 1 / 0) reaching the user."""
    images = synthetic_sky(n=3, size=24, seed=13)
    images[0, 0, 0], images[0, 0, 1] = np.inf, -np.inf
    images[1] = 5.0
    images[1, 3, 3] = np.inf
    images[2, 0, 0] = np.nan
    scaling = get_scaling(name)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        per_crop = scaling(images)
        fitted = scaling.fit(images[1]).transform(images)  # a constant field: vmin = vmax
    assert np.isfinite(per_crop).all() and np.isfinite(fitted).all()


@pytest.mark.parametrize("name", ["minmax", "contrast", "zscale"])
def test_pixels_whose_sum_overflows_float32_raise_no_warning(name):
    """The NaN pre-check sums each row in float32; very bright pixels overflow that sum,
    which only sends the row to the slower path, silently."""
    images = synthetic_sky(n=2, size=24, seed=14)
    images[0, :2] = 1e37  # 48 of them sum past float32's 3.4e38
    images[1, 0, 0] = np.nan
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = get_scaling(name)(images)
    assert np.isfinite(out).all()


@pytest.mark.parametrize("name", sorted(SCALINGS))
@pytest.mark.parametrize("dtype", [np.float64, np.int16])
def test_output_is_float32_for_any_input_dtype(name, dtype):
    """Scaled tiles are float32 (what the models take) whatever the field's dtype, with the
    values of the float32 input."""
    images = (synthetic_sky(n=2, size=24, seed=15) * 1e4).astype(dtype)
    out = get_scaling(name)(images)
    assert out.dtype == np.float32
    assert_allclose(out, get_scaling(name)(images.astype(np.float32)), atol=1e-6)
