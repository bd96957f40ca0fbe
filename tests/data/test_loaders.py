import numpy as np
import pandas as pd
import pytest

from radiolib.data import (
    LabelledImages,
    load_first_fits,
    load_mirabest,
    load_mirabest_pngs,
    load_rgd,
)
from radiolib.data.loaders import parse_mirabest_code
from radiolib.errors import ConfigError, DataError


@pytest.fixture(scope="session")
def where(shared_data, real_data_dir):
    return {"data_dir": real_data_dir, "mirror": shared_data}


@pytest.fixture(scope="session")
def rgd_all(where):
    return load_rgd(**where)


@pytest.mark.parametrize(("split", "n"), [("train", 704), ("test", 88), ("all", 792)])
def test_mirabest_batches(where, split, n):
    data = load_mirabest(split, **where)
    assert len(data) == n and data.images.shape == (n, 150, 150)
    assert data.images.dtype == np.uint8 and data.class_names == ("FRI", "FRII")
    # the batches' labels agree with the class code in each file name
    assert (data.labels == data.meta["code"].str[0].astype(int) - 1).all()
    assert set(data.split) == ({"train", "test"} if split == "all" else {split})
    assert data.provenance["dataset"] == "mirabest"
    assert data.provenance["sha256"]["batches.tar.gz"].startswith("505e0b07")


def test_mirabest_counts(where):
    counts = load_mirabest("all", **where).counts()
    assert counts.loc["FRI"].tolist() == [312, 39, 351]
    assert counts.loc["FRII"].tolist() == [392, 49, 441]
    assert list(counts.columns) == ["train", "test", "total"]


def test_mirabest_pngs(where):
    data = load_mirabest_pngs(**where)
    assert len(data) == 792 and data.images.shape == (792, 150, 150)
    assert data.split is None and data.class_names == ("FRI", "FRII", "hybrid")
    assert data.counts()["total"].tolist() == [351, 441, 0]
    assert set(data.meta["confidence"]) == {"confident"}
    assert set(data.meta["morphology"]) == {"standard"}
    assert data.meta["dec"].between(-90, 90).all() and data.meta["ra"].between(0, 360).all()


def test_first_fits(where):
    data = load_first_fits(**where)
    assert len(data) == 39 and data.images.shape == (39, 300, 300)
    assert data.images.dtype == np.float32 and data.images.dtype.isnative
    assert data.counts()["total"].to_dict() == {"FRI": 19, "FRII": 12, "hybrid": 8}
    first = data.meta.iloc[0]
    assert (first["code"], first["ra"], first["dec"], first["z"], first["size_arcsec"]) == (
        "100", 152.017, 50.445, 0.1342, 38.41)
    assert {"uncertain", "confident"} == set(data.meta["confidence"])
    assert "head-tail" in set(data.meta["morphology"])
    assert np.isfinite(data.images).any(axis=(1, 2)).all()


@pytest.mark.slow
def test_rgd_all(rgd_all):
    assert len(rgd_all) == 2158 and rgd_all.images.shape == (2158, 300, 300)
    assert rgd_all.class_names == ("FRI", "FRII", "Compact", "Bent")
    counts = rgd_all.counts()
    assert counts.sum().to_dict() == {"train": 1758, "valid": 200, "test": 200, "total": 2158}
    assert (counts["valid"] == 50).all() and (counts["test"] == 50).all()
    assert counts["total"].tolist() == [495, 924, 391, 348]
    assert set(rgd_all.meta["source"]) >= {"MiraBest", "Gendre"}
    assert rgd_all.meta.loc[0, "group"] == "data_0"


@pytest.mark.slow
@pytest.mark.parametrize(("split", "n"), [("train", 1758), ("valid", 200), ("test", 200)])
def test_rgd_split_matches_the_full_set(where, rgd_all, split, n):
    part = load_rgd(split, **where)
    assert len(part) == n and set(part.split) == {split}
    chosen = np.flatnonzero(rgd_all.split == split)
    np.testing.assert_array_equal(part.labels, rgd_all.labels[chosen])
    np.testing.assert_array_equal(part.images[:3], rgd_all.images[chosen[:3]])


def test_rgd_cdl1_labels(where):
    data = load_rgd("test", labels="CDL1", **where)
    assert data.class_names == ("FRI-Sta", "FRII", "Compact", "FRI-WAT", "FRI-NAT")
    assert (data.counts()["test"] == 50).all()


@pytest.mark.parametrize(("call", "message"), [
    (lambda: load_mirabest("valid"), "split must be 'train', 'test' or 'all'"),
    (lambda: load_rgd("validation"), "split must be None, 'train', 'valid' or 'test'"),
    (lambda: load_rgd(labels="paper"), "labels must be one of"),
])
def test_bad_arguments(call, message):
    with pytest.raises(ConfigError, match=message):
        call()


def test_missing_data_is_a_data_error(tmp_path):
    with pytest.raises(DataError, match="cannot get file 'batches.tar.gz' of dataset 'mirabest'"):
        load_mirabest(data_dir=tmp_path, mirror=tmp_path / "empty-mirror")


