"""Fine-tuning the last N *layers* of a backbone as Lastufka et al. [0] count them (Table 5).

The paper (Appendix C.1) trains a head embedding -> 512 -> classes on MiraBest with the last
0 to 9 layers of its ResNets unfrozen, on a 96-pixel centre crop, and follows the fine-tuning of
Slijepcevic et al. [1]. The paper does not define a layer; we take [1]'s: the code behind [1]
(github.com/inigoval/architectures, ``ResNet.finetuning_layers``) lists the stem (first conv and
its BatchNorm) and then every residual block, and unfreezes the last N of that list. So
(:func:`paper_layers`):

* ResNet18 (and the narrow ``resnet18_w32``): stem + 8 BasicBlocks = 9 layers; N = 9 is the
  whole backbone, N = 2 is ``layer4``.
* ResNet50: stem + 16 Bottlenecks = 17 layers; N = 3 is ``layer4``, N = 9 is ``layer4`` and
  ``layer3`` (6 blocks); the stem and ``layer1``/``layer2`` stay frozen for every N of Table 5.
* ViT: the patch embedding (with the class token and position embeddings), then each encoder
  block, the final LayerNorm going with the last block (:func:`backbone_blocks`); ViT-S/8 has
  13 layers.

Frozen layers stay in evaluation mode (their BatchNorm statistics do not move). Training
follows [1]'s fine-tuning: AdamW (weight decay 0.05), the head at ``lr`` and the i-th trained
layer counted from the output at ``lr * layer_decay**i`` (0.75 in [1]), cosine decay over the
epochs, random flips and quarter turns. The error bars are the paper's: the std of the test
scores over the last ``last_epochs`` epochs (10, Appendix C.1).

- [0] Lastufka et al. 2024, A&A 690, A310, arXiv:2408.06147
- [1] Slijepcevic et al. 2024, RAS Techniques and Instruments 3, 19
"""

from __future__ import annotations

import copy
from collections.abc import Callable

import numpy as np
import pandas as pd
import torch
from sklearn.metrics import f1_score
from torch import nn

from radiolib.augment.geometry import rot90
from radiolib.evaluate.finetune import backbone_blocks
from radiolib.models.backbones import ViTBackbone
from radiolib.models.extractor import FeatureExtractor

__all__ = ["PaperHead", "center_crop", "finetune_layers", "paper_layers", "trainable_layers"]


def paper_layers(model: FeatureExtractor) -> list[nn.Module]:
    """Return the backbone's layers as the paper counts them, input to output (module doc)."""
    net = model.backbone
    if isinstance(net, ViTBackbone):
        return backbone_blocks(model)
    if all(hasattr(net, name) for name in ("conv1", "bn1", "layer1", "layer4")):
        blocks = [b for stage in (net.layer1, net.layer2, net.layer3, net.layer4) for b in stage]
        return [nn.ModuleList([net.conv1, net.bn1]), *blocks]
    raise TypeError(f"cannot list the layers of a {type(net).__name__} (ResNet or ViT only)")


def trainable_layers(model: FeatureExtractor, n: int) -> list[str]:
    """Freeze ``model`` but its last ``n`` :func:`paper_layers`; return the trainable names.

    ``n`` above the number of layers trains the whole backbone. Parameter names are those of
    ``model.named_parameters()``, in order.
    """
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    layers = paper_layers(model)
    chosen = {id(p) for layer in layers[max(0, len(layers) - n):] for p in layer.parameters()}
    names = []
    for name, p in model.named_parameters():
        p.requires_grad_(id(p) in chosen)
        if id(p) in chosen:
            names.append(name)
    return names


def _set_modes(model: FeatureExtractor, n: int) -> None:
    """Train mode for the last ``n`` layers, evaluation mode for the frozen ones."""
    layers = paper_layers(model)
    model.train()
    for layer in layers[:max(0, len(layers) - n)]:
        layer.eval()
    if n == 0:
        model.eval()


class PaperHead(nn.Sequential):
    """The paper's fine-tuning head: embedding -> ``hidden`` (ReLU) -> classes (App. C.1)."""

    def __init__(self, embed_dim: int, n_classes: int, hidden: int = 512) -> None:
        super().__init__(nn.Linear(embed_dim, hidden), nn.ReLU(), nn.Linear(hidden, n_classes))


def center_crop(images, size: int) -> torch.Tensor:
    """Return the central ``size`` x ``size`` pixels of images (N, H, W) or (N, C, H, W)."""
    x = torch.as_tensor(np.asarray(images) if not isinstance(images, torch.Tensor) else images)
    if x.ndim == 3:
        x = x[:, None]
    h, w = x.shape[-2:]
    if size > min(h, w) or size < 1:
        raise ValueError(f"crop {size} does not fit images of {h}x{w}")
    top, left = (h - size) // 2, (w - size) // 2
    return x[..., top:top + size, left:left + size].float()


