"""Feature selection by a shallow LightGBM classifier (Riggi et al. 2024, Sect. 5.2, Fig. A.2).

The labelled frames are split three ways (stratified): the classifier trains on one part,
stops early on the *validation* part only, and its F1 is measured on the held-out *test*
part, which neither training nor early stopping has seen. Features are ranked by how often
the trees split on them (LightGBM's default importance), ties broken by their total gain.
"""

from __future__ import annotations

from dataclasses import dataclass

import lightgbm as lgb
import numpy as np
from sklearn.metrics import f1_score
from sklearn.model_selection import train_test_split

__all__ = ["LGBM_PARAMS", "FeatureSelection", "select_features"]

#: The paper's LightGBM settings (Sect. 5.2): shallow trees, otherwise LightGBM's defaults as
#: the paper quotes them (num_leaves 32; LightGBM's own default is 31).
LGBM_PARAMS = {"max_depth": 2, "num_leaves": 32, "min_child_samples": 20}


@dataclass(frozen=True)
class FeatureSelection:
    """A fitted selection: importances, the ranking, test F1 and where early stopping stopped."""

    importance: np.ndarray
    gain: np.ndarray
    ranking: np.ndarray
    f1: float
    best_iteration: int
    n_train: int
    n_valid: int
    n_test: int

    def top(self, k: int) -> np.ndarray:
        """Return the indices of the ``k`` most important features, best first."""
        if not 1 <= k <= len(self.ranking):
            raise ValueError(f"k must be in 1..{len(self.ranking)}, got {k}")
        return self.ranking[:k]


def _split(x, y, size: float, seed: int):
    counts = np.bincount(y, minlength=2)
    if counts.min() < 3:
        raise ValueError(f"need at least 3 frames of each class to split, got {counts.tolist()}"
                         " (label more frames)")
    return train_test_split(x, y, test_size=size, stratify=y, random_state=seed)


def select_features(x, y, *, valid_size: float = 0.2, test_size: float = 0.2, seed: int = 0,
                    n_estimators: int = 1000, learning_rate: float = 0.05,
                    early_stopping_rounds: int = 50, params: dict | None = None,
                    ) -> FeatureSelection:
    """Fit the LightGBM classifier of ``y`` (bool: interesting) on ``x`` and rank its features.

    ``valid_size`` and ``test_size`` are fractions of all frames. ``params`` override
    :data:`LGBM_PARAMS`.
    """
    x = np.asarray(x, np.float32)
    y = np.asarray(y, bool).astype(int)
    if x.ndim != 2 or len(x) != len(y):
        raise ValueError(f"x must be (n, d) with n = len(y); got {x.shape} and {len(y)}")
    x_rest, x_test, y_rest, y_test = _split(x, y, test_size, seed)
    x_train, x_valid, y_train, y_valid = _split(x_rest, y_rest, valid_size / (1 - test_size),
                                                seed + 1)
    model = lgb.LGBMClassifier(n_estimators=n_estimators, learning_rate=learning_rate,
                               random_state=seed, verbosity=-1, n_jobs=1,
                               **{**LGBM_PARAMS, **(params or {})})
    model.fit(x_train, y_train, eval_X=(x_valid,), eval_y=(y_valid,), eval_names=["valid"],
              eval_metric="binary_logloss",
              callbacks=[lgb.early_stopping(early_stopping_rounds, verbose=False)])
    booster = model.booster_
    split = booster.feature_importance("split").astype(float)
    gain = booster.feature_importance("gain").astype(float)
    ranking = np.lexsort((np.arange(len(split)), -gain, -split))
    f1 = float(f1_score(y_test, model.predict(x_test), zero_division=0.0))
    return FeatureSelection(split, gain, ranking, f1, int(model.best_iteration_ or n_estimators),
                            len(y_train), len(y_valid), len(y_test))
