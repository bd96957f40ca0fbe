"""Source models: each morphology as a sum of elliptical Gaussians (and a few textures).

A model is built in pixel units around its centre ``(x, y)``. Gaussians are rows
``[x, y, flux, fwhm_maj, fwhm_min, theta]`` (intrinsic, before the beam; ``theta`` is the major
axis angle from +x, radians), so they are convolved with the restoring beam analytically.
Textures (halos, Galactic clouds) are rows ``[kind, x, y, flux, scale, q, theta, seed]`` rendered
on a stamp and convolved with ``scipy.signal.fftconvolve``. Jets, tails, lobes, filaments, arcs
and rings are chains of Gaussians elongated along a curved path.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["MORPHOLOGIES", "TEXTURE_CLOUD", "TEXTURE_EXPDISK", "Model", "make_source"]

TEXTURE_EXPDISK, TEXTURE_CLOUD = 0.0, 1.0
_TAU = 2 * np.pi


@dataclass(frozen=True)
class Model:
    """A source model: Gaussians (k, 6), textures (t, 8), number of physical components."""

    comps: np.ndarray
    textures: np.ndarray
    n_components: int


def _model(comps: list, textures: list | None = None, n: int = 1) -> Model:
    rows = [np.atleast_2d(c) for c in comps if len(c)]
    tex = np.array(textures or [], float).reshape(-1, 8)
    return Model(np.vstack(rows) if rows else np.zeros((0, 6)), tex, n)


def _curve(rng, x, y, angle, length, bend=0.0, wiggle=0.0) -> tuple[np.ndarray, np.ndarray]:
    """Trace a dense polyline from (x, y): constant turn ``bend`` (rad) plus a smooth wiggle."""
    t = np.linspace(0.0, 1.0, max(8, int(2 * length)))
    k, ph = rng.uniform(1.0, 3.0, 2), rng.uniform(0.0, _TAU, 2)
    ang = angle + bend * t + wiggle * (np.sin(_TAU * k[0] * t + ph[0])
                                       + 0.5 * np.sin(_TAU * k[1] * t + ph[1]))
    ds = length / (t.size - 1)
    xs = x + np.r_[0.0, np.cumsum(np.cos(ang[:-1]) * ds)]
    ys = y + np.r_[0.0, np.cumsum(np.sin(ang[:-1]) * ds)]
    return xs, ys


def _chain(path, flux, width, bright) -> np.ndarray:
    """Gaussians along ``path`` spaced by half the local width; ``width``/``bright`` map u∈[0,1]."""
    xs, ys = path
    s = np.r_[0.0, np.cumsum(np.hypot(np.diff(xs), np.diff(ys)))]
    length = max(s[-1], 1e-6)
    pos = [0.0]
    while pos[-1] < length:
        pos.append(pos[-1] + max(0.75, 0.5 * float(width(pos[-1] / length))))
    pos = np.minimum(np.array(pos), length)
    u = pos / length
    px, py = np.interp(pos, s, xs), np.interp(pos, s, ys)
    ang = np.arctan2(np.gradient(py), np.gradient(px)) if pos.size > 1 else np.zeros(1)
    step = np.gradient(pos) if pos.size > 1 else np.ones(1)
    w = np.asarray(width(u), float) * np.ones_like(u)
    f = np.asarray(bright(u), float) * step
    f = flux * f / f.sum()
    return np.column_stack([px, py, f, np.maximum(w, 2.0 * step), w, ang])


def _ang(rng, angle):
    return rng.uniform(0.0, _TAU) if angle is None else angle


def compact(rng, x, y, flux, size, angle=None) -> Model:
    """Unresolved source: a point convolved with the beam (1C-1P)."""
    return _model([[x, y, flux, 0.0, 0.0, 0.0]])


def resolved(rng, x, y, flux, size, angle=None) -> Model:
    """Single-component resolved source: an elliptical Gaussian of major FWHM ``size``."""
    return _model([[x, y, flux, size, size * rng.uniform(0.4, 1.0), _ang(rng, angle)]])


def _jet(rng, x, y, angle, length, flux, bend=0.0, flare=0.35, fade=0.35) -> np.ndarray:
    """Edge-darkened jet (FRI): brightest at its base, widening and fading outwards."""
    w0, w1 = max(1.0, 0.04 * length), flare * length
    path = _curve(rng, x, y, angle, length, bend, 0.05)
    return _chain(path, flux, lambda u: w0 + (w1 - w0) * u**0.7, lambda u: np.exp(-u / fade))


def _lobe(rng, x, y, angle, arm, flux, hotspot=True) -> list:
    """FRII lobe: a hot spot at distance ``arm`` and a body brightening towards it."""
    tip = (x + arm * np.cos(angle), y + arm * np.sin(angle))
    h = rng.uniform(0.2, 0.5) if hotspot else 0.0
    width = rng.uniform(0.25, 0.45) * arm
    body = _curve(rng, *tip, angle + np.pi, rng.uniform(0.4, 0.8) * arm, rng.normal(0, 0.15), 0.05)
    rows = [_chain(body, (1 - h) * flux, lambda u: width * (1 - 0.5 * u),
                   lambda u: np.exp(-u / 0.45))]
    if hotspot:
        hs = max(0.5, 0.03 * arm)
        rows.append([*tip, h * flux, hs, hs * rng.uniform(0.6, 1.0), angle])
    return rows


def fri(rng, x, y, flux, size, angle=None) -> Model:
    """FRI: core plus two edge-darkened, flaring jets."""
    th, fc = _ang(rng, angle), rng.uniform(0.05, 0.3)
    a = rng.uniform(-0.1, 0.1)
    rows = [[x, y, fc * flux, 0.0, 0.0, 0.0]]
    for side, share in ((0.0, 0.5 + a), (np.pi, 0.5 - a)):
        length = 0.5 * size * rng.uniform(0.75, 1.0)
        rows.append(_jet(rng, x, y, th + side + rng.normal(0, 0.1), length,
                         (1 - fc) * flux * share, rng.normal(0, 0.3)))
    return _model(rows, n=3)


def frii(rng, x, y, flux, size, angle=None, core=None) -> Model:
    """FRII: (faint or absent) core plus two lobes with hot spots (edge-brightened)."""
    th = _ang(rng, angle)
    fc = (rng.uniform(0.0, 0.05) if rng.random() < 0.5 else 0.0) if core is None else core
    a, d = rng.uniform(0, 0.15), rng.uniform(-0.2, 0.2)
    rows = [[x, y, fc * flux, 0.0, 0.0, 0.0]] if fc > 0 else []
    for side, sign in ((0.0, 1), (np.pi, -1)):
        arm = 0.5 * size * (1 + sign * a)
        rows += _lobe(rng, x, y, th + side + rng.normal(0, 0.08), arm,
                      (1 - fc) * flux * (0.5 + sign * d))
    return _model(rows, n=2 + (fc > 0))


def wat(rng, x, y, flux, size, angle=None) -> Model:
    """Wide-angle tail: two jets leaving in opposite directions, then bending the same way."""
    d, fc = _ang(rng, angle), rng.uniform(0.05, 0.2)
    rows = [[x, y, fc * flux, 0.0, 0.0, 0.0]]
    for sign in (1, -1):
        beta = rng.uniform(np.radians(70), np.radians(110))
        rows.append(_jet(rng, x, y, d + sign * beta, 0.5 * size * rng.uniform(0.8, 1.2),
                         0.5 * (1 - fc) * flux, -sign * (beta - rng.uniform(0, 0.5)),
                         flare=0.3, fade=0.5))
    return _model(rows, n=3)


def ht(rng, x, y, flux, size, angle=None) -> Model:
    """Head-tail: a bright head and one (or two nearly merged) long, widening tails."""
    d, fc = _ang(rng, angle), rng.uniform(0.2, 0.5)
    rows = [[x, y, fc * flux, 0.0, 0.0, 0.0]]
    n_tails = 1 + (rng.random() < 0.5)
    for k in range(n_tails):
        open_ = 0.0 if n_tails == 1 else (-1) ** k * rng.uniform(0.05, 0.25)
        path = _curve(rng, x, y, d + open_, size * rng.uniform(0.8, 1.0), rng.normal(0, 0.4), 0.1)
        rows.append(_chain(path, (1 - fc) * flux / n_tails,
                           lambda u, L=size: max(1.0, 0.03 * L) + 0.2 * L * u,
                           lambda u: np.exp(-u / 0.4)))
    return _model(rows, n=2)


def hybrid(rng, x, y, flux, size, angle=None) -> Model:
    """Hybrid morphology: an FRI jet on one side, an FRII lobe with hot spot on the other."""
    th, fc = _ang(rng, angle), rng.uniform(0.03, 0.15)
    rows = [[x, y, fc * flux, 0.0, 0.0, 0.0]]
    rows.append(_jet(rng, x, y, th, 0.5 * size, 0.45 * (1 - fc) * flux))
    rows += _lobe(rng, x, y, th + np.pi + rng.normal(0, 0.1), 0.5 * size, 0.55 * (1 - fc) * flux)
    return _model(rows, n=3)


def xshaped(rng, x, y, flux, size, angle=None) -> Model:
    """X-shaped radio galaxy: an FRII plus a pair of diffuse wings at 30-70 deg."""
    th, fw = _ang(rng, angle), rng.uniform(0.15, 0.3)
    main = frii(rng, x, y, (1 - fw) * flux, size, th, core=rng.uniform(0.01, 0.05))
    tilt = th + rng.choice([-1, 1]) * rng.uniform(np.radians(30), np.radians(70))
    rows = [main.comps]
    for side in (0.0, np.pi):
        length = 0.5 * size * rng.uniform(0.5, 1.0)
        path = _curve(rng, x, y, tilt + side, length, rng.normal(0, 0.2), 0.05)
        rows.append(_chain(path, 0.5 * fw * flux, lambda u, L=length: 0.3 * L,
                           lambda u: np.exp(-u / 0.8)))
    return _model(rows, n=main.n_components + 2)


def ddrg(rng, x, y, flux, size, angle=None) -> Model:
    """Double-double radio galaxy: an inner and an outer pair of FRII lobes on one axis."""
    th, fo = _ang(rng, angle), rng.uniform(0.6, 0.8)
    outer = frii(rng, x, y, fo * flux, size, th, core=0.0)
    inner = frii(rng, x, y, (1 - fo) * flux, size * rng.uniform(0.25, 0.5),
                 th + rng.normal(0, 0.08), core=rng.uniform(0.0, 0.1))
    return _model([outer.comps, inner.comps], n=outer.n_components + inner.n_components)


def _ring_rows(rng, x, y, flux, radius, width, q, th, modulation) -> np.ndarray:
    n = max(12, int(np.ceil(_TAU * radius / max(0.75, 0.5 * width))))
    phi = np.linspace(0.0, _TAU, n, endpoint=False)
    ex, ey = radius * np.cos(phi), q * radius * np.sin(phi)
    px = x + ex * np.cos(th) - ey * np.sin(th)
    py = y + ex * np.sin(th) + ey * np.cos(th)
    b = np.clip(modulation(phi), 0.02, None)
    tang = np.arctan2(np.gradient(py), np.gradient(px))
    seg = _TAU * radius / n
    return np.column_stack([px, py, flux * b / b.sum(), np.full(n, max(width, 2 * seg)),
                            np.full(n, width), tang])


def ring(rng, x, y, flux, size, angle=None) -> Model:
    """ORC-like ring: an edge-brightened, slightly elliptical ring, faint interior, maybe a host."""
    r, th = 0.5 * size, _ang(rng, angle)
    fi, m, ph = rng.uniform(0.1, 0.3), rng.uniform(0.2, 0.6), rng.uniform(0.0, _TAU, 2)
    host = rng.uniform(0.02, 0.1) if rng.random() < 0.5 else 0.0
    rows = [_ring_rows(rng, x, y, (1 - fi - host) * flux, r, rng.uniform(0.12, 0.3) * r,
                       rng.uniform(0.75, 1.0), th,
                       lambda p: 1 + m * np.cos(p - ph[0]) + 0.3 * m * np.cos(2 * p - ph[1])),
            [x, y, fi * flux, 1.2 * r, 1.1 * r, th]]
    if host:
        rows.append([x, y, host * flux, 0.0, 0.0, 0.0])
    return _model(rows, n=1 + (host > 0))


def snr(rng, x, y, flux, size, angle=None) -> Model:
    """Supernova-remnant shell with bilateral limb brightening and a faint filled interior."""
    r, th, ph = 0.5 * size, _ang(rng, angle), rng.uniform(0.0, _TAU)
    rows = [_ring_rows(rng, x, y, 0.9 * flux, r, rng.uniform(0.08, 0.2) * r,
                       rng.uniform(0.8, 1.0), th, lambda p: 0.3 + np.cos(p - ph) ** 2),
            [x, y, 0.1 * flux, 1.4 * r, 1.3 * r, th]]
    return _model(rows)


def filament(rng, x, y, flux, size, angle=None) -> Model:
    """Thin, long, gently curved filament (Galactic NTF, cluster 'thread') centred on (x, y)."""
    th, w = _ang(rng, angle), rng.uniform(1.0, 4.0)
    bend = rng.normal(0, 0.6)
    x0, y0 = x - 0.5 * size * np.cos(th + bend / 2), y - 0.5 * size * np.sin(th + bend / 2)
    k, ph = rng.uniform(1, 4), rng.uniform(0, _TAU)
    path = _curve(rng, x0, y0, th, size, bend, 0.15)
    return _model([_chain(path, flux, lambda u: w,
                          lambda u: 1 + 0.5 * np.sin(_TAU * k * u + ph))])


def relic(rng, x, y, flux, size, angle=None) -> Model:
    """Radio relic: an arc (concave towards ``angle`` + pi) with a sharp outer edge."""
    th = _ang(rng, angle)
    rc = size * rng.uniform(0.8, 2.0)
    span = size / rc
    cx, cy = x - rc * np.cos(th), y - rc * np.sin(th)
    rows = []
    for dr, w, f in ((0.0, rng.uniform(0.04, 0.08) * size, 0.6), (-0.1 * size, 0.2 * size, 0.4)):
        phi = th + np.linspace(-span / 2, span / 2, max(8, int(2 * size)))
        path = (cx + (rc + dr) * np.cos(phi), cy + (rc + dr) * np.sin(phi))
        rows.append(_chain(path, f * flux, lambda u, w=w: w,
                           lambda u: np.sin(np.pi * np.clip(u, 0.02, 0.98)) ** 0.5))
    return _model(rows)


def halo(rng, x, y, flux, size, angle=None) -> Model:
    """Radio halo: exponential disk (e-folding size/6) modulated by a random field (texture)."""
    tex = [TEXTURE_EXPDISK, x, y, flux, size / 6, rng.uniform(0.7, 1.0), _ang(rng, angle),
           rng.integers(2**31)]
    return _model([], [tex])


def cloud(rng, x, y, flux, size, angle=None) -> Model:
    """Galactic diffuse cloud: a log-normal random field under a Gaussian envelope (texture)."""
    tex = [TEXTURE_CLOUD, x, y, flux, size / 2, rng.uniform(0.5, 1.0), _ang(rng, angle),
           rng.integers(2**31)]
    return _model([], [tex])


def hii(rng, x, y, flux, size, angle=None) -> Model:
    """HII region: a resolved thermal blob with up to two smaller satellites."""
    n = int(rng.integers(1, 4))
    share = rng.dirichlet(np.full(n, 2.0)) * flux
    rows = [[x, y, share[0], size * 0.6, size * 0.6 * rng.uniform(0.5, 1.0), rng.uniform(0, _TAU)]]
    for s in share[1:]:
        dx, dy = rng.normal(0, 0.3 * size, 2)
        fw = size * rng.uniform(0.2, 0.4)
        rows.append([x + dx, y + dy, s, fw, fw * rng.uniform(0.5, 1.0), rng.uniform(0, _TAU)])
    return _model(rows)


MORPHOLOGIES = {f.__name__: f for f in (compact, resolved, fri, frii, wat, ht, hybrid, xshaped,
                                        ddrg, ring, snr, filament, relic, halo, cloud, hii)}


def make_source(name: str, rng: np.random.Generator, x: float, y: float, flux: float,
                size: float, angle: float | None = None) -> Model:
    """Build morphology ``name`` at pixel ``(x, y)``: total ``flux`` (Jy), LAS ``size`` (px)."""
    return MORPHOLOGIES[name](rng, x, y, flux, size, angle)
