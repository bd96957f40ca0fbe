"""Riggi et al. 2024 [0], Task I (Sect. 3): radio-source morphology from SimCLR features.

The paper classifies RGZ DR1 sources (FIRST, 1.4 GHz, ~5" beam) into six components-peaks
classes with a frozen ResNet18 and one softmax layer (Fig. 5: F1 per class for five SimCLR
backbones and an ImageNet one; Fig. 6: the confusion matrix; Fig. 4: a UMAP), then fine-tunes
the whole network from scratch or from smart_hulk_smgps on shrinking label fractions (Fig. 7).

Here the same protocol (:mod:`radiolib.evaluate.classify`) runs on simulated RGZ-like sources
(:func:`rgz_like_sources`: FIRST-like fields of :mod:`radiolib.sky`, cut-outs 1.5x the source,
labelled by the simulator's island and peak counts) and on the real FIRST galaxies of RGD and
MiraBest. The functions below build those sets and turn scores into the records of
``published.yaml`` (``riggi2024.fig5.*``, ``fig6.*``, ``fig7.*``); other numbers go under
``extra.riggi2024_morphology.*``. F1 values are recorded in per cent.

- [0] Riggi et al. 2024, PASA, arXiv:2404.18462
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from sklearn.decomposition import PCA

from radiolib.data import load_mirabest, load_rgd, load_rgz_dr1, rgz_dr1_available
from radiolib.errors import DataError
from radiolib.evaluate import Draw, dihedral_features, frozen_protocol, load_backbone, umap_2d
from radiolib.evaluate.backbones import IMAGENET
from radiolib.evaluate.intervals import interval_note
from radiolib.evaluate.scoring import class_probe
from radiolib.evaluate.splits import group_split
from radiolib.papers import PaperResult
from radiolib.published import published_rows
from radiolib.scaling import riggi3
from radiolib.sky import RGZ_CLASSES, simulate
from radiolib.tiling import tile_fields

__all__ = ["BACKBONES", "EXTRA", "FIG6_CLASSES", "FIGURES", "FRACTIONS", "REAL_SETS", "SIMCLR",
           "absent_real_sets", "balanced_size", "best_backbone", "draw_subset", "feature_map",
           "fig5_result", "fig6_result", "fig7_result", "fraction_sample", "frozen_backbones",
           "frozen_runs", "mix_result", "protocol_result", "real_data_result",
           "real_labelled_set", "rgz_like_catalogue", "rgz_like_cutouts", "rgz_like_sources",
           "signal_result", "stacks", "trained_size", "view0_features"]

#: The paper's five SimCLR backbones (Fig. 5, in its legend order) and the ImageNet baseline.
BACKBONES = ("hulk_smgps", "banner_smgps", "smart_hulk_smgps", "hulk_emupilot",
             "banner_emupilot", "imagenet")
#: The five SimCLR backbones, as notebook 03 caches them.
SIMCLR = BACKBONES[:5]
#: Published figures this experiment redraws (recorded with ``ResultsStore.figure``).
FIGURES = {"fig4": "riggi2024.fig4.umap_rgz", "figa1": "riggi2024.figa1.misclassified_rgz"}
#: Class fractions of the paper's RGZ DR1 selection (Sect. 3.1), in per cent.
FRACTIONS = {"1C-1P": 55.0, "1C-2P": 20.9, "1C-3P": 1.9, "2C-2P": 17.6, "2C-3P": 2.0,
             "3C-3P": 2.5}
#: Classes whose misclassification rate the paper quotes (Sect. 3.2 on Fig. 6).
FIG6_CLASSES = ("2C-2P", "2C-3P", "3C-3P")
#: Prefix of the numbers the paper does not publish.
EXTRA = "extra.riggi2024_morphology"


def _slug(name: str) -> str:
    return name.lower().replace("-", "_").replace(" ", "_")


def rgz_like_catalogue(n_fields: int, *, size: int, work: str | os.PathLike, seed: int = 0,
                       snr_min: float = 5.0) -> tuple[list, pd.DataFrame]:
    """Simulate FIRST-like fields; return them and their sources with an RGZ class.

    Sources with a peak SNR >= ``snr_min`` and a components-peaks class from the truth: one
    row each (``field, source`` id, ``class``, ``label`` index into
    :data:`radiolib.sky.RGZ_CLASSES`, size in arcsec, SNR). No image is cut yet, so that a
    large simulation cuts out only the sources it keeps (:func:`rgz_like_cutouts`).
    """
    fields = [simulate("first", size=size, seed=seed + i, out_dir=Path(work) / "fields")
              for i in range(n_fields)]
    rows = []
    for f in fields:
        c = f.catalogue
        c = c[(c["rgz_class"] != "") & (c["snr"] >= snr_min) & (c["n_islands"] > 0)]
        rows.append(pd.DataFrame({"field": f"first_{f.seed}", "source": c["id"].astype(int),
                                  "class": c["rgz_class"], "size_arcsec": c["size_arcsec"],
                                  "snr": c["snr"]}))
    table = pd.concat(rows, ignore_index=True)
    table["label"] = [RGZ_CLASSES.index(c) for c in table["class"]]
    return fields, table


def rgz_like_cutouts(fields, sources: pd.DataFrame, *, image_size: int,
                     work: str | os.PathLike, factor: float = 1.5,
                     min_size: int = 16) -> tuple[np.ndarray, pd.DataFrame]:
    """Cut out ``sources`` (rows of :func:`rgz_like_catalogue`) of their ``fields``.

    Each cut-out is centred on its source and ``factor`` times its extent (the paper: 1.5 x
    the RGZ angular size), resized to ``image_size``. Returns the raw cut-outs (N, S, S),
    memory-mapped from the tile set written under ``work``, and the rows of ``sources`` they
    show, in the same order (a source whose box is mostly off the field is skipped).
    """
    if not len(sources):
        raise ValueError("no sources to cut out (with the paper's class mix, one class with "
                         "no source empties the set): simulate more or larger fields")
    names, paths, cats = [], [], []
    for f in fields:
        name = f"first_{f.seed}"
        ids = sources.loc[sources["field"] == name, "source"]
        if len(ids):
            c = f.catalogue
            names.append(name)
            paths.append(f.image_path)
            cats.append(c[c["id"].isin(ids)].reset_index(drop=True))
    ts = tile_fields(paths, "banner", out_dir=Path(work) / "rgz_like", size=image_size,
                     factor=factor, min_size=min_size, catalogues=cats, names=names,
                     overwrite=True)
    index = ts.index
    ids = [int(cats[names.index(fld)]["id"].iloc[int(r)])
           for fld, r in zip(index["field"], index["source_row"], strict=True)]
    table = sources.set_index(["field", "source"]).loc[list(zip(index["field"], ids,
                                                                strict=True))]
    return ts.tiles, table.reset_index()


def stacks(tiles, image_size: int) -> np.ndarray:
    """Scale raw cut-outs (N, H, W) as in pre-training: riggi3 stacks (N, 3, S, S) float32."""
    return riggi3(size=image_size)(np.array(tiles, np.float32)).astype(np.float32)


def rgz_like_sources(n_fields: int, *, size: int, image_size: int, work: str | os.PathLike,
                     seed: int = 0, snr_min: float = 5.0, factor: float = 1.5,
                     min_size: int = 16) -> tuple[np.ndarray, np.ndarray, pd.DataFrame]:
    """Simulate FIRST-like fields and cut out every source with an RGZ class, riggi3-scaled.

    :func:`rgz_like_catalogue`, then :func:`rgz_like_cutouts` of all its sources and
    :func:`stacks`. Returns images (N, 3, S, S) float32, labels (indices into
    :data:`radiolib.sky.RGZ_CLASSES`) and a table (field, source id, class, size in arcsec,
    SNR). Holds every cut-out in memory: at the paper's sizes, select first.
    """
    fields, table = rgz_like_catalogue(n_fields, size=size, work=work, seed=seed,
                                       snr_min=snr_min)
    tiles, meta = rgz_like_cutouts(fields, table, image_size=image_size, work=work,
                                   factor=factor, min_size=min_size)
    labels = meta.pop("label").to_numpy(np.int64)
    return stacks(tiles, image_size), labels, meta


def trained_size(runs) -> int:
    """Return the input side notebook 03's first SimCLR run (:data:`SIMCLR`) was trained at."""
    if SIMCLR[0] not in runs:
        raise DataError(f"no cached SimCLR run {SIMCLR[0]!r}; run notebook "
                        "03_simclr_pretraining for this profile first")
    return load_backbone(runs[SIMCLR[0]].checkpoint).image_size


