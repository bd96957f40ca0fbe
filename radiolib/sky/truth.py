"""Ground-truth labels: RGZ components-peaks classes, detection classes, frame labels, counts.

Works on any catalogue with the simulator's columns (a pandas DataFrame, an astropy Table or a
dict of arrays). Boxes are half-open pixel boxes ``(x0, y0, x1, y1)``: ``data[y0:y1, x0:x1]``.

- RGZ classes (Wu et al. 2019): ``{islands}C-{peaks}P`` for 1C-1P, 1C-2P, 1C-3P, 2C-2P, 2C-3P,
  3C-3P (counts above 3 are capped at 3; other combinations get no class).
- Detection classes (Riggi et al. 2023/2024): SPURIOUS (artefact), COMPACT, EXTENDED,
  EXTENDED-MULTISLAND, FLAGGED (a source inside a significant artefact).
- Frame labels (Riggi et al. 2024, hulk tiles): BACKGROUND, COMPACT, EXTENDED, RADIO-GALAXY,
  DIFFUSE, DIFFUSE-LARGE, FILAMENT, ARTEFACT, PECULIAR, MOSAICKING.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
from scipy import ndimage

from radiolib.tiling.boxes import count_in_boxes

__all__ = ["CLASS_FRAME", "DET_CLASSES", "FRAME_LABELS", "PRIORITY", "RGZ_CLASSES",
           "det_class", "frame_labels", "islands_and_peaks", "label_matrix", "primary_label",
           "rgz_class", "source_counts"]

RGZ_CLASSES = ("1C-1P", "1C-2P", "1C-3P", "2C-2P", "2C-3P", "3C-3P")
DET_CLASSES = ("SPURIOUS", "COMPACT", "EXTENDED", "EXTENDED-MULTISLAND", "FLAGGED")
FRAME_LABELS = ("BACKGROUND", "COMPACT", "EXTENDED", "RADIO-GALAXY", "DIFFUSE", "DIFFUSE-LARGE",
                "FILAMENT", "ARTEFACT", "PECULIAR", "MOSAICKING")
# rarest / most specific first: the primary label of a tile is its first label in this order
PRIORITY = ("PECULIAR", "FILAMENT", "DIFFUSE-LARGE", "DIFFUSE", "RADIO-GALAXY", "EXTENDED",
            "ARTEFACT", "MOSAICKING", "COMPACT", "BACKGROUND")
CLASS_FRAME = {
    "compact": "COMPACT", "resolved": "EXTENDED",
    **dict.fromkeys(("fri", "frii", "wat", "ht", "hybrid"), "RADIO-GALAXY"),
    **dict.fromkeys(("ring", "xshaped", "ddrg"), "PECULIAR"),
    "filament": "FILAMENT",
    **dict.fromkeys(("halo", "relic", "hii", "snr", "cloud"), "DIFFUSE"),
    "sidelobes": "ARTEFACT", "seam": "MOSAICKING",
}
_DIFFUSE = "DIFFUSE"


def rgz_class(n_islands: int, n_peaks: int) -> str:
    """RGZ class ``'{C}C-{P}P'`` (C, P capped at 3), or ``''`` if undetected or not an RGZ class."""
    c, p = min(int(n_islands), 3), min(int(n_peaks), 3)
    name = f"{c}C-{p}P"
    return name if name in RGZ_CLASSES else ""


def det_class(kind: str, cls: str, n_islands: int, flagged: bool = False) -> str:
    """Return the detection class of an object (``''`` for undetected sources and seams)."""
    if kind == "artefact":
        return "SPURIOUS"
    if kind != "source" or n_islands == 0:
        return ""
    if flagged:
        return "FLAGGED"
    if n_islands >= 2:
        return "EXTENDED-MULTISLAND"
    return "COMPACT" if cls == "compact" else "EXTENDED"


def islands_and_peaks(stamp: np.ndarray, threshold: float, beam_px: float) -> tuple[int, int]:
    """Count islands (8-connected, >= ``threshold``, >= 1/4 beam area) and local peaks in them."""
    above = stamp >= threshold
    if not above.any():
        return 0, 0
    labels, n = ndimage.label(above, structure=np.ones((3, 3)))
    area = np.bincount(labels.ravel(), minlength=n + 1)[1:]
    keep = np.flatnonzero(area >= max(1.0, 0.25 * np.pi * beam_px**2 / (4 * np.log(2)))) + 1
    if keep.size == 0:
        return 0, 0
    size = max(3, int(np.ceil(beam_px)) | 1)
    peaks = (stamp == ndimage.maximum_filter(stamp, size=size)) & np.isin(labels, keep)
    return int(keep.size), int(max(1, np.count_nonzero(peaks)))


def _col(catalogue, name) -> np.ndarray:
    return np.asarray(catalogue[name])


def _boxes(boxes) -> np.ndarray:
    b = np.asarray(boxes, dtype=float).reshape(-1, 4)
    if np.any(b[:, 2] <= b[:, 0]) or np.any(b[:, 3] <= b[:, 1]):
        raise ValueError("boxes must be (x0, y0, x1, y1) with x1 > x0 and y1 > y0")
    return b


def _visible(catalogue, snr_min: float) -> np.ndarray:
    kind = _col(catalogue, "kind").astype(str)
    return (kind != "source") | (_col(catalogue, "snr") >= snr_min)


def frame_labels(catalogue, boxes, *, snr_min: float = 5.0, min_overlap: float = 0.25,
                 large_fraction: float = 0.5) -> list[frozenset[str]]:
    """Frame labels of each box from the objects it contains.

    An object is in a box when its bounding box overlaps the box by at least ``min_overlap``
    of the smaller of the two areas, and it is visible (sources need ``snr >= snr_min``;
    artefacts and seams always count). A DIFFUSE object covering at least ``large_fraction``
    of the box makes it DIFFUSE-LARGE. A box with no object is BACKGROUND.

    Parameters
    ----------
    catalogue : DataFrame, Table or dict
        Columns ``kind, class, snr, x0, y0, x1, y1``.
    boxes : array-like, shape (n, 4)
        Pixel boxes ``(x0, y0, x1, y1)``.

    Returns
    -------
    list of frozenset of str
        One label set per box.
    """
    b = _boxes(boxes)
    vis = _visible(catalogue, snr_min)
    ob = np.column_stack([_col(catalogue, k) for k in ("x0", "y0", "x1", "y1")]).astype(float)[vis]
    cat = np.array([CLASS_FRAME.get(str(c), "") for c in _col(catalogue, "class")], dtype=object)
    cat = cat[vis] if len(cat) else np.zeros(0, dtype=object)
    oarea = (ob[:, 2] - ob[:, 0]) * (ob[:, 3] - ob[:, 1])
    index = _GridIndex(ob, cell=max(32.0, float(np.median(b[:, 2] - b[:, 0]))))
    out = []
    for x0, y0, x1, y1 in b:
        s = index.query(x0, y0, x1, y1)
        ix = np.clip(np.minimum(ob[s, 2], x1) - np.maximum(ob[s, 0], x0), 0, None)
        iy = np.clip(np.minimum(ob[s, 3], y1) - np.maximum(ob[s, 1], y0), 0, None)
        inter, area = ix * iy, (x1 - x0) * (y1 - y0)
        hit = (inter > 0) & (inter >= min_overlap * np.minimum(oarea[s], area) - 1e-9)
        labels = {str(c) for c in cat[s][hit]} - {""}
        diffuse = hit & (cat[s] == _DIFFUSE)
        if np.any(diffuse & (inter >= large_fraction * area)):
            labels.add("DIFFUSE-LARGE")
            if not np.any(diffuse & (inter < large_fraction * area)):
                labels.discard(_DIFFUSE)
        out.append(frozenset(labels) if labels else frozenset({"BACKGROUND"}))
    return out


class _GridIndex:
    """Objects' bounding boxes hashed into square cells, to find those near a query box."""

    def __init__(self, boxes: np.ndarray, cell: float):
        self.cell = cell
        c = np.floor(boxes / cell).astype(np.int64)
        c[:, 2:] = np.maximum(c[:, :2], np.floor((boxes[:, 2:] - 1e-9) / cell))
        nx, ny = c[:, 2] - c[:, 0] + 1, c[:, 3] - c[:, 1] + 1
        obj = np.repeat(np.arange(len(boxes)), nx * ny)
        first = np.repeat(np.cumsum(nx * ny) - nx * ny, nx * ny)
        k = np.arange(obj.size) - first
        gx, gy = c[obj, 0] + k % nx[obj], c[obj, 1] + k // nx[obj]
        self.keys = gy * (1 << 24) + gx
        order = np.argsort(self.keys, kind="stable")
        self.keys, self.obj = self.keys[order], obj[order]

    def query(self, x0, y0, x1, y1) -> np.ndarray:
        """Return the indices of objects registered in the cells that the box overlaps."""
        cx0, cy0 = int(np.floor(x0 / self.cell)), int(np.floor(y0 / self.cell))
        cx1, cy1 = int(np.floor((x1 - 1e-9) / self.cell)), int(np.floor((y1 - 1e-9) / self.cell))
        parts = []
        for gy in range(cy0, cy1 + 1):
            lo = np.searchsorted(self.keys, gy * (1 << 24) + cx0, side="left")
            hi = np.searchsorted(self.keys, gy * (1 << 24) + cx1, side="right")
            parts.append(self.obj[lo:hi])
        return np.unique(np.concatenate(parts)) if parts else np.zeros(0, int)


