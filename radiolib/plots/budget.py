"""Figure of the pre-training budget study: probe score against CPU minutes, SSL vs random."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.figure import Figure

__all__ = ["plot_budget_curves"]


def plot_budget_curves(curves: pd.DataFrame, *, budget: float | None = None,
                       references: dict | None = None) -> Figure:
    """One panel per probe: each setting's score (95 % interval) against minutes of training.

    ``curves`` has ``setting, probe, metric, epoch, minutes, value, low, high``; epoch 0 (the
    network at random initialisation) is drawn hollow at 0 minutes. ``budget`` draws a
    vertical line at that many minutes; ``references`` maps a probe to ``{"name", "value",
    "low", "high"}`` of a featureless guess, drawn as a grey band.
    """
    probes = list(dict.fromkeys(curves["probe"]))
    fig, axes = plt.subplots(1, len(probes), figsize=(5.2 * len(probes), 3.8), squeeze=False)
    for ax, probe in zip(axes[0], probes, strict=True):
        part = curves[curves["probe"] == probe]
        for setting, g in part.groupby("setting", sort=False):
            g = g.sort_values("epoch")
            err = [g["value"] - g["low"], g["high"] - g["value"]]
            line = ax.errorbar(g["minutes"], g["value"], yerr=err, marker="o", ms=4,
                               capsize=2, lw=1.2, label=setting)
            first = g.iloc[0]
            ax.plot(first["minutes"], first["value"], "o", ms=8, mfc="white",
                    mec=line.lines[0].get_color())
        ref = (references or {}).get(probe)
        if ref:
            ax.axhspan(ref["low"], ref["high"], color="0.85", zorder=0)
            ax.axhline(ref["value"], color="0.5", lw=1, label=ref["name"])
        if budget is not None:
            ax.axvline(budget, color="0.4", ls="--", lw=1)
        metric = part["metric"].iloc[0]
        ax.set(xlabel="training minutes (CPU time / threads)",
               ylabel="MSE" if metric == "mse" else metric.replace("_", " "),
               title=f"{probe} ({'lower' if metric == 'mse' else 'higher'} is better)")
        ax.legend(fontsize=6, loc="best")
    fig.tight_layout()
    return fig
