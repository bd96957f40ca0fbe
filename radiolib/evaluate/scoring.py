"""A probe fitted on several feature sets and their reference rows, scored with 95 % intervals.

:func:`count_probe` (source counts, MSE) and :func:`class_probe` (labels, accuracy, balanced
accuracy or AUC) fit the same probe on each model's frozen features and on two reference
features computed from the images (:mod:`radiolib.evaluate.baselines`): pixel statistics, the
floor, and a hand-made feature, the headroom. Both return :class:`ProbeScores`: the test
predictions of every row and one shared :class:`~radiolib.evaluate.intervals.Bootstrap`, so
each score has its interval and each pair of rows a paired interval of their difference.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from radiolib.evaluate.baselines import PeakCounter, PixelHistogram, ShapeMoments
from radiolib.evaluate.intervals import LEVEL, Bootstrap, Interval, comparison_text
from radiolib.evaluate.probes import count_regression_fit, knn_probe_fit, linear_probe_fit

__all__ = ["CLASS_REFERENCES", "COUNT_REFERENCES", "PREDICT_MEAN", "ProbeScores", "Rows",
           "class_probe", "class_reference_rows", "count_probe"]

#: Reference rows of the count probe: name -> (kind, transformer factory).
COUNT_REFERENCES = {"pixel histogram": ("baseline", PixelHistogram),
                    "peak counter (5 sigma)": ("hand-made", PeakCounter)}
#: Reference rows of the classification probes.
CLASS_REFERENCES = {"pixel histogram": ("baseline", PixelHistogram),
                    "shape moments": ("hand-made", ShapeMoments)}
#: The row that always answers the mean count of the fitting items.
PREDICT_MEAN = "predict the mean"


@dataclass
class ProbeScores:
    """Test predictions of one probe on several feature sets, and their shared bootstrap."""

    metric: str
    truth: np.ndarray
    predictions: dict[str, np.ndarray]
    kinds: dict[str, str]
    bootstrap: Bootstrap
    _cache: dict = field(default_factory=dict, repr=False)

    def interval(self, name: str) -> Interval:
        """Return row ``name``'s score with its interval."""
        if name not in self._cache:
            self._cache[name] = self.bootstrap.interval(self.metric, self.truth,
                                                        self.predictions[name])
        return self._cache[name]

    def difference(self, a: str, b: str) -> Interval:
        """Return row ``a``'s score minus row ``b``'s, with the paired interval."""
        return self.bootstrap.difference(self.metric, self.truth, self.predictions[a],
                                         self.predictions[b])

    def table(self) -> pd.DataFrame:
        """One row per feature set: ``kind``, the score, ``low`` and ``high`` (95 %)."""
        rows = {name: {"kind": self.kinds[name], self.metric: iv.value, "low": iv.low,
                       "high": iv.high} for name in self.predictions
                for iv in [self.interval(name)]}
        return pd.DataFrame.from_dict(rows, orient="index").rename_axis("model")

    def half_widths(self) -> dict[str, float]:
        """Return each row's ± (the larger distance from its score to an end of its interval)."""
        return {name: self.interval(name).half_width for name in self.predictions}

    def text(self, pairs: Iterable[tuple[str, str]], *, label: str | None = None) -> str:
        """Return a Markdown list comparing each pair of rows present (see ``compare``)."""
        pairs = [(a, b) for a, b in pairs if a in self.predictions and b in self.predictions]
        return comparison_text(pairs, {n: self.interval(n) for n in self.predictions},
                               {(a, b): self.difference(a, b) for a, b in pairs},
                               metric=self.metric, label=label)


def _reference_features(images, fit, references) -> dict[str, tuple[str, np.ndarray]]:
    """Fit each reference transformer on the fitting images; features of every image."""
    out = {}
    for name, (kind, factory) in references.items():
        transformer = factory()
        transformer.fit(Rows(images, fit))
        out[name] = kind, transformer.transform(images)
    return out


class Rows:
    """Rows ``index`` of an indexable batch, read one at a time (memory-mapped tiles stay put).

    ``dtype`` converts each row as it is read (None: as stored).
    """

    def __init__(self, images, index, dtype=None):
        self.images, self.index, self.dtype = images, np.asarray(index), dtype

    def __len__(self) -> int:
        return len(self.index)

    def __getitem__(self, i: int):
        row = self.images[int(self.index[i])]
        return row if self.dtype is None else np.asarray(row, self.dtype)


