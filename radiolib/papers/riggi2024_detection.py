"""Riggi et al. 2024 [0], Task II (Sect. 4): radio source detection with Mask R-CNN.

The paper trains caesar-mrcnn (Mask R-CNN, ResNet18 backbone) on 12,774 annotated images of
FIRST, ATCA Scorpio and ASKAP-EMU Scorpio with five classes, from frozen SimCLR backbones or
ImageNet (Fig. 9: F1 per class over five re-balanced train / natural test draws), and with
the whole network trained from scratch or from hulk_smgps on growing training sets (Fig. 10).

Here the same protocol (:mod:`radiolib.detect`) runs on images cut from simulated fields of
three survey presets (:data:`SURVEYS`), annotated from the simulator's truth; the trained
detector is also run over real LoTSS cut-outs and cross-matched with their PyBDSF catalogue
(:func:`lotss_check`), which the paper does not do. F1 values are recorded in per cent under
the ``riggi2024.fig9.*`` / ``fig10.*`` keys of ``published.yaml``; other numbers go under
``extra.riggi2024_detection.*``.

- [0] Riggi et al. 2024, PASA, arXiv:2404.18462
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from radiolib.detect import (
    CLASS_NAMES,
    GROUPS,
    SOURCE,
    DetectConfig,
    build_detector,
    class_counts,
    completeness_by,
    crossmatch,
    detect_mosaic,
    evaluate_detector,
    field_images,
    rebalanced_split,
    train_detector,
)
from radiolib.io import read_catalogue, read_fits
from radiolib.papers import PaperResult
from radiolib.published import claim_verdict, published_rows
from radiolib.sky import simulate
from radiolib.sky.presets import SMGPS

__all__ = ["BACKBONES", "EXTRA", "FIGURES", "SCORPIO", "SURVEYS", "TEST_FRACTIONS",
           "TRAIN_FRACTIONS", "backbone_sources", "claims_table", "completeness_vs_snr",
           "dataset_result", "detection_images", "fig9_result", "fig9_runs", "fig10_result",
           "fig10_runs",
           "lotss_check", "run_once"]

#: The paper's frozen backbones of Fig. 9 (legend order) and its ImageNet baseline.
BACKBONES = ("hulk_smgps", "banner_smgps", "smart_hulk_smgps", "hulk_emupilot",
             "banner_emupilot", "imagenet")
#: Class shares (%) of each re-balanced training sample and each test sample (Sect. 4.2).
TRAIN_FRACTIONS = {"SPURIOUS": 14.4, "COMPACT": 53.6, "EXTENDED": 20.1,
                   "EXTENDED-MULTISLAND": 10.3, "FLAGGED": 1.7}
TEST_FRACTIONS = {"SPURIOUS": 6.6, "COMPACT": 80.0, "EXTENDED": 8.5,
                  "EXTENDED-MULTISLAND": 4.1, "FLAGGED": 0.8}
EXTRA = "extra.riggi2024_detection"
FIGURES = {"fig8": "riggi2024.fig8.detection_examples"}

#: An ATCA-Scorpio-like preset: the SMGPS Galactic sky seen at 2.1 GHz with ATCA's 6.5" beam
#: (the beam and 1.5" pixels of the real Scorpio images in ``real_fields``); the rms of
#: 30 µJy/beam is Umana et al. 2015's (not in the papers at hand; an assumption).
SCORPIO = dataclasses.replace(
    SMGPS, name="scorpio_atca", telescope="ATCA", freq_hz=2.1e9, pixel_scale=1.5,
    beam=(6.5, 6.5, 0.0), rms=30e-6,
    description="ATCA Scorpio-like: the smgps preset's sky at 2.1 GHz, 6.5\" beam, 30 µJy/beam.",
    provenance="beam and pixel from the real Scorpio images; rms from Umana et al. 2015 "
               "(assumed); everything else as smgps.")
#: The paper's three surveys -> the presets standing in for them.
SURVEYS = {"FIRST": "first", "ATCA Scorpio": SCORPIO, "ASKAP EMU": "emupilot"}


def _slug(name: str) -> str:
    return name.lower().replace("-", "_").replace(" ", "_")


def detection_images(n_fields: int, *, field_size: int, image_size: int,
                     work: str | os.PathLike, seed: int = 0, surveys=SURVEYS) -> list:
    """Annotated images from ``n_fields`` simulated fields per survey (equal mix, assumed)."""
    images = []
    for s, (label, preset) in enumerate(surveys.items()):
        for k in range(n_fields):
            field = simulate(preset, size=field_size, seed=seed + 100 * s + k,
                             out_dir=Path(work) / "fields")
            for im in field_images(field, image_size):
                im.field = f"{label}:{im.field}"
                images.append(im)
    return images


def dataset_result(images: Sequence, train: np.ndarray, test: np.ndarray, *,
                   note: str | None = None) -> PaperResult:
    """Objects per class in a training and a test sample, beside the paper's shares (%)."""
    rows = {}
    for name, idx, paper in (("train", train, TRAIN_FRACTIONS), ("test", test, TEST_FRACTIONS)):
        counts = class_counts([images[i] for i in idx])
        total = max(1, sum(counts.values()))
        for cls in CLASS_NAMES:
            rows[(name, cls)] = {"objects": counts[cls], "share %": 100 * counts[cls] / total,
                                 "paper %": paper[cls]}
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.index.names = ["sample", "class"]
    records = {f"riggi2024.sec4_2.frac_{s}_{_slug(c)}": float(table.loc[(s, c), "share %"])
               for s in ("train", "test") for c in CLASS_NAMES}
    records["riggi2024.sec4_2.n_classes"] = len(CLASS_NAMES)
    records[f"{EXTRA}.n_images"] = len(images)
    records[f"{EXTRA}.n_train_images"] = len(train)
    records[f"{EXTRA}.n_test_images"] = len(test)
    return PaperResult(table, records, note=note)


