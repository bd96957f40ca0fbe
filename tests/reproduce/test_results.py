"""``radiolib.results``: published values, the results store and the report table."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
import yaml

from radiolib.errors import ConfigError
from radiolib.results import (
    PUBLISHED_PATH,
    ResultsStore,
    load_published,
    load_reproduced,
    report_html,
    report_table,
    status_counts,
)

ROW = {"key": "paper2024.table1.x", "paper": "Paper et al. 2024", "source": "Table 1",
       "quantity": "x", "value": 1.5, "unit": "", "notebook": None}


def test_published_yaml_is_valid():
    published = load_published()
    assert published["key"].is_unique
    assert len(published) >= 8
    assert list(published.columns) == ["key", "paper", "source", "quantity", "value", "unit",
                                       "notebook", "comment"]
    for row in published.itertuples():
        assert row.notebook is None or re.fullmatch(r"\d\d_\w+", row.notebook), row.key
        assert row.value is None or isinstance(row.value, (int, float)), row.key
    assert published["notebook"].isna().any()  # rows not reproduced by any notebook yet
    assert published["value"].isna().any()     # rows without a transcribed value


def test_seeded_dataset_values():
    values = load_published().set_index("key")["value"]
    assert values["griese2022.rgd.n_train"] == 1758
    assert values["griese2022.rgd.n_valid"] == values["griese2022.rgd.n_test"] == 200
    assert values["griese2022.rgd.n_total"] == 2158
    assert values["porter2023.mirabest.n_total"] == 1256
    assert isinstance(values["griese2022.rgd.n_total"], int)  # ints stay ints


@pytest.mark.parametrize("rows, match", [
    ([ROW, ROW], "duplicate key 'paper2024.table1.x'"),
    ([{k: v for k, v in ROW.items() if k != "unit"}], r"missing fields \['unit'\]"),
    ([{**ROW, "colour": "red"}], r"unknown fields \['colour'\]"),
    ([{**ROW, "value": "1.5"}], "'value' must be a number or null"),
    ([{**ROW, "key": "nodots"}], "must look like"),
    ([{**ROW, "paper": ""}], "'paper' must be a non-empty string"),
    ({"key": "x"}, "expected a YAML list"),
])
def test_published_validation(tmp_path, rows, match):
    path = tmp_path / "published.yaml"
    path.write_text(yaml.safe_dump(rows))
    with pytest.raises(ConfigError, match=match):
        load_published(path)


def test_record_writes_json(tmp_path):
    store = ResultsStore(tmp_path / "res", "smoke", "01_data_and_scaling")
    store.record("griese2022.rgd.n_train", np.int64(1758))
    store.record("extra.rgd.mean_flux", np.float32(0.25), note="smoke")
    saved = json.loads((tmp_path / "res" / "01_data_and_scaling.json").read_text())
    assert saved["profile"] == "smoke" and saved["notebook"] == "01_data_and_scaling"
    assert saved["results"]["griese2022.rgd.n_train"] == {"value": 1758, "note": None}
    assert saved["results"]["extra.rgd.mean_flux"] == {"value": 0.25, "note": "smoke"}
    assert [p.name for p in (tmp_path / "res").iterdir()] == ["01_data_and_scaling.json"]


def test_unknown_key_suggests_close_matches(tmp_path):
    store = ResultsStore(tmp_path, "smoke", "01_data_and_scaling")
    with pytest.raises(ConfigError, match=r"unknown result key 'griese2022\.rgd\.ntrain'.*"
                                          r"did you mean griese2022\.rgd\.n_train"):
        store.record("griese2022.rgd.ntrain", 1758)
    assert not (tmp_path / "01_data_and_scaling.json").exists()


@pytest.mark.parametrize("value", [float("nan"), float("inf"), True, None, [1], "x" * 81])
def test_record_rejects_bad_values(tmp_path, value):
    with pytest.raises(ValueError):
        ResultsStore(tmp_path, "smoke", "01_x").record("extra.v", value)


def test_store_keeps_records_of_same_profile(tmp_path):
    ResultsStore(tmp_path, "smoke", "01_x").record("extra.a", 1)
    ResultsStore(tmp_path, "smoke", "01_x").record("extra.b", 2)
    assert set(ResultsStore(tmp_path, "smoke", "01_x").results) == {"extra.a", "extra.b"}
    assert ResultsStore(tmp_path, "quick", "01_x").results == {}


def test_report_lists_every_published_row(tmp_path):
    table = report_table(tmp_path / "missing")
    assert list(table.columns) == ["paper", "source", "quantity", "published", "reproduced",
                                   "unit", "status", "note"]
    assert list(table.index) == list(load_published()["key"])
    assert set(table["status"]) == {"not yet reproduced"}
    assert table["reproduced"].isna().all()


def test_report_statuses(tmp_path):
    store = ResultsStore(tmp_path, "smoke", "01_data_and_scaling")
    store.record("griese2022.rgd.n_train", 1758)
    store.record("lastufka2024.fig4.scalings", "figure")  # published only graphically (null)
    store.record("riggi2024.table3.epochs", 5)  # published, but not transcribed yet
    ResultsStore(tmp_path, "smoke", "02_other").record("extra.n_tiles", 12, note="toy")
    table = report_table(tmp_path)
    assert table.loc["griese2022.rgd.n_train", "status"] == "reproduced"
    assert table.loc["griese2022.rgd.n_train", "published"] == 1758
    assert table.loc["griese2022.rgd.n_train", "reproduced"] == 1758
    assert table.loc["lastufka2024.fig4.scalings", "status"] == "no published value (figure)"
    assert table.loc["riggi2024.table3.epochs", "status"] == "published value not transcribed yet"
    assert table.loc["griese2022.rgd.n_test", "status"] == "not yet reproduced"
    extra = table.loc["extra.n_tiles"]
    assert extra["status"] == "extra (not in the papers)" and extra["reproduced"] == 12
    assert extra["note"] == "toy" and extra["source"] == "02_other"
    assert len(table) == len(load_published()) + 1

    counts = status_counts(table)
    assert counts.loc["total", "total"] == len(table)
    assert counts.loc["Griese et al. 2022", "reproduced"] == 1


def test_load_reproduced(tmp_path):
    assert load_reproduced(tmp_path).empty
    ResultsStore(tmp_path, "smoke", "01_x").record("extra.a", "FRI", note="label")
    df = load_reproduced(tmp_path)
    assert df.to_dict("records") == [{"key": "extra.a", "value": "FRI", "note": "label",
                                      "notebook": "01_x", "profile": "smoke"}]


def test_published_path_is_package_data():
    assert PUBLISHED_PATH.name == "published.yaml" and PUBLISHED_PATH.parent.name == "radiolib"


def test_report_html(tmp_path):
    store = ResultsStore(tmp_path, "smoke", "01_x")
    store.record("griese2022.rgd.n_train", 1758)
    store.record("extra.ratio", 0.123456, note="a <b> & c")
    page = report_html(report_table(tmp_path))
    assert page.count("<table") == len(load_published()["paper"].unique()) + 1
    assert "<caption>Porter &amp; Scaife 2023</caption>" in page
    assert "1758 images</td><td>1758 images</td><td>reproduced" in page
    assert "<td>0.1235</td>" in page and "a &lt;b&gt; &amp; c" in page
    assert "griese2022.rgd.n_bent_test" in page


def test_record_counts_keeps_published_keys_only(tmp_path):
    import pandas as pd

    counts = pd.DataFrame({"train": [395, 824], "test": [50, 50]}, index=["FRI", "Weird"])
    counts["total"] = counts.sum(axis=1)
    store = ResultsStore(tmp_path, "smoke", "01_x")
    kept = store.record_counts("griese2022.rgd", counts)
    assert "griese2022.rgd.n_fri_train" in kept and "griese2022.rgd.n_weird_train" not in kept
    assert store.results["griese2022.rgd.n_train"]["value"] == 395 + 824
    assert store.results["griese2022.rgd.n_total"]["value"] == 395 + 824 + 100
    extra = store.record_counts("extra.demo", counts)
    assert "extra.demo.n_weird_test" in extra
    assert store.results["extra.demo.n_weird_test"]["value"] == 50


def test_slug_makes_labels_key_parts():
    from radiolib.results import slug

    assert slug("ViT-S/8 (DINO)") == "vit-s8_dino"
    assert slug("predict the mean") == "predict_the_mean"
