"""Mosaic detection: tiles merged so each source comes once, sky positions, files, bad input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from astropy.io import fits
from astropy.table import Table
from astropy.wcs import WCS
from scipy import ndimage

from radiolib.detect import crossmatch, detect_mosaic, load_detect_config, mosaic, write_catalogue
from radiolib.errors import FITSError


def threshold_predict(model, tiles, config):
    """A stand-in for the detector: each 8-connected region of raw pixels above 1 mJy/beam."""
    out = []
    for tile in tiles:
        lab, n = ndimage.label(np.nan_to_num(tile) > 1e-3, structure=np.ones((3, 3)))
        masks = np.stack([lab == k for k in range(1, n + 1)]) if n else \
            np.zeros((0, *lab.shape), bool)
        out.append({"masks": masks, "labels": np.full(n, 2), "scores": np.ones(n)})
    return out


@pytest.fixture(autouse=True)
def thresholder(monkeypatch):
    monkeypatch.setattr(mosaic, "predict", threshold_predict)


def write_mosaic(path, blobs, size=96, wcs=True, beam=True):
    yy, xx = np.mgrid[:size, :size]
    rng = np.random.default_rng(0)
    image = rng.normal(0, 1e-5, (size, size))
    for x, y, sx, sy in blobs:
        image += 1e-2 * np.exp(-((xx - x) ** 2 / (2 * sx**2) + (yy - y) ** 2 / (2 * sy**2)))
    header = fits.Header()
    if wcs:
        header.update({"CTYPE1": "RA---SIN", "CTYPE2": "DEC--SIN", "CRVAL1": 150.0,
                       "CRVAL2": -30.0, "CRPIX1": size / 2, "CRPIX2": size / 2,
                       "CDELT1": -2 / 3600, "CDELT2": 2 / 3600})
    if beam:
        header.update({"BMAJ": 6 / 3600, "BMIN": 6 / 3600, "BPA": 0.0})
    header["BUNIT"] = "Jy/beam"
    fits.PrimaryHDU(image.astype(np.float32), header).writeto(path)
    return header


def test_a_source_across_tile_borders_is_reported_once_with_its_whole_mask(tmp_path):
    config = load_detect_config().replace(image_size=32)
    # 32 px tiles with 50 % overlap start every 16 px: (40, 47) crosses the borders at x = 32
    # and 48; (70, 20) is elongated across x = 64
    blobs = [(40.0, 47.0, 2.0, 2.0), (70.0, 20.0, 4.0, 1.5), (10.0, 80.0, 1.5, 1.5)]
    header = write_mosaic(tmp_path / "m.fits", blobs)
    table = detect_mosaic(tmp_path / "m.fits", None, config, progress=False)
    assert len(table) == len(blobs)
    found = table.sort_values("x")[["x", "y"]].to_numpy()
    truth = np.array(sorted(b[:2] for b in blobs))
    np.testing.assert_allclose(found, truth, atol=0.3)
    # the elongated source's mask is whole: its box spans the region its own tile sees
    wide = table.loc[table["x"].sub(70).abs() < 1].iloc[0]
    assert wide["x1"] - wide["x0"] >= 12
    # sky positions are the WCS of the pixel centroids
    ra, dec = WCS(header).pixel_to_world_values(truth[:, 0], truth[:, 1])
    np.testing.assert_allclose(table.sort_values("x")["ra"], ra, atol=0.3 * 2 / 3600)
    np.testing.assert_allclose(table.sort_values("x")["dec"], dec, atol=0.3 * 2 / 3600)
    # the integrated flux of a point-like blob: pixel sum in the mask / beam area in pixels
    assert (table["flux_jy"] > 0).all()


def test_catalogue_files_round_trip(tmp_path):
    config = load_detect_config().replace(image_size=32)
    write_mosaic(tmp_path / "m.fits", [(40.0, 47.0, 2.0, 2.0)], size=64)
    table = detect_mosaic(tmp_path / "m.fits", None, config, progress=False)
    paths = write_catalogue(table, tmp_path / "out")
    back = Table.read(paths["fits"]).to_pandas()
    np.testing.assert_allclose(back["ra"], table["ra"])
    csv = pd.read_csv(paths["csv"])
    assert list(csv.columns) == list(table.columns) and csv["class"].iloc[0] == "COMPACT"
    assert paths["reg"].read_text().startswith("# Region file format: DS9")
    rec, conf, summary = crossmatch(table["ra"], table["dec"], table["ra"] + 1 / 3600,
                                    table["dec"], radius=3)
    assert rec.all() and conf.all() and summary["completeness"] == 1.0


def test_a_mosaic_without_wcs_or_beam_is_refused_unless_pixel_only(tmp_path):
    config = load_detect_config().replace(image_size=32)
    write_mosaic(tmp_path / "nowcs.fits", [(20.0, 20.0, 2.0, 2.0)], size=48, wcs=False)
    with pytest.raises(FITSError, match="no celestial WCS.*--pixel-only"):
        detect_mosaic(tmp_path / "nowcs.fits", None, config, progress=False)
    table = detect_mosaic(tmp_path / "nowcs.fits", None, config, pixel_only=True,
                          progress=False)
    assert len(table) == 1 and np.isnan(table["ra"]).all()
    write_mosaic(tmp_path / "nobeam.fits", [(20.0, 20.0, 2.0, 2.0)], size=48, beam=False)
    with pytest.raises(FITSError, match="no beam"):
        detect_mosaic(tmp_path / "nobeam.fits", None, config, progress=False)


def test_cli_writes_the_catalogue_and_refuses_bad_input(tmp_path, capsys):
    from radiolib.cli import main
    from radiolib.detect import build_detector, save_detector

    config = load_detect_config().replace(image_size=32)
    save_detector(tmp_path / "det" / "detector.pt", build_detector(config, None, device="cpu"),
                  config)
    write_mosaic(tmp_path / "m.fits", [(20.0, 20.0, 2.0, 2.0)], size=48)
    assert main(["detect", str(tmp_path / "m.fits"), "--model", str(tmp_path / "det"),
                 "--out", str(tmp_path / "out"), "--quiet", "--device", "cpu"]) == 0
    assert "1 detections" in capsys.readouterr().out  # the stand-in detector finds the blob
    assert (tmp_path / "out" / "m.csv").is_file() and (tmp_path / "out" / "m.reg").is_file()
    write_mosaic(tmp_path / "nowcs.fits", [(20.0, 20.0, 2.0, 2.0)], size=48, wcs=False)
    assert main(["detect", str(tmp_path / "nowcs.fits"), "--model", str(tmp_path / "det"),
                 "--out", str(tmp_path / "out"), "--quiet"]) == 2
    assert "--pixel-only" in capsys.readouterr().err
    assert main(["detect", str(tmp_path / "m.fits"), "--model", str(tmp_path / "none"),
                 "--out", str(tmp_path / "out"), "--quiet"]) == 2
    assert "no detector at" in capsys.readouterr().err
