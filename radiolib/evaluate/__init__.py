"""Downstream evaluation of pre-trained backbones: embeddings, probes, label counts, fine-tuning.

Also the evaluation callbacks that :func:`radiolib.ssl.train` calls during pre-training
(:func:`count_mse_callback`), since they are probes.

>>> import numpy as np
>>> from radiolib.evaluate import count_regression_mse
>>> x = np.arange(40.0)[:, None] * [1.0, 2.0]
>>> round(count_regression_mse(x[:30], x[:30, 0], x[30:], x[30:, 0]), 6)
0.0
"""

from radiolib.evaluate.backbones import PUBLISHED, load_backbone
from radiolib.evaluate.baselines import PeakCounter, PixelHistogram, ShapeMoments
from radiolib.evaluate.callbacks import count_mse, count_mse_callback
from radiolib.evaluate.finetune import FineTuned, backbone_blocks, finetune_classifier
from radiolib.evaluate.intervals import (
    LEVEL,
    Bootstrap,
    Interval,
    compare,
    comparison_text,
)
from radiolib.evaluate.label_counts import balanced_subset, label_count_curve
from radiolib.evaluate.probes import (
    bootstrap_std,
    checkpoint_embeddings,
    count_regression_fit,
    count_regression_mse,
    knn_probe,
    knn_probe_fit,
    linear_probe,
    linear_probe_fit,
    random_embeddings,
)
from radiolib.evaluate.projection import tsne_2d
from radiolib.evaluate.scoring import PREDICT_MEAN, ProbeScores, class_probe, count_probe
from radiolib.evaluate.splits import holdout_split

__all__ = [
    "PUBLISHED",
    "LEVEL",
    "PREDICT_MEAN",
    "Bootstrap",
    "FineTuned",
    "Interval",
    "PeakCounter",
    "PixelHistogram",
    "ProbeScores",
    "ShapeMoments",
    "backbone_blocks",
    "balanced_subset",
    "bootstrap_std",
    "checkpoint_embeddings",
    "class_probe",
    "compare",
    "comparison_text",
    "count_mse",
    "count_mse_callback",
    "count_probe",
    "count_regression_fit",
    "count_regression_mse",
    "finetune_classifier",
    "holdout_split",
    "knn_probe",
    "knn_probe_fit",
    "label_count_curve",
    "linear_probe",
    "load_backbone",
    "linear_probe_fit",
    "random_embeddings",
    "tsne_2d",
]
