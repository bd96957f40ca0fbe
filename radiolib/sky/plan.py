"""Plan a simulated field: every source, artefact and seam, with its truth, but no pixels yet.

`plan_field` draws everything from one seed: the pointing (depth, DQF, density, richness) from
`radiolib.sky.pointing.draw_pointing`, the sources and instrument from
``numpy.random.default_rng(seed)``, the noise from child seeds
``SeedSequence(seed, spawn_key=(7, block))``; it measures each object's
truth (peak, SNR, islands, peaks, mask bounding box) on its own noise-free stamp; pixels are
made later, strip by strip, by `radiolib.sky.simulate.render_rows`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from astropy.io import fits
from astropy.wcs import WCS

from radiolib.errors import ConfigError
from radiolib.sky.instrument import (
    InstrumentMaps,
    artefact_for,
    beam_covariance,
    beam_kernel_for,
    make_maps,
    render_artefact,
)
from radiolib.sky.pointing import Pointing, draw_pointing
from radiolib.sky.population import draw_population
from radiolib.sky.presets import SkyPreset, get_preset
from radiolib.sky.render import gaussian_terms, render_model
from radiolib.sky.truth import CLASS_FRAME, det_class, islands_and_peaks, rgz_class

__all__ = ["FieldPlan", "check_size", "plan_field"]

MAX_SEED = 2**63 - 1  # the largest FITS integer (SIMSEED card)
STAMP_BUDGET = 256 << 20  # bytes of stamps kept from planning for rendering
MASK_NSIGMA = 3.0  # masks and islands: model >= 3 sigma_local (or half the peak if fainter)
_RGZ = {"compact", "resolved", "fri", "frii", "wat", "ht", "hybrid", "xshaped", "ddrg"}
_COLUMNS = ["id", "kind", "class", "ra", "dec", "x", "y", "x_peak", "y_peak", "flux", "peak",
            "rms_local", "snr", "n_components", "n_peaks", "n_islands", "x0", "y0", "x1", "y1",
            "size_arcsec", "rgz_class", "det_class", "frame_label", "parent"]


@dataclass
class _Stamp:
    """An extended object or artefact: how to render it, where, and its mask threshold."""

    id: int
    box: tuple[int, int, int, int]
    thr: float
    render: object
    absolute: bool = False
    stamp: tuple | None = None  # kept from planning while the plan's stamp budget lasts


@dataclass
class FieldPlan:
    """Everything needed to render a field: pointing, header, beam, maps, objects, truth."""

    preset: SkyPreset
    seed: int
    shape: tuple[int, int]
    pixel_scale: float
    dqf: int
    header: fits.Header
    kernel: np.ndarray
    maps: InstrumentMaps
    points: dict
    stamps: list
    catalogue: pd.DataFrame
    pointing: Pointing
    cache: dict = field(default_factory=dict)

    @property
    def rms(self) -> float:
        """Return the pointing's noise (Jy/beam) where the noise factor is 1 (its centre)."""
        return self.pointing.rms


def check_size(size) -> tuple[int, int]:
    """Return (ny, nx) from an int or a pair; sides must be integers in 64..131072.

    Raises `ConfigError` (a ValueError) otherwise.
    """
    sides = (size, size) if np.ndim(size) == 0 else tuple(size)
    if len(sides) != 2 or not all(isinstance(s, int | np.integer) and not isinstance(s, bool)
                                  for s in sides) or not all(64 <= s <= 131072 for s in sides):
        raise ConfigError(f"size must be an integer number of pixels per side (or a (ny, nx) "
                          f"pair) between 64 and 131072, got {size!r}")
    return int(sides[0]), int(sides[1])


