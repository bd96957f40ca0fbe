"""``radiolib.results``: published values, the results store and the report table."""

from __future__ import annotations

import json

import numpy as np
import pytest
import yaml

from radiolib.errors import ConfigError
from radiolib.results import (
    FAILED_RUN,
    PUBLISHED_PATH,
    ResultsStore,
    load_published,
    load_reproduced,
    mark_results,
    report_html,
    report_summary,
    report_table,
    status_counts,
)


def test_published_table_has_every_field():
    published = load_published()
    assert published["key"].is_unique
    assert len(published) >= 800  # both papers, every number (issue 10)
    for name in ("key", "paper", "source", "quantity", "value", "uncertainty", "unit", "kind",
                 "compare", "notebook", "claim"):
        assert name in published.columns


def test_seeded_dataset_values():
    values = load_published().set_index("key")["value"]
    assert values["griese2022.rgd.n_train"] == 1758
    assert values["griese2022.rgd.n_valid"] == values["griese2022.rgd.n_test"] == 200
    assert values["griese2022.rgd.n_total"] == 2158
    assert values["porter2023.mirabest.n_total"] == 1256
    assert isinstance(values["griese2022.rgd.n_total"], int)  # ints stay ints


def test_published_validation_is_enforced_on_load(tmp_path):
    path = tmp_path / "published.yaml"
    path.write_text(yaml.safe_dump([{"key": "x"}]))
    with pytest.raises(ConfigError, match="must look like|missing fields"):
        load_published(path)


def test_record_writes_json(tmp_path):
    store = ResultsStore(tmp_path / "res", "smoke", "01_data_and_scaling")
    store.record("griese2022.rgd.n_train", np.int64(1758), evidence="like-for-like")
    store.record("extra.rgd.mean_flux", np.float32(0.25), note="smoke", uncertainty=0.5)
    saved = json.loads((tmp_path / "res" / "01_data_and_scaling.json").read_text())
    assert saved["profile"] == "smoke" and saved["notebook"] == "01_data_and_scaling"
    assert saved["results"]["griese2022.rgd.n_train"] == {
        "value": 1758, "note": None, "evidence": "like-for-like"}
    assert saved["results"]["extra.rgd.mean_flux"] == {
        "value": 0.25, "note": "smoke", "evidence": "analogue", "uncertainty": 0.5}
    assert [p.name for p in (tmp_path / "res").iterdir()] == ["01_data_and_scaling.json"]


@pytest.mark.parametrize("kwargs", [dict(evidence="vibes"), dict(uncertainty=-1.0),
                                    dict(uncertainty="wide")])
def test_record_rejects_bad_evidence_and_uncertainty(tmp_path, kwargs):
    with pytest.raises(ValueError):
        ResultsStore(tmp_path, "smoke", "01_x").record("extra.v", 1.0, **kwargs)


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
    assert list(table.columns) == [
        "paper", "section", "source", "quantity", "kind", "published", "uncertainty",
        "reproduced", "reproduced_uncertainty", "unit", "profile", "evidence", "difference",
        "verdict", "note"]
    assert list(table.index) == list(load_published()["key"])
    values = table[table["kind"] != "claim"]
    assert set(values["verdict"]) <= {"not yet run", "not compared (context only)"} | {
        v for v in values["verdict"] if v.startswith("not compared (the book compares")}
    assert set(table.loc[table["kind"] == "claim", "verdict"]) == {"claim not run"}
    assert table["reproduced"].isna().all()


def test_report_verdicts(tmp_path):
    store = ResultsStore(tmp_path, "smoke", "01_data_and_scaling")
    store.record("griese2022.rgd.n_train", 1758, evidence="like-for-like")
    store.record("griese2022.rgd.n_test", 199, evidence="like-for-like")
    store.figure("lastufka2024.fig4.scalings", "fig-lastufka-fig4")
    store.record("lastufka2024.table4.mgcls_mse_resnet50_mgcls", 49.0, evidence="like-for-like")
    store.record("lastufka2024.table4.mgcls_mse_vits8_mgcls", 30.0, uncertainty=1.0)
    ResultsStore(tmp_path, "smoke", "02_other").record("extra.n_tiles", 12, note="toy")
    table = report_table(tmp_path)
    assert table.loc["griese2022.rgd.n_train", "verdict"] == "match"
    assert table.loc["griese2022.rgd.n_test", "verdict"] == "mismatch"
    assert table.loc["griese2022.rgd.n_test", "difference"] == -1
    assert table.loc["lastufka2024.fig4.scalings", "verdict"] == "figure only (see its claims)"
    assert table.loc["lastufka2024.table4.mgcls_mse_resnet50_mgcls", "verdict"] == \
        "not comparable (smoke profile)"
    row = table.loc["lastufka2024.table4.mgcls_mse_vits8_mgcls"]
    assert row["verdict"] == "analogue (not compared)" and row["reproduced_uncertainty"] == 1.0
    assert row["published"] == 39.98 and row["uncertainty"] == 0.05
    assert table.loc["griese2022.rgd.n_valid", "verdict"] == "not yet run"
    extra = table.loc["extra.n_tiles"]
    assert extra["verdict"] == "extra (not in the papers)" and extra["reproduced"] == 12
    assert extra["note"] == "toy" and extra["source"] == "02_other"
    assert len(table) == len(load_published()) + 1

    counts = status_counts(table)
    assert counts.loc["total", "total"] == len(table)
    assert counts.loc["Griese et al. 2022", "match"] == 1
    summary = report_summary(table)
    assert summary.loc["match or within tolerance", "Griese et al. 2022"] == 1
    assert summary.loc["mismatch or outside tolerance", "all"] == 1
    assert summary.loc["published rows", "all"] == len(load_published())