def run_once(images: Sequence, train: np.ndarray, test: np.ndarray, config: DetectConfig,
             init, *, steps: int, device=None, seed: int = 0, progress: bool = False):
    """Train a detector from ``init`` on ``train`` for ``steps`` steps, score it on ``test``.

    Returns (scores per class, true objects with their matches, the trained model).
    """
    model = build_detector(config, init, device=device)
    train_detector(model, [images[i] for i in train], config, steps=steps, seed=seed,
                   progress=progress)
    scores, objects = evaluate_detector(model, [images[i] for i in test], config)
    return scores, objects, model


def fig9_runs(images: Sequence, backbones: Mapping[str, object], config: DetectConfig, *,
              n_train: int, n_test: int, draws: int, steps: int, device=None, seed: int = 0,
              progress: bool = False) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """Frozen backbones (``config.trainable_layers`` = 0) over ``draws`` seeded splits.

    ``backbones`` maps a name to what :func:`radiolib.detect.build_detector` loads. Returns
    the scores (backbone, draw, class, recall, precision, f1) and the true objects of every
    test sample with their matches (for completeness against SNR), and the models trained on
    the first draw with its split (name -> (model, train, test)).
    """
    frozen = config.replace(trainable_layers=0)
    rows, objects, models = [], [], {}
    for d in range(draws):
        train, test = rebalanced_split(images, n_train, n_test, fractions=TRAIN_FRACTIONS,
                                       seed=seed + d)
        for name, init in backbones.items():
            s, obj, model = run_once(images, train, test, frozen, init, steps=steps,
                                     device=device, seed=seed + d, progress=progress)
            if d == 0:
                models[name] = (model, train, test)
            rows.append(s.reset_index(names="class").assign(backbone=name, draw=d))
            objects.append(obj.assign(backbone=name, draw=d))
    return pd.concat(rows, ignore_index=True), pd.concat(objects, ignore_index=True), models


def backbone_sources(runs: Mapping, names: Sequence[str], *,
                     imagenet: bool) -> tuple[dict, list[str]]:
    """Return what to load for each backbone name, and the names left out.

    SimCLR runs by name (``runs`` from notebook 03's cache), ``random`` and ``imagenet``
    (when its weights are present).
    """
    sources, missing = {}, []
    for name in names:
        if name in runs:
            sources[name] = runs[name].checkpoint
        elif name == "random":
            sources[name] = "random:resnet18"
        elif name == "imagenet" and imagenet:
            sources[name] = "imagenet:resnet18"
        else:
            missing.append(name)
    return sources, missing


