"""Annotated detection images: raw pixels, one mask and one class per object; splits; batches.

A :class:`DetectionImage` holds a square cut-out in Jy/beam and its objects (boolean masks,
class labels 1..5 in :data:`~radiolib.detect.model.CLASS_NAMES` order, SNR), from any source
of truth: :func:`field_images` cuts them from a simulated field (catalogue + segmentation map
of :mod:`radiolib.sky`). :func:`rebalanced_split` draws a training sample re-weighted toward
chosen class shares and a test sample with the natural mix, as Riggi et al. 2024 Sect. 4.2.
:func:`to_tensors` applies the pre-training scaling (riggi3) and, for training, the paper's
augmentations: rotation, flips and zscale channels at random contrasts.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from radiolib.detect.model import CLASS_NAMES
from radiolib.scaling import riggi3
from radiolib.tiling import hulk_boxes

__all__ = ["DetectionImage", "class_counts", "field_images", "rebalanced_split", "to_tensors"]


@dataclass
class DetectionImage:
    """One annotated image: ``pixels`` (S, S) float32, ``masks`` (n, S, S) bool, ``labels`` (n,).

    ``labels`` are 1-based indices into ``CLASS_NAMES``; ``snr`` the objects' peak SNR (NaN
    where the truth has none); ``ids`` their catalogue ids; ``box`` the cut-out in its field;
    ``meta`` what a reader keeps beside (survey, beam, per-object flags: see
    :func:`radiolib.detect.jsonset.read_json_image`), empty for simulated images.
    """

    pixels: np.ndarray
    masks: np.ndarray
    labels: np.ndarray
    snr: np.ndarray
    ids: np.ndarray
    field: str = ""
    box: tuple[int, int, int, int] = (0, 0, 0, 0)
    meta: dict = dataclasses.field(default_factory=dict, compare=False, repr=False)

    @property
    def class_names(self) -> list[str]:
        """The objects' class names."""
        return [CLASS_NAMES[int(k) - 1] for k in self.labels]


def field_images(field, size: int, *, snr_min: float = 5.0, min_inside: float = 0.5,
                 min_pixels: int = 4, nan_max: float = 0.1) -> list[DetectionImage]:
    """Cut a simulated field into ``size``² images (no overlap) annotated from its truth.

    An object is annotated when it has a detection class (sources need peak SNR >=
    ``snr_min``; artefacts always count), at least ``min_inside`` of its mask lies in the
    image and at least ``min_pixels`` pixels. Objects cut by the border below that stay in the
    pixels unannotated. Images with more than ``nan_max`` blank pixels or no annotated object
    are left out. ``field`` is a :class:`radiolib.sky.SimulatedField`.
    """
    cat = field.catalogue
    segmap = np.asarray(field.segmap())
    pixels = field.image().data
    area = np.bincount(segmap.ravel(), minlength=int(cat["id"].max()) + 1)
    ok = (cat["det_class"] != "") & ((cat["kind"] != "source") | (cat["snr"] >= snr_min))
    label_of = dict(zip(cat["id"][ok].astype(int), [CLASS_NAMES.index(c) + 1 for c in
                                                     cat["det_class"][ok]], strict=True))
    snr_of = dict(zip(cat["id"].astype(int), cat["snr"].astype(float), strict=True))
    name = f"{field.preset}_{field.seed}"
    out = []
    for x0, y0, x1, y1 in hulk_boxes(segmap.shape, size, overlap=0.0):
        img = np.asarray(pixels[y0:y1, x0:x1], dtype=np.float32)
        if np.count_nonzero(~np.isfinite(img)) > nan_max * img.size:
            continue
        seg = segmap[y0:y1, x0:x1]
        ids, counts = np.unique(seg[seg > 0], return_counts=True)
        keep = [(i, c) for i, c in zip(ids, counts, strict=True) if i in label_of
                and c >= min_pixels and c >= min_inside * area[i]]
        if not keep:
            continue
        obj = np.array([i for i, _ in keep], dtype=np.int64)
        out.append(DetectionImage(
            img, seg[None] == obj[:, None, None], np.array([label_of[i] for i in obj]),
            np.array([snr_of[i] for i in obj], dtype=float), obj, name,
            (int(x0), int(y0), int(x1), int(y1))))
    return out


