"""The two methods' training steps: SimCLR's positive pairs, DINO's clipping, freeze and teacher.

The losses have their own tests against references (test_ntxent.py, test_dino_loss.py); these
check what the steps around them do: which views are paired, which gradients are clipped or
dropped, which crops the teacher sees.
"""

import math

import pytest
import torch
from _tiny import TINY_DINO
from torch import nn

from radiolib.ssl import DINO, DINOConfig, SimCLR, SimCLRConfig, train

pytestmark = pytest.mark.usefixtures("one_thread")


# ---------------------------------------------------------------- SimCLR: positive pairs
#: Augmentation that leaves images as they are: every transform off, crops of the whole image.
IDENTITY_VIEWS = dict(crop_scale=(1.0, 1.0), p_hflip=0.0, p_vflip=0.0, p_rot90=0.0,
                      p_jitter=0.0, p_blur=0.0, thresholding=False)


class BandIndicator(nn.Module):
    """Image (C, S, S) -> the mean of channel 0 over each of ``k`` horizontal bands, (k,).

    Image ``i`` of `banded_images` is bright in band ``i`` only, so this maps it to the
    ``i``-th unit vector: the projection names the image a view came from.
    """

    def __init__(self, k: int) -> None:
        super().__init__()
        self.k = k
        self.scale = nn.Parameter(torch.ones(()))  # something for backward to reach

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        bands = x[:, 0].reshape(len(x), self.k, -1).mean(dim=2)
        return bands * self.scale


def banded_images(k: int, size: int = 32) -> torch.Tensor:
    """``k`` images (k, 3, size, size): image ``i`` is 1 on rows of band ``i``, 0 elsewhere."""
    x = torch.zeros(k, 3, size, size)
    rows = size // k
    for i in range(k):
        x[i, :, i * rows:(i + 1) * rows] = 1.0
    return x


@pytest.mark.parametrize("amp", [False, True])
def test_simclr_step_pairs_each_view_with_its_own_other_view(amp):
    """B = 4 images, views unchanged, projections the images' unit vectors e_i. Mixed
    precision (``amp``) acts on CUDA only: on the CPU the step is the float32 one.

    By hand, with T = 0.5: an anchor's own other view has cosine 1 (logit 2) and the six
    views of the other three images cosine 0 (logit 0), so every anchor's loss is
    -log(e^2 / (e^2 + 6)) = log(1 + 6 e^-2) = 0.5945. Pairing view 1 of image i with view 2
    of image i + 1 (a roll by one) gives log(e^2 + 6) = 2.5945 instead.
    """
    k, temperature = 4, 0.5
    model = SimCLR(SimCLRConfig(image_size=32, temperature=temperature, amp=amp,
                                **IDENTITY_VIEWS))
    model.net = nn.Sequential(BandIndicator(k))
    images = banded_images(k)
    views = model.views(images, torch.Generator().manual_seed(0))
    # view-major: rows 0..B-1 are the first views, B..2B-1 the second, both the images as given
    torch.testing.assert_close(views, torch.cat([images, images]), atol=1e-6, rtol=0)
    torch.testing.assert_close(model.net(views), torch.eye(k).repeat(2, 1), atol=1e-6, rtol=0)
    loss = model.training_step(images, torch.Generator().manual_seed(0))
    expected = math.log(1 + 6 * math.exp(-1 / temperature))
    assert loss.item() == pytest.approx(expected, rel=1e-5)
    assert expected == pytest.approx(0.5945, abs=1e-4)
    loss.backward()  # the loss is the network's: it reaches the parameters
    assert model.net[0].scale.grad is not None


def test_simclr_step_with_the_papers_augmentation_pairs_views_of_one_image():
    """With Riggi et al.'s augmentation on, the step pairs the views it drew row by row.

    The loss of the step equals NT-Xent of the projections of the same draw of views paired
    as (z0[i], z1[i]), and differs from the pairing rolled by one.
    """
    torch.manual_seed(0)
    model = SimCLR(SimCLRConfig(image_size=32, proj_hidden_dim=16, proj_out_dim=8))
    model.eval()  # batch norm on running statistics: the same images give the same outputs
    images = torch.rand(4, 3, 32, 32, generator=torch.Generator().manual_seed(1))
    views = model.views(images, torch.Generator().manual_seed(2))
    z = model(views)
    z0, z1 = z[:4], z[4:]
    loss = model.training_step(images, torch.Generator().manual_seed(2))
    torch.testing.assert_close(loss, model.criterion(z0, z1))
    assert not torch.isclose(loss, model.criterion(z0, z1.roll(1, 0)))