def frozen_backbones(runs, *, image_size: int | None = None, seed: int = 0, device=None,
                     extra: dict | None = None) -> tuple[dict, dict[str, str]]:
    """Load the five SimCLR backbones, the ImageNet ResNet18 and a random ResNet18.

    ``runs`` maps the names of :data:`SIMCLR` to notebook 03's cached runs (anything with a
    ``checkpoint``); every model embeds ``image_size`` px (default: the side the first SimCLR
    run was trained at). ``extra`` maps more names to checkpoints (e.g. the budget study's long
    SimCLR run), loaded beside them. Returns ``(models, missing)``: name -> FeatureExtractor,
    and name -> why it is absent (the ImageNet weights on an offline machine), so that its row
    can say so.
    """
    absent = [n for n in SIMCLR if n not in runs]
    if absent:
        raise DataError(f"no cached SimCLR run for {absent}; run notebook 03_simclr_pretraining "
                        "for this profile first")
    models = {n: load_backbone(runs[n].checkpoint, device=device) for n in SIMCLR}
    side = image_size or models[SIMCLR[0]].image_size
    missing = {}
    try:
        models["imagenet"] = load_backbone(IMAGENET, image_size=side, device=device)
    except DataError as exc:
        missing["imagenet"] = str(exc)
    models |= {name: load_backbone(ckpt, image_size=side, device=device)
               for name, ckpt in (extra or {}).items()}
    models["random"] = load_backbone("random:resnet18", in_chans=3, image_size=side,
                                     device=device, seed=seed)
    return models, missing


