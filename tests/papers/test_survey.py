from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from radiolib.io import Image
from radiolib.papers import survey
from radiolib.sky import FRAME_LABELS, simulate
from radiolib.tiling import n_hulk_tiles, n_mgcls_tiles


@pytest.fixture(scope="module")
def riggi_fields(tmp_path_factory):
    out = tmp_path_factory.mktemp("riggi")
    return [simulate("emupilot", size=768, seed=3, out_dir=out, dqf=1),
            simulate("smgps", size=640, seed=4, out_dir=out, dqf=2)]


@pytest.fixture(scope="module")
def hulk(riggi_fields, tmp_path_factory):
    return survey.tile_simulated(riggi_fields, "hulk", out_dir=tmp_path_factory.mktemp("h") / "t")


@pytest.fixture(scope="module")
def banner(riggi_fields, tmp_path_factory):
    return survey.tile_simulated(riggi_fields, "banner", out_dir=tmp_path_factory.mktemp("b") / "t")


@pytest.fixture(scope="module")
def mgcls(tmp_path_factory):
    out = tmp_path_factory.mktemp("mgcls")
    field = simulate("mgcls", size=2048, seed=5, out_dir=out, dqf=0)
    return field, survey.tile_simulated([field], "mgcls", out_dir=out / "crops")


def test_banner_sources_keep_bright_detected_sources(riggi_fields):
    cat = riggi_fields[0].catalogue
    rows = survey.banner_sources(cat, snr_min=10.0)
    assert len(rows) > 0 and (rows["kind"] == "source").all()
    assert (rows["snr"] >= 10).all() and (rows["n_islands"] > 0).all()
    assert len(survey.banner_sources(cat, snr_min=50.0)) < len(rows)
    with pytest.raises(ValueError, match="snr_min"):
        survey.banner_sources(cat, snr_min=-1)


def test_hulk_tiles_carry_frame_labels(hulk, riggi_fields):
    assert list(hulk.fields) == ["emupilot_3", "smgps_4"]
    expected = sum(n_hulk_tiles(f.shape) for f in riggi_fields)
    assert len(hulk) + hulk.n_skipped == expected
    assert set(hulk.index["primary"]) <= set(FRAME_LABELS)
    for labels, primary in zip(hulk.index["labels"], hulk.index["primary"], strict=True):
        assert primary in labels.split("|")


def test_riggi_table1_counts_and_sizes(hulk, banner):
    table = survey.riggi_table1(hulk, banner)
    assert list(table.index) == ["emupilot_3", "smgps_4", "total"]
    assert "n_smart_hulk" not in table  # smart_hulk is a model, not a data set (Riggi Sect. 2.4)
    assert table.loc["total", "n_hulk"] == len(hulk)
    assert table.loc["total", "n_banner"] == len(banner)
    assert table.loc["total", "n_banner"] == table["n_banner"].iloc[:-1].sum()
    assert (table["size_min"] <= table["size_median"]).all()
    assert (table["size_median"] <= table["size_max"]).all()
    sizes = banner.index["source_extent_pix"] * 2.0  # emupilot: 2 arcsec per pixel
    emu = banner.index["field"] == "emupilot_3"
    assert table.loc["emupilot_3", "size_median"] == pytest.approx(np.median(sizes[emu]))


def test_source_column_maps_banner_tiles_to_their_class(banner, riggi_fields):
    classes = survey.source_column(banner, riggi_fields)
    assert len(classes) == len(banner) and (classes != "").all()
    first = banner.index.iloc[0]
    field = riggi_fields[0] if first["field"] == "emupilot_3" else riggi_fields[1]
    row = field.catalogue.loc[field.catalogue["id"].astype(str) == str(first["source"])]
    assert classes.iloc[0] == row["class"].iloc[0]


def test_label_fractions(hulk):
    fractions = survey.label_fractions(hulk)
    assert list(fractions.index) == list(FRAME_LABELS)
    assert list(fractions.columns) == ["emupilot_3", "smgps_4", "all"]
    assert ((fractions >= 0) & (fractions <= 1)).all().all()
    labels = hulk.index["labels"].str.split("|")
    assert fractions.loc["COMPACT", "all"] == pytest.approx(
        np.mean(["COMPACT" in s for s in labels]))
    primary = survey.label_fractions(hulk, column="primary")
    assert primary["all"].sum() == pytest.approx(1.0)