def _header(preset: SkyPreset, shape, pix: float, seed: int, pointing: Pointing) -> fits.Header:
    ny, nx = shape
    w = WCS(naxis=2)
    w.wcs.ctype = ["RA---SIN", "DEC--SIN"]
    w.wcs.crpix = [(nx + 1) / 2, (ny + 1) / 2]
    w.wcs.cdelt = [-pix / 3600, pix / 3600]
    w.wcs.crval = list(preset.centre)
    w.wcs.cunit = ["deg", "deg"]
    w.wcs.radesys, w.wcs.equinox = "ICRS", 2000.0
    h = fits.Header([("SIMPLE", True), ("BITPIX", -32), ("NAXIS", 2), ("NAXIS1", nx),
                     ("NAXIS2", ny)])
    h.update(w.to_header())
    bmaj, bmin, bpa = preset.beam
    h.update([("BUNIT", "Jy/beam"), ("BMAJ", bmaj / 3600), ("BMIN", bmin / 3600), ("BPA", bpa),
              ("RESTFRQ", preset.freq_hz), ("TELESCOP", preset.telescope),
              ("OBJECT", f"radiolib.sky {preset.name} seed {seed}"), ("ORIGIN", "radiolib.sky"),
              ("SIMPRSET", preset.name, "radiolib.sky preset"), ("SIMSEED", seed, "seed"),
              ("NOISE", pointing.rms, "[Jy/beam] rms at noise factor 1 (this pointing)"),
              ("DQF", pointing.dqf, "data-quality flag 0-3 (artefact level)"),
              ("ARTLEVEL", preset.artefact_levels[pointing.dqf], "ripple amplitude / source peak"),
              *pointing.header_cards()])
    return h


def _point_truth(pl: dict, rms_local: np.ndarray, beam_cov, shape) -> dict:
    x, y, s = pl["x"], pl["y"], pl["flux"]
    thr = np.minimum(MASK_NSIGMA * rms_local, 0.5 * s)
    r2 = 2 * np.log(np.maximum(s / thr, 1.0))
    hx, hy = np.sqrt(r2 * beam_cov[0]), np.sqrt(r2 * beam_cov[2])
    det = s >= MASK_NSIGMA * rms_local
    ny, nx = shape
    return {"x_peak": np.clip(np.rint(x), 0, nx - 1), "y_peak": np.clip(np.rint(y), 0, ny - 1),
            "peak": s, "thr": thr, "n": det.astype(int),
            "x0": np.clip(np.floor(x - hx), 0, nx), "x1": np.clip(np.floor(x + hx) + 2, 0, nx),
            "y0": np.clip(np.floor(y - hy), 0, ny), "y1": np.clip(np.floor(y + hy) + 2, 0, ny)}


def _stamp_truth(stamp, x0, y0, shape, sigma, beam_px) -> dict | None:
    """Truth of a rendered object, measured inside the image; None if it misses the image."""
    ny, nx = shape
    cx0, cy0 = max(0, x0), max(0, y0)
    cx1, cy1 = min(nx, x0 + stamp.shape[1]), min(ny, y0 + stamp.shape[0])
    if cx1 <= cx0 or cy1 <= cy0:
        return None
    s = stamp[cy0 - y0 : cy1 - y0, cx0 - x0 : cx1 - x0]
    k = int(np.argmax(s))
    peak = float(s.flat[k])
    thr = min(MASK_NSIGMA * sigma, 0.5 * peak)
    rows, cols = np.nonzero(s >= thr)
    n_isl, n_pk = islands_and_peaks(s, MASK_NSIGMA * sigma, beam_px)
    return {"peak": peak, "thr": thr, "x_peak": cx0 + k % s.shape[1],
            "y_peak": cy0 + k // s.shape[1], "n_islands": n_isl, "n_peaks": n_pk,
            "box": (cx0 + cols.min(), cy0 + rows.min(), cx0 + cols.max() + 1, cy0 + rows.max() + 1)}


