"""Loading the published DINO checkpoints of Lastufka et al. [0] (Zenodo 12771941) into our models.

Their checkpoints come from the DINO code [1]: a dict with ``student`` and ``teacher`` state
dicts (plus optimiser, epoch, ``args``, ``dino_loss``), whose keys carry a ``module.`` prefix
(DistributedDataParallel) and ``backbone.`` / ``head.`` prefixes (DINO's MultiCropWrapper). ViT
weights use DINO's ``vision_transformer.py`` names, which :data:`VIT_KEY_RULES` maps explicitly
onto torchvision's; ResNet weights already use torchvision's names.

Loading is strict: the file must exist (else :class:`~radiolib.errors.DataError` saying how to
get it; there is never a fallback to other weights), match its sha256 when one is given or
recorded in the ``lastufka_dino_weights`` manifest, unpickle with ``weights_only=True``, and
every key must map onto our module with the right shape; otherwise the error lists the missing,
unexpected and mis-shaped keys.

- [0] Lastufka et al. 2024, A&A 690, A310, arXiv:2408.06147; weights doi:10.5281/zenodo.12771941
- [1] Caron et al. 2021, DINO, https://github.com/facebookresearch/dino
"""

from __future__ import annotations

import argparse
import os
import re
from pathlib import Path

import torch

from radiolib.data.fetch import dataset_dir
from radiolib.data.manifest import get_manifest
from radiolib.errors import ConfigError, DataError
from radiolib.files import sha256_file
from radiolib.models.backbones import backbone, backbone_spec, select_device
from radiolib.models.extractor import FeatureExtractor
from radiolib.models.heads import DINOHead

__all__ = ["DATASET", "VIT_KEY_RULES", "load_dino_checkpoint", "load_dino_head",
           "map_dino_head_keys", "map_dino_keys", "read_dino_state_dict"]

DATASET = "lastufka_dino_weights"
_WHERE = ("get it with `radiolib fetch lastufka_dino_weights` (the files are downloaded by hand "
          "from https://doi.org/10.5281/zenodo.12771941 into {folder})")

#: DINO ``vision_transformer.py`` name -> torchvision ``VisionTransformer`` name.
VIT_KEY_RULES: tuple[tuple[str, str], ...] = (
    (r"cls_token", "class_token"),
    (r"pos_embed", "encoder.pos_embedding"),
    (r"patch_embed\.proj\.(weight|bias)", r"conv_proj.\1"),
    (r"blocks\.(\d+)\.norm1\.(weight|bias)", r"encoder.layers.encoder_layer_\1.ln_1.\2"),
    (r"blocks\.(\d+)\.attn\.qkv\.(weight|bias)",
     r"encoder.layers.encoder_layer_\1.self_attention.in_proj_\2"),
    (r"blocks\.(\d+)\.attn\.proj\.(weight|bias)",
     r"encoder.layers.encoder_layer_\1.self_attention.out_proj.\2"),
    (r"blocks\.(\d+)\.norm2\.(weight|bias)", r"encoder.layers.encoder_layer_\1.ln_2.\2"),
    (r"blocks\.(\d+)\.mlp\.fc1\.(weight|bias)", r"encoder.layers.encoder_layer_\1.mlp.0.\2"),
    (r"blocks\.(\d+)\.mlp\.fc2\.(weight|bias)", r"encoder.layers.encoder_layer_\1.mlp.3.\2"),
    (r"norm\.(weight|bias)", r"encoder.ln.\1"),
)
_HEAD_RULES = ((r"last_layer\.weight_g", "last_layer.parametrizations.weight.original0"),
               (r"last_layer\.weight_v", "last_layer.parametrizations.weight.original1"))


def _resolve(path: str | os.PathLike[str]) -> tuple[Path, str | None]:
    """Return the file to read (bare names: in the dataset folder) and its manifest sha256."""
    path = Path(path).expanduser()
    try:
        folder, manifest = dataset_dir(DATASET), get_manifest(DATASET)
    except ConfigError:
        folder, manifest = None, None
    if not path.exists() and folder is not None and path.parent == Path("."):
        path = folder / path.name
    if not path.is_file():
        raise DataError(f"checkpoint {path} not found: "
                        + _WHERE.format(folder=folder or "<data dir>/" + DATASET))
    recorded = next((f.sha256 for f in manifest.files if f.path == path.name), None) \
        if manifest is not None else None
    return path, recorded


