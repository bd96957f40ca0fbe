"""DDP on CPU: 2 gloo processes spawned with a torchrun-like environment (run_local)."""

import pytest
import torch
from _tiny import TINY_DINO, TINY_SIMCLR
from torch.nn.parallel import DistributedDataParallel

from radiolib.ssl import (
    DINO,
    DINOConfig,
    ImageTensors,
    NTXentLoss,
    ResumableSampler,
    SimCLRConfig,
    init_distributed,
    load_checkpoint,
    run_local,
    train,
)
from radiolib.ssl.distributed import cleanup

WORLD = 2
pytestmark = pytest.mark.usefixtures("one_thread")


def _linear(seed=0):
    torch.manual_seed(seed)
    return torch.nn.Linear(6, 4)


def _grad_worker(rank, x0, x1, out):
    torch.set_num_threads(1)
    info = init_distributed("cpu")
    try:
        assert (info.rank, info.world_size, info.backend) == (rank, WORLD, "gloo")
        model = DistributedDataParallel(_linear())
        b = len(x0) // WORLD
        part = slice(rank * b, (rank + 1) * b)
        z = model(torch.cat([x0[part], x1[part]]))  # one DDP forward, both views
        loss = NTXentLoss(0.5, gather_distributed=True)(*z.chunk(2))
        loss.backward()  # DDP averages the gradients over the ranks
        grads = [p.grad.flatten() for p in model.parameters()]
        out[rank] = torch.cat([loss.detach().view(1), *grads])
    finally:
        cleanup(info)


@pytest.mark.slow
def test_ntxent_with_gathered_negatives_matches_the_concatenated_batch():
    g = torch.Generator().manual_seed(0)
    x0, x1 = torch.randn(8, 6, generator=g), torch.randn(8, 6, generator=g)
    model = _linear()
    out = torch.zeros(WORLD, 1 + sum(p.numel() for p in model.parameters())).share_memory_()
    run_local(_grad_worker, WORLD, x0, x1, out)
    z = model(torch.cat([x0, x1]))
    loss = NTXentLoss(0.5)(*z.chunk(2))
    loss.backward()
    full_grads = torch.cat([p.grad.flatten() for p in model.parameters()])
    torch.testing.assert_close(out[:, 0].mean(), loss.detach())  # global loss = mean of ranks
    for rank in range(WORLD):
        torch.testing.assert_close(out[rank, 1:], full_grads)


def _dino_config():
    return DINOConfig(**{**TINY_DINO, "batch_size": 4, "image_size": 32})


def _train_worker(rank, tmp):
    torch.set_num_threads(1)
    info = init_distributed("cpu")  # train() joins this group and leaves it open
    try:
        images = torch.rand(32, 3, 32, 32, generator=torch.Generator().manual_seed(0))
        simclr = SimCLRConfig(**{**TINY_SIMCLR, "batch_size": 4})
        s = train(simclr, ImageTensors(images), out_dir=tmp / "simclr", max_steps=3,
                  progress=False)
        torch.save(s.method.state_dict(), tmp / f"simclr{rank}.pt")
        dino = _dino_config()
        data = ImageTensors(images[:, :1])
        full = train(dino, data, out_dir=tmp / "full", max_steps=4, progress=False)
        torch.save(full.method.state_dict(), tmp / f"dino{rank}.pt")
        train(dino, data, out_dir=tmp / "resumed", max_steps=2, progress=False)
        resumed = train(dino, data, out_dir=tmp / "resumed", resume=True, max_steps=4,
                        progress=False)
        torch.save(resumed.method.state_dict(), tmp / f"resumed{rank}.pt")
    finally:
        cleanup(info)


@pytest.mark.slow
def test_ddp_training_keeps_ranks_identical_and_resumes_exactly(tmp_path):
    run_local(_train_worker, WORLD, tmp_path)
    for name in ("simclr", "dino", "resumed"):
        a, b = (torch.load(tmp_path / f"{name}{r}.pt", weights_only=True) for r in range(WORLD))
        differ = [k for k in a if not torch.equal(a[k], b[k])]
        assert not differ, f"{name}: ranks differ in {differ[:3]}"
    full = torch.load(tmp_path / "dino0.pt", weights_only=True)
    resumed = torch.load(tmp_path / "resumed0.pt", weights_only=True)
    assert all(torch.equal(full[k], resumed[k]) for k in full)  # DDP resume is bit-identical
    torch.manual_seed(0)
    initial = DINO(_dino_config()).state_dict()  # train() seeds with config.seed = 0
    assert torch.equal(initial["teacher.head.mlp.0.weight"], initial["net.head.mlp.0.weight"])
    moved = [k for k in full if k.startswith("teacher.") and not torch.equal(initial[k], full[k])]
    assert moved  # the EMA moved the teacher, identically on both ranks
    state = load_checkpoint(tmp_path / "resumed" / "checkpoint.pt")
    assert state["progress"]["world_size"] == WORLD and len(state["rng"]) == WORLD
    assert not torch.equal(state["rng"][0]["augment"], state["rng"][1]["augment"])


def test_sampler_shards_are_disjoint_and_resumable():
    data = list(range(20))
    shards = [ResumableSampler(data, num_replicas=2, rank=r, seed=3) for r in range(2)]
    for s in shards:
        s.set_position(epoch=1)
    a, b = (list(s) for s in shards)
    assert len(a) == len(b) == 10 and not set(a) & set(b)
    shards[0].set_position(epoch=1, start=4)
    assert list(shards[0]) == a[4:] and len(shards[0]) == 6
    shards[0].set_position(epoch=2)
    assert list(shards[0]) != a  # a new order every epoch


def test_single_process_without_torchrun(monkeypatch):
    for key in ("RANK", "WORLD_SIZE", "LOCAL_RANK"):
        monkeypatch.delenv(key, raising=False)
    info = init_distributed("cpu")
    assert (info.rank, info.world_size, info.distributed, info.is_main) == (0, 1, False, True)
    assert info.device == torch.device("cpu") and not info.owner
