"""The held-out splits of the evaluation probes, shared by notebooks and training callbacks.

Lastufka et al. [0] fit their count probe on 70 % of the crops and score it on the other 30 %
(Sect. 3.2); the learning curve of pre-training (a callback) and the tables under it must score
the same crops, so both draw the split here. :func:`group_split` holds out whole fields or
pointings instead, so that no test item shares a field (its noise, depth, neighbours) with a
fitting item.

- [0] Lastufka et al. 2024, A&A 690, A310, arXiv:2408.06147
"""

from __future__ import annotations

import numpy as np

__all__ = ["group_split", "holdout_split"]


def holdout_split(n: int, test_fraction: float = 0.3, *, seed: int = 0
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Return ``(fit, test)`` index arrays: a seeded random ``test_fraction`` of ``range(n)``.

    ``round(test_fraction * n)`` items (at least one) are held out; both arrays are sorted, so
    the same items come out in the same order whoever asks.
    """
    if not isinstance(n, (int, np.integer)) or n < 2:
        raise ValueError(f"need at least 2 items to split, got {n!r}")
    if not 0 < test_fraction < 1:
        raise ValueError(f"test_fraction must lie in (0, 1), got {test_fraction!r}")
    order = np.random.default_rng(seed).permutation(int(n))
    n_test = min(int(n) - 1, max(1, int(round(test_fraction * n))))
    return np.sort(order[n_test:]), np.sort(order[:n_test])


def group_split(groups, *, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Return ``(fit, test)`` index arrays: the items of a seeded half of the groups are held out.

    ``groups`` names each item's group (its field or pointing); ``len(names) // 2`` of the
    distinct names go to the test side.
    """
    groups = np.asarray(groups).astype(str)
    names = np.unique(groups)
    if len(names) < 2:
        raise ValueError(f"need items of at least 2 groups to hold some out, got {len(names)}")
    test_names = np.random.default_rng(seed).permutation(names)[: len(names) // 2]
    test = np.isin(groups, test_names)
    return np.flatnonzero(~test), np.flatnonzero(test)