def count_probe(features: Mapping[str, np.ndarray], counts, fit, test, *, images=None,
                n_components: int = 100, n_boot: int = 1000, seed: int = 0,
                references=COUNT_REFERENCES) -> ProbeScores:
    """Fit the count probe on items ``fit`` of each feature set; predict items ``test``.

    ``features`` maps a model to its (N, D) features of all N items; with ``images`` (N
    images or crops) the ``references`` rows are added, and always :data:`PREDICT_MEAN`.
    """
    counts = np.asarray(counts, np.float64)
    rows = {name: ("model", np.asarray(x)) for name, x in features.items()}
    if images is not None:
        if len(images) != len(counts):
            raise ValueError(f"{len(images)} images for {len(counts)} counts")
        rows |= _reference_features(images, fit, references)
    preds, kinds = {}, {}
    for name, (kind, x) in rows.items():
        model = count_regression_fit(x[fit], counts[fit], n_components=n_components)
        preds[name], kinds[name] = model.predict(np.asarray(x[test], np.float64)), kind
    preds[PREDICT_MEAN] = np.full(len(test), counts[fit].mean())
    kinds[PREDICT_MEAN] = "mean"
    return ProbeScores("mse", counts[test], preds, kinds,
                       Bootstrap(len(test), n_boot=n_boot, seed=seed, level=LEVEL))


def class_reference_rows(images: tuple, references=CLASS_REFERENCES) -> dict[str, tuple]:
    """Return reference features of ``images = (fit, test)`` images: name -> (kind, fit, test).

    Computed once, they can be passed to several :func:`class_probe` calls on the same images
    (``reference_rows=``): the hand-made features cost more than the probes.
    """
    rows = {}
    for name, (kind, factory) in references.items():
        transformer = factory().fit(images[0])
        rows[name] = kind, transformer.transform(images[0]), transformer.transform(images[1])
    return rows


def class_probe(features: Mapping[str, tuple[np.ndarray, np.ndarray]], fit_y, test_y, *,
                images: tuple | None = None, metric: str = "accuracy", probe: str = "linear",
                n_components: int | None = None, n_boot: int = 1000, seed: int = 0,
                references=CLASS_REFERENCES, reference_rows: dict | None = None) -> ProbeScores:
    """Fit a classification probe on each model's fitting features; predict the test items.

    ``features`` maps a model to ``(fit_x, test_x)``; ``images`` is ``(fit_images,
    test_images)`` for the ``references`` rows (or give them computed, ``reference_rows``
    from :func:`class_reference_rows`). ``probe`` is ``"linear"`` (balanced logistic
    regression, optional PCA) or ``"knn"``; with ``metric="auc"`` the prediction is the
    probability of the second class (two classes only).
    """
    fit_y, test_y = np.asarray(fit_y), np.asarray(test_y)
    rows = {name: ("model", fit_x, test_x) for name, (fit_x, test_x) in features.items()}
    if reference_rows is None and images is not None:
        reference_rows = class_reference_rows(images, references)
    rows |= reference_rows or {}
    classes = np.unique(fit_y)
    if metric == "auc" and len(classes) != 2:
        raise ValueError(f"AUC needs two classes, got {len(classes)}")
    preds, kinds = {}, {}
    for name, (kind, fit_x, test_x) in rows.items():
        if probe == "knn" and kind != "model":  # cosine distances of unit-free features
            centre, scale = fit_x.mean(axis=0), fit_x.std(axis=0) + 1e-12
            fit_x, test_x = (fit_x - centre) / scale, (test_x - centre) / scale
        model = (linear_probe_fit(fit_x, fit_y, n_components=n_components) if probe == "linear"
                 else knn_probe_fit(fit_x, fit_y))
        preds[name] = (model.predict_proba(test_x)[:, 1] if metric == "auc"
                       else model.predict(test_x))
        kinds[name] = kind
    truth = test_y == classes[-1] if metric == "auc" else test_y
    return ProbeScores(metric, truth, preds, kinds,
                       Bootstrap(len(test_y), n_boot=n_boot, seed=seed, level=LEVEL))
