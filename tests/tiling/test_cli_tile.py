"""The `radiolib tile` command: a thin wrapper over tile_fits."""

from radiolib.cli import main
from radiolib.tiling import TileSet


def test_tile_hulk_prints_counts(mosaic, tmp_path, capsys):
    out = tmp_path / "tiles"
    assert main(["tile", str(mosaic), "--mode", "hulk", "--out", str(out), "--size", "64"]) == 0
    printed = capsys.readouterr().out
    tiles = TileSet.open(out)
    assert f"{len(tiles)} tiles written" in printed and "skipped" in printed


def test_tile_banner_without_catalogue_is_one_line_error(mosaic, tmp_path, capsys):
    assert main(["tile", str(mosaic), "--mode", "banner", "--out", str(tmp_path / "t")]) == 2
    err = capsys.readouterr().err
    assert "catalogue" in err and "Traceback" not in err
    assert not (tmp_path / "t").exists()


def test_tile_banner_on_real_lotss(shared_data, tmp_path, capsys):
    field = shared_data / "real_fields" / "P205+55-mosaic.fits"
    cat = shared_data / "real_fields" / "catalog_shimwell_reduced.srl.fits"
    out = tmp_path / "banner"
    assert main(["tile", str(field), "--mode", "banner", "--catalogue", str(cat),
                 "--out", str(out)]) == 0
    assert "27 tiles written" in capsys.readouterr().out