def plan_field(preset: str | SkyPreset = "emupilot", *, size=2048, seed: int = 0,
               pixel_scale: float | None = None, dqf: int | None = None) -> FieldPlan:
    """Draw a field from ``seed`` and measure its truth catalogue (no image is made)."""
    preset = get_preset(preset)
    shape = check_size(size)
    if not isinstance(seed, int | np.integer) or isinstance(seed, bool) or \
            not 0 <= seed <= MAX_SEED:
        raise ConfigError(f"seed must be an integer in 0..{MAX_SEED} (it is stored in the "
                          f"FITS header as a 64-bit integer), got {seed!r}")
    pix = float(preset.pixel_scale if pixel_scale is None else pixel_scale)
    if not 0.05 <= pix <= 60:
        raise ConfigError(f"pixel_scale must be in 0.05..60 arcsec, got {pixel_scale!r}")
    if dqf is not None and (dqf not in range(4) or isinstance(dqf, bool)):
        raise ConfigError(f"dqf must be 0, 1, 2 or 3, got {dqf!r}")
    pointing = draw_pointing(preset, seed, dqf)  # own stream: same sky whatever dqf says
    rng = np.random.default_rng(seed)
    dqf = pointing.dqf
    level = preset.artefact_levels[dqf]
    beam_cov = beam_covariance(*preset.beam, pix)
    beam_px = np.sqrt(preset.beam[0] * preset.beam[1]) / pix
    kernel = beam_kernel_for(beam_cov)
    half = kernel.shape[0] // 2
    rms = pointing.rms
    maps = make_maps(rng, preset, shape, pix, half, rms)
    pop = draw_population(rng, preset, shape, pix, maps.valid, pointing)
    floor = 0.01 * rms

    rows, stamps, budget = [], [], [STAMP_BUDGET]
    n_pts = pop.compact_x.size
    pts = {"x": pop.compact_x, "y": pop.compact_y, "flux": pop.compact_flux,
           "id": np.arange(1, n_pts + 1)}
    sig = rms * maps.at("factor", pts["x"], pts["y"])
    t = _point_truth(pts, sig, beam_cov, shape)
    rows.append(pd.DataFrame({"id": pts["id"], "kind": "source", "class": "compact",
                              "x": pts["x"], "y": pts["y"], "x_peak": t["x_peak"],
                              "y_peak": t["y_peak"], "flux": pts["flux"], "peak": t["peak"],
                              "rms_local": sig, "n_components": 1, "n_peaks": t["n"],
                              "n_islands": t["n"], "x0": t["x0"], "y0": t["y0"], "x1": t["x1"],
                              "y1": t["y1"], "parent": -1}))
    comps = np.column_stack([pts["x"], pts["y"], pts["flux"], np.zeros((n_pts, 3))])
    terms = gaussian_terms(comps, beam_cov, floor)
    pts.update(terms=terms, thr=np.where(t["n"] > 0, t["thr"], np.inf),
               ylo=terms[1] - terms[6] - 1, yhi=terms[1] + terms[6] + 1)

    ext = []
    for i, d in enumerate(pop.extended):
        oid = n_pts + 1 + i
        stamp, x0, y0 = render_model(d.model.comps, d.model.textures, beam_cov, floor, half)
        sigma = rms * float(maps.at("factor", d.x, d.y))
        tr = _stamp_truth(stamp, x0, y0, shape, sigma, beam_px)
        if tr is None:
            continue
        box = (x0, y0, x0 + stamp.shape[1], y0 + stamp.shape[0])
        model = d.model
        stamps.append(_Stamp(oid, box, tr["thr"] if tr["n_islands"] else np.inf,
                             lambda m=model: render_model(m.comps, m.textures, beam_cov,
                                                          floor, half)))
        _keep(stamps[-1], (stamp, x0, y0), budget)
        ext.append({"id": oid, "kind": "source", "class": d.cls, "x": d.x, "y": d.y,
                    "x_peak": tr["x_peak"], "y_peak": tr["y_peak"], "flux": d.flux,
                    "peak": tr["peak"], "rms_local": sigma,
                    "n_components": d.model.n_components, "n_peaks": tr["n_peaks"],
                    "n_islands": tr["n_islands"], "x0": tr["box"][0], "y0": tr["box"][1],
                    "x1": tr["box"][2], "y1": tr["box"][3], "parent": -1})
    rows.append(pd.DataFrame(ext, columns=list(rows[0].columns)))
    cat = pd.concat(rows, ignore_index=True)
    cat["snr"] = cat["peak"] / cat["rms_local"]
    cat = _add_artefacts(rng, cat, stamps, budget, preset, level, beam_px, shape)
    cat = _add_seams(cat, maps, rms)
    header = _header(preset, shape, pix, int(seed), pointing)
    cat = _finish(cat, pix, header)
    return FieldPlan(preset, int(seed), shape, pix, dqf, header, kernel, maps, pts, stamps, cat,
                     pointing)


def _keep(st: _Stamp, rendered: tuple, budget: list) -> None:
    """Keep a stamp rendered while planning, for the first rendering, within the budget."""
    if rendered[0].nbytes <= budget[0]:
        st.stamp, budget[0] = rendered, budget[0] - rendered[0].nbytes