#: Real labelled sets the protocol runs on: two in the shared data, RGZ DR1 when a user has it.
REAL_SETS = ("RGD", "MiraBest", "RGZ_DR1")


def absent_real_sets(names, *, data_dir=None) -> dict[str, str]:
    """Return name -> why for the sets of ``names`` not in the data folder.

    Only RGZ DR1 can be absent: the others are fetched from the mirror or the network.
    """
    unknown = [n for n in names if n not in REAL_SETS]
    if unknown:
        raise ValueError(f"unknown real sets {unknown}; expected some of {list(REAL_SETS)}")
    if "RGZ_DR1" in names and not rgz_dr1_available(data_dir=data_dir):
        return {"RGZ_DR1": "not in the data folder; `radiolib fetch rgz_dr1` says where to get "
                           "it and how to lay it out"}
    return {}


def real_labelled_set(name: str, *, image_size: int, mirror=None,
                      data_dir=None) -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
    """Every image of a real FIRST set (one of :data:`REAL_SETS`), riggi3-scaled.

    All splits are pooled (the protocol draws its own balanced train/test sets); images are
    (N, 3, S, S) float32 as in pre-training, labels index the returned class names. RGZ DR1
    is read from the data folder (:func:`radiolib.data.load_rgz_dr1`).
    """
    if name == "RGD":
        d = load_rgd(mirror=mirror, data_dir=data_dir)
    elif name == "MiraBest":
        d = load_mirabest("all", mirror=mirror, data_dir=data_dir)
    elif name == "RGZ_DR1":
        d = load_rgz_dr1(data_dir=data_dir, side=image_size)
    else:
        raise ValueError(f"name must be one of {list(REAL_SETS)}, got {name!r}")
    images = riggi3(size=image_size)(d.images.astype(np.float32))
    return images.astype(np.float32), np.asarray(d.labels), tuple(d.class_names)


def draw_subset(draws) -> tuple[np.ndarray, list[Draw]]:
    """Return the images the draws use (sorted indices) and the draws re-indexed into them.

    Only these images need embedding: at the paper's fractions the pool is many times larger
    than the balanced draws taken from it.
    """
    used = np.unique(np.concatenate([np.r_[d.train, d.test] for d in draws]))
    return used, [Draw(np.searchsorted(used, d.train), np.searchsorted(used, d.test))
                  for d in draws]


