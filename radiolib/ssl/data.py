"""Dataset adapters: a :class:`~radiolib.tiling.TileSet` as image tensors in [0, 1] for training.

* ``"riggi3"`` (SimCLR, Riggi et al. [0]): each tile is scaled with its own statistics into the
  3-channel stack sigma-clip 5/30, zscale 0.25, zscale 0.4 (:func:`radiolib.scaling.riggi3`),
  resized to ``size`` -> (3, size, size);
* ``"field"`` (DINO, Lastufka et al. [1]): each tile is scaled with the limits of its *whole
  field* stored in the TileSet (``field_limits``, e.g. the 2-98 percentile contrast of MGCLS), then
  resized to ``size`` -> (1, size, size).

The adapters hold no randomness (augmentation happens on the batch, in the training step), so
a DataLoader with any number of workers yields the same batches. ``size`` is free: 224 / 256
for the papers, 64-96 px for CPU runs. :meth:`ScaledTiles.materialize` scales every tile once
(batched, threaded) and keeps them in memory, which is what small CPU runs want.

- [0] Riggi et al. 2024, PASA, arXiv:2404.18462
- [1] Lastufka et al. 2024, A&A 690, A310, arXiv:2408.06147
"""

from __future__ import annotations

import hashlib

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import Dataset

from radiolib.errors import ConfigError
from radiolib.scaling import FIELD_LIMITS, fitted_scaling, get_scaling
from radiolib.tiling import TileSet

__all__ = ["ImageTensors", "ScaledTiles", "dataset_for", "describe_data", "fingerprint"]

MODES = ("field", "riggi3")


class ImageTensors(Dataset):
    """Images already in memory: ``ds[i]`` is ``images[i]`` (C, S, S).

    Parameters
    ----------
    images : Tensor, shape (N, C, S, S)
        Float images in [0, 1].
    source : str, optional
        Where they come from (a TileSet's folder), to name the data in messages.
    """

    def __init__(self, images: torch.Tensor, source: str | None = None) -> None:
        if not isinstance(images, torch.Tensor) or images.ndim != 4:
            raise ValueError(f"expected a (N, C, S, S) tensor, got "
                             f"{getattr(images, 'shape', type(images).__name__)}")
        self.images = images.float().contiguous()
        self.source = source

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, i: int) -> torch.Tensor:
        return self.images[i]


class ScaledTiles(Dataset):
    """Tiles of a TileSet scaled for training, read lazily: ``ds[i]`` -> Tensor (C, size, size).

    Parameters
    ----------
    tileset : TileSet
        Tiles (N, S, S) on disk, with per-field statistics.
    mode : {"riggi3", "field"}
        Per-tile riggi3 3-channel stack (SimCLR) or per-field 1-channel scaling (DINO).
    size : int
        Output side in pixels.
    field_limits : str
        ``"field"`` mode: which stored field limits (see :data:`radiolib.scaling.FIELD_LIMITS`).
    """

    def __init__(self, tileset, *, mode: str = "riggi3", size: int = 224,
                 field_limits: str = "contrast_2_98") -> None:
        if mode not in MODES:
            raise ConfigError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
        if not isinstance(size, int) or size < 1:
            raise ConfigError(f"size must be a positive int, got {size!r}")
        if mode == "field" and field_limits not in FIELD_LIMITS:
            raise ConfigError(f"field_limits must be one of {', '.join(FIELD_LIMITS)}, "
                              f"got {field_limits!r}")
        self.tileset, self.mode, self.size, self.field_limits = tileset, mode, size, field_limits
        self.channels = 3 if mode == "riggi3" else 1
        self._riggi3 = get_scaling("riggi3", size=size) if mode == "riggi3" else None
        self._fields = tileset.index["field"].astype(str).to_numpy()
        self._scalings: dict = {}

    def __len__(self) -> int:
        return len(self.tileset)

    def _field_scaling(self, name: str):
        if name not in self._scalings:
            self._scalings[name] = fitted_scaling(self.tileset.fields[name], self.field_limits)
        return self._scalings[name]

    def scale(self, start: int, stop: int) -> torch.Tensor:
        """Scaled tiles ``start:stop`` as one batch (n, C, size, size), float32."""
        tiles = np.array(self.tileset.tiles[start:stop], dtype=np.float32)  # writable copy
        if self.mode == "riggi3":
            return torch.from_numpy(np.ascontiguousarray(self._riggi3(tiles)))
        out = np.empty_like(tiles)
        names = self._fields[start:stop]
        for name in np.unique(names):
            sel = names == name
            out[sel] = self._field_scaling(name).transform(tiles[sel])
        x = torch.from_numpy(out)[:, None]
        if x.shape[-1] != self.size or x.shape[-2] != self.size:
            x = F.interpolate(x, size=(self.size, self.size), mode="bilinear",
                              align_corners=False, antialias=x.shape[-1] > self.size)
        return x.clamp_(0.0, 1.0)

    def __getitem__(self, i: int) -> torch.Tensor:
        i = range(len(self))[i]
        return self.scale(i, i + 1)[0]

    def materialize(self, chunk: int = 512) -> ImageTensors:
        """Scale every tile once (in batches) and return them in memory."""
        n = len(self)
        parts = [self.scale(i, min(n, i + chunk)) for i in range(0, n, chunk)]
        empty = torch.empty(0, self.channels, self.size, self.size)
        return ImageTensors(torch.cat(parts) if parts else empty, source=str(self.tileset.path))


