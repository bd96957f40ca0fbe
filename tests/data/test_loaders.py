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
