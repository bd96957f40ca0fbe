"""Bootstrap intervals of probe scores: coverage in a simulation of the probe, and the text."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import norm
from sklearn.metrics import balanced_accuracy_score, roc_auc_score

from radiolib.evaluate import (
    Bootstrap,
    Interval,
    compare,
    comparison_text,
    count_regression_fit,
    linear_probe_fit,
)

N_DATASETS = 300  # simulated data sets per coverage check
COVERAGE_RANGE = (0.91, 0.98)  # 95 % +- about 3 binomial standard errors of 300 draws
N_CLASSIFIER_DATASETS = 200  # fewer for the slower logistic fits


def _true_count_mse(model, beta, intercept, sigma) -> float:
    """Expected squared error of a fitted linear pipeline on new items of the known model.

    Features are standard normal, so the error is |w - beta|^2 + (b - intercept)^2 + sigma^2,
    with the pipeline's effective weights ``w`` and intercept ``b`` read off its predictions.
    """
    d = len(beta)
    b = model.predict(np.zeros((1, d)))[0]
    w = model.predict(np.eye(d)) - b
    return float(np.sum((w - beta) ** 2) + (b - intercept) ** 2 + sigma ** 2)


def _count_coverage(level: float) -> float:
    """Share of simulated data sets whose count-MSE interval holds the probe's true MSE."""
    rng = np.random.default_rng(2024)
    d, sigma, intercept = 12, 2.0, 20.0
    beta = rng.normal(size=d)
    hits = 0
    for i in range(N_DATASETS):
        x = rng.normal(size=(500, d))
        y = intercept + x @ beta + sigma * rng.normal(size=500)
        model = count_regression_fit(x[:200], y[:200], n_components=8)  # some bias too
        truth = _true_count_mse(model, beta, intercept, sigma)
        ci = Bootstrap(300, n_boot=400, seed=i, level=level).interval(
            "mse", y[200:], model.predict(x[200:]))
        hits += ci.low <= truth <= ci.high
    return hits / N_DATASETS


def test_count_mse_intervals_cover_the_true_mse():
    """The count probe (PCA + ridge) on a known linear-Gaussian model: ~95 % coverage."""
    assert COVERAGE_RANGE[0] <= _count_coverage(0.95) <= COVERAGE_RANGE[1]


def test_coverage_check_is_sensitive_to_the_level():
    """The same simulation at 50 % covers about half the time (the check can fail)."""
    assert 0.4 <= _count_coverage(0.5) <= 0.6


def _balanced_coverage() -> float:
    """Share of simulated data sets whose balanced-accuracy interval holds the true value.

    Two Gaussian classes (unit covariance, means -+ ``shift``, 1:3): a fitted linear rule
    ``w.x + b > 0`` is right on class 1 with probability Phi((w.shift + b) / |w|) and on
    class 0 with Phi((w.shift - b) / |w|); the true balanced accuracy is their mean.
    """
    rng = np.random.default_rng(7)
    d, shift = 5, np.full(5, 0.35)
    hits = 0
    for i in range(N_CLASSIFIER_DATASETS):
        y = (rng.random(500) < 0.25).astype(int)
        x = rng.normal(size=(500, d)) + np.outer(2 * y - 1, shift)
        model = linear_probe_fit(x[:200], y[:200])
        b = model.decision_function(np.zeros((1, d)))[0]
        w = model.decision_function(np.eye(d)) - b
        length = np.linalg.norm(w)
        truth = (norm.cdf((w @ shift + b) / length) + norm.cdf((w @ shift - b) / length)) / 2
        ci = Bootstrap(300, n_boot=400, seed=i).interval("balanced_accuracy", y[200:],
                                                          model.predict(x[200:]))
        hits += ci.low <= truth <= ci.high
    return hits / N_CLASSIFIER_DATASETS


def test_balanced_accuracy_intervals_cover_the_true_value():
    """The linear probe (balanced logistic regression) on a known two-class model."""
    assert 0.90 <= _balanced_coverage() <= 0.99  # 200 draws: +- 3 standard errors


@pytest.mark.parametrize("metric", ["mse", "accuracy", "balanced_accuracy", "auc"])
def test_point_values_match_sklearn(metric):
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3 if metric != "auc" else 2, 120)
    pred = rng.random(120) if metric == "auc" else np.where(rng.random(120) < 0.7, y, 0)
    value = Bootstrap(120, n_boot=50).interval(metric, y, pred).value
    expected = {"mse": lambda: np.mean((pred - y) ** 2), "accuracy": lambda: np.mean(pred == y),
                "balanced_accuracy": lambda: balanced_accuracy_score(y, pred),
                "auc": lambda: roc_auc_score(y, pred)}[metric]
    assert value == pytest.approx(expected())


