"""NT-Xent, the normalised temperature-scaled cross-entropy loss of SimCLR [0], as Riggi et al. [1].

For a batch of ``B`` pairs ``(z0[i], z1[i])`` (two views of image ``i``) the ``2B`` projections
are L2-normalised; each is classified against the other ``2B - 1`` (its own view excluded) by
cosine similarity divided by ``temperature``, the other view of the same image being the
positive. The loss is the mean cross-entropy over all ``2B`` anchors.

With ``gather_distributed=True`` and an initialised process group, the projections of every
rank are gathered *with gradients* (an ``all_gather`` whose backward all-reduces the
gradients, as ``torch.distributed.nn.functional.all_gather``, deprecated in torch 2.14), so each
anchor sees the ``2 B world_size - 1`` others as in single-process training on the full batch.

Riggi et al.'s released SimCLR code uses temperature 0.1 whatever its command-line flag says
(whose default is 0.1 too, as in the ``simclr_riggi`` config); the loss's own default here is
0.5, SimCLR's value (lightly's default).

- [0] Chen et al. 2020, SimCLR, https://arxiv.org/abs/2002.05709
- [1] Riggi et al. 2024, PASA, arXiv:2404.18462
"""

from __future__ import annotations

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import nn

__all__ = ["NTXentLoss"]


class _GatherWithGrad(torch.autograd.Function):
    """``all_gather`` whose backward hands every rank the summed gradient of its own slice.

    As lightly's ``GatherLayer``; written with ``all_reduce`` so that it also works on gloo
    (CPU), which has no ``reduce_scatter``.
    """

    @staticmethod
    def forward(ctx, z: torch.Tensor) -> tuple[torch.Tensor, ...]:
        parts = [torch.empty_like(z) for _ in range(dist.get_world_size())]
        dist.all_gather(parts, z.contiguous())
        return tuple(parts)

    @staticmethod
    def backward(ctx, *grads: torch.Tensor) -> torch.Tensor:
        stacked = torch.stack(grads)
        dist.all_reduce(stacked)
        return stacked[dist.get_rank()]


def _gather(z: torch.Tensor) -> tuple[torch.Tensor, int]:
    """Concatenate ``z`` over ranks with gradients; return it and this rank's index."""
    return torch.cat(_GatherWithGrad.apply(z), dim=0), dist.get_rank()


class NTXentLoss(nn.Module):
    """Normalised temperature-scaled cross-entropy (SimCLR) over two views.

    Parameters
    ----------
    temperature : float
        Softmax temperature (> 0).
    gather_distributed : bool
        Use the negatives of all ranks (with gradients) when ``torch.distributed`` is
        initialised; no effect otherwise.

    Examples
    --------
    >>> loss = NTXentLoss(temperature=0.5)
    >>> z0, z1 = torch.randn(8, 128), torch.randn(8, 128)
    >>> loss(z0, z1).shape
    torch.Size([])
    """

    def __init__(self, temperature: float = 0.5, gather_distributed: bool = False) -> None:
        super().__init__()
        if not isinstance(temperature, (int, float)) or not temperature > 0:
            raise ValueError(f"temperature must be a positive number, got {temperature!r}")
        self.temperature = float(temperature)
        self.gather_distributed = bool(gather_distributed)

    def extra_repr(self) -> str:
        """Temperature and gathering, for ``print(loss)``."""
        return f"temperature={self.temperature}, gather_distributed={self.gather_distributed}"

    def forward(self, z0: torch.Tensor, z1: torch.Tensor) -> torch.Tensor:
        """Mean NT-Xent loss of the pairs ``(z0[i], z1[i])``.

        Parameters
        ----------
        z0, z1 : Tensor, shape (B, D)
            Projections of the first and second views.

        Returns
        -------
        Tensor, shape ()
        """
        if z0.ndim != 2 or z0.shape != z1.shape:
            raise ValueError(f"expected two (B, D) tensors of equal shape, got {tuple(z0.shape)} "
                             f"and {tuple(z1.shape)}")
        b = z0.shape[0]
        z0, z1 = F.normalize(z0, dim=1), F.normalize(z1, dim=1)
        if self.gather_distributed and dist.is_available() and dist.is_initialized() \
                and dist.get_world_size() > 1:
            (all0, rank), (all1, _) = _gather(z0), _gather(z1)
        else:
            all0, all1, rank = z0, z1, 0
        n = all0.shape[0]
        anchors = torch.cat([z0, z1])  # (2B, D)
        logits = anchors @ torch.cat([all0, all1]).T / self.temperature  # (2B, 2N)
        local = torch.arange(b, device=z0.device) + rank * b
        self_col = torch.cat([local, local + n])
        positive = torch.cat([local + n, local])
        rows = torch.arange(2 * b, device=z0.device)
        logits = logits.index_put((rows, self_col),
                                  torch.tensor(float("-inf"), dtype=logits.dtype,
                                               device=logits.device))
        return F.cross_entropy(logits, positive)
