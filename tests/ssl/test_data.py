"""Dataset adapters: TileSet -> tensors in [0, 1]."""

import numpy as np
import pytest
import torch

from radiolib.errors import ConfigError
from radiolib.scaling import fitted_scaling
from radiolib.ssl import DINOConfig, ScaledTiles, SimCLRConfig, dataset_for
from radiolib.tiling import TileSet


@pytest.mark.parametrize("mode, channels", [("riggi3", 3), ("field", 1)])
def test_scaled_tiles_lazy_and_in_memory_agree(tileset_dir, mode, channels):
    ds = ScaledTiles(TileSet.open(tileset_dir), mode=mode, size=24)
    eager = ds.materialize(chunk=16).images
    assert eager.shape == (len(ds), channels, 24, 24) and eager.dtype == torch.float32
    assert 0 <= float(eager.min()) and float(eager.max()) <= 1
    for i in (0, 17, len(ds) - 1):
        torch.testing.assert_close(ds[i], eager[i])


def test_field_mode_uses_the_whole_field_limits(tileset_dir):
    ts = TileSet.open(tileset_dir)
    ds = ScaledTiles(ts, mode="field", size=ts.tile_size, field_limits="contrast_2_98")
    field = ts.fields[ts.index["field"].iloc[3]]
    expected = fitted_scaling(field, "contrast_2_98").transform(np.array(ts.tiles[3]))
    torch.testing.assert_close(ds[3][0], torch.from_numpy(expected))


def test_dataset_for_a_recipe(tileset_dir):
    assert dataset_for(SimCLRConfig(image_size=32), tileset_dir).images.shape[1:] == (3, 32, 32)
    assert dataset_for(DINOConfig(image_size=40), tileset_dir).images.shape[1:] == (1, 40, 40)
    with pytest.raises(ConfigError, match="in_chans"):
        dataset_for(SimCLRConfig(in_chans=1), tileset_dir)
    with pytest.raises(ConfigError, match="mode"):
        ScaledTiles(TileSet.open(tileset_dir), mode="log")
