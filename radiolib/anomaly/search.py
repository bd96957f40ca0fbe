"""A blind search a survey scientist can run on their own tiles: embed, score, list, review.

``radiolib tile`` cuts a mosaic into a TileSet; :func:`embed_tiles` gives every tile the
embedding of a pre-trained backbone (`radiolib.evaluate.load_backbone`); :func:`rank_search`
scores the embeddings with an Isolation Forest and writes the ranked list (a review CSV with
thumbnails of the top frames) beside a ``<name>.npz`` holding every frame's features and
score (:func:`save_search` does the writing for features at hand); :func:`review_search`
reads the person's scores back and re-ranks.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from radiolib.anomaly.forest import N_ESTIMATORS, forest_scores
from radiolib.anomaly.review import (
    mixed_scores,
    read_review,
    review_table,
    write_review,
    write_thumbnails,
)
from radiolib.errors import DataError
from radiolib.evaluate import load_backbone
from radiolib.files import atomic_path
from radiolib.ssl.data import ScaledTiles, fingerprint
from radiolib.tiling import TileSet

__all__ = ["embed_tiles", "load_features", "rank_search", "review_search", "save_search",
           "tile_positions"]

#: Isolation Forest setting of the search: the paper's best (Sect. 5.2).
BEST_MAX_SAMPLES = 0.02


def embed_tiles(tileset: TileSet, backbone: str | os.PathLike, *, batch_size: int = 256,
                cache_dir: str | os.PathLike | None = None) -> np.ndarray:
    """Embeddings (N, D) of every tile by ``backbone``, scaled as it was trained, cached.

    Three-channel backbones get the riggi3 stack (SimCLR), one-channel ones the per-field
    scaling (DINO), at the backbone's training input side. The cache file is
    ``<cache_dir>/emb-<backbone>-<tiles>.npy``.
    """
    model = load_backbone(backbone)
    size = model.image_size or 224
    mode = "riggi3" if model.in_chans == 3 else "field"
    data = ScaledTiles(tileset, mode=mode, size=size)
    path = None
    if cache_dir is not None:
        key = fingerprint(torch.as_tensor(np.array(tileset.tiles[: min(len(tileset), 64)])))
        name = Path(os.fspath(backbone)).name.replace(":", "_")
        path = Path(cache_dir) / f"emb-{name}-{len(tileset)}-{key}.npy"
        if path.is_file():
            return np.load(path)
    parts = (data.scale(i, min(len(data), i + batch_size))
             for i in range(0, len(data), batch_size))
    emb = model.embed(parts, batch_size=batch_size).numpy()
    if path is not None:
        with atomic_path(path) as tmp:
            np.save(tmp, emb)
    return emb


def tile_positions(tileset: TileSet) -> pd.DataFrame:
    """Field, box and sky position (deg, box centre; empty without a WCS) of every tile."""
    table = tileset.index[["field", "x0", "y0", "x1", "y1"]].copy()
    table["ra"], table["dec"] = np.nan, np.nan
    for name in table["field"].unique():
        wcs = tileset.field_wcs(name)
        if wcs is None:
            continue
        sel = table["field"] == name
        x = (table.loc[sel, "x0"] + table.loc[sel, "x1"] - 1) / 2
        y = (table.loc[sel, "y0"] + table.loc[sel, "y1"] - 1) / 2
        ra, dec = wcs.celestial.pixel_to_world_values(x.to_numpy(float), y.to_numpy(float))
        table.loc[sel, "ra"], table.loc[sel, "dec"] = np.mod(ra, 360), dec
    return table


def _sidecar(csv: Path) -> Path:
    return csv.with_suffix(".npz")


def load_features(source: str | os.PathLike) -> np.ndarray:
    """Read embeddings (N, D) from a ``.npy`` file, refusing anything else with a clear error."""
    path = Path(source)
    try:
        x = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as err:
        raise DataError(f"cannot read embeddings from {path} ({err}); give a TileSet folder "
                        "or an .npy array (frames x features)") from None
    if x.ndim != 2 or not np.isfinite(x).all():
        raise DataError(f"{path} holds an array of shape {x.shape}; expected finite "
                        "(frames, features)")
    return x


def rank_search(source: str | os.PathLike, out: str | os.PathLike, *,
                backbone: str | None = None, top: int = 50, max_samples=BEST_MAX_SAMPLES,
                n_estimators: int = N_ESTIMATORS, seed: int = 0) -> pd.DataFrame:
    """Score every frame of ``source`` (a TileSet folder or an ``.npy`` of embeddings).

    Writes ``out`` (a review CSV of the ``top`` frames, with thumbnails in ``<out>_thumbs/``
    when the tiles are at hand) and ``out`` with suffix ``.npz`` (all features and scores,
    for :func:`review_search`). An existing ``out`` is backed up first. Returns the table.
    """
    source, out = Path(source), Path(out)
    frames = None
    if source.is_dir():
        if backbone is None:
            raise DataError("a TileSet needs --backbone (a run folder, checkpoint, published "
                            "name or random:<arch>) to embed its tiles")
        tiles = TileSet.open(source)
        features = embed_tiles(tiles, backbone, cache_dir=out.parent / ".embeddings")
        frames = tile_positions(tiles)
    else:
        tiles = None
        features = load_features(source)
    if len(features) < 2:
        raise DataError(f"{source} has {len(features)} frame(s); a search needs at least 2")
    scores = forest_scores(features, max_samples=max_samples, n_estimators=n_estimators,
                           seed=seed)
    return save_search(out, features, scores, frames,
                       images=None if tiles is None else tiles.tiles, top=top)


def save_search(out: str | os.PathLike, features, scores, frames: pd.DataFrame | None = None,
                *, images=None, top: int = 50) -> pd.DataFrame:
    """Write a ranked search for review: ``out`` (CSV of the ``top`` frames) and its ``.npz``.

    The ``.npz`` holds every frame's ``features`` and ``scores`` for :func:`review_search`;
    with ``images`` (``images[frame]``) the top frames get thumbnails in ``<out>_thumbs/``.
    ``frames`` may give each frame's box and sky position. An existing ``out`` is backed up.
    """
    out = Path(out)
    features, scores = np.asarray(features), np.asarray(scores, float)
    if features.ndim != 2 or len(features) != len(scores):
        raise ValueError(f"features {features.shape} and scores {scores.shape} must be "
                         "(frames, features) and (frames,)")
    out.parent.mkdir(parents=True, exist_ok=True)
    table = review_table(scores, frames, top=top)
    if images is not None:
        table = write_thumbnails(table, images, out.parent / f"{out.stem}_thumbs")
    with atomic_path(_sidecar(out)) as tmp:
        np.savez(tmp, features=features, scores=scores)
    write_review(out, table)
    return table


def review_search(path: str | os.PathLike, *, weight: float = 0.5, top: int | None = None,
                  seed: int = 0) -> pd.DataFrame:
    """Re-rank a review file from the scores filled in: the CSV round trip.

    Reads ``path`` (refusing a corrupted one, untouched) and its ``.npz``, mixes the person's
    scores into every frame's score (:func:`radiolib.anomaly.mixed_scores`) and writes the
    new list back to ``path`` after a backup: the scored frames keep their scores, the others
    follow by the mixed score (``top`` rows, default as many as before).
    """
    path = Path(path)
    table = read_review(path)
    side = _sidecar(path)
    try:
        with np.load(side, allow_pickle=False) as z:
            features, base = z["features"], z["scores"]
    except (OSError, KeyError, ValueError) as err:
        raise DataError(f"cannot read {side} ({err}); run `radiolib anomaly rank` again") from None
    if table["frame"].max() >= len(base) or table["frame"].min() < 0:
        raise DataError(f"review file {path} names frames beyond the {len(base)} of {side}")
    done = table.dropna(subset=["user_score"])
    mixed = mixed_scores(features, base, done["frame"].to_numpy(int),
                         done["user_score"].to_numpy(float), weight=weight, seed=seed)
    keep = ["field", "x0", "y0", "x1", "y1", "ra", "dec", "thumbnail"]
    info = table.set_index("frame")[keep]
    n = len(table) if top is None else int(top)
    order = np.argsort(-mixed, kind="stable")
    chosen = list(dict.fromkeys([*done["frame"].astype(int), *order[:n]]))
    chosen = sorted(chosen, key=lambda f: -mixed[f])
    new = pd.DataFrame({"rank": np.arange(1, len(chosen) + 1), "frame": chosen,
                        "score": mixed[chosen]})
    for col in keep:
        new[col] = [info[col].get(f, "") for f in chosen]
    scored = dict(zip(done["frame"].astype(int), done["user_score"], strict=True))
    new["user_score"] = pd.array([scored.get(f, pd.NA) for f in chosen], dtype="Int64")
    write_review(path, new)
    return new
