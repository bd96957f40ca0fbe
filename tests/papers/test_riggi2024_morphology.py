"""Riggi et al. Task I (Sect. 3): simulated RGZ-like classes and the records of Figs 5-7."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from scipy import ndimage

from radiolib.evaluate import Draw, balanced_draws
from radiolib.papers import riggi2024_morphology as morph
from radiolib.published import published_rows
from radiolib.sky import RGZ_CLASSES, plan_field, simulate

KEYS = {row["key"] for row in published_rows()}


def _summary(value=0.8, err=0.01):
    idx = [*RGZ_CLASSES, "all"]
    return pd.DataFrame({"f1": value, "f1_err": err}, index=pd.Index(idx, name="class"))


def test_fig5_records_every_published_row_and_puts_others_under_extra():
    summaries = {b: _summary() for b in morph.BACKBONES} | {"random": _summary(0.5)}
    r = morph.fig5_result(summaries)
    published = [k for k in r.records if not k.startswith("extra.")]
    assert len(published) == 6 * 7 and set(published) <= KEYS
    fig5 = {k for k in KEYS if k.startswith("riggi2024.fig5.f1_")}
    assert fig5 == set(published)  # every F1 row of Fig. 5, nothing else
    assert r.records["riggi2024.fig5.f1_all_imagenet_frozen"] == pytest.approx(80)
    assert r.uncertainties["riggi2024.fig5.f1_all_imagenet_frozen"] == pytest.approx(1)
    assert r.records["extra.riggi2024_morphology.fig5.f1_all_random_frozen"] == pytest.approx(50)


def test_fig6_rates_are_the_off_diagonal_share_of_each_true_class():
    counts = np.eye(6, dtype=int) * 80
    counts[3, 0] = 20  # 2C-2P: 20 of 100 put in 1C-1P
    r = morph.fig6_result(counts, RGZ_CLASSES, backbone="hulk_smgps")
    assert set(r.records) <= KEYS and len(r.records) == 3
    assert r.records["riggi2024.fig6.misclass_rate_2c_2p"] == pytest.approx(20)
    assert r.records["riggi2024.fig6.misclass_rate_3c_3p"] == pytest.approx(0)


def test_fig7_takes_the_smallest_and_largest_fractions():
    curve = pd.DataFrame([{"start": s, "fraction": f, "draw": d, "n_train": 60 * f,
                           "f1": (0.3 if s == "scratch" else 0.6) + 0.3 * f + 0.01 * d}
                          for s in ("scratch", "smart_hulk_smgps") for f in (0.05, 0.5, 1.0)
                          for d in range(3)])
    r = morph.fig7_result(curve)
    pub = {k: v for k, v in r.records.items() if not k.startswith("extra.")}
    assert set(pub) == {k for k in KEYS if k.startswith("riggi2024.fig7.f1_")}
    assert pub["riggi2024.fig7.f1_scratch_low_labels"] == pytest.approx(100 * (0.3 + 0.015 + 0.01))
    assert pub["riggi2024.fig7.f1_smart_hulk_smgps_full"] == pytest.approx(100 * 0.91)
    assert r.uncertainties["riggi2024.fig7.f1_scratch_full"] == pytest.approx(
        100 * 0.01 / np.sqrt(3))


def test_fraction_sample_follows_the_paper_mix():
    labels = np.repeat(np.arange(6), [5000, 3000, 400, 2000, 300, 500])
    idx, table = morph.fraction_sample(labels, RGZ_CLASSES)
    kept = np.bincount(labels[idx], minlength=6)
    assert np.allclose(100 * kept / kept.sum(), list(morph.FRACTIONS.values()), atol=0.2)
    assert len(np.unique(idx)) == len(idx)
    assert table.loc["1C-1P", "available"] == 5000


def test_balanced_size_shrinks_to_the_rarest_class():
    labels = np.repeat([0, 1], [100, 8])
    assert morph.balanced_size(labels, 10, 6) == (5, 3)
    assert morph.balanced_size(np.repeat([0, 1], 20), 10, 6) == (10, 6)
    with pytest.raises(ValueError, match="rarest class"):
        morph.balanced_size(np.repeat([0, 1], [10, 1]), 10, 6)


def test_simulated_cp_classes_match_islands_and_peaks_of_the_truth_masks(tmp_path):
    """Components: 8-connected islands of the segmap mask; peaks: local maxima of the noise-free
    model inside it; both capped at 3. Checked on isolated sources (no other box overlaps)."""
    field = simulate("first", size=1024, seed=3, out_dir=tmp_path)
    plan = plan_field("first", size=1024, seed=3)
    stamps = {s.id: s for s in plan.stamps}
    cat = field.catalogue
    src = cat[(cat["kind"] == "source") & (cat["rgz_class"] != "") & (cat["snr"] >= 10)]
    boxes = cat[["x0", "y0", "x1", "y1"]].to_numpy()
    beam_px = 5.4 / 1.8
    min_area = 0.25 * np.pi * beam_px**2 / (4 * np.log(2))
    checked, classes_checked = 0, set()
    for _, row in src.iterrows():
        x0, y0, x1, y1 = (int(row[c]) for c in ("x0", "y0", "x1", "y1"))
        overlap = ((boxes[:, 0] < x1) & (boxes[:, 2] > x0) & (boxes[:, 1] < y1)
                   & (boxes[:, 3] > y0))
        if overlap.sum() > 1 or int(row["id"]) not in stamps:
            continue
        _, mask = field.mask(int(row["id"]))
        islands, n = ndimage.label(mask, structure=np.ones((3, 3)))
        areas = np.bincount(islands.ravel())[1:]
        n_c = int((areas >= min_area).sum())
        stamp, sx0, sy0 = stamps[int(row["id"])].render()
        model = stamp[y0 - sy0:y1 - sy0, x0 - sx0:x1 - sx0]
        size = max(3, int(np.ceil(beam_px)) | 1)
        peaks = (model == ndimage.maximum_filter(model, size=size)) & mask
        n_p = max(1, int(peaks.sum()))
        assert row["rgz_class"] == f"{min(n_c, 3)}C-{min(n_p, 3)}P", row.to_dict()
        checked += 1
        classes_checked.add(row["rgz_class"])
    assert checked >= 10
    assert len(classes_checked) >= 3, classes_checked  # multi-component classes too


class _MeanExtractor:
    """Stands in for a frozen backbone: features are the channel means (rotation-invariant)."""

    def embed(self, x, batch_size=256):
        return x.mean(dim=(2, 3))


def test_frozen_runs_score_separable_images_near_perfect_and_keep_view0_features():
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(3), 20)
    images = rng.normal(0, 0.05, (60, 3, 8, 8)).astype(np.float32)
    images[np.arange(60), labels] += 1.0  # class k: channel k bright
    draws = balanced_draws(labels, 12, 8, n_draws=2, seed=1)
    results, feats = morph.frozen_runs({"mean": _MeanExtractor()}, images, labels, draws,
                                       ["a", "b", "c"], views=4, epochs=200,
                                       batch_size=8)
    assert results["mean"].summary.loc["all", "f1"] > 0.95
    assert feats["mean"].shape == (60, 3)
    np.testing.assert_allclose(feats["mean"], images.mean(axis=(2, 3)), atol=1e-6)
    shuffled = rng.permutation(labels)
    chance, _ = morph.frozen_runs({"mean": _MeanExtractor()}, images, shuffled,
                                  balanced_draws(shuffled, 12, 8, n_draws=2, seed=1),
                                  ["a", "b", "c"], views=4, epochs=200,
                                       batch_size=8)
    assert chance["mean"].summary.loc["all", "f1"] < 0.7


def test_draw_subset_reindexes_into_the_used_images():
    draws = [Draw(np.array([2, 9]), np.array([4])), Draw(np.array([4, 11]), np.array([2]))]
    used, local = morph.draw_subset(draws)
    assert used.tolist() == [2, 4, 9, 11]
    for d, loc in zip(draws, local, strict=True):
        assert used[loc.train].tolist() == d.train.tolist()
        assert used[loc.test].tolist() == d.test.tolist()


def test_best_backbone_is_the_highest_overall_f1_among_the_ssl_models():
    summaries = {b: _summary(0.5 + 0.01 * i) for i, b in enumerate(morph.BACKBONES)}
    summaries["random"] = _summary(0.99)  # baselines are never "best"
    assert morph.best_backbone(summaries) == "banner_emupilot"
    with pytest.raises(ValueError, match="none of"):
        morph.best_backbone({"random": _summary()})


def test_protocol_and_mix_records_are_published_or_extra():
    setup = morph.protocol_result(n_draws=5, n_train=1000, n_test=600, head_epochs=30,
                                  finetune_epochs=150)
    assert set(setup.records) <= KEYS and setup.evidence == "like-for-like"
    assert (setup.table["this run"] == setup.table["paper"]).all()  # the paper's own protocol
    _, sample = morph.fraction_sample(np.repeat(np.arange(6), 500), RGZ_CLASSES)
    mix = morph.mix_result(sample)
    assert all(k.startswith("extra.riggi2024_morphology.") for k in mix.records)
    assert mix.records["extra.riggi2024_morphology.n_available_2c_3p"] == 500


def test_feature_map_pca_and_bad_method():
    x = np.random.default_rng(0).normal(size=(20, 5))
    assert morph.feature_map(x, method="pca").shape == (20, 2)
    with pytest.raises(ValueError, match="umap' or 'pca"):
        morph.feature_map(x, method="tsne")


def test_first_fields_hold_every_class_and_enough_compact_doubles():
    """The FIRST preset's FRII sizes start at one beam, for more compact doubles (1C-2P, RGZ:
    20.9 %, 1.2 times 2C-2P): with 10" sizes, 1C-2P / 2C-2P was 0.22 on these fields."""
    cats = [plan_field("first", size=2048, seed=s).catalogue for s in range(4)]
    cat = pd.concat([c[(c["rgz_class"] != "") & (c["snr"] >= 5) & (c["n_islands"] > 0)]
                     for c in cats])
    counts = cat["rgz_class"].value_counts().reindex(RGZ_CLASSES, fill_value=0)
    assert (counts > 0).all(), counts.to_dict()
    assert counts["1C-2P"] / counts["2C-2P"] >= 0.28, counts.to_dict()


