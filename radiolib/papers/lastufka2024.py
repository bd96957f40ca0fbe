"""Lastufka et al. 2024 [0]: DINO on MeerKAT MGCLS crops, its probes, ablation and result keys.

The functions here are the paper's experiments at any profile's size: the recipes scaled to a
run (:func:`run_recipe`), simulated MGCLS- and MIGHTEE-like crops (:func:`mgcls_crops`,
:data:`COUNT_SETS`) and a simulated MIGHTEE_FR (:func:`mightee_fr_like`), the source-count probe
on one held-out split shared with the training callback (:func:`count_mse_table`, a
scikit-learn cross-check; :func:`paper_count_result`, the paper's linear layer, Figs 5 and 8), the
augmentation ablation (:func:`ablation_combos`, :func:`ablation_table`), the frozen-feature
MiraBest probe and the fine-tuning records (:func:`probe_records`, :func:`finetune_records`).
Keys of ``published.yaml`` are the constants below (a test checks that each exists).

- [0] Lastufka et al. 2024, A&A 690, A310, arXiv:2408.06147
"""

from __future__ import annotations

import dataclasses
import itertools
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from astropy.io import fits
from tqdm.auto import tqdm

from radiolib.data.loaders import LabelledImages
from radiolib.errors import ConfigError, DataError
from radiolib.evaluate.backbones import load_backbone
from radiolib.evaluate.classify import confusion
from radiolib.evaluate.embed import model_embeddings
from radiolib.evaluate.finetune import repeat_channels
from radiolib.evaluate.intervals import interval_note
from radiolib.evaluate.label_counts import label_draws, save_label_draws, scaled_label_counts
from radiolib.evaluate.layer_study import center_crop, finetune_layers
from radiolib.evaluate.linear_layer import (
    LinearLayerProbe,
    LinearLayerSettings,
    linear_layer_runs,
    sigma_outliers,
)
from radiolib.evaluate.probes import checkpoint_embeddings, random_embeddings
from radiolib.evaluate.projection import group_cohesion
from radiolib.evaluate.scoring import PREDICT_MEAN, ProbeScores, class_probe, count_probe
from radiolib.evaluate.splits import holdout_split
from radiolib.models.extractor import FeatureExtractor
from radiolib.papers import PaperResult, survey
from radiolib.results import load_published, slug
from radiolib.scaling import fitted_scaling, resize
from radiolib.sky import get_preset, simulate
from radiolib.tiling import tile_fields

__all__ = ["ABLATION_KEYS", "ABLATION_SWITCHES", "COUNT_SETS", "CountSet", "TABLE4_SETS",
           "PROBE_N_RUNS", "PROBE_OUTLIER_SIGMA", "PROBE_SETTINGS", "RECIPES",
           "RGD_FINETUNE_KEY", "TEST_FRACTION", "ablation_combos", "ablation_label",
           "ablation_table", "count_mse_table", "finetune_records", "frozen_probes",
           "table4_key", "fig6_cohesion", "paper_count_result", "count_features", "MIGHTEE_FR_KEYS",
           "mightee_fr_like",
           "paper_probe_result", "upper_tail", "crop_colourings", "crop_sources",
           "TABLE4_TASKS", "table4_panels", "fig11_result", "FIG11_MODELS", "OTHER_BACKBONES",
           "UNLOADED_BACKBONES", "RGD_ROWS", "RELEASED_BAR", "quality_bar",
           "others_evidence", "paper_row", "paper_rows", "other_features", "with_others",
           "other_backbones", "best_runs",
           "mgcls_crops", "probe_records", "run_recipe", "TABLE5_CROP", "TABLE5_HIDDEN",
           "TABLE5_LAST_EPOCHS", "TABLE5_LAYERS", "TABLE5_MODELS", "TABLE6_COUNTS",
           "TABLE6_TOTAL", "label_study", "layer_study", "table5_key", "table6_counts",
           "table6_key"]

#: The paper's two backbones and the config file of each.
RECIPES = {"ResNet50": "dino_resnet50", "ViT-S/8": "dino_vits8"}
#: Share of the evaluation crops held out to score the count probe (70/30, Sect. 3.2).
TEST_FRACTION = 0.3


@dataclass(frozen=True)
class CountSet:
    """One of the paper's two source-count sets (Sect. 4.1), simulated: what makes and scores it.

    ``preset``: the sky preset of its pointings; ``field_limits``: the per-field contrast
    stretch of its crops (Sect. 2.4); ``mse_keys``: backbone -> keys of its paper-probe MSE
    (Fig. 5 end point, Table 4 column); ``tail``: the count above which Sect. 4.1 reads Fig. 8;
    ``tail_keys``: ``"count"`` (share of crops above it), ``"prediction"`` (share of
    predictions above it), ``"max_prediction"`` (largest prediction), where the paper gives
    them.
    """

    preset: str
    field_limits: str
    mse_keys: Mapping[str, tuple[str, ...]]
    tail: int
    tail_keys: Mapping[str, str]


#: MGCLS (the training survey) and MIGHTEE (deeper, never trained on): Table 4's two count
#: columns. The paper: 2 % of MGCLS crops above 60 sources, 0.15 % of predictions; 1 % of
#: MIGHTEE crops above 50, no prediction above 50.
COUNT_SETS = {
    "MGCLS": CountSet(
        "mgcls", "contrast_2_98",
        {"ResNet50": ("lastufka2024.fig5.count_mse_resnet50",
                      "lastufka2024.table4.mgcls_mse_resnet50_mgcls"),
         "ViT-S/8": ("lastufka2024.fig5.count_mse_vits8",
                     "lastufka2024.table4.mgcls_mse_vits8_mgcls")},
        60, {"count": "lastufka2024.sec4_1.frac_mgcls_count_gt60",
             "prediction": "lastufka2024.sec4_1.frac_mgcls_pred_gt60"}),
    "MIGHTEE": CountSet(
        "mightee", "contrast_2_99.9",
        {"ResNet50": ("lastufka2024.table4.mightee_mse_resnet50_mgcls",),
         "ViT-S/8": ("lastufka2024.table4.mightee_mse_vits8_mgcls",)},
        50, {"count": "lastufka2024.sec4_1.frac_mightee_count_gt50",
             "max_prediction": "lastufka2024.fig8.max_pred_mightee"}),
}
#: The augmentations the ablation adds to flips and blur (Sect. 3.1.1).
ABLATION_SWITCHES = ("rotation", "autocontrast", "power_law")
#: Ablation runs the paper names, by :func:`ablation_label`.
ABLATION_KEYS = {
    "none": "lastufka2024.sec3_1_1.count_mse_default",
    "rotation": "lastufka2024.sec3_1_1.count_mse_rotation",
    "autocontrast": "lastufka2024.sec3_1_1.count_mse_autocontrast",
    "power-law": "lastufka2024.sec3_1_1.count_mse_power_law",
    "rotation + power-law": "lastufka2024.sec3_1_1.count_mse_rotation_power_law",
}
#: The frozen-feature FRI/FRII sets of Table 4: data-set name -> its columns' key prefix.
TABLE4_SETS = {"MiraBest": "mirabest", "MIGHTEE_FR": "mightee_fr"}
#: Table 4's row suffix of each of our backbones (the paper's "MGCLS" models).
_TABLE4_ROWS = {"ResNet50": "resnet50_mgcls", "ViT-S/8": "vits8_mgcls"}
#: The MIGHTEE_FR facts a simulated set follows (published.yaml keys): galaxies per class,
#: training images (the rest is the test set) and the cut-out side.
MIGHTEE_FR_KEYS = {"FRI": "lastufka2024.sec4_2.n_mightee_fr_fri",
                   "FRII": "lastufka2024.sec4_2.n_mightee_fr_frii",
                   "train": "lastufka2024.appc2.n_mightee_fr_train",
                   "side": "lastufka2024.table1.crop_side_mightee_fr"}
