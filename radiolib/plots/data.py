"""Figures of the data stage: sample grids, scaling comparisons, channel stacks.

Each function takes arrays (already scaled where that matters) and returns the figure, so a
notebook cell is one call and the same figure can be saved by a script.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

__all__ = ["plot_channels", "plot_image_grid", "plot_scaling_comparison", "use_style"]


def use_style() -> None:
    """One shared style for every book figure (small fonts, no ticks on images)."""
    plt.rcParams.update(
        {
            "figure.dpi": 100,
            "savefig.dpi": 100,
            "font.size": 9,
            "axes.titlesize": 9,
            "image.origin": "lower",
            "image.cmap": "inferno",
        }
    )


def _bare(ax) -> None:
    ax.set_xticks([])
    ax.set_yticks([])


def plot_image_grid(
    images: np.ndarray,
    labels: np.ndarray,
    class_names: Sequence[str],
    *,
    n_per_class: int = 4,
    title: str | None = None,
    transform: Callable[[np.ndarray], np.ndarray] | None = None,
) -> Figure:
    """Show the first ``n_per_class`` images of every class, one row per class.

    ``images`` is (N, H, W); ``transform`` (e.g. a scaling) is applied to each image for display.
    """
    n_classes = len(class_names)
    fig, axes = plt.subplots(
        n_classes, n_per_class, figsize=(1.6 * n_per_class, 1.6 * n_classes), squeeze=False
    )
    for row, name in enumerate(class_names):
        idx = np.flatnonzero(np.asarray(labels) == row)[:n_per_class]
        for col in range(n_per_class):
            ax = axes[row, col]
            _bare(ax)
            if col < len(idx):
                img = images[idx[col]]
                ax.imshow(transform(img) if transform else img)
        axes[row, 0].set_ylabel(f"{name}\n(n={np.sum(np.asarray(labels) == row)})")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_scaling_comparison(
    data: np.ndarray, scaled: Mapping[str, np.ndarray], *, bins: int = 64, title: str | None = None
) -> Figure:
    """Image and pixel histogram for each scaling of one image (cf. Lastufka et al. 2024, Fig. 4).

    ``scaled`` maps a label to the scaled image (values in [0, 1]); the raw image's histogram
    (finite pixels, log counts) is shown first for reference.
    """
    panels = {"raw": np.asarray(data, dtype=float), **{k: np.asarray(v) for k, v in scaled.items()}}
    n = len(panels)
    fig, axes = plt.subplots(2, n, figsize=(2.2 * n, 4.4), squeeze=False)
    for col, (label, img) in enumerate(panels.items()):
        ax_img, ax_hist = axes[0, col], axes[1, col]
        ax_img.imshow(img)
        ax_img.set_title(label)
        _bare(ax_img)
        finite = img[np.isfinite(img)]
        ax_hist.hist(finite.ravel(), bins=bins, color="0.3", log=True)
        ax_hist.set_xlabel("pixel value" if label == "raw" else "scaled value")
    axes[1, 0].set_ylabel("pixels")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_channels(
    stacks: np.ndarray,
    *,
    channel_names: Sequence[str],
    raw: np.ndarray | None = None,
    title: str | None = None,
) -> Figure:
    """Show each channel of (C, H, W) stacks and their RGB composite, one row per image.

    ``stacks`` is (C, H, W) or (N, C, H, W); ``raw`` the matching (H, W) or (N, H, W) images
    before scaling, shown first when given (Riggi et al. 2024 three-channel input).
    """
    stacks = np.asarray(stacks)
    if stacks.ndim == 3:
        stacks = stacks[None]
        raw = None if raw is None else np.asarray(raw)[None]
    extra = 0 if raw is None else 1
    n_rows, n_cols = len(stacks), stacks.shape[1] + 1 + extra
    fig, axes = plt.subplots(n_rows, n_cols, figsize=(2.0 * n_cols, 2.0 * n_rows), squeeze=False)
    for r, stack in enumerate(stacks):
        row = axes[r]
        if raw is not None:
            row[0].imshow(raw[r])
        for i in range(stack.shape[0]):
            row[i + extra].imshow(stack[i], cmap="gray", vmin=0, vmax=1)
        row[-1].imshow(np.moveaxis(stack[:3], 0, -1).clip(0, 1))
        for ax in row:
            _bare(ax)
    titles = (["raw (Jy/beam)"] if raw is not None else []) + list(channel_names) + ["RGB"]
    for ax, text in zip(axes[0], titles, strict=True):
        ax.set_title(text)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig
