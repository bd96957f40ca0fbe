"""Embed image files or a TileSet with any backbone into one ``features.npz`` (``radiolib embed``).

:func:`embed_inputs` loads the backbone with :func:`radiolib.evaluate.load_backbone` (a run
folder or checkpoint, a published name, ``random:<arch>``...), reads the images (FITS, PNG or
JPEG files, or the tiles of one TileSet folder), applies one stated preprocessing (NaN -> 0,
optional resize, per-image min-max to [0, 1], the single channel repeated to the backbone's
channels), embeds them in batches and writes, atomically:

``features`` (N, D) float32, ``ids`` (file paths or tile ids), ``backbone`` (the name given),
``backbone_sha256`` (of its weights), ``preprocessing`` (JSON) and ``cache_key``.

The cache key hashes the inputs' contents, the backbone's weights and the preprocessing: when
``out`` already holds the same key nothing is recomputed.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from radiolib.errors import DataError
from radiolib.evaluate.backbones import load_backbone
from radiolib.evaluate.user_classifier import read_image
from radiolib.files import atomic_path, sha256_file
from radiolib.models.extractor import FeatureExtractor
from radiolib.ssl.cache import fingerprint
from radiolib.tiling import TileSet
from radiolib.tiling.tileset import FIELDS, INDEX

__all__ = ["Embedded", "embed_inputs", "model_embeddings", "weights_sha256"]

#: Version of the preprocessing below; part of the cache key.
PREPROCESSING_VERSION = 1


@dataclass
class Embedded:
    """Where the features are, how many rows, and whether a cached file was reused."""

    path: Path
    n: int
    reused: bool


def weights_sha256(model: torch.nn.Module) -> str:
    """sha256 of a model's weights and buffers (names, shapes, dtypes and bytes, in order)."""
    digest = hashlib.sha256()
    for name, value in model.state_dict().items():
        t = value.detach().cpu().contiguous()
        digest.update(f"{name}:{tuple(t.shape)}:{t.dtype};".encode())
        digest.update(t.reshape(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    return digest.hexdigest()


def model_embeddings(model: FeatureExtractor, images: torch.Tensor, *,
                     cache_dir: str | os.PathLike | None = None,
                     batch_size: int = 256) -> np.ndarray:
    """Embeddings (N, D) of ``images`` by a loaded FeatureExtractor, cached by content.

    The cache file is ``<cache_dir>/emb-<weights hash>-<images hash>.npy`` (as
    :func:`radiolib.evaluate.checkpoint_embeddings` names a checkpoint's): the weights are
    hashed (:func:`weights_sha256`), so a changed file is embedded again. For the large
    released backbones (DINOv2 ViT-g), embedding once is the point.
    """
    path = None
    if cache_dir is not None:
        path = Path(cache_dir) / f"emb-{weights_sha256(model)[:16]}-{fingerprint(images)}.npy"
        if path.is_file():
            return np.load(path)
    emb = model.embed(images, batch_size=batch_size).numpy()
    if path is not None:
        with atomic_path(path) as tmp:
            np.save(tmp, emb)
    return emb


def _read(inputs: Sequence[str | os.PathLike]) -> tuple[list[np.ndarray], list[str], str]:
    """Images, their ids and a content hash: one TileSet folder, or image files."""
    paths = [Path(p) for p in inputs]
    if not paths:
        raise DataError("no input given: name image files or one TileSet folder")
    if len(paths) == 1 and paths[0].is_dir():
        tiles = TileSet.open(paths[0])
        if len(tiles) == 0:
            raise DataError(f"{paths[0]}: the TileSet has no tiles; tile fields with "
                            "`radiolib tile` first")
        files = [paths[0] / FIELDS, paths[0] / INDEX]
        files += sorted(p for p in paths[0].rglob("*.npy"))
        digest = "|".join(f"{p.relative_to(paths[0])}={sha256_file(p)}" for p in files)
        ids = [str(t) for t in tiles.index["tile"]]
        return [np.asarray(tiles.tiles[i]) for i in range(len(tiles))], ids, digest
    dirs = [p for p in paths if p.is_dir()]
    if dirs:
        raise DataError(f"{dirs[0]}: a folder among image files; give one TileSet folder alone "
                        "or image files only")
    images = [read_image(p) for p in paths]
    digest = "|".join(sha256_file(p) for p in paths)
    return images, [str(p) for p in paths], digest


def _prepare(images: list[np.ndarray], resize: int | None, in_chans: int) -> torch.Tensor:
    """Stack images (N, C, S, S): NaN -> 0, resize, per-image min-max to [0, 1]."""
    shapes = sorted({im.shape for im in images})
    if resize is None and len(shapes) > 1:
        shown = ", ".join("x".join(map(str, s)) for s in shapes[:3])
        more = ", ..." if len(shapes) > 3 else ""
        raise DataError(f"the images have different sizes ({shown}{more}); pass --resize N "
                        "(resize=N) to bring them to one size")
    out = []
    for im in images:
        x = torch.as_tensor(np.nan_to_num(np.asarray(im, np.float32)))[None, None]
        if resize is not None and x.shape[-2:] != (resize, resize):
            x = F.interpolate(x, size=(resize, resize), mode="bilinear", antialias=True,
                              align_corners=False)
        lo, hi = x.min(), x.max()
        out.append((x - lo) / (hi - lo) if hi > lo else torch.zeros_like(x))
    x = torch.cat(out)
    return x.repeat(1, in_chans, 1, 1) if in_chans != 1 else x


def embed_inputs(backbone: str | os.PathLike | FeatureExtractor, inputs: Sequence, out, *,
                 name: str | None = None, resize: int | None = None, batch_size: int = 64,
                 device: str | torch.device | None = None, seed: int = 0,
                 progress: bool = True) -> Embedded:
    """Embed ``inputs`` (image files or one TileSet folder) and write ``out`` (.npz).

    ``backbone`` is anything :func:`load_backbone` takes (``random:`` backbones are built
    with ``seed``, single-channel, at ``resize`` or 224) or a loaded :class:`FeatureExtractor`
    (then ``name`` names it in the file). Bad input raises a one-line
    :class:`~radiolib.errors.RadiolibError`: an unknown backbone, an empty TileSet, images of
    mixed sizes without ``resize``.
    """
    if batch_size < 1 or (resize is not None and resize < 1):
        raise ValueError(f"batch_size and resize must be positive, got {batch_size}, {resize}")
    if isinstance(backbone, FeatureExtractor):
        model, name = backbone, name or backbone.name
    else:
        name = name or os.fspath(backbone)
        model = load_backbone(backbone, in_chans=1, image_size=resize or 224, device=device,
                              seed=seed)
    images, ids, digest = _read(inputs)
    preprocessing = {"version": PREPROCESSING_VERSION, "nan": 0, "resize": resize,
                     "scale": "per-image min-max to [0, 1]", "in_chans": model.in_chans,
                     "channels": "single channel repeated" if model.in_chans > 1 else "one"}
    weights = weights_sha256(model)
    key = hashlib.sha256(f"{weights}|{json.dumps(preprocessing, sort_keys=True)}|{digest}"
                         .encode()).hexdigest()
    out = Path(out)
    if out.is_file():
        try:
            with np.load(out) as z:
                if str(z["cache_key"]) == key:
                    return Embedded(out, len(z["features"]), True)
        except (OSError, KeyError, ValueError):
            pass  # not ours or unreadable: rewrite it
    x = _prepare(images, resize, model.in_chans)
    feats = []
    with tqdm(total=len(x), desc=f"embed ({name})", unit="image", disable=not progress) as bar:
        for batch in x.split(batch_size):
            feats.append(model.embed(batch, batch_size=batch_size))
            bar.update(len(batch))
    features = torch.cat(feats).numpy().astype(np.float32)
    out.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(out) as tmp, open(tmp, "wb") as f:
        np.savez(f, features=features, ids=np.asarray(ids), backbone=np.asarray(name),
                 backbone_sha256=np.asarray(weights),
                 preprocessing=np.asarray(json.dumps(preprocessing)), cache_key=np.asarray(key))
    return Embedded(out, len(features), False)