def global_norm_clip(grads: list[torch.Tensor], clip: float) -> list[torch.Tensor]:
    """Clipping by the norm of all gradients together (torch's definition, written out): when
    sqrt(sum of squares) exceeds ``clip``, every gradient is scaled by clip / (norm + 1e-6)."""
    total = math.sqrt(sum(float((g.double() ** 2).sum()) for g in grads))
    factor = min(1.0, clip / (total + 1e-6))
    return [g * factor for g in grads]


@pytest.mark.parametrize("clip", [0.0, 0.5, 3.0, 1e4])
def test_simclr_clips_the_global_gradient_norm(clip):
    """SimCLR's ``clip_grad`` (0: off, Riggi et al.'s value) bounds the norm of all gradients
    together, so their directions relative to each other are kept."""
    model = SimCLR(SimCLRConfig(image_size=32, proj_hidden_dim=16, proj_out_dim=8,
                                clip_grad=clip))
    norms = _set_gradients(model.net, seed=4)
    total = math.sqrt(sum(n * n for n in norms))
    assert 3.0 < total < 1e4  # clipped by 0.5 and 3, not by 1e4
    trained = [p for p in model.net.parameters() if p.requires_grad]
    before = [p.grad.clone() for p in trained]
    expected = before if clip == 0 else global_norm_clip(before, clip)
    model.after_backward(epoch=0)
    for p, ref in zip(trained, expected, strict=True):
        torch.testing.assert_close(p.grad, ref, rtol=1e-5, atol=1e-9)
    after = math.sqrt(sum(float(p.grad.double().norm() ** 2) for p in trained))
    assert after == pytest.approx(min(total, clip) if clip else total, rel=1e-5)


# ---------------------------------------------------------------- DINO
def dino_clip_gradients(model: nn.Module, clip: float) -> None:
    """DINO's ``utils.clip_gradients`` as published: per-parameter norm, scaled if above clip."""
    for p in model.parameters():
        if p.grad is not None:
            param_norm = p.grad.data.norm(2)
            clip_coef = clip / (param_norm + 1e-6)
            if clip_coef < 1:
                p.grad.data.mul_(clip_coef)


def _set_gradients(net: nn.Module, seed: int) -> list[float]:
    """Give every trainable parameter a random gradient of norm 0.1 to 30 (both sides of 3)."""
    g = torch.Generator().manual_seed(seed)
    norms = []
    params = [p for p in net.parameters() if p.requires_grad]
    for i, p in enumerate(params):
        target = 0.1 * 300 ** (i / max(1, len(params) - 1))  # log-spaced 0.1 .. 30
        grad = torch.randn(p.shape, generator=g)
        p.grad = grad * (target / grad.norm())
        norms.append(float(p.grad.norm()))
    return norms


def test_dino_clips_each_parameter_as_dinos_clip_gradients():
    config = DINOConfig(**TINY_DINO, freeze_last_layer=0)
    assert config.clip_grad == 3.0
    model = DINO(config)
    norms = _set_gradients(model.net, seed=0)
    assert min(norms) < 3.0 < max(norms)
    expected = {n: p.grad.clone() for n, p in model.net.named_parameters() if p.grad is not None}
    reference = nn.ParameterList([nn.Parameter(torch.zeros_like(g)) for g in expected.values()])
    for p, grad in zip(reference, expected.values(), strict=True):
        p.grad = grad
    dino_clip_gradients(reference, 3.0)
    model.after_backward(epoch=0)
    trained = [(n, p) for n, p in model.net.named_parameters() if p.requires_grad]
    for (name, p), ref in zip(trained, reference, strict=True):
        if float(expected[name].norm()) < 3.0:  # below the limit: left exactly as it was
            assert torch.equal(p.grad, expected[name]), name
        else:  # above: norm 3 (1e-6 below it); float32 norms summed in another order
            torch.testing.assert_close(p.grad, ref.grad, rtol=1e-5, atol=0)
            assert float(p.grad.norm()) == pytest.approx(3.0, rel=1e-5)
    # per parameter, not the global norm: small gradients keep their size
    small = [n for n in expected if float(expected[n].norm()) < 1.0]
    assert small and all(torch.equal(model.net.get_parameter(n).grad, expected[n])
                         for n in small)


