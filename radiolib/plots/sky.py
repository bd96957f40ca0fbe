"""Figures of the simulated sky and the tiling.

Mosaics with zoom-ins, tile galleries, frame-label fractions, crops under two scalings,
fields by data-quality flag, and the realism checks against real fields.

Each function takes arrays (a mosaic may be a memory-mapped image of any size: it is shown
through a block-averaged thumbnail) and returns the figure. Images in Jy/beam are displayed
with an asinh stretch between -3 sigma and the 99.9th percentile, sigma being the MAD noise
(astropy's ``mad_std``: plots compute display limits, the package's noise estimator is
:func:`radiolib.io.robust_noise`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
from astropy.stats import mad_std
from astropy.visualization import AsinhStretch, ImageNormalize
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

__all__ = ["display_norm", "plot_centre_edge", "plot_crop_sources", "plot_field_gallery",
           "plot_field_zooms", "plot_fields_by_flag", "plot_label_fractions", "plot_realism",
           "plot_tiles", "thumbnail"]

_REAL, _SIM = "tab:blue", "tab:orange"


def _bare(ax) -> None:
    ax.set_xticks([])
    ax.set_yticks([])


def thumbnail(data: np.ndarray, max_pixels: int = 1024) -> tuple[np.ndarray, int]:
    """Block-average ``data`` so that its longer side is at most ``max_pixels``.

    Reads a memory-mapped image band by band; NaN pixels are left out of the averages (a
    block of NaN stays NaN). Returns the thumbnail (float32) and the block size ``k``.
    """
    ny, nx = data.shape
    k = max(1, -(-max(ny, nx) // max_pixels))
    if k == 1:
        return np.asarray(data, dtype=np.float32), 1
    out = np.full((ny // k, nx // k), np.nan, np.float32)
    for j in range(out.shape[0]):
        band = np.asarray(data[j * k:(j + 1) * k, : out.shape[1] * k], dtype=np.float32)
        band = band.reshape(k, out.shape[1], k)
        finite = np.isfinite(band)
        n = finite.sum(axis=(0, 2))
        total = np.where(finite, band, 0).sum(axis=(0, 2))
        out[j] = np.where(n > 0, total / np.maximum(n, 1), np.nan)
    return out, k


def display_norm(img: np.ndarray, *, lower: float = -3.0, upper: float = 99.9,
                 a: float = 0.05) -> ImageNormalize:
    """Return an asinh display stretch for ``img``.

    It runs from ``lower`` robust sigma (around the median) to the ``upper`` percentile of the
    finite pixels; a flat image gets a unit range.
    """
    finite = np.asarray(img)[np.isfinite(img)]
    if finite.size == 0:
        return ImageNormalize(vmin=0, vmax=1, stretch=AsinhStretch(a))
    med = float(np.median(finite))
    sigma = float(mad_std(finite))
    vmin = med + lower * sigma
    vmax = float(np.percentile(finite, upper))
    if not vmax > vmin:
        vmin, vmax = float(finite.min()), float(finite.max()) + (finite.max() == finite.min())
    return ImageNormalize(vmin=vmin, vmax=vmax, stretch=AsinhStretch(a), clip=False)


def _show(ax, img: np.ndarray, **kwargs) -> None:
    img = np.asarray(img, dtype=np.float32)
    cmap = plt.get_cmap(kwargs.pop("cmap", None)).with_extremes(bad="0.85")
    ax.imshow(np.ma.masked_invalid(img), norm=display_norm(img), cmap=cmap,
              interpolation="nearest", **kwargs)
    _bare(ax)


def _box(ax, box, k: int = 1, text: str | None = None, color: str = "cyan") -> None:
    x0, y0, x1, y1 = (float(v) / k for v in box)
    ax.add_patch(Rectangle((x0 - 0.5, y0 - 0.5), x1 - x0, y1 - y0, fill=False, lw=1.0,
                           ec=color))
    if text:
        ax.text(x1, y1, text, color=color, fontsize=7, ha="left", va="bottom")


def _cut(data: np.ndarray, box) -> np.ndarray:
    """Pixels of ``box`` (x0, y0, x1, y1), NaN where it sticks out of the image."""
    x0, y0, x1, y1 = (int(v) for v in box)
    out = np.full((y1 - y0, x1 - x0), np.nan, np.float32)
    ny, nx = data.shape
    ya, yb, xa, xb = max(y0, 0), min(y1, ny), max(x0, 0), min(x1, nx)
    if ya < yb and xa < xb:
        out[ya - y0:yb - y0, xa - x0:xb - x0] = data[ya:yb, xa:xb]
    return out


def plot_field_zooms(data: np.ndarray, boxes: Sequence, names: Sequence[str], *,
                     title: str | None = None, ncols: int = 4, panel: float = 1.6,
                     field: float = 3.8, max_pixels: int = 800) -> Figure:
    """Show a field (thumbnail) with numbered boxes, and the full-resolution zoom of each box.

    ``boxes`` are pixel boxes ``(x0, y0, x1, y1)``; ``names`` title the zooms. ``panel`` and
    ``field`` are the sizes (inches) of a zoom and of the field.
    """
    thumb, k = thumbnail(data, max_pixels)
    n = len(boxes)
    nrows = max(1, -(-n // ncols))
    fig = plt.figure(figsize=(field + panel * ncols, max(field, (panel + 0.2) * nrows)))
    sub_field, sub_zoom = fig.subfigures(1, 2, width_ratios=[field, panel * ncols])
    ax = sub_field.subplots()
    _show(ax, thumb)
    ax.set_title(title or f"field ({data.shape[0]}x{data.shape[1]} px)")
    for i, box in enumerate(boxes):
        _box(ax, box, k, str(i + 1))
    axes = np.atleast_1d(sub_zoom.subplots(nrows, ncols, squeeze=False)).ravel()
    for i, axz in enumerate(axes):
        if i < n:
            _show(axz, _cut(data, boxes[i]))
            axz.set_title(f"{i + 1}: {names[i]}", fontsize=8 if panel >= 1.4 else 7)
        else:
            axz.axis("off")
    return fig


def plot_tiles(tiles: np.ndarray, *, titles: Sequence[str] | None = None, ncols: int = 6,
               suptitle: str | None = None, panel: float = 1.6) -> Figure:
    """Show a gallery of tiles.

    ``tiles`` are (N, H, W) raw tiles (each with its own display stretch) or (N, 3, H, W)
    three-channel stacks in [0, 1], shown as RGB.
    """
    tiles = np.asarray(tiles)
    n = len(tiles)
    ncols = max(1, min(ncols, n))
    nrows = max(1, -(-n // ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(panel * ncols, panel * nrows + 0.3),
                             squeeze=False)
    for i, ax in enumerate(axes.ravel()):
        if i >= n:
            ax.axis("off")
            continue
        if tiles.ndim == 4:
            ax.imshow(np.moveaxis(tiles[i][:3], 0, -1).clip(0, 1))
            _bare(ax)
        else:
            _show(ax, tiles[i])
        if titles is not None:
            ax.set_title(titles[i], fontsize=7)
    if suptitle:
        fig.suptitle(suptitle)
    fig.tight_layout()
    return fig


def plot_label_fractions(fractions, *, reference: Mapping[str, float] | None = None,
                         title: str | None = None) -> Figure:
    """Horizontal bars: fraction of tiles with each frame label, one bar per column (field).

    ``fractions`` is a DataFrame (labels x fields) as `radiolib.papers.survey.label_fractions`
    returns; ``reference`` marks published fractions (e.g. ``{"PECULIAR": 0.07}``).
    """
    labels, fields = list(fractions.index), list(fractions.columns)
    fig, ax = plt.subplots(figsize=(6.4, 0.25 * len(labels) * max(1, len(fields)) ** 0.5 + 1))
    height = 0.8 / len(fields)
    y = np.arange(len(labels))
    for j, field in enumerate(fields):
        ax.barh(y + (j - (len(fields) - 1) / 2) * height, 100 * fractions[field].to_numpy(float),
                height=height, label=field)
    for label, value in (reference or {}).items():
        if label in labels:
            i = labels.index(label)
            ax.plot([100 * value] * 2, [i - 0.45, i + 0.45], color="k", lw=2)
            ax.annotate("paper", (100 * value, i), xytext=(12, 0), textcoords="offset points",
                        fontsize=7, va="center")
    ax.set_yticks(y, labels)
    ax.invert_yaxis()
    ax.set_xlabel("tiles with the label (%)")
    ax.legend(fontsize=7, loc="lower right")
    if title:
        ax.set_title(title)
    fig.tight_layout()
    return fig


def plot_centre_edge(data: np.ndarray, boxes: Mapping[str, Sequence],
                     panels: Mapping[str, Mapping[str, np.ndarray]], *,
                     notes: Mapping[str, str] | None = None,
                     title: str | None = None) -> Figure:
    """Show a field with crops marked, and each crop under each scaling (Lastufka et al. Fig 3).

    ``boxes`` maps a crop name (e.g. "centre", "edge") to its box; ``panels`` maps the same
    names to ``{scaling name: scaled crop in [0, 1]}``; every scaled crop shares one grey
    scale from 0 to 1. ``notes`` adds a line under a crop's name (e.g. its noise).
    """
    names = list(boxes)
    scalings = list(next(iter(panels.values())))
    thumb, k = thumbnail(data, 600)
    fig = plt.figure(figsize=(3.6 + 2.2 * len(scalings), 2.0 * len(names) + 0.5))
    sub_field, sub_crops = fig.subfigures(1, 2, width_ratios=[3.6, 2.2 * len(scalings)])
    ax = sub_field.subplots()
    _show(ax, thumb)
    ax.set_title(title or "field")
    for name in names:
        _box(ax, boxes[name], k, name, color="cyan")
    axes = sub_crops.subplots(len(names), len(scalings), squeeze=False)
    for r, name in enumerate(names):
        for c, scaling in enumerate(scalings):
            im = axes[r, c].imshow(panels[name][scaling], cmap="gray", vmin=0, vmax=1)
            _bare(axes[r, c])
            if r == 0:
                axes[r, c].set_title(scaling)
        axes[r, 0].set_ylabel(f"{name}\n{(notes or {}).get(name, '')}".strip())
    sub_crops.colorbar(im, ax=axes, shrink=0.8, label="scaled value")
    return fig


def plot_fields_by_flag(fields: Sequence[np.ndarray], flags: Sequence[int],
                        zooms: Sequence[Sequence], *, max_pixels: int = 400) -> Figure:
    """Show fields by data-quality flag (Lastufka et al. Fig 12).

    Each field (top) and a zoom on its box in ``zooms`` (bottom, e.g. around its brightest
    source), with the same display stretch.
    """
    n = len(fields)
    fig, axes = plt.subplots(2, n, figsize=(2.0 * n, 4.2), squeeze=False)
    for i, (data, flag, box) in enumerate(zip(fields, flags, zooms, strict=True)):
        thumb, k = thumbnail(data, max_pixels)
        _show(axes[0, i], thumb)
        _box(axes[0, i], box, k)
        axes[0, i].set_title(f"DQF {flag}")
        _show(axes[1, i], _cut(data, box))
    axes[0, 0].set_ylabel("field")
    axes[1, 0].set_ylabel("brightest source")
    fig.tight_layout()
    return fig


def plot_field_gallery(images: Mapping[str, np.ndarray], *, ncols: int = 4,
                       panel: float = 1.6, max_pixels: int = 500,
                       simulated: Sequence[str] = ()) -> Figure:
    """Show fields side by side, each in units of its own robust noise.

    The display runs from -3 to 30 sigma (asinh), so that noise, sources and artefacts
    compare at a glance; simulated fields (names in ``simulated``) get an orange title.
    """
    n = len(images)
    ncols = max(1, min(ncols, n))
    nrows = -(-n // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(panel * ncols, (panel + 0.25) * nrows),
                             squeeze=False)
    for ax, (name, data) in zip(axes.ravel(), images.items(), strict=False):
        thumb, _ = thumbnail(data, max_pixels)
        finite = thumb[np.isfinite(thumb)]
        med = np.median(finite)
        sigma = mad_std(finite)
        cmap = plt.get_cmap("inferno").with_extremes(bad="0.85")
        ax.imshow(np.ma.masked_invalid((thumb - med) / sigma), cmap=cmap, interpolation="nearest",
                  norm=ImageNormalize(vmin=-3, vmax=30, stretch=AsinhStretch(0.1), clip=False))
        _bare(ax)
        ax.set_title(name, fontsize=8, color=_SIM if name in simulated else _REAL)
    for ax in axes.ravel()[n:]:
        ax.axis("off")
    fig.tight_layout()
    return fig


def plot_realism(snr: Mapping[str, np.ndarray], table, *, simulated: Sequence[str] = (),
                 bins: np.ndarray | None = None) -> Figure:
    """Compare real and simulated fields in four panels.

    Pixel histograms in sigma units, spread of the local noise, source density and the
    fraction of pixels below -3 sigma (all, and near bright sources).

    ``snr`` maps a field name to its finite pixels in units of the noise
    (`radiolib.papers.survey.pixel_snr`); ``table`` is `radiolib.papers.survey.realism_table`.
    Real fields are blue, the ``simulated`` ones orange.
    """
    bins = np.linspace(-8, 30, 153) if bins is None else bins
    fig = plt.figure(figsize=(8.0, 6.6))
    grid = fig.add_gridspec(2, 3, height_ratios=[1.0, 1.1])
    axes = [fig.add_subplot(grid[0, :])] + [fig.add_subplot(grid[1, i]) for i in range(3)]
    ax = axes[0]
    centres = (bins[1:] + bins[:-1]) / 2
    n_sim = sum(name in simulated for name in snr)
    shades = {False: iter(plt.get_cmap("Blues")(np.linspace(0.45, 0.95, len(snr) - n_sim))),
              True: iter(plt.get_cmap("Oranges")(np.linspace(0.45, 0.95, max(n_sim, 1))))}
    for name, values in snr.items():
        hist, _ = np.histogram(values, bins=bins, density=True)
        sim = name in simulated
        ax.step(centres, np.where(hist > 0, hist, np.nan), where="mid", lw=1,
                color=next(shades[sim]), ls="--" if sim else "-", label=name)
    ax.plot(centres, np.exp(-centres**2 / 2) / np.sqrt(2 * np.pi), color="k", lw=0.8,
            ls=":", label="Gaussian")
    ax.set_yscale("log")
    ax.set_ylim(1e-6, 1)
    ax.set_xlabel("pixel value / robust sigma")
    ax.set_ylabel("density")
    ax.legend(fontsize=7, ncol=2)
    names = list(table.index)
    colors = [_SIM if n in simulated else _REAL for n in names]
    y = np.arange(len(names))
    for ax, column, label in ((axes[1], "rms_p90_p10", "local noise p90 / p10"),
                              (axes[2], "density_deg2", "sources > 5σ per deg²")):
        ax.barh(y, table[column].to_numpy(float), color=colors)
        ax.set_xlabel(label)
    ax = axes[3]
    ax.barh(y - 0.2, table["neg_pct"].to_numpy(float), height=0.4, color=colors,
            label="all pixels")
    ax.barh(y + 0.2, table["ripple_neg_pct"].to_numpy(float), height=0.4, color=colors,
            hatch="///", alpha=0.6, label="near bright sources")
    ax.axvline(0.135, color="k", ls=":", lw=0.8)
    ax.set_xlabel("pixels < -3σ (%)")
    ax.legend(fontsize=6, loc="lower right")
    for ax in axes[1:]:
        ax.set_yticks(y, names if ax is axes[1] else [""] * len(names), fontsize=7)
        ax.invert_yaxis()
    fig.tight_layout()
    return fig


def plot_crop_sources(crops: np.ndarray, sources: Sequence[np.ndarray], *,
                      titles: Sequence[str] | None = None, panel: float = 3.2) -> Figure:
    """Each crop with its catalogue sources circled (Lastufka et al. Fig. 2).

    ``crops`` is (N, H, W); ``sources[i]`` the (n, 2) pixel positions (x, y) of crop i's
    sources, drawn as open circles over an asinh stretch.
    """
    fig, axes = plt.subplots(1, len(crops), figsize=(panel * len(crops), panel), squeeze=False,
                             layout="constrained")
    for i, (ax, crop, xy) in enumerate(zip(axes[0], crops, sources, strict=True)):
        _show(ax, crop, origin="lower", cmap="gray")
        ax.scatter(xy[:, 0], xy[:, 1], s=60, facecolors="none", edgecolors="red", lw=0.8)
        ax.set_title(titles[i] if titles is not None else f"{len(xy)} sources",
                     fontsize="small")
    return fig