def _add_artefacts(rng, cat, stamps, budget, preset, level, beam_px, shape) -> pd.DataFrame:
    """Ripples around bright sources; sources inside a significant ripple become FLAGGED."""
    bright = cat.index[cat["peak"] * level >= 5 * cat["rms_local"]]
    flagged = np.zeros(len(cat), bool)
    next_id = int(cat["id"].max()) + 1 if len(cat) else 1
    new = []
    xp, yp = cat["x_peak"].to_numpy(), cat["y_peak"].to_numpy()
    for i in bright:
        r = cat.loc[i]
        art = artefact_for(rng, int(r["id"]), r["x_peak"], r["y_peak"], r["peak"], level,
                           r["rms_local"], beam_px, preset)
        stamp, x0, y0 = render_artefact(art)
        sigma = r["rms_local"]
        box = (x0, y0, x0 + stamp.shape[1], y0 + stamp.shape[0])
        tr = _stamp_truth(np.abs(stamp), x0, y0, shape, sigma, beam_px)
        ok = tr is not None and tr["peak"] >= MASK_NSIGMA * sigma
        stamps.append(_Stamp(next_id if ok else -1, box, MASK_NSIGMA * sigma if ok else np.inf,
                             lambda a=art: render_artefact(a), absolute=True))
        _keep(stamps[-1], (stamp, x0, y0), budget)
        if not ok:
            continue
        bx0, by0, bx1, by1 = tr["box"]
        inside = (xp >= bx0) & (xp < bx1) & (yp >= by0) & (yp < by1) & (cat["snr"] >= 3)
        inside &= cat["id"].to_numpy() != art.parent
        for j in np.flatnonzero(inside):
            if abs(stamp[int(yp[j]) - y0, int(xp[j]) - x0]) >= MASK_NSIGMA * sigma:
                flagged[j] = True
        new.append({"id": next_id, "kind": "artefact", "class": "sidelobes", "x": art.x,
                    "y": art.y, "x_peak": tr["x_peak"], "y_peak": tr["y_peak"], "flux": 0.0,
                    "peak": tr["peak"], "rms_local": sigma, "snr": tr["peak"] / sigma,
                    "n_components": 0, "n_peaks": 0, "n_islands": tr["n_islands"],
                    "x0": bx0, "y0": by0, "x1": bx1, "y1": by1, "parent": art.parent})
        next_id += 1
    cat["flagged"] = flagged
    return pd.concat([cat, pd.DataFrame(new, columns=list(cat.columns))], ignore_index=True)


def _add_seams(cat, maps: InstrumentMaps, rms: float) -> pd.DataFrame:
    next_id = int(cat["id"].max()) + 1 if len(cat) else 1
    new = [{"id": next_id + k, "kind": "mosaicking", "class": "seam",
            "x": (s["box"][0] + s["box"][2] - 1) / 2, "y": (s["box"][1] + s["box"][3] - 1) / 2,
            "x_peak": -1, "y_peak": -1, "flux": 0.0, "peak": s["step"] * rms, "rms_local": rms,
            "snr": s["step"], "n_components": 0, "n_peaks": 0, "n_islands": 0,
            "x0": s["box"][0], "y0": s["box"][1], "x1": s["box"][2], "y1": s["box"][3],
            "parent": -1, "flagged": False} for k, s in enumerate(maps.seams)]
    return pd.concat([cat, pd.DataFrame(new, columns=list(cat.columns))], ignore_index=True)


def _finish(cat, pix, header) -> pd.DataFrame:
    """World coordinates, sizes and the label columns; columns in the documented order."""
    ra, dec = WCS(header).celestial.pixel_to_world_values(cat["x"].to_numpy(float),
                                                           cat["y"].to_numpy(float))
    cat["ra"], cat["dec"] = np.mod(ra, 360), dec
    for c in ("x0", "y0", "x1", "y1", "x_peak", "y_peak", "n_peaks", "n_islands",
              "n_components", "id", "parent"):
        cat[c] = cat[c].astype(np.int64)
    for c in ("x", "y", "flux", "peak", "rms_local", "snr"):
        cat[c] = cat[c].astype(np.float64)
    cat["size_arcsec"] = np.maximum(cat["x1"] - cat["x0"], cat["y1"] - cat["y0"]) * pix
    kind, cls = cat["kind"].to_numpy(str), cat["class"].to_numpy(str)
    nisl, npk = cat["n_islands"].to_numpy(), cat["n_peaks"].to_numpy()
    cat["rgz_class"] = [rgz_class(i, p) if k == "source" and c in _RGZ else ""
                        for k, c, i, p in zip(kind, cls, nisl, npk, strict=True)]
    cat["det_class"] = [det_class(k, c, i, f) for k, c, i, f in
                        zip(kind, cls, nisl, cat["flagged"].to_numpy(bool), strict=True)]
    cat["frame_label"] = [CLASS_FRAME.get(c, "") for c in cls]
    return cat[_COLUMNS].reset_index(drop=True)