#: Table 4's backbones trained by others that load by name when their file is in the data folder
#: (:func:`radiolib.evaluate.load_backbone`; :mod:`radiolib.evaluate.released` for the three
#: astronomy and DINOv2 ones): row label -> (name to load, Table 4 key suffix).
OTHER_BACKBONES = {
    "DINO ImageNet ResNet50": ("dino_imagenet:resnet50", "dino_resnet50_imagenet"),
    "DINOv2 ViT-G/14": ("dinov2:vitg14", "dinov2_vitg14"),
    "GZ2 MoCo": ("hayat2021:resnet50", "gz2_moco"),
    "RGZ BYOL": ("rgz_byol:resnet18", "rgz_byol"),
}
#: Table 4's rows that no backbone file stands behind: row label -> (Table 4 key suffix, why).
UNLOADED_BACKBONES = {
    "DeCALS BYOL": ("decals_byol", "no public weights: the paper scored features that Mohale & "
                    "Lochner (2024) shared with its authors"),
    "RGZ VDVAE": ("rgz_vdvae", "no public weights: the paper quotes its value from "
                  "Andrianomena & Tang (2024)"),
}
#: RadioGalaxyDataset accuracy of the fine-tuned ResNet50 (Table 4).
RGD_FINETUNE_KEY = "lastufka2024.table4.rgd_accuracy_resnet50_mgcls"
#: Table 4's rows with a fine-tuned RadioGalaxyDataset accuracy (``table4.rgd_accuracy_<row>``).
RGD_ROWS = ("dino_resnet50_imagenet", "gz2_moco", "resnet50_mgcls", "rgz_byol", "vits8_mgcls")

#: The paper's linear-layer probe (:class:`radiolib.evaluate.LinearLayerProbe`), per task.
#: From the paper: PCA to 100 (``lastufka2024.sec4.pca_dim``), one linear layer
#: (``sec4.probe_layers``), 100 regression / 300 classification epochs
#: (``sec4.regression_epochs`` / ``sec4.classification_epochs``), a 70/30 train/validation split
#: (``sec3_2.probe_train_frac`` / ``probe_val_frac``). Not in the paper, taken from the authors'
#: evaluation code (github.com/elastufka/mgcls_dino, evaluator.py / evaluation_models.py):
#: plain SGD, regression at lr 1e-3, weight decay 1e-5, batches of 64; classification at lr
#: 5e-3, no weight decay, batches of 16.
PROBE_SETTINGS = {
    "regression": LinearLayerSettings(task="regression", epochs=100, lr=1e-3, batch_size=64,
                                      weight_decay=1e-5, optimizer="sgd", n_components=100,
                                      val_fraction=0.3),
    "classification": LinearLayerSettings(task="classification", epochs=300, lr=5e-3,
                                          batch_size=16, weight_decay=0.0, optimizer="sgd",
                                          n_components=100, val_fraction=0.3),
}
#: Independent probe runs behind each mean ± std (``lastufka2024.sec4_1.n_runs``).
PROBE_N_RUNS = 3
#: Source counts further than this many stds from the mean are dropped (Sect. 4.1; the
#: multiple is lost in our text of the paper, see ``sec4_1.outliers_mgcls``; 3 is the default
#: ``sigma`` of the authors' evaluator.py).
PROBE_OUTLIER_SIGMA = 3.0


def run_recipe(recipe, *, batch_size: int, epochs: int, image_size: int,
               crop_sizes: tuple[int, int], n_local: int, head: tuple[int, int, int],
               warmup_epochs: int, eval_every: int = 0, **changes):
    """Return a recipe at a profile's size: input and crop sides, head, epochs and batch.

    The learning rate stays the paper's (DINO gives it per global batch of 256 and scales it
    itself); ``changes`` are any other config keys (an ablation's switches, a backbone).
    """
    return recipe.at_batch(batch_size).replace(
        image_size=image_size, global_size=crop_sizes[0], local_size=crop_sizes[1],
        n_local=n_local, hidden_dim=head[0], bottleneck_dim=head[1], out_dim=head[2],
        epochs=epochs, warmup_epochs=warmup_epochs, eval_every=eval_every, num_workers=0,
        log_every=5, **changes)


def mgcls_crops(seeds, size: int, work: str | os.PathLike, name: str, *,
                preset: str = "mgcls"):
    """Simulate one pointing of ``preset`` per seed and cut 256² crops as MGCLS's (a TileSet).

    ``preset`` is ``"mgcls"`` or ``"mightee"`` (:data:`COUNT_SETS`; a MIGHTEE-like crop counts
    source components). Fields are cached in ``work/fields`` and the crops in ``work/name``: a
    notebook asking for the same seeds, size and preset under the same name reuses them
    (:func:`survey.reuse_or_make`).
    """
    work = Path(work)

    def make():
        fields = [simulate(preset, size=size, seed=s, out_dir=work / "fields") for s in seeds]
        return survey.tile_simulated(fields, "mgcls", out_dir=work / name)

    truth = "mgcls" if preset == "mgcls" else f"mgcls:{preset}"
    return survey.reuse_or_make(work / name, {"seeds": [int(s) for s in seeds],
                                              "size": int(size), "truth": truth}, make)


def count_features(runs: Mapping[str, object], configs: Mapping[str, object], images, *,
                   cache_dir: str | os.PathLike, seed: int = 0) -> dict[str, np.ndarray]:
    """Frozen features of held-out crops: each DINO teacher and an untrained twin of each.

    ``runs`` and ``configs`` map a backbone name (``"ResNet50"``) to its finished run and its
    config; rows are labelled ``"<name> (DINO)"`` and ``"<name> (untrained)"``, as the probes
    and their comparison texts expect. Teacher embeddings are cached by content.
    """
    features = {f"{n} (DINO)": checkpoint_embeddings(r.checkpoint, images,
                                                     cache_dir=Path(cache_dir) / "embeddings")
                for n, r in runs.items()}
    features |= {f"{n} (untrained)": random_embeddings(cfg.backbone, images, seed=seed)
                 for n, cfg in configs.items()}
    return features


def _model(label: str) -> str | None:
    """``"ResNet50 (DINO)"`` -> ``"ResNet50"``; None for an untrained or other model."""
    name, _, kind = label.partition(" (")
    return name if kind == "DINO)" and name in RECIPES else None


def _count_records(scores: ProbeScores, prefix: str) -> tuple[dict, dict]:
    """Each row's MSE as ``<prefix>.<slug>`` and its ± (half-width of the 95 % interval)."""
    records = {f"{prefix}.{slug(name)}": scores.interval(name).value
               for name in scores.predictions}
    spreads = {f"{prefix}.{slug(name)}": w for name, w in scores.half_widths().items()}
    return records, spreads


def _reference_pairs(names, references) -> list[tuple[str, str]]:
    return [(name, ref) for name in names for ref in references]


