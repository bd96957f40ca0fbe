"""Simulated fields shared by the sky tests (each simulated once per session, small sizes)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from radiolib.sky import simulate


@pytest.fixture(scope="session")
def sky_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("sky")


@pytest.fixture(scope="session")
def emu_field(sky_dir):
    """A 1024² EMU-pilot-like field with artefacts (DQF 2)."""
    return simulate("emupilot", size=1024, seed=11, out_dir=sky_dir, dqf=2)


@pytest.fixture(scope="session")
def emu_data(emu_field) -> np.ndarray:
    return np.asarray(emu_field.image().data, dtype=np.float64)
