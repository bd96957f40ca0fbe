"""Two-dimensional maps of frozen features, for pictures only (t-SNE [0], UMAP [1]).

PCA first (to at most 50 components, which keeps t-SNE fast and less noisy), then scikit-learn's
t-SNE; or umap-learn's UMAP of the raw features. Either map shows neighbourhoods, not
distances, and is never scored; what a map suggests (a group standing apart) is measured in
the features themselves (:func:`group_cohesion`).

- [0] Lastufka et al. 2024, A&A 690, A310, arXiv:2408.06147
- [1] Riggi et al. 2024, PASA, arXiv:2404.18462 (Fig. 4)
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.decomposition import PCA
from sklearn.manifold import TSNE
from sklearn.neighbors import NearestNeighbors

__all__ = ["group_cohesion", "tsne_2d", "umap_2d"]


def tsne_2d(features, *, perplexity: float = 30.0, n_pca: int = 50, seed: int = 0) -> np.ndarray:
    """Return a (N, 2) t-SNE map of ``features`` (N, D) after PCA to ``n_pca`` components.

    The perplexity is capped below the number of samples, as t-SNE requires.
    """
    x = np.asarray(features, np.float64)
    if x.ndim != 2 or len(x) < 3:
        raise ValueError(f"need (N >= 3, D) features, got {x.shape}")
    k = min(n_pca, x.shape[1], len(x))
    x = PCA(k, svd_solver="full", random_state=seed).fit_transform(x)
    perplexity = min(perplexity, (len(x) - 1) / 3)
    return TSNE(2, perplexity=perplexity, init="pca", random_state=seed).fit_transform(x)


def umap_2d(features, *, n_neighbors: int = 15, min_dist: float = 0.1,
            seed: int = 0) -> np.ndarray:
    """Return a (N, 2) UMAP map of ``features`` (N, D) (Riggi et al.'s Fig. 4; umap-learn).

    ``n_neighbors`` is capped below the number of samples; seeded, so single-threaded.
    """
    from umap import UMAP  # slow to import (numba): only when a map is drawn

    x = np.asarray(features, np.float64)
    if x.ndim != 2 or len(x) < 4:
        raise ValueError(f"need (N >= 4, D) features, got {x.shape}")
    return UMAP(n_neighbors=min(n_neighbors, len(x) - 1), min_dist=min_dist,
                random_state=seed, n_jobs=1).fit_transform(x)


def group_cohesion(features, groups, *, k: int = 10, n_pca: int = 50,
                   seed: int = 0) -> pd.DataFrame:
    """How much each group keeps to itself in feature space: its share of same-group neighbours.

    For every item, the share of its ``k`` nearest neighbours (Euclidean, after PCA to
    ``n_pca`` components) in its own group; per group, the mean of that share beside the
    share a random neighbour would give (``chance``: the group's other members among all other
    items). A group that stands apart on a t-SNE map has a share far above chance.
    """
    x = np.asarray(features, np.float64)
    groups = np.asarray(groups)
    if x.ndim != 2 or len(x) != len(groups) or len(x) <= k:
        raise ValueError(f"need (N > k, D) features and N groups, got {x.shape}, "
                         f"{len(groups)} groups, k={k}")
    x = PCA(min(n_pca, *x.shape), svd_solver="full", random_state=seed).fit_transform(x)
    _, idx = NearestNeighbors(n_neighbors=k + 1).fit(x).kneighbors(x)
    same = (groups[idx[:, 1:]] == groups[:, None]).mean(axis=1)  # column 0: the item itself
    rows = []
    for g in pd.unique(groups):
        members = groups == g
        n = int(members.sum())
        rows.append({"group": g, "n": n, "same-group neighbours": float(same[members].mean()),
                     "chance": (n - 1) / (len(groups) - 1)})
    table = pd.DataFrame(rows).set_index("group")
    table["times chance"] = table["same-group neighbours"] / table["chance"].where(
        table["chance"] > 0)
    return table
