from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from radiolib import plots  # noqa: E402


@pytest.fixture
def field():
    rng = np.random.default_rng(1)
    data = rng.normal(0, 1e-4, (300, 260)).astype(np.float32)
    data[100:104, 50:54] += 1e-2
    data[:20] = np.nan
    return data


def test_thumbnail_block_averages_and_keeps_blanks(field):
    thumb, k = plots.thumbnail(field, max_pixels=100)
    assert k == 3 and thumb.shape == (100, 86)
    np.testing.assert_allclose(thumb[50, 20], field[150:153, 60:63].mean(), rtol=1e-5)
    assert np.isnan(thumb[:6]).all() and np.isfinite(thumb[7:]).all()
    same, k1 = plots.thumbnail(field, max_pixels=1000)
    assert k1 == 1 and same.shape == field.shape


def test_display_norm_ranges():
    rng = np.random.default_rng(0)
    img = rng.normal(0, 1, (64, 64))
    norm = plots.display_norm(img)
    assert norm.vmin == pytest.approx(-3, abs=0.3) and norm.vmax > 2
    flat = plots.display_norm(np.ones((4, 4)))
    assert flat.vmax > flat.vmin
    empty = plots.display_norm(np.full((4, 4), np.nan))
    assert (empty.vmin, empty.vmax) == (0, 1)


def test_plot_field_zooms(field):
    boxes = [(40, 90, 70, 120), (200, 250, 280, 320)]  # the second sticks out of the image
    fig = plots.plot_field_zooms(field, boxes, ["source", "edge"], ncols=3)
    assert isinstance(fig, Figure)
    axes = [ax for sub in fig.subfigs for ax in sub.axes]
    assert len(axes) == 1 + 3
    assert len(axes[0].patches) == 2
    assert axes[1].get_title() == "1: source"


@pytest.mark.parametrize("shape", [(5, 32, 32), (5, 3, 32, 32)])
def test_plot_tiles(shape):
    tiles = np.random.default_rng(0).random(shape).astype(np.float32)
    fig = plots.plot_tiles(tiles, titles=list("abcde"), ncols=3)
    assert len(fig.axes) == 6
    assert fig.axes[4].get_title() == "e" and not fig.axes[5].axison


def test_plot_label_fractions_marks_the_reference():
    fractions = pd.DataFrame({"a": [0.5, 0.1], "b": [0.4, 0.05]}, index=["COMPACT", "PECULIAR"])
    fig = plots.plot_label_fractions(fractions, reference={"PECULIAR": 0.07})
    ax = fig.axes[0]
    assert len(ax.patches) == 4
    assert [t.get_text() for t in ax.get_yticklabels()] == ["COMPACT", "PECULIAR"]
    assert any(np.allclose(line.get_xdata(), 7) for line in ax.get_lines())


def test_plot_centre_edge(field):
    crop = np.random.default_rng(0).random((32, 32))
    panels = {pos: {"per crop": crop, "per field": crop} for pos in ("centre", "edge")}
    boxes = {"centre": (100, 100, 132, 132), "edge": (0, 200, 32, 232)}
    fig = plots.plot_centre_edge(field, boxes, panels, notes={"edge": "noisy"})
    axes = [ax for sub in fig.subfigs for ax in sub.axes]
    assert len(axes) == 1 + 4 + 1  # field, 2 x 2 crops, colour bar
    assert "noisy" in axes[3].get_ylabel()


def test_plot_fields_by_flag(field):
    fig = plots.plot_fields_by_flag([field, field], [0, 3], [(40, 90, 70, 120)] * 2)
    assert len(fig.axes) == 4 and fig.axes[1].get_title() == "DQF 3"


def test_plot_field_gallery_colours_simulated_titles(field):
    images = {"real": field, "sim": field, "other": field}
    fig = plots.plot_field_gallery(images, simulated=["sim"], ncols=2)
    assert len(fig.axes) == 4 and not fig.axes[3].axison
    assert fig.axes[0].title.get_color() != fig.axes[1].title.get_color()


def test_plot_realism():
    rng = np.random.default_rng(0)
    snr = {"real": rng.normal(size=1000), "sim": rng.normal(size=1000)}
    table = pd.DataFrame({"rms_p90_p10": [2.0, 1.2], "density_deg2": [300, 500],
                          "neg_pct": [2.0, 0.2], "ripple_neg_pct": [1.5, np.nan]},
                         index=["real", "sim"])
    fig = plots.plot_realism(snr, table, simulated=["sim"])
    assert len(fig.axes) == 4
    assert fig.axes[0].get_yscale() == "log"
    assert len(fig.axes[3].patches) == 4


def test_plot_crop_sources_circles_every_source():
    from radiolib.plots import plot_crop_sources

    rng = np.random.default_rng(0)
    crops = rng.normal(size=(2, 32, 32))
    sources = [np.array([[3.0, 4.0], [10.0, 20.0]]), np.zeros((0, 2))]
    fig = plot_crop_sources(crops, sources)
    assert [ax.get_title() for ax in fig.axes] == ["2 sources", "0 sources"]
    drawn = fig.axes[0].collections[0].get_offsets()
    assert np.allclose(drawn, sources[0])
