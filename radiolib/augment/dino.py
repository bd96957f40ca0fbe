"""DINO multi-crop augmentation of Lastufka et al. [0] on single-channel crops, batched and seeded.

For every image of a batch (B, 1, H, W) the pipeline returns two *global* crops (224², area
fraction 0.4-1) and ``n_local`` *local* crops (96², area ``local_scale``, which the recipe sets
by backbone: :func:`radiolib.ssl.config.dino_local_scale`), each from one bicubic
``grid_sample`` that also applies the random rotation (±``rotation_degrees``, probability
``p_rotation``, zero-filled corners) and the horizontal flip (DINO's, which the paper keeps;
``vflip=True`` adds a vertical one). Then, per crop:

* Gaussian blur, sigma ``blur_sigma``, probability ``p_blur`` = (first global, second global,
  locals) = (1.0, 0.1, 0.5) as in DINO [1];
* on local crops only (as the released code; the paper applies its extra augmentations to all
  views): random power-law scaling (``p_power_law`` 0.5, exponent log-uniform in
  ``power_range``) and random autocontrast (``p_autocontrast`` 0.5), which the paper tried but
  did not keep (Sect. 3.1.1; off in the configs).

Rotation, autocontrast and power law are switchable for the ablation of [0].

``code_behaviour=True`` reproduces the released code (github.com/elastufka/mgcls_dino) where it
differs from the paper: no flips; the "power law" is a linear rescale of the crop to [-1, 1]
(``PowerlawTransform`` receives ``powerlaw=True``, i.e. the power 1); blur, autocontrast and the
rescale act on the full image *before* cropping, which we reproduce by blurring the crop with
sigma scaled by the crop's zoom and a 3-pixel kernel, and by taking the autocontrast / rescale
limits from the full image; crops are not clipped to [0, 1]. The paper's power law divides by the
maximum and raises to a power (Sect. 2.4); the exponent is not legible in our copy of the text,
so ``power_range`` (0.5, 2) is our choice.

- [0] Lastufka et al. 2024, A&A 690, A310, arXiv:2408.06147
- [1] Caron et al. 2021, DINO, https://arxiv.org/abs/2104.14294
"""

from __future__ import annotations

import math

import torch

from radiolib.augment._checks import (
    check_image_batch,
    check_positive,
    check_probability,
    check_range,
    draw,
    uniform,
)
from radiolib.augment.geometry import ATTEMPTS, crop_theta, resized_crops, sample_crop_boxes
from radiolib.augment.photometric import autocontrast, gaussian_blur, linear_rescale, power_law

__all__ = ["DINOAugment"]

_A, _R = 0, ATTEMPTS
(_X, _Y, _RP, _RA, _HF, _VF, _BP, _BS, _AP, _PP, _PG) = range(2 * ATTEMPTS, 2 * ATTEMPTS + 11)
_NCOL = _PG + 1


