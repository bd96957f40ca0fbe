"""The budget study's figure: one panel per probe, a curve per setting, intervals drawn."""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

from radiolib.plots import plot_budget_curves  # noqa: E402


def test_budget_curves_draw_each_setting_with_intervals():
    rows = [{"setting": s, "probe": p, "metric": m, "epoch": e, "minutes": e * 0.5,
             "value": v, "low": v - 1, "high": v + 1}
            for s in ("A", "B") for p, m, v in (("source count", "mse", 20.0),
                                                 ("primary frame label", "balanced_accuracy", 0.4))
            for e in range(3)]
    refs = {"source count": [{"name": "predict the mean", "value": 25.0, "low": 24.0,
                              "high": 26.0},
                             {"name": "peak counter", "value": 9.0, "low": 8.0, "high": 10.0},
                             {"name": "pixel histogram", "value": 1e4, "low": 9e3,
                              "high": 2e4}]}
    fig = plot_budget_curves(pd.DataFrame(rows), budget=1.0, references=refs)
    left, right = fig.axes
    assert left.get_ylabel() == "MSE" and right.get_ylabel() == "balanced accuracy"
    labels = [t.get_text() for t in left.get_legend().get_texts()]
    assert {"A", "B", "predict the mean", "peak counter"} <= set(labels)
    assert "pixel histogram: 1e+04 (off scale)" in labels and left.get_ylim()[1] < 100
    assert "predict the mean" not in [t.get_text() for t in right.get_legend().get_texts()]
    plt.close(fig)
