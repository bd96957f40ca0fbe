"""papers.datasets: notebook 02's records, keyed in the library and checked against the papers."""

from __future__ import annotations

import math
from types import SimpleNamespace

import pandas as pd
import pytest

from radiolib.book import glue
from radiolib.papers import PaperResult, datasets
from radiolib.results import load_published


def test_survey_scale_counts_a_square_mosaic_of_each_area():
    result = datasets.survey_scale_result({"EMU-PS1": (270.0, 2.0)})
    side = round(math.sqrt(270.0) * 3600 / 2.0)  # px
    per_axis = math.ceil((side - 256) / 128) + 1  # 256 px windows, step 128
    assert result.records == {"extra.survey.emu_ps1.n_hulk": per_axis ** 2}


def test_peculiar_reference_is_the_papers_fraction_of_annotated_frames():
    published = load_published().set_index("key")["value"]
    paper = published["riggi2024.sec5_1.n_peculiar"] / published["riggi2024.sec5_1.n_labelled"]
    assert paper == pytest.approx(428 / 5800)
    assert datasets._published("riggi2024.sec5_1.n_peculiar") == 428


class _Tiles(SimpleNamespace):
    """What label_fractions reads of a TileSet: its index, its fields and its length."""

    def __init__(self, index, fields):
        super().__init__(index=index, fields=fields)

    def __len__(self):
        return len(self.index)


def test_peculiar_result_records_all_tiles_and_the_emupilot_ones_as_an_input():
    index = pd.DataFrame({"field": ["emupilot_0"] * 4 + ["smgps_0"] * 2,
                          "labels": ["COMPACT|PECULIAR", "COMPACT", "BACKGROUND", "COMPACT",
                                     "PECULIAR", "PECULIAR"]})
    hulk = _Tiles(index, {"emupilot_0": {}, "smgps_0": {}})
    result = datasets.peculiar_result(hulk)
    assert result.records[datasets.PECULIAR] == pytest.approx(3 / 6)
    assert result.records[datasets.EMU_PECULIAR] == pytest.approx(1 / 4)
    assert result.table.loc["PECULIAR", "smgps_0"] == 1.0
    assert result.details["reference"]["PECULIAR"] == pytest.approx(428 / 5800)
    assert "an input, not a reproduction" in result.note
    no_emu = _Tiles(index.iloc[4:].reset_index(drop=True), {"smgps_0": {}})
    assert math.isnan(datasets.peculiar_result(no_emu).records[datasets.EMU_PECULIAR])


def test_published_beside_keeps_stated_counts_only():
    result = PaperResult(pd.DataFrame(), {"riggi2024.table1.n_img_hulk_smgps": 12,
                                          "riggi2024.table1.mean_source_size_banner_smgps": 1.0,
                                          "extra.sim.smgps.n_hulk": 12})
    table = datasets.published_beside(result)
    assert list(table.index) == ["riggi2024.table1.n_img_hulk_smgps"]
    assert table.loc["riggi2024.table1.n_img_hulk_smgps"].tolist() == [12, 178057]


def test_glue_returns_its_value_inside_or_outside_a_notebook():
    assert glue("x", 3.5) == 3.5
