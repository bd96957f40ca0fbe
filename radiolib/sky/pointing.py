"""Draw what sets one simulated pointing apart: depth, data-quality flag, density, richness.

`draw_pointing` uses its own random stream, ``SeedSequence(seed, spawn_key=(11,))``, so the
pointing-level draws of a seed do not depend on how many sources the field then draws, and a
forced DQF changes the noise and artefacts but not the sky. The distributions are the
preset's `radiolib.sky.presets.Variation` (and `ClusterSpec.richness_sigma_ln`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from radiolib.sky.presets import SkyPreset

__all__ = ["Pointing", "draw_pointing", "pointing_rng"]


@dataclass(frozen=True)
class Pointing:
    """One pointing's draws: rms (Jy/beam at the centre), DQF, density and richness factors."""

    rms: float
    dqf: int
    depth: float
    density: float
    richness: float

    def header_cards(self) -> list[tuple]:
        """FITS cards recording the draws (the rms goes in ``NOISE``, the flag in ``DQF``)."""
        return [("DEPTHFAC", self.depth, "pointing rms / preset median (before DQF)"),
                ("DENSFAC", self.density, "pointing source density / preset density"),
                ("RICHFAC", self.richness, "cluster richness / preset mean")]


def pointing_rng(seed: int) -> np.random.Generator:
    """Return the random stream of a seed's pointing-level draws."""
    return np.random.default_rng(np.random.SeedSequence(int(seed), spawn_key=(11,)))


def _lognormal_mean_one(rng, sigma: float) -> float:
    return float(np.exp(rng.normal(-0.5 * sigma**2, sigma))) if sigma > 0 else 1.0


def draw_pointing(preset: SkyPreset, seed: int, dqf: int | None = None) -> Pointing:
    """Draw a pointing of ``preset`` from ``seed``; ``dqf`` forces the flag (0-3).

    The draws are made in a fixed order whatever ``dqf`` says: DQF, depth, density, richness.
    """
    if dqf is not None and (isinstance(dqf, bool) or dqf not in range(4)):
        raise ValueError(f"dqf must be 0, 1, 2 or 3, got {dqf!r}")
    rng = pointing_rng(seed)
    v = preset.variation
    drawn = int(rng.choice(4, p=preset.dqf_probs))
    flag = drawn if dqf is None else int(dqf)
    depth = float(np.exp(rng.normal(0.0, v.rms_sigma_ln))) if v.rms_sigma_ln > 0 else 1.0
    density = _lognormal_mean_one(rng, v.density_sigma_ln)
    sigma_rich = preset.cluster.richness_sigma_ln if preset.cluster is not None else 0.0
    richness = _lognormal_mean_one(rng, sigma_rich)
    rms = preset.rms * depth * v.dqf_noise[flag]
    return Pointing(rms=rms, dqf=flag, depth=depth, density=density, richness=richness)