def completeness_vs_snr(objects: pd.DataFrame, backbone: str,
                        edges=(5, 10, 20, 50, 100, 1e4)) -> pd.DataFrame:
    """Share of true SOURCE objects matched by a SOURCE detection per SNR bin (all draws)."""
    part = objects[(objects["backbone"] == backbone) & objects["class"].isin(GROUPS[SOURCE])]
    return completeness_by(part["snr"], part["matched"].isin(GROUPS[SOURCE]), list(edges))


def _mean_err(long: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    g = long.assign(f1=100 * long["f1"]).groupby(by, sort=False)["f1"]
    return pd.DataFrame({"f1": g.mean(), "f1_err": g.sem()})


def fig9_result(long: pd.DataFrame, *, note: str | None = None) -> PaperResult:
    """F1 (%) per class and for SOURCE of each frozen backbone, mean ± mean error over draws.

    The paper's backbones go to ``riggi2024.fig9.f1_<class>_<backbone>_frozen`` (FLAGGED has
    no published row), the others (e.g. ``random``) under ``extra.riggi2024_detection``.
    """
    summary = _mean_err(long, ["backbone", "class"])
    records, errors = {}, {}
    for (backbone, cls), row in summary.iterrows():
        key = f"riggi2024.fig9.f1_{_slug(cls)}_{backbone}_frozen"
        if backbone not in BACKBONES or cls == "FLAGGED":
            key = f"{EXTRA}.fig9.f1_{_slug(cls)}_{_slug(backbone)}_frozen"
        if np.isfinite(row["f1"]):
            records[key] = float(row["f1"])
            if np.isfinite(row["f1_err"]):
                errors[key] = float(row["f1_err"])
    table = summary["f1"].unstack("class")[[*CLASS_NAMES, SOURCE]]
    return PaperResult(table, records, note=note, uncertainties=errors,
                       details={"summary": summary.reset_index()})


def fig10_runs(images: Sequence, inits: Mapping[str, object], config: DetectConfig, *,
               sizes: Sequence[int], n_test: int, draws: int, steps: int, device=None,
               seed: int = 0, progress: bool = False) -> pd.DataFrame:
    """Whole network trained (trainable_layers 5) on growing training sets, per start.

    Each draw fixes a test sample and the largest training sample; smaller ones are its
    first images, so every size is nested in the next. Returns (start, draw, n_train, f1,
    fraction) rows, SOURCE only.
    """
    tuned = config.replace(trainable_layers=5)
    rows = []
    for d in range(draws):
        train, test = rebalanced_split(images, max(sizes), n_test, fractions=TRAIN_FRACTIONS,
                                       seed=seed + d)
        train = np.random.default_rng(seed + d).permutation(train)
        for n in sizes:
            for name, init in inits.items():
                s, _, _ = run_once(images, train[:n], test, tuned, init, steps=steps,
                                   device=device, seed=seed + d, progress=progress)
                rows.append({"start": name, "draw": d, "n_train": n,
                             "fraction": n / max(sizes), "f1": float(s.loc[SOURCE, "f1"])})
    return pd.DataFrame(rows)


def fig10_result(curve: pd.DataFrame, *, pretrained: str = "hulk_smgps",
                 note: str | None = None) -> PaperResult:
    """SOURCE F1 (%) against training-set size from scratch and from ``pretrained``."""
    table = _mean_err(curve, ["start", "n_train"]).reset_index()
    lo, hi = table["n_train"].min(), table["n_train"].max()
    records, errors = {}, {}
    for start, stem in (("scratch", "scratch"), (pretrained, "hulk_smgps")):
        for n, which in ((lo, "low_labels"), (hi, "full")):
            row = table[(table["start"] == start) & (table["n_train"] == n)]
            if row.empty or not np.isfinite(row["f1"].iloc[0]):
                continue
            key = f"riggi2024.fig10.f1_source_{stem}_{which}"
            records[key] = float(row["f1"].iloc[0])
            if np.isfinite(row["f1_err"].iloc[0]):
                errors[key] = float(row["f1_err"].iloc[0])
    for r in table.itertuples():
        if np.isfinite(r.f1):
            records[f"{EXTRA}.fig10.f1_source_{_slug(r.start)}_n{r.n_train}"] = float(r.f1)
    return PaperResult(table, records, note=note, uncertainties=errors)


_LOTSS_CATALOGUE = "catalog_shimwell_reduced.srl.fits"
_LOTSS_MOSAICS = ("P205+55-mosaic", "P218+55-mosaic")


def lotss_check(model, config: DetectConfig, real_dir: str | os.PathLike, *,
                radius: float = 6.0, flux_edges=(0.1, 1.0, 3.0, 10.0, 1e4),
                progress: bool = False) -> PaperResult:
    """Run the detector over the LoTSS DR1 cut-outs; cross-match with their PyBDSF sources.

    A catalogued source (inside a cut-out) is recovered when a detection of any class lies
    within ``radius`` arcsec; a detection is confirmed when a catalogued source does.
    ``details`` holds the detections, the catalogue rows with a ``recovered`` flag and the
    completeness per total-flux bin (mJy). Not a score of the paper: a transfer check.
    """
    real_dir = Path(real_dir)
    cat = read_catalogue(real_dir / _LOTSS_CATALOGUE).to_pandas()
    dets, refs = [], []
    for stem in _LOTSS_MOSAICS:
        path = real_dir / f"{stem}.fits"
        image = read_fits(path)
        x, y = image.wcs.world_to_pixel_values(cat["RA"].to_numpy(), cat["DEC"].to_numpy())
        ny, nx = image.shape
        inside = (x >= 0) & (x < nx - 1) & (y >= 0) & (y < ny - 1)
        ref = cat.loc[inside, ["RA", "DEC", "Total_flux", "Peak_flux", "S_Code"]].copy()
        ref["x"], ref["y"], ref["mosaic"] = x[inside], y[inside], stem
        det = detect_mosaic(path, model, config, progress=progress).assign(mosaic=stem)
        rec, conf, _ = crossmatch(det["ra"], det["dec"], ref["RA"], ref["DEC"], radius=radius)
        ref["recovered"], det["confirmed"] = rec, conf
        dets.append(det)
        refs.append(ref)
    det, ref = pd.concat(dets, ignore_index=True), pd.concat(refs, ignore_index=True)
    _, _, summary = crossmatch(det["ra"], det["dec"], ref["RA"], ref["DEC"], radius=radius)
    summary["confirmed"] = int(det["confirmed"].sum())
    summary["recovered"] = int(ref["recovered"].sum())
    summary["completeness"] = float(ref["recovered"].mean()) if len(ref) else np.nan
    summary["reliability"] = float(det["confirmed"].mean()) if len(det) else np.nan
    by_flux = completeness_by(ref["Total_flux"], ref["recovered"], list(flux_edges))
    records = {f"{EXTRA}.lotss.n_catalogue": int(summary["reference"]),
               f"{EXTRA}.lotss.n_detections": int(summary["detections"])}
    for k in ("completeness", "reliability"):
        if np.isfinite(summary[k]):
            records[f"{EXTRA}.lotss.{k}"] = 100 * float(summary[k])
    return PaperResult(summary.to_frame("LoTSS cut-outs"), records,
                       note=f"radius {radius:g} arcsec",
                       details={"detections": det, "catalogue": ref, "by_flux": by_flux})


def claims_table(*results: PaperResult) -> pd.DataFrame:
    """Judge the paper's Sect. 4 claims (Figs. 9-10) on the records of ``results``.

    Verdicts as the report's (:func:`radiolib.published.claim_verdict`): ``not run`` where a
    side is missing (e.g. no ImageNet weights offline), else holds / fails / inconclusive
    given the records' mean errors.
    """
    records = {k: {"value": v, "uncertainty": r.uncertainties.get(k)}
               for r in results for k, v in r.records.items()}
    rows = []
    for row in published_rows():
        if row["kind"] != "claim" or not row["key"].startswith(("riggi2024.fig9.",
                                                                 "riggi2024.fig10.")):
            continue
        verdict, stat = claim_verdict(row["claim"], records)
        rows.append({"claim": row["claim"]["text"], "range": row["claim"].get("range"),
                     "difference": stat, "verdict": verdict})
    return pd.DataFrame(rows)
