"""RandomThresholding (Riggi et al.) against numpy.percentile, image by image."""

import numpy as np
import pytest
import torch

from radiolib.augment.thresholding import threshold_below_percentile


@pytest.fixture
def batch():
    return torch.rand(5, 3, 24, 24, generator=torch.Generator().manual_seed(1))


def test_threshold_matches_numpy_percentile_per_channel(batch):
    q = torch.tensor([40.0, 45.5, 50.0, 59.9, 60.0])
    out = threshold_below_percentile(batch, q)
    for i in range(5):
        for c in range(3):
            x = batch[i, c].numpy()
            ref = np.where(x >= np.percentile(x, float(q[i])), x, 0.0)
            np.testing.assert_allclose(out[i, c].numpy(), ref)


@pytest.mark.parametrize("q", [40.0, 50.0, 60.0])
def test_threshold_zeroes_the_requested_fraction(q):
    x = torch.rand(4, 3, 64, 64, generator=torch.Generator().manual_seed(2)) + 0.01
    out = threshold_below_percentile(x, torch.full((4,), q))
    frac = (out == 0).float().mean(dim=(-2, -1))
    assert torch.allclose(frac, torch.full_like(frac, q / 100), atol=1.5 / 4096)


def test_ties_and_exact_ranks_follow_numpy():
    values = [0.0, 0.0, 0.0, 0.2, 0.2, 0.5, 0.5, 0.5, 0.9]
    x = torch.tensor(values).view(1, 1, 3, 3).repeat(4, 1, 1, 1)
    q = torch.tensor([25.0, 37.5, 50.0, 100.0])
    out = threshold_below_percentile(x, q)
    for i in range(4):
        v = x[i, 0].numpy()
        ref = np.where(v >= np.percentile(v, float(q[i])), v, 0.0)
        np.testing.assert_array_equal(out[i, 0].numpy(), ref)


def test_index_and_inplace_touch_only_the_chosen_images(batch):
    x = batch.clone()
    out = threshold_below_percentile(x, torch.tensor([50.0, 50.0]), index=torch.tensor([1, 3]),
                                     inplace=True)
    assert out is x
    torch.testing.assert_close(x[[0, 2, 4]], batch[[0, 2, 4]])
    torch.testing.assert_close(x[[1, 3]], threshold_below_percentile(batch[[1, 3]],
                                                                     torch.tensor([50.0, 50.0])))


def test_numpy_and_kthvalue_paths_agree(batch):
    from radiolib.augment.thresholding import _order_statistics

    flat = torch.cat([batch, batch.round(decimals=1)]).reshape(10, 3, -1)
    rows, ranks = [0, 3, 5, 9], [0, 200, 287, 575]
    a = _order_statistics(flat, rows, ranks, use_numpy=True)
    b = _order_statistics(flat, rows, ranks, use_numpy=False)
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
    assert (a[0] == a[1]).any()  # the rounded images repeat values across the rank
    assert torch.equal(a[1][3], a[0][3])  # the last rank has no next value: itself


@pytest.mark.parametrize("dtype", [torch.float16, torch.float32, torch.float64])
def test_threshold_is_numpy_percentile_in_every_float_dtype(dtype):
    rng = np.random.default_rng(7)
    for trial in range(60):
        size = int(rng.integers(3, 12))
        values = rng.random((1, 2, size, size))
        if trial % 3 == 0:  # repeated values
            values = np.round(values, 1)
        x = torch.from_numpy(values).to(dtype)
        q = float(rng.uniform(0, 100)) if trial % 2 else float(rng.integers(0, 101))
        out = threshold_below_percentile(x, torch.tensor([q], dtype=torch.float64))
        for c in range(2):
            v = x[0, c].numpy()
            ref = np.where(v >= np.percentile(v, q), v, 0)
            np.testing.assert_array_equal(out[0, c].numpy(), ref, err_msg=f"{dtype} q={q}")


def test_a_rank_reached_only_up_to_rounding_follows_numpy():
    x = torch.arange(101, dtype=torch.float32).view(1, 1, 1, 101) / 100
    out = threshold_below_percentile(x, torch.tensor([7.0], dtype=torch.float64))
    v = x[0, 0].numpy()
    np.testing.assert_array_equal(out[0, 0].numpy(), np.where(v >= np.percentile(v, 7.0), v, 0))


def test_nan_pixels_stay_nan():
    x = torch.rand(1, 1, 8, 8, generator=torch.Generator().manual_seed(0))
    x[0, 0, 0, :3] = torch.nan
    out = threshold_below_percentile(x, torch.tensor([50.0]))
    assert out[0, 0, 0, :3].isnan().all()
    assert (out[0, 0][~x[0, 0].isnan()] == 0).sum() >= 25  # about half the finite pixels
