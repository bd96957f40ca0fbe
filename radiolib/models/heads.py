"""Projection heads: SimCLR's 2-layer MLP (Riggi et al. [0]) and the DINO head [1, 2].

- [0] Riggi et al. 2024, PASA, arXiv:2404.18462
- [1] Caron et al. 2021, DINO, https://arxiv.org/abs/2104.14294
- [2] Lastufka et al. 2024, A&A 690, A310, arXiv:2408.06147
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import weight_norm

__all__ = ["DINOHead", "SimCLRProjectionHead"]


class SimCLRProjectionHead(nn.Module):
    """SimCLR projector ``Linear -> ReLU -> Linear`` (2 layers, 256 then 128 in Riggi et al.).

    Parameters
    ----------
    in_dim : int
        Backbone embedding size (512 for ResNet18).
    hidden_dim, out_dim : int
        Sizes of the two layers (256, 128).
    batch_norm : bool
        Batch normalisation after the first layer (SimCLR v2 style; off by default, as [0] do
        not mention one).

    Shapes: (B, in_dim) -> (B, out_dim).
    """

    def __init__(self, in_dim: int = 512, hidden_dim: int = 256, out_dim: int = 128, *,
                 batch_norm: bool = False) -> None:
        super().__init__()
        for name, value in (("in_dim", in_dim), ("hidden_dim", hidden_dim), ("out_dim", out_dim)):
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive int, got {value!r}")
        layers: list[nn.Module] = [nn.Linear(in_dim, hidden_dim, bias=not batch_norm)]
        if batch_norm:
            layers.append(nn.BatchNorm1d(hidden_dim))
        layers += [nn.ReLU(inplace=True), nn.Linear(hidden_dim, out_dim)]
        self.layers = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Project embeddings (B, in_dim) to (B, out_dim)."""
        return self.layers(x)


class DINOHead(nn.Module):
    """DINO head: MLP to a bottleneck, L2 normalisation, weight-normalised last layer.

    As ``DINOHead`` of the DINO code that Lastufka et al. used [1, 2]: ``nlayers`` linear layers
    with GELU (optionally batch norm), output ``bottleneck_dim``, then ``F.normalize`` and a
    bias-free weight-normalised linear layer to ``out_dim`` prototypes whose norms are frozen
    to 1 when ``norm_last_layer``. Parameter names match DINO's (``mlp.0``, ``mlp.2``, ...,
    ``last_layer``) up to the weight-norm parametrisation (see
    :func:`radiolib.models.weights.map_dino_head_keys`).

    The forward pass computes the last layer as ``(x v^T) * (g / ||v||)`` -- the same
    ``x (g v / ||v||)^T`` without materialising the (out_dim, bottleneck_dim) weight, whose
    allocation and weight-norm backward dominate the head on CPU (``last_layer`` itself is
    the ordinary weight-normalised ``nn.Linear``; under autocast it is called as it is).

    Parameters
    ----------
    in_dim : int
        Backbone embedding size (2048 ResNet50, 384 ViT-S/8).
    hidden_dim, bottleneck_dim, out_dim : int
        2048, 256, 65536 in DINO [1] and the released code of [2] (the paper gives no head
        sizes).
    nlayers : int
        Linear layers before the bottleneck output (3).
    norm_last_layer : bool
        Freeze the last layer's weight norms at 1 (more stable training).
    use_bn : bool
        Batch norm in the MLP (off in DINO [1] and the released code of [2]).

    Shapes: (B, in_dim) -> (B, out_dim).
    """

    def __init__(self, in_dim: int, hidden_dim: int = 2048, bottleneck_dim: int = 256,
                 out_dim: int = 65536, nlayers: int = 3, *, norm_last_layer: bool = True,
                 use_bn: bool = False) -> None:
        super().__init__()
        for name, value in (("in_dim", in_dim), ("hidden_dim", hidden_dim),
                            ("bottleneck_dim", bottleneck_dim), ("out_dim", out_dim),
                            ("nlayers", nlayers)):
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive int, got {value!r}")
        if nlayers == 1:
            self.mlp = nn.Linear(in_dim, bottleneck_dim)
        else:
            layers: list[nn.Module] = []
            dims = [in_dim] + [hidden_dim] * (nlayers - 1)
            for a, b in zip(dims[:-1], dims[1:], strict=True):
                layers.append(nn.Linear(a, b))
                if use_bn:
                    layers.append(nn.BatchNorm1d(b))
                layers.append(nn.GELU())
            layers.append(nn.Linear(hidden_dim, bottleneck_dim))
            self.mlp = nn.Sequential(*layers)
        self.apply(self._init_weights)
        self.last_layer = weight_norm(nn.Linear(bottleneck_dim, out_dim, bias=False))
        magnitude = self.last_layer.parametrizations.weight.original0
        with torch.no_grad():
            magnitude.fill_(1.0)
        magnitude.requires_grad_(not norm_last_layer)
        self.norm_last_layer = norm_last_layer

    @staticmethod
    def _init_weights(module: nn.Module) -> None:
        if isinstance(module, nn.Linear):
            nn.init.trunc_normal_(module.weight, std=0.02)
            if module.bias is not None:
                nn.init.zeros_(module.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Prototype scores (B, out_dim) of embeddings (B, in_dim)."""
        x = F.normalize(self.mlp(x), dim=-1, p=2)
        if torch.is_autocast_enabled(x.device.type):  # let autocast pick the matmul's dtype
            return self.last_layer(x)
        weight = self.last_layer.parametrizations.weight  # g (original0), v (original1)
        return _WeightNormLinear.apply(x, weight.original1, weight.original0)


class _WeightNormLinear(torch.autograd.Function):
    """``x @ (g * v / ||v||).T`` (norms over the rows of ``v``) as ``(x @ v.T) * (g / ||v||)``.

    The same function and gradients as ``torch._weight_norm`` followed by ``F.linear``, without
    the (K, D) weight or its gradient: the backward pass allocates only ``v``'s gradient.
    Shapes: x (B, D), v (K, D), g (K, 1) -> (B, K).
    """

    @staticmethod
    def forward(ctx, x, v, g):
        inv = torch.linalg.vector_norm(v, dim=1).reciprocal_()  # 1 / ||v_k||
        scale = g.reshape(-1) * inv  # g_k / ||v_k||
        pre = x @ v.T
        if not any(ctx.needs_input_grad):
            return pre.mul_(scale)
        ctx.save_for_backward(x, v, inv, scale, pre)
        ctx.g_shape = g.shape
        return pre * scale

    @staticmethod
    def backward(ctx, grad):
        x, v, inv, scale, pre = ctx.saved_tensors
        grad_pre = grad * scale
        grad_x = grad_v = grad_g = None
        if ctx.needs_input_grad[0]:
            grad_x = grad_pre @ v
        if ctx.needs_input_grad[1] or ctx.needs_input_grad[2]:
            grad_scale = (grad * pre).sum(0)  # dL / d(g_k / ||v_k||)
            if ctx.needs_input_grad[2]:
                grad_g = (grad_scale * inv).reshape(ctx.g_shape)
            if ctx.needs_input_grad[1]:
                # d(g_k / ||v_k||) / dv_k = -g_k v_k / ||v_k||^3, added in place to the matmul's
                grad_v = (grad_pre.T @ x).addcmul_(v, (grad_scale * scale * inv * inv)
                                                   .neg_().unsqueeze(1))
        return grad_x, grad_v, grad_g