def test_mgcls_table_and_geometry(mgcls):
    field, crops = mgcls
    table = survey.mgcls_table(crops)
    row = table.loc["mgcls_5"]
    assert row["n_formula"] == n_mgcls_tiles(field.shape)
    assert row["n_written"] + row["n_skipped"] == row["n_formula"]
    assert row["n_written"] == len(crops) == survey.pointing_crops("mgcls", image_size=2048)
    assert row["sources_per_crop"] == pytest.approx(crops.index["n_sources"].mean())
    assert (crops.index["nan_fraction"] == 0).all()


def test_pointing_crops_grow_with_the_image_until_the_beam_is_covered():
    # the PB = 0.2 cut of the MGCLS preset is a disc of 4084 px: 5120 and 6144 px images cover it
    counts = [survey.pointing_crops("mgcls", image_size=n) for n in (512, 1024, 5120, 6144)]
    assert counts[0] == n_mgcls_tiles((512, 512)) and counts[1] == n_mgcls_tiles((1024, 1024))
    assert counts[2] == counts[3] > counts[1]
    with pytest.raises(ValueError, match="mosaic"):
        survey.pointing_crops("emupilot")


def test_centre_and_edge(mgcls):
    _, crops = mgcls
    centre, edge = survey.centre_and_edge(crops, "mgcls_5")
    boxes = crops.boxes.astype(float)
    r = np.hypot((boxes[:, 0] + boxes[:, 2]) / 2 - 1024, (boxes[:, 1] + boxes[:, 3]) / 2 - 1024)
    assert r[centre] == r.min() and r[edge] == r.max()
    with pytest.raises(KeyError, match="no tile"):
        survey.centre_and_edge(crops, "nope")


def test_brightest_box_lies_inside_the_image(riggi_fields):
    field = riggi_fields[0]
    box = survey.brightest_box(field.catalogue, 200, field.shape)
    assert box[2] - box[0] == box[3] - box[1] == 200
    assert box[0] >= 0 and box[1] >= 0 and box[2] <= field.shape[1] and box[3] <= field.shape[0]


def test_class_examples_one_per_class(riggi_fields):
    cat = riggi_fields[1].catalogue
    examples = survey.class_examples(cat, max_size=100, shape=(640, 640), margin=20)
    assert examples["class"].is_unique and len(examples) > 1
    assert (np.maximum(examples["x1"] - examples["x0"], examples["y1"] - examples["y0"])
            <= 100).all()
    assert (examples[["x0", "y0"]] >= 20).all().all()
    assert (examples[["x1", "y1"]] <= 620).all().all()


def test_survey_hulk_counts():
    table = survey.survey_hulk_counts({"a": (1.0, 2.0)})
    assert table.loc["a", "side_pix"] == 1800
    assert table.loc["a", "n_hulk"] == n_hulk_tiles((1800, 1800))


def test_centre_crop_pixel_snr_and_realism_table():
    rng = np.random.default_rng(0)
    data = rng.normal(0, 1e-4, (600, 500)).astype(np.float32)
    image = Image(data=data, header=None, beam=None, pixel_scale=1.5)
    crop = survey.centre_crop(image, 256)
    assert crop.shape == (256, 256) and crop.pixel_scale == 1.5
    np.testing.assert_array_equal(crop.data, data[172:428, 122:378])
    assert survey.centre_crop(image, 1000).shape == (600, 500)
    snr = survey.pixel_snr(data)
    assert np.std(snr) == pytest.approx(1.0, abs=0.02)
    table = survey.realism_table({"noise": image})
    assert isinstance(table, pd.DataFrame) and list(table.index) == ["noise"]
    assert table.loc["noise", "neg_pct"] == pytest.approx(0.135, abs=0.05)
    assert table.loc["noise", "rms_ujy"] == pytest.approx(100, rel=0.05)


def test_pick_by_label():
    labels = pd.Series(["a", "b", "a", "c", "a", "b"])
    idx, picked = survey.pick_by_label(labels, ["a", "b", "z"], 2, seed=1)
    assert picked == ["a", "a", "b", "b"]
    assert all(labels.iloc[i] == lab for i, lab in zip(idx, picked, strict=True))
    assert len(set(idx.tolist())) == 4
    again, _ = survey.pick_by_label(labels, ["a", "b", "z"], 2, seed=1)
    np.testing.assert_array_equal(idx, again)