def _augment(x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    flip = torch.rand(len(x), generator=gen) < 0.5
    turns = torch.randint(0, 4, (len(x),), generator=gen)
    return rot90(torch.where(flip.view(-1, 1, 1, 1), x.flip(-1), x), turns)


def _scores(y_true: np.ndarray, pred: np.ndarray, n_classes: int) -> dict[str, float]:
    acc = float(np.mean(pred == y_true))
    f1 = f1_score(y_true, pred, average="binary" if n_classes == 2 else "macro",
                  zero_division=0)
    return {"error": 1 - acc, "f1": float(f1)}


def finetune_layers(model: FeatureExtractor, train_x: torch.Tensor, train_y,
                    test_x: torch.Tensor, test_y, *, n_layers: int, epochs: int = 30,
                    lr: float = 1e-3, layer_decay: float = 0.75, weight_decay: float = 0.05,
                    batch_size: int = 32, last_epochs: int = 10, hidden: int = 512,
                    augment: bool = True, seed: int = 0,
                    device: str | torch.device | None = None,
                    progress: Callable[[int], object] | None = None) -> dict:
    """Train :class:`PaperHead` and the last ``n_layers`` layers of a copy of ``model``.

    Parameters
    ----------
    model : FeatureExtractor
        Pre-trained backbone; it is copied, never changed.
    train_x, test_x : Tensor, shape (N, C, H, W)
        Images as the backbone takes them (centre-cropped by the caller, :func:`center_crop`).
    train_y, test_y : array of int, shape (N,)
        Class labels 0 ... K - 1.
    n_layers : int
        Trailing :func:`paper_layers` to train (0: the head alone).
    last_epochs : int
        Epochs at the end whose test scores give the mean and std.
    progress : callable, optional
        Called with 1 after each epoch (e.g. a tqdm bar's ``update``).

    Returns
    -------
    dict
        ``error``, ``f1`` (means over the last epochs; F1 of class 1 for two classes, else
        macro), ``error_std``, ``f1_std``, ``n_trainable`` (backbone weights trained) and
        ``history`` (a DataFrame: epoch, loss, test error, test F1).
    """
    if epochs < 1 or not 1 <= last_epochs or batch_size < 2 or len(train_x) < 2:
        raise ValueError(f"need epochs >= 1, last_epochs >= 1, batch_size >= 2 and two "
                         f"training images, got {epochs}, {last_epochs}, {batch_size}, "
                         f"{len(train_x)}")
    train_y = torch.as_tensor(np.asarray(train_y), dtype=torch.long)
    test_y = np.asarray(test_y)
    n_classes = int(max(train_y.max(), test_y.max())) + 1
    device = torch.device(device) if device is not None else model.device
    net = copy.deepcopy(model).to(device)
    names = trainable_layers(net, n_layers)
    layers = paper_layers(net)
    gen = torch.Generator().manual_seed(seed)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        head = PaperHead(net.embed_dim, n_classes, hidden).to(device)
    groups = [{"params": list(head.parameters()), "lr": lr}]
    trained = layers[max(0, len(layers) - n_layers):][::-1]  # output first
    for i, layer in enumerate(trained):
        groups.append({"params": list(layer.parameters()), "lr": lr * layer_decay ** i})
    opt = torch.optim.AdamW(groups, weight_decay=weight_decay)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, epochs)
    loss_fn = nn.CrossEntropyLoss()
    history = []
    for epoch in range(epochs):
        _set_modes(net, n_layers)
        head.train()
        order = torch.randperm(len(train_x), generator=gen)
        total = 0.0
        for start in range(0, len(order), batch_size):
            idx = order[start:start + batch_size]
            if len(idx) < 2:  # BatchNorm in training mode needs two images
                continue
            x = _augment(train_x[idx], gen) if augment else train_x[idx]
            with torch.set_grad_enabled(bool(names)):
                features = net(x.to(device))
            loss = loss_fn(head(features), train_y[idx].to(device))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            total += float(loss.detach()) * len(idx)
        sched.step()
        row = {"epoch": epoch + 1, "loss": total / len(order)}
        if epoch >= epochs - last_epochs:
            net.eval()
            head.eval()
            with torch.no_grad():
                pred = torch.cat([head(net(b.to(device))).argmax(1).cpu()
                                  for b in test_x.split(256)]).numpy()
            row |= _scores(test_y, pred, n_classes)
        history.append(row)
        if progress is not None:
            progress(1)
    table = pd.DataFrame(history)
    last = table.dropna(subset=["error"])
    return {"error": float(last["error"].mean()), "error_std": float(last["error"].std(ddof=0)),
            "f1": float(last["f1"].mean()), "f1_std": float(last["f1"].std(ddof=0)),
            "n_trainable": sum(p.numel() for p in net.parameters() if p.requires_grad),
            "history": table}