def count_mse_table(features: dict[str, np.ndarray], counts, *, crops=None, seed: int = 0,
                    n_components: int = 100, n_boot: int = 1000, dataset: str = "MGCLS",
                    note: str | None = None) -> PaperResult:
    """Source-count MSE of each model's frozen features and of the reference rows, with 95 %.

    PCA to ``n_components`` and a linear layer fitted on 70 % of the crops, scored on the
    other 30 %: the split of :func:`radiolib.evaluate.holdout_split`, the same as the training
    callback's, so the last point of the learning curve is this table's number. With
    ``crops`` (the held-out crops at full resolution, e.g. a TileSet's ``tiles``) the same
    probe is fitted on a pixel histogram (baseline) and on a 5σ peak count (hand-made);
    "predict the mean" is always there. Intervals: bootstrap over the test crops (paired
    between rows); ``text`` compares each DINO backbone with its untrained twin, and every
    backbone with predicting the mean and with the references. Records go to
    ``extra.dino.count_mse.*`` (MGCLS) or ``extra.dino.<dataset>_count_mse.*``.
    """
    _count_set(dataset)
    counts = np.asarray(counts, dtype=float)
    fit, test = holdout_split(len(counts), TEST_FRACTION, seed=seed)
    scores = count_probe(features, counts, fit, test, images=crops, n_components=n_components,
                         n_boot=n_boot, seed=seed)
    prefix = ("extra.dino.count_mse" if dataset == "MGCLS"
              else f"extra.dino.{dataset.lower()}_count_mse")
    records, spreads = _count_records(scores, prefix)
    refs = [n for n, k in scores.kinds.items() if k not in ("model", "mean")]
    dino = [n for n in features if _model(n)]
    pairs = [(n, n.replace("(DINO)", "(untrained)")) for n in dino]
    pairs += [(n, PREDICT_MEAN) for n in features]
    pairs += _reference_pairs(features, refs)
    table = scores.table().rename(columns={"mse": "source-count MSE (held-out crops)"})
    return PaperResult(table, records, note=interval_note(note), uncertainties=spreads,
                       text=scores.text(pairs, label="MSE"))


def paper_row(label: str) -> str | None:
    """Return the paper's row suffix of a backbone label; None for an untrained twin, a reference.

    Ours: ``"ResNet50 (DINO)"`` -> ``"resnet50_mgcls"``; others' by :data:`OTHER_BACKBONES`:
    ``"RGZ BYOL"`` -> ``"rgz_byol"``.
    """
    return _TABLE4_ROWS.get(_model(label) or "") or OTHER_BACKBONES.get(label, (None, None))[1]


def paper_rows(labels: Sequence[str], within: Sequence[str] | None = None) -> dict[str, str]:
    """``{label: row suffix}`` of the ``labels`` the paper has a row for (in ``within`` if given).

    E.g. the ``paper_models`` of :func:`layer_study`: ``paper_rows(labels, TABLE5_MODELS)``.
    """
    rows = {label: paper_row(label) for label in labels}
    return {label: row for label, row in rows.items()
            if row and (within is None or row in within)}


def others_evidence(records: Mapping[str, float], *, simulated: Sequence[str] = ()
                    ) -> dict[str, str]:
    """``released-weights`` for the paper's cells of :data:`OTHER_BACKBONES` rows in ``records``.

    Another group's file is its released weights: on real data (MiraBest, the
    RadioGalaxyDataset) its cells are like-for-like even when ours are analogues. Keys
    containing any of ``simulated`` (e.g. ``"mightee_fr"``) stay as the result's evidence.
    """
    rows = "|".join(re.escape(row) for _, row in OTHER_BACKBONES.values())
    cell = re.compile(rf"lastufka2024\.(table4|table5|table6|fig11)\.\w+?_({rows})(_ft\d+|_n\d+)?")
    return {key: "released-weights" for key in records
            if cell.fullmatch(key) and not any(s in key for s in simulated)}


def table4_key(dataset: str, metric: str, model: str) -> str | None:
    """Table 4's key of a frozen-probe cell: data set (:data:`TABLE4_SETS`), metric, row label.

    ``table4_key("MiraBest", "error", "ResNet50 (DINO)")`` is
    ``"lastufka2024.table4.mirabest_error_resnet50_mgcls"``; None for a row the paper has not
    (an untrained twin, a reference) or a data set outside Table 4.
    """
    if dataset not in TABLE4_SETS:
        return None
    row = paper_row(model)
    return f"lastufka2024.table4.{TABLE4_SETS[dataset]}_{metric}_{row}" if row else None


def _count_set(dataset: str) -> CountSet:
    if dataset not in COUNT_SETS:
        raise ConfigError(f"unknown count set {dataset!r}; choose from {sorted(COUNT_SETS)}")
    return COUNT_SETS[dataset]


def upper_tail(truth, predictions: Mapping[str, np.ndarray], threshold: float) -> pd.DataFrame:
    """Share (%) of catalogue counts and of each model's predictions above ``threshold``.

    Sect. 4.1 reads Fig. 8 this way: 2 % of MGCLS crops hold more than 60 sources, but only
    0.15 % of the predictions exceed 60 (a linear probe under-predicts the rare rich crops).
    """
    truth = np.asarray(truth, float)
    rows = [{"row": "catalogue", "share above %": 100 * float(np.mean(truth > threshold)),
             "max": float(truth.max())}]
    rows += [{"row": name, "share above %": 100 * float(np.mean(np.asarray(p) > threshold)),
              "max": float(np.max(p))} for name, p in predictions.items()]
    return pd.DataFrame(rows).set_index("row")


#: Table 4's columns, as the key prefix of each cell (``lastufka2024.table4.<task>_<backbone>``),
#: the metric's name and whether lower is better: the panels of Figs 9-10.
TABLE4_TASKS = {"mgcls_mse": ("MGCLS source count", "MSE", True),
                "mightee_mse": ("MIGHTEE source count", "MSE", True),
                "mirabest_error": ("MiraBest", "error", True),
                "mirabest_f1": ("MiraBest", "F1", False),
                "mightee_fr_error": ("MIGHTEE_FR", "error", True),
                "mightee_fr_f1": ("MIGHTEE_FR", "F1", False),
                "rgd_accuracy": ("RGD (fine-tuned)", "accuracy", False)}


def table4_panels(report: pd.DataFrame) -> pd.DataFrame:
    """Table 4 as Figs 9-10 draw it: one row per (task, backbone), published and reproduced.

    ``report`` is :func:`radiolib.results.report_table`'s frame. Columns: ``task, metric,
    lower_better, backbone, published, uncertainty, reproduced, reproduced_uncertainty,
    evidence`` (reproduced values are NaN where no notebook recorded the cell).
    """
    rows = []
    cells = report[report.index.str.startswith("lastufka2024.table4.")]
    for key, row in cells.iterrows():
        cell = key.removeprefix("lastufka2024.table4.")
        prefix = max((t for t in TABLE4_TASKS if cell.startswith(t + "_")), key=len, default=None)
        if prefix is None:
            continue
        task, metric, lower = TABLE4_TASKS[prefix]
        rows.append({"task": task, "metric": metric, "lower_better": lower,
                     "backbone": cell[len(prefix) + 1:], "published": row["published"],
                     "uncertainty": row["uncertainty"], "reproduced": row["reproduced"],
                     "reproduced_uncertainty": row["reproduced_uncertainty"],
                     "evidence": row["evidence"]})
    out = pd.DataFrame(rows, columns=["task", "metric", "lower_better", "backbone", "published",
                                      "uncertainty", "reproduced", "reproduced_uncertainty",
                                      "evidence"])
    for col in ("published", "uncertainty", "reproduced", "reproduced_uncertainty"):
        out[col] = pd.to_numeric(out[col], errors="coerce")
    return out


