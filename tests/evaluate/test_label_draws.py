"""Table 6 label-count draws: scaled counts, stratified, seeded, saved."""

import numpy as np
import pytest

from radiolib.errors import DataError
from radiolib.evaluate.label_counts import (
    label_draws,
    load_label_draws,
    save_label_draws,
    scaled_label_counts,
    stratified_draw,
)

PAPER = [36, 72, 145, 291, 437, 583, 656, 729]


def test_paper_counts_scale_to_our_training_set():
    assert scaled_label_counts(PAPER, 729, 704).tolist() == [35, 70, 140, 281, 422, 563, 634,
                                                              704]
    assert scaled_label_counts(PAPER, 729, 729).tolist() == PAPER
    with pytest.raises(ValueError):
        scaled_label_counts([800], 729, 704)


def test_draws_are_stratified():
    labels = np.array([0] * 300 + [1] * 404)
    for n in scaled_label_counts(PAPER, 729, 704):
        idx = stratified_draw(labels, int(n), np.random.default_rng(0))
        assert len(idx) == n == len(np.unique(idx))
        n1 = int((labels[idx] == 1).sum())
        assert abs(n1 - n * 404 / 704) <= 1  # class shares kept to one image
    idx = stratified_draw(np.array([0] * 98 + [1] * 2), 3, np.random.default_rng(0))
    assert set(np.array([0] * 98 + [1] * 2)[idx]) == {0, 1}  # a rare class is not lost


def test_draws_are_seeded_and_distinct(tmp_path):
    labels = np.random.default_rng(1).integers(0, 2, 200)
    a = label_draws(labels, [20, 50], n_draws=3, seed=7)
    b = label_draws(labels, [50, 20, 100], n_draws=3, seed=7)
    for n in (20, 50):
        for x, y in zip(a[n], b[n], strict=True):
            np.testing.assert_array_equal(x, y)
    assert not np.array_equal(a[20][0], a[20][1])
    assert not np.array_equal(a[20][0], label_draws(labels, [20], seed=8)[20][0])
    path = save_label_draws(tmp_path / "draws.npz", a)
    back = load_label_draws(path)
    assert sorted(back) == [20, 50] and all(len(v) == 3 for v in back.values())
    for n in a:
        for x, y in zip(a[n], back[n], strict=True):
            np.testing.assert_array_equal(x, y)
    (tmp_path / "bad.npz").write_bytes(b"not a zip")
    with pytest.raises(DataError, match="label-count draws"):
        load_label_draws(tmp_path / "bad.npz")
