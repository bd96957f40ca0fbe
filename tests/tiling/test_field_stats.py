"""Field statistics stored in a TileSet against numpy/astropy on the whole field.

The references below never call `radiolib.tiling.stats` or `radiolib.scaling`: they recompute
each stored number from the FITS pixels with numpy and astropy, so a wrong preset (e.g. the
2-98 percentile limits replaced by 10-90) or a statistic of the wrong pixels fails here.
"""

from __future__ import annotations

import numpy as np
import pytest
from astropy.io import fits
from astropy.stats import sigma_clip
from astropy.visualization import ZScaleInterval

from radiolib.scaling import FIELD_LIMITS, fitted_scaling
from radiolib.tiling import TileSet, tile_fits

#: float32 pixels: numpy's percentile of float32 and of float64 copies of the same values, and
#: sums in another order, agree to about 1e-7 relative; 1e-5 leaves room and still separates
#: every preset from its neighbours (2-98 vs 10-90 differ by ~40 % of the span here).
RTOL = 1e-5


@pytest.fixture
def field(tmp_path_factory):
    """A 300 x 360 field: noise, bright and extended sources, a NaN border; its pixels.

    Function-scoped (0.3 s): mutmut maps a function to the tests that call it, and a shared
    fixture's calls would count for the first test only.
    """
    rng = np.random.default_rng(11)
    ny, nx = 300, 360
    data = rng.normal(2e-5, 1e-4, (ny, nx))
    yy, xx = np.mgrid[:ny, :nx]
    for x0, y0, flux, width in rng.uniform([0, 0, 1e-3, 1], [nx, ny, 0.05, 10], (15, 4)):
        data += flux * np.exp(-((xx - x0) ** 2 + (yy - y0) ** 2) / (2 * width**2))
    data[:20] = np.nan
    data[:, -25:] = np.nan
    data = data.astype(np.float32)
    header = fits.Header({"CTYPE1": "RA---SIN", "CTYPE2": "DEC--SIN", "CRVAL1": 150.0,
                          "CRVAL2": -30.0, "CRPIX1": nx / 2, "CRPIX2": ny / 2,
                          "CDELT1": -2 / 3600, "CDELT2": 2 / 3600, "BUNIT": "Jy/beam"})
    path = tmp_path_factory.mktemp("field") / "field.fits"
    fits.PrimaryHDU(data, header).writeto(path)
    tile_fits(path, "hulk", out_dir=path.parent / "ts", size=64)
    stored = TileSet.open(path.parent / "ts").fields["field"]  # as read back from fields.json
    return stored, data


def finite(data: np.ndarray) -> np.ndarray:
    """The finite pixels in row-major order, as float64."""
    return data[np.isfinite(data)].astype(np.float64)


def test_stored_limits_are_those_of_the_whole_field(field):
    stored, data = field
    values = finite(data)
    clipped, low, high = sigma_clip(values, sigma_lower=5, sigma_upper=30, maxiters=5,
                                    return_bounds=True)
    expected = {
        "minmax": [values.min(), values.max()],
        "contrast_2_98": np.percentile(values, [2, 98]),
        "contrast_2_99.9": np.percentile(values, [2, 99.9]),
        # astropy samples the flattened pixels it is given: the field's finite ones, in order
        "zscale_0.25": ZScaleInterval(contrast=0.25).get_limits(values),
        "zscale_0.4": ZScaleInterval(contrast=0.4).get_limits(values),
        "sigmaclip_5_30": [low, high],
    }
    assert set(stored["limits"]) == set(FIELD_LIMITS) == set(expected)
    for key, (lo, hi) in expected.items():
        assert stored["limits"][key] == pytest.approx([lo, hi], rel=RTOL), key
    # the presets are far apart at this tolerance: 10-90 would not pass for 2-98
    assert not np.allclose(np.percentile(values, [10, 90]), stored["limits"]["contrast_2_98"],
                           rtol=100 * RTOL)


