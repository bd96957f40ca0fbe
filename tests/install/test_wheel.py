"""radiolib installed from a wheel, not the checkout: the command finds its configs, manifests
and profiles as package data and works from any folder (issue 11)."""

from __future__ import annotations

import os
import shutil
import site as site_module
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

# what a checkout holds that a build never reads: environments, caches, generated book files
SKIP = {".venv", ".git", "__pycache__", ".pytest_cache", ".ruff_cache", "build", "dist"}
SKIP_BOOK = {"_build", "notebooks", "_results", "_work", "_failed", "_screenshots"}


def _ignore(folder: str, names: list[str]) -> set[str]:
    skip = SKIP | (SKIP_BOOK if Path(folder).name == "book" else set())
    return {n for n in names if n in skip or n.endswith(".egg-info")}


def _run(args: list, cwd: Path, env: dict | None = None) -> str:
    done = subprocess.run([str(a) for a in args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, f"{args}:\n{done.stdout}\n{done.stderr}"
    return done.stdout


@pytest.fixture(scope="module")
def installed(tmp_path_factory, repo_root) -> Path:
    """Build a wheel from a copy of the checkout and install it into a fresh venv.

    Nothing is downloaded: the wheel is built without isolation (setuptools of this
    environment) and installed without dependencies; the venv then sees this environment's
    packages (torch, astropy, ...) through a ``.pth`` file written after the install, so that
    pip never touches them.
    """
    tmp = tmp_path_factory.mktemp("install")
    src = tmp / "src"
    shutil.copytree(repo_root, src, ignore=_ignore)  # the build writes next to its sources
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
          "--no-index", "--quiet", "-w", tmp / "dist", src], cwd=tmp)
    wheel, = (tmp / "dist").glob("radiolib-*.whl")
    venv = tmp / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", venv], cwd=tmp)
    python = venv / "bin" / "python"
    _run([sys.executable, "-m", "pip", "--python", python, "install", "--no-deps", "--no-index",
          "--quiet", wheel], cwd=tmp)
    site = _run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                cwd=tmp).strip()
    ours = dict.fromkeys([*site_module.getsitepackages(), sysconfig.get_paths()["purelib"]])
    Path(site, "radiolib_test_dependencies.pth").write_text("\n".join(ours) + "\n")
    return venv


@pytest.mark.slow
def test_installed_commands_work_from_any_folder(installed, tmp_path, repo_root):
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("RADIOLIB_") and k not in ("PYTHONPATH", "PYTHONHOME")}
    env.update(RADIOLIB_DATA=str(tmp_path / "data"), MPLBACKEND="Agg")
    radiolib = installed / "bin" / "radiolib"

    def run(*args: object) -> str:
        return _run([radiolib, *args], cwd=tmp_path, env=env)

    python = installed / "bin" / "python"
    where = _run([python, "-c", "import radiolib; print(radiolib.__file__)"], cwd=tmp_path, env=env)
    assert Path(where.strip()).is_relative_to(installed)
    assert not Path(where.strip()).is_relative_to(repo_root)

    listing = run("fetch", "--list")
    assert "mirabest " in listing and "manual (see its manifest)" in listing

    out = run("simulate", "--preset", "emupilot", "--size", "256", "--seed", "1", "--out", "sim")
    fits = tmp_path / "sim" / "emupilot_1.fits"
    assert "256x256 px" in out and fits.is_file()

    out = run("preprocess", fits, "--scaling", "zscale", "--out", "pre")
    assert out.startswith("1 written, 0 failed") and (tmp_path / "pre" / "emupilot_1.npy").is_file()

    run("tile", fits, "--mode", "hulk", "--size", "64", "--out", "tiles")
    out = run("pretrain", "--config", "simclr_riggi", "--data", "tiles", "--out", "run",
              "--device", "cpu", "--quiet", "--set", "image_size=32", "--set", "batch_size=4",
              "--set", "num_workers=0", "--set", "proj_hidden_dim=16", "--epochs", "1",
              "--max-steps", "1")
    assert out.startswith("simclr_riggi: step 1,")
    assert (tmp_path / "run" / "checkpoint.pt").is_file()

    # the DINO recipes' `base:` file resolves inside the installed package; profiles are there
    check = ("from radiolib.ssl.config import list_configs, load_config\n"
             "from radiolib.reproduce import list_profiles\n"
             "print(load_config('dino_vits8').momentum_teacher, list_configs(), list_profiles())")
    out = _run([python, "-c", check], cwd=tmp_path, env=env)
    assert out.split()[0] == "0.996" and "simclr_riggi" in out and "'smoke'" in out
