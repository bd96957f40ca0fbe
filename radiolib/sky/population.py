"""Draw a field's source population from a preset: counts, positions, fluxes, sizes, models.

Counts are Poisson in the observed area (centres in NaN borders are rejected), their mean
scaled by the pointing's density factor; positions follow a log-normal density field when
the preset asks for clustering (`radiolib.sky.presets.Variation`), else they are uniform;
fluxes follow the class's (broken) power-law dN/dS between its flux limits; sizes are
log-uniform. A cluster adds its halo, relics, tails, threads and compact radio members at the
centre. Compact sources stay as arrays (a field can hold 10⁵ of them); every other source
becomes a `Model`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from radiolib.sky.instrument import STEP, random_field
from radiolib.sky.pointing import Pointing
from radiolib.sky.presets import ClassSpec, SkyPreset
from radiolib.sky.sources import Model, make_source

__all__ = ["Drawn", "Population", "density_grid", "draw_population", "expected_counts",
           "sample_flux"]


@dataclass(frozen=True)
class Drawn:
    """One extended source: morphology, centre (px), total flux (Jy), LAS (px), model."""

    cls: str
    x: float
    y: float
    flux: float
    size: float
    model: Model


@dataclass(frozen=True)
class Population:
    """Compact sources as arrays (x, y, flux) and extended sources as `Drawn` records."""

    compact_x: np.ndarray
    compact_y: np.ndarray
    compact_flux: np.ndarray
    extended: list


def _pl_integral(lo: float, hi: float, gamma: float) -> float:
    if abs(gamma - 1) < 1e-9:
        return float(np.log(hi / lo))
    return (hi ** (1 - gamma) - lo ** (1 - gamma)) / (1 - gamma)


def _pl_sample(rng, lo: float, hi: float, gamma: float, n: int) -> np.ndarray:
    u = rng.random(n)
    if abs(gamma - 1) < 1e-9:
        return lo * (hi / lo) ** u
    a, b = lo ** (1 - gamma), hi ** (1 - gamma)
    return (a + u * (b - a)) ** (1 / (1 - gamma))


def sample_flux(rng: np.random.Generator, spec: ClassSpec, n: int) -> np.ndarray:
    """Draw ``n`` fluxes (Jy) from the class's power law, broken at ``s_break`` if given."""
    lo, hi = spec.flux
    brk = spec.s_break
    if spec.gamma_faint is None or brk is None or not lo < brk < hi:
        return _pl_sample(rng, lo, hi, spec.gamma, n)
    # continuity at the break: A_faint brk^-gf = brk^-g
    w_faint = brk ** (spec.gamma_faint - spec.gamma) * _pl_integral(lo, brk, spec.gamma_faint)
    w_bright = _pl_integral(brk, hi, spec.gamma)
    faint = rng.random(n) < w_faint / (w_faint + w_bright)
    out = _pl_sample(rng, brk, hi, spec.gamma, n)
    out[faint] = _pl_sample(rng, lo, brk, spec.gamma_faint, int(faint.sum()))
    return out


def expected_counts(preset: SkyPreset, shape: tuple[int, int], pixel_scale: float) -> dict:
    """Return the expected number of sources per class over the image (before NaN rejection)."""
    area = shape[0] * shape[1] * (pixel_scale / 3600) ** 2
    return {c.name: c.density * area for c in preset.classes}