def test_dino_clips_below_a_limit_of_one_too():
    """A limit under 1 (here 0.5) clips as well: every gradient ends at norm <= 0.5."""
    model = DINO(DINOConfig(**TINY_DINO, clip_grad=0.5, freeze_last_layer=0))
    _set_gradients(model.net, seed=3)
    model.after_backward(epoch=0)
    norms = [float(p.grad.norm()) for p in model.net.parameters() if p.grad is not None]
    assert max(norms) == pytest.approx(0.5, rel=1e-5) and min(norms) < 0.5


def test_dino_without_clipping_leaves_gradients_alone():
    model = DINO(DINOConfig(**TINY_DINO, clip_grad=0.0, freeze_last_layer=0))
    _set_gradients(model.net, seed=1)
    trained = [p for p in model.net.parameters() if p.requires_grad]
    before = [p.grad.clone() for p in trained]
    model.after_backward(epoch=0)
    assert all(torch.equal(p.grad, b) for p, b in zip(trained, before, strict=True))


@pytest.mark.parametrize("freeze, epoch, frozen", [(1, 0, True), (1, 1, False), (2, 1, True),
                                                   (2, 2, False), (0, 0, False)])
def test_dino_drops_last_layer_gradients_during_the_first_epochs(freeze, epoch, frozen):
    """DINO's ``cancel_gradients_last_layer``: no update of ``last_layer`` while epoch < freeze."""
    model = DINO(DINOConfig(**TINY_DINO, freeze_last_layer=freeze))
    _set_gradients(model.net, seed=2)
    model.after_backward(epoch=epoch)
    last = [n for n, p in model.net.named_parameters() if "last_layer" in n and p.requires_grad]
    assert last  # the prototypes' directions (the norms are frozen at 1)
    for name, p in model.net.named_parameters():
        if not p.requires_grad:
            continue
        dropped = p.grad is None
        assert dropped == (frozen and name in last), name


def test_dino_training_keeps_the_last_layer_during_epoch_0(dino_config, images1, tmp_path):
    """Through the training loop: 3 steps of epoch 0 move everything but the last layer."""
    assert dino_config.freeze_last_layer == 1
    start = train(dino_config, images1, out_dir=tmp_path / "a", max_steps=0, progress=False)
    initial = {k: v.clone() for k, v in start.method.net.state_dict().items()}
    epoch0 = train(dino_config, images1, out_dir=tmp_path / "b", max_steps=3, progress=False)
    assert epoch0.epoch == 1.0  # 24 images, batch 8: epoch 0 is 3 steps
    after = epoch0.method.net.state_dict()
    last = [k for k in after if "last_layer" in k]
    assert last and all(torch.equal(after[k], initial[k]) for k in last)
    assert not torch.equal(after["head.mlp.0.weight"], initial["head.mlp.0.weight"])
    epoch1 = train(dino_config, images1, out_dir=tmp_path / "b", resume=True, max_steps=4,
                   progress=False)  # the first step of epoch 1 updates it
    moved = epoch1.method.net.state_dict()
    assert any(not torch.equal(moved[k], initial[k]) for k in last)


def test_dino_teacher_sees_only_the_two_global_crops():
    """The teacher's input is the first two crops (global size), the student's all crops."""
    model = DINO(DINOConfig(**TINY_DINO))
    seen = {}

    def record(name):
        def hook(module, args):
            seen[name] = list(args[0])
        return hook

    model.teacher.register_forward_pre_hook(record("teacher"))
    model.net.register_forward_pre_hook(record("student"))
    images = torch.rand(4, 1, 40, 40, generator=torch.Generator().manual_seed(0))
    model.training_step(images, torch.Generator().manual_seed(1))
    crops = model.crops(images, torch.Generator().manual_seed(1))  # the same draw
    assert len(seen["student"]) == 2 + TINY_DINO["n_local"]
    assert [c.shape[-1] for c in seen["student"]] == [32, 32, 16, 16]
    assert len(seen["teacher"]) == 2
    for teacher_crop, student_crop, crop in zip(seen["teacher"], seen["student"], crops,
                                                strict=False):
        assert teacher_crop.shape == (4, 1, 32, 32)
        assert torch.equal(teacher_crop, student_crop) and torch.equal(teacher_crop, crop)


def dino_cosine_scheduler(base, final, epochs, niter_per_ep, warmup_epochs=0):
    """DINO's ``utils.cosine_scheduler`` as published (linear warm-up from 0, then cosine)."""
    import numpy as np

    warmup = np.linspace(0, base, warmup_epochs * niter_per_ep)
    iters = np.arange(epochs * niter_per_ep - len(warmup))
    cosine = final + 0.5 * (base - final) * (1 + np.cos(np.pi * iters / len(iters)))
    return np.concatenate((warmup, cosine))


