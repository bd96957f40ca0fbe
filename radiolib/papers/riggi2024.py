"""Riggi et al. 2024 [0]: SimCLR's data sets and models as the paper assigns them, and probes.

The paper trains one SimCLR model per survey and cut -- hulk and banner on SMGPS and on the EMU
pilot -- and smart_hulk_smgps, the hulk_smgps model trained further on banner_smgps (Sect. 2.4,
Table 3). :func:`training_sets` cuts the simulated fields into those data sets,
:func:`model_recipes` and :func:`train_models` train the models (cached), and
:func:`frame_label_probes` / :func:`thresholding_result` score frozen embeddings against the
simulated frame labels, beside pixel-statistics and hand-made reference rows, with 95 %
intervals.

- [0] Riggi et al. 2024, PASA, arXiv:2404.18462
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from radiolib.evaluate.intervals import interval_note
from radiolib.evaluate.scoring import ProbeScores, class_probe, class_reference_rows
from radiolib.papers import PaperResult, survey
from radiolib.ssl.cache import cached_train

__all__ = ["FRAME_PROBES", "NO_THRESHOLDING", "SURVEYS", "final_losses", "frame_label_probes",
           "frame_labels", "model_recipes", "thresholding_result", "train_models",
           "training_sets"]

#: The two surveys of the paper, in the order of its Table 1.
SURVEYS = ("smgps", "emupilot")
#: Name of the extra run without RandomThresholding (our comparison, not a paper model).
NO_THRESHOLDING = "hulk_smgps, no thresholding"


def training_sets(train_fields: dict, test_fields: list, work: str | os.PathLike, *,
                  banner_snr: float = 10.0) -> dict:
    """Cut simulated fields into the paper's data sets and the probes' tiles (TileSets).

    Returns ``hulk_<survey>`` and ``banner_<survey>`` for each field of ``train_fields``
    (survey -> SimulatedField), ``probe`` (hulk tiles of all training fields: the probes are
    fitted on them) and ``test`` (hulk tiles of ``test_fields``, held out).
    """
    work = Path(work)
    sets = {f"hulk_{s}": survey.tile_simulated([f], "hulk", out_dir=work / f"ssl_hulk_{s}")
            for s, f in train_fields.items()}
    sets |= {f"banner_{s}": survey.tile_simulated([f], "banner", snr_min=banner_snr,
                                                  out_dir=work / f"ssl_banner_{s}")
             for s, f in train_fields.items()}
    sets["probe"] = survey.tile_simulated(list(train_fields.values()), "hulk",
                                          out_dir=work / "ssl_hulk")
    sets["test"] = survey.tile_simulated(list(test_fields), "hulk", out_dir=work / "ssl_test")
    return sets


def model_recipes(run_config, *, banner_epochs: int, smart_epochs: int,
                  surveys=SURVEYS) -> dict[str, tuple]:
    """Return the runs to train: name -> (config, training set, run whose weights it starts from).

    hulk (RandomThresholding on) and banner (off) per survey, smart_hulk_smgps from
    hulk_smgps on banner_smgps, and hulk_smgps without thresholding for the comparison.
    """
    off = {"thresholding": False}
    runs = {f"hulk_{s}": (run_config.replace(name=f"simclr_hulk_{s}"), f"hulk_{s}", None)
            for s in surveys}
    runs |= {f"banner_{s}": (run_config.replace(name=f"simclr_banner_{s}",
                                                epochs=banner_epochs, **off), f"banner_{s}", None)
             for s in surveys}
    if "smgps" in surveys:
        runs["smart_hulk_smgps"] = (run_config.replace(name="simclr_smart_hulk_smgps",
                                                       epochs=smart_epochs, **off),
                                    "banner_smgps", "hulk_smgps")
        runs[NO_THRESHOLDING] = (run_config.replace(name="simclr_hulk_smgps_nothr", **off),
                                 "hulk_smgps", None)
    return runs


def train_models(recipes: dict[str, tuple], data: dict, cache_dir: str | os.PathLike) -> dict:
    """Train (or load from the cache) every run of :func:`model_recipes`, parents first."""
    runs: dict = {}
    for name, (config, data_name, parent) in sorted(recipes.items(),
                                                    key=lambda kv: kv[1][2] is not None):
        runs[name] = cached_train(config, data[data_name], cache_dir=cache_dir,
                                  init_from=runs[parent] if parent else None)
    return {name: runs[name] for name in recipes}


def final_losses(runs: dict, *, note: str | None = None) -> PaperResult:
    """Return the last training loss of each run (records ``extra.simclr.<run>.final_loss``)."""
    final = {name: float(pd.read_json(r.metrics, lines=True).query("kind == 'train'")
                         ["loss"].iloc[-1]) for name, r in runs.items()}
    records = {f"extra.simclr.{name.replace(', no thresholding', '_nothr')}.final_loss": v
               for name, v in final.items()}
    return PaperResult(pd.Series(final, name="final loss").to_frame(), records, note=note)


def frame_labels(tileset) -> dict[str, np.ndarray]:
    """Return the labels the probes predict, from the simulated truth.

    ``peculiar``: PECULIAR is among a tile's labels; ``primary``: its primary frame label.
    """
    labels = tileset.index["labels"].astype(str).str.split("|")
    return {"peculiar": labels.map(lambda s: "PECULIAR" in s).to_numpy(),
            "primary": tileset.index["primary"].astype(str).to_numpy()}


#: The two frame-label probes: label -> (task key, label name, metric, probe).
FRAME_PROBES = {"PECULIAR vs rest (AUC)": ("peculiar_auc", "peculiar", "auc", "linear"),
                "primary label (bal. acc.)": ("primary_bal_acc", "primary", "balanced_accuracy",
                                              "knn")}


def frame_label_probes(embeddings: dict[str, dict[str, np.ndarray]], fit_labels: dict,
                       test_labels: dict, *, images: dict | None = None, n_boot: int = 1000,
                       seed: int = 0) -> dict[str, ProbeScores]:
    """Score each model's frozen embeddings on the held-out tiles' frame labels.

    ``embeddings[model]`` holds ``probe`` and ``test`` arrays; ``images`` (``probe`` and
    ``test`` tiles, e.g. TileSets' ``tiles``) adds the reference rows, a pixel histogram and
    hand-made shape moments of each tile. Two probes (:data:`FRAME_PROBES`): PECULIAR vs rest
    by a class-weighted logistic regression (ROC AUC; skipped when the fitting tiles hold one
    class only), and the primary label by a 10-nearest-neighbour vote (balanced accuracy),
    each with 95 % bootstrap intervals over the held-out tiles.
    """
    refs = (None if images is None
            else class_reference_rows((images["probe"], images["test"])))  # once for both
    out = {}
    for name, (_, label, metric, probe) in FRAME_PROBES.items():
        if metric == "auc" and len(set(fit_labels[label])) != 2:
            continue
        out[name] = class_probe({m: (e["probe"], e["test"]) for m, e in embeddings.items()},
                                fit_labels[label], test_labels[label], metric=metric,
                                probe=probe, n_boot=n_boot, seed=seed, reference_rows=refs)
    return out


def thresholding_result(probes: dict[str, ProbeScores], *, untrained: str = "untrained",
                        note: str | None = None) -> PaperResult:
    """Every probe score as a record, and hulk_smgps with minus without RandomThresholding.

    The table is tidy (``probe, model, kind, score, score_low, score_high``); the effect is
    the paired difference on the first probe (AUC where there is one), with its interval.
    ``text`` compares, per probe, the runs with and without thresholding, each run with the
    ``untrained`` backbone, and every model with the reference rows.
    """
    rows, records, spreads, text = [], {}, {}, []
    for name, scores in probes.items():
        task = FRAME_PROBES[name][0]
        for model, row in scores.table().iterrows():
            rows.append({"probe": name, "model": model, "kind": row["kind"],
                         "score": row[scores.metric], "score_low": row["low"],
                         "score_high": row["high"]})
            key = f"extra.simclr.probe.{_key(model)}.{task}"
            records[key] = row[scores.metric]
            spreads[key] = scores.interval(model).half_width
        models = [m for m, k in scores.kinds.items() if k == "model"]
        refs = [m for m, k in scores.kinds.items() if k != "model"]
        pairs = [("hulk_smgps", NO_THRESHOLDING)]
        pairs += [(m, untrained) for m in models if m != untrained]
        pairs += [(m, r) for m in models for r in refs]
        label = {"auc": "AUC"}.get(scores.metric, scores.metric.replace("_", " "))
        text.append(f"**{name}**\n\n{scores.text(pairs, label=label)}")
    first = next(iter(probes.values()), None)
    if first is not None and {"hulk_smgps", NO_THRESHOLDING} <= set(first.predictions):
        effect = first.difference("hulk_smgps", NO_THRESHOLDING)
        records["extra.simclr.thresholding_effect"] = effect.value
        spreads["extra.simclr.thresholding_effect"] = effect.half_width
    return PaperResult(pd.DataFrame(rows), records, note=interval_note(note),
                       uncertainties=spreads, text="\n\n".join(text))


def _key(model: str) -> str:
    return model.replace(", no thresholding", "_nothr").replace(" ", "_")