def test_rgz_dr1_is_reported_absent_then_read_when_present(tmp_path):
    from PIL import Image

    assert morph.absent_real_sets(["MiraBest", "RGZ_DR1"], data_dir=tmp_path).keys() == \
        {"RGZ_DR1"}
    with pytest.raises(ValueError, match="unknown real sets"):
        morph.absent_real_sets(["RGZ"])
    root = tmp_path / "rgz_dr1"
    (root / "images").mkdir(parents=True)
    rng = np.random.default_rng(0)
    for i in range(4):
        Image.fromarray(rng.integers(0, 255, (40, 40), dtype=np.uint8)).save(
            root / "images" / f"{i}.png")
    pd.DataFrame({"image": [f"{i}.png" for i in range(4)],
                  "class": ["1C-1P", "2C-2P", "3C-3P", "1C-1P"]}).to_csv(
        root / "rgz_dr1_catalogue.csv", index=False)
    assert morph.absent_real_sets(list(morph.REAL_SETS), data_dir=tmp_path) == {}
    x, y, names = morph.real_labelled_set("RGZ_DR1", image_size=16, data_dir=tmp_path)
    assert x.shape == (4, 3, 16, 16) and names == RGZ_CLASSES and y.tolist() == [0, 3, 5, 0]
    assert 0 <= x.min() and x.max() <= 1


