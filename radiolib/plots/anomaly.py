"""Figures of the anomaly search (Riggi et al. 2024, Fig. 12, A.2, A.3; the loop's curves)."""

from __future__ import annotations

from collections.abc import Mapping

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

__all__ = ["plot_feature_importance", "plot_fig12", "plot_inspection_curves",
           "plot_projection"]

_GROUP_STYLE = {"all": dict(color="k", histtype="step", lw=1.5),
                "unlabelled": dict(color="k", histtype="step", ls="--"),
                "peculiar": dict(color="tab:red", alpha=0.6),
                "ordinary": dict(color="tab:blue", histtype="step"),
                "pure compact": dict(color="lightskyblue", histtype="step"),
                "complex": dict(color="tab:green", histtype="step")}
_SCAN_STYLE = {"recall": dict(color="tab:red"), "precision": dict(color="tab:red", ls="--"),
               "precision_peculiar_complex": dict(color="purple", ls=":"),
               "contamination_unlabelled": dict(color="k"),
               "contamination_complex": dict(color="tab:green"),
               "contamination_ordinary": dict(color="tab:blue")}


def plot_fig12(groups: Mapping[str, np.ndarray], scan: pd.DataFrame, threshold: float, *,
               bins: int = 40) -> plt.Figure:
    """Score histograms by frame group (left) and metrics against threshold (right)."""
    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 3.8))
    edges = np.linspace(0, 1, bins + 1)
    for name, values in groups.items():
        if len(values):
            a.hist(values, bins=edges, label=f"{name} ({len(values)})",
                   **_GROUP_STYLE.get(name, {}))
    a.set(yscale="log", xlabel="anomaly score", ylabel="frames")
    a.legend(fontsize=7)
    for col, style in _SCAN_STYLE.items():
        b.plot(scan["threshold"], 100 * scan[col], label=col.replace("_", " "), **style)
    if np.isfinite(threshold):
        b.axvline(threshold, color="grey", lw=0.8)
    b.set(xlabel="score threshold", ylabel="%", ylim=(0, 102))
    b.legend(fontsize=7)
    fig.tight_layout()
    return fig


def plot_feature_importance(importance: np.ndarray, *, n_top: int = 15) -> plt.Figure:
    """Draw the importance of every feature (bars), the top ``n_top`` marked."""
    fig, ax = plt.subplots(figsize=(8, 2.8))
    imp = np.asarray(importance, float)
    ax.bar(np.arange(imp.size), imp, width=1.0, color="grey")
    top = np.argsort(-imp, kind="stable")[:n_top]
    ax.bar(top, imp[top], width=1.0, color="tab:red", label=f"top {n_top}")
    ax.set(xlabel="feature index", ylabel="splits")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def plot_projection(coords: np.ndarray, rms: np.ndarray, kinds: np.ndarray) -> plt.Figure:
    """2-D projection coloured by log10 noise rms (left) and by frame kind (right)."""
    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 4))
    sc = a.scatter(coords[:, 0], coords[:, 1], c=np.log10(rms), s=4, cmap="coolwarm")
    fig.colorbar(sc, ax=a, label="log10 rms")
    colours = {"unlabelled": "lightgrey", "ordinary": "tab:blue", "complex": "tab:green",
               "peculiar": "tab:red"}
    for kind, colour in colours.items():
        sel = np.asarray(kinds) == kind
        b.scatter(coords[sel, 0], coords[sel, 1], s=4 if kind == "unlabelled" else 10,
                  c=colour, label=f"{kind} ({sel.sum()})")
    b.legend(fontsize=7)
    for ax in (a, b):
        ax.set(xticks=[], yticks=[])
    fig.tight_layout()
    return fig


def plot_inspection_curves(curves: pd.DataFrame) -> plt.Figure:
    """Peculiar frames found against frames inspected, one line per strategy."""
    fig, ax = plt.subplots(figsize=(5, 3.6))
    for col, style in (("loop", "-"), ("score", "--"), ("random", ":")):
        ax.plot(curves["inspected"], curves[col], style, label=col)
    ax.set(xlabel="frames inspected", ylabel="PECULIAR frames found")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig
