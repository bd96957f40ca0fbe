"""Evaluation callbacks for :func:`radiolib.ssl.train`: a metric every N epochs of pre-training.

They live with evaluation (not in :mod:`radiolib.ssl`) because they call its probes; the loop
only knows the ``evaluate(method, epoch) -> dict`` signature.

:func:`count_mse_callback` is Lastufka et al.'s [0] source-count probe, the curve of their
Fig. 5: embed images with the current backbone (DINO: the teacher's) and score them with
:func:`radiolib.evaluate.count_regression_mse` (PCA to 100 components, one linear layer) on a
fixed training split, reporting the mean squared error on the held-out split (the paper probes
every 25 epochs, fitting on 70 % and validating on 30 % of its training crops). Everything is
deterministic (a seeded split, SVD-based PCA, closed-form ridge), so calling it does not
disturb a resumable run.

- [0] Lastufka et al. 2024, A&A 690, A310, arXiv:2408.06147
"""

from __future__ import annotations

import numpy as np
import torch

from radiolib.evaluate.probes import count_regression_mse
from radiolib.evaluate.splits import holdout_split

__all__ = ["count_mse", "count_mse_callback"]


def count_mse(train_x: torch.Tensor, train_y: torch.Tensor, test_x: torch.Tensor,
              test_y: torch.Tensor, n_components: int = 100) -> float:
    """:func:`radiolib.evaluate.count_regression_mse` of embeddings given as tensors."""
    return count_regression_mse(*(torch.as_tensor(a).double().cpu().numpy()
                                  for a in (train_x, train_y, test_x, test_y)),
                                n_components=n_components)


def count_mse_callback(images: torch.Tensor, counts, *, n_components: int = 100,
                       test_fraction: float = 0.3, seed: int = 0, batch_size: int = 256):
    """Return ``evaluate(method, epoch) -> {"count_mse": float}`` for :func:`train`.

    Parameters
    ----------
    images : Tensor, shape (N, C, S, S)
        Evaluation images, scaled like the training data (e.g.
        ``dataset_for(config, tileset).images``).
    counts : array-like, shape (N,)
        Number of sources per image (a TileSet's ``n_sources`` column).
    n_components : int
        PCA components (100 in [0]).
    test_fraction : float
        Held-out share, drawn once with ``seed`` by :func:`radiolib.evaluate.holdout_split`,
        the split the notebooks' count tables use too.
    """
    counts = torch.as_tensor(np.asarray(counts, dtype=np.float64))
    if images.ndim != 4 or len(images) != len(counts) or len(images) < 4:
        raise ValueError(f"need (N, C, S, S) images and N >= 4 counts, got "
                         f"{tuple(images.shape)} and {tuple(counts.shape)}")
    if not 0 < test_fraction < 1:
        raise ValueError(f"test_fraction must lie in (0, 1), got {test_fraction}")
    fit, test = (torch.from_numpy(i) for i in holdout_split(len(images), test_fraction,
                                                             seed=seed))

    def evaluate(method, epoch: int) -> dict[str, float]:
        emb = method.feature_extractor().embed(images, batch_size=batch_size)
        return {"count_mse": count_mse(emb[fit], counts[fit], emb[test], counts[test],
                                       n_components)}

    return evaluate
