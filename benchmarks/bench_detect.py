"""Source detection over a mosaic against the bare detector (Riggi et al. Task II, issue 17).

* ``detect_mosaic_vs_bare_forward``: what ``radiolib detect`` does once its model is loaded
  (the mosaic read memory-mapped, cut into half-overlapping tiles, riggi3-scaled, the
  detector run on batches of 8, each source kept once, sky positions, flux, and the FITS, CSV
  and DS9 catalogue written) against the bare Mask R-CNN forward pass under
  ``torch.inference_mode`` over the same tiles, scaled and batched beforehand. Both run the
  model as ``radiolib detect`` sets it up (:func:`radiolib.detect.mosaic.for_catalogue`).
  Pixels per second of the mosaic, as a ratio (target 0.8: tiling, merging and writing must
  not dominate).

CPU sizes: a simulated 160² EMU-like mosaic in 64 px tiles (16 tiles, two batches), a
random-init detector with few proposals, as in the tests. Its untrained heads score every box
alike, so the score threshold is set to 0.05 and each tile keeps its 4 best boxes: the
catalogue then holds about twenty sources, so that merging and writing have work to do.
Checks: the catalogue holds rows, the CSV written has them all, the bare pass found at least
as many boxes as the catalogue kept.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import torch
from _timing import interleaved

SETTINGS = dict(image_size=64, rpn_pre_nms_top_n_test=100, rpn_post_nms_top_n_test=50,
                box_detections_per_img=4, box_score_thresh=0.05, score_threshold=0.05)


def detect_mosaic_vs_bare_forward(size: int = 160, rounds: int = 4) -> dict:
    """``detect_mosaic`` + ``write_catalogue`` vs the bare forward over the same tiles."""
    with tempfile.TemporaryDirectory(prefix="bench_detect_") as tmp:
        return _run(Path(tmp), size, rounds)


def _run(work: Path, size: int, rounds: int) -> dict:
    import pandas as pd

    from radiolib.detect import DetectionImage, build_detector, load_detect_config
    from radiolib.detect.data import to_tensors
    from radiolib.detect.mosaic import detect_mosaic, for_catalogue, tile_starts, write_catalogue
    from radiolib.io import read_fits
    from radiolib.sky import simulate

    field = simulate("emupilot", size=size, seed=0, out_dir=work / "field")
    config = load_detect_config().replace(**SETTINGS)
    model = for_catalogue(build_detector(config, "random:resnet18", device="cpu").eval(), config)
    tile = config.image_size
    data = np.asarray(read_fits(field.image_path).data, np.float32)
    starts = tile_starts(size, tile)
    tiles = [data[y:y + tile, x:x + tile] for y in starts for x in starts]
    images = [DetectionImage(t, np.zeros((0, tile, tile), bool), np.zeros(0, int), np.zeros(0),
                             np.zeros(0, int)) for t in tiles]
    batches = [torch.stack(to_tensors(images[i:i + 8], with_targets=False)[0])
               for i in range(0, len(images), 8)]
    out = work / "catalogue"

    def candidate():
        table = detect_mosaic(field.image_path, model, config, progress=False)
        write_catalogue(table, out)
        return table

    def bare():
        with torch.inference_mode():
            return [r for b in batches for r in model(list(b))]

    t = interleaved({"detect": candidate, "bare": bare}, rounds=rounds)
    table = candidate()
    boxes = sum(int((r["scores"] >= config.score_threshold).sum()) for r in bare())
    written = pd.read_csv(out / "detections.csv")
    pixels = size * size
    return {"name": "detect_mosaic_vs_bare_forward",
            "ratio": round(t["bare"] / t["detect"], 3), "target": 0.8,
            "unit": "x bare forward throughput (mosaic pixels / s)",
            "checks": {"catalogue_not_empty": len(table) > 0,
                       "csv_holds_every_row": len(written) == len(table),
                       "bare_found_the_boxes": boxes >= len(table)},
            "raw": {"mosaic": [size, size], "tile": tile, "tiles": len(tiles),
                    "detections": len(table), "bare_boxes": boxes,
                    "detect_s": round(t["detect"], 3), "bare_s": round(t["bare"], 3),
                    "detect_px_per_s": round(pixels / t["detect"], 1),
                    "bare_px_per_s": round(pixels / t["bare"], 1),
                    "threads": torch.get_num_threads(), "device": "cpu"}}


BENCHMARKS = {"detect_mosaic_vs_bare_forward": detect_mosaic_vs_bare_forward}