def crop_sources(crops, rows, *, snr_min: float = 5.0) -> list[np.ndarray]:
    """Return the counted sources of each crop ``rows`` as (n, 2) crop pixels (x, y): Fig. 2.

    The sources the count probe counts (:func:`radiolib.sky.truth.source_counts`: SNR >=
    ``snr_min``, centred in the crop), read from each pointing's catalogue beside its FITS
    file, so that a figure can overlay them as the paper overlays the PyBDSF sources.
    """
    index = crops.index
    catalogues: dict[str, pd.DataFrame] = {}
    out = []
    for r in np.atleast_1d(rows):
        row = index.iloc[int(r)]
        if row["field"] not in catalogues:
            image = Path(crops.fields[row["field"]]["path"])
            catalogues[row["field"]] = pd.read_csv(image.with_name(image.stem + "_catalogue.csv"))
        c = catalogues[row["field"]]
        c = c[(c["kind"].astype(str) == "source") & (c["snr"] >= snr_min)]
        x, y = c["x"].to_numpy(float) - row["x0"], c["y"].to_numpy(float) - row["y0"]
        inside = ((x >= -0.5) & (x < row["x1"] - row["x0"] - 0.5) & (y >= -0.5)
                  & (y < row["y1"] - row["y0"] - 0.5))  # the pixel rule of count_in_boxes
        out.append(np.c_[x[inside], y[inside]])
    return out


def crop_colourings(crops) -> dict[str, np.ndarray]:
    """Fig. 6's colourings of crops: data set, pointing, its data-quality flag, source count.

    ``crops`` is a TileSet, or a mapping data-set name -> TileSet (rows in that order, as
    their features are stacked; adds the ``"data set"`` colouring). The paper colours its
    t-SNE map by data set, field and compact sources per crop, and points at one field of
    DQF 2 (bright-source artefacts) that stands apart; the flag of a simulated pointing is
    the ``DQF`` card of its FITS header (-1 where there is none).
    """
    named = isinstance(crops, Mapping)
    sets = crops if named else {"": crops}
    out: dict[str, list] = {"data set": [], "pointing": [], "DQF": [], "sources per crop": []}
    for name, ts in sets.items():
        index, flags = ts.index, {}
        for field, info in ts.fields.items():
            try:
                flags[field] = int(fits.getheader(info["path"]).get("DQF", -1))
            except OSError:  # the field file moved away: its crops remain, the flag is unknown
                flags[field] = -1
        field = index["field"].astype(str).to_numpy()
        out["data set"].append(np.full(len(field), name, dtype=object))
        out["pointing"].append(field)
        out["DQF"].append(np.array([f"DQF {flags.get(f, -1)}" for f in field]))
        out["sources per crop"].append(index["n_sources"].to_numpy())
    return {k: np.concatenate(v) for k, v in out.items() if named or k != "data set"}


def fig6_cohesion(features, colourings: Mapping[str, np.ndarray], *, k: int = 10,
                  by: Sequence[str] = ("data set", "DQF"), seed: int = 0) -> pd.DataFrame:
    """Measure what Fig. 6's map suggests, in the features: each group's same-group neighbours.

    For the colourings ``by`` (of :func:`crop_colourings`, those present), the share of each
    crop's ``k`` nearest neighbours in its own group, per group, beside chance
    (:func:`radiolib.evaluate.group_cohesion`): the paper's group of one DQF 2 field, or
    MIGHTEE apart from MGCLS, is a share far above chance.
    """
    parts = {name: group_cohesion(features, colourings[name], k=k, seed=seed)
             for name in by if name in colourings}
    return pd.concat(parts, names=["colouring", "group"]).sort_index()


def paper_count_result(features: dict[str, np.ndarray], counts, *, n_runs: int = PROBE_N_RUNS,
                       seed: int = 0, dataset: str = "MGCLS",
                       note: str | None = None) -> PaperResult:
    """Score the source-count probe as the paper trains it (Figs 5 and 8, Table 4's counts).

    The split of :func:`count_mse_table`; crops whose count lies more than
    :data:`PROBE_OUTLIER_SIGMA` stds from the mean are dropped (Sect. 4.1), then ``n_runs``
    seeded :class:`~radiolib.evaluate.LinearLayerProbe` fits (:data:`PROBE_SETTINGS`
    ``["regression"]``: PCA to 100, one linear layer, SGD for 100 epochs on 70 % of the
    training rows) are scored on the test crops: MSE mean ± std over runs, as the paper
    reports it. ``dataset`` (:data:`COUNT_SETS`) picks the keys and the tail's threshold.
    ``details``: the kept test counts (``truth``), each model's first-run predictions (Fig.
    8's scatter), :func:`upper_tail` at the threshold and the threshold itself (``tail``).
    """
    spec = _count_set(dataset)
    counts = np.asarray(counts, dtype=float)
    fit, test = holdout_split(len(counts), TEST_FRACTION, seed=seed)
    kept = ~sigma_outliers(np.concatenate([counts[fit], counts[test]]), PROBE_OUTLIER_SIGMA)
    truth = counts[test][kept[len(fit):]]
    rows, records, spreads, predictions = [], {}, {}, {}
    for name, x in features.items():
        x = np.asarray(x)
        out, probes = linear_layer_runs(x[fit], counts[fit], x[test], counts[test],
                                        PROBE_SETTINGS["regression"], n_runs=n_runs, seed=seed,
                                        exclude_sigma=PROBE_OUTLIER_SIGMA)
        predictions[name] = probes[0].predict(x[test][kept[len(fit):]])
        rows.append({"model": name, "mse": out["mse"], "mse_std": out["mse_std"],
                     "n_excluded": out["n_excluded"]})
        other = (f"lastufka2024.table4.{dataset.lower()}_mse_{OTHER_BACKBONES[name][1]}",) \
            if name in OTHER_BACKBONES else ()
        for key in (f"extra.paper_probe.{dataset.lower()}_mse.{slug(name)}",
                    *(spec.mse_keys.get(_model(name), ())), *other):
            records[key], spreads[key] = out["mse"], out["mse_std"]
    table = pd.DataFrame(rows).set_index("model")
    tail = upper_tail(truth, predictions, spec.tail)
    trained = [n for n in features if _model(n)]
    if trained:  # the paper does not name the backbone: ours with the lowest MSE
        best = table.loc[trained, "mse"].idxmin()
        values = {"count": tail.loc["catalogue", "share above %"],
                  "prediction": tail.loc[best, "share above %"],
                  "max_prediction": tail.loc[best, "max"]}
        records |= {key: values[what] for what, key in spec.tail_keys.items()}
    records[f"extra.paper_probe.{dataset.lower()}_outliers"] = int(table["n_excluded"].iloc[0])
    what = (f"± is the std over {n_runs} probe runs; {int(table['n_excluded'].iloc[0])} crops "
            f"beyond {PROBE_OUTLIER_SIGMA:g} std of the mean count dropped")
    return PaperResult(table, records, note=f"{note}; {what}" if note else what,
                       uncertainties=spreads, evidence="analogue",
                       details={"truth": truth, "predictions": predictions, "tail": tail,
                                "tail_at": spec.tail})


