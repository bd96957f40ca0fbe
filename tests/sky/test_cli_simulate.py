"""The `radiolib simulate` command: a thin wrapper over radiolib.sky.simulate."""

import pandas as pd
import pytest
from astropy.io import fits

from radiolib.cli import main


def test_simulate_writes_image_catalogue_segmap(tmp_path, capsys):
    assert main(["simulate", "--preset", "mgcls", "--size", "256", "--seed", "1",
                 "--out", str(tmp_path)]) == 0
    printed = capsys.readouterr().out
    assert "mgcls field 256x256 px, seed 1" in printed
    with fits.open(tmp_path / "mgcls_1.fits") as hdul:
        assert hdul[0].data.shape == (256, 256) and "BMAJ" in hdul[0].header
    cat = pd.read_csv(tmp_path / "mgcls_1_catalogue.csv", keep_default_na=False)
    assert f"{(cat['kind'] == 'source').sum()} sources" in printed


def test_simulate_unknown_preset_exits_with_usage(tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["simulate", "--preset", "nosuch", "--out", str(tmp_path)])
    assert exc.value.code == 2
    assert "invalid choice" in capsys.readouterr().err
