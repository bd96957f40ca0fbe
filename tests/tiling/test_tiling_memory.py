"""Tiling a mosaic larger than the memory budget: resident memory stays bounded."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from radiolib.io import read_fits
from radiolib.tiling import TileSet

CHILD = r"""
import json, sys, tracemalloc
from radiolib.tiling import tile_fits
from radiolib.tiling._reader import MosaicReader
from radiolib.io import read_fits


def peak():  # VmHWM: this process since exec (ru_maxrss would include the parent's size)
    status = dict(line.split(":", 1) for line in open("/proc/self/status").read().splitlines())
    return int(status["VmHWM"].split()[0]) * 1024


tile_fits(sys.argv[3], "hulk", out_dir=sys.argv[4])  # warm up: code, not data, is loaded now
try:
    open("/proc/self/clear_refs", "w").write("5")  # reset the peak to the current size
except OSError:
    pass
before = peak()
tracemalloc.start()
ts = tile_fits(sys.argv[1], "hulk", out_dir=sys.argv[2])
traced = tracemalloc.get_traced_memory()[1]
print(json.dumps({"n": len(ts), "skipped": ts.n_skipped, "rss_increase": peak() - before,
                  "traced_peak": traced, "mapped": MosaicReader(read_fits(sys.argv[1])).mapped}))
"""


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs Linux /proc")
def test_tiling_a_mosaic_larger_than_the_budget(tmp_path, make_mosaic):
    n = 4096
    path = make_mosaic(tmp_path / "big.fits", n, n, nan_border=200, chunk=256)
    file_bytes = path.stat().st_size  # 64 MiB
    budget = file_bytes // 2
    small = make_mosaic(tmp_path / "small.fits", 300, 300)
    args = [str(path), str(tmp_path / "ts"), str(small), str(tmp_path / "warm-up")]
    result = subprocess.run([sys.executable, "-c", CHILD, *args],
                            capture_output=True, text=True, timeout=300, check=True)
    info = json.loads(result.stdout.strip().splitlines()[-1])
    assert info["mapped"]  # pixels read through the releasable mapping
    assert info["n"] + info["skipped"] == 31 * 31 and info["skipped"] > 0
    assert info["rss_increase"] < budget, info
    assert info["traced_peak"] < budget, info
    ts = TileSet.open(tmp_path / "ts")
    assert ts.tiles.shape == (info["n"], 256, 256)
    data = np.asarray(read_fits(path).data)
    for i in (0, len(ts) // 2, len(ts) - 1):  # the stored tiles are the mosaic's boxes
        x0, y0, x1, y1 = ts.boxes[i]
        np.testing.assert_array_equal(ts.tiles[i], data[y0:y1, x0:x1])