def mightee_fr_like(work: str | os.PathLike, *, n_fields: int = 2, size: int = 3072,
                    seed: int = 0, boost: float = 10.0, snr_min: float = 10.0,
                    min_beams: float = 3.0) -> dict[str, LabelledImages]:
    """Simulate a stand-in for MIGHTEE_FR: FRI/FRII cut-outs of MIGHTEE-like fields, split.

    The real set (Sect. 2.2.2) is 90 FRI and 87 FRII galaxies hand-labelled in the MIGHTEE
    Early Science fields, 150² px crops centred on each, 140 of them for training
    (:data:`MIGHTEE_FR_KEYS`, read from ``published.yaml``). Here: ``n_fields`` pointings of
    the ``mightee`` preset with the FRI and FRII densities times ``boost`` (so that two
    fields hold enough), their FR galaxies that an astronomer could label (peak SNR >=
    ``snr_min``, larger than ``min_beams`` beams, fitting the cut-out, whose cut-out lies inside
    the image), as many per class as the real set drawn at random (seeded), cut out at the
    native scale and stretched between the field's 2nd and 99.9th percentiles to 8 bits as
    MIGHTEE's crops (Sect. 2.4). Returns
    ``{"train": ..., "test": ...}`` (a stratified split of the real set's sizes), each a
    :class:`~radiolib.data.LabelledImages` with classes ``("FRI", "FRII")``.
    """
    published = {k: int(load_published().set_index("key").loc[key, "value"])
                 for k, key in MIGHTEE_FR_KEYS.items()}
    side, base = published["side"], get_preset("mightee")
    boosted = tuple(dataclasses.replace(c, density=c.density * boost)
                    if c.name in ("fri", "frii") else c for c in base.classes)
    preset = dataclasses.replace(base, name="mightee_fr", classes=boosted)
    work = Path(work)
    fields = [simulate(preset, size=size, seed=seed + i, out_dir=work / "fields")
              for i in range(n_fields)]
    beam = max(base.beam[:2])
    rows = []
    for f in fields:
        c = f.catalogue
        ok = (c["class"].isin(["fri", "frii"]) & (c["snr"] >= snr_min)
              & (c["size_arcsec"] >= min_beams * beam)
              & (c["size_arcsec"] <= side * base.pixel_scale))
        rows.append(c[ok].assign(field=f"{f.preset}_{f.seed}"))
    pool = pd.concat(rows, ignore_index=True)
    names = [f"{f.preset}_{f.seed}" for f in fields]
    cats = [pool[pool["field"] == n].reset_index(drop=True) for n in names]
    # every candidate cut out; those reaching past the primary-beam cut (NaN pixels) dropped
    ts = tile_fields([f.image_path for f in fields], "banner", out_dir=work / "cutouts",
                     size=side, factor=1.0, min_size=side, nan_max=0.0, catalogues=cats,
                     names=names, overwrite=True)
    index = ts.index
    table = pd.concat([pool.iloc[:0]] + [cats[names.index(fld)].iloc[[int(r)]] for fld, r in
                       zip(index["field"], index["source_row"], strict=True)], ignore_index=True)
    rng = np.random.default_rng(seed)
    picked = []
    for name in ("FRI", "FRII"):
        have = np.flatnonzero(table["class"] == name.lower())
        if len(have) < published[name]:
            raise DataError(f"MIGHTEE_FR-like set: {len(have)} {name} galaxies in {n_fields} "
                            f"fields, {published[name]} needed; raise n_fields or boost")
        picked.append(np.sort(rng.choice(have, published[name], replace=False)))
    label_of = np.repeat([0, 1], [len(p) for p in picked])
    rows_kept = np.concatenate(picked)
    table = table.iloc[rows_kept].assign(label=label_of).reset_index(drop=True)
    tiles = np.asarray(ts.tiles[rows_kept], dtype=np.float32)
    fields_of = index["field"].to_numpy()[rows_kept]
    images = np.empty(tiles.shape, np.uint8)
    for field in names:
        rows_of = fields_of == field
        scaled = fitted_scaling(ts.fields[field], "contrast_2_99.9").transform(tiles[rows_of])
        images[rows_of] = np.rint(255 * np.clip(scaled, 0, 1))
    labels = table["label"].to_numpy(np.int64)
    test = np.zeros(len(labels), bool)
    n_test = len(labels) - published["train"]
    for label in (0, 1):  # stratified: each class keeps its share in the test set
        where = np.flatnonzero(labels == label)
        k = round(n_test * len(where) / len(labels)) if label == 0 else n_test - test.sum()
        test[rng.choice(where, int(k), replace=False)] = True
    meta = table[["field", "id", "class", "x", "y", "snr", "size_arcsec"]]
    info = {"simulated": f"{n_fields} mightee pointings of {size}² px, FR densities x{boost:g}",
            "seed": seed}
    return {split: LabelledImages(images[keep], labels[keep], ("FRI", "FRII"),
                                  np.full(int(keep.sum()), split),
                                  meta[keep].reset_index(drop=True), info)
            for split, keep in (("train", ~test), ("test", test))}


def ablation_combos(n_combos: int = 8) -> list[dict[str, bool]]:
    """Return ``n_combos`` on/off combinations of :data:`ABLATION_SWITCHES`, all off last.

    The combinations the paper reports (:data:`ABLATION_KEYS`) come first, so that 5 runs
    give exactly the paper's rows; the others (all on first among them) follow.
    """
    combos = [dict(zip(ABLATION_SWITCHES, on, strict=True))
              for on in itertools.product([True, False], repeat=len(ABLATION_SWITCHES))]
    off = combos.pop()  # the last: every switch off, the "none" row
    combos.sort(key=lambda c: ablation_label(c) not in ABLATION_KEYS)  # stable: paper first
    return combos[:max(0, n_combos - 1)] + [off]


def ablation_label(combo: dict[str, bool]) -> str:
    """``{"rotation": True, "power_law": True, ...}`` -> ``"rotation + power-law"``."""
    on = [k.replace("_", "-") for k in ABLATION_SWITCHES if combo[k]]
    return " + ".join(on) if on else "none"


def ablation_table(features: dict[str, np.ndarray], untrained: np.ndarray, counts, *,
                   crops=None, seed: int = 0, n_components: int = 100, n_boot: int = 1000,
                   note: str | None = None) -> PaperResult:
    """Count MSE of each ablation run (keyed by :func:`ablation_label`) and of the references.

    Same probe, split, references (with ``crops``) and intervals as :func:`count_mse_table`.
    One row per run (``kind`` "run": the switches, the MSE with its 95 % ``low`` / ``high``,
    ``vs_untrained`` with its paired interval), then the reference rows: the untrained
    backbone, the pixel histogram, the peak counter, predicting the mean.
    """
    counts = np.asarray(counts, dtype=float)
    fit, test = holdout_split(len(counts), TEST_FRACTION, seed=seed)
    scores = count_probe({**features, "untrained": untrained}, counts, fit, test, images=crops,
                         n_components=n_components, n_boot=n_boot, seed=seed)
    rows = []
    for name in scores.predictions:
        iv = scores.interval(name)
        row = {"run": name, "kind": "run" if name in features else
               "untrained" if name == "untrained" else scores.kinds[name]}
        row |= {k: k.replace("_", "-") in name.split(" + ") if name in features else False
                for k in ABLATION_SWITCHES}
        row |= {"count_mse": iv.value, "low": iv.low, "high": iv.high}
        if name in features:
            d = scores.difference(name, "untrained")
            row |= {"vs_untrained": d.value, "vs_low": d.low, "vs_high": d.high}
        rows.append(row)
    table = pd.DataFrame(rows).set_index("run")

    def key(label):
        return f"extra.ablation.{slug(label.replace(' + ', '_')).replace('-', '_')}.count_mse"

    records = {key(name): scores.interval(name).value for name in scores.predictions}
    spreads = {key(name): w for name, w in scores.half_widths().items()}
    for label, paper_key in ABLATION_KEYS.items():
        if label in features:
            records[paper_key] = scores.interval(label).value
            spreads[paper_key] = scores.interval(label).half_width
    refs = [n for n, k in scores.kinds.items() if k not in ("model", "mean")]
    pairs = [(name, "untrained") for name in features]
    pairs += [("rotation + power-law", "none"), ("untrained", PREDICT_MEAN)]
    pairs += [(r, PREDICT_MEAN) for r in refs]
    return PaperResult(table, records, note=interval_note(note), uncertainties=spreads,
                       text=scores.text(pairs, label="MSE"))


