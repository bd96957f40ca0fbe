"""Figure of the pre-training budget study: probe score against CPU minutes, SSL vs random."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

__all__ = ["plot_budget_curves"]


def plot_budget_curves(curves: pd.DataFrame, *, budget: float | None = None,
                       references: dict | None = None) -> Figure:
    """One panel per probe: each setting's score (95 % interval) against minutes of training.

    ``curves`` has ``setting, probe, metric, epoch, minutes, value, low, high``; epoch 0 (the
    network at random initialisation) is drawn hollow at 0 minutes. ``budget`` draws a
    vertical line at that many minutes; ``references`` maps a probe to a list of reference
    rows ``{"name", "value", "low", "high"}`` (a featureless guess, pixel statistics, a
    hand-made feature), drawn as grey lines (one far off the curves' scale is only named).
    """
    probes = list(dict.fromkeys(curves["probe"]))
    settings = list(dict.fromkeys(curves["setting"]))
    colours = {s: plt.cm.tab10(i % 10) for i, s in enumerate(settings)}
    fig, axes = plt.subplots(1, len(probes), figsize=(5.2 * len(probes), 3.8), squeeze=False)
    for ax, probe in zip(axes[0], probes, strict=True):
        part = curves[curves["probe"] == probe]
        for setting, g in part.groupby("setting", sort=False):
            g = g.sort_values("epoch")
            err = [g["value"] - g["low"], g["high"] - g["value"]]
            ax.errorbar(g["minutes"], g["value"], yerr=err, marker="o", ms=4, capsize=2,
                        lw=1.2, label=setting, color=colours[setting])
            first = g.iloc[0]
            ax.plot(first["minutes"], first["value"], "o", ms=8, mfc="white",
                    mec=colours[setting])
        lo, hi = part["low"].min(), part["high"].max()
        span = max(hi - lo, 0.5 * abs(hi)) or 1.0
        for ref, style in zip((references or {}).get(probe, []), ("-", "--", ":", "-."),
                              strict=False):
            inside = lo - 2 * span <= ref["value"] <= hi + 2 * span
            label = ref["name"] if inside else f"{ref['name']}: {ref['value']:.3g} (off scale)"
            ax.axhline(ref["value"] if inside else np.nan, color="0.45", lw=1, ls=style,
                       label=label)
            if inside:
                lo, hi = min(lo, ref["value"]), max(hi, ref["value"])
        ax.set_ylim(lo - 0.05 * (hi - lo + 1e-9), hi + 0.05 * (hi - lo + 1e-9))
        if budget is not None:
            ax.axvline(budget, color="0.4", ls="--", lw=1)
        metric = part["metric"].iloc[0]
        ax.set(xlabel="training minutes (CPU time / threads)",
               ylabel="MSE" if metric == "mse" else metric.replace("_", " "),
               title=f"{probe} ({'lower' if metric == 'mse' else 'higher'} is better)")
        ax.legend(fontsize=6, loc="best")
    fig.tight_layout()
    return fig
