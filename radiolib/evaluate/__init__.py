"""Downstream evaluation of pre-trained backbones: embeddings, probes, label counts, fine-tuning.

The morphology-classification protocol of Riggi et al. is :mod:`~radiolib.evaluate.classify`.

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
from radiolib.evaluate.classify import (
    Draw,
    balanced_draws,
    class_metrics,
    confident_mistakes,
    confusion,
    dihedral_features,
    finetune_predict,
    frozen_protocol,
    label_fraction_curve,
    load_draws,
    save_draws,
    summarise_draws,
    train_softmax_head,
)
from radiolib.evaluate.embed import Embedded, embed_inputs, model_embeddings, weights_sha256
from radiolib.evaluate.finetune import FineTuned, backbone_blocks, finetune_classifier
from radiolib.evaluate.intervals import (
    LEVEL,
    Bootstrap,
    Interval,
    compare,
    comparison_text,
)
from radiolib.evaluate.label_counts import (
    balanced_subset,
    label_count_curve,
    label_draws,
    load_label_draws,
    save_label_draws,
    scaled_label_counts,
    stratified_draw,
)
from radiolib.evaluate.layer_study import (
    PaperHead,
    center_crop,
    finetune_layers,
    paper_layers,
    trainable_layers,
)
from radiolib.evaluate.linear_layer import (
    LinearLayerProbe,
    LinearLayerSettings,
    linear_layer_runs,
    sigma_outliers,
)
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
from radiolib.evaluate.projection import group_cohesion, tsne_2d, umap_2d
from radiolib.evaluate.scoring import PREDICT_MEAN, ProbeScores, class_probe, count_probe
from radiolib.evaluate.splits import group_split, holdout_split

__all__ = [
    "Bootstrap",
    "Draw",
    "Embedded",
    "FineTuned",
    "Interval",
    "LEVEL",
    "LinearLayerProbe",
    "LinearLayerSettings",
    "PREDICT_MEAN",
    "PUBLISHED",
    "PaperHead",
    "PeakCounter",
    "PixelHistogram",
    "ProbeScores",
    "ShapeMoments",
    "backbone_blocks",
    "balanced_draws",
    "balanced_subset",
    "bootstrap_std",
    "center_crop",
    "checkpoint_embeddings",
    "class_metrics",
    "class_probe",
    "compare",
    "comparison_text",
    "confident_mistakes",
    "confusion",
    "count_mse",
    "count_mse_callback",
    "count_probe",
    "count_regression_fit",
    "count_regression_mse",
    "dihedral_features",
    "embed_inputs",
    "model_embeddings",
    "finetune_classifier",
    "finetune_layers",
    "finetune_predict",
    "frozen_protocol",
    "group_split",
    "holdout_split",
    "knn_probe",
    "knn_probe_fit",
    "label_count_curve",
    "label_draws",
    "label_fraction_curve",
    "linear_layer_runs",
    "linear_probe",
    "linear_probe_fit",
    "load_backbone",
    "load_draws",
    "load_label_draws",
    "paper_layers",
    "random_embeddings",
    "save_draws",
    "save_label_draws",
    "scaled_label_counts",
    "sigma_outliers",
    "stratified_draw",
    "summarise_draws",
    "train_softmax_head",
    "trainable_layers",
    "group_cohesion",
    "tsne_2d",
    "umap_2d",
    "weights_sha256",
]