def density_grid(rng, shape, pixel_scale: float, sigma_ln: float,
                 scale_arcmin: float) -> np.ndarray:
    """Relative source density on cells of `STEP` pixels: exp(sigma g - sigma²/2), mean 1.

    g is a unit Gaussian random field of correlation length ``scale_arcmin``; the grid is
    normalised to mean 1 over the image (weighting partial edge cells by their area), so
    clustering moves sources around without changing how many a field holds.
    """
    ny, nx = shape
    cells = (-(-ny // STEP), -(-nx // STEP))
    g = random_field(rng, cells, scale_arcmin * 60 / pixel_scale)
    w = np.exp(sigma_ln * g - 0.5 * sigma_ln**2)
    area = np.outer(_cell_widths(ny), _cell_widths(nx))
    return w * area.sum() / (w * area).sum()


def _cell_widths(n: int) -> np.ndarray:
    return np.minimum(STEP, n - STEP * np.arange(-(-n // STEP))).astype(float)


def _positions(rng, n: int, shape, valid, grid=None) -> tuple[np.ndarray, np.ndarray]:
    if grid is None:
        x = rng.uniform(-0.5, shape[1] - 0.5, n)
        y = rng.uniform(-0.5, shape[0] - 0.5, n)
    else:  # a cell by its density x area, then uniform over the cell's part in the image
        wy, wx = _cell_widths(shape[0]), _cell_widths(shape[1])
        p = (grid * np.outer(wy, wx)).ravel()
        cy, cx = np.divmod(rng.choice(p.size, n, p=p / p.sum()), grid.shape[1])
        x = STEP * cx - 0.5 + rng.random(n) * wx[cx]
        y = STEP * cy - 0.5 + rng.random(n) * wy[cy]
    keep = valid(x, y) if n else np.zeros(0, bool)
    return x[keep], y[keep]


def _sizes(rng, spec: ClassSpec, n: int, pixel_scale: float) -> np.ndarray:
    lo, hi = spec.size
    if hi <= 0:
        return np.zeros(n)
    return np.exp(rng.uniform(np.log(lo), np.log(hi), n)) / pixel_scale


def _members(rng, preset: SkyPreset, shape, pixel_scale: float, valid,
             richness: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Compact radio members of the central cluster: Gaussian about the centre, power-law flux."""
    cl = preset.cluster
    n = int(rng.poisson(cl.n_members * richness))
    sig = cl.members_arcmin * 60 / pixel_scale
    x = (shape[1] - 1) / 2 + rng.normal(0, sig, n)
    y = (shape[0] - 1) / 2 + rng.normal(0, sig, n)
    inside = (x >= -0.5) & (x < shape[1] - 0.5) & (y >= -0.5) & (y < shape[0] - 0.5)
    inside[inside] = valid(x[inside], y[inside]) if inside.any() else []
    spec = ClassSpec("compact", 0.0, cl.members_flux, gamma=cl.members_gamma)
    return x[inside], y[inside], sample_flux(rng, spec, int(inside.sum()))


def _cluster(rng, preset: SkyPreset, shape, pixel_scale: float, valid,
             richness: float = 1.0) -> list[Drawn]:
    """Cluster members at the field centre: halo, relics, bent tails, threads."""
    cl = preset.cluster
    cx, cy = (shape[1] - 1) / 2, (shape[0] - 1) / 2
    rad = cl.radius_arcmin * 60 / pixel_scale
    out = []

    def add(cls, x, y, flux, size, angle=None):
        if valid(np.array([x]), np.array([y]))[0]:
            out.append(Drawn(cls, x, y, flux, size, make_source(cls, rng, x, y, flux, size, angle)))

    def loguni(lo_hi):
        return float(np.exp(rng.uniform(*np.log(lo_hi))))

    if rng.random() < cl.p_halo:
        add("halo", cx + rng.normal(0, 0.05 * rad), cy + rng.normal(0, 0.05 * rad),
            loguni(cl.halo_flux), loguni(cl.halo_size) / pixel_scale)
    for _ in range(rng.poisson(cl.n_relics)):
        phi, r = rng.uniform(0, 2 * np.pi), rng.uniform(0.6, 1.3) * rad
        add("relic", cx + r * np.cos(phi), cy + r * np.sin(phi), loguni((3e-3, 5e-2)),
            loguni((240.0, 900.0)) / pixel_scale, phi)
    for _ in range(rng.poisson(cl.n_tails * richness)):
        phi, r = rng.uniform(0, 2 * np.pi), abs(rng.normal(0, 0.6)) * rad
        cls = "wat" if rng.random() < 0.5 else "ht"
        add(cls, cx + r * np.cos(phi), cy + r * np.sin(phi), loguni((2e-3, 0.1)),
            loguni((40.0, 300.0)) / pixel_scale, phi + rng.normal(0, 0.5))
    for _ in range(rng.poisson(cl.n_threads)):
        phi, r = rng.uniform(0, 2 * np.pi), abs(rng.normal(0, 0.5)) * rad
        add("filament", cx + r * np.cos(phi), cy + r * np.sin(phi), loguni((3e-4, 3e-3)),
            loguni((60.0, 240.0)) / pixel_scale)
    return out


def draw_population(rng: np.random.Generator, preset: SkyPreset, shape: tuple[int, int],
                    pixel_scale: float, valid, pointing: Pointing | None = None) -> Population:
    """Draw all sources of a field; ``valid(x, y)`` says which centres are observed.

    ``pointing`` scales the densities and the cluster's richness (default: factors of 1).
    """
    counts = expected_counts(preset, shape, pixel_scale)
    density = 1.0 if pointing is None else pointing.density
    richness = 1.0 if pointing is None else pointing.richness
    v = preset.variation
    grid = (density_grid(rng, shape, pixel_scale, v.clustering_sigma_ln, v.clustering_arcmin)
            if v.clustering_sigma_ln > 0 else None)
    compact = (np.zeros(0), np.zeros(0), np.zeros(0))
    extended: list[Drawn] = []
    for spec in preset.classes:
        x, y = _positions(rng, int(rng.poisson(counts[spec.name] * density)), shape, valid, grid)
        flux = sample_flux(rng, spec, x.size)
        size = _sizes(rng, spec, x.size, pixel_scale)
        if spec.name == "compact":
            compact = (x, y, flux)
            continue
        extended += [Drawn(spec.name, xi, yi, fi, si, make_source(spec.name, rng, xi, yi, fi, si))
                     for xi, yi, fi, si in zip(x, y, flux, size, strict=True)]
    if preset.cluster is not None:
        extended += _cluster(rng, preset, shape, pixel_scale, valid, richness)
        if preset.cluster.n_members > 0:
            members = _members(rng, preset, shape, pixel_scale, valid, richness)
            compact = tuple(np.concatenate([a, b]) for a, b in zip(compact, members, strict=True))
    return Population(*compact, extended)
