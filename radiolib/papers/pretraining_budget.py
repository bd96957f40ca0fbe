"""How much CPU pre-training does SimCLR or DINO need to beat random weights? The budget study.

Both methods train on MGCLS-like crops of simulated pointings (:func:`study_crops`: each crop
carries its source count and its frame labels) in the settings of :data:`PILOT` and
:data:`LONG` -- input size, crops, batch, network width, augmentation strength, learning
rate -- and every few epochs embed the crops of *other* pointings
(:func:`radiolib.evaluate.budget.budget_train`). Two frozen-feature probes score each
checkpoint, both fitted on the crops of half of those pointings and scored on the crops of the
other half (:func:`~radiolib.evaluate.splits.group_split`): the source-count probe of Lastufka
et al. (PCA, ridge; MSE) and a morphology probe, the primary frame label of Riggi et al.'s
simulated truth (10-nearest-neighbour vote, as notebook 03 scores it; balanced accuracy).
The settings of :data:`ON_CUTOUTS` train instead on source-centred cut-outs of simulated
FIRST-like fields (:func:`study_cutouts`, like Riggi et al.'s banner sets) and are scored by
a third probe, the source's morphology class (components and peaks, as notebook 07's signal
probe: balanced logistic regression, whole fields held out; balanced accuracy).
Epoch 0 of each run is the same network at random initialisation, scored by the same probe on
the same crops: the baseline the run must beat.

The x-axis is minutes of training: the run's process CPU time divided by its threads, i.e.
the minutes of that many fully busy cores. On a shared machine contention inflates it
(threads spin while they wait, caches are shared) and single-threaded parts deflate it;
``idle_minutes`` (the steps times the pace of the fastest spans of the training log,
:meth:`~radiolib.evaluate.budget.BudgetRun.idle_seconds_per_step`) is a second estimate of
the idle machine's time, and ``wall_minutes`` what the shared machine took. The verdict
quotes the first two.
Intervals are 95 % percentile-bootstrap intervals over the scored crops, shared (paired) by
every checkpoint scored on them (:func:`score_runs`). :func:`budget_result` turns the curves
into the book's table, records and sentences: whether any SSL checkpoint within the budget
beats random weights with non-overlapping intervals, or how many minutes the trend of the best
curve says it would take. Where no curve improves, :func:`paper_recipe_cost` prices the
papers' own recipes in minutes of this machine, at the FLOP rate the study's training ran.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch.utils.flop_counter import FlopCounterMode

from radiolib.errors import ConfigError, DataError
from radiolib.evaluate.budget import budget_train, cpu_model
from radiolib.evaluate.intervals import Bootstrap
from radiolib.evaluate.probes import count_regression_fit, knn_probe_fit, linear_probe_fit
from radiolib.evaluate.scoring import Rows, class_probe, count_probe
from radiolib.evaluate.splits import group_split
from radiolib.files import atomic_path, atomic_write
from radiolib.models.backbones import backbone
from radiolib.papers import PaperResult
from radiolib.papers.riggi2024_morphology import rgz_like_catalogue, rgz_like_cutouts, stacks
from radiolib.papers.survey import hulk_labels, reuse_or_make
from radiolib.results import load_published
from radiolib.sky import simulate
from radiolib.sky.truth import source_counts
from radiolib.ssl.cache import load_runs, save_runs
from radiolib.ssl.config import load_config
from radiolib.ssl.data import ImageTensors, dataset_for
from radiolib.tiling import TileSet, tile_fields

__all__ = ["BASE", "CROP_PROBES", "LONG", "MORPHOLOGY", "ON_CUTOUTS", "PILOT", "PROBES",
           "RECIPES", "RESULTS", "RUNS", "TINY", "best_settings", "book_study", "budget_result",
           "long_checkpoints", "read_curves", "PAPER_RECIPES", "paper_recipe_cost",
           "recipe_cost_text", "recipe_flops", "training_rate", "run_study",
           "score_cutout_runs", "score_runs",
           "setting_config", "study_crops", "study_cutouts", "study_settings", "study_text",
           "write_curves"]

#: The recipe each method starts from (``radiolib/configs``).
RECIPES = {"simclr": "simclr_riggi", "dino": "dino_resnet50"}
#: What every study run changes in its recipe: CPU-sized inputs, heads and batches, one
#: warm-up epoch, an embedding checkpoint every ``eval_every`` epochs.
BASE = {
    "simclr": dict(image_size=32, batch_size=64, warmup_epochs=1, proj_hidden_dim=256,
                   proj_out_dim=128, num_workers=0, log_every=5),
    "dino": dict(backbone="resnet18", image_size=32, global_size=32, local_size=16, n_local=2,
                 hidden_dim=512, bottleneck_dim=128, out_dim=4096, batch_size=64,
                 warmup_epochs=1, num_workers=0, log_every=5),
}
#: Pilot settings, a few minutes each: name -> (method, epochs, eval_every, config changes).
#: Each changes one knob of the first setting of its method (the most promising first).
PILOT: dict[str, tuple[str, int, int, dict]] = {
    "SimCLR R18/2 32px": ("simclr", 10, 2, {"backbone": "resnet18_w32", "lr": 1e-3}),
    "SimCLR R18/2 64px": ("simclr", 6, 2, {"backbone": "resnet18_w32", "lr": 1e-3,
                                            "image_size": 64}),
    "DINO R18/2 32/16px": ("dino", 2, 1, {"backbone": "resnet18_w32"}),
    "DINO R18/2 64/32px": ("dino", 2, 1, {"backbone": "resnet18_w32", "image_size": 64,
                                          "global_size": 64, "local_size": 32}),
    "SimCLR R18 32px": ("simclr", 6, 2, {"lr": 1e-3}),
    "SimCLR R18/2 32px weak aug": ("simclr", 6, 2, {"backbone": "resnet18_w32", "lr": 1e-3,
                                                    "p_jitter": 0.0, "p_threshold": 0.0,
                                                    "p_blur": 0.0}),
    "SimCLR R18/2 32px strong crops": ("simclr", 6, 2, {"backbone": "resnet18_w32", "lr": 1e-3,
                                                        "crop_scale": [0.3, 1.0]}),
    "SimCLR R18/2 32px batch 128": ("simclr", 6, 2, {"backbone": "resnet18_w32", "lr": 2e-3,
                                                     "batch_size": 128}),
    "DINO R18/2 32px no local crops": ("dino", 2, 1, {"backbone": "resnet18_w32",
                                                      "n_local": 0}),
}
#: The longer CPU setting (``radiolib study --long``, ``make pretrain``): trained once, cached.
#: The pilot's lessons together: full-width ResNet18, 64 px, weak augmentation, Adam at 1e-3.
LONG: dict[str, tuple[str, int, int, dict]] = {
    "SimCLR R18 64px weak aug long": ("simclr", 20, 4, {"lr": 1e-3, "image_size": 64,
                                                         "p_jitter": 0.0, "p_threshold": 0.0,
                                                         "p_blur": 0.0}),
    # cut-outs: the paper's colour jitter and blur kept (a pilot without them did not learn the
    # morphology: two views of a cut-out share its noise and pixel histogram, a shortcut)
    "SimCLR R18 64px cut-outs long": ("simclr", 24, 4, {"lr": 1e-3, "image_size": 64,
                                                         "p_threshold": 0.0,
                                                         "thresholding": False}),
    # counts: the random ResNet18's count error falls from 69 to 51 between 64 and 128 px
    # (measured), so the count setting trains and is probed at 128 px, with the paper's jitter
    "SimCLR R18 128px crops long": ("simclr", 12, 3, {"lr": 1e-3, "image_size": 128,
                                                      "p_threshold": 0.0}),
}
#: The long settings that train on cut-outs of simulated FIRST-like sources (the cut-out side is
#: the config's ``image_size``; thresholding off, as for the banner sets) instead of crops.
ON_CUTOUTS = frozenset({"SimCLR R18 64px cut-outs long", "SimCLR R18/2 cut-outs tiny"})
#: A study small enough for the smoke profile (seconds): numbers without meaning.
TINY: dict[str, tuple[str, int, int, dict]] = {
    "SimCLR R18/2 32px": ("simclr", 2, 1, {"backbone": "resnet18_w32", "lr": 1e-3,
                                            "batch_size": 8}),
    "DINO R18/2 32/16px": ("dino", 2, 1, {"backbone": "resnet18_w32", "batch_size": 8}),
    "SimCLR R18/2 cut-outs tiny": ("simclr", 2, 1, {"backbone": "resnet18_w32", "lr": 1e-3,
                                                     "batch_size": 8, "image_size": 32,
                                                     "thresholding": False}),
}
#: The probes of the crop settings: name -> (metric, whether lower is better).
CROP_PROBES = {"source count": ("mse", True), "primary frame label": ("balanced_accuracy", False)}
#: The probe of the cut-out settings (:data:`ON_CUTOUTS`).
MORPHOLOGY = "source morphology"
#: Every probe of the study.
PROBES = {**CROP_PROBES, MORPHOLOGY: ("balanced_accuracy", False)}
#: How far (times the longest run) the verdict extrapolates a curve's trend.
EXTRAPOLATE = 100
#: File of the scored curves in the study's folder.
RESULTS = "budget_curves.json"
#: The papers' recipes :func:`paper_recipe_cost` prices: config -> published key of the
#: number of crops it trained on (Lastufka et al. Table 1: MGCLS_20k, MGCLS_5k for the ViT).
PAPER_RECIPES = {"dino_resnet50": "lastufka2024.table1.n_mgcls_crops",
                 "dino_vits8": "lastufka2024.table1.n_mgcls_5k_crops"}


def setting_config(name: str, method: str, epochs: int, eval_every: int, changes: dict):
    """Return the config of one study setting: its recipe, :data:`BASE`, then ``changes``."""
    recipe = load_config(RECIPES[method])
    config = recipe.at_batch(BASE[method]["batch_size"])
    slugged = "budget_" + "".join(c if c.isalnum() else "_" for c in name.lower())
    return config.replace(**{**BASE[method], "epochs": epochs, "eval_every": eval_every,
                             "name": slugged, **changes})


def _labels(catalogue):
    frames = hulk_labels(catalogue)

    def labels(boxes: np.ndarray) -> dict:
        return {**frames(boxes), "n_sources": source_counts(catalogue, boxes, snr_min=5.0)}

    return labels


def study_crops(seeds: Sequence[int], size: int, work: str | os.PathLike, name: str) -> TileSet:
    """Simulate an MGCLS-like pointing per seed; cut blank-free 256² crops with both truths.

    Each crop gets ``n_sources`` (sources with SNR >= 5 centred in it, the count probe's
    target) and ``labels`` / ``primary`` (its frame labels, the morphology probe's). The
    crops are reused from ``work/name`` while the seeds, size and code that made them are
    unchanged (``work/name.json`` records them); the fields go to ``work/fields``.
    """
    work = Path(work)

    def make() -> TileSet:
        fields = [simulate("mgcls", size=size, seed=int(s), out_dir=work / "fields")
                  for s in seeds]
        return tile_fields([f.image_path for f in fields], "mgcls", out_dir=work / name,
                           labels=[_labels(f.catalogue) for f in fields],
                           names=[f"{f.preset}_{f.seed}" for f in fields], overwrite=True)

    return reuse_or_make(work / name, {"seeds": [int(s) for s in seeds], "size": int(size),
                                       "truth": "study"}, make)


def study_cutouts(seeds: Sequence[int], size: int, image_size: int,
                  work: str | os.PathLike) -> tuple[np.ndarray, pd.DataFrame]:
    """Simulate a FIRST-like field per seed; cut out each source with a morphology class.

    The cut-outs of notebook 07 (:func:`~radiolib.papers.riggi2024_morphology.rgz_like_cutouts`,
    1.5 times the source's extent, ``image_size`` px), every source of peak SNR >= 5, not
    only the paper's class mix. Returns the raw cut-outs (N, S, S) and their table (``field``,
    ``class``, ``label``, ...).
    """
    seeds = [int(s) for s in seeds]
    if seeds != list(range(seeds[0], seeds[0] + len(seeds))):
        raise ValueError(f"study_cutouts needs consecutive seeds, got {seeds}")
    fields, table = rgz_like_catalogue(len(seeds), size=size, work=work, seed=seeds[0])
    return rgz_like_cutouts(fields, table, image_size=image_size, work=work)


def _predictions(x, counts, primary, fit, test, n_components: int) -> dict[str, np.ndarray]:
    """Test predictions of both crop probes fitted on the ``fit`` crops of features ``x``."""
    x = np.asarray(x, np.float64)
    count = count_regression_fit(x[fit], counts[fit], n_components=n_components)
    label = knn_probe_fit(x[fit], primary[fit])
    return {"source count": count.predict(x[test]), "primary frame label": label.predict(x[test])}


def score_runs(runs: Mapping[str, object], counts, primary, fit, test, *,
               n_components: int = 100, n_boot: int = 1000, seed: int = 0) -> pd.DataFrame:
    """Score every embedding checkpoint of every run with both crop probes, with 95 % intervals.

    ``runs`` maps a setting to its :class:`~radiolib.evaluate.budget.BudgetRun` (or anything
    with ``checkpoints`` and ``embeddings(epoch)``). One bootstrap of the test crops is shared
    by every checkpoint, so ``diff_low``/``diff_high``, the paired interval of each
    checkpoint's score minus epoch 0's (random weights, same network), are comparable.
    Returns one row per (setting, epoch, probe).
    """
    counts, primary = np.asarray(counts, float), np.asarray(primary).astype(str)
    truth = {"source count": counts[test], "primary frame label": primary[test]}
    return _curves(runs, truth, lambda x: _predictions(x, counts, primary, fit, test,
                                                       n_components), n_boot=n_boot, seed=seed)


def score_cutout_runs(runs: Mapping[str, object], labels, fit, test, *, n_boot: int = 1000,
                      seed: int = 0) -> pd.DataFrame:
    """Score every checkpoint of the cut-out runs with the morphology probe (95 % intervals).

    A balanced logistic regression on the features of the ``fit`` sources predicts the
    class of the ``test`` sources (balanced accuracy); the rest as :func:`score_runs`.
    """
    labels = np.asarray(labels).astype(str)

    def predict(x):
        x = np.asarray(x, np.float64)
        return {MORPHOLOGY: linear_probe_fit(x[fit], labels[fit]).predict(x[test])}

    return _curves(runs, {MORPHOLOGY: labels[test]}, predict, n_boot=n_boot, seed=seed)


def _curves(runs: Mapping[str, object], truth: dict, predict, *, n_boot: int,
            seed: int) -> pd.DataFrame:
    """Return a row per (setting, epoch, probe), scored on one shared bootstrap.

    ``predict(features)`` gives each probe's test predictions, scored against ``truth``.
    """
    n_test = len(next(iter(truth.values())))
    boot = Bootstrap(n_test, n_boot=n_boot, seed=seed)
    rows = []
    for setting, run in runs.items():
        pace = run.idle_seconds_per_step()
        preds = {int(e): predict(run.embeddings(int(e))) for e in run.checkpoints["epoch"]}
        for row in run.checkpoints.itertuples():
            for probe in truth:
                metric = PROBES[probe][0]
                p, p0 = preds[int(row.epoch)][probe], preds[0][probe]
                score = boot.interval(metric, truth[probe], p)
                diff = boot.difference(metric, truth[probe], p, p0)
                rows.append({
                    "setting": setting, "method": _method(setting), "epoch": int(row.epoch),
                    "minutes": row.cpu_seconds / max(1, row.threads) / 60,
                    "idle_minutes": row.step * pace / 60, "wall_minutes": row.wall_seconds / 60,
                    "threads": int(row.threads),
                    "load1": row.load1, "probe": probe, "metric": metric,
                    "value": score.value, "low": score.low, "high": score.high,
                    "diff": diff.value, "diff_low": diff.low, "diff_high": diff.high,
                    "n_test": n_test})
    return pd.DataFrame(rows)


def references(crops, counts, primary, fit, test, *, n_boot: int = 1000,
               seed: int = 0) -> dict[str, list[dict]]:
    """Rows every probe gets without a network, on the same test crops and resamples.

    Source count: predicting the fit crops' mean, the pixel histogram (floor) and the
    peak counter (a hand-made feature: the headroom); frame label: the commonest label, the
    pixel histogram and shape moments (:mod:`radiolib.evaluate.scoring`). ``crops`` is the
    (N, S, S) stack of the evaluation crops. Returns
    ``{probe: [{"name", "kind", "value", "low", "high"}, ...]}``.
    """
    counts, primary = np.asarray(counts, float), np.asarray(primary).astype(str)
    count = count_probe({}, counts, fit, test, images=crops, n_boot=n_boot, seed=seed)
    label = class_probe({}, primary[fit], primary[test],
                        images=(Rows(crops, fit, np.float32), Rows(crops, test, np.float32)),
                        metric="balanced_accuracy", probe="knn", n_boot=n_boot, seed=seed)
    return {"source count": [_row(count, n) for n in count.predictions],
            "primary frame label": [_commonest(primary, fit, test, n_boot, seed)]
            + [_row(label, n) for n in label.predictions]}


def cutout_references(cutouts, labels, fit, test, *, n_boot: int = 1000,
                      seed: int = 0) -> dict[str, list[dict]]:
    """Return the morphology probe's rows without a network, on the curves' test sources.

    The commonest class, the pixel histogram and shape moments (the headroom), with the same
    resamples as the curves.
    """
    labels = np.asarray(labels).astype(str)
    scores = class_probe({}, labels[fit], labels[test],
                         images=(Rows(cutouts, fit, np.float32), Rows(cutouts, test, np.float32)),
                         metric="balanced_accuracy", n_boot=n_boot, seed=seed)
    return {MORPHOLOGY: [_commonest(labels, fit, test, n_boot, seed)]
            + [_row(scores, n) for n in scores.predictions]}


def _commonest(labels, fit, test, n_boot: int, seed: int) -> dict:
    """Return the row of guessing the commonest fitting label for every test item."""
    values, freq = np.unique(labels[fit], return_counts=True)
    guess = np.full(len(test), values[freq.argmax()])
    iv = Bootstrap(len(test), n_boot=n_boot, seed=seed).interval("balanced_accuracy",
                                                                 labels[test], guess)
    return {"name": "commonest label", "kind": "mean", "value": iv.value, "low": iv.low,
            "high": iv.high}


def _cached_references(crops: TileSet, record: Path, fit, test, *, n_boot: int,
                       seed: int) -> dict:
    """:func:`references` of the evaluation crops, kept beside them (minutes on a busy CPU)."""
    key = hashlib.sha256(record.read_bytes() + np.asarray(fit).tobytes()
                         + np.asarray(test).tobytes() + f"{n_boot}:{seed}".encode())
    path = crops.path.with_name(f"{crops.path.name}-references-{key.hexdigest()[:12]}.json")
    if path.is_file():
        return json.loads(path.read_text())
    index = crops.index
    out = references(crops.tiles, index["n_sources"], index["primary"], fit, test,
                     n_boot=n_boot, seed=seed)
    atomic_write(path, json.dumps(out, indent=1) + "\n")
    return out


def _row(scores, name: str) -> dict:
    iv = scores.interval(name)
    return {"name": name, "kind": scores.kinds[name], "value": iv.value, "low": iv.low,
            "high": iv.high}


def _method(setting: str) -> str:
    return "SimCLR" if setting.startswith("SimCLR") else "DINO"


def run_study(settings: Mapping[str, tuple], *, work: str | os.PathLike,
              cache_dir: str | os.PathLike, size: int = 3072, n_train: int = 12,
              n_eval: int = 24, cutout_train: int = 16, cutout_eval: int = 48,
              cutout_size: int = 2048,
              seed: int = 0, n_components: int = 100, n_boot: int = 1000,
              score: bool = True, progress: bool = False) -> pd.DataFrame | None:
    """Train (or reuse) every setting and score its checkpoints; see the module docstring.

    Crop settings train on the crops of pointings seeds ``seed ..`` and are probed on those of
    seeds ``seed + 2000 ..`` (half fit the probes, half score them). Cut-out settings
    (:data:`ON_CUTOUTS`) train on the sources of ``cutout_train`` FIRST-like fields of
    ``cutout_size`` px (seeds ``seed + 5000 ..``) and are probed on those of ``cutout_eval``
    other fields (seeds ``seed + 4000 ..``; more than for training, because the rarest classes
    hold ~1 % of the sources and set the width of the balanced accuracy's interval). Writes
    the curves to ``cache_dir/RESULTS`` and returns them (``score=False``: only trains, and
    returns None).
    """
    crop_settings = {k: v for k, v in settings.items() if k not in ON_CUTOUTS}
    cut_settings = {k: v for k, v in settings.items() if k in ON_CUTOUTS}
    parts, meta, refs = [], {}, {}
    if crop_settings:
        curves, info, ref = _crop_study(crop_settings, work=work, cache_dir=cache_dir,
                                        size=size, n_train=n_train, n_eval=n_eval, seed=seed,
                                        n_components=n_components, n_boot=n_boot, score=score,
                                        progress=progress)
        parts.append(curves)
        meta |= info
        refs |= ref
    if cut_settings:
        curves, info, ref = _cutout_study(cut_settings, work=work, cache_dir=cache_dir,
                                          n_train=cutout_train, n_eval=cutout_eval,
                                          size=cutout_size, seed=seed, n_boot=n_boot,
                                          score=score, progress=progress)
        parts.append(curves)
        meta |= info
        refs |= ref
    if not score:
        return None
    curves = pd.concat(parts, ignore_index=True)
    write_curves(curves, cache_dir, cpu=cpu_model(), references=refs,
                 settings={k: list(v) for k, v in settings.items()}, **meta)
    return curves


def _crop_study(settings, *, work, cache_dir, size, n_train, n_eval, seed, n_components,
                n_boot, score, progress):
    """Train and score the crop settings: (curves, meta, references), or Nones unscored."""
    train_crops = study_crops(range(seed, seed + n_train), size, work, "budget_train")
    eval_crops = study_crops(range(seed + 2000, seed + 2000 + n_eval), size, work, "budget_eval")
    index = eval_crops.index
    fit, test = group_split(index["field"], seed=seed)
    data, runs = {}, {}
    for name, (method, epochs, every, changes) in settings.items():
        config = setting_config(name, method, epochs, every, changes)
        scaled = (config.method, config.image_size)
        if scaled not in data:
            data[scaled] = (_scaled(config, train_crops), _scaled(config, eval_crops))
        train_set, eval_set = data[scaled]
        runs[name] = budget_train(config, train_set, eval_set.images, cache_dir=cache_dir,
                                  progress=progress)
    _record_runs(cache_dir, runs)
    if not score:
        return None, {}, {}
    curves = score_runs(runs, index["n_sources"], index["primary"], fit, test,
                        n_components=n_components, n_boot=n_boot, seed=seed)
    refs = _cached_references(eval_crops, Path(work) / "budget_eval.json", fit, test,
                              n_boot=n_boot, seed=seed)
    meta = {"n_train_crops": len(train_crops), "n_eval_crops": len(eval_crops),
            "n_fit": len(fit), "n_test": len(test), "size": size}
    return curves, meta, refs


def _cutout_study(settings, *, work, cache_dir, n_train, n_eval, size, seed, n_boot, score,
                  progress):
    """Train and score the cut-out settings: (curves, meta, references), or Nones unscored."""
    work = Path(work)
    data, runs = {}, {}
    for name, (method, epochs, every, changes) in settings.items():
        config = setting_config(name, method, epochs, every, changes)
        side = config.image_size
        if side not in data:
            train, _ = study_cutouts(range(seed + 5000, seed + 5000 + n_train), size, side,
                                     work / f"cutouts_train_{side}")
            cuts, table = study_cutouts(range(seed + 4000, seed + 4000 + n_eval), size, side,
                                        work / f"cutouts_eval_{side}")
            data[side] = (ImageTensors(torch.from_numpy(stacks(train, side))),
                          torch.from_numpy(stacks(cuts, side)), cuts, table)  # scaled once
        train_set, eval_images, _, _ = data[side]
        runs[name] = budget_train(config, train_set, eval_images, cache_dir=cache_dir,
                                  progress=progress)
    _record_runs(cache_dir, runs)
    if not score:
        return None, {}, {}
    train_set, _, cuts, table = next(iter(data.values()))
    fit, test = group_split(table["field"], seed=seed)
    curves = score_cutout_runs(runs, table["class"], fit, test, n_boot=n_boot, seed=seed)
    refs = cutout_references(np.asarray(cuts), table["class"], fit, test, n_boot=n_boot,
                             seed=seed)
    meta = {"n_train_cutouts": len(train_set), "n_eval_cutouts": len(table),
            "cutout_fit": len(fit), "cutout_test": len(test), "cutout_fields": n_eval,
            "cutout_size": size}
    return curves, meta, refs


def study_settings(*, pilot: bool = True, long: bool = False,
                   names: Sequence[str] = ()) -> dict[str, tuple]:
    """Return the settings to run: the pilot, the long setting, or the ones named."""
    every = {**PILOT, **LONG}
    unknown = [n for n in names if n not in every]
    if unknown:
        raise ConfigError(f"unknown study setting(s) {', '.join(map(repr, unknown))}; "
                          f"choose from {', '.join(map(repr, every))}")
    if names:
        return {n: every[n] for n in names}
    return {**(PILOT if pilot else {}), **(LONG if long else {})}


def book_study(study_dir: str | os.PathLike, work: str | os.PathLike, *, tiny: bool = False,
               size: int = 768) -> tuple[pd.DataFrame, dict, bool]:
    """Return the curves the book shows, their ``meta`` and whether they are the real study.

    The study written by ``radiolib study`` in ``study_dir`` when it is there and ``tiny`` is
    False; otherwise a tiny study (:data:`TINY`, seconds, meaningless numbers) run in
    ``work``, so that the page still builds -- its text then says so.
    """
    if not tiny and (Path(study_dir) / RESULTS).is_file():
        curves, meta = read_curves(study_dir)
        return curves, meta, True
    work = Path(work)
    run_study(TINY, work=work, cache_dir=work / "budget_tiny", size=size, n_train=2,
              n_eval=4, cutout_train=2, cutout_eval=2, cutout_size=1024, n_components=10,
              n_boot=100)
    curves, meta = read_curves(work / "budget_tiny")
    return curves, meta, False


def study_text(curves: pd.DataFrame, meta: dict, real: bool) -> str:
    """Return a sentence saying where the curves come from: machine, minutes, load, crops."""
    if not real:
        return ("These curves come from a tiny stand-in study of a few seconds (the smoke "
                "profile, or no study cached yet: `make pretrain` or `radiolib study` writes "
                "it): they show that the code works, and their numbers mean nothing.")
    longest = curves.groupby("setting")["minutes"].max()
    data = []
    if "n_train_crops" in meta:
        data.append(f"the crop settings trained on {meta['n_train_crops']} MGCLS-like crops and "
                    f"were probed on {meta['n_eval_crops']} crops of other pointings "
                    f"({meta['n_fit']} fit, {meta['n_test']} scored)")
    if "n_train_cutouts" in meta:
        data.append(f"the cut-out settings trained on {meta['n_train_cutouts']} cut-outs of "
                    f"simulated FIRST-like sources and were probed on {meta['n_eval_cutouts']} "
                    f"sources of {meta['cutout_fields']} other fields ({meta['cutout_fit']} fit, "
                    f"{meta['cutout_test']} scored)")
    return (f"The study ran on {meta['cpu']} with {int(curves['threads'].max())} threads: "
            f"{len(longest)} settings, {longest.sum():.0f} minutes of training in all (CPU "
            f"time / threads; {curves.groupby('setting')['wall_minutes'].max().sum():.0f} "
            f"wall-clock minutes at a mean load of {curves['load1'].mean():.1f}); "
            + "; ".join(data) + ".")


def best_settings(curves: pd.DataFrame, budget_minutes: float) -> pd.DataFrame:
    """Per method and probe: the setting with the best score at a checkpoint within the budget.

    Columns: ``method, probe, setting, epoch, minutes, value, low, high``; the setting's
    config is its entry of :data:`PILOT` or :data:`LONG`.
    """
    trained = curves[(curves["epoch"] > 0) & (curves["minutes"] <= budget_minutes)]
    rows = []
    for (_, probe), g in trained.groupby(["method", "probe"], sort=False):
        lower = PROBES[probe][1]
        best = g.loc[g["value"].idxmin() if lower else g["value"].idxmax()]
        rows.append(best[["method", "probe", "setting", "epoch", "minutes", "value", "low",
                          "high"]])
    return pd.DataFrame(rows).reset_index(drop=True)


def _step_flops(arch: str, in_chans: int, size: int, *, backward: bool) -> float:
    """FLOPs of one image of ``size``² through backbone ``arch`` (with its backward pass)."""
    net = backbone(arch, in_chans, image_size=size)[0].to("meta")  # shapes only, no compute
    x = torch.zeros(2, in_chans, size, size, device="meta")  # batch norm trains on 2 or more
    with FlopCounterMode(display=False) as counter:
        if backward:
            net(x).sum().backward()
        else:
            with torch.no_grad():
                net(x)
    return float(counter.get_total_flops()) / 2


def recipe_flops(config) -> float:
    """Training FLOPs per image and epoch of a recipe's backbone, forward and backward passes.

    SimCLR: two views at ``image_size``. DINO: the student's two global views
    (``global_size``) and ``n_local`` local ones, and the teacher's forward pass of the two
    global views. Heads and augmentation are left out (a few per cent of a ResNet's FLOPs).
    """
    arch, chans = config.backbone, config.in_chans
    if config.method == "simclr":
        return 2 * _step_flops(arch, chans, config.image_size, backward=True)
    return (2 * _step_flops(arch, chans, config.global_size, backward=True)
            + config.n_local * _step_flops(arch, chans, config.local_size, backward=True)
            + 2 * _step_flops(arch, chans, config.global_size, backward=False))


def training_rate(curves: pd.DataFrame, meta: dict) -> float:
    """FLOPs per minute (the curves' minutes) the study's crop settings trained at, together.

    Each crop setting's training FLOPs up to its last checkpoint (:func:`recipe_flops` times
    the crops its epochs saw) over its minutes there; embedding the probes' crops is not in
    the minutes, so it is not in the FLOPs either.
    """
    flops = minutes = 0.0
    for name, (method, epochs, every, changes) in meta["settings"].items():
        rows = curves[(curves["setting"] == name) & (curves["epoch"] > 0)]
        if name in ON_CUTOUTS or rows.empty:
            continue
        config = setting_config(name, method, epochs, every, changes)
        last = rows.loc[rows["epoch"].idxmax()]
        seen = meta["n_train_crops"] // config.batch_size * config.batch_size * last["epoch"]
        flops += recipe_flops(config) * seen
        minutes += float(last["minutes"])
    if minutes <= 0:
        raise DataError("the study has no timed crop setting to measure a training rate on")
    return flops / minutes


def paper_recipe_cost(curves: pd.DataFrame, meta: dict) -> pd.DataFrame:
    """Price the papers' own pre-training in minutes of the machine the study ran on.

    For each recipe of :data:`PAPER_RECIPES` (the config files, the paper's epochs and crop
    sides; its number of training crops from ``published.yaml``): its training FLOPs
    (:func:`recipe_flops`) divided by the rate the study's training sustained
    (:func:`training_rate`). An estimate for the count probe's verdict when no CPU curve
    improves: the price of the setting the paper trained, not a prediction that it beats
    random weights here.
    """
    rate = training_rate(curves, meta)
    crops = load_published().set_index("key")["value"]
    rows = []
    for name, key in PAPER_RECIPES.items():
        config = load_config(name)
        per_image = recipe_flops(config)
        total = per_image * float(crops[key]) * config.epochs
        rows.append({"recipe": name, "backbone": config.backbone, "epochs": config.epochs,
                     "crops": int(crops[key]), "GFLOP per crop": per_image / 1e9,
                     "PFLOP": total / 1e15, "minutes": total / rate,
                     "days": total / rate / 1440})
    return pd.DataFrame(rows).set_index("recipe").assign(rate_tflop_per_minute=rate / 1e12)


def recipe_cost_text(cost: pd.DataFrame, cpu: str) -> str:
    """One sentence per recipe of :func:`paper_recipe_cost`, for the book."""
    parts = [f"{name} ({row['backbone']}, {row['epochs']} epochs on {row['crops']} crops, "
             f"{row['PFLOP']:.0f} PFLOP) about {row['days']:.0f} days"
             for name, row in cost.iterrows()]
    rate = cost["rate_tflop_per_minute"].iloc[0]
    return (f"At the rate the study's training ran on {cpu} ({rate:.1f} TFLOP per minute), "
            "the papers' own pre-training would take " + "; ".join(parts) + ".")


def _scaled_path(config, crops: TileSet) -> Path:
    """Where :func:`_scaled` keeps the crops scaled for ``config``: keyed by their content."""
    h = hashlib.sha256(f"{config.method}:{config.image_size}".encode())
    if config.method == "dino":
        h.update(config.field_limits.encode())
    for part in ("index.csv", "fields.json"):
        h.update((crops.path / part).read_bytes())
    return crops.path.with_name(f"{crops.path.name}-scaled-{h.hexdigest()[:12]}.pt")


def _scaled(config, crops: TileSet):
    """Return the crops scaled for ``config`` (:func:`radiolib.ssl.dataset_for`), cached.

    Scaling thousands of crops takes minutes on a busy CPU; the tensors are kept beside the
    crops, keyed by the crops' index and fields and the scaling.
    """
    path = _scaled_path(config, crops)
    if path.is_file():
        return ImageTensors(torch.load(path), source=str(crops.path))
    ds = dataset_for(config, crops)
    with atomic_path(path) as tmp:
        torch.save(ds.images, tmp)
    return ds


#: Name under which :func:`run_study` records its finished runs (:func:`load_runs`).
RUNS = "budget"


def _record_runs(cache_dir, runs: Mapping[str, object]) -> None:
    """Add the finished runs to the ``budget`` record, for notebooks that reuse a checkpoint.

    ``radiolib.ssl.cache.load_runs(cache_dir, "budget")[setting]`` finds them again.
    """
    try:
        known = load_runs(cache_dir, RUNS)
    except DataError:
        known = {}
    finished = {name: r.run for name, r in runs.items() if (r.run.out_dir / "done.json").is_file()}
    save_runs(cache_dir, RUNS, {**known, **finished})


def long_checkpoints(study_dir: str | os.PathLike, *,
                     image_size: int | None = None) -> dict[str, Path]:
    """Return the checkpoints of the :data:`LONG` settings ``make pretrain`` trained, by name.

    ``image_size``: only the settings trained at that input side (a notebook comparing
    backbones at one input size). Empty when the study has not been run in ``study_dir``: the
    notebooks that reuse the long model then go on without it and say so.
    """
    try:
        runs = load_runs(study_dir, RUNS)
    except DataError:
        return {}
    return {name: runs[name].checkpoint for name in LONG if name in runs
            and (image_size is None or setting_config(name, *LONG[name]).image_size
                 == image_size)}


def write_curves(curves: pd.DataFrame, folder: str | os.PathLike, **meta) -> Path:
    """Write the scored curves and what made them (CPU, settings...) to ``folder/RESULTS``."""
    path = Path(folder) / RESULTS
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, json.dumps({"meta": meta, "curves": curves.to_dict(orient="records")},
                                  indent=1, default=float) + "\n")
    return path


def read_curves(folder: str | os.PathLike) -> tuple[pd.DataFrame, dict]:
    """Read what :func:`write_curves` wrote: the curves and their ``meta``."""
    path = Path(folder) / RESULTS
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DataError(f"no budget study in {path.parent}; run `radiolib study` (or "
                        "`make pretrain`) first") from None
    return pd.DataFrame.from_records(data["curves"]), data["meta"]


def _paired_better(row) -> bool:
    """Whether the paired interval of (checkpoint - random weights) lies on the better side."""
    return bool(row["diff_high"] < 0 if PROBES[row["probe"]][1] else row["diff_low"] > 0)


def budget_result(curves: pd.DataFrame, budget_minutes: float, *,
                  note: str | None = None) -> PaperResult:
    """Table, records and text of the study: best checkpoint within ``budget_minutes`` per probe.

    For each probe and setting: the random-weights score (epoch 0), the best SSL checkpoint
    reached within the budget, and whether it beats random weights: the two intervals do not
    overlap and the paired interval of their difference excludes 0. When none does, the text
    gives the minutes the best curve would need by a straight-line trend of its score against
    log-minutes, or says that it does not improve.
    """
    rows, records = [], {}
    for (probe, setting), g in curves.groupby(["probe", "setting"], sort=False):
        g = g.sort_values("epoch")
        lower = PROBES[probe][1]
        start = g.iloc[0]
        within = g[(g["epoch"] > 0) & (g["minutes"] <= budget_minutes)]
        pool = within if len(within) else g[g["epoch"] > 0]
        if pool.empty:
            continue
        best = pool.loc[pool["value"].idxmin() if lower else pool["value"].idxmax()]
        apart = best["high"] < start["low"] if lower else best["low"] > start["high"]
        rows.append({"probe": probe, "setting": setting, "method": best["method"],
                     "random": start["value"], "random_low": start["low"],
                     "random_high": start["high"], "ssl": best["value"], "ssl_low": best["low"],
                     "ssl_high": best["high"], "minutes": best["minutes"],
                     "idle_minutes": best.get("idle_minutes", np.nan),
                     "epoch": int(best["epoch"]), "longest_minutes": float(g["minutes"].max()),
                     "within_budget": bool(len(within)),
                     "beats_random": bool(apart and _paired_better(best))})
        rows[-1]["minutes_needed"] = (float("nan") if rows[-1]["beats_random"]
                                      else _minutes_needed(g, lower))
        key = f"extra.budget.{_slug(setting)}.{_slug(probe)}"
        records[f"{key}.ssl"] = float(best["value"])
        records[f"{key}.random"] = float(start["value"])
        records[f"{key}.minutes"] = float(best["minutes"])
    table = pd.DataFrame(rows)
    verdicts = {probe: _verdict(probe, t, budget_minutes)
                for probe, t in table.groupby("probe", sort=False)}
    verdicts |= {probe: f"{probe}: no setting of this study was scored on it (`make "
                        "pretrain` runs every probe's settings)."
                 for probe in PROBES if probe not in verdicts}
    return PaperResult(table, records, note=note, details={"verdicts": verdicts})


def _minutes_needed(g: pd.DataFrame, lower: bool) -> float:
    """Minutes at which a log-linear trend of the score would clear random's interval.

    NaN when there are too few checkpoints or the trend does not move away from random; inf
    when it would take more than :data:`EXTRAPOLATE` times the longest run.
    """
    start = g.iloc[0]
    trained = g[g["epoch"] > 0]
    if len(trained) < 2 or (trained["minutes"] <= 0).any():
        return float("nan")
    slope, icept = np.polyfit(np.log(trained["minutes"]), trained["value"], 1)
    half = float(((trained["high"] - trained["low"]) / 2).mean())
    target = start["low"] - half if lower else start["high"] + half
    if (-slope if lower else slope) <= 1e-9 * (abs(icept) + 1):  # flat (to rounding) or worse
        return float("nan")
    with np.errstate(over="ignore"):
        needed = float(np.exp((target - icept) / slope))
    # beyond a hundredfold the longest run, a trend of a few points says nothing
    return needed if needed <= EXTRAPOLATE * trained["minutes"].max() else float("inf")


def _slug(text: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in text.lower()).strip("_")


def _verdict(probe: str, t: pd.DataFrame, budget: float) -> str:
    metric = "MSE" if PROBES[probe][1] else "balanced accuracy"
    winners = t[t["beats_random"] & t["within_budget"]]
    if len(winners):
        w = winners.sort_values("minutes").iloc[0]
        return (f"{probe}: {w['setting']} beats its random initialisation at 95 % within "
                f"{budget:.0f} min ({metric} {w['ssl']:.3g} [{w['ssl_low']:.3g}, "
                f"{w['ssl_high']:.3g}] after {w['minutes']:.1f} min of CPU time per thread, "
                f"{w['idle_minutes']:.1f} at the idle pace, vs {w['random']:.3g} "
                f"[{w['random_low']:.3g}, {w['random_high']:.3g}] at random weights).")
    need = t["minutes_needed"].dropna()
    none = (f"{probe}: no setting beats its random initialisation with non-overlapping 95 % "
            f"intervals within {budget:.0f} min")
    if len(need) and np.isfinite(need).any():
        w = t.loc[need[np.isfinite(need)].idxmin()]
        return (f"{none}; the trend of {w['setting']} ({metric} against log-minutes) would "
                f"clear it after about {w['minutes_needed']:.0f} min (an extrapolation).")
    longest = t["longest_minutes"].max()
    if len(need):
        return (f"{none}; the trends that improve at all would need more than "
                f"{EXTRAPOLATE} times the longest run ({longest:.0f} min): no useful estimate.")
    return (f"{none}, and no curve improves on it in up to {longest:.0f} min of training: it "
            f"would take more than that, and the study cannot say how much more.")
