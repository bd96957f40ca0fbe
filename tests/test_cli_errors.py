"""Every subcommand meets a bad path or an interruption with one line, not a traceback.

Issue 12. The walk runs each subcommand in-process against an unwritable output folder, an
output path that is a file, and a real Ctrl-C (SIGINT sent to this process while the command
writes), and checks the exit code, that stderr is one line without 'Traceback', and that no
temporary file is left. Tests run as root on CI, where permissions do not stop a write: there
the unwritable folder is made by refusing writes under it at the os/open level.
"""

from __future__ import annotations

import builtins
import errno
import io
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from astropy.io import fits

import radiolib.capacity
from radiolib.cli import main
from radiolib.errors import ConfigError
from radiolib.io import write_fits

REPO = Path(__file__).resolve().parents[1]
IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0
ALLOWED_HIDDEN = {".toy.lock"}  # fetch's lock file, by design


# ------------------------------------------------------------------------------- inputs
def _field(path: Path, size: int = 128, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    header = fits.Header({"CTYPE1": "RA---SIN", "CTYPE2": "DEC--SIN", "CRVAL1": 150.0,
                          "CRVAL2": -30.0, "CRPIX1": size / 2, "CRPIX2": size / 2,
                          "CDELT1": -2 / 3600, "CDELT2": 2 / 3600, "BMAJ": 6 / 3600,
                          "BMIN": 5 / 3600, "BPA": 0.0, "BUNIT": "Jy/beam"})
    return write_fits(path, rng.normal(0, 1e-4, (size, size)).astype(np.float32), header)


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> dict[str, Path]:
    """A FITS field, a TileSet of it, and a toy dataset (manifest + mirror) for fetch."""
    from radiolib.tiling import tile_fits

    root = tmp_path_factory.mktemp("inputs")
    field = _field(root / "field.fits")
    tile_fits(field, "hulk", out_dir=root / "tiles", size=32, overlap=0.5)
    (root / "mirror" / "toy").mkdir(parents=True)
    data = b"hello radio sky\n" * 100
    (root / "mirror" / "toy" / "hello.txt").write_bytes(data)
    (root / "manifests").mkdir()
    import hashlib

    manifest = {"name": "toy", "title": "Toy dataset", "description": "For tests.",
                "citation": "Nobody 2024", "licence": "CC0", "homepage": "https://example.org",
                "downloadable": True, "layout": {"hello.txt": "text"},
                "files": [{"path": "hello.txt", "url": "https://example.invalid/hello.txt",
                           "mirror": "toy/hello.txt", "size": len(data), "extract": "none",
                           "sha256": hashlib.sha256(data).hexdigest()}]}
    (root / "manifests" / "toy.yaml").write_text(yaml.safe_dump(manifest))
    return {"field": field, "tiles": root / "tiles", "mirror": root / "mirror",
            "manifests": root / "manifests"}


@pytest.fixture(autouse=True)
def _environment(monkeypatch, inputs):
    monkeypatch.setenv("RADIOLIB_MANIFESTS", str(inputs["manifests"]))
    monkeypatch.delenv("RADIOLIB_MIRROR", raising=False)


# Each subcommand, writing to OUT: argv, and the library function it calls while it works
# (Ctrl-C is sent from there when the command renames no file into OUT).
def _commands(i: dict[str, Path]) -> dict:
    tiny = ["--set", "image_size=32", "--set", "batch_size=8", "--set", "proj_hidden_dim=32",
            "--set", "proj_out_dim=16", "--set", "num_workers=0", "--epochs", "1"]
    return {
        "fetch": lambda out: ["fetch", "toy", "--data-dir", str(out), "--mirror",
                              str(i["mirror"]), "--quiet"],
        "inspect": lambda out: ["inspect", str(i["field"])],
        "preprocess": lambda out: ["preprocess", str(i["field"]), "--scaling", "minmax",
                                   "--preview", "--out", str(out)],
        "simulate": lambda out: ["simulate", "--size", "256", "--out", str(out)],
        "tile": lambda out: ["tile", str(i["field"]), "--mode", "hulk", "--size", "32",
                             "--out", str(out)],
        "pretrain": lambda out: ["pretrain", "--config", "simclr_riggi", "--data",
                                 str(i["tiles"]), "--out", str(out), "--max-steps", "1",
                                 "--device", "cpu", "--quiet", *tiny],
        "reproduce": lambda out: ["reproduce", "--profile", "smoke", "--only",
                                  "01_data_and_scaling", "--book-dir", str(out)],
    }


WRITERS = ["fetch", "preprocess", "simulate", "tile", "pretrain", "reproduce"]
ALL = ["fetch", "inspect", *WRITERS[1:]]
# where Ctrl-C is sent for the commands that do not rename files into OUT before it
WORKING = {"inspect": ("radiolib.io", "describe"), "reproduce": ("radiolib.reproduce", "_plan")}


def run(argv, capsys) -> tuple[int, list[str]]:
    code = main(argv)
    err = capsys.readouterr().err
    return code, [line for line in err.splitlines() if line.strip()]


def assert_one_line(code: int, lines: list[str], expected: int = 2) -> str:
    assert code == expected, lines
    assert len(lines) == 1, lines
    assert "Traceback" not in lines[0]
    return lines[0]


def leftovers(folder: Path) -> list[Path]:
    """Temporary files and folders under ``folder``: hidden names, or pooch's tmp* names."""
    return [p for p in folder.rglob("*") if p.name not in ALLOWED_HIDDEN
            and (p.name.startswith(".") or p.name.startswith("tmp"))]


# ------------------------------------------------------------- an unwritable output folder
def _deny_writes_under(monkeypatch, folder: Path) -> None:
    """Refuse, as the kernel would, every creation or write of a file or folder in ``folder``."""
    root = os.path.abspath(folder)

    def inside(path) -> bool:
        if isinstance(path, int):
            return False
        full = os.path.abspath(os.fsdecode(path))
        return full == root or full.startswith(root + os.sep)

    def denied(path):
        return PermissionError(errno.EACCES, os.strerror(errno.EACCES), os.fspath(path))

    real = {"open": builtins.open, "os_open": os.open, "mkdir": os.mkdir,
            "replace": os.replace, "rename": os.rename}
    write_flags = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC

    def fake_open(file, mode="r", *args, **kwargs):
        if any(c in mode for c in "wax+") and inside(file):
            raise denied(file)
        return real["open"](file, mode, *args, **kwargs)

    def fake_os_open(path, flags, *args, **kwargs):
        if flags & write_flags and inside(path):
            raise denied(path)
        return real["os_open"](path, flags, *args, **kwargs)

    def fake_mkdir(path, *args, **kwargs):
        if inside(path) and os.path.abspath(os.fsdecode(path)) != root:
            raise denied(path)
        return real["mkdir"](path, *args, **kwargs)

    def fake_move(name):
        def move(src, dst, *args, **kwargs):
            if inside(dst):
                raise denied(dst)
            return real[name](src, dst, *args, **kwargs)
        return move

    monkeypatch.setattr(builtins, "open", fake_open)
    monkeypatch.setattr(io, "open", fake_open)
    monkeypatch.setattr(os, "open", fake_os_open)
    monkeypatch.setattr(os, "mkdir", fake_mkdir)
    monkeypatch.setattr(os, "replace", fake_move("replace"))
    monkeypatch.setattr(os, "rename", fake_move("rename"))


@pytest.fixture(params=["permissions", "refused"])
def unwritable(request, tmp_path, monkeypatch) -> Path:
    """A folder nothing can be written in: by its permissions, or writes refused under it."""
    folder = tmp_path / "work" / "read-only"
    folder.mkdir(parents=True)
    if request.param == "permissions":
        if IS_ROOT:
            pytest.skip("root ignores folder permissions; the 'refused' case covers root")
        folder.chmod(0o555)
        request.addfinalizer(lambda: folder.chmod(0o755))
    else:
        _deny_writes_under(monkeypatch, folder)
    return folder


@pytest.mark.parametrize("command", WRITERS)
def test_unwritable_output_folder_is_one_line(command, unwritable, inputs, capsys):
    argv = _commands(inputs)[command](unwritable / "out")
    line = assert_one_line(*run(argv, capsys))
    assert "read-only" in line  # the message names the path
    assert not list(unwritable.iterdir())


@pytest.mark.parametrize("command", ["preprocess", "simulate", "pretrain"])
def test_unwritable_existing_output_folder_is_one_line(command, unwritable, inputs, capsys):
    """The folder itself as the output (it exists): the first write fails, one line."""
    line = assert_one_line(*run(_commands(inputs)[command](unwritable), capsys))
    assert "read-only" in line
    assert not list(unwritable.iterdir())


# ----------------------------------------------------------- an output path that is a file
@pytest.mark.parametrize("command", WRITERS)
@pytest.mark.parametrize("where", ["file", "under-file"])
def test_output_path_that_is_a_file_is_one_line(command, where, tmp_path, inputs, capsys):
    work = tmp_path / "work"
    work.mkdir()
    taken = work / "taken"
    taken.write_bytes(b"the user's own file")
    out = taken if where == "file" else taken / "out"
    assert_one_line(*run(_commands(inputs)[command](out), capsys))
    assert taken.read_bytes() == b"the user's own file"
    assert sorted(p.name for p in work.iterdir()) == ["taken"]


# ----------------------------------------------------------------------- Ctrl-C / SIGTERM
def _signal_while_working(monkeypatch, command: str, folder: Path, signum: int) -> list:
    """Send ``signum`` to this process when the command renames its first file into
    ``folder`` (its temporary files exist then), or from the library function it works in."""
    sent = []

    def send():
        if not sent:
            sent.append(signum)
            os.kill(os.getpid(), signum)  # Python runs the handler at the next bytecode

    if command in WORKING:
        module, name = WORKING[command]
        import importlib

        mod = importlib.import_module(module)
        real = getattr(mod, name)

        def working(*args, **kwargs):
            send()
            return real(*args, **kwargs)

        monkeypatch.setattr(mod, name, working)
        return sent
    root = os.path.abspath(folder)
    for name in ("replace", "rename"):
        real_move = getattr(os, name)

        def move(src, dst, *args, _real=real_move, **kwargs):
            if os.path.abspath(os.fsdecode(dst)).startswith(root):
                send()
            return _real(src, dst, *args, **kwargs)

        monkeypatch.setattr(os, name, move)
    return sent


@pytest.mark.parametrize("command", ALL)
def test_ctrl_c_is_one_line_exit_130_and_leaves_no_temporary_file(command, tmp_path, inputs,
                                                                  monkeypatch, capsys):
    # as in a terminal, whatever started the tests (a background job inherits SIGINT ignored)
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        _ctrl_c_case(command, tmp_path, inputs, monkeypatch, capsys)
    finally:
        signal.signal(signal.SIGINT, previous)


def _ctrl_c_case(command, tmp_path, inputs, monkeypatch, capsys):
    work = tmp_path / "work"
    work.mkdir()
    sent = _signal_while_working(monkeypatch, command, work, signal.SIGINT)
    line = assert_one_line(*run(_commands(inputs)[command](work / "out"), capsys), 130)
    assert sent == [signal.SIGINT]
    assert "interrupted" in line
    assert leftovers(work) == []
    if command == "simulate":  # stopped at its first rename: none of its three files exists
        assert not [p for p in (work / "out").iterdir()]


@pytest.mark.parametrize("command", ["simulate", "tile", "preprocess", "pretrain"])
def test_sigterm_is_one_line_exit_143_and_leaves_no_temporary_file(command, tmp_path, inputs,
                                                                   monkeypatch, capsys):
    work = tmp_path / "work"
    work.mkdir()
    before = signal.getsignal(signal.SIGTERM)
    sent = _signal_while_working(monkeypatch, command, work, signal.SIGTERM)
    line = assert_one_line(*run(_commands(inputs)[command](work / "out"), capsys), 143)
    assert sent == [signal.SIGTERM] and "SIGTERM" in line
    assert leftovers(work) == []
    if command == "tile":  # a TileSet appears whole or not at all
        assert not (work / "out").exists()
    assert signal.getsignal(signal.SIGTERM) == before  # main() restores the handler


def _default_signals() -> None:
    """In the child: SIGINT handled by default even when the tests run as a background job."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.mark.slow
@pytest.mark.parametrize("signum, code, words", [(signal.SIGINT, 130, "interrupted"),
                                                 (signal.SIGTERM, 143, "SIGTERM")])
def test_signal_from_outside_during_simulate(signum, code, words, tmp_path):
    """The real thing: a signal to a `radiolib simulate` process once its temporary files exist."""
    out = tmp_path / "out"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen([sys.executable, "-m", "radiolib.cli", "simulate", "--size", "3072",
                             "--out", str(out)], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True,
                            preexec_fn=_default_signals)  # as from a terminal
    deadline = time.monotonic() + 120
    while not (out.is_dir() and any(p.name.startswith(".") for p in out.iterdir())):
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "no temporary file appeared"
        time.sleep(0.02)
    proc.send_signal(signum)
    _, err = proc.communicate(timeout=60)
    lines = [line for line in err.splitlines() if line.strip()]
    assert proc.returncode == code, err
    assert len(lines) == 1 and words in lines[0], err
    assert list(out.iterdir()) == []


# ------------------------------------------------------------------ the examples
@pytest.mark.parametrize("argv, words", [
    (["--size", "10"], "size must be"), (["--size", "200000"], "size must be"),
    (["--seed", "-1"], "seed must be"), (["--seed", str(2**64)], "seed must be"),
])
def test_simulate_size_or_seed_out_of_range(argv, words, tmp_path, capsys):
    line = assert_one_line(*run(["simulate", *argv, "--out", str(tmp_path / "o")], capsys))
    assert words in line
    assert not (tmp_path / "o").exists()


def test_simulate_131072_is_refused_before_allocating(tmp_path, monkeypatch, capsys):
    """Refused with the numbers whatever this machine has: 16 GiB of memory and 100 of disk."""
    import importlib

    sim = importlib.import_module("radiolib.sky.simulate")  # the module, not the function
    monkeypatch.setattr(radiolib.capacity, "available_memory", lambda: 16 << 30)
    monkeypatch.setattr(radiolib.capacity, "free_disk", lambda path: 100 << 30)
    monkeypatch.setattr(sim, "plan_field", lambda *a, **k: pytest.fail("planned anyway"))
    line = assert_one_line(*run(["simulate", "--size", "131072", "--out",
                                 str(tmp_path / "o")], capsys))
    for words in ("131072 x 131072", "image 64.0 GiB", "segmap 64.0 GiB", "catalogue",
                  "100.0 GiB are free", "of memory but 16.0 GiB are available",
                  "choose a smaller size (about"):
        assert words in line, line
    side = int(line.split("(about ")[1].split()[0])
    assert side % 64 == 0 and 1024 <= side < 131072
    need = sim.estimate_resources("emupilot", size=side)
    assert need["memory"] <= 16 << 30 and need["image"] + need["segmap"] <= 100 << 30
    assert not (tmp_path / "o").exists()


def test_simulate_with_no_room_at_all_says_so(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(radiolib.capacity, "free_disk", lambda path: 0)
    line = assert_one_line(*run(["simulate", "--size", "64", "--out", str(tmp_path)], capsys))
    assert "0 B are free" in line and "free some memory or disk space" in line


@pytest.mark.parametrize("preset", ["emupilot", "smgps", "mgcls"])
def test_simulation_estimates_bound_what_is_written(preset, tmp_path):
    from radiolib.sky import estimate_resources, simulate

    field = simulate(preset, size=512, seed=3, out_dir=tmp_path)
    need = estimate_resources(preset, size=512)
    for key, path in (("image", field.image_path), ("segmap", field.segmap_path),
                      ("catalogue", field.catalogue_path)):
        assert path.stat().st_size <= need[key], key
    big = estimate_resources(preset, size=131072)
    assert big["image"] == big["segmap"] == 2 * 2880 + -(-(131072**2) * 4 // 2880) * 2880
    assert big["memory"] > 40 << 30  # the planning alone of 17 Gpixel


def test_tiling_is_refused_when_the_disk_is_too_small(tmp_path, inputs, monkeypatch, capsys):
    monkeypatch.setattr(radiolib.capacity, "free_disk", lambda path: 1000)
    line = assert_one_line(*run(_commands(inputs)["tile"](tmp_path / "ts"), capsys))
    assert "of disk" in line and "1000 B are free" in line
    assert list(tmp_path.iterdir()) == []


def test_tile_out_dot_overwrite_is_refused_and_leaves_no_stray_folder(tmp_path, inputs,
                                                                      monkeypatch, capsys):
    work = tmp_path / "work"
    work.mkdir()
    (work / "mine.txt").write_text("keep")
    mosaic = _field(work / "mosaic.fits", size=96)
    monkeypatch.chdir(work)
    line = assert_one_line(*run(["tile", "mosaic.fits", "--mode", "hulk", "--size", "32",
                                 "--out", ".", "--overwrite"], capsys))
    assert "current folder" in line
    assert sorted(p.name for p in work.iterdir()) == ["mine.txt", "mosaic.fits"]
    assert mosaic.stat().st_size > 0


def test_fetch_data_dir_naming_a_file(tmp_path, capsys):
    (tmp_path / "f").write_text("x")
    line = assert_one_line(*run(["fetch", "toy", "--data-dir", str(tmp_path / "f")], capsys))
    assert "is a file, not a folder" in line
    assert (tmp_path / "f").read_text() == "x"


def test_pretrain_config_naming_a_folder(tmp_path, inputs, capsys):
    line = assert_one_line(*run(["pretrain", "--config", str(tmp_path), "--data",
                                 str(inputs["tiles"]), "--out", str(tmp_path / "r")], capsys))
    assert "is a folder, not a YAML file" in line and "simclr_riggi" in line


def test_device_cuda_without_cuda_offers_auto(tmp_path, inputs, monkeypatch, capsys):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    line = assert_one_line(*run(["pretrain", "--config", "simclr_riggi", "--data",
                                 str(inputs["tiles"]), "--out", str(tmp_path / "r"),
                                 "--device", "cuda"], capsys))
    assert "no CUDA GPU" in line and "--device auto" in line
    assert not (tmp_path / "r").exists()


def test_select_device(monkeypatch):
    from radiolib.models import select_device

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert select_device(None) == select_device("auto") == torch.device("cpu")
    assert select_device("cpu") == torch.device("cpu")
    for bad in ("cuda", "cuda:0"):
        with pytest.raises(ConfigError, match="no CUDA GPU"):
            select_device(bad)
    with pytest.raises(ConfigError, match="unknown device"):
        select_device("gpu")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    assert select_device("auto") == torch.device("cuda")
    with pytest.raises(ConfigError, match="has 1 CUDA GPU"):
        select_device("cuda:3")


def test_inspect_of_a_folder_is_one_line(tmp_path, capsys):
    assert "not a file" in assert_one_line(*run(["inspect", str(tmp_path)], capsys))


# ------------------------------------------------------------------ bugs keep tracebacks
def test_unexpected_errors_are_not_turned_into_one_line(tmp_path, monkeypatch):
    import radiolib.sky

    def bug(*args, **kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr(radiolib.sky, "simulate", bug)
    with pytest.raises(RuntimeError, match="a bug"):
        main(["simulate", "--out", str(tmp_path)])

    def missing(*args, **kwargs):  # not a path the user gave us to write: a bug too
        raise FileNotFoundError(errno.ENOENT, "No such file or directory", "/internal")

    monkeypatch.setattr(radiolib.sky, "simulate", missing)
    with pytest.raises(FileNotFoundError):
        main(["simulate", "--out", str(tmp_path)])


def test_atomic_path_removes_its_temporary_file_on_ctrl_c(tmp_path):
    from radiolib.files import atomic_path

    (tmp_path / "a.txt").write_text("old")
    with pytest.raises(KeyboardInterrupt), atomic_path(tmp_path / "a.txt") as tmp:
        tmp.write_text("half")
        raise KeyboardInterrupt
    assert [p.name for p in tmp_path.iterdir()] == ["a.txt"]
    assert (tmp_path / "a.txt").read_text() == "old"


def test_every_help_text_renders_its_percent_signs_once():
    """Descriptions are printed as written (only argument help is %-formatted): no "%%"."""
    import argparse

    from radiolib.cli import build_parser

    def parsers(parser):
        yield parser
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for sub in action.choices.values():
                    yield from parsers(sub)

    helps = {p.prog: p.format_help() for p in parsers(build_parser())}
    assert len(helps) > 10
    assert not [prog for prog, text in helps.items() if "%%" in text]
