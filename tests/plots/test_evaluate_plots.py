"""Figures of the downstream notebook draw what they are given."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from radiolib.plots import (  # noqa: E402
    plot_attention_maps,
    plot_feature_maps,
    plot_label_count_curves,
)


def test_label_count_curves_one_line_per_model_with_spread():
    curves = pd.DataFrame({"model": ["a"] * 4 + ["b"] * 4, "n_per_class": [5, 5, 50, 50] * 2,
                           "accuracy": [0.5, 0.7, 0.8, 0.8, 0.4, 0.4, 0.6, 0.6]})
    fig = plot_label_count_curves(curves, title="RGD")
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["a", "b"]
    line = ax.lines[0]
    np.testing.assert_allclose(np.asarray(line.get_ydata(), float), [0.6, 0.8])
    bars = ax.containers[0].lines[2][0].get_segments()  # model a's error bars: mean +- std
    np.testing.assert_allclose([bars[0][0][1], bars[0][1][1]], [0.6 - 0.02 ** 0.5,
                                                                0.6 + 0.02 ** 0.5])
    assert ax.get_xscale() == "log" and ax.get_title() == "RGD"


def test_feature_maps_one_panel_per_model_one_colour_per_class():
    xy = np.random.default_rng(0).normal(size=(30, 2))
    labels = np.arange(30) % 3
    fig = plot_feature_maps({"A": xy, "B": xy + 1}, labels, ["FRI", "FRII", "Bent"])
    assert [ax.get_title() for ax in fig.axes] == ["A", "B"]
    assert len(fig.axes[0].collections) == 3
    assert sum(len(c.get_offsets()) for c in fig.axes[1].collections) == 30


def test_attention_maps_cover_their_image():
    images = np.random.default_rng(1).random((3, 32, 32))
    maps = np.random.default_rng(2).random((3, 4, 4))
    fig = plot_attention_maps(images, maps, titles=["FRI", "FRII", "FRI"])
    assert len(fig.axes) == 6
    shown = fig.axes[3].get_images()[0]  # the bottom row, first column (row-major axes)
    assert shown.get_extent() in ([0, 32, 0, 32], (0, 32, 0, 32))


def test_map_colourings_one_panel_each_with_a_legend_or_a_colour_bar():
    from radiolib.plots import plot_map_colourings

    rng = np.random.default_rng(0)
    xy = rng.normal(size=(40, 2))
    fig = plot_map_colourings(xy, {"pointing": np.repeat(["a", "b"], 20),
                                   "count": rng.integers(0, 60, 40)})
    names, counts = fig.axes[0], fig.axes[1]
    assert [t.get_text() for t in names.get_legend().get_texts()] == ["a", "b"]
    assert counts.get_legend() is None and len(fig.axes) == 3  # the third: the colour bar
    assert names.get_title() == "coloured by pointing"


def test_head_attention_outlines_the_top_patches_of_each_head():
    from radiolib.plots import plot_head_attention

    maps = np.random.default_rng(1).uniform(0, 0.1, (1, 2, 4, 4))
    maps[0, 0, 0, 0] = maps[0, 1, 3, 3] = 1.0  # one hot patch per head, the only one above
    fig = plot_head_attention(np.ones((1, 32, 32)), maps, quantile=0.95)
    assert len(fig.axes) == 2
    for ax, (y, x) in zip(fig.axes, [(0, 0), (3, 3)], strict=True):
        (verts,) = [p.vertices for c in ax.collections for p in c.get_paths() if len(p)]
        centre = verts.mean(axis=0)  # the contour circles the hot 8x8 patch
        assert abs(centre[0] - (8 * x + 3.5)) < 3 and abs(centre[1] - (8 * y + 3.5)) < 3


def test_backbone_panels_one_panel_per_task_and_metric():
    from radiolib.plots import plot_backbone_panels

    cells = pd.DataFrame({"task": ["MiraBest", "MiraBest", "MiraBest", "RGD"],
                          "metric": ["error", "error", "F1", "accuracy"],
                          "lower_better": [True, True, False, False],
                          "backbone": ["a", "b", "a", "a"], "published": [0.1, 0.2, 0.9, 0.8],
                          "uncertainty": [np.nan, 0.01, np.nan, np.nan],
                          "reproduced": [0.3, np.nan, 0.7, np.nan],
                          "reproduced_uncertainty": [0.02, np.nan, 0.05, np.nan]})
    fig = plot_backbone_panels(cells)
    shown = [ax for ax in fig.axes if ax.get_visible()]
    assert [ax.get_title() for ax in shown] == ["MiraBest: error", "MiraBest: F1", "RGD: accuracy"]
    assert [t.get_text() for t in shown[0].get_yticklabels()] == ["a", "b"]
