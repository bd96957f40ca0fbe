"""The SimCLR augmentation pipeline of Riggi et al. [0] (their Table 2), batched and seeded.

Each view of a batch (B, C, H, W) in [0, 1] is produced by, in this order:

1. random crop whose side is a uniform fraction in ``crop_scale`` (0.8-1) of the image side
   (Table 2's ``crop_size``; ``crop_mode="area"`` samples the area fraction and aspect ratio
   as torchvision's RandomResizedCrop instead), resized back to the input size (or ``size``),
   then a horizontal flip with probability ``p_hflip`` or else a vertical flip with
   probability ``p_vflip`` (0.33 each: one of the two, never both, as Table 2 and the text);
2. rotation by 90, 180 or 270 degrees with probability ``p_rot90``;
3. colour jitter with probability ``p_jitter`` (0.8), factors ``value * jitter_strength`` as in
   SimCLR's colour distortion of strength s [1]: brightness / contrast / saturation 0.8 s,
   hue 0.2 s, the four operations in a random order per image;
4. Gaussian blur, sigma in ``blur_sigma`` (1-3) pixels, probability ``p_blur`` (0.1);
5. RandomThresholding: every channel set to zero below a random percentile in
   ``threshold_percentile`` (40-60) of that channel, probability ``p_threshold`` (0.5); switched
   off with ``thresholding=False`` for the *banner* data, as in [0].

Steps 1-2 are one bilinear ``grid_sample`` over all views (flips and quarter turns folded into
each crop's sampling grid); 3-5 act on the images they select. All random parameters, for every
view of every image, come from one ``torch.rand`` call on the generator passed in, so
``SimCLRAugment()(x, torch.Generator().manual_seed(s))`` is reproducible bit for bit.
The defaults are Table 2's values. ``code_behaviour=True`` does what the authors' released
code does (sclassifier's ``simclr_v10`` augmenter): the same square side-fraction crop, and
flips of exactly 1/3 each whatever ``p_hflip`` and ``p_vflip`` say.

- [0] Riggi et al. 2024, PASA, arXiv:2404.18462
- [1] Chen et al. 2020, SimCLR, https://arxiv.org/abs/2002.05709
"""

from __future__ import annotations

import torch

from radiolib.augment._checks import (
    check_image_batch,
    check_positive,
    check_probability,
    check_range,
    draw,
    uniform,
)
from radiolib.augment.geometry import (
    ATTEMPTS,
    crop_theta,
    quarter_turn_matrix,
    resized_crops,
    sample_crop_boxes,
)
from radiolib.augment.photometric import color_jitter, gaussian_blur
from radiolib.augment.thresholding import threshold_below_percentile

__all__ = ["SimCLRAugment"]

# columns of the per-image random matrix: crop (2 x ATTEMPTS + 2), then one column per draw
_A, _R = 0, ATTEMPTS
_X, _Y = 2 * ATTEMPTS, 2 * ATTEMPTS + 1
(_HF, _VF, _RP, _RK, _JP, _JB, _JC, _JS, _JH, _O0, _O1, _O2, _O3, _BP, _BS, _TP,
 _TQ) = range(2 * ATTEMPTS + 2, 2 * ATTEMPTS + 19)
_NCOL = _TQ + 1


