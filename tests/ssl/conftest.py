"""Tiny recipes, images and a TileSet for the training tests (seconds, on CPU)."""

from __future__ import annotations

import pytest
import torch
from _tiny import TINY_DINO, TINY_SIMCLR, write_field

from radiolib.ssl import DINOConfig, ImageTensors, SimCLRConfig


@pytest.fixture
def one_thread():
    """Tiny models gain nothing from threads, and 2 threads on a busy 2-core machine can be 10x
    slower; bit-identity only needs the same setting for both runs of a comparison."""
    saved = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(saved)


@pytest.fixture
def simclr_config() -> SimCLRConfig:
    return SimCLRConfig(**TINY_SIMCLR)


@pytest.fixture
def dino_config() -> DINOConfig:
    return DINOConfig(**TINY_DINO)


@pytest.fixture(scope="session")
def images3() -> ImageTensors:
    return ImageTensors(torch.rand(24, 3, 32, 32, generator=torch.Generator().manual_seed(1)))


@pytest.fixture(scope="session")
def images1() -> ImageTensors:
    return ImageTensors(torch.rand(24, 1, 40, 40, generator=torch.Generator().manual_seed(2)))


@pytest.fixture(scope="session")
def tileset_dir(tmp_path_factory):
    """A hulk TileSet of 49 tiles of 32 px with an ``n_sources`` column."""
    from radiolib.tiling import tile_fits

    tmp = tmp_path_factory.mktemp("tiles")
    catalogue = write_field(tmp / "field.fits")
    tile_fits(tmp / "field.fits", "hulk", out_dir=tmp / "ts", size=32, overlap=0.5,
              catalogue=catalogue)
    return tmp / "ts"
