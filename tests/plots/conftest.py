"""Shared set-up of the figure tests: a non-interactive backend, every figure closed after."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")
