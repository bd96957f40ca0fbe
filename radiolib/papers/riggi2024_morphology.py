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

from radiolib.papers import PaperResult
from radiolib.scaling import riggi3
from radiolib.sky import RGZ_CLASSES, simulate
from radiolib.tiling import tile_fields

__all__ = ["BACKBONES", "EXTRA", "FIG6_CLASSES", "FRACTIONS", "balanced_size", "fig5_result",
           "fig6_result", "fig7_result", "fraction_sample", "real_data_result",
           "rgz_like_sources"]

#: The paper's five SimCLR backbones (Fig. 5, in its legend order) and the ImageNet baseline.
BACKBONES = ("hulk_smgps", "banner_smgps", "smart_hulk_smgps", "hulk_emupilot",
             "banner_emupilot", "imagenet")
#: Class fractions of the paper's RGZ DR1 selection (Sect. 3.1), in per cent.
FRACTIONS = {"1C-1P": 55.0, "1C-2P": 20.9, "1C-3P": 1.9, "2C-2P": 17.6, "2C-3P": 2.0,
             "3C-3P": 2.5}
#: Classes whose misclassification rate the paper quotes (Sect. 3.2 on Fig. 6).
FIG6_CLASSES = ("2C-2P", "2C-3P", "3C-3P")
#: Prefix of the numbers the paper does not publish.
EXTRA = "extra.riggi2024_morphology"


def _slug(name: str) -> str:
    return name.lower().replace("-", "_").replace(" ", "_")


def rgz_like_sources(n_fields: int, *, size: int, image_size: int, work: str | os.PathLike,
                     seed: int = 0, snr_min: float = 5.0, factor: float = 1.5,
                     min_size: int = 16) -> tuple[np.ndarray, np.ndarray, pd.DataFrame]:
    """Simulate FIRST-like fields and cut out every source with an RGZ class, riggi3-scaled.

    Each cut-out is centred on a source (peak SNR >= ``snr_min``) and ``factor`` times its
    extent (the paper: 1.5 x the RGZ angular size), resized to ``image_size`` and scaled as in
    pre-training (:func:`radiolib.scaling.riggi3`). Returns images (N, 3, S, S) float32,
    labels (indices into :data:`radiolib.sky.RGZ_CLASSES`) and a table (field, source id,
    class, size in arcsec, SNR).
    """
    work = Path(work)
    fields = [simulate("first", size=size, seed=seed + i, out_dir=work / "fields")
              for i in range(n_fields)]
    cats = []
    for f in fields:
        c = f.catalogue
        keep = (c["rgz_class"] != "") & (c["snr"] >= snr_min) & (c["n_islands"] > 0)
        cats.append(c.loc[keep].reset_index(drop=True))
    ts = tile_fields([f.image_path for f in fields], "banner", out_dir=work / "rgz_like",
                     size=image_size, factor=factor, min_size=min_size, catalogues=cats,
                     names=[f"first_{f.seed}" for f in fields], overwrite=True)
    index = ts.index
    names = [f"first_{f.seed}" for f in fields]
    rows = [cats[names.index(fld)].iloc[int(r)] for fld, r in
            zip(index["field"], index["source_row"], strict=True)]
    meta = pd.DataFrame({"field": index["field"].to_numpy(),
                         "source": [int(r["id"]) for r in rows],
                         "class": [r["rgz_class"] for r in rows],
                         "size_arcsec": [float(r["size_arcsec"]) for r in rows],
                         "snr": [float(r["snr"]) for r in rows]})
    labels = np.array([RGZ_CLASSES.index(c) for c in meta["class"]], dtype=np.int64)
    images = riggi3(size=image_size)(np.array(ts.tiles, dtype=np.float32))
    return images.astype(np.float32), labels, meta


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
