"""Simulator throughput: `radiolib.sky.simulate` against a plain beam convolution of the field.

The baseline makes the least a simulated field needs: white noise of the same size convolved
with the same beam kernel (``scipy.signal.fftconvolve``, the whole field at once) and written
with an empty segmap (float32 + int32 through ``np.memmap``, flushed), in the same run. The
simulator also draws and measures every source, renders sources, artefacts and seams, varies
the noise over the field, convolves in strips (with their margins) and builds the segmap, so it
is slower; the target (0.2) says it spends at most four fifths of its time on all that, i.e.
a field costs at most 5x a bare beam convolution of its size. The old baseline (raw disk
writes only, which the simulator could never approach: 0.05-0.07) is kept in ``raw``.
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
TARGET = 0.2


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


def _beam_convolution(folder: Path, size: int, kernel: np.ndarray) -> float:
    """Seconds to convolve white noise of ``size``² with ``kernel`` and write it (+ segmap)."""
    from scipy.signal import fftconvolve

    start = time.perf_counter()
    white = np.random.default_rng(0).standard_normal((size, size), dtype=np.float32)
    image = fftconvolve(white, kernel.astype(np.float32), mode="same")
    for name, dtype, data in (("img.raw", ">f4", image), ("seg.raw", ">i4", 0)):
        mm = np.memmap(folder / name, dtype=dtype, mode="w+", shape=(size, size))
        mm[:] = data
        mm.flush()
        del mm
    return time.perf_counter() - start


def sky_simulate_throughput() -> dict:
    """Megapixels per second of a ``SIZE``² simulated field, as a ratio to np.memmap writes."""
    from radiolib.sky import plan_field
    from radiolib.sky.simulate import write_field

    with tempfile.TemporaryDirectory(prefix="bench-sky-") as tmp:
        folder = Path(tmp)
        disk_s = min(_memmap_fill(folder, SIZE) for _ in range(2))
        for f in folder.iterdir():
            f.unlink()
        start = time.perf_counter()
        plan = plan_field(PRESET, size=SIZE, seed=0)
        plan_s = time.perf_counter() - start
        write_field(plan, folder)
        total_s = time.perf_counter() - start
        for f in folder.iterdir():
            f.unlink()
        conv_s = min(_beam_convolution(folder, SIZE, plan.kernel) for _ in range(2))
    mpix = SIZE * SIZE / 1e6
    sim_rate, conv_rate, disk_rate = mpix / total_s, mpix / conv_s, mpix / disk_s
    return {
        "name": "sky_simulate_throughput",
        "ratio": round(sim_rate / conv_rate, 4),
        "target": TARGET,
        "unit": "simulator Mpix/s / beam-convolution-and-write Mpix/s (same size, same run)",
        "raw": {
            "preset": PRESET, "size": SIZE, "dqf": plan.dqf,
            "n_objects": len(plan.catalogue), "beam_kernel_px": list(plan.kernel.shape),
            "simulate_mpix_per_s": round(sim_rate, 2),
            "beam_convolution_mpix_per_s": round(conv_rate, 2),
            "memmap_fill_mpix_per_s": round(disk_rate, 1),
            "ratio_vs_memmap_fill": round(sim_rate / disk_rate, 4),
            "plan_s": round(plan_s, 2), "render_write_s": round(total_s - plan_s, 2),
            "total_s": round(total_s, 2),
            # whole process so far: includes whatever ran before in the same runner
            "process_peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024,
        },
    }


BENCHMARKS = {"sky_simulate_throughput": sky_simulate_throughput}
