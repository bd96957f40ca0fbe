"""Lastufka et al. 2024 [0]: DINO on MeerKAT MGCLS crops, its probes, ablation and result keys.

The functions here are the paper's experiments at any profile's size: the recipes scaled to a
run (:func:`run_recipe`), simulated MGCLS crops (:func:`mgcls_crops`), the source-count probe
on one held-out split shared with the training callback (:func:`count_mse_table`), the
augmentation ablation (:func:`ablation_combos`, :func:`ablation_table`), the frozen-feature
MiraBest probe and the fine-tuning records (:func:`probe_records`, :func:`finetune_records`).
Keys of ``published.yaml`` are the constants below (a test checks that each exists).

- [0] Lastufka et al. 2024, A&A 690, A310, arXiv:2408.06147
"""

from __future__ import annotations

import itertools
import os
from pathlib import Path

import numpy as np
import pandas as pd

from radiolib.evaluate.probes import count_regression_mse
from radiolib.evaluate.splits import holdout_split
from radiolib.papers import PaperResult, survey
from radiolib.results import slug
from radiolib.sky import simulate

__all__ = ["ABLATION_KEYS", "ABLATION_SWITCHES", "COUNT_MSE_KEYS", "MIRABEST_ERROR_KEYS",
           "RECIPES", "RGD_FINETUNE_KEY", "TEST_FRACTION", "ablation_combos", "ablation_label",
           "ablation_table", "count_mse_table", "finetune_records", "mgcls_crops",
           "probe_records", "run_recipe"]