def frozen_runs(models: dict, images, labels, draws, class_names, *, views: int = 8,
                epochs: int = 30, batch_size: int = 64, lr: float = 1e-3, seed: int = 0,
                progress=None) -> tuple[dict, dict]:
    """Embed ``images`` with every frozen backbone and run the Sect. 3.2 protocol on each.

    ``images`` (N, 3, S, S) are embedded in ``views`` dihedral views
    (:func:`radiolib.evaluate.dihedral_features`), then a softmax head is trained and scored
    on every draw (:func:`radiolib.evaluate.frozen_protocol`; Adam, ``lr``, batches of
    ``batch_size``: on small draws, a smaller batch gives the head enough steps). Returns
    ``(results, features)``: backbone -> ProtocolResult, and backbone -> its view-0 features
    (N, D).
    ``progress`` (e.g. a tqdm bar) is updated once per backbone.
    """
    x = torch.as_tensor(np.asarray(images, np.float32))
    results, features = {}, {}
    for name, model in models.items():
        f = dihedral_features(model, x, views=views)
        results[name] = frozen_protocol(f, labels, draws, class_names, epochs=epochs,
                                        batch_size=batch_size, lr=lr, seed=seed)
        features[name] = f[0]
        if progress is not None:
            progress.update(1)
    return results, features


def best_backbone(summaries: dict[str, pd.DataFrame], among=SIMCLR) -> str:
    """Return the backbone of ``among`` with the highest overall F1 (first in order on a tie)."""
    scores = {b: float(summaries[b].loc["all", "f1"]) for b in among if b in summaries}
    if not scores:
        raise ValueError(f"none of {list(among)} in the summaries")
    return max(scores, key=scores.get)


def feature_map(features, *, method: str = "umap", seed: int = 0) -> np.ndarray:
    """2-D map of features for Fig. 4: UMAP, or PCA for quick checks (no numba compilation)."""
    if method == "pca":
        return PCA(2, random_state=seed).fit_transform(np.asarray(features, float))
    if method != "umap":
        raise ValueError(f"method must be 'umap' or 'pca', got {method!r}")
    return umap_2d(features, seed=seed)


def protocol_result(*, n_draws: int, n_train: int, n_test: int, head_epochs: int,
                    finetune_epochs: int, factor: float = 1.5,
                    note: str | None = None) -> PaperResult:
    """Record the run's protocol beside the paper's (Sect. 3.1-3.3), like-for-like.

    Draws, images per class, epochs and cut-out factor are settings: recording them as the
    paper's own kind of number lets the report show where a profile departs from the paper.
    """
    settings = {"riggi2024.sec3_1.n_sets": n_draws,
                "riggi2024.sec3_1.n_train_per_class": n_train,
                "riggi2024.sec3_1.n_test_per_class": n_test,
                "riggi2024.sec3_2.head_epochs": head_epochs,
                "riggi2024.sec3_3.finetune_epochs": finetune_epochs,
                "riggi2024.sec3_1.cutout_factor": factor}
    paper = {k: next(r["value"] for r in published_rows() if r["key"] == k) for k in settings}
    table = pd.DataFrame({"this run": pd.Series(settings, dtype=object),
                          "paper": pd.Series(paper, dtype=object)})
    return PaperResult(table, settings, note=note, evidence="like-for-like")


def mix_result(sample: pd.DataFrame, *, note: str | None = None) -> PaperResult:
    """Record the class mix of the simulated set (``sample`` from :func:`fraction_sample`).

    Recorded under ``extra.`` (per cent kept per class, and the classes' available counts):
    the paper's fraction rows are facts of RGZ DR1, not of a simulation.
    """
    records = {f"{EXTRA}.frac_{_slug(c)}": float(sample.loc[c, "kept %"]) for c in sample.index}
    records |= {f"{EXTRA}.n_available_{_slug(c)}": int(sample.loc[c, "available"])
                for c in sample.index}
    return PaperResult(sample, records, note=note)


def fraction_sample(labels, class_names, *, fractions=FRACTIONS,
                    seed: int = 0) -> tuple[np.ndarray, pd.DataFrame]:
    """Return the largest subset whose class mix is ``fractions`` (the paper's selection).

    Returns the sorted indices and a table per class: available, kept, kept fraction and the
    paper's fraction (per cent). The rarest class relative to its fraction sets the size.
    """
    labels = np.asarray(labels)
    share = np.array([fractions[c] for c in class_names], float) / 100
    counts = np.bincount(labels, minlength=len(class_names))
    total = float(np.min(counts / share))
    kept = np.minimum(counts, np.floor(share * total + 0.5).astype(int))
    rng = np.random.default_rng(seed)
    picks = [rng.permutation(np.flatnonzero(labels == k))[:n] for k, n in enumerate(kept)]
    table = pd.DataFrame({"available": counts, "kept": kept,
                          "kept %": 100 * kept / max(1, kept.sum()), "paper %": share * 100},
                         index=pd.Index(list(class_names), name="class"))
    return np.sort(np.concatenate(picks)), table


