"""The simulator's driver: plan a field, stream it to FITS in row strips, write its truth.

``simulate("emupilot", size=2048, seed=0, out_dir="sim")`` writes

- ``emupilot_0.fits``: float32 Jy/beam image, RA---SIN/DEC--SIN WCS, BMAJ/BMIN/BPA, DQF;
- ``emupilot_0_segmap.fits``: int32 map holding, in each pixel, the catalogue id of the object
  whose (noise-free) model is brightest there among those reaching their mask threshold
  (3 sigma_local, or half their peak if fainter); 0 = no object. A mask is
  ``segmap[y0:y1, x0:x1] == id`` with the catalogue's bounding box;
- ``emupilot_0_catalogue.csv``: one row per source, artefact and mosaic seam: ``id``, ``kind``
  (source / artefact / mosaicking), ``class`` (morphology: compact, resolved, fri, frii, wat,
  ht, hybrid, xshaped, ddrg, ring, filament, halo, relic, hii, snr, cloud; sidelobes; seam),
  ``ra``, ``dec`` (deg), ``x``, ``y`` (0-based pixels of the centre), ``x_peak``, ``y_peak``,
  ``flux`` (Jy), ``peak`` (Jy/beam, noise-free), ``rms_local``, ``snr``, ``n_components``,
  ``n_peaks``, ``n_islands``, ``x0, y0, x1, y1`` (half-open mask bounding box),
  ``size_arcsec`` (largest box side), ``rgz_class``, ``det_class``, ``frame_label``,
  ``parent`` (source of an artefact). Read it with ``pandas.read_csv(path,
  keep_default_na=False)`` so that empty labels stay empty strings.

Images are written strip by strip, each strip through its own ``np.memmap`` (never the whole
image in memory), to a temporary file renamed into place at the end. The folder's marker
(:mod:`radiolib.outputs`) lists the files ``simulate`` wrote; a file of the same name that it did
not write is never replaced.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from astropy.io import fits

from radiolib.capacity import check_capacity, shortfall
from radiolib.files import atomic_path
from radiolib.io import Image, read_fits
from radiolib.outputs import check_files, write_marker
from radiolib.sky.instrument import correlated_noise
from radiolib.sky.plan import STAMP_BUDGET, FieldPlan, check_size, plan_field
from radiolib.sky.presets import get_preset
from radiolib.sky.render import add_gaussians

__all__ = ["SimulatedField", "StripWriter", "check_resources", "default_strip_rows",
           "estimate_resources", "fits_strips", "render_rows", "simulate", "write_field"]

# Memory and disk per pixel, measured on the three presets at 256..16384 pixels a side and
# their own pixel scale (planning peaks at 1.7 B/pixel, emupilot; catalogues hold at most
# 1.2e-3 rows/pixel, mgcls inside its primary beam, of about 240 B), with a margin of about
# 2; objects per pixel grow with the pixel area.
_PLAN_BYTES_PER_PIXEL = 3.0
_STRIP_BYTES_PER_PIXEL = 48  # the rendered strip's working arrays
_CATALOGUE_BYTES_PER_PIXEL = 2e-3 * 256


@dataclass(frozen=True)
class SimulatedField:
    """A simulated field on disk: image, segmap and catalogue paths, the catalogue, timings."""

    preset: str
    seed: int
    shape: tuple[int, int]
    dqf: int
    image_path: Path
    segmap_path: Path
    catalogue_path: Path
    catalogue: pd.DataFrame
    header: fits.Header
    seconds: float

    @property
    def megapixels_per_s(self) -> float:
        """Throughput of the whole simulation (plan, render and write), megapixels per second."""
        return self.shape[0] * self.shape[1] / 1e6 / self.seconds

    def image(self) -> Image:
        """Read the image (memory-mapped) with `radiolib.io.read_fits`."""
        return read_fits(self.image_path)

    def segmap(self) -> np.ndarray:
        """Return the segmentation map (int32 ids), memory-mapped."""
        with fits.open(self.segmap_path, memmap=True) as hdul:
            return hdul[0].data

    def mask(self, obj_id: int) -> tuple[tuple[int, int, int, int], np.ndarray]:
        """Bounding box ``(x0, y0, x1, y1)`` and boolean mask of catalogue object ``obj_id``."""
        row = self.catalogue.loc[self.catalogue["id"] == obj_id]
        if row.empty:
            raise KeyError(f"no object with id {obj_id} in {self.catalogue_path}")
        x0, y0, x1, y1 = (int(row[c].iloc[0]) for c in ("x0", "y0", "x1", "y1"))
        return (x0, y0, x1, y1), np.asarray(self.segmap()[y0:y1, x0:x1] == obj_id)


def render_rows(plan: FieldPlan, y0: int, y1: int) -> tuple[np.ndarray, np.ndarray]:
    """Render image rows y0..y1-1 (float32 Jy/beam, NaN borders) and their segmap (int32 ids)."""
    ny, nx = plan.shape
    h = y1 - y0
    img = np.zeros((h, nx), np.float32)
    best = np.zeros((h, nx), np.float32)
    lab = np.zeros((h, nx), np.int32)
    p = plan.points
    sel = np.flatnonzero((p["ylo"] < y1) & (p["yhi"] >= y0))
    add_gaussians(img, tuple(t[sel] for t in p["terms"]), (0, y0),
                  claim_args=(best, lab, p["id"][sel], p["thr"][sel]))
    for st in plan.stamps:
        bx0, by0, bx1, by1 = st.box
        if by0 >= y1 or by1 <= y0 or bx0 >= nx or bx1 <= 0:
            continue
        if id(st) not in plan.cache:
            plan.cache[id(st)] = st.stamp if st.stamp is not None else st.render()
        stamp, sx0, sy0 = plan.cache[id(st)]
        ra, rb = max(y0, sy0), min(y1, sy0 + stamp.shape[0])
        ca, cb = max(0, sx0), min(nx, sx0 + stamp.shape[1])
        part = stamp[ra - sy0 : rb - sy0, ca - sx0 : cb - sx0]
        img[ra - y0 : rb - y0, ca:cb] += part
        val = np.abs(part) if st.absolute else part
        win = (val >= st.thr) & (val > best[ra - y0 : rb - y0, ca:cb])
        best[ra - y0 : rb - y0, ca:cb][win] = val[win]
        lab[ra - y0 : rb - y0, ca:cb][win] = st.id
    for st in plan.stamps:  # forget objects that the next strips no longer touch
        if st.box[3] <= y1:
            plan.cache.pop(id(st), None)
            st.stamp = None
    img += correlated_noise(plan.seed, plan.maps, plan.kernel, plan.rms, y0, y1, nx)
    img += plan.maps.rows("offset", y0, y1, 0, nx)
    invalid = plan.maps.rows("inside", y0, y1, 0, nx) < 0
    img[invalid] = np.nan
    lab[invalid] = 0
    return img, lab


class StripWriter:
    """Write the rows of a primary-HDU FITS image strip by strip through ``np.memmap``.

    Each strip is memory-mapped at its own byte offset, written and unmapped, so the resident
    memory stays at one strip whatever the image size.
    """

    def __init__(self, path: Path, header: fits.Header, dtype: str, shape: tuple[int, int]):
        self.dtype = np.dtype(dtype).newbyteorder(">")
        header = header.copy()
        header["BITPIX"] = {"f4": -32, "i4": 32, "f8": -64, "i2": 16}[self.dtype.str[1:]]
        header["NAXIS1"], header["NAXIS2"] = shape[1], shape[0]
        head = header.tostring(padding=True).encode("ascii")
        nbytes = shape[0] * shape[1] * self.dtype.itemsize
        with open(path, "wb") as f:
            f.write(head)
            f.truncate(len(head) + -(-nbytes // 2880) * 2880)  # data padded to 2880 bytes
        self.path, self.offset, self.shape = path, len(head), shape

    def write(self, y0: int, rows: np.ndarray) -> None:
        """Write ``rows`` (h, nx) at image rows y0..y0+h-1."""
        row_bytes = self.shape[1] * self.dtype.itemsize
        mm = np.memmap(self.path, dtype=self.dtype, mode="r+", offset=self.offset + y0 * row_bytes,
                       shape=rows.shape)
        mm[:] = rows
        mm.flush()
        del mm


@contextmanager
def fits_strips(path: str | os.PathLike, header: fits.Header, dtype: str,
                shape: tuple[int, int]) -> Iterator[StripWriter]:
    """Yield a `StripWriter` on a temporary file that replaces ``path`` only on success."""
    with atomic_path(path) as tmp:
        yield StripWriter(tmp, header, dtype, shape)


def default_strip_rows(nx: int) -> int:
    """Rows per strip: about 4 Mpixel per strip, a multiple of 64, in 64..1024."""
    return int(np.clip((4 << 20) // nx // 64 * 64, 64, 1024))


def _segmap_header(header: fits.Header) -> fits.Header:
    h = header.copy()
    for key in ("BUNIT", "BMAJ", "BMIN", "BPA", "NOISE", "ARTLEVEL"):
        h.remove(key, ignore_missing=True)
    h["CONTENT"] = ("segmap", "catalogue id of the dominant object; 0 = none")
    return h


_CATALOGUE_START = "id,kind,class,"


def _simulated(path: Path) -> bool:
    """Whether ``path`` is a file ``simulate`` wrote before output markers existed."""
    try:
        if path.suffix == ".csv":
            with open(path, encoding="utf-8") as f:
                return f.readline().startswith(_CATALOGUE_START)
        return fits.getheader(path).get("ORIGIN") == "radiolib.sky"
    except (OSError, ValueError, UnicodeDecodeError):
        return False


def write_field(plan: FieldPlan, out_dir: str | os.PathLike,
                strip_rows: int | None = None) -> tuple[Path, Path, Path]:
    """Render ``plan`` strip by strip into its image and segmap FITS files and its catalogue.

    Files of the same names are replaced only if ``simulate`` wrote them
    (:func:`radiolib.outputs.check_files`); the folder's marker lists the three files.
    """
    out = Path(out_dir)
    stem = f"{plan.preset.name}_{plan.seed}"
    names = (f"{stem}.fits", f"{stem}_segmap.fits", f"{stem}_catalogue.csv")
    check_files(out, "simulate", names, legacy=_simulated)
    out.mkdir(parents=True, exist_ok=True)
    paths = tuple(out / n for n in names)
    ny, nx = plan.shape
    step = default_strip_rows(nx) if strip_rows is None else int(strip_rows)
    if step < 1:
        raise ValueError(f"strip_rows must be a positive number of rows, got {strip_rows!r}")
    plan.cache.clear()
    # three temporary files renamed into place one after another at the very end: an error,
    # Ctrl-C or SIGTERM before then removes them and leaves any earlier outputs as they were
    with fits_strips(paths[0], plan.header, "f4", plan.shape) as img, \
            fits_strips(paths[1], _segmap_header(plan.header), "i4", plan.shape) as seg, \
            atomic_path(paths[2]) as cat:
        for y0 in range(0, ny, step):
            rows, labels = render_rows(plan, y0, min(ny, y0 + step))
            img.write(y0, rows)
            seg.write(y0, labels)
        plan.cache.clear()
        plan.catalogue.to_csv(cat, index=False)
    write_marker(out, "simulate", names, add=True)
    return paths


def _fits_bytes(shape: tuple[int, int], itemsize: int = 4) -> int:
    """Size of a primary-HDU FITS image: a header block or two plus padded pixels."""
    return 2 * 2880 + -(-shape[0] * shape[1] * itemsize // 2880) * 2880


def estimate_resources(preset="emupilot", *, size=2048,
                       pixel_scale: float | None = None) -> dict[str, int]:
    """Estimate a simulation's peak memory and its outputs' sizes, in bytes.

    Returns ``{"memory": ..., "image": ..., "segmap": ..., "catalogue": ...}``. The image
    sizes are exact; memory and catalogue are per-pixel rates measured on the presets with a
    margin of about 2 (the source counts are only drawn later).
    """
    preset = get_preset(preset)
    ny, nx = check_size(size)
    pix = float(preset.pixel_scale if pixel_scale is None else pixel_scale)
    density = max(1.0, (pix / preset.pixel_scale) ** 2)  # objects per pixel vs the preset's
    pixels = ny * nx
    strip = default_strip_rows(nx) * nx
    memory = (STAMP_BUDGET + _STRIP_BYTES_PER_PIXEL * strip
              + _PLAN_BYTES_PER_PIXEL * density * pixels)
    return {"memory": int(memory), "image": _fits_bytes((ny, nx)),
            "segmap": _fits_bytes((ny, nx)),
            "catalogue": int(_CATALOGUE_BYTES_PER_PIXEL * density * pixels) + 4096}


def check_resources(preset="emupilot", *, size=2048, out_dir: str | os.PathLike = ".",
                    pixel_scale: float | None = None) -> dict[str, int]:
    """Refuse (`ResourceError`) a simulation whose memory or outputs would not fit here.

    The message gives the estimates, what is available, and the largest square size that
    fits. Returns the estimates when it fits.
    """
    need = estimate_resources(preset, size=size, pixel_scale=pixel_scale)
    ny, nx = check_size(size)
    memory = need.pop("memory")

    def smaller() -> str:
        side = _largest_fitting_size(preset, out_dir, pixel_scale)
        return (f"choose a smaller size (about {side} pixels a side fits here)" if side else
                "free some memory or disk space, or write elsewhere")

    check_capacity(f"a {nx} x {ny} {get_preset(preset).name} field", folder=out_dir,
                   disk=need, memory=memory, smaller=smaller)
    return {"memory": memory, **need}


def _largest_fitting_size(preset, out_dir, pixel_scale) -> int | None:
    """Return the largest multiple of 64 pixels a side whose simulation fits here, or None."""
    def fits_here(side: int) -> bool:
        need = estimate_resources(preset, size=side, pixel_scale=pixel_scale)
        return not shortfall(out_dir, memory=need.pop("memory"), disk=need)

    lo, hi = 0, 131072 // 64  # in units of 64 pixels: lo fits (or is 0), above hi does not
    while lo < hi:
        mid = (lo + hi + 1) // 2
        lo, hi = (mid, hi) if fits_here(64 * mid) else (lo, mid - 1)
    return 64 * lo or None


def simulate(preset: str = "emupilot", *, size=2048, seed: int = 0,
             out_dir: str | os.PathLike = ".", pixel_scale: float | None = None,
             dqf: int | None = None, strip_rows: int | None = None) -> SimulatedField:
    """Simulate a survey field and write it as FITS + segmap + catalogue.

    Parameters
    ----------
    preset : {"emupilot", "first", "mgcls", "mightee", "smgps"} or SkyPreset
        The survey to mimic (see `radiolib.sky.presets`).
    size : int or (int, int)
        Pixels per side (or ``(ny, nx)``), 64..131072; fields of any size are streamed.
    seed : int
        Everything (sources, noise, artefacts, seams) is determined by it.
    out_dir : path-like
        Folder of ``<preset>_<seed>.fits``, ``..._segmap.fits``, ``..._catalogue.csv``.
    pixel_scale : float, optional
        Arcsec per pixel (default: the preset's).
    dqf : int, optional
        Force the data-quality flag 0-3 (default: drawn from the preset's distribution).
    strip_rows : int, optional
        Rows rendered at a time (default ~4 Mpixel per strip); does not change the result
        beyond float rounding.

    Returns
    -------
    SimulatedField

    Raises
    ------
    ResourceError
        If the field would not fit in the memory or the disk space available
        (see `check_resources`); nothing is written then.
    """
    start = time.perf_counter()
    check_resources(preset, size=size, out_dir=out_dir, pixel_scale=pixel_scale)
    plan = plan_field(preset, size=size, seed=seed, pixel_scale=pixel_scale, dqf=dqf)
    image, segmap, catalogue = write_field(plan, out_dir, strip_rows)
    return SimulatedField(plan.preset.name, plan.seed, plan.shape, plan.dqf, image, segmap,
                          catalogue, plan.catalogue, plan.header, time.perf_counter() - start)
