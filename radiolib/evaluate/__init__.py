"""Downstream evaluation of pre-trained backbones: embeddings (cached) and cheap probes.

>>> import numpy as np
>>> from radiolib.evaluate import count_regression_mse
>>> x = np.arange(40.0)[:, None] * [1.0, 2.0]
>>> round(count_regression_mse(x[:30], x[:30, 0], x[30:], x[30:, 0]), 6)
0.0
"""

from radiolib.evaluate.probes import (
    bootstrap_std,
    checkpoint_embeddings,
    count_regression_mse,
    knn_probe,
    linear_probe,
    random_embeddings,
)

__all__ = [
    "bootstrap_std",
    "checkpoint_embeddings",
    "count_regression_mse",
    "knn_probe",
    "linear_probe",
    "random_embeddings",
]
