"""Figures of source detection (Riggi et al. 2024 Figs. 8-10 and the real-catalogue check)."""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.colors import to_rgba
from matplotlib.figure import Figure

__all__ = ["CLASS_COLOURS", "plot_completeness_vs_flux", "plot_detection_examples",
           "plot_f1_by_class", "plot_f1_vs_ntrain", "plot_sky_detections"]

#: Class colours of the paper's Fig. 8 (FLAGGED grey, COMPACT blue, MULTI-ISLAND orange,
#: EXTENDED yellow, SPURIOUS red).
CLASS_COLOURS = {"SPURIOUS": "tab:red", "COMPACT": "tab:blue", "EXTENDED": "gold",
                 "EXTENDED-MULTISLAND": "tab:orange", "FLAGGED": "tab:gray"}


def _overlay(ax, image: np.ndarray, masks: np.ndarray, names: Sequence[str]) -> None:
    ax.imshow(image, cmap="gray", origin="lower")
    for mask, name in zip(masks, names, strict=True):
        rgba = np.zeros((*mask.shape, 4))
        rgba[mask] = to_rgba(CLASS_COLOURS.get(name, "white"), 0.45)
        ax.imshow(rgba, origin="lower")
        if mask.any():
            ax.contour(mask, levels=[0.5], colors=[CLASS_COLOURS.get(name, "white")],
                       linewidths=0.8, origin="lower")
    ax.set_xticks([])
    ax.set_yticks([])


def plot_detection_examples(images: Sequence[np.ndarray], truth: Sequence[tuple],
                            predicted: Sequence[tuple], *, titles: Sequence[str] = ()) -> Figure:
    """Images (top: true masks, bottom: detections), masks coloured by class (Fig. 8).

    ``truth`` and ``predicted`` hold one ``(masks (k, H, W), class names)`` pair per image.
    """
    n = len(images)
    fig, axes = plt.subplots(2, n, figsize=(2.4 * n, 5.0), squeeze=False)
    for k in range(n):
        _overlay(axes[0, k], images[k], *truth[k])
        _overlay(axes[1, k], images[k], *predicted[k])
        if k < len(titles):
            axes[0, k].set_title(titles[k], fontsize=8)
    axes[0, 0].set_ylabel("truth")
    axes[1, 0].set_ylabel("detected")
    handles = [plt.Line2D([], [], color=c, lw=4, label=name) for name, c in CLASS_COLOURS.items()]
    fig.legend(handles=handles, loc="lower center", ncol=5, fontsize=8, frameon=False)
    fig.tight_layout(rect=(0, 0.06, 1, 1))
    return fig


def plot_f1_by_class(summary: pd.DataFrame, *, classes: Sequence[str]) -> Figure:
    """F1 (%) per class, one marker series per backbone, with mean errors (Fig. 9).

    ``summary`` has columns backbone, class, f1, f1_err.
    """
    fig, ax = plt.subplots(figsize=(7, 3.6))
    backbones = list(dict.fromkeys(summary["backbone"]))
    markers = "s v ^ D * o P X".split()
    x = np.arange(len(classes))
    for k, name in enumerate(backbones):
        part = summary[summary["backbone"] == name].set_index("class").reindex(classes)
        shift = (k - (len(backbones) - 1) / 2) * 0.08
        ax.errorbar(x + shift, part["f1"], yerr=part["f1_err"], fmt=markers[k % len(markers)],
                    label=name, capsize=2, ms=5)
    ax.set_xticks(x, classes, rotation=20, fontsize=8)
    ax.set_ylabel("F1 (%)")
    ax.set_ylim(0, 100)
    ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    return fig


def plot_f1_vs_ntrain(table: pd.DataFrame, *, pretrained: str) -> Figure:
    """SOURCE F1 (%) against training images, from scratch (open) and pre-trained (filled)."""
    fig, ax = plt.subplots(figsize=(5, 3.4))
    for start, face in (("scratch", "none"), (pretrained, "black")):
        part = table[table["start"] == start].sort_values("n_train")
        ax.errorbar(part["n_train"], part["f1"], yerr=part["f1_err"], fmt="o-", color="black",
                    mfc=face, capsize=2, label=start)
    ax.set_xscale("log")
    ax.set_xlabel("training images")
    ax.set_ylabel("SOURCE F1 (%)")
    ax.set_ylim(0, 100)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def plot_completeness_vs_flux(by_flux: pd.DataFrame, *,
                              xlabel: str = "catalogue total flux (mJy)") -> Figure:
    """Share of sources recovered per bin (flux, SNR...), with binomial errors."""
    fig, ax = plt.subplots(figsize=(5, 3.2))
    centre = np.sqrt(by_flux["lo"] * by_flux["hi"])
    ax.errorbar(centre, 100 * by_flux["completeness"], yerr=100 * by_flux["error"], fmt="o",
                color="black", capsize=2)
    for c, n in zip(centre, by_flux["n"], strict=True):
        ax.annotate(f"n={n}", (c, 2), ha="center", fontsize=7)
    ax.set_xscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel("recovered (%)")
    ax.set_ylim(0, 105)
    fig.tight_layout()
    return fig


def plot_sky_detections(images: Sequence[np.ndarray], detections: Sequence[pd.DataFrame],
                        references: Sequence[pd.DataFrame], *,
                        titles: Sequence[str] = ()) -> Figure:
    """Images with detections (boxes, coloured by class) and catalogue sources (circles).

    A catalogued source missed is a red circle, a recovered one green; ``detections`` need
    pixel boxes (x0, y0, x1, y1) and ``class``, ``references`` pixel ``x``, ``y`` and
    ``recovered``.
    """
    n = len(images)
    fig, axes = plt.subplots(1, n, figsize=(4.2 * n, 4.2), squeeze=False)
    for k, ax in enumerate(axes[0]):
        img = np.nan_to_num(images[k])
        lo, hi = np.percentile(img, [1, 99.5])
        ax.imshow(img, cmap="gray", origin="lower", vmin=lo, vmax=hi)
        for r in detections[k].to_dict("records"):
            ax.add_patch(plt.Rectangle((r["x0"] - 0.5, r["y0"] - 0.5), r["x1"] - r["x0"],
                                       r["y1"] - r["y0"], fill=False, lw=0.8,
                                       ec=CLASS_COLOURS.get(r["class"], "white")))
        ref = references[k]
        if len(ref):
            ax.scatter(ref["x"], ref["y"], s=60, facecolors="none",
                       edgecolors=np.where(ref["recovered"], "lime", "red"), lw=0.8)
        if k < len(titles):
            ax.set_title(titles[k], fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])
    fig.tight_layout()
    return fig
