"""Fine-tuning the last blocks of a pre-trained backbone with a linear classifier.

Lastufka et al. [0] fine-tune all layers of their backbones on the four classes of the
RadioGalaxyDataset (Sect. 4.3) and, on MiraBest, unfreeze the last 0 to 9 layers of their ResNets
under a two-layer head, embedding -> 512 -> classes (Appendix C.1, Table 5). Here the head is a
single linear layer, so N = 0 is a linear probe on frozen features. The backbone is split into
its blocks, input to output (:func:`backbone_blocks`: a ResNet's stem and four stages, a ViT's
patch embedding, encoder layers and final norm); the last ``n_blocks`` are trained, the others
stay frozen in evaluation mode (their BatchNorm statistics do not move).
The head is a linear layer on features standardised by a parameter-free BatchNorm (whose
statistics are recomputed on the training images once training ends). Training is
seeded (head initialisation, batch order, augmentation), with random flips and quarter turns as
the only augmentation: radio galaxies have no preferred orientation.

- [0] Lastufka et al. 2024, A&A 690, A310, arXiv:2408.06147
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from torch import nn

from radiolib.augment.geometry import rot90
from radiolib.evaluate.probes import _scores
from radiolib.models.backbones import ViTBackbone
from radiolib.models.extractor import FeatureExtractor

__all__ = ["FineTuned", "backbone_blocks", "finetune_classifier"]


def backbone_blocks(model: FeatureExtractor) -> list[nn.Module]:
    """Return the backbone's blocks from input to output, the units fine-tuning unfreezes.

    ResNet: stem (conv1, bn1), layer1 ... layer4. ViT: patch embedding (with the class token
    and position embeddings), each encoder layer, then the final LayerNorm together with the
    last layer (they act as one block on the CLS token).
    """
    net = model.backbone
    if isinstance(net, ViTBackbone):
        layers = list(net.encoder.layers)
        return [_Params(net.conv_proj, net.class_token, net.encoder.pos_embedding),
                *layers[:-1], nn.ModuleList([layers[-1], net.encoder.ln])]
    if all(hasattr(net, name) for name in ("conv1", "bn1", "layer1", "layer4")):
        return [nn.ModuleList([net.conv1, net.bn1]), net.layer1, net.layer2, net.layer3,
                net.layer4]
    raise TypeError(f"cannot split a {type(net).__name__} into blocks (ResNet or ViT only)")


class _Params(nn.Module):
    """A block made of a module and loose parameters (the ViT's class token and positions)."""

    def __init__(self, module: nn.Module, *params: nn.Parameter) -> None:
        super().__init__()
        self.module = module
        self.loose = nn.ParameterList(params)  # the same Parameter objects, shared


@dataclass
class FineTuned:
    """A fine-tuning run: test scores, losses, the trained model and head, test predictions.

    ``predictions`` is the predicted class index of each test image (a confusion matrix's
    input).
    """

    scores: dict[str, float]
    history: pd.DataFrame
    model: FeatureExtractor
    head: nn.Module
    predictions: np.ndarray | None = None


def _augment(x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """Random horizontal flip and quarter turn per image (square images)."""
    flip = torch.rand(len(x), generator=gen) < 0.5
    turns = torch.randint(0, 4, (len(x),), generator=gen)
    return rot90(torch.where(flip.view(-1, 1, 1, 1).to(x.device), x.flip(-1), x), turns)


def _set_modes(model: nn.Module, frozen: list[nn.Module]) -> None:
    model.train()
    for block in frozen:
        block.eval()  # frozen BatchNorm keeps its running statistics


def repeat_channels(x: torch.Tensor, in_chans: int) -> torch.Tensor:
    """Repeat single-channel images (N, 1, H, W) to ``in_chans`` (3 or 5 for others' weights)."""
    return x.expand(-1, in_chans, -1, -1) if x.shape[1] == 1 < in_chans else x


def finetune_classifier(model: FeatureExtractor, train_x: torch.Tensor, train_y,
                        test_x: torch.Tensor, test_y, *, n_blocks: int, epochs: int = 5,
                        lr: float = 1e-4, head_lr: float = 1e-3, weight_decay: float = 1e-4,
                        batch_size: int = 32, augment: bool = True, seed: int = 0,
                        device: str | torch.device | None = None,
                        progress=None) -> FineTuned:
    """Train a linear head and the last ``n_blocks`` blocks of a copy of ``model``; score it.

    Parameters
    ----------
    model : FeatureExtractor
        Pre-trained backbone; it is copied, never changed.
    train_x, test_x : Tensor, shape (N, C, H, W)
        Images.
    train_y, test_y : array of int, shape (N,)
        Class labels 0 ... K - 1.
    n_blocks : int
        Trailing blocks of :func:`backbone_blocks` to train (0: the head alone; more than the
        backbone has: all of it).
    epochs, lr, head_lr, weight_decay, batch_size : training settings (AdamW, cross-entropy;
        ``lr`` for the backbone blocks, ``head_lr`` for the head).
    augment : bool
        Random flips and quarter turns of the training images.
    seed : int
        Seeds the head, the batch order and the augmentation.
    progress : tqdm-like, optional
        Updated once per epoch, with the epoch's mean loss as its postfix.

    Returns
    -------
    FineTuned
        Test ``scores`` (accuracy, balanced accuracy, AUC for two classes), ``history`` (mean
        training loss per epoch), the trained copy and its head.
    """
    if n_blocks < 0 or epochs < 1 or batch_size < 2 or len(train_x) < 2:
        raise ValueError(f"need n_blocks >= 0, epochs >= 1, batch_size >= 2 and two training "
                         f"images or more, got {n_blocks}, {epochs}, {batch_size}, "
                         f"{len(train_x)} images")
    train_x, test_x = (repeat_channels(x, model.in_chans) for x in (train_x, test_x))
    train_y = torch.as_tensor(np.asarray(train_y), dtype=torch.long)
    n_classes = int(train_y.max()) + 1
    device = torch.device(device) if device is not None else model.device
    net = copy.deepcopy(model).to(device)
    blocks = backbone_blocks(net)
    n_blocks = min(n_blocks, len(blocks))
    trained, frozen = blocks[len(blocks) - n_blocks:], blocks[:len(blocks) - n_blocks]
    for p in net.parameters():
        p.requires_grad_(False)
    params = [p for block in trained for p in block.parameters()]
    for p in params:
        p.requires_grad_(True)
    gen = torch.Generator().manual_seed(seed)
    with torch.random.fork_rng(devices=[]):  # seeds the head without touching the caller's
        torch.manual_seed(seed)
        # features standardised by a BatchNorm without parameters, then the linear layer (as
        # MAE's linear probing): the head's step size does not depend on the feature scale
        head = nn.Sequential(nn.BatchNorm1d(net.embed_dim, affine=False),
                             nn.Linear(net.embed_dim, n_classes)).to(device)
    groups = [{"params": head.parameters(), "lr": head_lr}]
    if params:
        groups.append({"params": params, "lr": lr})
    opt = torch.optim.AdamW(groups, weight_decay=weight_decay)
    loss_fn = nn.CrossEntropyLoss()
    history = []
    for epoch in range(epochs):
        _set_modes(net, frozen)
        head.train()
        order = torch.randperm(len(train_x), generator=gen)
        total, seen = 0.0, 0
        for start in range(0, len(order), batch_size):
            idx = order[start:start + batch_size]
            if len(idx) < 2:  # BatchNorm needs two samples: a last lone image waits a turn
                continue
            x = train_x[idx]
            if augment:
                x = _augment(x, gen)
            with torch.set_grad_enabled(bool(params)):
                features = net(x.to(device))
            loss = loss_fn(head(features), train_y[idx].to(device))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            total, seen = total + float(loss.detach()) * len(idx), seen + len(idx)
        history.append({"epoch": epoch + 1, "loss": total / seen})
        if progress is not None:
            progress.set_postfix(loss=f"{total / seen:.3f}", refresh=False)
            progress.update(1)
    net.eval()
    head.eval()
    with torch.no_grad():  # the standardisation: exact statistics of the final features
        features = torch.cat([net(b.to(device)) for b in train_x.split(256)])
        head[0].running_mean.copy_(features.mean(0))
        head[0].running_var.copy_(features.var(0))
        logits = torch.cat([head(net(b.to(device))).float().cpu()
                            for b in test_x.split(256)])
    proba = torch.softmax(logits, 1).numpy()
    scores = _scores(np.asarray(test_y), proba.argmax(1), proba, np.arange(n_classes), 0)
    return FineTuned(scores, pd.DataFrame(history), net, head, proba.argmax(1))
