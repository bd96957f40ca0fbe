"""Figure functions: data in, :class:`matplotlib.figure.Figure` out; one module per book stage."""

from radiolib.plots.anomaly import (
    plot_feature_importance,
    plot_fig12,
    plot_inspection_curves,
    plot_projection,
)
from radiolib.plots.budget import plot_budget_curves
from radiolib.plots.classify import (
    plot_confusion,
    plot_confusions,
    plot_f1_per_class,
    plot_label_fraction_curve,
)
from radiolib.plots.data import plot_channels, plot_image_grid, plot_scaling_comparison, use_style
from radiolib.plots.detect import (
    plot_completeness_vs_flux,
    plot_detection_examples,
    plot_f1_by_class,
    plot_f1_vs_ntrain,
    plot_sky_detections,
)
from radiolib.plots.evaluate import (
    plot_attention_maps,
    plot_backbone_panels,
    plot_count_scatter,
    plot_count_scatters,
    plot_feature_maps,
    plot_head_attention,
    plot_label_count_curves,
    plot_map_colourings,
)
from radiolib.plots.sky import (
    display_norm,
    plot_centre_edge,
    plot_crop_sources,
    plot_field_gallery,
    plot_field_zooms,
    plot_fields_by_flag,
    plot_label_fractions,
    plot_realism,
    plot_tiles,
    thumbnail,
)
from radiolib.plots.ssl import plot_learning_curve
from radiolib.plots.ssl_figures import (
    plot_ablation,
    plot_augmentation_gallery,
    plot_learning_curves,
    plot_probe_scores,
)

__all__ = [
    "plot_feature_importance",
    "plot_fig12",
    "plot_inspection_curves",
    "plot_projection",
    "display_norm",
    "plot_ablation",
    "plot_attention_maps",
    "plot_backbone_panels",
    "plot_budget_curves",
    "plot_augmentation_gallery",
    "plot_centre_edge",
    "plot_channels",
    "plot_completeness_vs_flux",
    "plot_confusion",
    "plot_confusions",
    "plot_crop_sources",
    "plot_count_scatter",
    "plot_count_scatters",
    "plot_detection_examples",
    "plot_f1_by_class",
    "plot_f1_per_class",
    "plot_f1_vs_ntrain",
    "plot_sky_detections",
    "plot_feature_maps",
    "plot_head_attention",
    "plot_map_colourings",
    "plot_field_gallery",
    "plot_field_zooms",
    "plot_fields_by_flag",
    "plot_image_grid",
    "plot_label_count_curves",
    "plot_label_fraction_curve",
    "plot_label_fractions",
    "plot_learning_curve",
    "plot_learning_curves",
    "plot_probe_scores",
    "plot_realism",
    "plot_scaling_comparison",
    "plot_tiles",
    "thumbnail",
    "use_style",
]
