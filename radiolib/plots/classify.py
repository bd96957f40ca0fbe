"""Figures of the morphology classification (Riggi et al. 2024, Figs 5, 6 and 7)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.ticker import NullFormatter

__all__ = ["plot_confusion", "plot_confusions", "plot_f1_per_class", "plot_label_fraction_curve"]

#: Marker and colour of each backbone, as in the paper's Fig. 5 legend; others cycle.
_STYLE = {"hulk_smgps": ("s", "tab:red"), "banner_smgps": ("v", "tab:blue"),
          "smart_hulk_smgps": ("^", "tab:green"), "hulk_emupilot": ("D", "tab:orange"),
          "banner_emupilot": ("*", "tab:cyan"), "imagenet": ("o", "k"),
          "random": ("x", "grey")}


def plot_f1_per_class(scores: pd.DataFrame, *, value: str = "F1 %", error: str = "error %",
                      missing: Sequence[str] = ()) -> plt.Figure:
    """F1 per class and overall, one marker per backbone, with error bars (cf. Fig. 5).

    ``scores`` has one row per (``backbone``, ``class``) with ``value`` and ``error``
    columns; classes keep their first order. Names in ``missing`` are listed in the legend
    as not run (e.g. ImageNet weights not available offline).
    """
    classes = list(dict.fromkeys(scores["class"]))
    backbones = list(dict.fromkeys(scores["backbone"]))
    fig, ax = plt.subplots(figsize=(8.5, 3.8), layout="constrained")
    width = 0.6 / max(1, len(backbones))
    for i, name in enumerate(backbones):
        rows = scores[scores["backbone"] == name].set_index("class").reindex(classes)
        marker, colour = _STYLE.get(name, ("o", None))
        x = np.arange(len(classes)) + (i - (len(backbones) - 1) / 2) * width
        ax.errorbar(x, rows[value], yerr=rows[error].fillna(0.0), fmt=marker, color=colour,
                    ms=5, capsize=2, label=name)
    for name in missing:
        ax.plot([], [], " ", label=f"{name}: not available")
    ax.set_xticks(np.arange(len(classes)), classes)
    ax.set(ylabel="F1 (%)", ylim=(0, 102))
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return fig


def _confusion_panel(ax, table: pd.DataFrame, title: str | None):
    """Draw one row-normalised confusion matrix (%) with its values into ``ax``."""
    values = table.to_numpy(float)
    k = len(table)
    im = ax.imshow(values, cmap="Blues", vmin=0, vmax=100, origin="upper")  # row 0 on top
    for i in range(k):
        for j in range(values.shape[1]):
            ax.text(j, i, f"{values[i, j]:.0f}", ha="center", va="center", fontsize=8,
                    color="white" if values[i, j] > 60 else "black")
    ax.set_xticks(range(values.shape[1]), table.columns, rotation=45, ha="right")
    ax.set_yticks(range(k), table.index)
    ax.set(xlabel="predicted class", ylabel="true class")
    if title:
        ax.set_title(title, fontsize="medium")
    return im


def plot_confusion(table: pd.DataFrame, *, title: str | None = None) -> plt.Figure:
    """Row-normalised confusion matrix in per cent (rows: true class), values written in."""
    k = len(table)
    fig, ax = plt.subplots(figsize=(1.0 + 0.75 * k, 0.6 + 0.7 * k), layout="constrained")
    im = _confusion_panel(ax, table, title)
    fig.colorbar(im, ax=ax, label="% of the true class", shrink=0.8)
    return fig


def plot_confusions(tables: Mapping[str, pd.DataFrame]) -> plt.Figure:
    """Several row-normalised confusion matrices side by side, titled by model (Fig. 11)."""
    k = len(next(iter(tables.values())))
    fig, axes = plt.subplots(1, len(tables), figsize=((1.0 + 0.75 * k) * len(tables),
                                                      0.6 + 0.7 * k),
                             squeeze=False, layout="constrained")
    for ax, (name, table) in zip(axes[0], tables.items(), strict=True):
        im = _confusion_panel(ax, table, name)
    fig.colorbar(im, ax=list(axes[0]), label="% of the true class", shrink=0.8)
    return fig


def plot_label_fraction_curve(table: pd.DataFrame, *, n_full: float,
                              hollow: str = "scratch") -> plt.Figure:
    """Overall F1 against training images, one line per start, fraction on the top axis.

    ``table`` has ``start, n_train, f1, f1_err`` (F1 in %); ``n_full`` is the size of the
    whole training set, so that the top axis reads ``n_train / n_full`` (cf. Fig. 7). The
    ``hollow`` start is drawn with open markers and a dashed line, the others filled.
    """
    fig, ax = plt.subplots(figsize=(5.6, 3.6), layout="constrained")
    for start, rows in table.groupby("start", sort=False):
        rows = rows.sort_values("n_train")
        open_ = start == hollow
        ax.errorbar(rows["n_train"], rows["f1"], yerr=rows["f1_err"].fillna(0.0), marker="o",
                    mfc="white" if open_ else None, color="k", ls="--" if open_ else "-",
                    capsize=2, label=start)
    ax.set_xscale("log")
    sizes = sorted(set(table["n_train"].round().astype(int)))
    ax.set_xticks(sizes, [str(n) for n in sizes])
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set(xlabel="training images $n_{train}$", ylabel="F1, all classes (%)")
    top = ax.secondary_xaxis("top", functions=(lambda n: n / n_full, lambda f: f * n_full))
    top.set_xticks([n / n_full for n in sizes], [f"{n / n_full:.2g}" for n in sizes])
    top.xaxis.set_minor_formatter(NullFormatter())
    top.set_xlabel("fraction of the training set")
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small")
    return fig
