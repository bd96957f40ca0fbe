"""Where each training setting comes from, the paper-vs-code differences, and the book's tables.

:data:`SOURCES` tags every config key with its group and provenance -- ``paper`` (given by
Riggi et al. [0] or Lastufka et al. [1] as transcribed in issue 5), ``code`` (the authors'
released code: its default, the paper's value not being in our sources), ``unknown`` (neither:
the value is our placeholder and says so) or ``run`` (how we run it, not science).
:func:`config_table` renders a loaded config -- the file actually used -- as the book's Riggi
Tables 2-3 and Lastufka Table 2; :data:`CODE_DIFFERENCES` lists what the released code does
differently from the paper, the switch that reproduces it and what it changes.

- [0] Riggi et al. 2024, PASA, arXiv:2404.18462
- [1] Lastufka et al. 2024, A&A 690, A310, arXiv:2408.06147 (code: github.com/elastufka/mgcls_dino)
"""

from __future__ import annotations

import pandas as pd

__all__ = ["CODE_DIFFERENCES", "SOURCES", "config_table", "differences_table"]

_RUN = ("run", "run", "how we run it (not a paper setting)")
_GROUPS = ("model", "data", "augmentation", "loss", "optimisation", "run", "other")
_COMMON = {k: _RUN for k in ("name", "seed", "num_workers", "log_every", "eval_every",
                             "checkpoint_every", "amp")}
_SIMCLR = {
    "backbone": ("model", "paper", "ResNet18"), "in_chans": ("model", "paper", "riggi3 stack"),
    "proj_hidden_dim": ("model", "paper", "2-layer projector"),
    "proj_out_dim": ("model", "paper", "2-layer projector"),
    "image_size": ("data", "paper", "riggi3 resized to 224; released code: 64 by default"),
    "scaling": ("data", "paper", "sigma clip 5/30, zscale 0.25, zscale 0.4"),
    "temperature": ("loss", "code", "released code's default; Table 3 value not transcribed"),
    "code_behaviour": ("loss", "code", "true: temperature fixed at 0.1 as the released code"),
    "optimizer": ("optimisation", "paper", "Adam"),
    "lr": ("optimisation", "unknown", "Table 3 value not transcribed; 1e-3 is Adam's default"),
    "min_lr": ("optimisation", "code", "end of the cosine, fixed in the released code"),
    "weight_decay": ("optimisation", "code", "none in the released code by default"),
    "warmup_epochs": ("optimisation", "code", "linear warm-up then cosine (paper); length: "
                      "released code's default"),
    "clip_grad": ("optimisation", "code", "0 = no clipping, as the released code"),
    "epochs": ("optimisation", "code", "released code's default; Table 3 value not transcribed"),
    "batch_size": ("optimisation", "code", "released code's default; Table 3 value not "
                   "transcribed; per process"),
    "crop_scale": ("augmentation", "paper", "random resized crop"),
    **{k: ("augmentation", "unknown", "the released code flips h or v or not, 1/3 each")
       for k in ("p_hflip", "p_vflip")},
    "p_rot90": ("augmentation", "code", "released code: rotation with p 0.5"),
    **{k: ("augmentation", "paper", "colour jitter, x jitter_strength")
       for k in ("brightness", "contrast", "saturation", "hue", "jitter_strength", "p_jitter")},
    "blur_sigma": ("augmentation", "paper", "Gaussian blur"),
    "p_blur": ("augmentation", "paper", "Gaussian blur"),
    "thresholding": ("augmentation", "paper", "RandomThresholding; off for banner data"),
    "threshold_percentile": ("augmentation", "paper", "RandomThresholding"),
    "p_threshold": ("augmentation", "paper", "RandomThresholding"),
    **_COMMON,
}
_CODE_DEFAULT = "released code's default (main_meerkat.py); Table 2 value not transcribed"
_DINO = {
    "backbone": ("model", "paper", "ResNet50 or ViT-S/8"),
    "in_chans": ("model", "paper", "single-channel crops"),
    **{k: ("model", "code", "DINO head of the released code")
       for k in ("out_dim", "hidden_dim", "bottleneck_dim", "head_layers")},
    "norm_last_layer": ("model", "code", _CODE_DEFAULT),
    "use_bn_in_head": ("model", "code", _CODE_DEFAULT),
    "image_size": ("data", "paper", "256 x 256 MGCLS crops"),
    "field_limits": ("data", "code", "per-field scaling with the field's 2nd/98th percentiles "
                     "(released code)"),
    **{k: ("loss", "code", "released code") for k in ("teacher_temp", "student_temp",
                                                      "center_momentum", "momentum_teacher")},
    "warmup_teacher_temp": ("loss", "code", _CODE_DEFAULT),
    "warmup_teacher_temp_epochs": ("loss", "code", _CODE_DEFAULT),
    "code_behaviour": ("augmentation", "code", "true: augmentations as the released code"),
    **{k: ("optimisation", "code", _CODE_DEFAULT)
       for k in ("lr", "min_lr", "weight_decay", "weight_decay_end", "warmup_epochs",
                 "clip_grad", "freeze_last_layer", "epochs", "batch_size")},
    **{k: ("augmentation", "paper", "multi-crop") for k in ("n_local", "global_size",
                                                            "local_size", "global_scale")},
    "local_scale": ("augmentation", "paper", "0.05-0.14 ResNet, 0.05-0.4 ViT"),
    **{k: ("augmentation", "paper", "ablation switch") for k in ("rotation", "autocontrast",
                                                                 "power_law")},
    "rotation_degrees": ("augmentation", "code", "released code: rotate = 30"),
    "amp": ("optimisation", "code", "use_fp16 of the released code (CUDA only)"),
    "p_rotation": ("augmentation", "code", "released code: RandomApply(rotation, p=0.5)"),
    "p_autocontrast": ("augmentation", "code", "released code: RandomAutocontrast(p=0.5), local "
                       "crops"),
    "p_power_law": ("augmentation", "code", "released code: RandomApply(power law, p=0.5), local "
                    "crops"),
    "power_range": ("augmentation", "unknown", "not in our sources (the code's power is 1)"),
    **{k: v for k, v in _COMMON.items() if k != "amp"},
}
#: method -> key -> (group, source, note).
SOURCES: dict[str, dict[str, tuple[str, str, str]]] = {"dino": _DINO, "simclr": _SIMCLR}