def frozen_probes(features: dict, data: dict, *, n_components: int | None = 100,
                  n_boot: int = 1000, seed: int = 0) -> dict[str, ProbeScores]:
    """Fit the frozen-feature linear probe (Appendix B) per data set, with reference rows.

    ``features[model, dataset, split]`` are each model's embeddings and ``data[dataset,
    split]`` the ``(images, labels)`` of the ``"train"`` and ``"test"`` splits. Per data set,
    PCA to ``n_components`` and a class-weighted logistic regression on each model's training
    features, and on a pixel histogram and hand-made shape moments of the same images; the
    accuracy on the test images, bootstrapped over them (:class:`ProbeScores`).
    """
    models = list(dict.fromkeys(m for m, _, _ in features))
    out = {}
    for name in dict.fromkeys(d for d, _ in data):
        (x_fit, y_fit), (x_test, y_test) = data[name, "train"], data[name, "test"]
        out[name] = class_probe({m: (features[m, name, "train"], features[m, name, "test"])
                                 for m in models}, y_fit, y_test, images=(x_fit, x_test),
                                metric="accuracy", n_components=n_components, n_boot=n_boot,
                                seed=seed)
    return out


def probe_records(probes: dict[str, ProbeScores], *, released: bool,
                  note: str | None = None) -> PaperResult:
    """Return the scikit-learn cross-check of the frozen-feature probes: every accuracy (extra).

    ``probes`` maps a data set to its :func:`frozen_probes` scores. The table is tidy
    (``dataset, model, kind, accuracy, accuracy_low, accuracy_high``, fractions) and the
    records' uncertainties are the 95 % half-widths. The paper's own probe, whose MiraBest
    error and F1 go to the Table 4 rows, is :func:`paper_probe_result`. ``text`` compares,
    per data set, each DINO backbone with its untrained twin and every backbone with the
    reference rows. Its evidence is the released
    weights' when ``released``, else an analogue (our models).
    """
    rows, records, spreads, text = [], {}, {}, []
    for dataset, scores in probes.items():
        for model, row in scores.table().iterrows():
            rows.append({"dataset": dataset, "model": model, "kind": row["kind"],
                         "accuracy": row["accuracy"], "accuracy_low": row["low"],
                         "accuracy_high": row["high"]})
            key = f"extra.probes.{dataset.lower()}_accuracy.{slug(model)}"
            records[key] = 100 * row["accuracy"]
            spreads[key] = 100 * scores.interval(model).half_width
        models = [m for m, k in scores.kinds.items() if k == "model"]
        refs = [m for m, k in scores.kinds.items() if k != "model"]
        pairs = [(m, m.replace("(DINO)", "(untrained)")) for m in models if _model(m)]
        pairs += _reference_pairs(models, refs)
        text.append(f"**{dataset}**\n\n{scores.text(pairs, label='accuracy')}")
    return PaperResult(pd.DataFrame(rows), records, note=interval_note(note),
                       uncertainties=spreads,
                       evidence="released-weights" if released else "analogue",
                       text="\n\n".join(text))


def other_backbones(labels: Sequence[str], *, device=None) -> tuple[dict, dict[str, str]]:
    """Load the :data:`OTHER_BACKBONES` named by ``labels`` whose files are present.

    Returns ``(models, absent)``: label -> FeatureExtractor, and label -> why it is not here
    (the loader's message, which says where to put the file; and every
    :data:`UNLOADED_BACKBONES` row, which no file stands behind), so that a notebook runs the
    backbones it has and says which of Table 4's it has not.
    """
    models, absent = {}, {}
    for label in labels:
        if label not in OTHER_BACKBONES:
            raise ConfigError(f"unknown backbone {label!r}; choose from {sorted(OTHER_BACKBONES)}")
        try:
            models[label] = load_backbone(OTHER_BACKBONES[label][0], device=device)
        except DataError as exc:
            absent[label] = str(exc)
    return models, absent | {name: why for name, (_, why) in UNLOADED_BACKBONES.items()}


def other_features(models: Mapping[str, FeatureExtractor], images, *, batch_size: int = 64,
                   cache_dir: str | os.PathLike | None = None) -> dict[str, np.ndarray]:
    """Embed single-channel ``images`` (N, 1, H, W) with each of :func:`other_backbones`' models.

    As our backbones see images at the side they were trained at, each model sees them resized
    (bilinear, antialiased) to its ``image_size`` (DINOv2 224, Hayat et al. 64, RGZ BYOL 70 px),
    the one channel repeated to its input channels (3 for natural-image weights, 5 for Hayat
    et al.'s ugriz ResNet50); each loader scales its input as its authors did. With
    ``cache_dir`` the embeddings are cached by weights and input content
    (:func:`radiolib.evaluate.model_embeddings`).
    """
    x = torch.as_tensor(images, dtype=torch.float32)
    out = {}
    for label, model in models.items():
        xi = x if model.image_size is None else \
            torch.from_numpy(resize(x.numpy(), model.image_size, antialias=True))
        out[label] = model_embeddings(model, repeat_channels(xi, model.in_chans),
                                      cache_dir=cache_dir, batch_size=batch_size)
    return out


def with_others(backbones: Mapping[str, FeatureExtractor], others: Mapping[str, FeatureExtractor],
                rows: Sequence[str]) -> dict[str, FeatureExtractor]:
    """``backbones`` and the ``others`` whose paper row is in ``rows``: the ones a table runs.

    E.g. ``with_others(ours, others, TABLE5_MODELS)`` adds the loaded ResNets of Table 5;
    ``RGD_ROWS`` those fine-tuned on the RadioGalaxyDataset.
    """
    return {**backbones, **{m: others[m] for m in paper_rows(list(others), rows)}}


def paper_probe_result(features: dict, data: dict, *, datasets=("MiraBest",),
                       n_runs: int = PROBE_N_RUNS, seed: int = 0, released: bool = False,
                       note: str | None = None) -> PaperResult:
    """Table 4's frozen-feature columns as the paper measures them: mean ± std over runs.

    ``features`` and ``data`` are as in :func:`frozen_probes`. For each of ``datasets`` and
    model, ``n_runs`` seeded :class:`~radiolib.evaluate.LinearLayerProbe` fits
    (:data:`PROBE_SETTINGS` ``["classification"]``: PCA to 100 and one linear layer trained
    for 300 epochs on 70 % of the training rows) are scored on the test rows. Error and F1
    on a Table 4 set (:data:`TABLE4_SETS`) of the DINO backbones and of
    :data:`OTHER_BACKBONES` go to the Table 4 cells (:func:`table4_key`); every row also to
    ``extra.paper_probe.<dataset>_<metric>.<model>``.
    """
    models = list(dict.fromkeys(m for m, _, _ in features))
    rows, records, spreads = [], {}, {}
    for name in datasets:
        (_, y_fit), (_, y_test) = data[name, "train"], data[name, "test"]
        for model in models:
            out, _ = linear_layer_runs(features[model, name, "train"], np.asarray(y_fit),
                                       features[model, name, "test"], np.asarray(y_test),
                                       PROBE_SETTINGS["classification"], n_runs=n_runs,
                                       seed=seed)
            rows.append({"dataset": name, "model": model,
                         **{k: out[k] for k in ("error", "error_std", "f1", "f1_std")}})
            for metric in ("error", "f1"):
                keys = [f"extra.paper_probe.{name.lower()}_{metric}.{slug(model)}",
                        table4_key(name, metric, model)]
                for key in filter(None, keys):
                    records[key], spreads[key] = out[metric], out[f"{metric}_std"]
    what = f"± is the std over {n_runs} probe runs"
    return PaperResult(pd.DataFrame(rows), records, note=f"{note}; {what}" if note else what,
                       uncertainties=spreads,
                       evidence="released-weights" if released else "analogue",
                       evidence_by_key=others_evidence(records, simulated=["mightee_fr"]))


