"""Blind anomaly search on frame embeddings (Riggi et al. 2024, Task III), for any survey.

- :mod:`~radiolib.anomaly.metrics`: frame kinds, the threshold scan and its crossing point;
- :mod:`~radiolib.anomaly.select`: LightGBM feature selection (early stopping on validation);
- :mod:`~radiolib.anomaly.forest`: Isolation Forest scores in [0, 1] and the parameter scans;
- :mod:`~radiolib.anomaly.baselines`: random ranking and a compression complexity score;
- :mod:`~radiolib.anomaly.review`: the astronomer in the loop (scores, re-ranking, CSV);
- :mod:`~radiolib.anomaly.search`: embed a TileSet, rank it, review it (`radiolib anomaly`);
- :mod:`~radiolib.anomaly.widget`: the same review in a live notebook (ipywidgets, optional).
"""

from radiolib.anomaly.baselines import complexity_scores, compressed_size, random_scores, to_unit
from radiolib.anomaly.forest import (
    CONTAMINATION_GRID,
    MAX_SAMPLES_GRID,
    N_ESTIMATORS,
    forest_scores,
    outlier_flags,
    scan_forest,
)
from radiolib.anomaly.metrics import (
    COMPLEX_LABELS,
    INTERESTING_LABELS,
    KINDS,
    METRICS,
    crossing,
    frame_kinds,
    pure_compact,
    threshold_scan,
)
from radiolib.anomaly.review import (
    KIND_SCORES,
    REVIEW_COLUMNS,
    SCORE_MAX,
    backup,
    inspection_curves,
    mixed_scores,
    read_review,
    review_table,
    simulated_person,
    thumbnail_png,
    write_review,
    write_thumbnails,
)
from radiolib.anomaly.search import (
    embed_tiles,
    load_features,
    rank_search,
    review_search,
    save_search,
    tile_positions,
)
from radiolib.anomaly.select import LGBM_PARAMS, FeatureSelection, select_features
from radiolib.anomaly.widget import ReviewWidget, review_widget

__all__ = [
    "COMPLEX_LABELS", "CONTAMINATION_GRID", "INTERESTING_LABELS", "KINDS", "KIND_SCORES",
    "LGBM_PARAMS", "MAX_SAMPLES_GRID", "METRICS", "N_ESTIMATORS", "REVIEW_COLUMNS", "SCORE_MAX",
    "FeatureSelection", "backup", "complexity_scores", "compressed_size", "crossing",
    "embed_tiles", "forest_scores", "frame_kinds", "inspection_curves", "load_features",
    "mixed_scores", "outlier_flags", "pure_compact", "random_scores", "rank_search",
    "ReviewWidget", "read_review", "review_search", "review_table", "review_widget",
    "save_search", "scan_forest", "select_features", "simulated_person", "threshold_scan",
    "thumbnail_png", "tile_positions", "to_unit", "write_review", "write_thumbnails",
]
