from pathlib import Path

import numpy as np
import pytest

from radiolib.io import read_fits
from radiolib.sky import field_stats

REAL_FIELDS = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "real_fields"


def test_white_noise_statistics():
    rng = np.random.default_rng(0)
    s = field_stats(rng.normal(0, 2e-4, (1024, 1024)).astype(np.float32))
    assert s["rms"] == pytest.approx(2e-4, rel=0.02)
    assert s["rms_variation"] < 0.05
    assert s["quantiles"][0.5] == pytest.approx(0, abs=0.01)
    assert s["quantiles"][0.99] == pytest.approx(2.326, abs=0.05)
    assert s["negative_fraction"] == pytest.approx(0.00135, abs=0.0004)
    assert s["n_bright"] == 0 and np.isnan(s["ripple_negative_fraction"])


def test_simulated_field_statistics(emu_field, emu_data):
    s = field_stats(emu_data, beam_px=6.0, pixel_scale=2.0)
    assert s["nan_fraction"] == pytest.approx(np.isnan(emu_data).mean())
    assert 0.8 < s["rms"] / emu_field.header["NOISE"] < 1.6
    assert s["n_sources"] > 100 and s["source_density_deg2"] > 300
    assert s["n_bright"] > 0 and s["quantiles"][0.999] > 5


@pytest.mark.parametrize("name", ["ScorpioS17Field.fits", "P205+55-mosaic.fits"])
def test_real_fields(name):
    path = REAL_FIELDS / name
    if not path.exists():
        pytest.skip(f"{path} is not available")
    image = read_fits(path)
    s = field_stats(image.data, beam_px=image.beam.bmaj / image.pixel_scale,
                    pixel_scale=image.pixel_scale)
    assert s["rms"] > 0 and s["n_sources"] > 0 and s["nan_fraction"] == 0
    if name.startswith("Scorpio"):  # sidelobe artefacts: far more negative pixels than noise
        assert s["negative_fraction"] > 3 * 0.00135