def primary_label(labels: Iterable[str]) -> str:
    """Return the primary label of a tile: its first label in `PRIORITY` (rarest first)."""
    labels = set(labels)
    return next((p for p in PRIORITY if p in labels), "BACKGROUND")


def label_matrix(label_sets: Iterable[Iterable[str]]) -> np.ndarray:
    """Multi-hot matrix (n, 10) of label sets, columns in `FRAME_LABELS` order."""
    sets = [set(s) for s in label_sets]
    return np.array([[name in s for name in FRAME_LABELS] for s in sets], dtype=bool
                    ).reshape(len(sets), len(FRAME_LABELS))


def source_counts(catalogue, boxes, *, snr_min: float = 5.0, flux_min: float | None = None,
                  components: bool = False) -> np.ndarray:
    """Count sources with ``snr >= snr_min`` (and ``flux >= flux_min``) centred in each box.

    Our stand-in for Lastufka et al. 2024's regression target, the number of compact-catalogue
    (PyBDSF) sources in a crop; the centre is the catalogue's ``(x, y)``, counted with the pixel
    convention of `radiolib.tiling.count_in_boxes`. ``components``: a source counts as its
    ``n_components`` (at least 1), as the MIGHTEE catalogue lists every component of a
    multi-Gaussian source where MGCLS's drops them (Lastufka et al. Sect. 2.3); all are
    placed at the source's centre.
    """
    boxes = _boxes(boxes)  # validates the shape
    keep = (_col(catalogue, "kind").astype(str) == "source") & (_col(catalogue, "snr") >= snr_min)
    if flux_min is not None:
        keep &= _col(catalogue, "flux") >= flux_min
    x, y = _col(catalogue, "x")[keep], _col(catalogue, "y")[keep]
    if components:
        n = np.maximum(np.asarray(_col(catalogue, "n_components")[keep], dtype=np.int64), 1)
        x, y = np.repeat(x, n), np.repeat(y, n)
    return count_in_boxes(x, y, boxes)
