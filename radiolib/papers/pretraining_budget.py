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
curve says it would take.
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

from radiolib.errors import ConfigError, DataError
from radiolib.evaluate.budget import budget_train, cpu_model
from radiolib.evaluate.intervals import Bootstrap
from radiolib.evaluate.probes import count_regression_fit, knn_probe_fit
from radiolib.evaluate.scoring import Rows, class_probe, count_probe
from radiolib.evaluate.splits import group_split
from radiolib.files import atomic_path, atomic_write
from radiolib.papers import PaperResult
from radiolib.papers.survey import hulk_labels, reuse_or_make
from radiolib.sky import simulate
from radiolib.sky.truth import source_counts
from radiolib.ssl.cache import load_runs, save_runs
from radiolib.ssl.config import load_config
from radiolib.ssl.data import ImageTensors, dataset_for
from radiolib.tiling import TileSet, tile_fields

__all__ = ["BASE", "LONG", "PILOT", "PROBES", "RECIPES", "RESULTS", "RUNS", "TINY",
           "best_settings", "book_study", "budget_result", "long_checkpoints", "read_curves",
           "run_study", "score_runs", "setting_config", "study_crops", "study_settings",
           "study_text", "write_curves"]

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
}
#: A study small enough for the smoke profile (seconds): numbers without meaning.
TINY: dict[str, tuple[str, int, int, dict]] = {
    "SimCLR R18/2 32px": ("simclr", 2, 1, {"backbone": "resnet18_w32", "lr": 1e-3,
                                            "batch_size": 8}),
    "DINO R18/2 32/16px": ("dino", 2, 1, {"backbone": "resnet18_w32", "batch_size": 8}),
}
#: The probes: name -> (metric, whether lower is better).
PROBES = {"source count": ("mse", True), "primary frame label": ("balanced_accuracy", False)}
#: How far (times the longest run) the verdict extrapolates a curve's trend.
EXTRAPOLATE = 100
#: File of the scored curves in the study's folder.
RESULTS = "budget_curves.json"


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


def _predictions(x, counts, primary, fit, test, n_components: int) -> dict[str, np.ndarray]:
    """Test predictions of both probes fitted on the ``fit`` crops of features ``x``."""
    x = np.asarray(x, np.float64)
    count = count_regression_fit(x[fit], counts[fit], n_components=n_components)
    label = knn_probe_fit(x[fit], primary[fit])
    return {"source count": count.predict(x[test]), "primary frame label": label.predict(x[test])}


def score_runs(runs: Mapping[str, object], counts, primary, fit, test, *,
               n_components: int = 100, n_boot: int = 1000, seed: int = 0) -> pd.DataFrame:
    """Score every embedding checkpoint of every run with both probes, with 95 % intervals.

    ``runs`` maps a setting to its :class:`~radiolib.evaluate.budget.BudgetRun` (or anything
    with ``checkpoints`` and ``embeddings(epoch)``). One bootstrap of the test crops is shared
    by every checkpoint, so ``diff_low``/``diff_high``, the paired interval of each
    checkpoint's score minus epoch 0's (random weights, same network), are comparable.
    Returns one row per (setting, epoch, probe).
    """
    counts, primary = np.asarray(counts, float), np.asarray(primary).astype(str)
    truth = {"source count": counts[test], "primary frame label": primary[test]}
    boot = Bootstrap(len(test), n_boot=n_boot, seed=seed)
    rows = []
    for setting, run in runs.items():
        pace = run.idle_seconds_per_step()
        preds = {int(e): _predictions(run.embeddings(int(e)), counts, primary, fit, test,
                                      n_components) for e in run.checkpoints["epoch"]}
        for row in run.checkpoints.itertuples():
            for probe, (metric, _) in PROBES.items():
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
                    "n_test": len(test)})
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
    values, freq = np.unique(primary[fit], return_counts=True)
    guess = np.full(len(test), values[freq.argmax()])
    iv = Bootstrap(len(test), n_boot=n_boot, seed=seed).interval("balanced_accuracy",
                                                                 primary[test], guess)
    return {"source count": [_row(count, n) for n in count.predictions],
            "primary frame label": [{"name": "commonest label", "kind": "mean",
                                     "value": iv.value, "low": iv.low, "high": iv.high}]
            + [_row(label, n) for n in label.predictions]}


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
              n_eval: int = 24, seed: int = 0, n_components: int = 100, n_boot: int = 1000,
              score: bool = True, progress: bool = False) -> pd.DataFrame | None:
    """Train (or reuse) every setting and score its checkpoints; see the module docstring.

    Training pointings are seeds ``seed ..``, evaluation pointings ``seed + 2000 ..`` (half
    fit the probes, half score them). Writes the curves to ``cache_dir/RESULTS`` and returns
    them (``score=False``: only trains, and returns None).
    """
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
        return None
    curves = score_runs(runs, index["n_sources"], index["primary"], fit, test,
                        n_components=n_components, n_boot=n_boot, seed=seed)
    write_curves(curves, cache_dir, cpu=cpu_model(),
                 references=_cached_references(eval_crops, Path(work) / "budget_eval.json", fit,
                                               test, n_boot=n_boot, seed=seed),
                 n_train_crops=len(train_crops),
                 n_eval_crops=len(eval_crops), n_fit=len(fit), n_test=len(test),
                 settings={k: list(v) for k, v in settings.items()}, size=size)
    return curves


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
              n_eval=4, n_components=10, n_boot=100)
    curves, meta = read_curves(work / "budget_tiny")
    return curves, meta, False


def study_text(curves: pd.DataFrame, meta: dict, real: bool) -> str:
    """Return a sentence saying where the curves come from: machine, minutes, load, crops."""
    if not real:
        return ("These curves come from a tiny stand-in study of a few seconds (the smoke "
                "profile, or no study cached yet: `make pretrain` or `radiolib study` writes "
                "it): they show that the code works, and their numbers mean nothing.")
    longest = curves.groupby("setting")["minutes"].max()
    return (f"The study ran on {meta['cpu']} with {int(curves['threads'].max())} threads: "
            f"{len(longest)} settings, {longest.sum():.0f} minutes of training in all (CPU "
            f"time / threads; {curves.groupby('setting')['wall_minutes'].max().sum():.0f} "
            f"wall-clock minutes at a mean load of {curves['load1'].mean():.1f}), trained on "
            f"{meta['n_train_crops']} crops and probed on {meta['n_eval_crops']} crops of "
            f"other pointings ({meta['n_fit']} fit, {meta['n_test']} scored).")


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


def long_checkpoints(study_dir: str | os.PathLike) -> dict[str, Path]:
    """Return the checkpoints of the :data:`LONG` settings ``make pretrain`` trained, by name.

    Empty when the study has not been run in ``study_dir``: the notebooks that reuse the long
    model then go on without it and say so.
    """
    try:
        runs = load_runs(study_dir, RUNS)
    except DataError:
        return {}
    return {name: runs[name].checkpoint for name in LONG if name in runs}


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
                     "epoch": int(best["epoch"]), "within_budget": bool(len(within)),
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
    if len(need):
        return (f"{none}; the trends that improve at all would need more than "
                f"{EXTRAPOLATE} times the longest run: no useful estimate.")
    return (f"{none}, and no curve improves on it: the study gives no estimate of the "
            f"minutes it would take.")
