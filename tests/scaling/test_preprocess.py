"""radiolib.preprocess and the ``radiolib preprocess`` / ``radiolib inspect`` commands."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits
from PIL import Image as PILImage

from radiolib.cli import main
from radiolib.errors import ConfigError
from radiolib.outputs import MARKER, read_marker
from radiolib.preprocess import preprocess_files
from radiolib.scaling import ZScale

SHARED_DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
FIRST = sorted((SHARED_DATA / "mirabest_fits_sample").glob("*.fits"))


@pytest.fixture
def good(tmp_path) -> list[Path]:
    """Two real FIRST cut-outs if present, else two synthetic images with a celestial WCS."""
    if FIRST:
        return FIRST[:2]
    paths = []
    for seed in (0, 1):
        hdu = fits.PrimaryHDU(np.random.default_rng(seed).normal(0, 1e-4, (300, 300)))
        hdu.header.update(CTYPE1="RA---TAN", CTYPE2="DEC--TAN", CDELT1=-5e-4, CDELT2=5e-4,
                          CRPIX1=150.5, CRPIX2=150.5, CRVAL1=150.0, CRVAL2=2.0)
        hdu.writeto(path := tmp_path / f"good{seed}.fits")
        paths.append(path)
    return paths


@pytest.fixture
def bad(tmp_path) -> list[Path]:
    (text := tmp_path / "notes.fits").write_text("not a FITS file")
    fits.PrimaryHDU(np.full((8, 8), np.nan, np.float32)).writeto(blank := tmp_path / "blank.fits")
    return [text, blank, tmp_path / "missing.fits"]


def read_index(path: Path) -> list[dict]:
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def test_good_files_written_bad_ones_reported_and_indexed(tmp_path, good, bad):
    out = tmp_path / "out"
    report = preprocess_files([good[0], *bad, good[1]], scaling="riggi3", out_dir=out,
                              preview=True)
    assert [p.name for p in report.written] == [f"{p.stem}.npy" for p in good]
    assert [f.path for f in report.failed] == bad
    reasons = [f.reason for f in report.failed]
    assert "not a readable FITS" in reasons[0] and "NaN" in reasons[1]
    assert "no such file" in reasons[2]
    for path in report.written:
        array = np.load(path)
        assert array.shape == (3, 224, 224) and array.dtype == np.float32
        with PILImage.open(path.with_suffix(".png")) as png:
            assert png.mode == "RGB" and png.size == (224, 224)
    rows = read_index(report.index_path)
    assert [r["status"] for r in rows] == ["ok", "failed", "failed", "failed", "ok"]
    assert rows[0]["shape"] == "3x224x224" and rows[0]["scaling"] == "riggi3"
    assert rows[0]["output"] == str(report.written[0]) and rows[1]["reason"] == reasons[0]
    names = sorted(p.name for p in out.iterdir() if p.name != MARKER)
    assert not [n for n in names if n.startswith(".")]  # no temporary or partial files
    assert len(names) == 2 * len(good) + 1
    assert read_marker(out)["files"] == sorted(names)  # the marker lists what it wrote


@pytest.mark.parametrize(("scaling", "size", "shape"), [
    ("zscale", None, (300, 300)),
    ("contrast", 64, (64, 64)),
    ("riggi3", 96, (3, 96, 96)),
])
def test_size_resizes_every_scaling(tmp_path, good, scaling, size, shape):
    report = preprocess_files(good[:1], scaling=scaling, out_dir=tmp_path / "o", preview=True,
                              size=size)
    assert np.load(report.written[0]).shape == shape
    with PILImage.open(report.written[0].with_suffix(".png")) as png:
        assert png.mode == ("RGB" if len(shape) == 3 else "L")


def test_a_scaling_object_and_same_named_inputs(tmp_path, good):
    copy = tmp_path / "other" / good[0].name
    copy.parent.mkdir()
    copy.write_bytes(good[0].read_bytes())
    report = preprocess_files([good[0], copy], scaling=ZScale(0.4), out_dir=tmp_path / "o")
    assert len({p.name for p in report.written}) == 2 and not report.failed


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"scaling": "nope"}, "unknown scaling 'nope'"),
    ({"scaling": "zscale", "size": 0}, "size must be a positive"),
])
def test_configuration_errors(tmp_path, good, kwargs, match):
    with pytest.raises(ConfigError, match=match):
        preprocess_files(good, out_dir=tmp_path, **kwargs)


def test_cli_preprocess_exit_code(tmp_path, good, bad, capsys):
    args = ["preprocess", "--scaling", "riggi3", "--out", str(tmp_path / "o")]
    assert main([*args, *map(str, good)]) == 0
    assert "2 written, 0 failed" in capsys.readouterr().out
    assert main([*args, "--overwrite", *map(str, good + bad)]) == 1
    captured = capsys.readouterr()
    assert "2 written, 3 failed" in captured.out
    assert captured.err.count("FAILED") == 3 and "missing.fits" in captured.err


@pytest.mark.skipif(not FIRST, reason=f"real FIRST cut-outs not found in {SHARED_DATA}")
def test_cli_inspect_real_first_file_prints_beam_and_noise(capsys):
    assert main(["inspect", str(FIRST[0])]) == 0
    out = capsys.readouterr().out
    assert '5.40" x 5.40"' in out and "FIRST" in out
    assert "mJy/beam" in out and '1.800"/pixel' in out and "RA---TAN" in out


def test_cli_inspect_bad_file_is_one_clear_line(tmp_path, capsys):
    assert main(["inspect", str(tmp_path / "missing.fits")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("radiolib inspect: error:") and "no such file" in err


def test_preprocess_into_an_earlier_run_is_refused_unless_merge_or_overwrite(tmp_path, good,
                                                                            capsys):
    out = tmp_path / "o"
    first = preprocess_files(good[:1], scaling="zscale", out_dir=out, preview=True)
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    args = ["preprocess", "--scaling", "zscale", "--out", str(out), str(good[1])]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "earlier `radiolib preprocess`" in err and "--merge" in err and "--overwrite" in err
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before  # untouched
    # --merge: the index lists both runs' files, nothing of the first run goes
    assert main([*args, "--merge"]) == 0
    rows = read_index(out / "index.csv")
    assert [Path(r["input"]).name for r in rows] == [good[0].name, good[1].name]
    assert all(Path(r["output"]).is_file() for r in rows)
    assert (out / first.written[0].name).read_bytes() == before[first.written[0].name]
    assert (out / first.written[0].with_suffix(".png").name).is_file()
    # merging the first input again rewrites its array and drops its now stale preview
    assert main(["preprocess", "--scaling", "zscale", "--out", str(out), "--merge",
                 str(good[0])]) == 0
    assert len(read_index(out / "index.csv")) == 2
    assert not (out / first.written[0].with_suffix(".png").name).exists()
    # another scaling cannot be merged; --overwrite replaces the whole earlier run
    assert main(["preprocess", "--scaling", "minmax", "--out", str(out), "--merge",
                 str(good[0])]) == 2
    assert "used scaling zscale" in capsys.readouterr().err
    assert main(["preprocess", "--scaling", "minmax", "--out", str(out), "--overwrite",
                 str(good[1])]) == 0
    assert sorted(p.name for p in out.iterdir()) == sorted(
        [MARKER, "index.csv", f"{good[1].stem}.npy"])


def test_preprocess_never_overwrites_what_it_did_not_write(tmp_path, good, capsys):
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("mine")
    for extra in ([], ["--overwrite"], ["--merge"]):
        assert main(["preprocess", "--scaling", "zscale", "--out", str(mine), *extra,
                     str(good[0])]) == 2
        assert "notes.txt" in capsys.readouterr().err or extra == ["--merge"]
    assert sorted(p.name for p in mine.iterdir()) == ["notes.txt"]
    out = tmp_path / "o"
    preprocess_files(good[:1], scaling="zscale", out_dir=out)
    (out / "keep.txt").write_text("a user's file beside the outputs")
    with pytest.raises(FileExistsError, match="keep.txt, which radiolib did not write"):
        preprocess_files(good[:1], scaling="zscale", out_dir=out, overwrite=True)
    with pytest.raises(ConfigError, match="not both"):
        preprocess_files(good[:1], scaling="zscale", out_dir=out, overwrite=True, merge=True)
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    (inputs / good[0].name).write_bytes(good[0].read_bytes())
    preprocess_files([inputs / good[0].name], scaling="zscale", out_dir=tmp_path / "o2")
    (tmp_path / "o2" / "x.fits").write_bytes(good[0].read_bytes())
    with pytest.raises(FileExistsError, match="holds the input"):
        preprocess_files([tmp_path / "o2" / "x.fits"], scaling="zscale",
                         out_dir=tmp_path / "o2", overwrite=True)