def read_dino_state_dict(path: str | os.PathLike[str], which: str = "teacher",
                         sha256: str | None = None) -> dict[str, torch.Tensor]:
    """Read one network's state dict from a DINO checkpoint, safely and verified.

    Parameters
    ----------
    path : path-like
        A full DINO checkpoint (``student`` and ``teacher`` inside) or a network saved alone
        (the ``*_teacher.pth`` files: accepted for ``which="teacher"`` only). A bare file name
        is looked up in the ``lastufka_dino_weights`` data folder.
    which : {"teacher", "student"}
        Network to read; DINO evaluates the teacher.
    sha256 : str, optional
        Expected hex digest; default: the manifest's, when it records one.

    Returns
    -------
    dict of str to Tensor
        The raw state dict, keys as saved (prefixes included).
    """
    if which not in ("teacher", "student"):
        raise ValueError(f"which must be 'teacher' or 'student', got {which!r}")
    path, recorded = _resolve(path)
    expected = sha256 or recorded
    if expected is not None:
        actual = sha256_file(path)
        if actual.lower() != expected.lower():
            raise DataError(f"checkpoint {path} fails its checksum: sha256 {actual}, expected "
                            f"{expected}; delete it and download it again")
    try:
        with torch.serialization.safe_globals([argparse.Namespace]):  # DINO saves its args
            ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # unpickling errors have many types
        raise DataError(f"cannot read checkpoint {path} with torch.load(weights_only=True): "
                        f"{exc}") from None
    if not isinstance(ckpt, dict):
        raise DataError(f"checkpoint {path} holds a {type(ckpt).__name__}, not a state dict")
    if which in ckpt and isinstance(ckpt[which], dict):
        return dict(ckpt[which])
    if ckpt and all(isinstance(v, torch.Tensor) for v in ckpt.values()):
        if which == "teacher":
            return dict(ckpt)
        raise DataError(f"checkpoint {path} holds a single network, not the student; "
                        f"pass which='teacher' if it is the teacher")
    raise DataError(f"checkpoint {path} has no {which!r} state dict (keys: "
                    f"{', '.join(map(str, list(ckpt)[:8]))})")


def _apply_rules(key: str, rules) -> str | None:
    for pattern, target in rules:
        if re.fullmatch(pattern, key):
            return re.sub(f"^{pattern}$", target, key)
    return None


def map_dino_head_keys(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """DINO head keys (``mlp.*``, ``last_layer.weight_g/_v``) to :class:`DINOHead` names."""
    return {_apply_rules(k, _HEAD_RULES) or k: v for k, v in state.items()}


def map_dino_keys(state: dict[str, torch.Tensor], arch: str
                  ) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor], list[str]]:
    """Split a DINO state dict into our backbone and head state dicts, renaming explicitly.

    Parameters
    ----------
    state : dict
        As :func:`read_dino_state_dict` returns it.
    arch : str
        Our backbone name (``"resnet50"``, ``"vit_s8"``, ...).

    Returns
    -------
    backbone_state, head_state : dict
        Keys in our modules' names.
    unmapped : list of str
        Keys that no rule maps (reported as unexpected by the loaders).
    """
    wrapped = any(k.removeprefix("module.").startswith(("backbone.", "head.")) for k in state)
    body, head, unmapped = {}, {}, []
    vit = backbone_spec(arch).family == "vit"
    for key, value in state.items():
        k = key.removeprefix("module.")
        if k.startswith("head."):
            head[k.removeprefix("head.")] = value
            continue
        if k.startswith("backbone."):
            k = k.removeprefix("backbone.")
        elif wrapped:
            unmapped.append(key)
            continue
        if vit:
            target = _apply_rules(k, VIT_KEY_RULES)
            if target is None:
                unmapped.append(key)
                continue
            k = target
        body[k] = value
    return body, map_dino_head_keys(head), unmapped