def test_dino_optimiser_groups_lr_scaling_and_schedules():
    """As DINO's main_dino.py: no weight decay on biases and 1-D parameters (norms); lr scaled
    by the global batch / 256; lr with warm-up and cosine, weight decay on a cosine (group 0)."""
    config = DINOConfig(**{**TINY_DINO, "optimizer": "adamw", "lr": 5e-4, "min_lr": 1e-6,
                           "weight_decay": 0.04, "weight_decay_end": 0.4, "warmup_epochs": 2,
                           "epochs": 5})
    model = DINO(config)
    decay, no_decay = model.param_groups()
    named = [(n, p) for n, p in model.net.named_parameters() if p.requires_grad]
    expected = {n for n, p in named if n.endswith(".bias") or len(p.shape) == 1}
    ids = {id(p): n for n, p in named}
    assert {ids[id(p)] for p in no_decay["params"]} == expected
    assert {ids[id(p)] for p in decay["params"]} == {n for n, _ in named} - expected
    assert "backbone.bn1.weight" in expected and "head.mlp.0.weight" not in expected
    assert no_decay["weight_decay"] == 0.0 and "weight_decay" not in decay
    assert model.base_lr() == model.base_lr(1) == pytest.approx(5e-4 * 8 / 256, rel=1e-12)
    assert model.base_lr(4) == pytest.approx(5e-4 * 32 / 256, rel=1e-12)
    optimizer = model.configure_optimizer(world_size=2)
    per_epoch, total = 3, 15
    lrs = dino_cosine_scheduler(model.base_lr(2), 1e-6, 5, per_epoch, warmup_epochs=2)
    wds = dino_cosine_scheduler(0.04, 0.4, 5, per_epoch)
    # one process unless told otherwise: the loop's default world size is 1
    assert model.set_schedule(optimizer, 6, total, per_epoch) == pytest.approx(
        dino_cosine_scheduler(model.base_lr(1), 1e-6, 5, per_epoch, warmup_epochs=2)[6],
        rel=1e-9)
    for step in range(total):
        lr = model.set_schedule(optimizer, step, total, per_epoch, world_size=2)
        assert lr == pytest.approx(lrs[step], rel=1e-9, abs=1e-15)
        assert [g["lr"] for g in optimizer.param_groups] == [lr, lr]
        assert optimizer.param_groups[0]["weight_decay"] == pytest.approx(wds[step], rel=1e-9)
        assert optimizer.param_groups[1]["weight_decay"] == 0.0


def test_dino_step_warms_the_teacher_temperature_up_per_epoch():
    """DINO's teacher temperature schedule: linear over the warm-up epochs, then constant."""
    import numpy as np

    config = DINOConfig(**TINY_DINO, warmup_teacher_temp=0.04, teacher_temp=0.07,
                        warmup_teacher_temp_epochs=10)
    model = DINO(config)
    schedule = np.concatenate((np.linspace(0.04, 0.07, 10), np.full(10, 0.07)))
    used = []
    forward = model.criterion.forward
    model.criterion.forward = lambda t, s, teacher_temp=None: (used.append(teacher_temp),
                                                              forward(t, s, teacher_temp))[1]
    images = torch.rand(2, 1, 40, 40, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        model.training_step(images, torch.Generator().manual_seed(1))  # default: epoch 0
        for epoch in (5, 12):
            model.training_step(images, torch.Generator().manual_seed(1), epoch=epoch)
    assert used == pytest.approx([schedule[0], schedule[5], schedule[12]], rel=1e-12)


def test_multicrop_net_passes_crops_of_one_size_together():
    """DINO's MultiCropWrapper: one backbone pass per run of same-size crops (batch norm sees
    them together), outputs crop-major."""
    model = DINO(DINOConfig(**TINY_DINO))
    shapes = []
    model.net.backbone.register_forward_pre_hook(lambda m, args: shapes.append(args[0].shape))
    g = torch.Generator().manual_seed(0)
    crops = [torch.rand(3, 1, s, s, generator=g) for s in (32, 32, 16, 16, 32)]
    out = model.net(crops)
    assert [tuple(s) for s in shapes] == [(6, 1, 32, 32), (6, 1, 16, 16), (3, 1, 32, 32)]
    model.eval()  # without batch statistics, each crop's output is its own pass's
    torch.testing.assert_close(model.net(crops)[12:], model.net([crops[4]]))
    assert out.shape == (15, TINY_DINO["out_dim"])
