"""Figures of the downstream notebooks: label-count curves, 2-D feature maps, attention maps.

Inspired by Lastufka et al. [0] (Figs. 6, 7 and 13b), adapted to labelled galaxies: accuracy
against labelled examples per class (the paper: error against the total number of MiraBest
labels), t-SNE maps coloured by class (the paper: MGCLS and MIGHTEE crops coloured by data set,
field and source count), and the head-averaged CLS attention of a ViT (the paper: single heads
on MGCLS crops).

- [0] Lastufka et al. 2024, A&A 690, A310, arXiv:2408.06147
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

__all__ = ["plot_attention_maps", "plot_backbone_panels", "plot_count_scatter", "plot_feature_maps",
           "plot_head_attention", "plot_label_count_curves", "plot_map_colourings"]


def plot_label_count_curves(curves: pd.DataFrame, ax=None, *, metric: str = "accuracy",
                            by: str = "model", title: str | None = None) -> Figure:
    """Mean ``metric`` (with the spread over draws) against labelled examples per class.

    ``curves`` holds :func:`radiolib.evaluate.label_count_curve` rows with a ``by`` column.
    """
    if ax is None:
        _, ax = plt.subplots(figsize=(5.2, 3.4), layout="constrained")
    for name, rows in curves.groupby(by, sort=False):
        stats = rows.groupby("n_per_class")[metric].agg(["mean", "std"]).fillna(0.0)
        ax.errorbar(stats.index, stats["mean"], yerr=stats["std"], marker="o", ms=4,
                    capsize=3, label=str(name))
    ax.set_xscale("log")
    ax.set_xlabel("labelled examples per class")
    ax.set_ylabel(metric.replace("_", " "))
    if title:
        ax.set_title(title, fontsize="medium")
    ax.legend(fontsize="small")
    return ax.figure


def plot_feature_maps(maps: Mapping[str, np.ndarray], labels, class_names: Sequence[str], *,
                      panel: float = 3.4) -> Figure:
    """One scatter panel per model of its (N, 2) feature map, coloured by class."""
    labels = np.asarray(labels)
    fig, axes = plt.subplots(1, len(maps), figsize=(panel * len(maps), panel + 0.4),
                             layout="constrained", squeeze=False)
    for ax, (title, xy) in zip(axes.flat, maps.items(), strict=True):
        for c, name in enumerate(class_names):
            sel = labels == c
            ax.scatter(xy[sel, 0], xy[sel, 1], s=6, alpha=0.7, label=name)
        ax.set_title(title, fontsize="medium")
        ax.set_xticks([]), ax.set_yticks([])
    axes.flat[0].legend(fontsize="small", markerscale=2)
    return fig


def plot_attention_maps(images: np.ndarray, maps: np.ndarray, *,
                        titles: Sequence[str] | None = None, panel: float = 1.6) -> Figure:
    """Each image (top row) above its mean attention map over heads (bottom row).

    ``images`` is (N, H, W); ``maps`` is (N, h, w), upsampled for display by nearest pixels.
    """
    n = len(images)
    fig, axes = plt.subplots(2, n, figsize=(panel * n, 2 * panel + 0.3), layout="constrained",
                             squeeze=False)
    for i in range(n):
        axes[0, i].imshow(images[i], cmap="inferno", origin="lower")
        axes[1, i].imshow(maps[i], cmap="viridis", origin="lower", interpolation="nearest",
                          extent=(0, images[i].shape[1], 0, images[i].shape[0]))
        if titles is not None:
            axes[0, i].set_title(titles[i], fontsize="small")
        for ax in axes[:, i]:
            ax.set_xticks([]), ax.set_yticks([])
    axes[0, 0].set_ylabel("image")
    axes[1, 0].set_ylabel("CLS attention")
    return fig


def _count_panel(ax, truth, pred, threshold, top, title) -> None:
    ax.scatter(truth, pred, s=5, alpha=0.5)
    ax.plot([0, top], [0, top], color="0.4", lw=1)
    if threshold is not None and threshold < top:
        ax.axvline(threshold, color="0.6", ls=":", lw=1)
        ax.axhline(threshold, color="0.6", ls=":", lw=1)
    ax.set(xlim=(0, top), ylim=(min(0, np.min(pred)), top), title=title,
           xlabel="catalogue sources per crop", ylabel="predicted")


def plot_count_scatter(truth, predictions: Mapping[str, np.ndarray], *,
                       threshold: float | None = None, panel: float = 3.4) -> Figure:
    """One panel per model: predicted against catalogue source count per crop (Fig. 8).

    The diagonal is a perfect prediction; ``threshold`` draws the count above which the paper
    checks for under-prediction (60 sources on MGCLS).
    """
    return plot_count_scatters({"": {"truth": truth, "predictions": predictions,
                                     "tail_at": threshold}}, panel=panel)


def plot_count_scatters(sets: Mapping[str, Mapping], *, panel: float = 3.4) -> Figure:
    """Fig. 8 for several count sets: one row per set, one panel per model.

    ``sets[name]`` holds ``truth``, ``predictions`` (model -> predictions) and ``tail_at``
    (the threshold line, or None), as the ``details`` of
    :func:`radiolib.papers.lastufka2024.paper_count_result`.
    """
    ncols = max(len(d["predictions"]) for d in sets.values())
    fig, axes = plt.subplots(len(sets), ncols, figsize=(panel * ncols, panel * len(sets)),
                             squeeze=False)
    for row, (name, d) in zip(axes, sets.items(), strict=True):
        truth = np.asarray(d["truth"], float)
        top = max(truth.max(), *(np.max(p) for p in d["predictions"].values())) * 1.05
        for ax, (model, pred) in zip(row, d["predictions"].items(), strict=False):
            _count_panel(ax, truth, pred, d.get("tail_at"), top,
                         f"{name}: {model}" if name else model)
        for ax in row[len(d["predictions"]):]:
            ax.set_axis_off()
    fig.tight_layout()
    return fig


def plot_map_colourings(xy: np.ndarray, colourings: Mapping[str, Sequence], *,
                        panel: float = 3.6, max_legend: int = 12) -> Figure:
    """One panel per colouring of the same 2-D feature map (Fig. 6: by set, field, count).

    A colouring of numbers gets a colour bar; one of names (fields, flags) gets one colour per
    name, listed in a legend when there are at most ``max_legend`` of them.
    """
    xy = np.asarray(xy)
    fig, axes = plt.subplots(1, len(colourings), figsize=(panel * len(colourings), panel),
                             squeeze=False, layout="constrained")
    for ax, (name, values) in zip(axes[0], colourings.items(), strict=True):
        values = np.asarray(values)
        if values.dtype.kind in "fiu" and len(np.unique(values)) > max_legend:
            dots = ax.scatter(xy[:, 0], xy[:, 1], c=values, s=4, cmap="viridis")
            fig.colorbar(dots, ax=ax, shrink=0.8)
        else:
            names = list(dict.fromkeys(values.astype(str)))
            cmap = plt.get_cmap("tab20" if len(names) > 10 else "tab10")
            for i, n in enumerate(sorted(names)):
                sel = values.astype(str) == n
                ax.scatter(xy[sel, 0], xy[sel, 1], s=4, color=cmap(i % cmap.N), label=n)
            if len(names) <= max_legend:
                ax.legend(fontsize="x-small", markerscale=2, loc="best")
        ax.set(title=f"coloured by {name}", xticks=[], yticks=[])
    return fig


def plot_head_attention(images: np.ndarray, maps: np.ndarray, *, quantile: float = 0.9,
                        panel: float = 1.6) -> Figure:
    """Each image (a row) with each attention head's top patches outlined (Fig. 7).

    ``images`` is (N, H, W); ``maps`` is (N, heads, h, w). The contour encloses the patches
    above the ``quantile`` of that head's attention (the paper: the 90th percentile).
    """
    n, heads = maps.shape[:2]
    fig, axes = plt.subplots(n, heads, figsize=(panel * heads, panel * n), squeeze=False,
                             layout="constrained")
    for i in range(n):
        height, width = images[i].shape
        for h in range(heads):
            ax = axes[i, h]
            ax.imshow(images[i], cmap="gray", origin="lower")
            m = np.kron(maps[i, h], np.ones((height // maps.shape[2], width // maps.shape[3])))
            ax.contour(m >= np.quantile(maps[i, h], quantile), levels=[0.5], colors="red",
                       linewidths=0.8, origin="lower")
            ax.set_xticks([]), ax.set_yticks([])
            if i == 0:
                ax.set_title(f"head {h}", fontsize="small")
    return fig


def plot_backbone_panels(cells: pd.DataFrame, *, panel: float = 3.0) -> Figure:
    """One panel per task and metric: each backbone's published value and ours (Figs 9-10).

    ``cells`` has ``task, metric, lower_better, backbone, published, uncertainty, reproduced,
    reproduced_uncertainty``. Published values are hollow markers, reproduced ones filled;
    a backbone we did not run has only the hollow one.
    """
    groups = list(cells.groupby(["task", "metric"], sort=False))
    ncols = min(4, len(groups))
    nrows = -(-len(groups) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(panel * 1.3 * ncols, panel * nrows),
                             squeeze=False, layout="constrained")
    for ax, ((task, metric), g) in zip(axes.flat, groups, strict=False):
        y = np.arange(len(g))
        ax.errorbar(g["published"], y, xerr=g["uncertainty"].fillna(0), fmt="o", mfc="white",
                    color="C0", label="published", capsize=2)
        ax.errorbar(g["reproduced"], y + 0.2, xerr=g["reproduced_uncertainty"].fillna(0),
                    fmt="s", color="C3", label="reproduced", capsize=2)
        ax.set_yticks(y, g["backbone"].str.replace("_", " "), fontsize="x-small")
        better = "lower" if bool(g["lower_better"].iloc[0]) else "higher"
        ax.set(title=f"{task}: {metric}", xlabel=f"{metric} ({better} is better)")
        ax.invert_yaxis()
    for ax in list(axes.flat)[len(groups):]:
        ax.set_visible(False)
    axes.flat[0].legend(fontsize="x-small", loc="best")
    return fig
