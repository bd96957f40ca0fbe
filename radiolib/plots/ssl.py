"""Figures of the pre-training stage: the learning curve of a run (Lastufka et al. [0], Fig. 5).

Data in, figure out: a run's metrics as a DataFrame, records, or the JSON-lines log the
training loop writes (read here with the standard library, so plots import nothing of
radiolib).

- [0] Lastufka et al. 2024, A&A 690, A310, arXiv:2408.06147
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.figure import Figure

__all__ = ["plot_learning_curve"]


def _frame(metrics) -> pd.DataFrame:
    if isinstance(metrics, pd.DataFrame):
        return metrics
    if isinstance(metrics, (str, os.PathLike)):  # a JSON-lines log: one record a line
        lines = Path(metrics).read_text(encoding="utf-8").splitlines()
        return pd.DataFrame.from_records([json.loads(ln) for ln in lines if ln.strip()])
    return pd.DataFrame.from_records(list(metrics))


def plot_learning_curve(metrics, ax=None, *, eval_key: str = "count_mse",
                        label: str | None = None, **kwargs) -> Figure:
    """Training loss and an evaluation metric (source-count MSE) against epoch, as Fig. 5 of [0].

    Parameters
    ----------
    metrics : path, DataFrame or list of dict
        A run's ``metrics.jsonl`` (or :func:`radiolib.ssl.train.read_metrics` of its folder),
        or its records: ``kind == "train"`` rows give ``epoch`` and ``loss``, ``kind == "eval"``
        rows give ``epoch`` and ``eval_key``.
    ax : matplotlib Axes, optional
        Axes for the loss (default: a new figure); the metric goes on a twin y axis.
    eval_key : str
        Column of the evaluation records to show (skipped when absent).
    label : str, optional
        Legend label of the loss curve (e.g. the run name).
    **kwargs
        Passed to ``ax.plot`` for the loss curve.

    Returns
    -------
    Figure
    """
    df = _frame(metrics)
    kind = df["kind"] if "kind" in df else pd.Series("train", index=df.index)
    train = df[(kind == "train") & df.get("loss", pd.Series(index=df.index)).notna()]
    if ax is None:
        fig, ax = plt.subplots(figsize=(5, 3.2), layout="constrained")
    fig = ax.figure
    line = ax.plot(train["epoch"], train["loss"], label=label or "training loss", **kwargs)[0]
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    handles = [line]
    evals = df[kind == "eval"] if eval_key in df else df.iloc[0:0]
    evals = evals[evals[eval_key].notna()] if len(evals) else evals
    if len(evals):
        twin = ax.twinx()
        handles += twin.plot(evals["epoch"], evals[eval_key], "o--", color="C3",
                             label=eval_key.replace("_", " "))
        twin.set_ylabel(eval_key.replace("count_mse", "source-count MSE"))
    ax.legend(handles=handles, loc="upper right", fontsize="small")
    return fig
