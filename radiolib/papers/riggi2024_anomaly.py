"""Riggi et al. 2024 [0], Task III: the blind search for peculiar frames (Sect. 5, App. A).

On hulk tiles of simulated EMU-pilot-like fields whose frame labels come from the truth
(:func:`search_frames`; a random ``labelled_fraction`` of them plays the annotated subset,
the rest is unlabelled): LightGBM feature selection of "interesting" vs "ordinary" frames
(:func:`feature_selection`, Fig. A.2), the Isolation Forest scans per top-k feature set
(:func:`forest_scan`), Table 4 with random and complexity baselines (:func:`table4`), the
data of Fig. 12 (:func:`fig12_data`), the UMAP of Fig. A.3 (:func:`umap_2d`) and the
astronomer in the loop with a simulated person (:func:`loop_result`).

- [0] Riggi et al. 2024, PASA, arXiv:2404.18462
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import umap
from sklearn.decomposition import PCA

from radiolib.anomaly import (
    CONTAMINATION_GRID,
    INTERESTING_LABELS,
    LGBM_PARAMS,
    MAX_SAMPLES_GRID,
    METRICS,
    N_ESTIMATORS,
    crossing,
    forest_scores,
    frame_kinds,
    inspection_curves,
    pure_compact,
    scan_forest,
    select_features,
    threshold_scan,
)
from radiolib.evaluate import checkpoint_embeddings
from radiolib.io import robust_noise
from radiolib.papers import PaperResult, survey
from radiolib.results import load_published
from radiolib.sky import FRAME_LABELS
from radiolib.ssl.data import ScaledTiles

__all__ = ["DATASET", "FEATURE_SETS", "FIGURES", "GRID", "LOOP", "SELECTION", "SETTINGS",
           "TABLE4", "TABLE4_COLUMNS", "dataset_result", "feature_selection", "fig12_data",
           "forest_scan", "frame_embeddings", "loop_result", "search_frames", "table4",
           "umap_2d"]

#: The top-k feature sets scanned (Sect. 5.2).
FEATURE_SETS = (2, 5, 10, 15)
#: Table 4's columns: our scan column behind each.
TABLE4_COLUMNS = {"score_threshold": "threshold", "recall": "recall", "precision": "precision",
                  "precision_peculiar_complex": "precision_peculiar_complex",
                  "contamination_complex": "contamination_complex",
                  "contamination_ordinary": "contamination_ordinary"}
#: Table 4's keys: feature set -> column -> key.
TABLE4 = {f"top{k}": {c: f"riggi2024.table4.{c}_top{k}" for c in TABLE4_COLUMNS}
          for k in FEATURE_SETS}
#: The data set of the search (Sect. 5.1).
DATASET = {"labelled_fraction": "riggi2024.sec5_1.labelled_fraction",
           "n_labelled": "riggi2024.sec5_1.n_labelled",
           "n_labels": "riggi2024.sec5_1.n_labels",
           "n_peculiar": "riggi2024.sec5_1.n_peculiar"}
#: Feature selection (Sect. 5.2).
SELECTION = {"f1": "riggi2024.sec5_2.lgbm_f1", "n_features": "riggi2024.sec5_2.n_features_all",
             "max_depth": "riggi2024.sec5_2.lgbm_max_depth",
             "num_leaves": "riggi2024.sec5_2.lgbm_num_leaves",
             "min_data_in_leaf": "riggi2024.sec5_2.lgbm_min_data_in_leaf",
             "n_explore": "riggi2024.sec5_2.n_top_features_explore"}
#: Isolation Forest settings and scan ranges (Sect. 5.2).
SETTINGS = {"n_estimators": "riggi2024.sec5_2.if_n_estimators",
            "contamination_min": "riggi2024.sec5_2.if_contamination_scan_min",
            "contamination_max": "riggi2024.sec5_2.if_contamination_scan_max",
            "contamination_n": "riggi2024.sec5_2.if_contamination_scan_n",
            "max_samples_min": "riggi2024.sec5_2.if_max_samples_scan_min",
            "max_samples_max": "riggi2024.sec5_2.if_max_samples_scan_max",
            "max_samples_n": "riggi2024.sec5_2.if_max_samples_scan_n",
            "sets_min": "riggi2024.sec5_2.if_feature_sets_min",
            "sets_max": "riggi2024.sec5_2.if_feature_sets_max",
            "sets_n": "riggi2024.sec5_2.if_feature_sets_n",
            "max_samples_best": "riggi2024.sec5_2.if_max_samples_best",
            "contamination_best": "riggi2024.sec5_2.if_contamination_best",
            "score_min": "riggi2024.sec5_2.if_score_min",
            "score_max": "riggi2024.sec5_2.if_score_max",
            "fig12_n_features": "riggi2024.sec5_2.fig12_n_features"}
#: Figures this search redraws.
FIGURES = {"fig11": "riggi2024.fig11.peculiar_frames",
           "fig12_hist": "riggi2024.fig12.score_hist_top10",
           "fig12_recall": "riggi2024.fig12.recall_vs_threshold_top10",
           "fig12_precision": "riggi2024.fig12.precision_vs_threshold_top10",
           "fig12_pec_complex": "riggi2024.fig12.precision_peculiar_complex_vs_threshold_top10",
           "fig12_contamination": "riggi2024.fig12.contamination_vs_threshold_top10",
           "figa2": "riggi2024.figa2.lgbm_feature_importance",
           "figa3": "riggi2024.figa3.umap_top15",
           "figa4": "riggi2024.figa4.anomaly_ui"}
#: Keys of the astronomer-in-the-loop comparison (ours: the paper gives no numbers).
LOOP = {"score": "extra.anomaly.loop.found_score_alone",
        "loop": "extra.anomaly.loop.found_with_loop",
        "random": "extra.anomaly.loop.found_random",
        "n_peculiar": "extra.anomaly.loop.n_peculiar"}
#: Score thresholds of the scan (a fine grid: the crossing is interpolated between points).
GRID = np.round(np.linspace(0.0, 1.0, 201), 4)
#: Features shown in Fig. 12 (Sect. 5.2).
FIG12_SET = 10
_BASELINES = ("random", "complexity")


def search_frames(fields, work: str | os.PathLike, *, labelled_fraction: float = 0.1,
                  seed: int = 0):
    """Hulk tiles of ``fields`` and a table of their frames: labels, kinds, noise rms.

    ``labelled`` marks a random ``labelled_fraction`` of the frames (the annotated subset);
    ``kind`` is their kind as the paper counts it (others ``unlabelled``), ``truth_kind`` the
    kind from the truth for every frame, ``interesting`` EXTENDED/DIFFUSE/DIFFUSE-LARGE,
    ``rms`` the robust noise of the tile. Returns (TileSet, DataFrame).
    """
    if not 0 < labelled_fraction <= 1:
        raise ValueError(f"labelled_fraction must be in (0, 1], got {labelled_fraction}")
    ts = survey.tile_simulated(list(fields), "hulk", out_dir=Path(work) / "anomaly_hulk")
    frames = ts.index[["field", "x0", "y0", "x1", "y1", "labels", "primary"]].copy()
    n = len(frames)
    rng = np.random.default_rng(seed)
    labelled = np.zeros(n, bool)
    labelled[rng.choice(n, max(1, round(labelled_fraction * n)), replace=False)] = True
    sets = frames["labels"].astype(str)
    frames["labelled"] = labelled
    frames["kind"] = frame_kinds(sets, labelled)
    frames["truth_kind"] = frame_kinds(sets)
    frames["pure_compact"] = pure_compact(sets)
    frames["interesting"] = [bool(set(s.split("|")) & INTERESTING_LABELS) for s in sets]
    frames["rms"] = [robust_noise(np.asarray(ts.tiles[i], np.float32).ravel())
                     for i in range(n)]
    return ts, frames


def dataset_result(frames: pd.DataFrame, *, note: str | None = None) -> PaperResult:
    """Frames, labelled frames and labelled PECULIAR frames of the search (Sect. 5.1)."""
    lab = frames["labelled"].to_numpy(bool)
    counts = {"frames": len(frames), "labelled": int(lab.sum()),
              "labelled PECULIAR": int((frames["kind"] == "peculiar").sum()),
              "PECULIAR (truth, all)": int((frames["truth_kind"] == "peculiar").sum())}
    records = {DATASET["labelled_fraction"]: 100 * lab.mean(),
               DATASET["n_labelled"]: counts["labelled"],
               DATASET["n_labels"]: len(FRAME_LABELS),
               DATASET["n_peculiar"]: counts["labelled PECULIAR"]}
    table = pd.Series(counts, name="frames").to_frame()
    return PaperResult(table, records, note=note)


def frame_embeddings(checkpoint: str | os.PathLike, tileset, *, image_size: int,
                     cache_dir: str | os.PathLike | None = None) -> np.ndarray:
    """Embeddings of every tile by a SimCLR checkpoint (riggi3 input at ``image_size``), cached."""
    images = ScaledTiles(tileset, mode="riggi3", size=image_size).materialize().images
    return checkpoint_embeddings(checkpoint, images, cache_dir=cache_dir)


def feature_selection(features, frames: pd.DataFrame, *, seed: int = 0,
                      note: str | None = None) -> PaperResult:
    """LightGBM of interesting vs ordinary labelled frames; importance of every feature.

    Records the test F1 (%) and the settings; ``details`` holds the
    `radiolib.anomaly.FeatureSelection` (``selection``).
    """
    lab = frames["labelled"].to_numpy(bool)
    x = np.asarray(features)[lab]
    sel = select_features(x, frames["interesting"].to_numpy(bool)[lab], seed=seed)
    top = sel.ranking[:15]
    table = pd.DataFrame({"feature": top, "splits": sel.importance[top],
                          "gain": sel.gain[top].round(2)})
    table.index = pd.RangeIndex(1, len(top) + 1, name="rank")
    records = {SELECTION["f1"]: 100 * sel.f1, SELECTION["n_features"]: x.shape[1],
               SELECTION["max_depth"]: LGBM_PARAMS["max_depth"],
               SELECTION["num_leaves"]: LGBM_PARAMS["num_leaves"],
               SELECTION["min_data_in_leaf"]: LGBM_PARAMS["min_child_samples"],
               SELECTION["n_explore"]: 15}
    return PaperResult(table, records, note=note,
                       details={"selection": sel, "n_train": sel.n_train, "n_valid": sel.n_valid,
                                "n_test": sel.n_test, "best_iteration": sel.best_iteration})


def _numeric(grid) -> list[float]:
    return [float(v) for v in grid if v != "auto"]


def forest_scan(features, ranking, frames: pd.DataFrame, *, feature_sets=FEATURE_SETS,
                max_samples=MAX_SAMPLES_GRID, contamination=CONTAMINATION_GRID,
                n_estimators: int = N_ESTIMATORS, seed: int = 0,
                note: str | None = None) -> PaperResult:
    """Isolation Forest scans per top-k feature set; the best setting's scores for every frame.

    The forest is fitted on all frames; settings are judged on the labelled frames (PECULIAR
    vs the rest), best first by the average precision of the score, then by the F1 of the
    outlier flag (see `radiolib.anomaly.scan_forest`). ``details``: ``scans`` (set -> table)
    and ``scores`` (set -> scores in [0, 1] of the best setting).
    """
    x = np.asarray(features, float)
    peculiar = (frames["truth_kind"] == "peculiar").to_numpy()
    lab = frames["labelled"].to_numpy(bool)
    scans, scores, rows = {}, {}, []
    for k in feature_sets:
        cols = np.asarray(ranking)[:k]
        scan = scan_forest(x[:, cols], peculiar, lab, max_samples=max_samples,
                           contamination=contamination, n_estimators=n_estimators, seed=seed)
        best = scan.iloc[0]
        scans[f"top{k}"] = scan
        scores[f"top{k}"] = forest_scores(x[:, cols], max_samples=best["max_samples"],
                                          n_estimators=n_estimators, seed=seed)
        rows.append({"features": f"top{k}", "max_samples": best["max_samples"],
                     "contamination": best["contamination"], "ap": best["ap"],
                     "f1": best["f1"]})
    table = pd.DataFrame(rows).set_index("features")
    ref = f"top{FIG12_SET}" if f"top{FIG12_SET}" in table.index else table.index[0]
    records = {SETTINGS["n_estimators"]: n_estimators,
               SETTINGS["contamination_n"]: len(contamination),
               SETTINGS["max_samples_n"]: len(max_samples),
               SETTINGS["sets_min"]: min(feature_sets), SETTINGS["sets_max"]: max(feature_sets),
               SETTINGS["sets_n"]: len(feature_sets), SETTINGS["fig12_n_features"]: FIG12_SET,
               SETTINGS["score_min"]: 0, SETTINGS["score_max"]: 1}
    for name, grid in (("contamination", contamination), ("max_samples", max_samples)):
        if _numeric(grid):
            records[SETTINGS[f"{name}_min"]] = min(_numeric(grid))
            records[SETTINGS[f"{name}_max"]] = max(_numeric(grid))
        best = table.loc[ref, name]
        if best != "auto":
            records[SETTINGS[f"{name}_best"]] = float(best)
    return PaperResult(table, records, note=note, details={"scans": scans, "scores": scores})


def table4(scores: dict[str, np.ndarray], frames: pd.DataFrame, *, grid=GRID,
           note: str | None = None) -> PaperResult:
    """Table 4: metrics where peculiar recall and precision cross, per score, in %.

    ``scores`` maps ``top2`` ... ``top15`` (and any baseline, e.g. ``random``,
    ``complexity``) to a score in [0, 1] per frame. Counts use the labelled frames as the
    paper's do. Published values stand beside ours (columns ``<metric> (paper)``).
    """
    kinds = frames["kind"].to_numpy(str)
    published = load_published().set_index("key")["value"]
    rows, records = {}, {}
    for name, s in scores.items():
        point = crossing(threshold_scan(s, kinds, grid), s, kinds)
        row = {"threshold": point["threshold"],
               **{m: 100 * point[m] for m in METRICS}}
        rows[name] = row
        keys = TABLE4.get(name)
        for col, ours in TABLE4_COLUMNS.items():
            value = row[ours]
            if keys and np.isfinite(value):
                records[keys[col]] = float(value)
            elif not keys and np.isfinite(value):
                records[f"extra.anomaly.{name}.{col}"] = float(value)
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.index.name = "features"
    for col, ours in TABLE4_COLUMNS.items():
        table[f"{ours} (paper)"] = [published.get(TABLE4[n][col], np.nan) if n in TABLE4
                                    else np.nan for n in table.index]
    return PaperResult(table, records, note=note)


def fig12_data(scores, frames: pd.DataFrame, *, grid=GRID) -> dict:
    """Return what Fig. 12 shows: scores per frame group, the threshold scan, its crossing."""
    s = np.asarray(scores, float)
    kinds = frames["kind"].to_numpy(str)
    groups = {"all": s, "unlabelled": s[kinds == "unlabelled"],
              "peculiar": s[kinds == "peculiar"], "ordinary": s[kinds == "ordinary"],
              "pure compact": s[frames["pure_compact"].to_numpy(bool)
                                & frames["labelled"].to_numpy(bool)],
              "complex": s[kinds == "complex"]}
    scan = threshold_scan(s, kinds, grid)
    return {"groups": groups, "scan": scan, "crossing": crossing(scan, s, kinds)}


def umap_2d(x, *, seed: int = 0, method: str = "umap") -> np.ndarray:
    """Project ``x`` to 2-D (Fig. A.3), seeded: UMAP, or PCA for quick checks.

    ``method="pca"`` avoids UMAP's numba compilation (tens of seconds on first use).
    """
    x = np.asarray(x, float)
    if method == "pca":
        return PCA(2, random_state=seed).fit_transform(x)
    if method != "umap":
        raise ValueError(f"method must be 'umap' or 'pca', got {method!r}")
    n_neighbors = int(max(2, min(15, len(x) - 1)))
    return umap.UMAP(n_neighbors=n_neighbors, random_state=seed, n_jobs=1).fit_transform(x)


def loop_result(features, scores, frames: pd.DataFrame, *, budget: int, batch: int = 20,
                weight: float = 0.5, seed: int = 0, note: str | None = None) -> PaperResult:
    """Peculiar frames found against frames inspected: score alone, with the loop, random.

    The simulated person scores from the truth of every frame (PECULIAR 5, complex 3,
    ordinary 0); records the counts found within ``budget`` inspections.
    """
    curves = inspection_curves(features, scores, frames["truth_kind"].to_numpy(str),
                               budget=budget, batch=batch, weight=weight, seed=seed)
    last = curves.iloc[-1]
    records = {LOOP["score"]: int(last["score"]), LOOP["loop"]: int(last["loop"]),
               LOOP["random"]: float(last["random"]),
               LOOP["n_peculiar"]: int((frames["truth_kind"] == "peculiar").sum())}
    return PaperResult(curves, records, note=note)
