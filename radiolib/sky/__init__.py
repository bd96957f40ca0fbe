"""Simulated radio sky with ground truth: survey presets, source models, instrument, labels.

``simulate("emupilot", size=2048, seed=0, out_dir="sim")`` writes a FITS mosaic, its
segmentation map and a truth catalogue; `frame_labels` and `source_counts` turn the catalogue
into tile labels for any pixel boxes; `field_stats` compares simulated and real fields, and
`radiolib.sky.statistics` measures how counts per crop vary within and between pointings.
"""

from radiolib.sky.plan import FieldPlan, plan_field
from radiolib.sky.pointing import Pointing, draw_pointing
from radiolib.sky.presets import (
    PRESETS,
    ClassSpec,
    ClusterSpec,
    SkyPreset,
    Variation,
    get_preset,
)
from radiolib.sky.realism import field_stats
from radiolib.sky.simulate import SimulatedField, estimate_resources, render_rows, simulate
from radiolib.sky.truth import (
    DET_CLASSES,
    FRAME_LABELS,
    RGZ_CLASSES,
    frame_labels,
    label_matrix,
    primary_label,
    rgz_class,
    source_counts,
)

__all__ = [
    "DET_CLASSES",
    "FRAME_LABELS",
    "PRESETS",
    "RGZ_CLASSES",
    "ClassSpec",
    "ClusterSpec",
    "FieldPlan",
    "Pointing",
    "SimulatedField",
    "SkyPreset",
    "Variation",
    "draw_pointing",
    "estimate_resources",
    "field_stats",
    "frame_labels",
    "get_preset",
    "label_matrix",
    "plan_field",
    "primary_label",
    "render_rows",
    "rgz_class",
    "simulate",
    "source_counts",
]
