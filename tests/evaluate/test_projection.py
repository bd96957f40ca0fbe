import numpy as np
import pytest

from radiolib.evaluate import group_cohesion


def test_a_group_apart_keeps_its_neighbours_and_mixed_groups_sit_at_chance():
    rng = np.random.default_rng(0)
    mixed = rng.normal(size=(300, 8))
    apart = rng.normal(size=(60, 8)) + 6.0  # one field of bad data quality, far away
    x = np.r_[mixed, apart]
    groups = np.r_[rng.choice(["a", "b", "c"], 300), np.full(60, "bad")]
    table = group_cohesion(x, groups, k=10)
    assert table.loc["bad", "same-group neighbours"] > 0.95
    assert table.loc["bad", "chance"] == pytest.approx(59 / 359)
    for g in "abc":  # drawn from one cloud: near the share of a random neighbour
        row = table.loc[g]
        assert abs(row["same-group neighbours"] - row["chance"] * 359 / 299) < 0.1
    assert table["n"].sum() == 360


def test_group_cohesion_rejects_mismatched_input():
    with pytest.raises(ValueError, match="features and N groups"):
        group_cohesion(np.zeros((5, 2)), ["a"] * 4)
    with pytest.raises(ValueError, match="N > k"):
        group_cohesion(np.zeros((5, 2)), ["a"] * 5, k=10)