def balanced_size(labels, n_train: int, n_test: int) -> tuple[int, int]:
    """Per-class train and test sizes, shrunk in proportion when the rarest class is short.

    Returns ``(n_train, n_test)`` unchanged when every class holds ``n_train + n_test``
    images; ValueError when the rarest class cannot give one of each.
    """
    rarest = int(np.bincount(np.asarray(labels)).min())
    if rarest >= n_train + n_test:
        return n_train, n_test
    test = max(1, int(rarest * n_test / (n_train + n_test)))
    train = rarest - test
    if train < 1:
        raise ValueError(f"the rarest class holds {rarest} image(s): too few for a train/test "
                         "draw; simulate more fields")
    return train, test


def fig5_result(summaries: dict[str, pd.DataFrame], *, note: str | None = None,
                evidence: str = "analogue") -> PaperResult:
    """F1 per class and overall of each frozen backbone (Fig. 5), mean ± mean error, in %.

    ``summaries`` maps a backbone to :attr:`ProtocolResult.summary`; the paper's backbones
    (:data:`BACKBONES`) go to ``riggi2024.fig5.f1_<class>_<backbone>_frozen``, others (e.g.
    ``random``) under ``extra.riggi2024_morphology.fig5``.
    """
    records, errors, rows = {}, {}, []
    for backbone, s in summaries.items():
        for cls in s.index:
            f1, err = 100 * float(s.loc[cls, "f1"]), 100 * float(s.loc[cls, "f1_err"])
            stem = (f"riggi2024.fig5.f1_{_slug(cls)}_{backbone}_frozen" if backbone in BACKBONES
                    else f"{EXTRA}.fig5.f1_{_slug(cls)}_{_slug(backbone)}_frozen")
            records[stem] = f1
            if np.isfinite(err):
                errors[stem] = err
            rows.append({"backbone": backbone, "class": cls, "F1 %": f1, "error %": err})
    table = pd.DataFrame(rows).pivot(index="backbone", columns="class", values="F1 %")
    table = table[[c for c in summaries[next(iter(summaries))].index]]
    return PaperResult(table, records, note=note, evidence=evidence, uncertainties=errors,
                       details={"long": pd.DataFrame(rows)})


def real_data_result(dataset: str, summaries: dict[str, pd.DataFrame], *,
                     note: str | None = None) -> PaperResult:
    """F1 (%) per class and overall of each frozen backbone on a real labelled set.

    Recorded as ``extra.riggi2024_morphology.<dataset>.f1_<class>_<backbone>``: the paper has
    no RGD or MiraBest rows. Real images, the paper's protocol: ``like-for-like`` data, but our
    backbones, so ``analogue`` evidence.
    """
    records, errors, rows = {}, {}, []
    for backbone, s in summaries.items():
        for cls in s.index:
            key = f"{EXTRA}.{_slug(dataset)}.f1_{_slug(cls)}_{_slug(backbone)}"
            records[key] = 100 * float(s.loc[cls, "f1"])
            err = 100 * float(s.loc[cls, "f1_err"])
            if np.isfinite(err):
                errors[key] = err
            rows.append({"backbone": backbone, "class": cls, "F1 %": records[key]})
    table = pd.DataFrame(rows).pivot(index="backbone", columns="class", values="F1 %")
    return PaperResult(table, records, note=note, uncertainties=errors)


def view0_features(models: dict, tiles, image_size: int, *, chunk: int = 2048) -> dict:
    """Return each model's frozen features (N, D) of raw cut-outs ``tiles`` (N, S, S), by chunks.

    The cut-outs are scaled as in pre-training (:func:`stacks`) a chunk at a time, so that a
    survey-sized set never sits in memory as float stacks.
    """
    out: dict[str, list] = {name: [] for name in models}
    for start in range(0, len(tiles), chunk):
        x = torch.from_numpy(stacks(tiles[start:start + chunk], image_size))
        for name, model in models.items():
            out[name].append(model.embed(x).numpy())
    return {name: np.concatenate(parts) for name, parts in out.items()}


