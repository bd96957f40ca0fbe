"""Evaluation callbacks of the training loop: the source-count probe (Lastufka et al. Fig. 5)."""

import pytest
import torch

from radiolib.evaluate import count_mse, count_mse_callback
from radiolib.models import FeatureExtractor


def test_count_mse_probe():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(60, 8, generator=g)
    y = x[:, 0] * 3 + 1  # exactly linear in the embedding
    assert count_mse(x[:40], y[:40], x[40:], y[40:], n_components=8) < 1e-4
    assert count_mse(x[:40], y[:40], x[40:], y[40:], n_components=1) > 0.1


def test_count_mse_callback_on_a_model():
    images = torch.rand(24, 3, 32, 32, generator=torch.Generator().manual_seed(1))

    class Random:
        def feature_extractor(self):
            torch.manual_seed(0)
            net = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(3 * 32 * 32, 16))
            return FeatureExtractor(net, 16)

    counts = images[:, 0].mean(dim=(1, 2)) * 10
    out = count_mse_callback(images, counts, n_components=10)(Random(), 1)
    assert set(out) == {"count_mse"} and out["count_mse"] >= 0
    with pytest.raises(ValueError, match="N >= 4"):
        count_mse_callback(images[:2], [1, 2])