def test_paired_difference_is_narrower_than_separate_intervals():
    """Two models that err alike: the paired interval of their difference excludes 0."""
    rng = np.random.default_rng(1)
    y = rng.normal(size=400)
    common = rng.normal(size=400) * 3
    a, b = y + common, y + 1.1 * common  # b errs 10 % more on the same items
    boot = Bootstrap(400, n_boot=500)
    ia, ib, diff = boot.interval("mse", y, a), boot.interval("mse", y, b), \
        boot.difference("mse", y, a, b)
    assert ia.overlaps(ib) and diff.excludes(0) and diff.high < 0
    assert diff.value == pytest.approx(ia.value - ib.value)
    text = compare("A", "B", ia, ib, diff)
    assert text.startswith("A is ahead of B") and "better" not in text and "beats" not in text


def test_bootstrap_is_seeded_and_checks_its_input():
    y, p = np.arange(50.0), np.arange(50.0) + 1
    assert Bootstrap(50, seed=3).interval("mse", y, p + np.sin(y)) == \
        Bootstrap(50, seed=3).interval("mse", y, p + np.sin(y))
    with pytest.raises(ValueError, match="test items"):
        Bootstrap(50).interval("mse", y[:40], p[:40])
    with pytest.raises(ValueError, match="unknown metric"):
        Bootstrap(50).interval("r2", y, p)
    with pytest.raises(ValueError, match="level"):
        Bootstrap(50, level=95)


def _random_interval(rng) -> Interval:
    value = rng.uniform(0, 10)
    return Interval(value, value - rng.uniform(0, 3), value + rng.uniform(0, 3))


@pytest.mark.parametrize("metric", ["mse", "accuracy"])
def test_text_never_says_better_when_intervals_overlap(metric):
    rng = np.random.default_rng(5)
    for _ in range(2000):
        a, b = _random_interval(rng), _random_interval(rng)
        delta = a.value - b.value
        diff = Interval(delta, delta - rng.uniform(0, 3), delta + rng.uniform(0, 3)) \
            if rng.random() < 0.5 else None
        text = compare("A", "B", a, b, diff, metric=metric)
        ordered = "beats" in text or "better" in text
        if a.overlaps(b) or (diff is not None and not diff.excludes(0)):
            assert not ordered, text
        else:
            assert ordered, text
            winner = "A" if (a.value < b.value) == (metric == "mse") else "B"
            assert text.startswith(f"{winner} beats"), text


def test_interval_format():
    assert Interval(-0.0, -0.5, 0.25).format() == "0 [-0.5, 0.25]"
    assert Interval(12.345, 11.0, 13.61).format(2) == "12 [11, 14]"


def test_compare_rejects_a_difference_of_other_scores():
    with pytest.raises(ValueError, match="minus"):
        compare("A", "B", Interval(1.0, 0.5, 1.5), Interval(2.0, 1.5, 2.5),
                Interval(3.0, 2.0, 4.0))


def test_comparison_text_lists_each_pair():
    scores = {"DINO": Interval(10.0, 9.0, 11.0), "untrained": Interval(20.0, 18.0, 22.0),
              "mean": Interval(21.0, 19.0, 23.0)}
    diffs = {("DINO", "untrained"): Interval(-10.0, -12.0, -8.0),
             ("untrained", "mean"): Interval(-1.0, -2.5, 0.4)}
    text = comparison_text([("DINO", "untrained"), ("untrained", "mean")], scores, diffs,
                           label="MSE")
    lines = text.splitlines()
    assert lines[0].startswith("- DINO beats untrained at 95 %: MSE 10 [9, 11] vs 20 [18, 22]")
    assert lines[1].startswith("- untrained and mean are indistinguishable at 95 %")
    flipped = compare("untrained", "DINO", scores["untrained"], scores["DINO"],
                      Interval(10.0, 8.0, 12.0), label="MSE")  # the row ahead comes first
    assert flipped == ("DINO beats untrained at 95 %: MSE 10 [9, 11] vs 20 [18, 22]; "
                       "difference -10 [-12, -8] (paired).")
    higher = compare("A", "B", Interval(0.6, 0.55, 0.65), Interval(0.8, 0.75, 0.85),
                     metric="accuracy")
    assert higher.startswith("B beats A at 95 %: accuracy 0.8 [0.75, 0.85] vs 0.6")