def signal_result(features: dict[str, np.ndarray], labels, fields, *, images=None,
                  n_boot: int = 1000, seed: int = 0, note: str | None = None) -> PaperResult:
    """Score SimCLR against random weights on every source, whole fields held out (95 % CIs).

    The balanced draws of Fig. 5 test a few dozen images each, too few to order backbones a
    few points apart. This probe fits a balanced logistic regression on the view-0
    ``features`` (backbone -> (N, D)) of the sources of half the ``fields`` and scores the
    balanced accuracy on the other half, with paired bootstrap intervals; with ``images``
    (N, S, S) the pixel-histogram floor and the shape-moments feature are scored beside.
    Recorded as ``extra.riggi2024_morphology.signal.balanced_accuracy_<row>``; the text
    compares every other backbone with random weights.
    """
    labels = np.asarray(labels)
    fit, test = group_split(fields, seed=seed)
    scores = class_probe({name: (x[fit], x[test]) for name, x in features.items()},
                         labels[fit], labels[test],
                         images=None if images is None else (images[fit], images[test]),
                         metric="balanced_accuracy", n_boot=n_boot, seed=seed)
    table = scores.table()
    records = {f"{EXTRA}.signal.balanced_accuracy_{_slug(n)}": float(v)
               for n, v in table["balanced_accuracy"].items()}
    half = scores.half_widths()
    errors = {f"{EXTRA}.signal.balanced_accuracy_{_slug(n)}": float(half[n]) for n in half}
    pairs = [(b, "random") for b in features if b != "random"]
    text = scores.text(pairs, label="balanced accuracy")
    return PaperResult(table, records, note=interval_note(note), uncertainties=errors,
                       text=text, details={"n_fit": len(fit), "n_test": len(test)})


def fig6_result(counts: np.ndarray, class_names, *, backbone: str, note: str | None = None,
                evidence: str = "analogue") -> PaperResult:
    """Confusion matrix (row-normalised, %) and the misclassification rates of Fig. 6.

    ``counts`` (K, K) sums the test predictions of every draw (row = true class). The rate of
    a class is the share of its test images put in another class, recorded as
    ``riggi2024.fig6.misclass_rate_<class>`` for :data:`FIG6_CLASSES`.
    """
    counts = np.asarray(counts, float)
    norm = 100 * counts / np.maximum(counts.sum(1, keepdims=True), 1)
    names = list(class_names)
    table = pd.DataFrame(norm, index=pd.Index(names, name="true"),
                         columns=pd.Index(names, name="predicted"))
    records = {f"riggi2024.fig6.misclass_rate_{_slug(c)}": 100 - float(table.loc[c, c])
               for c in FIG6_CLASSES if c in names}
    return PaperResult(table, records, note=f"{note}; backbone {backbone}" if note else None,
                       evidence=evidence, details={"backbone": backbone})


def fig7_result(curve: pd.DataFrame, *, pretrained: str = "smart_hulk_smgps",
                scratch: str = "scratch", note: str | None = None,
                evidence: str = "analogue") -> PaperResult:
    """Overall F1 (%) against training-set size, from scratch and from ``pretrained`` (Fig. 7).

    ``curve`` comes from :func:`radiolib.evaluate.label_fraction_curve` (starts named
    ``scratch`` and ``pretrained``). The smallest fraction gives the ``*_low_labels`` records
    and the largest the ``*_full`` ones, each the mean over draws with its mean error.
    """
    c = curve.assign(f1=100 * curve["f1"])
    g = c.groupby(["start", "fraction"])
    table = g.agg(n_train=("n_train", "mean"), f1=("f1", "mean"), f1_err=("f1", "sem"))
    lo, hi = c["fraction"].min(), c["fraction"].max()
    names = {scratch: "scratch", pretrained: "smart_hulk_smgps"}
    records, errors = {}, {}
    for start, stem in names.items():
        for frac, which in ((lo, "low_labels"), (hi, "full")):
            if (start, frac) not in table.index:
                continue
            key = f"riggi2024.fig7.f1_{stem}_{which}"
            records[key] = float(table.loc[(start, frac), "f1"])
            err = float(table.loc[(start, frac), "f1_err"])
            if np.isfinite(err):
                errors[key] = err
    for (start, frac), row in table.iterrows():
        records[f"{EXTRA}.fig7.f1_{_slug(start)}_{int(round(100 * frac))}pc"] = float(row["f1"])
    return PaperResult(table.reset_index(), records, note=note, evidence=evidence,
                       uncertainties=errors)
