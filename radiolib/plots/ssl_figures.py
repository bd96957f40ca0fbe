"""Figures of the pre-training notebooks: learning curves, probes, ablation, augmentations.

Several learning curves side by side, probe scores, the augmentation ablation and a gallery of
augmentations (Riggi et al. [0], Lastufka et al. [1]).

- [0] Riggi et al. 2024, PASA, arXiv:2404.18462
- [1] Lastufka et al. 2024, A&A 690, A310, arXiv:2408.06147
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from radiolib.plots.ssl import plot_learning_curve

__all__ = ["plot_ablation", "plot_augmentation_gallery", "plot_learning_curves",
           "plot_probe_scores"]


def plot_learning_curves(runs: Mapping[str, object], *, eval_key: str = "count_mse",
                         ncols: int = 3, panel: tuple[float, float] = (3.6, 2.6)) -> Figure:
    """One learning-curve panel (loss, and ``eval_key`` when logged) per run, titled by name.

    ``runs`` maps a title to what :func:`radiolib.plots.plot_learning_curve` takes (a run's
    ``metrics.jsonl``, a DataFrame or records).
    """
    n = len(runs)
    ncols = max(1, min(ncols, n))
    nrows = -(-n // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(panel[0] * ncols, panel[1] * nrows),
                             layout="constrained", squeeze=False)
    for ax, (title, metrics) in zip(axes.flat, runs.items(), strict=False):
        plot_learning_curve(metrics, ax=ax, eval_key=eval_key)
        ax.set_title(title, fontsize="medium")
    for ax in axes.flat[n:]:
        ax.set_visible(False)
    return fig


def plot_probe_scores(scores: pd.DataFrame, ax=None, *, metric: str = "auc",
                      group: str = "probe", label: str = "model", xlabel: str | None = None,
                      reference: float | None = None) -> Figure:
    """Horizontal bars of a probe metric per model, grouped by probe, with bootstrap errors.

    Parameters
    ----------
    scores : DataFrame
        One row per (``group``, ``label``) with columns ``metric`` and, optionally, an
        interval ``<metric>_low`` / ``<metric>_high`` or a spread ``<metric>_std`` (drawn as
        error bars; the interval first).
    reference : float, optional
        A vertical dotted line (e.g. 0.5, chance level of an AUC).
    """
    if ax is None:
        height = 0.9 + 0.32 * len(scores)
        fig, ax = plt.subplots(figsize=(5.6, height), layout="constrained")
    fig = ax.figure
    groups = list(dict.fromkeys(scores[group]))
    labels = list(dict.fromkeys(scores[label]))
    width = 0.8 / len(labels)
    for j, name in enumerate(labels):
        rows = scores[scores[label] == name].set_index(group).reindex(groups)
        y = np.arange(len(groups)) + (j - (len(labels) - 1) / 2) * width
        err = rows.get(f"{metric}_std")
        if f"{metric}_low" in rows and f"{metric}_high" in rows:
            err = np.stack([rows[metric] - rows[f"{metric}_low"],
                            rows[f"{metric}_high"] - rows[metric]]).clip(0)
        ax.barh(y, rows[metric], height=width * 0.9, xerr=None if err is None else err,
                color=f"C{j}", label=name, capsize=2)
    ax.set_yticks(np.arange(len(groups)), groups)
    ax.invert_yaxis()
    ax.set_xlabel(xlabel or metric.replace("_", " "))
    if reference is not None:
        ax.axvline(reference, color="0.4", ls=":", lw=1)
    ax.legend(fontsize="small", loc="lower right")
    return fig


def plot_ablation(table: pd.DataFrame, ax=None, *, value: str = "count_mse",
                  switches: Sequence[str] = ("rotation", "autocontrast", "power_law"),
                  baseline: float | None = None, baseline_label: str = "untrained") -> Figure:
    """Bars of a score per augmentation combination; a dot grid below says which are on.

    Parameters
    ----------
    table : DataFrame
        One row per run with boolean columns ``switches`` and the score ``value``; optional
        ``low`` / ``high`` (an interval, drawn as error bars) and ``kind``: rows whose kind is
        not ``"run"`` are references, drawn as labelled horizontal lines instead of bars.
    baseline : float, optional
        A horizontal dashed line (e.g. the score of an untrained backbone).
    """
    if ax is None:
        fig, ax = plt.subplots(figsize=(6.4, 3.6), layout="constrained")
    fig = ax.figure
    refs = table[table["kind"] != "run"] if "kind" in table else table.iloc[:0]
    table = table[table["kind"] == "run"] if "kind" in table else table
    x = np.arange(len(table))
    err = None
    if {"low", "high"} <= set(table.columns):
        err = np.stack([table[value] - table["low"], table["high"] - table[value]]).clip(0)
    ax.bar(x, table[value], color="C0", yerr=err, capsize=2)
    if baseline is not None:
        ax.axhline(baseline, color="C3", ls="--", lw=1, label=baseline_label)
    for j, (name, row) in enumerate(refs.iterrows()):
        ax.axhline(row[value], color=f"C{j + 1}", ls=":", lw=1, label=str(name))
    if baseline is not None or len(refs):
        ax.legend(fontsize="small", loc="upper right")
    ax.set_ylabel(value.replace("count_mse", "source-count MSE"))
    ax.set_xticks(x, [""] * len(x))
    ax.set_xlim(-0.6, len(x) - 0.4)
    grid = ax.inset_axes([0, -0.08 - 0.09 * len(switches), 1, 0.09 * len(switches)],
                         sharex=ax)
    for i, name in enumerate(switches):
        on = table[name].astype(bool).to_numpy()
        grid.scatter(x, np.full(len(x), i), s=36, c=np.where(on, "k", "0.85"))
    grid.set_yticks(range(len(switches)), [s.replace("_", " ") for s in switches])
    grid.set_ylim(len(switches) - 0.5, -0.5)
    grid.tick_params(bottom=False, labelbottom=False)
    for side in ("top", "right", "bottom", "left"):
        grid.spines[side].set_visible(False)
    return fig


def _show(ax, image: np.ndarray, title: str) -> None:
    image = np.asarray(image, dtype=np.float32)
    if image.ndim == 3 and image.shape[0] in (1, 3):
        image = np.moveaxis(image, 0, -1)
    if image.ndim == 3 and image.shape[-1] == 1:
        image = image[..., 0]
    lo, hi = (-1.0, 1.0) if image.min() < -1e-6 else (0.0, 1.0)
    ax.imshow(np.clip(image, lo, hi) if image.ndim == 3 else image, cmap="gray", vmin=lo,
              vmax=hi, origin="lower", interpolation="nearest")
    ax.set_title(title, fontsize="small")
    ax.set_xticks([])
    ax.set_yticks([])


def plot_augmentation_gallery(rows: Mapping[str, Mapping[str, np.ndarray]], *,
                              panel: float = 1.55) -> Figure:
    """Show images in a grid: one row per pipeline, one panel per augmentation (input first).

    ``rows`` maps a row label to ``{title: image}``; images are (C, H, W) or (H, W) in [0, 1]
    (3 channels shown as RGB, 1 in grey; images with negative values on [-1, 1]).
    """
    ncols = max(len(r) for r in rows.values())
    fig, axes = plt.subplots(len(rows), ncols, figsize=(panel * ncols, panel * 1.12 * len(rows)),
                             layout="constrained", squeeze=False)
    for axrow, (label, images) in zip(axes, rows.items(), strict=True):
        for ax, (title, image) in zip(axrow, images.items(), strict=False):
            _show(ax, image, title)
        for ax in axrow[len(images):]:
            ax.set_visible(False)
        axrow[0].set_ylabel(label, fontsize="small")
    return fig
