import numpy as np
import pytest

from radiolib.sky import plan_field
from radiolib.sky.instrument import Artefact, correlated_noise, render_artefact


@pytest.fixture(scope="module")
def plan():
    return plan_field("smgps", size=(512, 640), seed=9, dqf=0)


def test_noise_has_the_preset_rms_times_the_local_factor(plan):
    noise = correlated_noise(plan.seed, plan.maps, plan.kernel, plan.preset.rms, 0, 512, 640)
    factor = plan.maps.rows("factor", 0, 512, 0, 640)
    assert np.std(noise / factor) == pytest.approx(plan.preset.rms, rel=0.05)


def test_noise_is_beam_correlated(plan):
    n = correlated_noise(plan.seed, plan.maps, plan.kernel, 1.0, 0, 256, 640).astype(float)
    lag1 = np.corrcoef(n[:, :-1].ravel(), n[:, 1:].ravel())[0, 1]
    lag20 = np.corrcoef(n[:, :-20].ravel(), n[:, 20:].ravel())[0, 1]
    beam_px = plan.preset.beam[0] / plan.pixel_scale  # 5.3 px FWHM: lag-1 correlation ~0.9
    assert lag1 == pytest.approx(np.exp(-4 * np.log(2) / beam_px**2 / 2), abs=0.03)
    assert abs(lag20) < 0.05


def test_noise_does_not_depend_on_the_strips(plan):
    whole = correlated_noise(plan.seed, plan.maps, plan.kernel, 1.0, 0, 200, 640)
    parts = [correlated_noise(plan.seed, plan.maps, plan.kernel, 1.0, a, b, 640)
             for a, b in ((0, 63), (63, 130), (130, 200))]
    np.testing.assert_allclose(np.concatenate(parts), whole, atol=1e-5)


def test_nan_border_follows_the_map(plan):
    from radiolib.sky import render_rows

    img, seg = render_rows(plan, 0, 512)
    yy, xx = np.mgrid[0:512:7, 0:640:7]
    valid = plan.maps.valid(xx.ravel(), yy.ravel()).reshape(xx.shape)
    assert np.mean(np.isfinite(img[::7, ::7]) == valid) > 0.995
    assert (seg[np.isnan(img)] == 0).all()


def test_artefact_ripples_are_signed_and_tapered():
    a = Artefact(parent=1, x=100.3, y=80.7, amp=1.0, wavelength=20.0, spokes=6, contrast=0.8,
                 phase=0.0, spoke_phase=0.3, core=6.0, radius=150)
    stamp, x0, y0 = render_artefact(a)
    assert stamp.shape == (301, 301) and (x0, y0) == (100 - 150, 81 - 150)
    assert stamp.min() < -0.1 and stamp.max() > 0.1
    assert abs(stamp[150, 150]) < 0.01  # (almost) no artefact on the source itself
    assert np.abs(stamp[[0, -1], :]).max() < 1e-3  # tapered to 0 at the stamp edge