def test_report_evaluates_claims_on_recorded_values(tmp_path):
    claim_key = "lastufka2024.fig9.claim_dinov2_vitg14_beats_gz2_moco_mgcls"  # a < b
    claim = load_published().set_index("key").loc[claim_key, "claim"]
    store = ResultsStore(tmp_path, "quick", "06_x")
    store.record(claim["a"], 20.0)
    store.record(claim["b"], 30.0)
    table = report_table(tmp_path)
    assert claim["op"] == "lt" and table.loc[claim_key, "verdict"] == "claim holds"
    assert table.loc[claim_key, "reproduced"] == -10.0  # the statistic: a - b
    assert table.loc[claim_key, "profile"] == "quick"
    store.record(claim["a"], 40.0)
    assert report_table(tmp_path).loc[claim_key, "verdict"] == "claim fails"


def test_load_reproduced(tmp_path):
    assert load_reproduced(tmp_path).empty
    ResultsStore(tmp_path, "smoke", "01_x").record("extra.a", "FRI", note="label")
    df = load_reproduced(tmp_path)
    assert df.to_dict("records") == [{"key": "extra.a", "value": "FRI", "uncertainty": None,
                                      "evidence": "analogue", "note": "label",
                                      "notebook": "01_x", "profile": "smoke",
                                      "status": "complete", "error": None}]


def test_published_path_is_package_data():
    assert PUBLISHED_PATH.name == "published.yaml" and PUBLISHED_PATH.parent.name == "radiolib"


def test_report_html(tmp_path):
    store = ResultsStore(tmp_path, "smoke", "01_x")
    store.record("griese2022.rgd.n_train", 1758, evidence="like-for-like")
    store.record("extra.ratio", 0.123456, note="a <b> & c", uncertainty=0.01)
    page = report_html(report_table(tmp_path))
    assert page.count("<table") == 1 and page.count("<select") == 3
    assert 'data-paper="Porter &amp; Scaife 2023"' in page
    assert "<td>1758 images</td><td>1758 images<br><small>smoke · like-for-like</small></td>" \
        in page
    assert "0.1235 ± 0.01" in page and "a &lt;b&gt; &amp; c" in page
    assert 'class="radiolib-verdict-ok">match<' in page
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


def test_numbers_of_a_failed_or_unfinished_run_are_marked_not_reproduced(tmp_path):
    claim_key = "lastufka2024.fig9.claim_dinov2_vitg14_beats_gz2_moco_mgcls"
    claim = load_published().set_index("key").loc[claim_key, "claim"]
    mark_results(tmp_path, "smoke", "01_data_and_scaling", "running", fresh=True)
    store = ResultsStore(tmp_path, "smoke", "01_data_and_scaling")  # as the notebook opens it
    store.record("griese2022.rgd.n_train", 1758, evidence="like-for-like")
    store.record("extra.n_tiles", 12)
    store.record(claim["a"], 20.0)
    store.record(claim["b"], 30.0)
    # killed midway: the file still says "running"
    assert json.loads((tmp_path / "01_data_and_scaling.json").read_text())["status"] == \
        "running"
    table = report_table(tmp_path)
    row = table.loc["griese2022.rgd.n_train"]
    assert row["verdict"] == FAILED_RUN and row["reproduced"] == 1758
    assert "notebook 01_data_and_scaling failed (it did not finish)" in row["note"]
    assert table.loc["extra.n_tiles", "verdict"] == f"extra, {FAILED_RUN}"
    assert table.loc[claim_key, "verdict"] == "claim not run"  # failed numbers prove nothing
    summary = report_summary(table)
    assert summary.loc["failed runs (not reproduced)", "all"] == 4  # 3 published, 1 extra
    assert summary.loc["match or within tolerance", "all"] == 0
    assert "radiolib-verdict-bad" in report_html(table)
    mark_results(tmp_path, "smoke", "01_data_and_scaling", "failed", error="ValueError: boom")
    assert "failed (ValueError: boom)" in report_table(tmp_path).loc[
        "griese2022.rgd.n_train", "note"]
    mark_results(tmp_path, "smoke", "01_data_and_scaling", "complete")  # numbers kept
    table = report_table(tmp_path)
    assert table.loc["griese2022.rgd.n_train", "verdict"] == "match"
    assert table.loc[claim_key, "verdict"] == "claim holds"
    with pytest.raises(ValueError, match="status must be one of"):
        mark_results(tmp_path, "smoke", "01_data_and_scaling", "done")


def test_a_finished_notebooks_value_wins_over_a_failed_ones(tmp_path):
    ResultsStore(tmp_path, "smoke", "01_a").record("extra.n", 1)
    mark_results(tmp_path, "smoke", "02_b", "running", fresh=True)
    ResultsStore(tmp_path, "smoke", "02_b").record("extra.n", 2)
    df = load_reproduced(tmp_path).set_index("key")
    assert df.loc["extra.n", "value"] == 1 and df.loc["extra.n", "status"] == "complete"