#: The paper's two backbones and the config file of each.
RECIPES = {"ResNet50": "dino_resnet50", "ViT-S/8": "dino_vits8"}
#: Share of the evaluation crops held out to score the count probe (70/30, Sect. 3.2).
TEST_FRACTION = 0.3
#: Count MSE of each pre-trained backbone: its Fig. 5 end point and its Table 4 MGCLS column.
COUNT_MSE_KEYS = {
    "ResNet50": ("lastufka2024.fig5.count_mse_resnet50",
                 "lastufka2024.table4.mgcls_mse_resnet50_mgcls"),
    "ViT-S/8": ("lastufka2024.fig5.count_mse_vits8", "lastufka2024.table4.mgcls_mse_vits8_mgcls"),
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
#: Frozen-feature MiraBest error of each backbone (Table 4).
MIRABEST_ERROR_KEYS = {"ResNet50": "lastufka2024.table4.mirabest_error_resnet50_mgcls",
                       "ViT-S/8": "lastufka2024.table4.mirabest_error_vits8_mgcls"}
#: RadioGalaxyDataset accuracy of the fine-tuned ResNet50 (Table 4).
RGD_FINETUNE_KEY = "lastufka2024.table4.rgd_accuracy_resnet50_mgcls"


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


def mgcls_crops(seeds, size: int, work: str | os.PathLike, name: str):
    """Simulate one MGCLS-like pointing per seed and cut them into 256² crops (a TileSet).

    Fields are cached in ``work/fields`` and the crops in ``work/name``, so notebooks that
    ask for the same seeds share them.
    """
    work = Path(work)
    fields = [simulate("mgcls", size=size, seed=s, out_dir=work / "fields") for s in seeds]
    return survey.tile_simulated(fields, "mgcls", out_dir=work / name)


def _model(label: str) -> str | None:
    """``"ResNet50 (DINO)"`` -> ``"ResNet50"``; None for an untrained or other model."""
    name, _, kind = label.partition(" (")
    return name if kind == "DINO)" and name in RECIPES else None


def count_mse_table(features: dict[str, np.ndarray], counts, *, seed: int = 0,
                    n_components: int = 100, note: str | None = None) -> PaperResult:
    """Source-count MSE of each model's frozen features, and of predicting the mean.

    PCA to ``n_components`` and a linear layer fitted on 70 % of the crops, scored on the
    other 30 %: the split of :func:`radiolib.evaluate.holdout_split`, the same as the training
    callback's, so the last point of the learning curve is this table's number.
    """
    counts = np.asarray(counts, dtype=float)
    fit, test = holdout_split(len(counts), TEST_FRACTION, seed=seed)
    mse = {name: count_regression_mse(x[fit], counts[fit], x[test], counts[test],
                                      n_components=n_components)
           for name, x in features.items()}
    mse["predict the mean"] = float(np.mean((counts[test] - counts[fit].mean()) ** 2))
    records = {f"extra.dino.count_mse.{slug(name)}": value for name, value in mse.items()}
    for name, value in mse.items():
        records.update(dict.fromkeys(COUNT_MSE_KEYS.get(_model(name), ()), value))
    table = pd.Series(mse, name="source-count MSE (held-out crops)").to_frame()
    return PaperResult(table, records, note=note)


def ablation_combos(n_combos: int = 8) -> list[dict[str, bool]]:
    """Return the on/off combinations of :data:`ABLATION_SWITCHES`: all on first, all off last."""
    combos = [dict(zip(ABLATION_SWITCHES, on, strict=True))
              for on in itertools.product([True, False], repeat=len(ABLATION_SWITCHES))]
    return combos[:n_combos - 1] + combos[-1:] if n_combos < len(combos) else combos


def ablation_label(combo: dict[str, bool]) -> str:
    """``{"rotation": True, "power_law": True, ...}`` -> ``"rotation + power-law"``."""
    on = [k.replace("_", "-") for k in ABLATION_SWITCHES if combo[k]]
    return " + ".join(on) if on else "none"


def ablation_table(features: dict[str, np.ndarray], untrained: np.ndarray, counts, *,
                   seed: int = 0, n_components: int = 100,
                   note: str | None = None) -> PaperResult:
    """Count MSE of each ablation run (keyed by :func:`ablation_label`) and of random weights.

    Same probe and split as :func:`count_mse_table`. The table has the switches, the MSE and
    its difference to the untrained backbone.
    """
    counts = np.asarray(counts, dtype=float)
    fit, test = holdout_split(len(counts), TEST_FRACTION, seed=seed)

    def mse(x):
        return count_regression_mse(x[fit], counts[fit], x[test], counts[test],
                                    n_components=n_components)

    base = mse(untrained)
    rows = []
    for label, x in features.items():
        on = {k: k.replace("_", "-") in label.split(" + ") for k in ABLATION_SWITCHES}
        rows.append({"run": label, **on, "count_mse": mse(x)})
    table = pd.DataFrame(rows).set_index("run")
    table["vs_untrained"] = table["count_mse"] - base
    records = {f"extra.ablation.{label.replace(' + ', '_').replace('-', '_')}.count_mse": v
               for label, v in table["count_mse"].items()}
    records["extra.ablation.untrained.count_mse"] = base
    records.update({key: table.loc[label, "count_mse"] for label, key in ABLATION_KEYS.items()
                    if label in table.index})
    return PaperResult(table, records, note=note)


def probe_records(scores: pd.DataFrame, *, released: bool, note: str | None = None
                  ) -> PaperResult:
    """Return the frozen-feature probes' records: every accuracy (extra), MiraBest errors.

    ``scores`` has ``dataset, model, accuracy`` (and ``accuracy_std``) per row; the paper's
    Table 4 gives MiraBest as an error, 1 - accuracy. Its evidence is the released weights'
    when ``released``, else an analogue (our models).
    """
    records, spreads = {}, {}
    for row in scores.itertuples():
        records[f"extra.probes.{row.dataset.lower()}_accuracy.{slug(row.model)}"] = \
            100 * row.accuracy
        key = MIRABEST_ERROR_KEYS.get(_model(row.model))
        if key and row.dataset == "MiraBest":
            records[key] = 1 - row.accuracy
            if "accuracy_std" in scores:
                spreads[key] = row.accuracy_std
    table = scores.pivot(index="model", columns="dataset", values="accuracy") * 100
    table.insert(0, "MiraBest error (%)", 100 - table.pop("MiraBest"))
    table = table.rename(columns={"RGD": "RGD accuracy (%)"})
    return PaperResult(table, records, note=note, uncertainties=spreads,
                       evidence="released-weights" if released else "analogue")


def finetune_records(tuned: pd.DataFrame, finetune_on: str, *, note: str | None = None
                     ) -> PaperResult:
    """Return the fine-tuning runs' records: every accuracy (extra) and Table 4's RGD one.

    On the RadioGalaxyDataset, the pre-trained ResNet50 with the most blocks trained gives the
    paper's fine-tuned accuracy.
    """
    records = {f"extra.finetune.{finetune_on.lower()}_accuracy.{slug(row.model)}"
               f".n{row.n_blocks}": 100 * row.accuracy for row in tuned.itertuples()}
    ours = tuned[tuned["model"] == "ResNet50 (DINO)"]
    if finetune_on == "RGD" and len(ours):
        records[RGD_FINETUNE_KEY] = ours.loc[ours["n_blocks"].idxmax(), "accuracy"]
    table = tuned.pivot(index="model", columns="n_blocks", values="accuracy") * 100
    return PaperResult(table.rename_axis(columns=f"{finetune_on} accuracy (%), blocks trained"),
                       records, note=note)