def test_mgcls_subset_keeps_every_field(hulk):
    # hulk holds two fields; a subset of any size has a crop of each (Lastufka's MGCLS_5k)
    fields = hulk.index["field"].astype(str).to_numpy()
    assert (survey.mgcls_subset(hulk, 1.0) == np.arange(len(hulk))).all()
    tiny = survey.mgcls_subset(hulk, 1e-6, seed=1)
    assert len(tiny) == 2 and set(fields[tiny]) == set(fields)
    part = survey.mgcls_subset(hulk, 0.25, seed=2)
    assert len(part) == round(0.25 * len(hulk)) and len(set(part)) == len(part)
    assert set(fields[part]) == set(fields) and (np.diff(part) > 0).all()
    assert not (part == survey.mgcls_subset(hulk, 0.25, seed=3)).all()
    with pytest.raises(ValueError, match="fraction"):
        survey.mgcls_subset(hulk, 0.0)


REAL = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "real_fields"


def test_simulated_variation_and_table():
    sim = survey.simulated_variation("mgcls", range(3), size=1024, crop=256)
    counts, rms = sim
    assert len(counts) == len(rms) == 3 and len(set(rms)) == 3
    assert all(c.counts.size == 16 for c in counts)  # a 1024² square lies inside PB = 0.2
    table = survey.variation_table({"sim": sim})
    row = table.loc["sim"]
    assert row["pointings"] == 3 and row["crops"] == 48
    pooled = np.concatenate([c.counts for c in counts])
    assert row["mean"] == pytest.approx(pooled.mean())
    assert row["var/mean"] == pytest.approx(pooled.var(ddof=1) / pooled.mean())
    assert row["rms max/min"] == pytest.approx(max(rms) / min(rms))


def test_real_variation_measures_the_shipped_fields():
    if not (REAL / "catalog_shimwell_reduced.srl.fits").exists():
        pytest.skip(f"{REAL} is not available")
    real = survey.real_variation(REAL)
    counts, rms = real["LoTSS DR1 (catalogue)"]
    assert len(counts) == 2 and all(c.counts.size > 500 for c in counts)
    assert all(60e-6 < r < 100e-6 for r in rms)  # LoTSS DR1: ~70 µJy/beam
    assert 5 < np.concatenate([c.counts for c in counts]).mean() < 12  # ~770 deg⁻² x 0.0114
    counts, rms = real["Scorpio ATCA (peak finder)"]
    assert len(counts) == 3 and all(c.counts.size == 16 for c in counts)
    table = survey.variation_table(real)
    assert (table["var/mean"] > 1).all()  # neither real survey is Poisson scatter alone


def test_reuse_or_make_remakes_only_when_what_made_the_tiles_changes(tmp_path, monkeypatch):
    from astropy.io import fits

    from radiolib.papers import survey as sv
    from radiolib.tiling import tile_fields

    field = tmp_path / "f.fits"
    fits.writeto(field, np.random.default_rng(0).normal(size=(512, 512)).astype(np.float32))
    calls = []

    def make():
        calls.append(1)
        return tile_fields([field], "mgcls", out_dir=tmp_path / "crops", overwrite=True)

    first = sv.reuse_or_make(tmp_path / "crops", {"seeds": [0]}, make)
    again = sv.reuse_or_make(tmp_path / "crops", {"seeds": [0]}, make)
    assert len(calls) == 1 and len(again) == len(first)
    sv.reuse_or_make(tmp_path / "crops", {"seeds": [1]}, make)  # other inputs
    assert len(calls) == 2
    monkeypatch.setattr(sv, "sky_code", lambda: "changed")  # other simulator code
    sv.reuse_or_make(tmp_path / "crops", {"seeds": [1]}, make)
    assert len(calls) == 3

    def broken():
        raise RuntimeError("interrupted")

    with pytest.raises(RuntimeError):
        sv.reuse_or_make(tmp_path / "crops", {"seeds": [2]}, broken)
    assert not (tmp_path / "crops.json").exists()  # never taken for a finished set
    sv.reuse_or_make(tmp_path / "crops", {"seeds": [1]}, make)
    assert len(calls) == 4