#: What the released code does differently from the paper, and the switch reproducing it.
CODE_DIFFERENCES: list[dict[str, str]] = [
    {"method": "simclr", "topic": "NT-Xent temperature",
     "paper": "Table 3 value, set by a command-line flag",
     "code": "0.1 whatever the flag says (its default is 0.1 too)",
     "switch": "code_behaviour: true",
     "changes": "sharper softmax over negatives than a larger temperature"},
    {"method": "simclr", "topic": "input size", "paper": "riggi3 stack resized to 224 x 224",
     "code": "resized to 64 x 64 by default", "switch": "image_size: 64",
     "changes": "12x fewer pixels: faster, coarser morphology; our CPU profiles use 64"},
    {"method": "simclr", "topic": "flips",
     "paper": "horizontal and vertical flips (Table 2)",
     "code": "one of {horizontal, vertical, none}, 1/3 each", "switch": "code_behaviour: true",
     "changes": "the paper setting flips h and v independently (p_hflip, p_vflip): a quarter "
     "of the views get both (a 180 degree turn, also reachable by the rotation)"},
    {"method": "simclr", "topic": "random crop",
     "paper": "random resized crop, scale 0.8-1", "code": "square crop whose side is 0.8-1 of "
     "the image side (area 0.64-1), resized back", "switch": "code_behaviour: true",
     "changes": "smaller crops on average (more zoom) and no aspect-ratio change; the paper "
     "setting samples the area fraction 0.8-1 and the aspect ratio, as torchvision"},
    {"method": "simclr", "topic": "3-channel input",
     "paper": "sigma clip 5/30, zscale 0.25, zscale 0.4, min-max per channel",
     "code": "its only 3-channel stack: sigma clip 0/20 + zscale 0.25, sigma clip 1/20 + zscale "
     "0.25, histogram equalisation", "switch": "none",
     "changes": "radiolib builds the paper's stack (scaling riggi3)"},
    {"method": "simclr", "topic": "colour jitter",
     "paper": "brightness, contrast, saturation 0.8, hue 0.2, strength 0.5",
     "code": "additive brightness on a min-max-normalised image, hue fixed in the code",
     "switch": "none", "changes": "radiolib uses torchvision's multiplicative factors, as "
     "SimCLR's colour distortion"},
    {"method": "simclr", "topic": "command-line defaults",
     "paper": "ResNet18, projector 256-128, Adam, Table 2 augmentations",
     "code": "a small custom CNN, one Dense(16) layer, RMSprop, another augmenter (simclr6) "
     "unless flags say otherwise; the flags of the paper's runs are not published",
     "switch": "none", "changes": "nothing: radiolib follows the paper where it is explicit"},
    {"method": "dino", "topic": "power-law scaling", "paper": "random power-law intensity scaling",
     "code": "a linear rescale to [-1, 1] (power 1), on local crops only",
     "switch": "code_behaviour: true", "changes": "no non-linear stretch; local crops span "
     "[-1, 1] while global crops stay in [0, 1]"},
    {"method": "dino", "topic": "flips", "paper": "random flips (DINO's augmentations)",
     "code": "no flips", "switch": "code_behaviour: true",
     "changes": "no mirror invariance is taught"},
    {"method": "dino", "topic": "blur, autocontrast, rescale",
     "paper": "applied to each crop", "code": "applied to the full image before cropping",
     "switch": "code_behaviour: true",
     "changes": "limits from the whole image; blur width scales with the crop's zoom"},
    {"method": "dino", "topic": "head, temperatures, EMA", "paper": "not stated in our sources",
     "code": "3 layers, hidden 2048, bottleneck 256, out 65536; teacher/student temperature "
     "0.04/0.1; centre momentum 0.9; teacher EMA 0.996 -> 1 on a cosine",
     "switch": "default (out_dim, hidden_dim, bottleneck_dim, head_layers, ...)",
     "changes": "nothing: our defaults are the code's"},
    {"method": "dino", "topic": "count-probe evaluation",
     "paper": "PCA to 100 components, then one linear layer (MSE)",
     "code": "PCA 30 by default, targets beyond 3 sigma masked, SGD-trained linear layer",
     "switch": "n_components (notebook parameter)",
     "changes": "radiolib fits the layer in closed form as a ridge regression on standardised "
     "PCA-100 features, the penalty chosen by leave-one-out error (weight decay's role)"},
    {"method": "dino", "topic": "ViT stochastic depth", "paper": "not stated in our sources",
     "code": "drop_path_rate 0.1 in the student", "switch": "none (torchvision's ViT has none)",
     "changes": "radiolib trains ViT students without stochastic depth"},
    {"method": "dino", "topic": "teacher batch norm across GPUs", "paper": "not stated",
     "code": "SyncBatchNorm in student and teacher",
     "switch": "none", "changes": "radiolib: SyncBatchNorm in the student on CUDA; the "
     "teacher's statistics are averaged over ranks after each step"},
]


