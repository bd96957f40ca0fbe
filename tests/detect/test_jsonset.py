"""The reader of the authors' JSON dataset: round trip, the authors' relabelling, bad input."""

from __future__ import annotations

import json

import numpy as np
import pytest
from astropy.io import fits

from radiolib.detect import CLASS_NAMES, json_files, read_json_dataset, read_json_image
from radiolib.errors import DataError


def _edit(path, change):
    doc = json.loads(path.read_text())
    change(doc)
    path.write_text(json.dumps(doc))


def test_written_objects_are_read_back(json_dataset):
    root, field, written, cat = json_dataset
    for source in (root, root / "dataset.txt", [root / f"img{k}.json" for k in range(3)]):
        read = read_json_dataset(source)
        assert len(read) == len(written) == 3
        for a, b in zip(written, read, strict=True):
            np.testing.assert_array_equal(b.pixels, a.pixels)
            assert b.pixels.dtype == np.float32
            np.testing.assert_array_equal(b.masks, a.masks)
            assert b.class_names == a.class_names
            np.testing.assert_allclose(b.snr, a.snr)
            assert [o["name"] for o in b.meta["objects"]] == [f"S{i}" for i in a.ids]
            assert [o["nislands"] for o in b.meta["objects"]] == \
                [int(cat.loc[i, "n_islands"]) for i in a.ids]
            assert b.meta["survey"] == "askap" and b.field.startswith("askap:")
            beam = field.image().beam
            assert (b.meta["bmaj"], b.meta["bmin"]) == (beam.bmaj, beam.bmin)
            assert b.box == (0, 0, 64, 64) and list(b.ids) == list(range(1, len(a.ids) + 1))
    assert sum(len(im.labels) for im in read) > 3  # the fixture is not trivially small


def test_beam_and_islands_default_to_the_files(json_dataset):
    root, field, written, _ = json_dataset

    def strip(doc):
        for key in ("bmaj", "bmin", "dx", "dy", "telescope"):
            del doc[key]
        for obj in doc["objs"]:
            del obj["nislands"], obj["sidelobe-mixed"], obj["sidelobe-near"], obj["snr"]

    _edit(root / "img0.json", strip)
    im = read_json_image(root / "img0.json")
    image = field.image()
    assert im.meta["bmaj"] == pytest.approx(image.beam.bmaj)  # from the image header
    assert im.meta["dx"] == pytest.approx(image.pixel_scale)
    assert [o["nislands"] for o in im.meta["objects"]] == [1] * len(im.labels)  # on the mask
    assert np.isnan(im.snr).all() and im.field == "img0"
    assert im.class_names == written[0].class_names


def test_the_authors_relabelling(json_dataset):
    root, *_ = json_dataset
    mask = np.zeros((64, 64), np.uint8)
    mask[10:14, 10:14] = 1
    mask[30:34, 30:34] = 1  # two islands
    fits.PrimaryHDU(mask).writeto(root / "masks" / "two.fits")

    def objects(doc):
        base = {"mask": "masks/two.fits", "nislands": 2, "sidelobe-mixed": 0}
        doc["objs"] = [{**base, "class": "extended"},                      # -> MULTISLAND
                       {**base, "class": "COMPACT", "sidelobe-mixed": 1},  # -> FLAGGED
                       {**base, "class": "sidelobe", "nislands": 1},       # -> SPURIOUS
                       {**base, "class": "compact"}]                       # stays COMPACT

    _edit(root / "img1.json", objects)
    im = read_json_image(root / "img1.json")
    assert im.class_names == ["EXTENDED-MULTISLAND", "FLAGGED", "SPURIOUS", "COMPACT"]
    kept = read_json_image(root / "img1.json", relabel=False)
    assert kept.class_names == ["EXTENDED", "COMPACT", "SPURIOUS", "COMPACT"]
    assert set(CLASS_NAMES) >= set(im.class_names)


def _one_line_error(path, match):
    with pytest.raises(DataError, match=match) as info:
        read_json_dataset(path)
    message = str(info.value)
    assert "\n" not in message
    return message


def test_bad_input_is_one_line_naming_the_file_and_what_to_do(json_dataset):
    root, *_ = json_dataset
    (root / "masks" / next((root / "masks").iterdir()).name).unlink()  # a missing mask
    message = _one_line_error(root, "mask .* not found")
    assert ".json" in message and "fix its path" in message

    bad = root.parent / "bad"
    bad.mkdir()
    (bad / "a.json").write_text('{"img": "x.fits", "objs": [')  # truncated
    message = _one_line_error(bad / "a.json", "not valid JSON")
    assert "a.json" in message and "line 1" in message

    def galaxy(doc):
        doc["objs"][0]["class"] = "galaxy"

    _edit(root / "img2.json", galaxy)
    message = _one_line_error(root / "img2.json", "unknown class 'galaxy'")
    assert "img2.json" in message and "extended-multisland" in message

    _edit(root / "img2.json", lambda doc: doc.pop("objs"))
    _one_line_error(root / "img2.json", "no 'objs' key")
    _one_line_error(root / "nowhere", "no such file or folder")
    (bad / "a.json").unlink()
    _one_line_error(bad, "no .json file")


def test_a_mask_of_another_shape_or_empty_is_refused(json_dataset):
    root, *_ = json_dataset
    fits.PrimaryHDU(np.ones((32, 32), np.uint8)).writeto(root / "masks" / "small.fits")
    fits.PrimaryHDU(np.zeros((64, 64), np.uint8)).writeto(root / "masks" / "empty.fits")
    for name, match in (("small", "is 32x32 px, the image 64x64"), ("empty", "is empty")):
        _edit(root / "img0.json",
              lambda doc, n=name: doc["objs"][0].__setitem__("mask", f"masks/{n}.fits"))
        _one_line_error(root / "img0.json", match)


def test_list_paths_are_relative_to_the_list(json_dataset, tmp_path):
    root, *_ = json_dataset
    lst = tmp_path / "lists" / "train.txt"
    lst.parent.mkdir()
    lst.write_text("../dataset/img2.json\n\n# comment\n../dataset/img0.json\n")
    assert [p.name for p in json_files(lst)] == ["img2.json", "img0.json"]
