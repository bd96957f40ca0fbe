"""NT-Xent against an explicit loop over pairs (SimCLR's definition) and lightly's formulation."""

import math
import os
import socket

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
import torch.nn.functional as F

from radiolib.ssl import NTXentLoss


def reference_loop(z0, z1, temperature):
    """SimCLR Algorithm 1 verbatim: l(i, j) over all 2N anchors, plain Python loops."""
    z = [F.normalize(v, dim=0) for pair in zip(z0, z1, strict=True) for v in pair]  # 2k, 2k+1
    n2 = len(z)

    def sim(i, j):
        return float(z[i] @ z[j]) / temperature

    def loss(i, j):
        denominator = sum(math.exp(sim(i, k)) for k in range(n2) if k != i)
        return -math.log(math.exp(sim(i, j)) / denominator)

    return sum(loss(2 * k, 2 * k + 1) + loss(2 * k + 1, 2 * k) for k in range(n2 // 2)) / n2


def reference_lightly(z0, z1, temperature):
    """lightly's NTXentLoss formulation: diagonal entries removed, cross_entropy."""
    z0, z1 = F.normalize(z0, dim=1), F.normalize(z1, dim=1)
    b = z0.shape[0]
    diag = torch.eye(b, dtype=torch.bool)
    l00 = (z0 @ z0.T / temperature)[~diag].view(b, -1)
    l11 = (z1 @ z1.T / temperature)[~diag].view(b, -1)
    l01, l10 = z0 @ z1.T / temperature, z1 @ z0.T / temperature
    logits = torch.cat([torch.cat([l01, l00], 1), torch.cat([l10, l11], 1)])
    return F.cross_entropy(logits, torch.arange(b).repeat(2))


@pytest.mark.parametrize("temperature", [0.1, 0.5, 1.0])
@pytest.mark.parametrize("b, d", [(1, 3), (4, 8), (7, 16)])
def test_matches_the_reference_formulations(temperature, b, d):
    g = torch.Generator().manual_seed(b * d)
    z0, z1 = torch.randn(b, d, generator=g), torch.randn(b, d, generator=g)
    ours = NTXentLoss(temperature)(z0, z1)
    assert ours.item() == pytest.approx(reference_loop(z0, z1, temperature), rel=1e-5)
    torch.testing.assert_close(ours, reference_lightly(z0, z1, temperature))


def test_gradients_and_properties():
    z0 = torch.randn(6, 8, requires_grad=True)
    z1 = torch.randn(6, 8)
    loss = NTXentLoss(0.5)
    out = loss(z0, z1)
    out.backward()
    assert torch.isfinite(z0.grad).all() and z0.grad.abs().sum() > 0
    torch.testing.assert_close(loss(z1, z0), out.detach())  # symmetric in the views
    aligned = torch.eye(6, 8) * 5
    assert loss(aligned, aligned) < loss(aligned, aligned.roll(1, 0))
    # without an initialised process group, gathering is a no-op
    torch.testing.assert_close(NTXentLoss(0.5, gather_distributed=True)(z0, z1), out)


def test_defaults_and_float64():
    """SimCLR's temperature 0.5 and no gathering by default; float64 projections stay float64
    (the masked self-similarities too) and match the loop to 1e-12."""
    loss = NTXentLoss()
    assert loss.temperature == 0.5 and loss.gather_distributed is False
    g = torch.Generator().manual_seed(5)
    z0, z1 = (torch.randn(5, 7, generator=g, dtype=torch.float64) for _ in range(2))
    value = loss(z0, z1)
    assert value.dtype == torch.float64
    assert value.item() == pytest.approx(reference_loop(z0, z1, 0.5), rel=1e-12)


def test_invalid_arguments():
    with pytest.raises(ValueError, match="temperature"):
        NTXentLoss(0.0)
    with pytest.raises(ValueError, match=r"\(B, D\)"):
        NTXentLoss()(torch.randn(4, 8), torch.randn(5, 8))


def reference_anchor_losses(z0, z1, temperature):
    """Loss of each of the 2B anchors (first views, then second views), by plain loops."""
    z = [F.normalize(v, dim=0) for v in [*z0, *z1]]
    b = len(z0)
    out = []
    for i in range(2 * b):
        sims = [math.exp(float(z[i] @ z[k]) / temperature) for k in range(2 * b)]
        positive = (i + b) % (2 * b)
        out.append(-math.log(sims[positive] / (sum(sims) - sims[i])))
    return torch.tensor(out, dtype=torch.float64)


@pytest.mark.parametrize("world, rank", [(2, 0), (2, 1), (3, 2)])
def test_gathered_negatives_in_one_process(monkeypatch, world, rank):
    """Rank ``rank`` of ``world`` with an all_gather faked in-process (the real one runs in the
    slow two-rank test below): its loss is the mean loss of its own 2b anchors in the full batch
    of ``world * b`` pairs, every other rank's projections being negatives."""
    b, d = 3, 5
    g = torch.Generator().manual_seed(world * 10 + rank)
    full0, full1 = torch.randn(world * b, d, generator=g), torch.randn(world * b, d, generator=g)
    mine = slice(rank * b, (rank + 1) * b)
    z0, z1 = full0[mine], full1[mine]

    def all_gather(parts, z):  # every rank's (normalised) slice of the view ``z`` belongs to
        full = full0 if torch.equal(z, F.normalize(z0, dim=1)) else full1
        assert torch.equal(z, F.normalize(full[mine], dim=1))
        for r in range(world):
            parts[r].copy_(F.normalize(full[r * b:(r + 1) * b], dim=1))

    for name, value in [("is_available", lambda: True), ("is_initialized", lambda: True),
                        ("get_world_size", lambda: world), ("get_rank", lambda: rank),
                        ("all_gather", all_gather)]:
        monkeypatch.setattr(dist, name, value)
    per_anchor = reference_anchor_losses(full0, full1, 0.5)
    expected = torch.cat([per_anchor[mine], per_anchor[world * b:][mine]]).mean()
    ours = NTXentLoss(0.5, gather_distributed=True)(z0, z1)
    assert ours.item() == pytest.approx(expected.item(), rel=1e-5)
    # the same rank without gathering sees only its own b pairs: another loss
    alone = NTXentLoss(0.5)(z0, z1)
    assert alone.item() == pytest.approx(reference_loop(z0, z1, 0.5), rel=1e-5)
    assert alone.item() != pytest.approx(expected.item(), rel=1e-3)


def test_index_tensors_follow_the_projections_device():
    """On the ``meta`` device (as on a GPU) the targets are built beside the logits, which
    cross_entropy requires; a target left on the CPU fails."""
    z0, z1 = torch.randn(4, 8, device="meta"), torch.randn(4, 8, device="meta")
    out = NTXentLoss(0.5)(z0, z1)
    assert out.device.type == "meta" and out.shape == ()


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _rank_worker(rank, world, port, z0, z1, out):
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    dist.init_process_group("gloo", rank=rank, world_size=world)
    try:
        b = z0.shape[0] // world
        a = z0[rank * b:(rank + 1) * b].clone().requires_grad_(True)
        loss = NTXentLoss(0.5, gather_distributed=True)(a, z1[rank * b:(rank + 1) * b])
        loss.backward()
        out[rank] = torch.cat([loss.detach().view(1), a.grad.flatten()])
    finally:
        dist.destroy_process_group()


@pytest.mark.slow
def test_gathered_negatives_equal_the_full_batch_on_two_gloo_ranks():
    g = torch.Generator().manual_seed(0)
    z0, z1 = torch.randn(8, 5, generator=g), torch.randn(8, 5, generator=g)
    out = torch.zeros(2, 1 + 4 * 5).share_memory_()
    mp.start_processes(_rank_worker, args=(2, _free_port(), z0, z1, out), nprocs=2,
                       start_method="spawn")  # fork deadlocks once torch's thread pools run
    full = z0.clone().requires_grad_(True)
    loss = NTXentLoss(0.5)(full, z1)
    loss.backward()
    torch.testing.assert_close(out[:, 0].mean(), loss.detach())
    # all_gather's backward sums the ranks' gradients: world_size x the full-batch gradient
    torch.testing.assert_close(out[:, 1:].reshape(8, 5) / 2, full.grad)
