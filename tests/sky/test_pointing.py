"""Pointing-level draws follow the preset's configured distributions (seeded, many draws)."""

import dataclasses

import numpy as np
import pytest
from scipy import stats

from radiolib.sky import PRESETS, plan_field
from radiolib.sky.pointing import draw_pointing
from radiolib.sky.population import density_grid

N_DRAWS = 3000
# The seeds are fixed, so each test is deterministic; P_MIN is the level at which a KS or chi²
# test rejects. Each test also checks that the same statistic rejects a distribution 30 % off
# (its power at N_DRAWS), so a wrong sampler could not pass by the test being too lenient.
P_MIN = 1e-3


@pytest.fixture(scope="module", params=sorted(PRESETS))
def draws(request):
    preset = PRESETS[request.param]
    return preset, [draw_pointing(preset, seed) for seed in range(N_DRAWS)]


def _ks(values, sigma, mean=0.0):
    return stats.kstest(values, stats.norm(mean, sigma).cdf).pvalue


def test_depth_is_log_normal_with_the_configured_sigma(draws):
    preset, pts = draws
    sigma = preset.variation.rms_sigma_ln
    log_depth = np.log([p.depth for p in pts])
    assert _ks(log_depth, sigma) > P_MIN
    assert _ks(log_depth, 1.3 * sigma) < P_MIN and _ks(log_depth, 0.7 * sigma) < P_MIN


def test_rms_is_the_median_times_depth_times_the_dqf_factor(draws):
    preset, pts = draws
    for p in pts[:200]:
        assert p.rms == pytest.approx(preset.rms * p.depth * preset.variation.dqf_noise[p.dqf])
    assert np.median([p.depth for p in pts]) == pytest.approx(1.0, abs=0.03)


def test_dqf_frequencies_follow_the_preset(draws):
    preset, pts = draws
    observed = np.bincount([p.dqf for p in pts], minlength=4)
    probs = np.asarray(preset.dqf_probs)
    assert observed[probs == 0].sum() == 0  # a flag the preset never gives is never drawn
    possible = probs > 0
    assert stats.chisquare(observed[possible], probs[possible] * N_DRAWS).pvalue > P_MIN
    wrong = (probs[::-1] + 0.25) / 2 * N_DRAWS  # another flag distribution, none impossible
    assert stats.chisquare(observed, wrong).pvalue < P_MIN


def test_density_and_richness_are_log_normal_with_mean_one(draws):
    preset, pts = draws
    for values, sigma in (([p.density for p in pts], preset.variation.density_sigma_ln),
                          ([p.richness for p in pts], preset.cluster.richness_sigma_ln
                           if preset.cluster else 0.0)):
        if sigma == 0:
            assert set(values) == {1.0}
            continue
        logs = np.log(values)
        assert _ks(logs, sigma, -0.5 * sigma**2) > P_MIN
        assert _ks(logs, 1.3 * sigma, -0.5 * (1.3 * sigma) ** 2) < P_MIN
        assert np.mean(values) == pytest.approx(1.0, abs=4 * sigma / np.sqrt(N_DRAWS))


def test_a_forced_dqf_changes_the_noise_not_the_sky():
    quiet = plan_field("mgcls", size=512, seed=4, dqf=0)
    poor = plan_field("mgcls", size=512, seed=4, dqf=3)
    dqf_noise = quiet.preset.variation.dqf_noise
    assert poor.rms / quiet.rms == pytest.approx(dqf_noise[3] / dqf_noise[0])
    np.testing.assert_array_equal(quiet.points["x"], poor.points["x"])
    np.testing.assert_array_equal(quiet.points["flux"], poor.points["flux"])
    assert quiet.header["NOISE"] == pytest.approx(quiet.rms)
    assert poor.header["DQF"] == 3 and quiet.header["DENSFAC"] == poor.header["DENSFAC"]


def test_pointings_differ_in_depth_and_density():
    plans = [plan_field("mgcls", size=256, seed=s) for s in range(8)]
    assert len({round(p.rms, 12) for p in plans}) == 8
    assert len({p.header["DENSFAC"] for p in plans}) == 8


def test_density_grid_has_mean_one_and_the_configured_log_spread():
    rng = np.random.default_rng(0)
    grid = density_grid(rng, (4096, 4096), 1.5, 0.25, 5.0)
    assert grid.mean() == pytest.approx(1.0, abs=1e-9)  # whole cells only: plain mean
    assert np.std(np.log(grid)) == pytest.approx(0.25, rel=0.05)
    flat = density_grid(rng, (1000, 1000), 1.5, 0.0, 5.0)
    np.testing.assert_allclose(flat, 1.0)


def test_clustering_keeps_the_number_of_sources():
    base = PRESETS["emupilot"]
    flat = dataclasses.replace(base, variation=dataclasses.replace(
        base.variation, clustering_sigma_ln=0.0, density_sigma_ln=0.0))
    lumpy = dataclasses.replace(flat, variation=dataclasses.replace(
        flat.variation, clustering_sigma_ln=0.8))
    n_flat = [plan_field(flat, size=1024, seed=s).points["x"].size for s in range(4)]
    n_lumpy = [plan_field(lumpy, size=1024, seed=s).points["x"].size for s in range(4)]
    assert np.mean(n_lumpy) == pytest.approx(np.mean(n_flat), rel=0.05)
