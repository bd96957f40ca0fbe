"""Frame labels as a person would set them: only what is visible in the tile (Riggi et al. 2024).

`radiolib.sky.frame_labels` labels a tile from the bounding boxes of the objects near it, so a
faint ring whose box grazes a corner makes a PECULIAR tile that looks like a plain compact
field, and a mosaic seam half a sigma high makes a MOSAICKING one. :func:`visible_labels`
reads the simulator's segmentation map (each object's pixels above 3 sigma of the local noise,
or above half its peak when fainter) instead, and sets a label only when the object is
visible in the tile:

- its peak reaches ``snr_min`` (5) times the local noise;
- at least ``min_fraction`` (three quarters) of its mask lies inside the tile (of the tile,
  for an object larger than the tile): a shape cut by the tile's edge is not judged;
- for every label but COMPACT, the part inside covers at least ``min_beams`` (3) beam areas,
  since a shape smaller than that cannot be told apart from a point source by eye;
- DIFFUSE-LARGE when a diffuse object's mask covers ``large_fraction`` (half) of the tile
  (Sect. 5.1);
- MOSAICKING when a seam's pedestal step reaches ``seam_step_min`` (2) noise sigmas and it
  runs along at least half of the tile side (seams marked only by a change of noise level
  are left unlabelled: a 25 % change of rms is not seen in one tile).

A tile with nothing visible is BACKGROUND.
"""

from __future__ import annotations

import numpy as np

from radiolib.sky.truth import CLASS_FRAME

__all__ = ["beam_area", "mask_areas", "visible_labels"]

_STRIP = 1024


def beam_area(header) -> float:
    """Area of the Gaussian beam of a FITS header (BMAJ, BMIN, CDELT2) in pixels."""
    pix = abs(float(header["CDELT2"]))
    return float(np.pi * header["BMAJ"] * header["BMIN"] / (4 * np.log(2)) / pix**2)


def mask_areas(segmap) -> np.ndarray:
    """Pixels of every object id in a segmentation map (index = id), read in row strips."""
    total = np.zeros(1, np.int64)
    for y in range(0, segmap.shape[0], _STRIP):
        counts = np.bincount(np.asarray(segmap[y:y + _STRIP]).ravel().astype(np.int64))
        if counts.size > total.size:
            counts[: total.size] += total
            total = counts
        else:
            total[: counts.size] += counts
    return total


def visible_labels(catalogue, segmap, boxes, *, beam_area_px: float, snr_min: float = 5.0,
                   min_fraction: float = 0.75, min_beams: float = 3.0,
                   large_fraction: float = 0.5, seam_step_min: float = 2.0,
                   ) -> list[frozenset[str]]:
    """Frame labels of each box (x0, y0, x1, y1) from what is visible in it (module docstring).

    ``catalogue`` has the simulator's columns (``id, kind, class, snr, x0, y0, x1, y1``);
    ``segmap`` is its segmentation map (2-D ids, may be memory-mapped); ``beam_area_px`` the
    beam's area in pixels.
    """
    ids = np.asarray(catalogue["id"], np.int64)
    kind = np.asarray(catalogue["kind"]).astype(str)
    label = np.array([CLASS_FRAME.get(str(c), "") for c in catalogue["class"]], dtype=object)
    snr = np.asarray(catalogue["snr"], float)
    area = mask_areas(segmap)
    max_id = max(int(ids.max()) if ids.size else 0, area.size - 1)
    by_id = np.full(max_id + 1, -1, np.int64)
    by_id[ids] = np.arange(ids.size)
    total = np.zeros(max_id + 1, np.int64)
    total[: area.size] = area
    seams = np.flatnonzero(kind == "mosaicking")
    sbox = np.column_stack([np.asarray(catalogue[k], float)[seams]
                            for k in ("x0", "y0", "x1", "y1")]).reshape(-1, 4)
    out = []
    for x0, y0, x1, y1 in np.asarray(boxes, np.int64).reshape(-1, 4):
        tile_area = (x1 - x0) * (y1 - y0)
        found, counts = np.unique(np.asarray(segmap[y0:y1, x0:x1]), return_counts=True)
        keep = found > 0
        found, counts = found[keep], counts[keep]
        rows = by_id[found]
        known = rows >= 0
        found, counts, rows = found[known], counts[known], rows[known]
        ref = np.minimum(total[found], tile_area)
        vis = (counts >= min_fraction * ref) & ((kind[rows] != "source") | (snr[rows] >= snr_min))
        labels = set()
        for row, n in zip(rows[vis], counts[vis], strict=True):
            name = label[row]
            if not name:
                continue
            if name != "COMPACT" and n < min_beams * beam_area_px:
                continue
            if name == "DIFFUSE" and n >= large_fraction * tile_area:
                name = "DIFFUSE-LARGE"
            labels.add(name)
        for k, (sx0, sy0, sx1, sy1) in zip(seams, sbox, strict=True):
            along = max(min(sx1, x1) - max(sx0, x0), 0), max(min(sy1, y1) - max(sy0, y0), 0)
            if (snr[k] >= seam_step_min and min(along) > 0
                    and max(along) >= 0.5 * min(x1 - x0, y1 - y0)):
                labels.add("MOSAICKING")
        out.append(frozenset(labels) if labels else frozenset({"BACKGROUND"}))
    return out
