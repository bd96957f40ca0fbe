"""Batched geometric augmentations: random resized crops (with rotation and flips), rot90.

Every crop of a batch is one affine map from output to input pixels; all crops are sampled by a
single :func:`torch.nn.functional.grid_sample` call, with a per-crop affine grid, so the cost
does not grow with Python-level loops over images. Rotation and flips are folded into the same
grid (one interpolation, as if the image were rotated, then cropped, then flipped). Rotations
by multiples of 90° use :func:`torch.rot90` instead, which is exact.

Crops are drawn like :class:`torchvision.transforms.RandomResizedCrop` (ten attempts at an area
fraction in ``scale`` and a log-uniform aspect ratio in ``ratio``, then a centre-crop fallback),
but with continuous rather than integer boxes, and bilinear/bicubic sampling without
antialiasing (the papers' settings downsample by less than 2x).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

__all__ = ["affine_grid", "crop_theta", "quarter_turn_matrix", "resized_crops", "rot90",
           "sample_crop_boxes"]

ATTEMPTS = 10  # as torchvision's RandomResizedCrop.get_params


def sample_crop_boxes(u_area: torch.Tensor, u_ratio: torch.Tensor, u_x: torch.Tensor,
                      u_y: torch.Tensor, height: int, width: int, scale: tuple[float, float],
                      ratio: tuple[float, float]) -> torch.Tensor:
    """Draw random-resized-crop boxes from uniform numbers, vectorised over crops.

    Parameters
    ----------
    u_area, u_ratio : Tensor, shape (N, ATTEMPTS)
        Uniform [0, 1) numbers for the area fraction and log aspect ratio of each attempt.
    u_x, u_y : Tensor, shape (N,)
        Uniform [0, 1) numbers placing the box inside the image.
    height, width : int
        Input image size in pixels.
    scale, ratio : tuple of float
        Area fraction and aspect-ratio (width / height) ranges.

    Returns
    -------
    Tensor, shape (N, 4)
        ``(x0, y0, w, h)`` of each box in (continuous) pixel units.
    """
    area = height * width
    target = area * (scale[0] + (scale[1] - scale[0]) * u_area)
    log_r = math.log(ratio[0]) + (math.log(ratio[1]) - math.log(ratio[0])) * u_ratio
    aspect = torch.exp(log_r)
    w = torch.sqrt(target * aspect)
    h = torch.sqrt(target / aspect)
    ok = (w <= width) & (h <= height)
    first = torch.argmax(ok.to(torch.int8), dim=1, keepdim=True)  # first valid attempt
    found = ok.any(dim=1)
    w = torch.gather(w, 1, first).squeeze(1)
    h = torch.gather(h, 1, first).squeeze(1)
    # fallback of torchvision: the largest centred box whose aspect ratio lies within `ratio`
    in_ratio = width / height
    fw, fh = float(width), float(height)
    if in_ratio < ratio[0]:
        fh = width / ratio[0]
    elif in_ratio > ratio[1]:
        fw = height * ratio[1]
    w = torch.where(found, w, torch.full_like(w, fw))
    h = torch.where(found, h, torch.full_like(h, fh))
    ux = torch.where(found, u_x, torch.full_like(u_x, 0.5))
    uy = torch.where(found, u_y, torch.full_like(u_y, 0.5))
    return torch.stack([ux * (width - w), uy * (height - h), w, h], dim=1)


def crop_theta(boxes: torch.Tensor, height: int, width: int, *, angle: torch.Tensor | None = None,
               hflip: torch.Tensor | None = None, vflip: torch.Tensor | None = None
               ) -> torch.Tensor:
    """Affine matrices (for :func:`torch.nn.functional.affine_grid`) of rotated, flipped crops.

    The crop ``boxes`` are taken from the image rotated by ``angle`` about its centre (corners
    outside the image are zero), and then flipped, as ``RandomRotation`` followed by
    ``RandomResizedCrop`` and flips would do in torchvision.

    Parameters
    ----------
    boxes : Tensor, shape (N, 4)
        ``(x0, y0, w, h)`` in pixels of the (rotated) input image.
    height, width : int
        Input image size.
    angle : Tensor, shape (N,), optional
        Rotation angles in radians.
    hflip, vflip : Tensor of bool, shape (N,), optional
        Whether to flip each crop horizontally / vertically.

    Returns
    -------
    Tensor, shape (N, 2, 3)
        Output normalised coordinates -> input normalised coordinates (``align_corners=False``).
    """
    x0, y0, w, h = boxes.unbind(1)
    zeros = torch.zeros_like(x0)
    sx, sy = w / width, h / height
    if hflip is not None:
        sx = torch.where(hflip, -sx, sx)
    if vflip is not None:
        sy = torch.where(vflip, -sy, sy)
    theta = torch.stack([torch.stack([sx, zeros, (2 * x0 + w) / width - 1], 1),
                         torch.stack([zeros, sy, (2 * y0 + h) / height - 1], 1)], 1)
    if angle is None:
        return theta
    # rotation about the centre in pixel units, written in normalised units: D^-1 R D
    cos, sin = torch.cos(angle), torch.sin(angle)
    rot = torch.stack([torch.stack([cos, -sin * height / width], 1),
                       torch.stack([sin * width / height, cos], 1)], 1)
    return rot @ theta


def quarter_turn_matrix(turns: torch.Tensor) -> torch.Tensor:
    """Matrices (N, 2, 2) that rotate normalised output coordinates by ``turns`` quarter turns.

    ``theta[:, :, :2] @ quarter_turn_matrix(k)`` makes :func:`resized_crops` return the crops
    rotated as ``torch.rot90(crop, k, dims=(-2, -1))`` (square outputs).
    """
    k = torch.remainder(turns.to(torch.long), 4)
    cos = torch.tensor([1.0, 0.0, -1.0, 0.0], dtype=torch.float64, device=k.device)[k]
    sin = torch.tensor([0.0, 1.0, 0.0, -1.0], dtype=torch.float64, device=k.device)[k]
    return torch.stack([torch.stack([cos, -sin], 1), torch.stack([sin, cos], 1)], 1)


def affine_grid(theta: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """``F.affine_grid(theta, (N, 1, height, width), align_corners=False)``, built directly.

    Two broadcast multiply-adds per coordinate instead of a batched matmul over a base grid
    (several times faster on CPU). Shapes: (N, 2, 3) -> (N, height, width, 2).
    """
    xs = (torch.arange(width, dtype=theta.dtype, device=theta.device) * 2 + 1) / width - 1
    ys = (torch.arange(height, dtype=theta.dtype, device=theta.device) * 2 + 1) / height - 1
    t = theta.view(-1, 2, 3, 1, 1)
    grid = torch.empty(theta.shape[0], height, width, 2, dtype=theta.dtype,
                       device=theta.device)
    for axis in (0, 1):
        torch.add(t[:, axis, 0] * xs.view(1, 1, width),
                  torch.addcmul(t[:, axis, 2], t[:, axis, 1], ys.view(1, height, 1)),
                  out=grid[..., axis])
    return grid


def resized_crops(x: torch.Tensor, theta: torch.Tensor, size: tuple[int, int], *,
                  mode: str = "bilinear", zero_outside: bool = True) -> torch.Tensor:
    """Sample ``M`` affine crops of every image of a batch in one ``grid_sample`` call.

    Parameters
    ----------
    x : Tensor, shape (B, C, H, W)
        Images.
    theta : Tensor, shape (B, M, 2, 3)
        Crop matrices from :func:`crop_theta`, ``M`` per image.
    size : tuple of int
        Output ``(h, w)``.
    mode : {"bilinear", "bicubic", "nearest"}
        Interpolation. Output pixels that fall outside the image (corners of rotated crops)
        are zero; inside, edge pixels are replicated as in ``F.interpolate``.
    zero_outside : bool
        Set ``False`` when no crop leaves the image (no rotation) to skip that test.

    Returns
    -------
    Tensor, shape (M, B, C, h, w)
        The crops, crop index first.
    """
    b, m = theta.shape[:2]
    h, w = size
    flat_theta = theta.reshape(b * m, 2, 3).to(x.dtype)
    # stack the M grids of an image vertically, so the input is never copied M times
    grid = affine_grid(flat_theta, h, w)
    # edge pixels are replicated up to the image border (as F.interpolate); beyond it, zeros
    out = F.grid_sample(x, grid.view(b, m * h, w, 2), mode=mode, padding_mode="border",
                        align_corners=False).view(b, x.shape[1], m, h, w)
    if zero_outside:
        # a crop leaves the image iff one of its corner pixels does (the grid is affine)
        corners = torch.tensor([[sx * (1 - 1 / w), sy * (1 - 1 / h), 1.0] for sx in (-1, 1)
                                for sy in (-1, 1)], dtype=x.dtype, device=x.device)
        leaves = ((flat_theta @ corners.T).abs() > 1.0 + 1e-6).flatten(1).any(dim=1)
        crops = torch.nonzero(leaves).squeeze(1)
        if crops.numel():
            inside = (grid[crops].abs() <= 1.0 + 1e-6).all(dim=-1).unsqueeze(1)
            image, slot = crops // m, crops % m
            out[image, :, slot] = out[image, :, slot] * inside.to(out.dtype)
    return out.permute(2, 0, 1, 3, 4)


def rot90(x: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
    """Rotate each image of ``x`` by ``k[i]`` quarter turns (exact; square images only).

    Parameters
    ----------
    x : Tensor, shape (B, C, S, S)
    k : Tensor of int, shape (B,)
        Quarter turns (counter-clockwise) per image, any integers (taken modulo 4).

    Returns
    -------
    Tensor, shape (B, C, S, S)
    """
    if x.shape[-1] != x.shape[-2]:
        raise ValueError(f"rotation by 90 degrees needs square images, got {tuple(x.shape[-2:])}")
    k = torch.remainder(k.to(torch.long), 4)
    out = x.clone()
    for turns in (1, 2, 3):
        idx = torch.nonzero(k == turns).squeeze(1)
        if idx.numel():
            out[idx] = torch.rot90(x[idx], turns, dims=(-2, -1))
    return out