class SimCLRAugment:
    """Two random views of a batch, with the augmentations of Riggi et al. 2024, Table 2.

    Parameters
    ----------
    size : int, optional
        Output side in pixels; default: the input size (Riggi et al. crop and resize back).
    crop_scale : tuple of float
        Range (0.8, 1.0) of the crop's side as a fraction of the image side (its area as a
        fraction with ``crop_mode="area"``).
    crop_ratio : tuple of float
        Aspect-ratio range, used only with ``crop_mode="area"``.
    crop_mode : {"side", "area"}
        ``side``: a square crop, Riggi et al.'s meaning; ``area``: torchvision's.
    p_hflip, p_vflip, p_rot90 : float
        Probabilities of a horizontal flip, of a vertical flip (exclusive: their sum is at most
        1), and of a rotation by 90, 180 or 270 degrees (chosen uniformly).
    brightness, contrast, saturation, hue, jitter_strength : float
        Colour-jitter ranges before scaling by the strength: factors are drawn in
        ``[max(0, 1 - v s), 1 + v s]`` (hue: ``[-v s, v s]`` turns).
    p_jitter : float
        Probability of the colour jitter.
    blur_sigma : tuple of float
        Range of the Gaussian blur's standard deviation in pixels.
    blur_kernel_size : int, optional
        Odd kernel size; default ``2 * ceil(3 sigma) + 1`` per image.
    p_blur : float
        Probability of the blur.
    thresholding : bool
        Apply RandomThresholding (set ``False`` for banner data).
    threshold_percentile : tuple of float
        Percentile range of the threshold.
    p_threshold : float
        Probability of the thresholding.
    interpolation : {"bilinear", "bicubic"}
        Resampling of the crop.
    code_behaviour : bool
        Flips of 1/3 each and a side-fraction crop, as the released code.

    Examples
    --------
    >>> aug = SimCLRAugment()
    >>> x = torch.rand(8, 3, 64, 64)
    >>> v1, v2 = aug(x, torch.Generator().manual_seed(0))
    >>> v1.shape
    torch.Size([8, 3, 64, 64])
    """

    def __init__(self, *, size: int | None = None,
                 crop_scale: tuple[float, float] = (0.8, 1.0),
                 crop_ratio: tuple[float, float] = (3 / 4, 4 / 3),
                 crop_mode: str = "side",
                 p_hflip: float = 0.33, p_vflip: float = 0.33, p_rot90: float = 0.5,
                 brightness: float = 0.8, contrast: float = 0.8, saturation: float = 0.8,
                 hue: float = 0.2, jitter_strength: float = 0.5, p_jitter: float = 0.8,
                 blur_sigma: tuple[float, float] = (1.0, 3.0),
                 blur_kernel_size: int | None = None, p_blur: float = 0.1,
                 thresholding: bool = True,
                 threshold_percentile: tuple[float, float] = (40.0, 60.0),
                 p_threshold: float = 0.5, interpolation: str = "bilinear",
                 code_behaviour: bool = False) -> None:
        if size is not None and (not isinstance(size, int) or size < 1):
            raise ValueError(f"size must be a positive int or None, got {size!r}")
        self.size = size
        self.crop_scale = check_range("crop_scale", crop_scale, low=0.0, high=1.0,
                                      strict_low=True)
        self.crop_ratio = check_range("crop_ratio", crop_ratio, low=0.0, strict_low=True)
        if crop_mode not in ("side", "area"):
            raise ValueError(f"crop_mode must be 'side' (Riggi et al.'s crop_size, a fraction of "
                             f"the image side) or 'area' (torchvision's), got {crop_mode!r}")
        self.crop_mode = crop_mode
        self.p_hflip = check_probability("p_hflip", p_hflip)
        self.p_vflip = check_probability("p_vflip", p_vflip)
        if self.p_hflip + self.p_vflip > 1:
            raise ValueError(f"p_hflip + p_vflip must be <= 1 (one flip or the other, never "
                             f"both), got {self.p_hflip} + {self.p_vflip}")
        self.p_rot90 = check_probability("p_rot90", p_rot90)
        strength = check_positive("jitter_strength", jitter_strength, allow_zero=True)
        self.jitter = tuple(check_positive(n, v, allow_zero=True) * strength for n, v in
                            (("brightness", brightness), ("contrast", contrast),
                             ("saturation", saturation), ("hue", hue)))
        if self.jitter[3] > 0.5:
            raise ValueError(f"hue * jitter_strength must be <= 0.5 (a half turn), got "
                             f"{self.jitter[3]}")
        self.p_jitter = check_probability("p_jitter", p_jitter)
        self.blur_sigma = check_range("blur_sigma", blur_sigma, low=0.0, strict_low=True)
        if blur_kernel_size is not None and (not isinstance(blur_kernel_size, int)
                                             or blur_kernel_size < 1 or blur_kernel_size % 2 == 0):
            raise ValueError(f"blur_kernel_size must be an odd positive int or None, "
                             f"got {blur_kernel_size!r}")
        self.blur_kernel_size = blur_kernel_size
        self.p_blur = check_probability("p_blur", p_blur)
        self.thresholding = bool(thresholding)
        self.threshold_percentile = check_range("threshold_percentile", threshold_percentile,
                                                low=0.0, high=100.0)
        self.p_threshold = check_probability("p_threshold", p_threshold)
        if interpolation not in ("bilinear", "bicubic"):
            raise ValueError(f"interpolation must be 'bilinear' or 'bicubic', got "
                             f"{interpolation!r}")
        self.interpolation = interpolation
        self.code_behaviour = bool(code_behaviour)

    def __repr__(self) -> str:
        fields = ", ".join(f"{k}={v!r}" for k, v in vars(self).items())
        return f"{type(self).__name__}({fields})"

    def __call__(self, x: torch.Tensor, generator: torch.Generator | None = None
                 ) -> tuple[torch.Tensor, torch.Tensor]:
        """Return two independent views ``(view1, view2)`` of ``x``, each (B, C, S, S).

        Both views are computed in one pass over a batch of 2B crops.
        """
        views = self.views(x, 2, generator)
        return views[0], views[1]

    def view(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """One random view of a batch, (B, C, S, S); see :meth:`views`."""
        return self.views(x, 1, generator)[0]

    def views(self, x: torch.Tensor, n_views: int = 2,
              generator: torch.Generator | None = None) -> torch.Tensor:
        """``n_views`` random views of every image of a batch.

        Parameters
        ----------
        x : Tensor, shape (B, C, H, W)
            Images in [0, 1]; colour jitter acts on 3 channels (1 channel: brightness and
            contrast only).
        n_views : int
            Views per image.
        generator : torch.Generator, optional
            Source of randomness (default: torch's global generator).

        Returns
        -------
        Tensor, shape (n_views, B, C, S, S)
            ``S = size``, or the input size (H, W) when ``size`` is None.
        """
        check_image_batch(x)
        b, c, h, w = x.shape
        out_hw = (self.size, self.size) if self.size is not None else (h, w)
        if self.p_rot90 > 0 and out_hw[0] != out_hw[1]:
            raise ValueError(f"rotation by 90 degrees needs square output, got {out_hw}; "
                             f"set size= or p_rot90=0")
        # one row of random numbers per (view, image), view-major like the crops below
        u = draw(b, n_views * _NCOL, generator, x.device).view(b, n_views, _NCOL)
        u = u.transpose(0, 1).reshape(n_views * b, _NCOL)
        u_area, scale, ratio = u[:, _A:_A + ATTEMPTS], self.crop_scale, self.crop_ratio
        p_h, p_v = (1 / 3, 1 / 3) if self.code_behaviour else (self.p_hflip, self.p_vflip)
        hflip, vflip = u[:, _HF] < p_h, (u[:, _HF] >= p_h) & (u[:, _HF] < p_h + p_v)
        if self.crop_mode == "side" or self.code_behaviour:  # square, side uniform in scale
            lo, hi = self.crop_scale
            side = lo + (hi - lo) * u_area
            u_area = (side**2 - lo**2) / (hi**2 - lo**2) if hi > lo else torch.zeros_like(side)
            scale, ratio = (lo**2, hi**2), (1.0, 1.0)
        boxes = sample_crop_boxes(u_area, u[:, _R:_R + ATTEMPTS], u[:, _X], u[:, _Y], h, w,
                                  scale, ratio)
        theta = crop_theta(boxes, h, w, hflip=hflip, vflip=vflip)
        if self.p_rot90 > 0:  # rotate the output grid by quarter turns: no extra pass
            turns = torch.where(u[:, _RP] < self.p_rot90, 1 + torch.floor(u[:, _RK] * 3), 0)
            theta = torch.cat([theta[:, :, :2] @ quarter_turn_matrix(turns), theta[:, :, 2:]], 2)
        out = resized_crops(x, theta.view(n_views, b, 2, 3).transpose(0, 1), out_hw,
                            mode=self.interpolation, zero_outside=False)
        out = out.reshape(n_views * b, c, *out_hw)
        out = self._jitter(out, u)
        out = self._blur(out, u)
        if self.thresholding:
            idx = torch.nonzero(u[:, _TP] < self.p_threshold).squeeze(1)
            if idx.numel():
                q = uniform(u[idx, _TQ], *self.threshold_percentile)
                threshold_below_percentile(out, q, index=idx, inplace=True)
        return out.view(n_views, b, c, *out_hw)

    def _jitter(self, x: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
        idx = torch.nonzero(u[:, _JP] < self.p_jitter).squeeze(1)
        if not idx.numel() or not any(self.jitter):
            return x
        br, co, sa, hu = self.jitter
        factors = torch.stack([uniform(u[idx, _JB], max(0.0, 1 - br), 1 + br),
                               uniform(u[idx, _JC], max(0.0, 1 - co), 1 + co),
                               uniform(u[idx, _JS], max(0.0, 1 - sa), 1 + sa),
                               uniform(u[idx, _JH], -hu, hu)], dim=1)
        order = torch.argsort(u[idx, _O0:_O3 + 1], dim=1)
        return color_jitter(x, factors, order, index=idx, inplace=True)

    def _blur(self, x: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
        idx = torch.nonzero(u[:, _BP] < self.p_blur).squeeze(1)
        if not idx.numel():
            return x
        sigma = uniform(u[idx, _BS], *self.blur_sigma)
        if self.blur_kernel_size is None:
            radius = torch.ceil(3 * sigma).long()
        else:
            radius = torch.full_like(sigma, self.blur_kernel_size // 2).long()
        limit = min(x.shape[-2:]) - 1
        if int(radius.max()) > limit:
            radius = radius.clamp(max=limit)  # reflect padding needs radius < side (tiny images)
        return x.index_copy_(0, idx, gaussian_blur(x.index_select(0, idx), sigma, radius))
