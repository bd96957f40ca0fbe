"""The paper layer: its result keys exist in published.yaml, and each experiment's records."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from radiolib.errors import ConfigError, DataError
from radiolib.evaluate.splits import holdout_split
from radiolib.papers import PaperResult, lastufka2024, riggi2024
from radiolib.published import published_rows
from radiolib.results import ResultsStore, load_published

KEYS = {row["key"] for row in published_rows()}


def _constants(module):
    for name in module.__all__:
        value = getattr(module, name)
        if isinstance(value, str) and "." in value:
            yield value
        elif isinstance(value, dict):
            for v in value.values():
                yield from ([v] if isinstance(v, str) else
                            [x for x in v if isinstance(x, str)] if isinstance(v, tuple) else [])


@pytest.mark.parametrize("module", [lastufka2024, riggi2024])
def test_result_keys_are_published_rows(module):
    keys = [k for k in _constants(module) if k.startswith(("lastufka2024.", "riggi2024."))]
    assert keys or module is riggi2024
    assert [k for k in keys if k not in KEYS] == []


def test_holdout_split_is_seeded_disjoint_and_complete():
    fit, test = holdout_split(10, 0.3, seed=1)
    assert len(test) == 3 and len(fit) == 7
    assert sorted(np.concatenate([fit, test]).tolist()) == list(range(10))
    again = holdout_split(10, 0.3, seed=1)
    assert all((a == b).all() for a, b in zip((fit, test), again, strict=True))
    assert not (holdout_split(10, 0.3, seed=2)[1] == test).all()
    with pytest.raises(ValueError, match="test_fraction"):
        holdout_split(10, 1.0)


def _features(n=120, seed=0):
    rng = np.random.default_rng(seed)
    counts = rng.poisson(20, n).astype(float)
    signal = np.c_[counts, rng.normal(size=(n, 5))]  # the count is in the features
    noise = rng.normal(size=(n, 6))
    return counts, {"ResNet50 (DINO)": signal, "ViT-S/8 (untrained)": noise}


def _crops(counts, seed=0, side=48):
    """Noise crops with ``counts[i]`` isolated 20-sigma sources (a peak counter finds them)."""
    rng = np.random.default_rng(seed)
    cells = [(y, x) for y in range(4, side - 4, 6) for x in range(4, side - 4, 6)]
    crops = rng.normal(size=(len(counts), side, side))
    for crop, n in zip(crops, counts.astype(int), strict=True):
        for k in rng.choice(len(cells), min(n, len(cells)), replace=False):
            crop[cells[k]] += 20.0
    return crops


def test_count_mse_table_records_the_published_keys():
    counts, features = _features()
    result = lastufka2024.count_mse_table(features, counts, seed=0, n_components=4, n_boot=200)
    mse = result.table.iloc[:, 1]
    assert result.table.columns[0] == "kind" and list(result.table.columns[2:]) == \
        ["low", "high"]
    assert mse["ResNet50 (DINO)"] < 1 < mse["predict the mean"]  # the signal is found
    # the published keys are the paper probe's (paper_count_result); this is the cross-check
    assert not any(k in result.records for spec in lastufka2024.COUNT_SETS.values()
                   for keys in spec.mse_keys.values() for k in keys)
    assert result.records["extra.dino.count_mse.resnet50_dino"] == mse["ResNet50 (DINO)"]
    assert result.records["extra.dino.count_mse.predict_the_mean"] == mse["predict the mean"]
    assert "ResNet50 (untrained)" not in result.text  # no untrained ResNet50 to compare
    assert "- ResNet50 (DINO) beats predict the mean at 95 %" in result.text
    assert "ViT-S/8 (untrained) and predict the mean are indistinguishable" in result.text


def test_paper_count_result_drops_outliers_and_records_the_published_keys():
    counts, features = _features(n=2000)  # SGD at the paper's rate: enough steps to converge
    counts[:3] = [200.0, 210.0, 190.0]  # far beyond 3 std of the mean: dropped
    features["ResNet50 (DINO)"][:3, 0] = counts[:3]
    result = lastufka2024.paper_count_result(features, counts, n_runs=2, seed=0, note="t")
    table = result.table
    assert (table["n_excluded"] == 3).all() and result.records[
        "extra.paper_probe.mgcls_outliers"] == 3
    assert table.loc["ResNet50 (DINO)", "mse"] < 2 < table.loc["ViT-S/8 (untrained)", "mse"]
    mgcls = lastufka2024.COUNT_SETS["MGCLS"]
    for key in mgcls.mse_keys["ResNet50"]:
        assert result.records[key] == table.loc["ResNet50 (DINO)", "mse"]
        assert result.uncertainties[key] == table.loc["ResNet50 (DINO)", "mse_std"]
    assert not any(k in result.records for k in mgcls.mse_keys["ViT-S/8"])
    assert set(mgcls.tail_keys.values()) <= set(result.records)
    truth = result.details["truth"]
    assert truth.max() < 100 and len(truth) == round(0.3 * 2000) - np.sum(
        np.isin(np.arange(3), holdout_split(2000, 0.3, seed=0)[1]))
    assert {len(p) for p in result.details["predictions"].values()} == {len(truth)}
    assert "3 crops beyond 3 std" in result.note and "2 probe runs" in result.note


def test_paper_count_result_on_mightee_records_its_own_column_and_tail():
    counts, features = _features(n=600)
    result = lastufka2024.paper_count_result(features, counts, n_runs=1, seed=0,
                                             dataset="MIGHTEE")
    mightee = lastufka2024.COUNT_SETS["MIGHTEE"]
    mse = result.table.loc["ResNet50 (DINO)", "mse"]
    assert result.records["lastufka2024.table4.mightee_mse_resnet50_mgcls"] == mse
    assert result.records["extra.paper_probe.mightee_mse.resnet50_dino"] == mse
    assert not any(k.startswith(("lastufka2024.table4.mgcls_", "lastufka2024.fig5."))
                   for k in result.records)  # the MGCLS column and Fig. 5 are not touched
    assert result.details["tail_at"] == mightee.tail == 50
    largest = np.max(result.details["predictions"]["ResNet50 (DINO)"])
    assert result.records[mightee.tail_keys["max_prediction"]] == pytest.approx(largest)
    with pytest.raises(ConfigError, match="unknown count set"):
        lastufka2024.paper_count_result(features, counts, dataset="LoTSS")
    check = lastufka2024.count_mse_table(features, counts, dataset="MIGHTEE", n_components=4,
                                         n_boot=50)
    assert "extra.dino.mightee_count_mse.resnet50_dino" in check.records


def test_upper_tail_counts_shares_above_the_threshold():
    tail = lastufka2024.upper_tail([10, 70, 20, 65], {"a": np.array([61.0, 5, 5, 5])}, 60)
    assert tail.loc["catalogue", "share above %"] == 50.0
    assert tail.loc["a", "share above %"] == 25.0 and tail.loc["a", "max"] == 61.0


def test_count_mse_table_reference_rows():
    """With crops, a pixel histogram and a peak counter join the table; the counter is exact."""
    counts, features = _features()
    counts = np.minimum(counts, 30)
    features["ResNet50 (untrained)"] = features.pop("ViT-S/8 (untrained)")
    result = lastufka2024.count_mse_table(features, counts, crops=_crops(counts),
                                          n_components=4, n_boot=200)
    table = result.table
    assert table.loc["peak counter (5 sigma)", "kind"] == "hand-made"
    assert table.loc["pixel histogram", "kind"] == "baseline"
    assert table.iloc[:, 1]["peak counter (5 sigma)"] < 1e-6
    assert "extra.dino.count_mse.peak_counter_5_sigma" in result.records
    assert "ResNet50 (DINO) beats ResNet50 (untrained) at 95 %" in result.text
    assert "ResNet50 (DINO) beats peak counter" not in result.text  # both near 0


def test_ablation_combos_labels_and_table():
    combos = lastufka2024.ablation_combos(8)
    assert len(combos) == 8 and not any(combos[-1].values())
    assert len({tuple(c.values()) for c in combos}) == 8  # every combination once
    five = [lastufka2024.ablation_label(c) for c in lastufka2024.ablation_combos(5)]
    assert sorted(five) == sorted(lastufka2024.ABLATION_KEYS)  # exactly the paper's rows
    assert [lastufka2024.ablation_label(c) for c in lastufka2024.ablation_combos(2)] == \
        [five[0], "none"]
    labels = [lastufka2024.ablation_label(c) for c in combos]
    assert "rotation + power-law" in labels and "none" in labels
    counts, features = _features()
    runs = {label: features["ViT-S/8 (untrained)"] for label in labels}
    runs["rotation + power-law"] = features["ResNet50 (DINO)"]
    result = lastufka2024.ablation_table(runs, features["ViT-S/8 (untrained)"], counts,
                                         crops=_crops(counts), n_components=4, n_boot=200)
    row = result.table.loc["rotation + power-law"]
    assert row["rotation"] and row["power_law"] and not row["autocontrast"]
    assert row["vs_untrained"] < row["vs_high"] < 0 and row["kind"] == "run"
    assert result.table.loc["none", "vs_untrained"] == 0  # the same features
    key = lastufka2024.ABLATION_KEYS["rotation + power-law"]
    assert result.records[key] == row["count_mse"] and key in result.uncertainties
    assert set(lastufka2024.ABLATION_KEYS.values()) <= set(result.records)
    assert "extra.ablation.untrained.count_mse" in result.records
    assert set(result.table["kind"]) == {"run", "untrained", "baseline", "hand-made", "mean"}
    assert "rotation + power-law beats untrained at 95 %" in result.text
    assert "none and untrained are indistinguishable at 95 %" in result.text


def test_probe_and_finetune_records():
    rng = np.random.default_rng(0)
    data, features = {}, {}
    for split, n in (("train", 80), ("test", 60)):
        y = np.repeat([0, 1], n // 2)
        images = rng.normal(size=(n, 1, 16, 16)) * 0.1
        images[y == 1, 0, 7:10, 1:4] += 5.0  # a second source: a double
        images[:, 0, 7:10, 9:12] += 5.0
        data["MiraBest", split] = images, y
        features["ResNet50 (DINO)", "MiraBest", split] = np.c_[y + rng.normal(0, .1, n),
                                                               rng.normal(size=n)]
        features["ResNet50 (untrained)", "MiraBest", split] = rng.normal(size=(n, 2))
    probes = lastufka2024.frozen_probes(features, data, n_components=2, n_boot=200)
    result = lastufka2024.probe_records(probes, released=True)
    key = lastufka2024.table4_key("MiraBest", "error", "ResNet50 (DINO)")
    assert key == "lastufka2024.table4.mirabest_error_resnet50_mgcls"
    assert key not in result.records  # the cross-check: Table 4 comes from the paper's probe
    assert result.records["extra.probes.mirabest_accuracy.resnet50_dino"] == 100
    assert result.evidence == "released-weights"
    paper = lastufka2024.paper_probe_result(features, data, n_runs=2, released=True)
    assert paper.records[key] == 0 and paper.uncertainties[key] == 0
    f1 = lastufka2024.table4_key("MiraBest", "f1", "ResNet50 (DINO)")
    assert paper.records[f1] == 1
    untrained = paper.table.set_index("model").loc["ResNet50 (untrained)"]
    assert untrained["error"] > 0.2 and untrained["error_std"] >= 0
    assert paper.records["extra.paper_probe.mirabest_error.resnet50_untrained"] == \
        untrained["error"]
    assert not any(k.endswith("vits8_mgcls") for k in paper.records)
    assert paper.evidence == "released-weights" and "std over 2 probe runs" in paper.note
    table = result.table.set_index("model")
    assert table.loc["shape moments", "accuracy"] == 1  # it counts the peaks
    assert table.loc["ResNet50 (untrained)", "accuracy_low"] < 0.7
    assert "ResNet50 (DINO) beats ResNet50 (untrained) at 95 %" in result.text
    assert "ResNet50 (DINO) and shape moments are indistinguishable" in result.text
    tuned = pd.DataFrame({"model": ["ResNet50 (DINO)"] * 2 + ["ResNet50 (untrained)"],
                          "n_blocks": [0, 2, 2], "accuracy": [0.5, 0.7, 0.4]})
    records = lastufka2024.finetune_records(tuned, "RGD").records
    assert records[lastufka2024.RGD_FINETUNE_KEY] == 0.7  # the most blocks trained
    assert lastufka2024.RGD_FINETUNE_KEY not in \
        lastufka2024.finetune_records(tuned, "MiraBest").records


def test_riggi_model_recipes_follow_the_paper():
    from radiolib.ssl import SimCLRConfig

    recipes = riggi2024.model_recipes(SimCLRConfig(), banner_epochs=500, smart_epochs=7)
    assert set(recipes) == {"hulk_smgps", "hulk_emupilot", "banner_smgps", "banner_emupilot",
                            "smart_hulk_smgps", riggi2024.NO_THRESHOLDING}
    config, data, parent = recipes["smart_hulk_smgps"]
    assert (data, parent, config.epochs, config.thresholding) == \
        ("banner_smgps", "hulk_smgps", 7, False)
    assert recipes["banner_emupilot"][0].epochs == 500
    assert recipes["hulk_emupilot"][0].thresholding


def test_thresholding_result_and_record_result(tmp_path):
    rng = np.random.default_rng(0)
    n_fit, n_test = 120, 200
    fit = {"peculiar": rng.random(n_fit) < 0.3, "primary": rng.choice(["A", "B"], n_fit)}
    test = {"peculiar": rng.random(n_test) < 0.3, "primary": rng.choice(["A", "B"], n_test)}

    def embed(labels, strength):
        return {"probe": np.c_[strength * fit[labels] + rng.normal(size=n_fit),
                               rng.normal(size=n_fit)],
                "test": np.c_[strength * test[labels] + rng.normal(size=n_test),
                              rng.normal(size=n_test)]}

    emb = {"hulk_smgps": embed("peculiar", 4.0), riggi2024.NO_THRESHOLDING: embed("peculiar", 0),
           "untrained": embed("peculiar", 0)}
    images = {"probe": rng.normal(size=(n_fit, 12, 12)), "test": rng.normal(size=(n_test, 12, 12))}
    probes = riggi2024.frame_label_probes(emb, fit, test, images=images, n_boot=200)
    assert set(probes) == set(riggi2024.FRAME_PROBES)
    result = riggi2024.thresholding_result(probes, note="toy")
    effect = result.records["extra.simclr.thresholding_effect"]
    assert effect > result.uncertainties["extra.simclr.thresholding_effect"] > 0
    assert "extra.simclr.probe.hulk_smgps_nothr.peculiar_auc" in result.records
    assert "extra.simclr.probe.shape_moments.primary_bal_acc" in result.records
    assert set(result.table["kind"]) == {"model", "baseline", "hand-made"}
    assert "hulk_smgps beats hulk_smgps, no thresholding at 95 %" in result.text
    assert "95 % bootstrap" in result.note
    store = ResultsStore(tmp_path, "smoke", "03_simclr_pretraining")
    store.record_result(result)
    saved = store.results["extra.simclr.thresholding_effect"]
    assert saved["uncertainty"] == pytest.approx(
        result.uncertainties["extra.simclr.thresholding_effect"])
    one_class = dict(fit, peculiar=np.zeros(n_fit, bool))
    assert list(riggi2024.frame_label_probes(emb, one_class, test, n_boot=50)) == \
        ["primary label (bal. acc.)"]
    assert store.results["extra.simclr.thresholding_effect"]["note"].startswith("toy; ±")
    store.record_result(PaperResult(pd.DataFrame(), {"extra.a": 1.0}, uncertainties={
        "extra.a": 0.5}, evidence="like-for-like"))
    assert store.results["extra.a"] == {"value": 1.0, "note": None,
                                        "evidence": "like-for-like", "uncertainty": 0.5}


def test_table5_and_table6_keys_are_published_rows():
    for model in lastufka2024.TABLE5_MODELS:
        for metric in ("error", "f1"):
            for n in lastufka2024.TABLE5_LAYERS:
                assert lastufka2024.table5_key(metric, model, n) in KEYS
            for n in lastufka2024.TABLE6_COUNTS:
                assert lastufka2024.table6_key(metric, model, n) in KEYS
    for n in lastufka2024.TABLE6_COUNTS:
        assert f"lastufka2024.table6.n_labels_{n}" in KEYS


def _tiny_mirabest(n, seed):
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 2
    images = rng.integers(0, 40, size=(n, 24, 24)).astype(np.uint8)
    images[y == 1, 10:14, 10:14] = 255  # a bright core for class 1
    return images, y


def test_layer_study_smoke_records_table5_keys():
    from radiolib.models import feature_extractor

    model = feature_extractor("resnet18_w32", 1, image_size=16, device="cpu")
    result = lastufka2024.layer_study({"ours": model}, _tiny_mirabest(8, 0),
                                      _tiny_mirabest(4, 1), paper_models={"ours":
                                                                          "resnet50_mgcls"},
                                      n_layers=(0, 2), epochs=2, crop=16, batch_size=4,
                                      progress=False)
    assert list(result.table["n_layers"]) == [0, 2]
    assert result.table["n_trainable"].iloc[0] == 0 < result.table["n_trainable"].iloc[1]
    for n in (0, 2):
        key = lastufka2024.table5_key("error", "resnet50_mgcls", n)
        assert key in KEYS and 0 <= result.records[key] <= 1
        assert key in result.uncertainties
        assert f"extra.table5.ours.f1_ft{n}" in result.records
    with pytest.raises(Exception, match="unknown Table 5"):
        lastufka2024.layer_study({"ours": model}, _tiny_mirabest(8, 0), _tiny_mirabest(4, 1),
                                 paper_models={"ours": "mine"}, progress=False)


def test_label_study_scales_counts_and_saves_draws(tmp_path):
    rng = np.random.default_rng(0)
    y = np.array([0] * 300 + [1] * 404)
    x = rng.normal(size=(704, 6)) + y[:, None]
    assert list(lastufka2024.table6_counts(704).values()) == [35, 70, 140, 281, 422, 563, 634,
                                                              704]
    settings = lastufka2024.PROBE_SETTINGS["classification"]
    from dataclasses import replace
    quick = replace(settings, epochs=2)
    result = lastufka2024.label_study({"ours": (x, x[:50])}, y, y[:50], n_draws=2,
                                      paper_models={"ours": "resnet50_mgcls"},
                                      draws_path=tmp_path / "draws.npz", settings=quick)
    assert (tmp_path / "draws.npz").is_file()
    key = lastufka2024.table6_key("error", "resnet50_mgcls", 36)
    assert key in result.records and key in result.uncertainties
    assert result.table["labels"].tolist() == [35, 70, 140, 281, 422, 563, 634, 704]
    assert len(result.details["draws"][35]) == 2


def test_label_study_skips_counts_too_small_for_the_probe():
    from dataclasses import replace

    rng = np.random.default_rng(1)
    y = np.array([0] * 12 + [1] * 12)  # 24 labels: 36/729 of them is 1
    x = rng.normal(size=(24, 4)) + y[:, None]
    quick = replace(lastufka2024.PROBE_SETTINGS["classification"], epochs=2)
    result = lastufka2024.label_study({"ours": (x, x)}, y, y, n_draws=1, settings=quick)
    assert min(result.table["labels"]) >= 4 and result.details["skipped"]
    assert set(result.details["skipped"]) | set(result.details["counts"]) == \
        set(lastufka2024.TABLE6_COUNTS)
    with pytest.raises(ValueError, match="no Table 6 count"):
        few = [0, 12, 13]  # 3 labels of 2 classes: below 2 a class at every count
        lastufka2024.label_study({"ours": (x[few], x)}, y[few], y, settings=quick)


def test_crop_colourings_read_each_pointing_flag(tmp_path):
    crops = lastufka2024.mgcls_crops([3, 4], 768, tmp_path, "crops")
    colours = lastufka2024.crop_colourings(crops)
    flags = {}
    from astropy.io import fits
    for seed in (3, 4):
        flags[f"mgcls_{seed}"] = fits.getheader(tmp_path / "fields" / f"mgcls_{seed}.fits")["DQF"]
    assert len(colours["pointing"]) == len(crops) == len(colours["DQF"])
    for field, flag in zip(colours["pointing"], colours["DQF"], strict=True):
        assert flag == f"DQF {flags[field]}"
    assert (colours["sources per crop"] == crops.index["n_sources"].to_numpy()).all()
    assert "data set" not in colours
    deep = lastufka2024.mgcls_crops([5], 768, tmp_path, "deep", preset="mightee")
    both = lastufka2024.crop_colourings({"MGCLS-like": crops, "MIGHTEE-like": deep})
    assert list(both["data set"]) == ["MGCLS-like"] * len(crops) + ["MIGHTEE-like"] * len(deep)
    assert set(both["pointing"][len(crops):]) == {"mightee_5"}


def test_table4_key_names_the_cells_of_the_paper_rows_only():
    assert lastufka2024.table4_key("MIGHTEE_FR", "f1", "ViT-S/8 (DINO)") == \
        "lastufka2024.table4.mightee_fr_f1_vits8_mgcls"
    assert lastufka2024.table4_key("MiraBest", "error", "DINO ImageNet ResNet50") == \
        "lastufka2024.table4.mirabest_error_dino_resnet50_imagenet"
    assert lastufka2024.table4_key("MiraBest", "error", "ResNet50 (untrained)") is None
    assert lastufka2024.table4_key("RGD", "error", "ResNet50 (DINO)") is None
    published = set(load_published()["key"])
    for dataset in lastufka2024.TABLE4_SETS:
        for metric in ("error", "f1"):
            for model in ("ResNet50 (DINO)", "ViT-S/8 (DINO)", *lastufka2024.OTHER_BACKBONES):
                assert lastufka2024.table4_key(dataset, metric, model) in published


def test_mightee_crops_count_components_and_reuse_their_cache(tmp_path):
    deep = lastufka2024.mgcls_crops([5], 768, tmp_path, "deep", preset="mightee")
    shallow = lastufka2024.mgcls_crops([5], 768, tmp_path, "deep")  # another preset: remade
    assert set(shallow.index["field"]) == {"mgcls_5"} and set(deep.index["field"]) == {
        "mightee_5"}
    from radiolib.sky.truth import source_counts
    cat = pd.read_csv(tmp_path / "fields" / "mightee_5_catalogue.csv")
    boxes = deep.index[["x0", "y0", "x1", "y1"]].to_numpy()
    again = lastufka2024.mgcls_crops([5], 768, tmp_path, "deep2", preset="mightee")
    assert (again.index["n_sources"].to_numpy()
            == source_counts(cat, boxes, components=True)).all()


def test_mightee_fr_like_follows_the_real_sets_sizes(tmp_path):
    sets = lastufka2024.mightee_fr_like(tmp_path, n_fields=1, size=1536, boost=80.0, seed=3)
    train, test = sets["train"], sets["test"]
    published = load_published().set_index("key")["value"]
    keys = lastufka2024.MIGHTEE_FR_KEYS
    assert len(train) == published[keys["train"]]
    assert len(train) + len(test) == published[keys["FRI"]] + published[keys["FRII"]]
    assert (np.bincount(np.r_[train.labels, test.labels])
            == [published[keys["FRI"]], published[keys["FRII"]]]).all()
    assert abs(test.labels.mean() - train.labels.mean()) < 0.05  # stratified
    side = published[keys["side"]]
    assert train.images.shape[1:] == (side, side) and train.images.dtype == np.uint8
    assert train.class_names == ("FRI", "FRII") and set(train.meta["class"]) == {"fri", "frii"}
    assert (train.meta["snr"] >= 10).all()
    from astropy.io import fits

    for field, rows in pd.concat([train.meta, test.meta]).groupby("field"):
        data = fits.getdata(tmp_path / "fields" / f"{field}.fits").squeeze()
        for x, y in rows[["x", "y"]].to_numpy():  # each cut-out lies inside the imaged disc
            x0, y0 = int(np.floor(x + 0.5)) - side // 2, int(np.floor(y + 0.5)) - side // 2
            assert x0 >= 0 and y0 >= 0 and np.isfinite(data[y0:y0 + side, x0:x0 + side]).all()
    assert not set(map(tuple, train.meta[["field", "id"]].to_numpy())) & set(
        map(tuple, test.meta[["field", "id"]].to_numpy()))  # no galaxy in both splits
    with pytest.raises(DataError, match="raise n_fields or boost"):
        lastufka2024.mightee_fr_like(tmp_path / "few", n_fields=1, size=512, boost=1.0)


def test_table4_panels_split_keys_into_task_and_backbone():
    report = pd.DataFrame({
        "published": [0.1, 49.19, 0.76, 1.0], "uncertainty": [None, 0.06, None, None],
        "reproduced": [0.2, None, None, 5.0], "reproduced_uncertainty": [0.01, None, None, 1.0],
        "evidence": ["analogue", None, None, "analogue"]},
        index=["lastufka2024.table4.mightee_fr_error_resnet50_mgcls",
               "lastufka2024.table4.mgcls_mse_resnet50_mgcls",
               "lastufka2024.table4.rgd_accuracy_dino_resnet50_imagenet",
               "lastufka2024.fig5.count_mse_resnet50"])
    cells = lastufka2024.table4_panels(report).set_index(["task", "metric", "backbone"])
    assert len(cells) == 3  # the Fig. 5 row is not a Table 4 cell
    fr = cells.loc[("MIGHTEE_FR", "error", "resnet50_mgcls")]  # not "mightee_mse"-like prefixes
    assert fr["reproduced"] == 0.2 and bool(fr["lower_better"])
    assert np.isnan(cells.loc[("MGCLS source count", "MSE", "resnet50_mgcls"), "reproduced"])
    assert not cells.loc[("RGD (fine-tuned)", "accuracy", "dino_resnet50_imagenet"),
                         "lower_better"]


def test_crop_sources_are_the_ones_the_count_probe_counts(tmp_path):
    crops = lastufka2024.mgcls_crops([3], 768, tmp_path, "crops")
    rows = np.arange(len(crops))
    found = lastufka2024.crop_sources(crops, rows)
    assert [len(f) for f in found] == crops.index["n_sources"].tolist()
    side = crops.tile_size
    assert all(((f >= -0.5) & (f < side - 0.5)).all() for f in found if len(f))


def test_fig11_keeps_the_best_run_and_records_its_recalls():
    from types import SimpleNamespace

    y = np.array([0, 0, 1, 1, 2, 2, 3, 3])
    good = SimpleNamespace(scores={"accuracy": 0.75},
                           predictions=np.array([0, 0, 1, 1, 2, 0, 3, 1]))
    bad = SimpleNamespace(scores={"accuracy": 0.25}, predictions=np.zeros(8, int))
    names = ("FRI", "FRII", "Compact", "Bent")
    result = lastufka2024.fig11_result({"ResNet50 (DINO)": [bad, good],
                                        "ResNet50 (untrained)": [bad]}, y, names)
    rec = result.records
    assert rec["lastufka2024.fig11.recall_fri_resnet50_mgcls"] == 1.0
    assert rec["lastufka2024.fig11.recall_compact_resnet50_mgcls"] == 0.5
    assert rec["lastufka2024.fig11.recall_bent_resnet50_mgcls"] == 0.5
    assert not any("untrained" in k for k in rec if k.startswith("lastufka2024."))
    assert rec["extra.finetune.rgd_recall.resnet50_untrained.fri"] == 1.0
    matrix = result.details["matrices"]["ResNet50 (DINO)"]
    assert matrix.loc["Compact", "FRI"] == 50.0 and np.allclose(matrix.sum(axis=1), 100)
    assert result.table.loc["ResNet50 (DINO)", "runs"] == 2
    keys = [k for k in rec if k.startswith("lastufka2024.")]
    assert set(keys) <= KEYS


def test_other_backbones_record_their_table4_row_or_say_why_they_are_absent(tmp_path,
                                                                             monkeypatch):
    monkeypatch.setenv("RADIOLIB_DATA", str(tmp_path))  # an empty data folder
    models, absent = lastufka2024.other_backbones(["DINO ImageNet ResNet50"])
    assert models == {} and "radiolib fetch dino_resnet50_imagenet" in \
        absent["DINO ImageNet ResNet50"]
    assert set(lastufka2024.UNLOADED_BACKBONES) <= set(absent)  # Table 4 rows with no loader
    with pytest.raises(Exception, match="unknown backbone"):
        lastufka2024.other_backbones(["DeCALS BYOL"])  # a row with no file behind it
    rng = np.random.default_rng(1)
    data, features = {}, {}
    for split, n in (("train", 80), ("test", 40)):
        y = np.repeat([0, 1], n // 2)
        data["MiraBest", split] = np.zeros((n, 1, 4, 4)), y
        features["DINO ImageNet ResNet50", "MiraBest", split] = np.c_[y + rng.normal(0, .1, n)]
    paper = lastufka2024.paper_probe_result(features, data, n_runs=1)
    assert paper.records["lastufka2024.table4.mirabest_error_dino_resnet50_imagenet"] == 0
    assert paper.records["lastufka2024.table4.mirabest_f1_dino_resnet50_imagenet"] == 1
    assert {k for k in paper.records if k.startswith("lastufka2024.")} <= KEYS


def test_best_runs_keep_the_most_accurate_run_of_each_setting():
    from types import SimpleNamespace

    def run(acc):
        return SimpleNamespace(scores={"accuracy": acc, "balanced_accuracy": acc / 2})

    table = lastufka2024.best_runs({("a", 2): [run(0.5), run(0.7), run(0.6)], ("b", 0): [run(0.4)]})
    assert table.to_dict("records") == [
        {"model": "a", "n_blocks": 2, "runs": 3, "accuracy": 0.7, "balanced_accuracy": 0.35},
        {"model": "b", "n_blocks": 0, "runs": 1, "accuracy": 0.4, "balanced_accuracy": 0.2}]


def test_fig6_cohesion_reports_the_groups_of_each_colouring():
    rng = np.random.default_rng(0)
    x = np.r_[rng.normal(size=(80, 6)), rng.normal(size=(40, 6)) + 5]
    colourings = {"data set": np.r_[["MGCLS-like"] * 80, ["MIGHTEE-like"] * 40],
                  "DQF": rng.choice(["DQF 0", "DQF 1"], 120), "pointing": np.arange(120)}
    table = lastufka2024.fig6_cohesion(x, colourings, k=5)
    assert set(table.index.get_level_values("colouring")) == {"data set", "DQF"}
    assert table.loc[("data set", "MIGHTEE-like"), "same-group neighbours"] > 0.9
    assert table.loc[("DQF", "DQF 0"), "times chance"] < 1.5


def test_unloaded_backbones_are_table4_rows_with_a_reason():
    keys = set(load_published()["key"])
    for name, (suffix, why) in lastufka2024.UNLOADED_BACKBONES.items():
        assert name not in lastufka2024.OTHER_BACKBONES and why.startswith("no public weights")
        assert f"lastufka2024.table4.mirabest_error_{suffix}" in keys  # a row of Table 4


def test_every_other_backbone_loads_by_a_name_load_backbone_knows():
    from radiolib.evaluate.backbones import PUBLISHED
    from radiolib.evaluate.released import RELEASED_BACKBONES
    from radiolib.models.imagenet import NATURAL_IMAGE_BACKBONES
    keys = set(load_published()["key"])
    for label, (name, row) in lastufka2024.OTHER_BACKBONES.items():
        assert name in {**RELEASED_BACKBONES, **NATURAL_IMAGE_BACKBONES, **PUBLISHED}
        assert f"lastufka2024.table4.mirabest_error_{row}" in keys
        assert lastufka2024.paper_row(label) == row
    assert lastufka2024.paper_rows(["RGZ BYOL", "DINOv2 ViT-G/14", "ResNet50 (untrained)"],
                                   lastufka2024.TABLE5_MODELS) == {"RGZ BYOL": "rgz_byol"}


def test_other_features_give_each_model_its_side_and_channels():
    from radiolib.models import FeatureExtractor

    class Seen(torch.nn.Module):  # records the input it is given
        def __init__(self):
            super().__init__()
            self.w = torch.nn.Parameter(torch.zeros(1))  # gives the model a device

        def forward(self, x):
            self.shape = tuple(x.shape)
            return x.mean(dim=(2, 3))

    models = {"three": FeatureExtractor(Seen(), 3, in_chans=3, image_size=16),
              "five": FeatureExtractor(Seen(), 5, in_chans=5, image_size=None)}
    x = torch.rand(4, 1, 32, 32)
    out = lastufka2024.other_features(models, x, batch_size=4)
    assert models["three"].backbone.shape == (4, 3, 16, 16)  # resized to its training side
    assert models["five"].backbone.shape == (4, 5, 32, 32)  # side unknown: as given
    np.testing.assert_allclose(out["five"], np.repeat(x.mean(dim=(2, 3)).numpy(), 5, axis=1),
                               rtol=1e-6)
    assert lastufka2024.with_others({"a": 1}, {"RGZ BYOL": 2, "DINOv2 ViT-G/14": 3},
                                    lastufka2024.TABLE5_MODELS) == {"a": 1, "RGZ BYOL": 2}


def test_other_backbones_get_their_count_rgd_and_fig11_cells():
    from types import SimpleNamespace
    rng = np.random.default_rng(0)
    counts = rng.integers(0, 30, 120).astype(float)
    feats = {"RGZ BYOL": np.c_[counts + rng.normal(0, 1, 120), rng.normal(size=(120, 3))]}
    result = lastufka2024.paper_count_result(feats, counts, n_runs=1, dataset="MIGHTEE")
    assert "lastufka2024.table4.mightee_mse_rgz_byol" in result.records
    tuned = pd.DataFrame({"model": ["RGZ BYOL", "RGZ BYOL", "DINOv2 ViT-G/14"],
                          "n_blocks": [0, 5, 5], "accuracy": [0.5, 0.75, 0.9]})
    rec = lastufka2024.finetune_records(tuned, "RGD").records
    assert rec["lastufka2024.table4.rgd_accuracy_rgz_byol"] == 0.75  # the deepest setting
    assert not any(k.endswith("dinov2_vitg14") for k in rec)  # no RGD row in Table 4
    y = np.array([0, 1, 2, 3])
    run = SimpleNamespace(scores={"accuracy": 1.0}, predictions=y)
    fig11 = lastufka2024.fig11_result({"RGZ BYOL": [run]}, y, ["FRI", "FRII", "Compact", "Bent"])
    assert fig11.records["lastufka2024.fig11.recall_bent_rgz_byol"] == 1.0


def test_quality_bar_compares_each_table4_miraBest_error_with_its_published_cell():
    table = pd.DataFrame({"dataset": ["MiraBest"] * 3 + ["MIGHTEE_FR"],
                          "model": ["ResNet50 (DINO)", "RGZ BYOL", "ResNet50 (untrained)",
                                    "RGZ BYOL"],
                          "error": [0.125, 0.20, 0.3, 0.1], "error_std": [0.01, 0.0, 0.0, 0.0],
                          "f1": [0.9] * 4, "f1_std": [0.0] * 4})
    bar = lastufka2024.quality_bar(PaperResult(table, {}))
    assert list(bar.index) == ["ResNet50 (DINO)", "RGZ BYOL"]  # untrained: no Table 4 row
    published = load_published().set_index("key")["value"]
    assert bar.loc["ResNet50 (DINO)", "published"] == \
        published["lastufka2024.table4.mirabest_error_resnet50_mgcls"]
    assert bar.loc["ResNet50 (DINO)", "within"]  # 0.125 vs 0.10: inside 0.03
    assert not bar.loc["RGZ BYOL", "within"]  # 0.20 vs 0.11: outside
    assert bar["allowed"].min() >= lastufka2024.RELEASED_BAR


def test_others_cells_on_real_data_are_recorded_as_released_weights(tmp_path):
    records = {"lastufka2024.table4.mirabest_error_rgz_byol": 0.1,
               "lastufka2024.table4.mightee_fr_error_rgz_byol": 0.3,
               "lastufka2024.table4.mirabest_error_resnet50_mgcls": 0.2,
               "lastufka2024.table5.mirabest_f1_gz2_moco_ft3": 0.9,
               "extra.paper_probe.mirabest_error.rgz_byol": 0.1}
    evidence = lastufka2024.others_evidence(records, simulated=["mightee_fr"])
    assert evidence == {"lastufka2024.table4.mirabest_error_rgz_byol": "released-weights",
                        "lastufka2024.table5.mirabest_f1_gz2_moco_ft3": "released-weights"}
    store = ResultsStore(tmp_path, "paper", "06_radio_galaxy_probes")
    store.record_result(PaperResult(pd.DataFrame(), records, evidence_by_key=evidence))
    assert store.results["lastufka2024.table4.mirabest_error_rgz_byol"]["evidence"] == \
        "released-weights"
    assert store.results["lastufka2024.table4.mightee_fr_error_rgz_byol"]["evidence"] == \
        "analogue"