def test_stored_statistics_are_those_of_the_whole_field(field):
    stored, data = field
    stats, values = stored["stats"], finite(data)
    assert stats["n_sample"] == values.size  # every finite pixel (field below stats_pixels)
    assert isinstance(stats["n_sample"], int)
    assert stats["nan_fraction"] == pytest.approx(np.isnan(data).mean(), rel=1e-12)
    for name, expected in (("mean", values.mean()), ("std", values.std()),
                           ("min", values.min()), ("max", values.max()),
                           ("median", np.median(values))):
        assert stats[name] == pytest.approx(expected, rel=RTOL), name
    for q in (0.5, 1, 2, 50, 98, 99, 99.5, 99.9):
        assert stats[f"p{q:g}"] == pytest.approx(np.percentile(values, q), rel=RTOL), q
    # MAD noise as documented (1.4826 MAD, sources beyond 3 MAD clipped once, MAD again)
    mad = 1.4826 * np.median(np.abs(values - np.median(values)))
    kept = values[np.abs(values - np.median(values)) <= 3 * mad]
    noise = 1.4826 * np.median(np.abs(kept - np.median(kept)))
    assert stats["noise_mad"] == pytest.approx(noise, rel=RTOL)
    assert stats["noise_mad"] == pytest.approx(1e-4, rel=0.1)  # the noise put in (+ wings)
    # median and std of the 5/30 sigma-clipped pixels
    clipped = sigma_clip(values, sigma_lower=5, sigma_upper=30, maxiters=5).compressed()
    assert stats["sigmaclip_median"] == pytest.approx(np.median(clipped), rel=RTOL)
    assert stats["sigmaclip_std"] == pytest.approx(clipped.std(), rel=RTOL)


def test_fitted_scaling_is_the_preset_set_to_the_stored_limits(field):
    from radiolib.scaling import Percentile, SigmaClip, ZScale

    stored, data = field
    for key, cls, params in [("contrast_2_99.9", Percentile, {"lower": 2.0, "upper": 99.9}),
                             ("zscale_0.4", ZScale, {"contrast": 0.4}),
                             ("sigmaclip_5_30", SigmaClip, {"sigma_lower": 5.0,
                                                            "sigma_upper": 30.0})]:
        scaling = fitted_scaling(stored, key)
        assert isinstance(scaling, cls) and [scaling.vmin_, scaling.vmax_] == \
            stored["limits"][key]
        assert {k: getattr(scaling, k) for k in params} == params  # per-crop use: same preset
    with pytest.raises(KeyError, match=r"unknown field limits 'contrast_10_90'; stored: minmax"):
        fitted_scaling(stored, "contrast_10_90")
    for blank in ({"name": "empty", "limits": {}}, {"name": "empty"}):
        with pytest.raises(KeyError, match="field 'empty' has no finite pixels"):
            fitted_scaling(blank, "minmax")


def test_blank_and_extreme_samples():
    """No finite pixel: no statistics, no limits. Statistics that overflow are stored as None,
    so fields.json stays strict JSON."""
    import json

    from radiolib.tiling import field_statistics

    for blank in (np.full(5, np.nan, np.float32), np.zeros(0, np.float32)):
        assert field_statistics(blank) == {"stats": {"n_sample": 0, "nan_fraction": 1.0},
                                           "limits": {}}
    one = field_statistics(np.array([np.nan, 2.0, np.nan, np.nan], np.float32))
    assert one["stats"]["n_sample"] == 1 and one["stats"]["nan_fraction"] == 0.75
    assert one["limits"]["minmax"] == [2.0, 2.0]
    with np.errstate(over="ignore"):
        extreme = field_statistics(np.array([-3e38, 3e38, 0.0, 1.0], np.float32))
    assert extreme["limits"]["sigmaclip_5_30"] == [None, None]  # m + 30 s overflows float32
    assert extreme["stats"]["sigmaclip_median"] is None
    json.dumps(extreme, allow_nan=False)