#: The bar a released teacher's frozen-feature MiraBest error must meet: within the published
#: uncertainty of Table 4's value, or this far from it when that is smaller (issue 15).
RELEASED_BAR = 0.03


def quality_bar(result: PaperResult, *, dataset: str = "MiraBest",
                bar: float = RELEASED_BAR) -> pd.DataFrame:
    """Each backbone's error from :func:`paper_probe_result` against its Table 4 cell.

    One row per backbone the paper has a row for: reproduced error (mean and std over probe
    runs), published value and uncertainty, the allowed difference (the larger of the published
    uncertainty and ``bar``) and whether the difference is within it. The bar is meant for the
    released weights (ours with ``backbones = "released"``, others' files); for backbones
    pre-trained here it only says how far they are from the paper's.
    """
    published = load_published().set_index("key")
    rows = []
    for row in result.table[result.table["dataset"] == dataset].itertuples():
        key = table4_key(dataset, "error", row.model)
        if key is None or key not in published.index:
            continue
        value = float(published.loc[key, "value"])
        unc = float(pd.to_numeric(published.loc[key, "uncertainty"], errors="coerce"))
        allowed = max(0.0 if np.isnan(unc) else unc, bar)
        rows.append({"model": row.model, "error": row.error, "error_std": row.error_std,
                     "published": value, "published_std": unc, "allowed": allowed,
                     "within": bool(abs(row.error - value) <= allowed)})
    return pd.DataFrame(rows, columns=["model", "error", "error_std", "published",
                                       "published_std", "allowed", "within"]).set_index("model")


def finetune_records(tuned: pd.DataFrame, finetune_on: str, *, note: str | None = None
                     ) -> PaperResult:
    """Return the fine-tuning runs' records: every accuracy (extra) and Table 4's RGD one.

    On the RadioGalaxyDataset, each backbone with a Table 4 row (:data:`RGD_ROWS`: our
    ResNet50, others' ResNets) gives its fine-tuned accuracy at the most blocks trained.
    """
    records = {f"extra.finetune.{finetune_on.lower()}_accuracy.{slug(row.model)}"
               f".n{row.n_blocks}": 100 * row.accuracy for row in tuned.itertuples()}
    if finetune_on == "RGD":  # Table 4's RGD column: each backbone the paper fine-tuned
        for model, runs in tuned.groupby("model"):
            row = paper_row(model)
            if row in RGD_ROWS:
                key = f"lastufka2024.table4.rgd_accuracy_{row}"
                records[key] = runs.loc[runs["n_blocks"].idxmax(), "accuracy"]
    table = tuned.pivot(index="model", columns="n_blocks", values="accuracy") * 100
    return PaperResult(table.rename_axis(columns=f"{finetune_on} accuracy (%), blocks trained"),
                       records, note=note, evidence_by_key=others_evidence(records))


#: Fig. 11's backbones, as its published.yaml keys name them (:func:`paper_row`).
FIG11_MODELS = ("resnet50_mgcls", "vits8_mgcls", "dino_resnet50_imagenet", "rgz_byol")


def best_runs(runs: Mapping[tuple[str, int], Sequence]) -> pd.DataFrame:
    """One row per (model, blocks trained): the scores of its best seeded fine-tuning run.

    ``runs`` maps ``(model, n_blocks)`` to :class:`~radiolib.evaluate.FineTuned` runs; the best
    is the highest accuracy, as the paper reports its fine-tuned RGD result (best of 3).
    """
    return pd.DataFrame([{"model": model, "n_blocks": n, "runs": len(tuned),
                          **max(tuned, key=lambda r: r.scores["accuracy"]).scores}
                         for (model, n), tuned in runs.items()])


def fig11_result(runs: Mapping[str, Sequence], test_y, class_names: Sequence[str], *,
                 note: str | None = None) -> PaperResult:
    """Fig. 11: each backbone's RGD confusion matrix after fine-tuning, best of its runs.

    ``runs`` maps a model to its seeded :class:`~radiolib.evaluate.FineTuned` runs on the same
    test images (the paper: 3 runs); the one with the highest accuracy is kept, as the paper
    shows. The recall of each class (the matrix's diagonal) of each backbone Fig. 11 shows
    (:data:`FIG11_MODELS`, ours and others') goes to ``lastufka2024.fig11.recall_<class>_<row>``,
    every backbone's to ``extra.finetune.rgd_recall``. ``details["matrices"]``: model ->
    row-normalised matrix (%) as a DataFrame.
    """
    test_y = np.asarray(test_y)
    k = len(class_names)
    rows, records, matrices = [], {}, {}
    for model, tuned in runs.items():
        best = max(tuned, key=lambda r: r.scores["accuracy"])
        counts = confusion(test_y, best.predictions, k).astype(float)
        share = 100 * counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
        matrices[model] = pd.DataFrame(share, index=list(class_names), columns=list(class_names))
        recall = dict(zip(class_names, np.diag(share) / 100, strict=True))
        rows.append({"model": model, "runs": len(tuned),
                     "best accuracy %": 100 * best.scores["accuracy"],
                     **{f"recall {c}": r for c, r in recall.items()}})
        key = paper_row(model)
        key = key if key in FIG11_MODELS else None
        for c, r in recall.items():
            records[f"extra.finetune.rgd_recall.{slug(model)}.{slug(c)}"] = float(r)
            if key:
                records[f"lastufka2024.fig11.recall_{slug(c)}_{key}"] = float(r)
    return PaperResult(pd.DataFrame(rows).set_index("model"), records, note=note,
                       evidence_by_key=others_evidence(records),
                       details={"matrices": matrices})


# -- Appendix C: fine-tuned layers (Table 5) and number of labels (Table 6) ----------------
#: Backbones of Tables 5 and 6, as their published.yaml keys name them.
TABLE5_MODELS = ("dino_resnet50_imagenet", "gz2_moco", "rgz_byol", "resnet50_mgcls")
#: Fine-tuned layers 0 ... 9 (``lastufka2024.appc1.max_finetune_layers``).
TABLE5_LAYERS = tuple(range(10))
#: Centre crop (``appc1.center_crop``), head width (``appc1.head_hidden``) and the epochs whose
#: test scores give the error bars (``appc1.errbar_epochs``).
TABLE5_CROP, TABLE5_HIDDEN, TABLE5_LAST_EPOCHS = 96, 512, 10
#: Table 6's total label counts (``table6.n_labels_*``), out of the 729 training images of
#: MiraBest Confident the paper uses; :func:`table6_counts` scales them to our copy.
TABLE6_COUNTS = (36, 72, 145, 291, 437, 583, 656, 729)
TABLE6_TOTAL = 729