def config_table(config, groups: tuple[str, ...] | None = None) -> pd.DataFrame:
    """Tabulate the settings of a loaded config: group, key, value, source, note.

    Parameters
    ----------
    config : SimCLRConfig or DINOConfig
        As read from the YAML file actually used (:func:`radiolib.ssl.load_config`).
    groups : tuple of str, optional
        Keep only these groups: ``model``, ``data``, ``augmentation``, ``loss``,
        ``optimisation``, ``run`` (Riggi Table 2 is ``("augmentation",)``, Table 3
        ``("model", "loss", "optimisation")``).
    """
    sources = SOURCES[config.method]
    rows = []
    for key, value in config.to_dict().items():
        if key == "method":
            continue
        group, source, note = sources.get(key, ("other", "unknown", ""))
        if isinstance(value, list):
            value = " - ".join(f"{v:g}" for v in value)
        rows.append({"group": group, "key": key, "value": value, "source": source,
                     "note": note})
    rows.sort(key=lambda r: _GROUPS.index(r["group"]))  # stable: file order within a group
    table = pd.DataFrame(rows, columns=["group", "key", "value", "source", "note"])
    if groups is not None:
        table = table[table["group"].isin(groups)].reset_index(drop=True)
    return table


def differences_table(method: str | None = None) -> pd.DataFrame:
    """:data:`CODE_DIFFERENCES` as a table, optionally for one method (``simclr``/``dino``)."""
    rows = [r for r in CODE_DIFFERENCES if method is None or r["method"] == method]
    return pd.DataFrame(rows, columns=["method", "topic", "paper", "code", "switch", "changes"])
