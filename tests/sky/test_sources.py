import numpy as np
import pytest

from radiolib.sky.instrument import beam_covariance, beam_kernel_for
from radiolib.sky.render import render_model
from radiolib.sky.sources import MORPHOLOGIES, make_source

BEAM = beam_covariance(8.0, 6.0, 30.0, 1.5)
BEAM_AREA = 2 * np.pi * np.sqrt(BEAM[0] * BEAM[2] - BEAM[1] ** 2)  # pixels per beam


@pytest.mark.parametrize("name", sorted(MORPHOLOGIES))
def test_model_is_finite_and_conserves_flux(name):
    rng = np.random.default_rng(3)
    model = make_source(name, rng, 300.0, 300.0, 0.01, 80.0)
    assert model.n_components >= 1
    assert np.all(np.isfinite(model.comps)) and np.all(model.comps[:, 2] >= 0)
    total = model.comps[:, 2].sum() + model.textures[:, 3].sum()
    assert total == pytest.approx(0.01, rel=1e-9)
    half = beam_kernel_for(BEAM).shape[0] // 2
    stamp, _, _ = render_model(model.comps, model.textures, BEAM, 1e-9, half)
    # Jy/beam summed over pixels / (pixels per beam) = Jy
    assert stamp.sum(dtype=float) / BEAM_AREA == pytest.approx(0.01, rel=0.03)


def test_point_source_peaks_at_its_flux():
    model = make_source("compact", np.random.default_rng(0), 10.0, 20.0, 0.5, 0.0)
    stamp, x0, y0 = render_model(model.comps, model.textures, BEAM, 1e-9, 10)
    assert stamp.max() == pytest.approx(0.5, rel=1e-6)
    assert (np.argmax(stamp) % stamp.shape[1] + x0, np.argmax(stamp) // stamp.shape[1] + y0) \
        == (10, 20)


def test_models_are_reproducible():
    a = make_source("frii", np.random.default_rng(5), 0.0, 0.0, 1.0, 100.0)
    b = make_source("frii", np.random.default_rng(5), 0.0, 0.0, 1.0, 100.0)
    np.testing.assert_array_equal(a.comps, b.comps)
