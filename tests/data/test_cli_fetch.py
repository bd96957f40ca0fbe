import subprocess
import sys

import pytest

from radiolib.cli import main


def test_fetch_list(capsys):
    assert main(["fetch", "--list"]) == 0
    out = capsys.readouterr().out
    assert "mirabest " in out and "downloadable" in out
    assert "mgcls_dr1" in out and "manual (see its manifest)" in out


def test_fetch_unknown_name(capsys):
    assert main(["fetch", "nosuch"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("radiolib fetch: error: unknown dataset 'nosuch'; valid names:")
    assert "Traceback" not in err and "rgd" in err


def test_fetch_placeholder(capsys, tmp_path):
    assert main(["fetch", "smgps", "--data-dir", str(tmp_path)]) == 2
    assert "cannot be fetched automatically" in capsys.readouterr().err


def test_fetch_missing_mirror_file(capsys, tmp_path):
    assert main(["fetch", "mirabest", "--data-dir", str(tmp_path), "--mirror",
                 str(tmp_path / "empty"), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "RADIOLIB_MIRROR" in err and "http://www.jb.man.ac.uk/" in err


@pytest.mark.usefixtures("shared_data")
def test_fetch_from_mirror(capsys, tmp_path, shared_data):
    assert main(["fetch", "mirabest", "--data-dir", str(tmp_path), "--mirror",
                 str(shared_data), "--quiet"]) == 0
    assert capsys.readouterr().out.strip() == f"mirabest: {tmp_path / 'mirabest'}"
    assert (tmp_path / "mirabest" / "batches" / "test_batch").is_file()


def test_fetch_list_imports_no_heavy_library():
    """`radiolib fetch --list` loads neither astropy, pandas nor torch: it starts at once."""
    code = ("import sys\nfrom radiolib.cli import main\nassert main(['fetch', '--list']) == 0\n"
            "print(sorted(m for m in ('astropy', 'pandas', 'torch') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.splitlines()[-1] == "[]"
