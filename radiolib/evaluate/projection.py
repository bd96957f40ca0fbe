"""Two-dimensional maps of frozen features, for pictures only (Lastufka et al.'s t-SNE [0]).

PCA first (to at most 50 components, which keeps t-SNE fast and less noisy), then scikit-learn's
t-SNE; the map shows neighbourhoods, not distances, and is never scored.

- [0] Lastufka et al. 2024, A&A 690, A310, arXiv:2408.06147
"""

from __future__ import annotations

import numpy as np
from sklearn.decomposition import PCA
from sklearn.manifold import TSNE

__all__ = ["tsne_2d"]


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