def test_parse_code():
    assert parse_mirabest_code("212") == {"code": "212", "label": 1, "class": "FRII",
                                          "confidence": "uncertain",
                                          "morphology": "wide-angle tail"}
    with pytest.raises(DataError, match="not a MiraBest class code"):
        parse_mirabest_code("500")


def test_labelled_images_checks_lengths():
    meta = pd.DataFrame({"a": [1, 2]})
    with pytest.raises(ValueError, match="same N images"):
        LabelledImages(np.zeros((3, 2, 2)), np.zeros(2, int), ("x",), None, meta)
    with pytest.raises(ValueError, match="split has 1 entries for 2 images"):
        LabelledImages(np.zeros((2, 2, 2)), np.zeros(2, int), ("x",), np.array(["a"]), meta)


def _rgz_folder(root, rows, shapes=None):
    """Write a toy RGZ DR1 folder: PNG or FITS cut-outs and a catalogue CSV of ``rows``."""
    from astropy.io import fits
    from PIL import Image

    (root / "images").mkdir(parents=True)
    for i, row in enumerate(rows):
        shape = (shapes or {}).get(i, (20, 20))
        data = np.full(shape, 10 * i, np.uint8)
        if row["image"].endswith(".png"):
            Image.fromarray(data).save(root / "images" / row["image"])
        else:
            fits.PrimaryHDU(data[None].astype(np.float32)).writeto(root / "images" / row["image"])
    pd.DataFrame(rows).to_csv(root / "rgz_dr1_catalogue.csv", index=False)


def test_rgz_dr1_reads_classes_or_counts_and_the_consensus_cut(tmp_path):
    from radiolib.data import load_rgz_dr1, rgz_dr1_available
    from radiolib.sky import RGZ_CLASSES

    assert not rgz_dr1_available(data_dir=tmp_path)
    rows = [{"image": "a.png", "n_components": 1, "n_peaks": 2, "consensus": 0.9},
            {"image": "b.fits", "n_components": 2, "n_peaks": 5, "consensus": 0.7},
            {"image": "c.png", "n_components": 3, "n_peaks": 3, "consensus": 0.4},
            {"image": "d.png", "n_components": 2, "n_peaks": 1, "consensus": 0.9}]  # no class
    _rgz_folder(tmp_path / "rgz_dr1", rows)
    assert rgz_dr1_available(data_dir=tmp_path)
    d = load_rgz_dr1(data_dir=tmp_path)
    assert d.class_names == RGZ_CLASSES
    assert [d.class_names[k] for k in d.labels] == ["1C-2P", "2C-3P"]  # peaks capped at 3
    assert d.images.shape == (2, 20, 20) and d.images[1].max() == 10  # FITS, axis dropped
    assert d.provenance["dataset"] == "rgz_dr1"


def test_rgz_dr1_class_column_and_resizing(tmp_path):
    from radiolib.data import load_rgz_dr1

    rows = [{"image": "a.png", "class": "1c-1p"}, {"image": "b.png", "class": "3C-3P"}]
    _rgz_folder(tmp_path / "rgz_dr1", rows, shapes={1: (30, 30)})
    with pytest.raises(DataError, match="differ in shape; pass side="):
        load_rgz_dr1(data_dir=tmp_path)
    d = load_rgz_dr1(data_dir=tmp_path, side=16)
    assert d.images.shape == (2, 16, 16) and d.labels.tolist() == [0, 5]


@pytest.mark.parametrize("change, match", [
    ("absent", "RGZ DR1 is not in .*rgz_dr1_catalogue.csv.*radio.galaxyzoo.org"),
    ("no_image_file", "image 'gone.png' is not in"),
    ("bad_columns", "needs an 'image' column"),
])
def test_rgz_dr1_errors_say_what_to_do(tmp_path, change, match):
    from radiolib.data import load_rgz_dr1

    root = tmp_path / "rgz_dr1"
    if change == "no_image_file":
        _rgz_folder(root, [{"image": "a.png", "class": "1C-1P"}])
        pd.DataFrame([{"image": "gone.png", "class": "1C-1P"}]).to_csv(
            root / "rgz_dr1_catalogue.csv", index=False)
    elif change == "bad_columns":
        _rgz_folder(root, [{"image": "a.png", "label": "FRII"}])
    with pytest.raises(DataError, match=match):
        load_rgz_dr1(data_dir=tmp_path)


def test_rgz_dr1_reads_a_fits_catalogue(tmp_path):
    from astropy.table import Table

    from radiolib.data import load_rgz_dr1

    root = tmp_path / "rgz_dr1"
    _rgz_folder(root, [{"image": "a.png", "class": "2C-2P"}])
    (root / "rgz_dr1_catalogue.csv").unlink()
    Table({"image": ["a.png"], "n_components": [2], "n_peaks": [2]}).write(
        root / "rgz_dr1_catalogue.fits")
    assert load_rgz_dr1(data_dir=tmp_path).labels.tolist() == [3]
