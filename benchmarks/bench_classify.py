"""Feature extraction of a frozen backbone against bare inference (Riggi et al. Task I).

* ``frozen_embed_vs_bare_inference``: ``FeatureExtractor.embed`` of a ResNet18 (eval mode,
  no gradients, batches of 256 moved to the device and back to the CPU) against the bare
  network called on the same batches under ``torch.inference_mode`` (target 0.9 of its
  throughput). The overhead measured is the wrapper's: batching, device moves, the float32
  copy to the CPU and the concatenation.
* ``dihedral_features_vs_bare_inference``: :func:`radiolib.evaluate.dihedral_features`, what
  notebook 07 runs to embed each image in its 8 flips and quarter turns (views made, embedded,
  stacked to numpy), against the bare network on the same 8 views made beforehand (target
  0.9): making the views and the numpy stack must not cost more than a tenth of inference.

Both check that the features equal the bare network's outputs (max difference < 1e-4).
CPU sizes: 256 riggi3 stacks (3 x 64 x 64 px, the ``quick`` profile's side; 128 stacks in
8 views for the second), best of interleaved rounds, so another busy process slows both
sides alike.
"""

from __future__ import annotations

import torch
from _timing import interleaved


def _model(size: int):
    from radiolib.evaluate import load_backbone

    return load_backbone("random:resnet18", in_chans=3, image_size=size, device="cpu", seed=0)


def _bare(net, batches):
    def run():
        with torch.inference_mode():
            return [net(b) for b in batches]
    return run


def frozen_embed_vs_bare_inference(n: int = 256, size: int = 64) -> dict:
    """``FeatureExtractor.embed`` vs the bare ResNet18 on the same batch of ``n`` images."""
    model = _model(size)
    x = torch.rand(n, 3, size, size, generator=torch.Generator().manual_seed(0))
    net = model.backbone.eval()
    t = interleaved({"embed": lambda: model.embed(x), "bare": _bare(net, [x])})
    diff = float((model.embed(x) - _bare(net, [x])()[0]).abs().max())
    return {"name": "frozen_embed_vs_bare_inference", "ratio": round(t["bare"] / t["embed"], 3),
            "target": 0.9, "unit": "x bare inference throughput",
            "checks": {"same_features": diff < 1e-4},
            "raw": {"batch": [n, 3, size, size], "embed_s": round(t["embed"], 4),
                    "bare_s": round(t["bare"], 4), "embed_img_per_s": round(n / t["embed"], 1),
                    "bare_img_per_s": round(n / t["bare"], 1), "max_abs_diff": diff,
                    "threads": torch.get_num_threads(), "device": "cpu"}}


def dihedral_features_vs_bare_inference(n: int = 128, size: int = 64) -> dict:
    """``dihedral_features`` (8 views) vs the bare ResNet18 on the 8 views made beforehand."""
    from radiolib.evaluate import dihedral_features
    from radiolib.evaluate.classify import _views

    model = _model(size)
    x = torch.rand(n, 3, size, size, generator=torch.Generator().manual_seed(0))
    net = model.backbone.eval()
    views = [_views(x, k).contiguous() for k in range(8)]
    t = interleaved({"dihedral": lambda: dihedral_features(model, x),
                      "bare": _bare(net, views)}, rounds=3)
    got = torch.from_numpy(dihedral_features(model, x))
    diff = float((got - torch.stack(_bare(net, views)())).abs().max())
    return {"name": "dihedral_features_vs_bare_inference",
            "ratio": round(t["bare"] / t["dihedral"], 3), "target": 0.9,
            "unit": "x bare inference throughput", "checks": {"same_features": diff < 1e-4},
            "raw": {"batch": [n, 3, size, size], "views": 8,
                    "dihedral_s": round(t["dihedral"], 4), "bare_s": round(t["bare"], 4),
                    "dihedral_views_per_s": round(8 * n / t["dihedral"], 1),
                    "bare_views_per_s": round(8 * n / t["bare"], 1), "max_abs_diff": diff,
                    "threads": torch.get_num_threads(), "device": "cpu"}}


BENCHMARKS = {"frozen_embed_vs_bare_inference": frozen_embed_vs_bare_inference,
              "dihedral_features_vs_bare_inference": dihedral_features_vs_bare_inference}
