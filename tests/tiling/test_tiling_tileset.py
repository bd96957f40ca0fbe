"""tile_fits / tile_fields and TileSet: NaN skipping, exact pixels, round trip, WCS, atomicity."""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest
from astropy.io import fits

from radiolib.errors import ConfigError, DataError
from radiolib.io import PixelOnlyWarning, read_fits
from radiolib.scaling import FIELD_LIMITS, fitted_scaling
from radiolib.tiling import (
    DEFAULT_NAN_MAX,
    TileSet,
    hulk_boxes,
    mgcls_boxes,
    n_hulk_tiles,
    tile_fields,
    tile_fits,
)
from radiolib.tiling import tileset as tileset_module
from radiolib.tiling._reader import MosaicReader


def nan_fractions(data, boxes):
    return np.array([np.isnan(data[y0:y1, x0:x1]).mean() for x0, y0, x1, y1 in boxes])


def test_hulk_skips_nan_tiles_and_copies_pixels_exactly(mosaic, tmp_path):
    ts = tile_fits(mosaic, "hulk", out_dir=tmp_path / "ts", size=128, overlap=0.5)
    data = np.asarray(read_fits(mosaic).data, dtype=np.float32)
    boxes = hulk_boxes(data.shape, 128, 0.5)
    expected = nan_fractions(data, boxes)
    keep = expected <= 0.5
    assert 0 < keep.sum() < len(boxes)  # the NaN border removes some tiles, not all
    assert len(ts) == keep.sum() and ts.n_skipped == (~keep).sum()
    assert len(ts) + ts.n_skipped == n_hulk_tiles(data.shape, 128, 0.5)
    np.testing.assert_array_equal(ts.boxes, boxes[keep])
    np.testing.assert_allclose(ts.index["nan_fraction"], expected[keep])
    for i in (0, len(ts) // 2, len(ts) - 1):
        x0, y0, x1, y1 = ts.boxes[i]
        np.testing.assert_array_equal(ts.tiles[i], data[y0:y1, x0:x1])  # NaNs kept as blanks
    assert "skipped" in ts.summary() and f"{len(ts)} tiles written" in ts.summary()


@pytest.mark.parametrize("nan_max", [0.0, 0.25, 1.0])
def test_nan_threshold(mosaic, tmp_path, nan_max):
    ts = tile_fits(mosaic, "hulk", out_dir=tmp_path / "ts", size=128, nan_max=nan_max)
    data = np.asarray(read_fits(mosaic).data)
    expected = nan_fractions(data, hulk_boxes(data.shape, 128))
    assert len(ts) == (expected <= nan_max).sum()
    assert ts.meta["params"]["nan_max"] == nan_max


def test_mgcls_mode_rejects_crops_with_any_nan_by_default(mosaic, tmp_path):
    ts = tile_fits(mosaic, "mgcls", out_dir=tmp_path / "ts", size=100)
    data = np.asarray(read_fits(mosaic).data)
    boxes = mgcls_boxes(data.shape, 100)
    assert DEFAULT_NAN_MAX["mgcls"] == 0.0
    assert len(ts) == (nan_fractions(data, boxes) == 0).sum() > 0
    assert (ts.index["nan_fraction"] == 0).all()


def test_round_trip_stats_and_tile_wcs(mosaic, tmp_path):
    tile_fits(mosaic, "hulk", out_dir=tmp_path / "ts", size=128)
    ts = TileSet.open(tmp_path / "ts")
    assert sorted(p.name for p in (tmp_path / "ts").iterdir()) == \
        [".radiolib-output.json", "fields.json", "index.csv", "pixels"]
    assert ts.storage == "pixels" and ts.fields["mosaic"]["pixels"] == "pixels/000.npy"
    stored = np.load(tmp_path / "ts" / "pixels" / "000.npy", mmap_mode="r")
    np.testing.assert_array_equal(stored, read_fits(mosaic).data)  # the field, stored once
    assert ts.tiles.dtype == np.float32 and ts.tiles.shape == (len(ts), 128, 128)
    tile, row = ts[3]
    assert tile.shape == (128, 128) and tile.flags.writeable and row["tile"] == 3
    assert row["field"] == "mosaic" and ts[-1][1]["tile"] == len(ts) - 1
    with pytest.raises(IndexError):
        ts[len(ts)]
    field = ts.fields["mosaic"]
    assert field["shape"] == [700, 600] and field["pixel_scale"] == pytest.approx(2.0)
    assert field["beam"]["bmaj"] == pytest.approx(6.0) and field["wcs_header"]
    for key in ("noise_mad", "p2", "p98", "p99.9", "median", "std", "sigmaclip_std"):
        assert np.isfinite(field["stats"][key])
    assert field["stats"]["noise_mad"] == pytest.approx(1e-4, rel=0.05)
    assert set(field["limits"]) == set(FIELD_LIMITS)
    scaled = fitted_scaling(field, "contrast_2_98").transform(tile)
    assert scaled.min() >= 0 and scaled.max() <= 1
    for i in (0, len(ts) - 1):
        wcs = ts.tile_wcs(i)
        ra, dec = wcs.pixel_to_world_values(63.5, 63.5)
        assert ra == pytest.approx(ts.index["ra"][i], abs=1e-9)
        assert dec == pytest.approx(ts.index["dec"][i], abs=1e-9)
        x0, y0 = ts.boxes[i, :2]  # pixel (0, 0) of the tile is pixel (x0, y0) of the field
        field_world = ts.field_wcs("mosaic").pixel_to_world_values(x0, y0)
        np.testing.assert_allclose(wcs.pixel_to_world_values(0, 0), field_world, atol=1e-10)


def test_banner_from_pixel_catalogue_resizes_and_keeps_wcs(mosaic, tmp_path):
    catalogue = pd.DataFrame({"name": ["a", "b", "c", "edge", "out"],
                              "x": [300.0, 250.3, 320.0, 150.0, 900.0],
                              "y": [350.0, 300.0, 400.2, 350.0, 10.0],
                              "size_pix": [40.0, 200.0, 5.0, 50.0, 10.0]})
    ts = tile_fits(mosaic, "banner", out_dir=tmp_path / "ts", size=64, catalogue=catalogue)
    assert list(ts.index["source"]) == ["a", "b", "c", "edge"]  # "out" is off the image
    np.testing.assert_array_equal(ts.boxes[:, 2] - ts.boxes[:, 0], [60, 300, 32, 75])
    assert ts.tiles.shape == (4, 64, 64)
    assert ts.index["nan_fraction"][3] == pytest.approx(0.5, abs=0.02)  # half on the border
    for i in range(len(ts)):
        wcs = ts.tile_wcs(i)  # resized tiles: WCS scaled with the box
        np.testing.assert_allclose(wcs.pixel_to_world_values(31.5, 31.5),
                                   ts.index.loc[i, ["ra", "dec"]].to_numpy(float), atol=1e-9)
        x0, y0, x1, y1 = ts.boxes[i]  # outer corner of the tile = outer corner of the box
        np.testing.assert_allclose(wcs.pixel_to_world_values(-0.5, -0.5),
                                   ts.field_wcs("mosaic").pixel_to_world_values(x0 - .5, y0 - .5),
                                   atol=1e-10)
    with pytest.raises(ValueError, match="catalogue"):
        tile_fits(mosaic, "banner", out_dir=tmp_path / "none")


def test_labels_callable_table_and_clash(mosaic, tmp_path):
    def frame_labels(boxes):
        return {"label": np.where(boxes[:, 0] == boxes[:, 1], "DIAGONAL", "OTHER"),
                "x_centre": (boxes[:, 0] + boxes[:, 2]) / 2,
                "labels": [frozenset({"COMPACT", "EXTENDED"})] * len(boxes)}

    ts = tile_fits(mosaic, "hulk", out_dir=tmp_path / "a", size=128, labels=frame_labels)
    np.testing.assert_array_equal(ts.index["x_centre"], (ts.boxes[:, 0] + ts.boxes[:, 2]) / 2)
    assert set(ts.index["label"]) == {"DIAGONAL", "OTHER"}
    assert set(TileSet.open(tmp_path / "a").index["labels"]) == {"COMPACT|EXTENDED"}
    n = n_hulk_tiles((700, 600), 128)
    table = pd.DataFrame({"candidate": np.arange(n)})
    ts = tile_fits(mosaic, "hulk", out_dir=tmp_path / "b", size=128, labels=table)
    kept = [np.flatnonzero((hulk_boxes((700, 600), 128) == b).all(1))[0] for b in ts.boxes]
    np.testing.assert_array_equal(ts.index["candidate"], kept)
    with pytest.raises(ValueError, match="clash"):
        tile_fits(mosaic, "hulk", out_dir=tmp_path / "c", size=128,
                  labels=lambda b: {"ra": np.zeros(len(b))})
    with pytest.raises(ValueError, match="candidate tiles"):
        tile_fits(mosaic, "hulk", out_dir=tmp_path / "d", size=128, labels=table[:3])


def test_grid_mode_with_catalogue_counts_sources(mosaic, tmp_path):
    catalogue = pd.DataFrame({"x": [300.0, 301.0, 450.0], "y": [350.0, 351.0, 200.0],
                              "size_pix": [5.0, 5.0, 5.0]})
    ts = tile_fits(mosaic, "hulk", out_dir=tmp_path / "ts", size=128, catalogue=catalogue)
    b = ts.boxes
    for i in range(len(ts)):
        inside = ((catalogue.x >= b[i, 0] - .5) & (catalogue.x < b[i, 2] - .5)
                  & (catalogue.y >= b[i, 1] - .5) & (catalogue.y < b[i, 3] - .5))
        assert ts.index["n_sources"][i] == inside.sum()
    assert ts.index["n_sources"].max() >= 2


def test_tile_fields_joins_fields_in_one_tileset(tmp_path, make_mosaic):
    write_mosaic = make_mosaic
    paths = [write_mosaic(tmp_path / "f.fits", 300, 400, seed=1),
             write_mosaic(tmp_path / "g.fits", 512, 256, seed=2)]
    (tmp_path / "sub").mkdir()
    paths.append(write_mosaic(tmp_path / "sub" / "f.fits", 256, 256, seed=3))
    ts = tile_fields(paths, "hulk", out_dir=tmp_path / "ts")
    assert list(ts.fields) == ["f", "g", "f-2"]
    counts = [n_hulk_tiles(s) for s in [(300, 400), (512, 256), (256, 256)]]
    assert ts.index.groupby("field", sort=False).size().tolist() == counts
    np.testing.assert_array_equal(ts.index["tile"], np.arange(sum(counts)))
    data = np.asarray(read_fits(paths[1]).data)
    i = counts[0] + 2
    x0, y0, x1, y1 = ts.boxes[i]
    np.testing.assert_array_equal(ts[i][0], data[y0:y1, x0:x1])


@pytest.mark.parametrize("mode", ["hulk", "banner"])
def test_failure_midway_leaves_no_output(mosaic, tmp_path, monkeypatch, mode):
    real, calls = tileset_module._NpyAppender.append, []

    def failing(self, rows):
        calls.append(1)
        if len(calls) == 3:
            raise RuntimeError("disk full")
        real(self, rows)

    monkeypatch.setattr(tileset_module._NpyAppender, "append", failing)
    catalogue = pd.DataFrame({"x": [100.0, 200, 300, 400], "y": [100.0, 200, 300, 400],
                              "size_pix": [40.0] * 4})
    with pytest.raises(RuntimeError, match="disk full"):
        tile_fits(mosaic, mode, out_dir=tmp_path / "out", size=64,
                  catalogue=catalogue if mode == "banner" else None)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mosaic.fits"]  # no output, no temp


def test_tile_views_index_like_an_array(mosaic, tmp_path):
    ts = tile_fits(mosaic, "hulk", out_dir=tmp_path / "ts", size=128)
    data = np.asarray(read_fits(mosaic).data)
    copies = np.stack([data[y0:y1, x0:x1] for x0, y0, x1, y1 in ts.boxes])
    views = ts.tiles
    assert len(views) == len(copies) and views.nbytes == copies.nbytes
    np.testing.assert_array_equal(views[-1], copies[-1])
    assert not views[0].flags.writeable  # a read-only view of the stored field
    np.testing.assert_array_equal(views[2:7], copies[2:7])
    np.testing.assert_array_equal(views[[5, 0, 5]], copies[[5, 0, 5]])
    mask = np.arange(len(copies)) % 3 == 0
    np.testing.assert_array_equal(views[mask], copies[mask])
    np.testing.assert_array_equal(views[3, 10:20, 5], copies[3, 10:20, 5])
    np.testing.assert_array_equal(views[1:4, 0], copies[1:4, 0])
    np.testing.assert_array_equal(np.asarray(views), copies)
    assert np.array(views, dtype=np.float64).dtype == np.float64
    with pytest.raises(IndexError):
        views[len(copies)]
    stored = sum(f.stat().st_size for f in (tmp_path / "ts" / "pixels").iterdir())
    assert stored <= data.astype(np.float32).nbytes + 4096  # the field once, whatever the overlap


def test_existing_output_is_kept_unless_overwrite(mosaic, tmp_path):
    first = tile_fits(mosaic, "hulk", out_dir=tmp_path / "ts", size=128)
    with pytest.raises(FileExistsError, match="overwrite"):
        tile_fits(mosaic, "hulk", out_dir=tmp_path / "ts", size=64)
    second = tile_fits(mosaic, "hulk", out_dir=tmp_path / "ts", size=64, overwrite=True)
    assert second.tile_size == 64 and len(second) > len(first)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mosaic.fits", "ts"]
    with pytest.raises(DataError, match="not a TileSet"):
        TileSet.open(tmp_path)
    (tmp_path / "ts" / "pixels" / "000.npy").unlink()  # a field's stored pixels went missing
    with pytest.raises(DataError, match=r"missing pixels/000\.npy.*radiolib tile"):
        TileSet.open(tmp_path / "ts")


def test_scaled_integer_fits_goes_through_the_image_array(tmp_path):
    data = np.arange(300 * 280, dtype=np.int16).reshape(300, 280)
    hdu = fits.PrimaryHDU(data)
    hdu.header["BSCALE"], hdu.header["BZERO"] = 0.5, 10.0
    hdu.writeto(tmp_path / "int.fits")
    with pytest.warns(PixelOnlyWarning):
        ts = tile_fits(tmp_path / "int.fits", "hulk", out_dir=tmp_path / "ts", size=128)
        expected = read_fits(tmp_path / "int.fits").data
    x0, y0, x1, y1 = ts.boxes[-1]
    np.testing.assert_array_equal(ts[len(ts) - 1][0], expected[y0:y1, x0:x1])
    assert np.isnan(ts.index["ra"]).all()  # no WCS: no sky position


def test_tileset_is_a_torch_dataset(mosaic, tmp_path):
    torch = pytest.importorskip("torch")
    ts = tile_fits(mosaic, "hulk", out_dir=tmp_path / "ts", size=128,
                   labels=lambda b: {"label": ["X"] * len(b)})
    ts.tiles[0]  # open the memory maps: they must not travel to DataLoader workers
    clone = pickle.loads(pickle.dumps(ts))  # no pixels in the pickle
    assert len(pickle.dumps(ts)) < 100_000 and len(clone) == len(ts)
    np.testing.assert_array_equal(clone.tiles[-1], ts.tiles[-1])
    ts.transform = lambda t: np.nan_to_num(t)
    loader = torch.utils.data.DataLoader(ts, batch_size=4)
    tiles, rows = next(iter(loader))
    assert tiles.shape == (4, 128, 128) and not torch.isnan(tiles).any()
    assert rows["tile"].tolist() == [0, 1, 2, 3] and rows["label"] == ["X"] * 4


def test_image_smaller_than_a_tile_gives_an_empty_tileset(tmp_path, make_mosaic):
    path = make_mosaic(tmp_path / "small.fits", 200, 300)
    with pytest.warns(UserWarning, match="smaller than a 256-pixel tile"):
        ts = tile_fits(path, "hulk", out_dir=tmp_path / "ts")
    assert len(ts) == 0 and ts.tiles.shape == (0, 256, 256) and ts.boxes.shape == (0, 4)
    assert ts.fields["small"]["stats"]["noise_mad"] > 0


def test_compressed_fits_is_read_through_the_image_array(tmp_path):
    rng = np.random.default_rng(3)
    data = rng.normal(size=(300, 260)).astype(np.float32)
    fits.HDUList([fits.PrimaryHDU(), fits.CompImageHDU(data, quantize_level=0.0)]).writeto(
        tmp_path / "comp.fits")
    with pytest.warns(PixelOnlyWarning):
        ts = tile_fits(tmp_path / "comp.fits", "hulk", out_dir=tmp_path / "ts", size=128)
        image = read_fits(tmp_path / "comp.fits")  # decompressed (quantised) pixels
    assert not MosaicReader(image).mapped
    x0, y0, x1, y1 = ts.boxes[-1]
    np.testing.assert_array_equal(ts[len(ts) - 1][0], image.data[y0:y1, x0:x1])
    assert np.abs(image.data - data).max() < 1  # not the bytes of the compressed table


def test_field_nan_fraction_and_numeric_source_names(mosaic, tmp_path):
    catalogue = pd.DataFrame({"id": [101, 102], "x": [300.0, 310.0], "y": [350.0, 340.0],
                              "size_pix": [20.0, 20.0]})
    ts = tile_fits(mosaic, "banner", out_dir=tmp_path / "ts", catalogue=catalogue, size=32)
    assert list(TileSet.open(tmp_path / "ts").index["source"]) == ["101", "102"]
    expected = 1 - (300 * 400) / (700 * 600)  # finite core 400 x 300 inside the NaN border
    assert ts.fields["mosaic"]["stats"]["nan_fraction"] == pytest.approx(expected, abs=0.01)


@pytest.mark.parametrize(("kwargs", "match"), [({"mode": "tiles"}, "mode must be one of"),
                                               ({"overlap": 1.0}, "overlap < 1"),
                                               ({"size": 0}, "size >= 1"),
                                               ({"nan_max": -0.1}, "nan_max >= 0")])
def test_bad_parameters_are_config_errors(mosaic, tmp_path, kwargs, match):
    kwargs = {"mode": "hulk", **kwargs}
    with pytest.raises(ConfigError, match=match):
        tile_fits(mosaic, out_dir=tmp_path / "ts", **kwargs)
    assert not (tmp_path / "ts").exists()
