"""Training-step throughput: the full SimCLR / DINO step against its bare backbone.

* ``simclr_step_vs_backbone``: one SimCLR training step of Riggi et al.'s recipe -- two views
  drawn by the batched augmentation, ResNet18 + projector on the 2B views, NT-Xent, backward,
  Adam step -- against a bare ResNet18 forward + backward of 2B images of the same shape
  (target 0.9 of its throughput).
* ``dino_step_vs_backbone``: one DINO step of Lastufka et al.'s ResNet50 recipe -- multi-crop
  (2 global + 8 local), teacher forward on the global crops, student on all crops, the head
  of the released code (out_dim 65536), loss with centring, backward, clipping, AdamW, teacher
  EMA -- against a bare ResNet50 forward + backward on the same crops (target 0.75).

CPU sizes keep each under a minute on 2 cores: SimCLR at the released code's 64 px with the
batch of ``configs/simclr_riggi.yaml`` (64, our placeholder: the paper's is not transcribed;
at batch 16 the fixed cost of the Adam step weighs more: about 0.88-0.92); DINO with batch 8,
64 px global and 32 px local crops, repeated at the paper's 224 / 96 px crops with batch 2.
The DINO step does work the bare backbone does not -- the teacher's forward pass on the global
crops and the 65536-way head -- so its ratio is bounded well below 1 (``raw`` itemises them).
Step and baseline are timed in interleaved rounds and the best of each is kept, so a busy
machine slows both alike.
"""

from __future__ import annotations

import time

import torch

ROUNDS = 5


def _interleaved(fns: dict, rounds: int = ROUNDS) -> dict:
    for fn in fns.values():  # warm-up: allocator, lazy initialisation
        fn()
    best = dict.fromkeys(fns, float("inf"))
    for _ in range(rounds):
        for name, fn in fns.items():
            start = time.perf_counter()
            fn()
            best[name] = min(best[name], time.perf_counter() - start)
    return best


def _step_fn(method, optimizer, x, generator):
    def step():
        optimizer.zero_grad(set_to_none=True)
        loss = method.training_step(x, generator)
        loss.backward()
        method.after_backward(epoch=1)
        optimizer.step()
        method.after_step(0, 100)
    return step


def _bare_fn(net, crops):
    def bare():
        net.zero_grad(set_to_none=True)
        sum(net(c).sum() for c in crops).backward()
    return bare


def simclr_step_vs_backbone(batch: int = 64, size: int = 64) -> dict:
    """SimCLR step (augmentation included) vs bare ResNet18 fwd+bwd on 2 x batch images."""
    from radiolib.models import backbone
    from radiolib.ssl import SimCLR, SimCLRConfig

    torch.manual_seed(0)
    method = SimCLR(SimCLRConfig(image_size=size, batch_size=batch))
    optimizer = method.configure_optimizer()
    x = torch.rand(batch, 3, size, size)
    net, _ = backbone("resnet18", 3)
    views = [torch.rand(2 * batch, 3, size, size)]
    t = _interleaved({"step": _step_fn(method, optimizer, x, torch.Generator().manual_seed(0)),
                      "bare": _bare_fn(net, views)})
    aug = _interleaved({"aug": lambda: method.views(x, torch.Generator().manual_seed(1))})["aug"]
    return {"name": "simclr_step_vs_backbone", "ratio": round(t["bare"] / t["step"], 3),
            "target": 0.9, "unit": "x bare fwd+bwd throughput",
            "raw": {"batch": [batch, 3, size, size], "views": 2 * batch,
                    "step_s": round(t["step"], 4), "bare_s": round(t["bare"], 4),
                    "augment_s": round(aug, 4),
                    "step_img_per_s": round(batch / t["step"], 1),
                    "bare_views_per_s": round(2 * batch / t["bare"], 1),
                    "threads": torch.get_num_threads(), "device": "cpu"}}


def dino_step_vs_backbone(batch: int = 8, global_size: int = 64, local_size: int = 32,
                          backbone_name: str = "resnet50", paper_sizes: bool = True) -> dict:
    """DINO multi-crop step vs bare backbone fwd+bwd on the same 2 global + 8 local crops.

    With ``paper_sizes``, ``raw["paper_sizes"]`` repeats the measurement with the paper's
    224 / 96 px crops at batch 2 (where the backbone's share of the step is larger).
    """
    from radiolib.models import backbone
    from radiolib.ssl import DINO, DINOConfig

    torch.manual_seed(0)
    config = DINOConfig(backbone=backbone_name, image_size=2 * local_size + global_size,
                        global_size=global_size, local_size=local_size, batch_size=batch)
    method = DINO(config)
    optimizer = method.configure_optimizer()
    x = torch.rand(batch, 1, config.image_size, config.image_size)
    crops = method.crops(x, torch.Generator().manual_seed(0))
    net, _ = backbone(backbone_name, 1)
    grouped = [torch.cat(crops[:2]), torch.cat(crops[2:])]
    t = _interleaved({"step": _step_fn(method, optimizer, x, torch.Generator().manual_seed(0)),
                      "bare": _bare_fn(net, grouped)}, rounds=3)
    @torch.no_grad()
    def teacher_forward():
        method.teacher(crops[:2])

    # where the extra time goes: DINO's own work on top of the backbone
    features = [torch.randn(len(crops) * batch, method.embed_dim)]
    parts = _interleaved({"teacher_forward": teacher_forward,
                          "head_fwd_bwd": _bare_fn(method.net.head, features),
                          "optimizer": optimizer.step,
                          "teacher_ema": lambda: method.after_step(0, 100)}, rounds=2)
    return {"name": "dino_step_vs_backbone", "ratio": round(t["bare"] / t["step"], 3),
            "target": 0.75, "unit": "x bare fwd+bwd throughput",
            "raw": {"backbone": backbone_name, "batch": batch, "out_dim": config.out_dim,
                    "crops": [[2, global_size], [config.n_local, local_size]],
                    "step_s": round(t["step"], 4), "bare_s": round(t["bare"], 4),
                    "step_img_per_s": round(batch / t["step"], 1),
                    **{f"{k}_s": round(v, 4) for k, v in parts.items()},
                    "threads": torch.get_num_threads(), "device": "cpu",
                    "paper_sizes": _paper_sizes(backbone_name) if paper_sizes else None}}


def _paper_sizes(backbone_name: str) -> dict:
    out = dino_step_vs_backbone(2, 224, 96, backbone_name, paper_sizes=False)
    keep = ("batch", "crops", "step_s", "bare_s", "teacher_forward_s", "head_fwd_bwd_s")
    return {"ratio": out["ratio"], **{k: out["raw"][k] for k in keep}}


BENCHMARKS = {"dino_step_vs_backbone": dino_step_vs_backbone,
              "simclr_step_vs_backbone": simclr_step_vs_backbone}
