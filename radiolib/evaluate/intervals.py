"""95 % intervals of probe scores by bootstrap over the test items, and comparisons that heed them.

A probe score (MSE, accuracy, balanced accuracy, AUC) is a statistic of the test items' (truth,
prediction) pairs. With the fitted probe held fixed, resampling the test items with replacement
gives the score's sampling spread; the 2.5th and 97.5th percentiles of the resampled scores are
its 95 % interval (percentile bootstrap). Every model scored on the same items is resampled with
the *same* indices (:class:`Bootstrap`), so the difference of two models' scores gets a paired
interval, narrower than the two separate intervals suggest when the models err on the same
items. :func:`compare` turns the intervals into a sentence that claims an order only when the
numbers support it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

import numpy as np
from scipy.stats import rankdata

__all__ = ["LEVEL", "LOWER_IS_BETTER", "METRICS", "Bootstrap", "Interval", "compare",
           "comparison_text", "interval_note"]

#: Confidence level of every interval the book shows.
LEVEL = 0.95


def _mse(y, p):
    return np.mean((p - y) ** 2, axis=-1)


def _accuracy(y, p):
    return np.mean(p == y, axis=-1)


def _balanced_accuracy(y, p):
    """Mean recall over the classes present (per row of resampled items)."""
    recalls = []
    for c in np.unique(y):
        of_c = y == c
        n_c = of_c.sum(axis=-1)
        with np.errstate(invalid="ignore", divide="ignore"):
            recalls.append(np.where(n_c > 0, (of_c & (p == c)).sum(axis=-1) / n_c, np.nan))
    return np.nanmean(np.stack(recalls), axis=0)


def _auc(y, p):
    """ROC AUC of scores ``p`` for the positive class ``y == True`` (Mann-Whitney, ties halved)."""
    y = y.astype(bool)
    ranks = rankdata(p, axis=-1)
    n_pos = y.sum(axis=-1)
    n_neg = y.shape[-1] - n_pos
    with np.errstate(invalid="ignore", divide="ignore"):
        auc = ((ranks * y).sum(axis=-1) - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)
    return np.where((n_pos > 0) & (n_neg > 0), auc, np.nan)


#: Scores of (truth, prediction) arrays; a leading axis holds resamples. AUC takes scores of
#: the positive class as predictions.
METRICS: dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]] = {
    "mse": _mse, "accuracy": _accuracy, "balanced_accuracy": _balanced_accuracy, "auc": _auc}
#: Metrics where a smaller value is the better one.
LOWER_IS_BETTER = frozenset({"mse"})


@dataclass(frozen=True)
class Interval:
    """A score and its ``level`` interval ``[low, high]``."""

    value: float
    low: float
    high: float
    level: float = LEVEL

    @property
    def half_width(self) -> float:
        """The larger distance from the value to an end: a symmetric ± that covers the interval."""
        return float(max(self.value - self.low, self.high - self.value))

    def excludes(self, x: float = 0.0) -> bool:
        """Return whether ``x`` lies outside the interval."""
        return bool(x < self.low or x > self.high)

    def overlaps(self, other: Interval) -> bool:
        """Return whether the two intervals share a point."""
        return bool(self.low <= other.high and other.low <= self.high)

    def format(self, digits: int = 3) -> str:
        """``"12.3 [11.1, 13.6]"`` with ``digits`` significant digits."""
        v, lo, hi = (x + 0.0 for x in (self.value, self.low, self.high))  # no "-0"
        return f"{v:.{digits}g} [{lo:.{digits}g}, {hi:.{digits}g}]"


class Bootstrap:
    """Resamples of ``n`` test items, shared by every model scored on those items (paired).

    Parameters
    ----------
    n : int
        Number of test items.
    n_boot : int
        Resamples (1000 gives the 2.5th percentile from 25 values).
    seed : int
        Seed of the resampling (the same seed gives the same intervals).
    level : float
        Confidence level of the intervals.
    """

    def __init__(self, n: int, *, n_boot: int = 1000, seed: int = 0, level: float = LEVEL):
        if n < 2 or n_boot < 10:
            raise ValueError(f"need at least 2 test items and 10 resamples, got n={n}, "
                             f"n_boot={n_boot}")
        if not 0 < level < 1:
            raise ValueError(f"level must lie in (0, 1), got {level!r}")
        self.n, self.n_boot, self.level = int(n), int(n_boot), float(level)
        self.index = np.random.default_rng(seed).integers(0, n, (n_boot, n))

    def _metric(self, metric: str):
        if metric not in METRICS:
            raise ValueError(f"unknown metric {metric!r}; one of {', '.join(METRICS)}")
        return METRICS[metric]

    def _check(self, *arrays) -> list[np.ndarray]:
        out = [np.asarray(a) for a in arrays]
        if any(a.shape != (self.n,) for a in out):
            raise ValueError(f"expected arrays of {self.n} test items, got shapes "
                             f"{[a.shape for a in out]}")
        return out

    def _interval(self, value: float, resampled: np.ndarray) -> Interval:
        resampled = resampled[np.isfinite(resampled)]
        if len(resampled) < 10:
            return Interval(float(value), np.nan, np.nan, self.level)
        tail = 100 * (1 - self.level) / 2
        low, high = np.percentile(resampled, [tail, 100 - tail])
        return Interval(float(value), float(low), float(high), self.level)

    def interval(self, metric: str, y_true, pred) -> Interval:
        """Return the score ``metric`` of ``pred`` against ``y_true``, with its interval."""
        f = self._metric(metric)
        y, p = self._check(y_true, pred)
        return self._interval(float(f(y, p)), f(y[self.index], p[self.index]))

    def difference(self, metric: str, y_true, pred_a, pred_b) -> Interval:
        """Return ``pred_a``'s score minus ``pred_b``'s, with its paired bootstrap interval."""
        f = self._metric(metric)
        y, a, b = self._check(y_true, pred_a, pred_b)
        yi = y[self.index]
        return self._interval(float(f(y, a) - f(y, b)),
                              f(yi, a[self.index]) - f(yi, b[self.index]))


def compare(name_a: str, name_b: str, a: Interval, b: Interval, difference: Interval | None
            = None, *, metric: str = "mse", label: str | None = None) -> str:
    """Return one sentence on whether ``name_a`` scores better than ``name_b``, from the intervals.

    The row ahead is named first, with its score first and the difference taken from it.
    An order is stated as "beats" only when the two intervals do not overlap and the paired
    interval of the difference (when given) excludes 0. When only the paired difference
    excludes 0, the sentence says which is ahead on the same test items and that the separate
    intervals overlap; otherwise the two are "indistinguishable at 95 %".
    """
    label = label or metric.replace("_", " ")
    level = f"{a.level:.0%}".replace("%", " %")
    delta = a.value - b.value
    if difference is not None and not np.isclose(difference.value, delta):
        raise ValueError(f"the difference {difference.value!r} is not {name_a}'s score minus "
                         f"{name_b}'s ({a.value!r} - {b.value!r})")
    if delta != 0 and (delta < 0) != (metric in LOWER_IS_BETTER):  # b ahead: named first
        name_a, name_b, a, b = name_b, name_a, b, a
        if difference is not None:
            difference = Interval(-difference.value, -difference.high, -difference.low,
                                  difference.level)
    diff_out = difference is None or difference.excludes(0.0)
    scores = f"{label} {a.format()} vs {b.format()}"
    diff = "" if difference is None else f"; difference {difference.format()} (paired)"
    if not a.overlaps(b) and diff_out and delta != 0:
        return f"{name_a} beats {name_b} at {level}: {scores}{diff}."
    if difference is not None and difference.excludes(0.0):
        return (f"{name_a} is ahead of {name_b} on the same test items, but their separate "
                f"{level} intervals overlap: {scores}{diff}.")
    return f"{name_a} and {name_b} are indistinguishable at {level}: {scores}{diff}."


def comparison_text(pairs: Iterable[tuple[str, str]], scores: Mapping[str, Interval],
                    differences: Mapping[tuple[str, str], Interval] | None = None, *,
                    metric: str = "mse", label: str | None = None) -> str:
    """Return a Markdown list: a :func:`compare` sentence per pair ``(a, b)`` of ``scores``."""
    differences = differences or {}
    return "\n".join("- " + compare(a, b, scores[a], scores[b], differences.get((a, b)),
                                     metric=metric, label=label) for a, b in pairs)


def interval_note(note: str | None = None) -> str:
    """Return a record's note followed by what its ± means (the report shows ± only)."""
    what = "± is the half-width of a 95 % bootstrap interval over the test items"
    return f"{note}; {what}" if note else what
