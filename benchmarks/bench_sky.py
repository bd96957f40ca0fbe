"""Simulator throughput: megapixels per second of `radiolib.sky.simulate`, against disk writes.

The baseline is numpy filling the same bytes (image float32 + segmap int32) through
``np.memmap`` and flushing them to disk in the same run: the fastest the simulator could go if
making the sky were free. The simulator draws and renders every source, beam-correlated noise
(an FFT convolution per strip), artefacts, seams and the segmap, so the honest target is
modest: ``ratio >= 0.02`` (2 % of raw write speed; about 0.07 measured on 2 CPU cores).
Field size: ``RADIOLIB_BENCH_SKY_SIZE`` (default 4096; 16384 for a streamed survey mosaic).
"""

from __future__ import annotations

import os
import resource
import tempfile
import time
from pathlib import Path

import numpy as np

SIZE = int(os.environ.get("RADIOLIB_BENCH_SKY_SIZE", "4096"))
PRESET = os.environ.get("RADIOLIB_BENCH_SKY_PRESET", "emupilot")
TARGET = 0.02


def _memmap_fill(folder: Path, size: int) -> float:
    """Seconds numpy takes to write an image and a segmap of ``size``² through np.memmap."""
    start = time.perf_counter()
    for name, dtype in (("img.raw", ">f4"), ("seg.raw", ">i4")):
        mm = np.memmap(folder / name, dtype=dtype, mode="w+", shape=(size, size))
        for y0 in range(0, size, 1024):  # strips, as the simulator does
            mm[y0 : y0 + 1024] = 1
        mm.flush()
        del mm
    return time.perf_counter() - start


def sky_simulate_throughput() -> dict:
    """Megapixels per second of a ``SIZE``² simulated field, as a ratio to np.memmap writes."""
    from radiolib.sky import plan_field
    from radiolib.sky.simulate import write_field

    with tempfile.TemporaryDirectory(prefix="bench-sky-") as tmp:
        folder = Path(tmp)
        baseline_s = min(_memmap_fill(folder, SIZE) for _ in range(2))
        for f in folder.iterdir():
            f.unlink()
        start = time.perf_counter()
        plan = plan_field(PRESET, size=SIZE, seed=0)
        plan_s = time.perf_counter() - start
        write_field(plan, folder)
        total_s = time.perf_counter() - start
    mpix = SIZE * SIZE / 1e6
    sim_rate, disk_rate = mpix / total_s, mpix / baseline_s
    return {
        "name": "sky_simulate_throughput",
        "ratio": round(sim_rate / disk_rate, 4),
        "target": TARGET,
        "unit": "simulator Mpix/s / np.memmap-fill Mpix/s (same bytes, same run)",
        "raw": {
            "preset": PRESET, "size": SIZE, "dqf": plan.dqf,
            "n_objects": len(plan.catalogue),
            "simulate_mpix_per_s": round(sim_rate, 2),
            "memmap_fill_mpix_per_s": round(disk_rate, 1),
            "plan_s": round(plan_s, 2), "render_write_s": round(total_s - plan_s, 2),
            "total_s": round(total_s, 2),
            # whole process so far: includes whatever ran before in the same runner
            "process_peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024,
        },
    }


BENCHMARKS = {"sky_simulate_throughput": sky_simulate_throughput}