def class_counts(images: Sequence[DetectionImage]) -> dict[str, int]:
    """Objects per class over ``images``."""
    counts = np.bincount(np.concatenate([im.labels for im in images] or [np.zeros(0, int)]),
                         minlength=len(CLASS_NAMES) + 1)[1:]
    return dict(zip(CLASS_NAMES, (int(c) for c in counts), strict=True))


def rebalanced_split(images: Sequence[DetectionImage], n_train: int, n_test: int, *,
                     fractions: Mapping[str, float],
                     seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Return indices of a training sample leaning to ``fractions`` and a natural test sample.

    Each image is drawn for training with a weight, the sum over its objects of
    ``fractions[class] / natural share of class`` (so images holding rare classes come first);
    the test sample is a uniform draw from the other images. ``n_train + n_test`` must not
    exceed the images available.
    """
    n = len(images)
    if n_train < 1 or n_test < 1 or n_train + n_test > n:
        raise ValueError(f"cannot draw {n_train} training and {n_test} test images from {n} "
                         "images: simulate more fields or ask for fewer")
    natural = np.array(list(class_counts(images).values()), float)
    natural = natural / max(natural.sum(), 1)
    target = np.array([fractions.get(c, 0.0) for c in CLASS_NAMES], float)
    target = target / target.sum()
    w_class = np.where(natural > 0, target / np.maximum(natural, 1e-12), 0.0)
    weight = np.array([w_class[im.labels - 1].sum() for im in images]) + 1e-9
    rng = np.random.default_rng(seed)
    # weighted sampling without replacement (Efraimidis-Spirakis keys)
    keys = rng.random(n) ** (1 / weight)
    train = np.sort(np.argsort(-keys)[:n_train])
    rest = np.setdiff1d(np.arange(n), train)
    test = np.sort(rng.choice(rest, size=n_test, replace=False))
    return train, test


def _augment(pixels: np.ndarray, masks: np.ndarray, rng: np.random.Generator, *,
             p_rot90: float, p_flip: float) -> tuple[np.ndarray, np.ndarray]:
    if rng.random() < p_rot90:
        k = int(rng.integers(1, 4))
        pixels, masks = np.rot90(pixels, k), np.rot90(masks, k, axes=(1, 2))
    if rng.random() < p_flip:
        axis = int(rng.integers(0, 2))
        pixels, masks = np.flip(pixels, axis), np.flip(masks, axis + 1)
    return np.ascontiguousarray(pixels), np.ascontiguousarray(masks)


def to_tensors(images: Sequence[DetectionImage], *, rng: np.random.Generator | None = None,
               p_rot90: float = 0.5, p_flip: float = 0.5,
               zscale_contrast: tuple[float, float] = (0.25, 0.4),
               with_targets: bool = True) -> tuple[list[torch.Tensor], list[dict]]:
    """riggi3-scaled (3, S, S) tensors and torchvision targets (boxes, labels, masks).

    With ``rng`` (training) each image is rotated by a multiple of 90 degrees and flipped at
    random, and its two zscale channels take contrasts drawn uniformly in
    ``zscale_contrast``; without, the pre-training scaling (0.25, 0.4) is used unchanged.
    """
    tensors, targets = [], []
    for im in images:
        pixels, masks = im.pixels, im.masks
        contrasts = (0.25, 0.4)
        if rng is not None:
            pixels, masks = _augment(pixels, masks, rng, p_rot90=p_rot90, p_flip=p_flip)
            contrasts = tuple(sorted(rng.uniform(*zscale_contrast, size=2)))
        x = riggi3(size=pixels.shape[-1], contrasts=contrasts)(pixels[None])[0]
        tensors.append(torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32)))
        if with_targets:
            targets.append(_target(masks, im.labels))
    return tensors, targets


def _target(masks: np.ndarray, labels: np.ndarray) -> dict:
    """Torchvision target of boolean masks: half-open boxes, labels, uint8 masks."""
    m = torch.from_numpy(np.ascontiguousarray(masks))
    boxes = torch.zeros((len(m), 4), dtype=torch.float32)
    for k, mk in enumerate(m):
        ys, xs = torch.nonzero(mk, as_tuple=True)
        boxes[k] = torch.tensor([xs.min(), ys.min(), xs.max() + 1, ys.max() + 1],
                                dtype=torch.float32)
    return {"boxes": boxes, "labels": torch.as_tensor(labels, dtype=torch.int64),
            "masks": m.to(torch.uint8)}
