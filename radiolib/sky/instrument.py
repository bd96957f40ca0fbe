"""Instrument effects: beam, correlated noise, primary beam / mosaic, seams, NaN borders, ripples.

Everything that varies slowly over the field (noise factor ``sigma(x, y) / rms``, pedestals and
a diffuse background) lives on a coarse grid (16 px) and is interpolated bilinearly into any
row strip, so a 16k² field never needs a full-size map. Noise is white noise (drawn in fixed
row blocks, so it does not depend on how the image is cut into strips) scaled by the local
noise factor and convolved with the beam.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.signal import fftconvolve

from radiolib.sky.render import FWHM, beam_kernel, covariance

__all__ = ["STEP", "Artefact", "InstrumentMaps", "artefact_for", "beam_covariance",
           "beam_kernel_for", "correlated_noise", "make_maps", "random_field", "render_artefact"]

STEP = 16  # coarse-grid spacing (px)
MAX_FACTOR = 10.0  # cap of the noise factor (reached only inside NaN borders)
_BLOCK = 64  # rows per white-noise block


def beam_covariance(bmaj: float, bmin: float, bpa: float, pixel_scale: float) -> tuple:
    """Beam covariance in pixels² from FWHM (arcsec) and PA (deg, north through east)."""
    return covariance(bmaj / pixel_scale, bmin / pixel_scale, np.pi / 2 + np.radians(bpa))


@dataclass
class InstrumentMaps:
    """Coarse maps: noise factor, pedestal + background (Jy/beam), signed distance to the border.

    ``inside`` is positive in the observed area and negative in NaN borders (pixels); being
    linear between grid points, its zero line is a smooth curve.
    """

    factor: np.ndarray
    offset: np.ndarray
    inside: np.ndarray
    origin: int
    seams: list

    def _interp(self, grid, ys, xs) -> np.ndarray:
        gy = np.clip((np.asarray(ys, float) - self.origin) / STEP, 0, grid.shape[0] - 1.001)
        gx = np.clip((np.asarray(xs, float) - self.origin) / STEP, 0, grid.shape[1] - 1.001)
        iy, ix = gy.astype(int), gx.astype(int)
        wy, wx = gy - iy, gx - ix
        return grid, iy, ix, wy, wx

    def rows(self, name: str, y0: int, y1: int, x0: int, x1: int) -> np.ndarray:
        """Bilinear interpolation (float32) of map ``name`` on rows y0..y1-1, columns x0..x1-1.

        Pixel columns repeat the same 16 weights in every coarse cell, so the interpolation
        along x is a broadcast over (cells, 16) instead of a gather.
        """
        grid = getattr(self, name).astype(np.float32, copy=False)
        ys = np.arange(y0, y1) - self.origin
        iy = np.clip(ys // STEP, 0, grid.shape[0] - 2)
        wy = ((ys - iy * STEP) / STEP).astype(np.float32)[:, None]
        r = grid[iy] * (1 - wy) + grid[iy + 1] * wy
        c0 = max(0, (x0 - self.origin) // STEP)
        c1 = min(grid.shape[1] - 1, (x1 - 1 - self.origin) // STEP + 1)
        w = np.arange(STEP, dtype=np.float32) / STEP
        block = r[:, c0:c1, None] * (1 - w) + r[:, c0 + 1 : c1 + 1, None] * w
        block = block.reshape(r.shape[0], -1)
        start = x0 - self.origin - c0 * STEP
        return block[:, start : start + (x1 - x0)]

    def at(self, name: str, x, y) -> np.ndarray:
        """Map ``name`` at pixel positions (x, y)."""
        grid, iy, ix, wy, wx = self._interp(getattr(self, name), y, x)
        return (grid[iy, ix] * (1 - wy) * (1 - wx) + grid[iy, ix + 1] * (1 - wy) * wx
                + grid[iy + 1, ix] * wy * (1 - wx) + grid[iy + 1, ix + 1] * wy * wx)

    def valid(self, x, y) -> np.ndarray:
        """Return True where (x, y) is inside the observed area (not in a NaN border)."""
        return self.at("inside", x, y) >= 0


def random_field(rng, shape, scale_px: float) -> np.ndarray:
    """Unit-variance smooth Gaussian random field on the coarse grid with correlation ~scale."""
    k = np.hypot(np.fft.fftfreq(shape[0])[:, None], np.fft.rfftfreq(shape[1])[None, :])
    amp = np.exp(-0.5 * (k * scale_px / STEP) ** 2)
    f = np.fft.irfft2(np.fft.rfft2(rng.standard_normal(shape)) * amp, s=shape)
    return (f - f.mean()) / (f.std() + 1e-12)


def _edges(rng, preset, shape, gy, gx) -> tuple[np.ndarray, np.ndarray]:
    """Survey edges: noise factor rising towards a ragged line, and the distance to that line."""
    ny, nx = shape
    sides = rng.random(4) < preset.edge_prob
    if not sides.any():
        sides[rng.integers(4)] = True
    factor = np.ones((gy.size, gx.size))
    inside = np.full((gy.size, gx.size), float(max(shape)))
    for side, on in enumerate(sides):
        n_across, along = (nx, gy) if side < 2 else (ny, gx)
        width = rng.uniform(*preset.edge_width) * n_across
        k, ph = rng.uniform(1, 4, 2), rng.uniform(0, 2 * np.pi, 2)
        t = along / max(shape)
        line = width * (1 + 0.3 * np.sin(2 * np.pi * k[0] * t + ph[0])
                        + 0.15 * np.sin(2 * np.pi * k[1] * t + ph[1]))
        if not on:
            continue
        coord = {0: gx[None, :], 1: nx - 1 - gx[None, :], 2: gy[:, None], 3: ny - 1 - gy[:, None]}
        d = coord[side] - (line[:, None] if side < 2 else line[None, :])
        taper = max(preset.edge_taper * n_across, 4 * STEP)
        factor = factor * (1 + 2 * np.exp(-2.3 * np.maximum(d, 0) / taper))
        inside = np.minimum(inside, d)
    return factor, inside


def make_maps(rng, preset, shape, pixel_scale: float, pad: int,
              rms: float | None = None) -> InstrumentMaps:
    """Draw the field's instrument maps: primary beam or mosaic (tiles, seams, edges).

    Pedestals and the diffuse background scale with ``rms`` (the pointing's; default the
    preset's median).
    """
    rms = preset.rms if rms is None else rms
    ny, nx = shape
    origin = -pad - 2 * STEP
    gy = origin + STEP * np.arange((ny - 2 * origin) // STEP + 2)
    gx = origin + STEP * np.arange((nx - 2 * origin) // STEP + 2)
    offset = np.zeros((gy.size, gx.size))
    seams = []
    pb_sig = preset.pb_fwhm_arcmin * 60 / pixel_scale / FWHM
    if preset.mode == "pointing":
        r2 = (gx[None, :] - (nx - 1) / 2) ** 2 + (gy[:, None] - (ny - 1) / 2) ** 2
        factor = np.minimum(np.exp(0.5 * r2 / pb_sig**2), MAX_FACTOR)
        inside = pb_sig * np.sqrt(2 * np.log(1 / preset.pb_cut)) - np.sqrt(r2)
    else:
        sp = preset.pointing_spacing_arcmin * 60 / pixel_scale
        ripple = []
        for g in (gx, gy):
            centres = rng.uniform(0, sp) + sp * np.arange(-20, 20 + int(g[-1] / sp))
            s = np.exp(-((g[:, None] - centres[None, :]) ** 2) / pb_sig**2).sum(1)
            ripple.append(s / s.mean())
        factor = 1 / np.sqrt(ripple[1][:, None] * ripple[0][None, :])
        tile = preset.tile_deg * 3600 / pixel_scale
        ox, oy = rng.uniform(0, tile, 2)
        ntx, nty = int(nx // tile) + 3, int(ny // tile) + 3
        noise = np.exp(rng.normal(0, preset.seam_noise, (nty, ntx)))
        ped = rng.normal(0, preset.seam_level, (nty, ntx)) * rms
        ty = np.clip(np.floor((gy - oy) / tile).astype(int) + 1, 0, nty - 1)
        tx = np.clip(np.floor((gx - ox) / tile).astype(int) + 1, 0, ntx - 1)
        factor = factor * noise[ty][:, tx]
        offset += ped[ty][:, tx]
        seams = _seams(shape, tile, ox, oy, noise, ped / rms)
        edge, inside = _edges(rng, preset, shape, gy, gx)
        factor = factor * edge
    if preset.background_level:
        scale = preset.background_scale_arcmin * 60 / pixel_scale
        bg = np.exp(0.8 * random_field(rng, (gy.size, gx.size), scale))
        offset += preset.background_level * rms * bg / bg.mean()
    return InstrumentMaps(np.minimum(factor, MAX_FACTOR), offset, inside, origin, seams)


def _seams(shape, tile, ox, oy, noise, ped) -> list:
    """Seam segments between adjacent tiles whose pedestal or noise level differ visibly."""
    ny, nx = shape
    out = []
    for axis in (0, 1):
        o_along, o_across, n_along, n_across = (oy, ox, ny, nx) if axis == 0 else (ox, oy, nx, ny)
        k = 1
        while (pos := o_across + (k - 1) * tile) < n_across:
            j = 0
            while (start := o_along + (j - 1) * tile) < n_along:
                idx_a = (j, k) if axis == 0 else (k, j)
                idx_b = (j, k - 1) if axis == 0 else (k - 1, j)
                step = abs(ped[idx_a] - ped[idx_b])
                ratio = max(noise[idx_a] / noise[idx_b], noise[idx_b] / noise[idx_a])
                lo, hi = max(0, int(start)), min(n_along, int(start + tile))
                if 0 < pos < n_across and hi > lo and (step >= 0.5 or ratio >= 1.25):
                    a0, a1 = max(0, int(pos) - STEP), min(n_across, int(pos) + STEP)
                    box = (a0, lo, a1, hi) if axis == 0 else (lo, a0, hi, a1)
                    out.append({"box": box, "step": float(step), "ratio": float(ratio)})
                j += 1
            k += 1
    return out


def correlated_noise(seed: int, maps: InstrumentMaps, kernel: np.ndarray, rms: float,
                     y0: int, y1: int, nx: int) -> np.ndarray:
    """Beam-correlated noise on rows y0..y1-1: white noise x local factor, convolved, to ``rms``.

    White noise comes in fixed blocks of 64 rows seeded by (seed, block), so the result is the
    same whichever strips the image is rendered in.
    """
    h = kernel.shape[0] // 2
    lo, hi = y0 - h, y1 + h
    blocks = []
    for b in range(lo // _BLOCK, (hi - 1) // _BLOCK + 1):
        ss = np.random.SeedSequence(seed, spawn_key=(7, b + (1 << 20)))
        blocks.append(np.random.Generator(np.random.PCG64(ss)).standard_normal(
            (_BLOCK, nx + 2 * h), dtype=np.float32))
    white = np.concatenate(blocks)[lo - (lo // _BLOCK) * _BLOCK:][: hi - lo]
    white *= maps.rows("factor", lo, hi, -h, nx + h)
    out = fftconvolve(white, kernel, mode="valid")
    return out * np.float32(rms / np.sqrt(np.sum(kernel.astype(float) ** 2)))


@dataclass(frozen=True)
class Artefact:
    """Radial ripple and spoke pattern around a bright source (deconvolution residual)."""

    parent: int
    x: float
    y: float
    amp: float
    wavelength: float
    spokes: int
    contrast: float
    phase: float
    spoke_phase: float
    core: float
    radius: int


def render_artefact(a: Artefact) -> tuple[np.ndarray, int, int]:
    """Stamp of an artefact in Jy/beam: distorted rings x spokes, decaying as (λ/(r+λ))^1.3."""
    ix, iy, r0 = int(np.rint(a.x)), int(np.rint(a.y)), a.radius
    yy, xx = np.mgrid[-r0 : r0 + 1, -r0 : r0 + 1].astype(np.float32)
    xx += ix - a.x
    yy += iy - a.y
    r = np.hypot(xx, yy)
    phi = np.arctan2(yy, xx)
    spokes = 1 - a.contrast + a.contrast * np.abs(np.cos(0.5 * a.spokes * (phi - a.spoke_phase)))**4
    psi = a.phase + 1.5 * np.sin(phi + a.spoke_phase) + 0.8 * np.sin(2 * phi + 2 * a.phase)
    taper = np.cos(0.5 * np.pi * np.clip(r / r0, 0, 1)) ** 2 * (1 - np.exp(-((r / a.core) ** 2)))
    ripple = np.cos(2 * np.pi * r / a.wavelength + psi) * (a.wavelength / (r + a.wavelength))**1.3
    return (a.amp * ripple * spokes * taper).astype(np.float32), ix - r0, iy - r0


def artefact_for(rng, parent: int, x: float, y: float, peak: float, level: float,
                 sigma: float, beam_px: float, preset) -> Artefact | None:
    """Draw the artefact of a source of ``peak`` Jy/beam, or None if it stays below 5 sigma."""
    amp = level * peak
    if amp < 5 * sigma:
        return None
    lam = rng.uniform(*preset.ripple_beams) * beam_px
    radius = int(min(512, max(4 * lam, 2 * lam * (amp / (0.5 * sigma)) ** (1 / 1.3))))
    return Artefact(parent, x, y, amp, lam, int(rng.choice([4, 6, 8, 12])), rng.uniform(0.6, 0.95),
                    rng.uniform(0, 2 * np.pi), rng.uniform(0, 2 * np.pi), 1.5 * beam_px, radius)


def beam_kernel_for(beam_cov, floor_ratio: float = 1e-4) -> np.ndarray:
    """Unit-peak beam kernel reaching down to ``floor_ratio`` of the peak."""
    half = int(np.ceil(np.sqrt(2 * np.log(1 / floor_ratio) * max(beam_cov[0], beam_cov[2]))))
    return beam_kernel(beam_cov, half)
