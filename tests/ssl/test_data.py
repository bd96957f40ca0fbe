"""Dataset adapters (TileSet -> tensors in [0, 1]) and the source-count evaluation callback."""

import numpy as np
import pytest
import torch

from radiolib.errors import ConfigError
from radiolib.ssl import DINOConfig, ScaledTiles, SimCLRConfig, count_mse_callback, dataset_for
from radiolib.ssl.callbacks import count_mse
from radiolib.tiling import TileSet, fitted_scaling


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


def test_count_mse_probe():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(60, 8, generator=g)
    y = x[:, 0] * 3 + 1  # exactly linear in the embedding
    assert count_mse(x[:40], y[:40], x[40:], y[40:], n_components=8) < 1e-4
    assert count_mse(x[:40], y[:40], x[40:], y[40:], n_components=1) > 0.1


def test_count_mse_callback_on_a_model(images3):
    class Random:
        def feature_extractor(self):
            from radiolib.models import FeatureExtractor

            torch.manual_seed(0)
            net = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(3 * 32 * 32, 16))
            return FeatureExtractor(net, 16)

    counts = images3.images[:, 0].mean(dim=(1, 2)) * 10
    out = count_mse_callback(images3.images, counts, n_components=10)(Random(), 1)
    assert set(out) == {"count_mse"} and out["count_mse"] >= 0
    with pytest.raises(ValueError, match="N >= 4"):
        count_mse_callback(images3.images[:2], [1, 2])
