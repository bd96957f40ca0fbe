"""Tiling real survey images: FIRST cut-outs, an ATCA Scorpio field, LoTSS banner cut-outs."""

from __future__ import annotations

import numpy as np
import pytest

from radiolib.io import read_catalogue, read_fits
from radiolib.tiling import (
    banner_boxes_from_catalogue,
    n_hulk_tiles,
    n_mgcls_tiles,
    tile_fields,
    tile_fits,
)


def test_first_cutouts_hulk_and_mgcls(shared_data, tmp_path):
    paths = sorted((shared_data / "mirabest_fits_sample").glob("*.fits"))[:8]
    assert paths, "no FIRST FITS in the shared data"
    hulk = tile_fields(paths, "hulk", out_dir=tmp_path / "hulk", size=128)
    assert len(hulk) == len(paths) * n_hulk_tiles((300, 300), 128) == 8 * 16  # 0 64 128 172
    mgcls = tile_fields(paths, "mgcls", out_dir=tmp_path / "mgcls", size=128)
    assert len(mgcls) + mgcls.n_skipped == len(paths) * n_mgcls_tiles((300, 300), 128)
    field = hulk.fields[paths[0].stem]
    assert field["pixel_scale"] == pytest.approx(1.8) and field["beam"]["bmaj"] == 5.4
    data = read_fits(paths[0]).data
    x0, y0, x1, y1 = hulk.boxes[4]
    np.testing.assert_array_equal(hulk[4][0], data[y0:y1, x0:x1])
    ra, dec = hulk.tile_wcs(4).pixel_to_world_values(63.5, 63.5)
    assert (ra, dec) == pytest.approx(tuple(hulk.index.loc[4, ["ra", "dec"]]), abs=1e-9)
    # the file name holds the source position, at the centre of the 300x300 cut-out
    name_ra, name_dec = (float(v) for v in paths[0].stem.split("_")[1].replace("+", " +")
                         .replace("-", " -").split())
    centre = hulk.field_wcs(paths[0].stem).pixel_to_world_values(149.5, 149.5)
    assert centre == pytest.approx((name_ra, name_dec), abs=1e-3)


def test_scorpio_field_hulk(shared_data, tmp_path):
    path = shared_data / "real_fields" / "ScorpioS17Field.fits"
    ts = tile_fits(path, "hulk", out_dir=tmp_path / "ts")
    assert len(ts) == n_hulk_tiles((1000, 1000)) == 49 and ts.n_skipped == 0
    image = read_fits(path)
    x0, y0, x1, y1 = ts.boxes[-1]
    assert (x1, y1) == (1000, 1000)  # the edge-aligned last window
    np.testing.assert_array_equal(ts[len(ts) - 1][0], image.data[y0:y1, x0:x1])
    stats = ts.fields["ScorpioS17Field"]["stats"]
    assert stats["noise_mad"] == pytest.approx(image.noise, rel=0.05)
    assert stats["p99.9"] > 10 * stats["noise_mad"]  # bright sources in the field


@pytest.mark.parametrize(("mosaic", "n_inside"), [("P205+55", 27), ("P218+55", 7)])
def test_lotss_banner_cutouts_from_pybdsf_catalogue(shared_data, tmp_path, mosaic, n_inside):
    fields = shared_data / "real_fields"
    path, catalogue = fields / f"{mosaic}-mosaic.fits", fields / "catalog_shimwell_reduced.srl.fits"
    image, table = read_fits(path), read_catalogue(catalogue)
    boxes, sources = banner_boxes_from_catalogue(image, table)
    assert len(boxes) == len(sources) == n_inside
    extent = np.asarray(table["Maj"])[sources["row"]] / image.pixel_scale  # arcsec -> pixels
    np.testing.assert_allclose(sources["extent_pix"], extent)
    side = boxes[:, 2] - boxes[:, 0]
    np.testing.assert_array_equal(side, np.maximum(np.rint(1.5 * extent), 32))
    ts = tile_fits(path, "banner", out_dir=tmp_path / "ts", catalogue=catalogue, size=64)
    assert len(ts) + ts.n_skipped == n_inside
    rows = ts.index["source_row"].to_numpy()
    # each tile is centred on its source: index centre vs catalogue position within a pixel
    np.testing.assert_allclose(ts.index["dec"], table["DEC"][rows], atol=1.0 * 1.5 / 3600)
    cos = np.cos(np.deg2rad(ts.index["dec"]))
    np.testing.assert_allclose(ts.index["ra"] * cos, table["RA"][rows] * cos, atol=1.5 / 3600)
    assert list(ts.index["source"]) == list(table["Source_Name"][rows])
    assert ts.tiles.shape[1:] == (64, 64)