def _strict_load(module: torch.nn.Module, state: dict, unmapped: list[str], what: str) -> None:
    own = module.state_dict()
    missing = sorted(set(own) - set(state))
    unexpected = sorted(set(state) - set(own)) + sorted(unmapped)
    shapes = sorted(f"{k} {tuple(state[k].shape)} != {tuple(own[k].shape)}"
                    for k in set(own) & set(state) if state[k].shape != own[k].shape)
    if missing or unexpected or shapes:
        def show(keys):
            return ", ".join(keys[:8]) + (f", ... ({len(keys)} in all)" if len(keys) > 8 else "")
        parts = [f"{name}: {show(keys)}" for name, keys in (
            ("missing", missing), ("unexpected", unexpected), ("wrong shape", shapes)) if keys]
        raise DataError(f"{what} does not match the model; " + "; ".join(parts))
    module.load_state_dict(state, strict=True)


def load_dino_checkpoint(path: str | os.PathLike[str], arch: str, which: str = "teacher",
                         sha256: str | None = None, *, in_chans: int | None = None,
                         device: str | torch.device | None = None) -> FeatureExtractor:
    """Load a Lastufka et al. DINO backbone as a :class:`FeatureExtractor` (eval mode).

    Parameters
    ----------
    path : path-like
        Checkpoint file (see :func:`read_dino_state_dict`).
    arch : {"resnet50", "vit_s8", "vit_b16", "resnet18"}
        Architecture the weights belong to.
    which : {"teacher", "student"}
    sha256 : str, optional
        Expected digest (default: the manifest's, when recorded).
    in_chans : int, optional
        Input channels; default: those of the checkpoint (1 in Lastufka et al.).
    device : str or torch.device, optional
        Default: CUDA when present.

    Returns
    -------
    FeatureExtractor
        Embeddings of size 2048 / 384 / 768 / 512.
    """
    state = read_dino_state_dict(path, which, sha256)
    body, _, unmapped = map_dino_keys(state, arch)
    stem = body.get("conv_proj.weight", body.get("conv1.weight"))
    if in_chans is None:
        in_chans = int(stem.shape[1]) if stem is not None and stem.ndim == 4 else 3
    image_size, patch = 224, backbone_spec(arch).patch_size
    if patch is not None and "encoder.pos_embedding" in body:
        image_size = int(round((body["encoder.pos_embedding"].shape[1] - 1) ** 0.5)) * patch
    module, dim = backbone(arch, in_chans, image_size=image_size)
    _strict_load(module, body, unmapped, f"the {which} backbone of {path} for {arch!r}")
    model = FeatureExtractor(module, dim, name=arch, in_chans=in_chans, image_size=image_size)
    return model.to(select_device(device)).eval()


def load_dino_head(path: str | os.PathLike[str], which: str = "teacher",
                   sha256: str | None = None, *, norm_last_layer: bool = True) -> DINOHead:
    """Load the DINO head of a checkpoint, its sizes read from the weights (CPU)."""
    state = read_dino_state_dict(path, which, sha256)
    _, head_state, _ = map_dino_keys(state, "resnet50")
    linear = sorted((k for k, v in head_state.items() if k.startswith("mlp") and
                     k.endswith("weight") and v.ndim == 2), key=lambda k: int(k.split(".")[1])
                    if k.count(".") == 2 else 0)
    last = head_state.get("last_layer.parametrizations.weight.original1")
    if not linear or last is None:
        raise DataError(f"no DINO head in the {which} state of {path}")
    first, final = head_state[linear[0]], head_state[linear[-1]]
    head = DINOHead(int(first.shape[1]), int(first.shape[0]), int(final.shape[0]),
                    int(last.shape[0]), len(linear), norm_last_layer=norm_last_layer,
                    use_bn=any("running_mean" in k for k in head_state))
    _strict_load(head, head_state, [], f"the {which} head of {path}")
    return head