def table5_key(metric: str, model: str, n_layers: int) -> str:
    """``lastufka2024.table5.mirabest_<error|f1>_<model>_ft<n>`` (a published.yaml row)."""
    return f"lastufka2024.table5.mirabest_{metric}_{model}_ft{n_layers}"


def table6_key(metric: str, model: str, n_labels: int) -> str:
    """``lastufka2024.table6.mirabest_<error|f1>_<model>_n<paper count>``."""
    return f"lastufka2024.table6.mirabest_{metric}_{model}_n{n_labels}"


def _as_input(images, model, crop: int) -> torch.Tensor:
    """uint8 (N, H, W) -> float (N, C, crop, crop) in [0, 1], channels as the model takes."""
    return repeat_channels(center_crop(images, crop) / 255.0, model.in_chans)


def layer_study(backbones: Mapping[str, FeatureExtractor], train, test, *,
                paper_models: Mapping[str, str] | None = None,
                n_layers: Sequence[int] = TABLE5_LAYERS, epochs: int = 30,
                crop: int = TABLE5_CROP, last_epochs: int = TABLE5_LAST_EPOCHS,
                batch_size: int = 32, lr: float = 1e-3, seed: int = 0,
                released: bool = False, device=None, progress: bool = True,
                note: str | None = None) -> PaperResult:
    """Table 5: MiraBest test error and F1 with the last N layers fine-tuned, per backbone.

    ``train`` and ``test`` are ``(images (N, H, W) uint8, labels)``; every backbone gets the
    centre ``crop`` (96 px in the paper) and the head embedding -> 512 -> classes
    (:func:`radiolib.evaluate.finetune_layers`, layers as :func:`~radiolib.evaluate.
    paper_layers` counts them). ``paper_models`` maps a backbone's label to its Table 5 name
    (:data:`TABLE5_MODELS`) to record the published keys; every backbone is also recorded as
    ``extra.table5.<label>.<error|f1>_ft<n>``. Uncertainties are the std over the last
    ``last_epochs`` epochs, as the paper's.
    """
    paper_models = dict(paper_models or {})
    unknown = set(paper_models.values()) - set(TABLE5_MODELS)
    if unknown:
        raise ConfigError(f"unknown Table 5 models {sorted(unknown)}; use {TABLE5_MODELS}")
    rows, records, spreads = [], {}, {}
    bar = tqdm(total=len(backbones) * len(n_layers) * epochs, desc="Table 5 layers",
               disable=not progress)
    with bar:
        for label, model in backbones.items():
            x_fit, x_test = _as_input(train[0], model, crop), _as_input(test[0], model, crop)
            for n in n_layers:
                out = finetune_layers(model, x_fit, train[1], x_test, test[1], n_layers=n,
                                      epochs=epochs, lr=lr, batch_size=batch_size,
                                      last_epochs=min(last_epochs, epochs),
                                      hidden=TABLE5_HIDDEN, seed=seed, device=device,
                                      progress=bar.update)
                rows.append({"model": label, "n_layers": n,
                             **{k: out[k] for k in ("error", "error_std", "f1", "f1_std",
                                                    "n_trainable")}})
                keys = [(m, f"extra.table5.{slug(label)}.{m}_ft{n}") for m in ("error", "f1")]
                if label in paper_models:
                    keys += [(m, table5_key(m, paper_models[label], n)) for m in ("error", "f1")]
                for metric, key in keys:
                    records[key], spreads[key] = out[metric], out[f"{metric}_std"]
    return PaperResult(pd.DataFrame(rows), records, note=note, uncertainties=spreads,
                       evidence="released-weights" if released else "analogue",
                       evidence_by_key=others_evidence(records))


def table6_counts(n_available: int) -> dict[int, int]:
    """Table 6's label counts -> ours: each keeps its share of the training set.

    The paper's 36 ... 729 labels are out of MiraBest Confident's 729 training images; our copy
    of MiraBest (``../shared/data/mirabest``) has ``n_available`` (704), so 36 -> 35, 145 ->
    140, 729 -> 704.
    """
    scaled = scaled_label_counts(TABLE6_COUNTS, TABLE6_TOTAL, n_available)
    return dict(zip(TABLE6_COUNTS, (int(v) for v in scaled), strict=True))


def label_study(features: Mapping[str, tuple[np.ndarray, np.ndarray]], train_y, test_y, *,
                paper_models: Mapping[str, str] | None = None, n_draws: int = 3,
                seed: int = 0, draws_path: str | os.PathLike | None = None,
                settings: LinearLayerSettings | None = None, released: bool = False,
                note: str | None = None) -> PaperResult:
    """Table 6: MiraBest error and F1 of the linear-layer probe against the number of labels.

    ``features[label] = (train features, test features)``. For each of the paper's counts
    (scaled to ``len(train_y)`` by :func:`table6_counts`), ``n_draws`` stratified seeded
    draws of the training labels (the same draws for every backbone, saved to ``draws_path``
    when given); each draw fits :data:`PROBE_SETTINGS` ``["classification"]`` and is scored on
    all test rows. Values are the mean over draws, uncertainties their std. Counts below two
    labels per class are skipped (``details["skipped"]``): the probe cannot fit them. Keys:
    the published ``table6`` rows (by the paper's count) for ``paper_models``,
    ``extra.table6.*`` for all.
    """
    paper_models = dict(paper_models or {})
    unknown = set(paper_models.values()) - set(TABLE5_MODELS)
    if unknown:
        raise ConfigError(f"unknown Table 6 models {sorted(unknown)}; use {TABLE5_MODELS}")
    settings = settings or PROBE_SETTINGS["classification"]
    train_y, test_y = np.asarray(train_y), np.asarray(test_y)
    scaled = table6_counts(len(train_y))
    least = max(3, 2 * len(np.unique(train_y)))  # the probe's smallest fit: 2 labels a class
    counts = {p: n for p, n in scaled.items() if n >= least}
    if not counts:
        raise ValueError(f"{len(train_y)} training labels give no Table 6 count of at least "
                         f"{least}; use more training images")
    draws = label_draws(train_y, list(counts.values()), n_draws=n_draws, seed=seed)
    if draws_path is not None:
        save_label_draws(draws_path, draws)
    rows, records, spreads = [], {}, {}
    for label, (fit_x, test_x) in features.items():
        for paper_n, n in counts.items():
            scores = pd.DataFrame([
                LinearLayerProbe(settings, seed=seed + d).fit(fit_x[idx], train_y[idx])
                .score(test_x, test_y) for d, idx in enumerate(draws[n])])
            row = {"model": label, "paper_labels": paper_n, "labels": n}
            for metric in ("error", "f1"):
                row[metric] = float(scores[metric].mean())
                row[f"{metric}_std"] = float(scores[metric].std(ddof=0))
                keys = [f"extra.table6.{slug(label)}.{metric}_n{n}"]
                if label in paper_models:
                    keys.append(table6_key(metric, paper_models[label], paper_n))
                for key in keys:
                    records[key], spreads[key] = row[metric], row[f"{metric}_std"]
            rows.append(row)
    return PaperResult(pd.DataFrame(rows), records, note=note, uncertainties=spreads,
                       evidence="released-weights" if released else "analogue",
                       evidence_by_key=others_evidence(records),
                       details={"counts": counts, "draws": draws,
                                "skipped": {p: n for p, n in scaled.items() if n < least}})