class DINOAugment:
    """Multi-crop views for DINO with the augmentations of Lastufka et al. 2024.

    Parameters
    ----------
    n_local : int
        Number of local crops (8).
    global_size, local_size : int
        Output sides of the global (224) and local (96) crops.
    global_scale, local_scale : tuple of float
        Area fractions of the crops.
    crop_ratio : tuple of float
        Aspect-ratio range of the crops.
    rotation, rotation_degrees, p_rotation : bool, float, float
        Random rotation by an angle uniform in ±``rotation_degrees``, with probability.
    autocontrast, p_autocontrast : bool, float
        Random autocontrast of local crops.
    power_law, p_power_law, power_range : bool, float, tuple of float
        Random power-law scaling of local crops (code behaviour: linear rescale to [-1, 1]).
    flips, p_flip : bool or None, float
        Random horizontal flip (default: on for the paper, off for the code).
    vflip : bool
        Also flip vertically with ``p_flip`` (not in the paper).
    blur, p_blur, blur_sigma, blur_kernel_size : bool, tuple, tuple, int or None
        Gaussian blur; kernel ``2 ceil(3 sigma) + 1`` by default (code behaviour: 3).
    interpolation : {"bicubic", "bilinear"}
        Crop resampling (DINO and the released code use bicubic).
    code_behaviour : bool
        Reproduce the released code instead of the paper (see the module docstring).
    """

    def __init__(self, *, n_local: int = 8, global_size: int = 224, local_size: int = 96,
                 global_scale: tuple[float, float] = (0.4, 1.0),
                 local_scale: tuple[float, float] = (0.05, 0.4),
                 crop_ratio: tuple[float, float] = (3 / 4, 4 / 3),
                 rotation: bool = True, rotation_degrees: float = 30.0, p_rotation: float = 0.5,
                 autocontrast: bool = True, p_autocontrast: float = 0.5,
                 power_law: bool = True, p_power_law: float = 0.5,
                 power_range: tuple[float, float] = (0.5, 2.0),
                 flips: bool | None = None, p_flip: float = 0.5, vflip: bool = False,
                 blur: bool = True, p_blur: tuple[float, float, float] = (1.0, 0.1, 0.5),
                 blur_sigma: tuple[float, float] = (0.1, 2.0),
                 blur_kernel_size: int | None = None, interpolation: str = "bicubic",
                 code_behaviour: bool = False) -> None:
        for name, value in (("n_local", n_local), ("global_size", global_size),
                            ("local_size", local_size)):
            if not isinstance(value, int) or value < (0 if name == "n_local" else 1):
                kind = "non-negative" if name == "n_local" else "positive"
                raise ValueError(f"{name} must be a {kind} int, got {value!r}")
        self.n_local, self.global_size, self.local_size = n_local, global_size, local_size
        self.global_scale = check_range("global_scale", global_scale, low=0, high=1,
                                        strict_low=True)
        self.local_scale = check_range("local_scale", local_scale, low=0, high=1, strict_low=True)
        self.crop_ratio = check_range("crop_ratio", crop_ratio, low=0, strict_low=True)
        self.rotation, self.autocontrast, self.power_law = bool(rotation), bool(autocontrast), \
            bool(power_law)
        self.rotation_degrees = check_positive("rotation_degrees", rotation_degrees,
                                               allow_zero=True)
        self.p_rotation = check_probability("p_rotation", p_rotation)
        self.p_autocontrast = check_probability("p_autocontrast", p_autocontrast)
        self.p_power_law = check_probability("p_power_law", p_power_law)
        self.power_range = check_range("power_range", power_range, low=0, strict_low=True)
        self.code_behaviour = bool(code_behaviour)
        if flips and self.code_behaviour:
            raise ValueError("the released code applies no flips: flips=True contradicts "
                             "code_behaviour=True")
        self.flips = (not self.code_behaviour) if flips is None else bool(flips)
        self.p_flip = check_probability("p_flip", p_flip)
        self.vflip = bool(vflip) and self.flips
        self.blur = bool(blur)
        if not isinstance(p_blur, (tuple, list)) or len(p_blur) != 3:
            raise ValueError(f"p_blur must be three probabilities (first global, second global, "
                             f"local crops), got {p_blur!r}")
        self.p_blur = tuple(check_probability("p_blur", p) for p in p_blur)
        self.blur_sigma = check_range("blur_sigma", blur_sigma, low=0, strict_low=True)
        if blur_kernel_size is None and self.code_behaviour:
            blur_kernel_size = 3
        if blur_kernel_size is not None and (not isinstance(blur_kernel_size, int)
                                             or blur_kernel_size < 1 or blur_kernel_size % 2 == 0):
            raise ValueError(f"blur_kernel_size must be an odd positive int or None, "
                             f"got {blur_kernel_size!r}")
        self.blur_kernel_size = blur_kernel_size
        if interpolation not in ("bilinear", "bicubic"):
            raise ValueError(f"interpolation must be 'bicubic' or 'bilinear', got "
                             f"{interpolation!r}")
        self.interpolation = interpolation

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in vars(self).items())})"

    def __call__(self, x: torch.Tensor, generator: torch.Generator | None = None
                 ) -> list[torch.Tensor]:
        """Return the crops of a batch, globals first.

        Parameters
        ----------
        x : Tensor, shape (B, C, H, W)
            Images in [0, 1] (C = 1 in Lastufka et al.).
        generator : torch.Generator, optional
            Source of randomness (default: torch's global generator).

        Returns
        -------
        list of Tensor
            ``2`` tensors (B, C, global_size, global_size), then ``n_local`` tensors
            (B, C, local_size, local_size).
        """
        check_image_batch(x)
        b, _, h, w = x.shape
        m = 2 + self.n_local
        u = draw(b, m * _NCOL, generator, x.device).view(b, m, _NCOL).transpose(0, 1)
        lo_src = x.amin(dim=(-2, -1), keepdim=True)  # full-image limits (code behaviour)
        hi_src = x.amax(dim=(-2, -1), keepdim=True)
        views = list(self._crops(x, u[:2], self.global_scale, self.global_size, (0, 1)).split(b))
        if self.n_local:
            local = self._crops(x, u[2:], self.local_scale, self.local_size, (2,) * self.n_local)
            local = self._intensity(local, u[2:].reshape(-1, _NCOL),
                                    lo_src.repeat(self.n_local, 1, 1, 1),
                                    hi_src.repeat(self.n_local, 1, 1, 1))
            views += list(local.split(b))
        return views

    def _crops(self, x, u, scale, size, kinds):
        """Crops (k*B, C, size, size), crop-major, for the (k, B, NCOL) parameters ``u``."""
        k, b = u.shape[:2]
        _, _, h, w = x.shape
        flat = u.reshape(k * b, _NCOL)
        boxes = sample_crop_boxes(flat[:, _A:_A + ATTEMPTS], flat[:, _R:_R + ATTEMPTS],
                                  flat[:, _X], flat[:, _Y], h, w, scale, self.crop_ratio)
        angle = None
        if self.rotation:
            deg = uniform(flat[:, _RA], -self.rotation_degrees, self.rotation_degrees)
            angle = torch.where(flat[:, _RP] < self.p_rotation, torch.deg2rad(deg), 0.0)
        flip_h = flip_v = None
        if self.flips:
            flip_h = flat[:, _HF] < self.p_flip
            flip_v = flat[:, _VF] < self.p_flip if self.vflip else None
        theta = crop_theta(boxes, h, w, angle=angle, hflip=flip_h, vflip=flip_v)
        out = resized_crops(x, theta.view(k, b, 2, 3).transpose(0, 1), (size, size),
                            mode=self.interpolation).reshape(k * b, x.shape[1], size, size)
        if not self.code_behaviour:
            out = out.clamp_(0.0, 1.0)
        if self.blur:
            p = torch.tensor([self.p_blur[kind] for kind in kinds], dtype=flat.dtype,
                             device=flat.device).repeat_interleave(b)
            zoom = torch.sqrt(size * size / (boxes[:, 2] * boxes[:, 3]))
            out = self._blur(out, flat, p, zoom)
        return out

    def _blur(self, x, u, p, zoom):
        idx = torch.nonzero(u[:, _BP] < p).squeeze(1)
        if not idx.numel():
            return x
        sigma = uniform(u[idx, _BS], *self.blur_sigma)
        if self.code_behaviour:  # blurred before the crop in the code: in input pixels
            sigma = sigma * zoom[idx]
            radius = torch.clamp(torch.round(zoom[idx] * (self.blur_kernel_size // 2)), min=1)
        elif self.blur_kernel_size is None:
            radius = torch.ceil(3 * sigma)
        else:
            radius = torch.full_like(sigma, self.blur_kernel_size // 2)
        radius = radius.long().clamp(max=min(x.shape[-2:]) - 1)
        return x.index_copy_(0, idx, gaussian_blur(x.index_select(0, idx), sigma, radius))

    def _intensity(self, x, u, lo_src, hi_src):
        """Random autocontrast then power law on crops (N, C, s, s) with parameters (N, NCOL)."""
        code = self.code_behaviour
        lo, hi = (lo_src.clone(), hi_src.clone()) if code else (None, None)
        if self.autocontrast:
            idx = torch.nonzero(u[:, _AP] < self.p_autocontrast).squeeze(1)
            if idx.numel():
                x.index_copy_(0, idx, autocontrast(x.index_select(0, idx), lo[idx] if code
                                                   else None, hi[idx] if code else None))
                if code:  # the full image now spans [0, 1] (unless it was flat)
                    flat = hi[idx] <= lo[idx]
                    lo[idx] = torch.where(flat, lo[idx], 0.0)
                    hi[idx] = torch.where(flat, hi[idx], 1.0)
        if self.power_law:
            idx = torch.nonzero(u[:, _PP] < self.p_power_law).squeeze(1)
            if idx.numel():
                if code:
                    scaled = linear_rescale(x.index_select(0, idx), lo[idx], hi[idx])
                else:
                    gamma = torch.exp(uniform(u[idx, _PG], *(math.log(v) for v in
                                                              self.power_range)))
                    scaled = power_law(x.index_select(0, idx), gamma)
                x.index_copy_(0, idx, scaled)
        return x
