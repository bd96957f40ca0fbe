"""Figures of the morphology classification draw what they are given."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from radiolib.plots import (  # noqa: E402
    plot_confusion,
    plot_f1_per_class,
    plot_label_fraction_curve,
)


def test_f1_per_class_one_marker_series_per_backbone_and_missing_in_legend():
    scores = pd.DataFrame([{"backbone": b, "class": c, "F1 %": v, "error %": 1.0}
                           for b, v0 in (("hulk_smgps", 80), ("random", 60))
                           for c, v in zip(["1C-1P", "2C-2P", "all"], [v0, v0 - 10, v0 - 5],
                                           strict=True)])
    fig = plot_f1_per_class(scores, missing=["imagenet"])
    ax = fig.axes[0]
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert sorted(legend) == ["hulk_smgps", "imagenet: not available", "random"]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["1C-1P", "2C-2P", "all"]
    np.testing.assert_allclose(np.asarray(ax.containers[0].lines[0].get_ydata(), float),
                               [80, 70, 75])


def test_confusion_writes_each_cell():
    table = pd.DataFrame([[90.0, 10.0], [25.0, 75.0]], index=["a", "b"], columns=["a", "b"])
    fig = plot_confusion(table, title="x")
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert texts == ["90", "10", "25", "75"]
    np.testing.assert_allclose(fig.axes[0].images[0].get_array(), table.to_numpy())


def test_confusions_put_the_first_class_on_top_whatever_the_book_style():
    import matplotlib.pyplot as plt

    from radiolib.plots import plot_confusions, use_style

    table = pd.DataFrame([[90.0, 10.0], [25.0, 75.0]], index=["a", "b"], columns=["a", "b"])
    with plt.rc_context():
        use_style()  # the book's style draws images with origin "lower"
        fig = plot_confusions({"m1": table, "m2": table})
    ax = fig.axes[0]
    bottom, top = ax.get_ylim()
    assert top < bottom  # row 0 ("a") at the top, as a confusion matrix reads
    assert [a.get_title() for a in fig.axes[:2]] == ["m1", "m2"]


def test_label_fraction_curve_has_the_fraction_on_a_top_axis():
    table = pd.DataFrame({"start": ["scratch"] * 2 + ["smart_hulk_smgps"] * 2,
                          "n_train": [6, 60] * 2, "f1": [30.0, 80.0, 55.0, 82.0],
                          "f1_err": [2.0, 1.0, np.nan, 1.0]})
    fig = plot_label_fraction_curve(table, n_full=60)
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["scratch",
                                                                    "smart_hulk_smgps"]
    np.testing.assert_allclose(np.asarray(ax.lines[0].get_ydata(), float), [30, 80])
    assert ax.lines[0].get_markerfacecolor() == "white"  # scratch: open markers
    assert ax.containers[1].lines[0].get_markerfacecolor() != "white"
    top = [c for c in ax.child_axes]
    assert top and top[0].get_xlabel() == "fraction of the training set"
