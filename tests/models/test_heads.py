"""Projection heads: SimCLR (Riggi et al.) and DINO (Caron et al., Lastufka et al.)."""

import pytest
import torch
import torch.nn.functional as F

from radiolib.models import DINOHead, SimCLRProjectionHead


def test_simclr_head_is_two_layers_256_128():
    head = SimCLRProjectionHead(512)
    linears = [m for m in head.modules() if isinstance(m, torch.nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linears] == [(512, 256), (256, 128)]
    assert head(torch.rand(4, 512)).shape == (4, 128)
    bn = SimCLRProjectionHead(64, 32, 16, batch_norm=True)
    assert bn(torch.rand(4, 64)).shape == (4, 16)
    with pytest.raises(ValueError, match="hidden_dim"):
        SimCLRProjectionHead(512, 0)


def test_dino_head_shapes_names_and_weight_norm():
    torch.manual_seed(0)
    head = DINOHead(48, hidden_dim=64, bottleneck_dim=16, out_dim=100)
    assert head(torch.rand(5, 48)).shape == (5, 100)
    names = list(head.state_dict())
    assert names[:6] == ["mlp.0.weight", "mlp.0.bias", "mlp.2.weight", "mlp.2.bias",
                         "mlp.4.weight", "mlp.4.bias"]
    g = head.last_layer.parametrizations.weight.original0
    assert torch.all(g == 1) and not g.requires_grad
    torch.testing.assert_close(head.last_layer.weight.norm(dim=1), torch.ones(100))
    # output = prototypes (unit rows) . normalised bottleneck: cosine similarities in [-1, 1]
    x = torch.rand(5, 48)
    ref = F.normalize(head.mlp(x), dim=-1) @ F.normalize(head.last_layer.weight, dim=1).T
    torch.testing.assert_close(head(x), ref)
    assert head(x).abs().max() <= 1 + 1e-6


def test_dino_head_options():
    free = DINOHead(8, 16, 4, 10, norm_last_layer=False)
    assert free.last_layer.parametrizations.weight.original0.requires_grad
    one = DINOHead(8, 16, 4, 10, nlayers=1)
    assert isinstance(one.mlp, torch.nn.Linear)
    bn = DINOHead(8, 16, 4, 10, use_bn=True)
    assert any(isinstance(m, torch.nn.BatchNorm1d) for m in bn.mlp)
    with pytest.raises(ValueError, match="out_dim"):
        DINOHead(8, out_dim=0)


#: The fast and plain last layers in float64: the same formula summed in another order, so they
#: differ by rounding (~1e-16 relative, ~1e-15 after the backward's sums) on any CPU; a wrong
#: formula differs by far more than 1e-10. (In float32 they differ by ~1e-6, and by 8e-6 on
#: an AMD EPYC where BLAS sums in another order: too close to any fixed float32 tolerance.)
FLOAT64_RTOL, FLOAT64_ATOL = 1e-10, 1e-12


def test_dino_head_fast_last_layer_matches_the_weight_norm_linear():
    """The head's (x v^T) g/||v|| path: same values and gradients as weight_norm + F.linear."""
    from radiolib.models.heads import _WeightNormLinear

    gen = torch.Generator().manual_seed(0)
    x = torch.randn(6, 5, dtype=torch.float64, generator=gen, requires_grad=True)
    v = torch.randn(7, 5, dtype=torch.float64, generator=gen, requires_grad=True)
    g = torch.rand(7, 1, dtype=torch.float64, generator=gen).add_(0.5).requires_grad_()
    assert torch.autograd.gradcheck(_WeightNormLinear.apply, (x, v, g))
    for norm_last_layer in (True, False):
        torch.manual_seed(1)
        head = DINOHead(12, hidden_dim=16, bottleneck_dim=8, out_dim=30,
                        norm_last_layer=norm_last_layer).double()
        head.last_layer.parametrizations.weight.original1.data.mul_(3.0)  # ||v|| != 1
        inputs = torch.randn(4, 12, dtype=torch.float64)
        fast = head(inputs)
        plain = head.last_layer(F.normalize(head.mlp(inputs), dim=-1))  # the module's own path
        torch.testing.assert_close(fast, plain, rtol=FLOAT64_RTOL, atol=FLOAT64_ATOL)
        grads = []
        for out in (fast, plain):
            head.zero_grad()
            out.square().sum().backward(retain_graph=True)
            grads.append({n: p.grad.clone() for n, p in head.named_parameters()
                          if p.grad is not None})
        assert grads[0].keys() == grads[1].keys()
        for name in grads[0]:
            torch.testing.assert_close(grads[0][name], grads[1][name], rtol=FLOAT64_RTOL,
                                       atol=FLOAT64_ATOL)