def test_figure_keys_are_published_rows():
    assert set(morph.FIGURES.values()) <= KEYS


def test_cutouts_of_a_selection_are_those_of_the_full_set(tmp_path):
    """Selecting sources before cutting (the paper's sizes) gives the same images and labels
    as cutting every source, and the catalogue's labels are its classes."""
    images, labels, meta = morph.rgz_like_sources(2, size=1024, image_size=24, seed=7,
                                                  work=tmp_path / "all")
    fields, cat = morph.rgz_like_catalogue(2, size=1024, seed=7, work=tmp_path / "sel")
    assert [RGZ_CLASSES[k] for k in cat["label"]] == cat["class"].tolist()
    pick = cat.iloc[::3]
    tiles, rows = morph.rgz_like_cutouts(fields, pick, image_size=24, work=tmp_path / "sel")
    assert len(rows) == len(tiles) and len(rows) >= 0.9 * len(pick)
    where = {key: i for i, key in enumerate(zip(meta["field"], meta["source"], strict=True))}
    idx = [where[key] for key in zip(rows["field"], rows["source"], strict=True)]
    np.testing.assert_array_equal(rows["label"].to_numpy(), labels[idx])
    np.testing.assert_allclose(morph.stacks(tiles, 24), images[idx])
    with pytest.raises(ValueError, match="no sources to cut out"):
        morph.rgz_like_cutouts(fields, cat.iloc[:0], image_size=24, work=tmp_path / "sel")


def test_signal_result_holds_out_whole_fields_and_orders_only_separated_rows():
    rng = np.random.default_rng(0)
    n = 600
    labels = rng.integers(0, 3, n)
    fields = np.array([f"first_{i % 6}" for i in range(n)])
    informative = rng.normal(size=(n, 8)) + 3.0 * np.eye(3, 8)[labels]  # classes apart
    features = {"hulk_smgps": informative, "banner_smgps": rng.normal(size=(n, 8)),
                "random": rng.normal(size=(n, 8))}
    result = morph.signal_result(features, labels, fields, n_boot=200)
    assert result.details["n_fit"] + result.details["n_test"] == n
    ba = result.table["balanced_accuracy"]
    assert ba["hulk_smgps"] > 0.9 and abs(ba["random"] - 1 / 3) < 0.1
    assert "hulk_smgps beats random at 95 %" in result.text
    banner = [line for line in result.text.splitlines() if "banner_smgps" in line]
    assert len(banner) == 1 and "indistinguishable at 95 %" in banner[0]
    key = "extra.riggi2024_morphology.signal.balanced_accuracy_hulk_smgps"
    assert result.records[key] == pytest.approx(ba["hulk_smgps"])
    assert 0 < result.uncertainties[key] < 0.1


def test_view0_features_in_chunks_equal_one_pass():
    from radiolib.evaluate import load_backbone

    model = load_backbone("random:resnet18", in_chans=3, image_size=16, seed=0)
    tiles = np.random.default_rng(0).random((5, 24, 24)).astype(np.float32)
    chunked = morph.view0_features({"m": model}, tiles, 16, chunk=2)["m"]
    whole = model.embed(torch.from_numpy(morph.stacks(tiles, 16))).numpy()
    assert chunked.shape == (5, model.embed_dim)
    np.testing.assert_allclose(chunked, whole, rtol=1e-5, atol=1e-6)


def test_trained_size_says_which_notebook_to_run_without_its_runs():
    from radiolib.errors import DataError

    with pytest.raises(DataError, match="03_simclr_pretraining"):
        morph.trained_size({})