def fingerprint(data) -> str:
    """Hash of a data set's content: a tensor, an array or a dataset with ``.images``.

    Raises
    ------
    TypeError
        For a dataset without ``.images``.
    """
    data = getattr(data, "images", data)
    if isinstance(data, torch.Tensor):
        data = data.detach().cpu().contiguous().numpy()
    if not isinstance(data, np.ndarray):
        raise TypeError(f"cannot fingerprint a {type(data).__name__}; give data_key= (e.g. the "
                        f"TileSet's path and size)")
    h = hashlib.sha256(f"{data.dtype}{data.shape}".encode())
    h.update(np.ascontiguousarray(data).view(np.uint8).reshape(-1))
    return h.hexdigest()[:16]


def describe_data(dataset) -> dict:
    """Describe what a run trains on (fingerprint, name, size), to refuse resuming on other data.

    In-memory images are hashed whole (:func:`fingerprint`); lazily scaled tiles by their
    TileSet's index and fields and the scaling; any other dataset by its length and the bytes
    of its first, middle and last items.
    """
    n = len(dataset)
    if hasattr(dataset, "images"):
        shape = "x".join(map(str, tuple(dataset.images.shape[1:])))
        name = getattr(dataset, "source", None) or f"{n} images of {shape}"
        return {"fingerprint": fingerprint(dataset), "name": name, "n": n}
    h = hashlib.sha256(f"{type(dataset).__name__}:{n}".encode())
    if isinstance(dataset, ScaledTiles):
        path = dataset.tileset.path
        for part in ("index.csv", "fields.json"):
            h.update((path / part).read_bytes())
        h.update(f"{dataset.mode}:{dataset.size}:{dataset.field_limits}".encode())
        return {"fingerprint": h.hexdigest()[:16], "name": str(path), "n": n}
    for i in sorted({0, n // 2, n - 1}) if n else ():
        item = dataset[i]
        item = item[0] if isinstance(item, (tuple, list)) else item
        h.update(np.ascontiguousarray(torch.as_tensor(item).cpu().numpy()).view(np.uint8)
                 .reshape(-1))
    return {"fingerprint": h.hexdigest()[:16], "name": f"{type(dataset).__name__} of {n} items",
            "n": n}


def dataset_for(config, tileset, *, in_memory: bool = True) -> Dataset:
    """Return the dataset a recipe trains on: riggi3 tiles (SimCLR) or field-scaled tiles (DINO).

    Parameters
    ----------
    config : SimCLRConfig or DINOConfig
        Gives the method, ``image_size`` and (DINO) ``field_limits``.
    tileset : TileSet or path-like
        The tiles (opened with :meth:`TileSet.open` when a path).
    in_memory : bool
        Scale all tiles up front (:meth:`ScaledTiles.materialize`) instead of per item.
    """
    if not hasattr(tileset, "tiles"):
        tileset = TileSet.open(tileset)
    if config.method == "simclr":
        ds = ScaledTiles(tileset, mode="riggi3", size=config.image_size)
    else:
        ds = ScaledTiles(tileset, mode="field", size=config.image_size,
                         field_limits=config.field_limits)
    if ds.channels != config.in_chans:
        raise ConfigError(f"config key 'in_chans' is {config.in_chans} but {ds.mode!r} tiles "
                          f"have {ds.channels} channel(s)")
    return ds.materialize() if in_memory else ds
