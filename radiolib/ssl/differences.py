"""Where each training setting comes from, the paper-vs-code differences, and the book's tables.

Provenance is data in each config's YAML file (its ``provenance:`` block, read with the config:
``paper`` with the ``published.yaml`` row it equals, ``code`` for the authors' released code
where the paper is silent, ``unknown`` where neither says, ``run`` for how we run it).
:func:`config_table` renders a loaded config -- the file actually used -- as the book's Riggi
Tables 2-3 and Lastufka Table 2, and flags a run value that differs from the paper's.
:data:`CODE_DIFFERENCES` lists where the released code differs from the paper texts, the switch
that reproduces the code and what it changes.

- [0] Riggi et al. 2024, PASA, arXiv:2404.18462 (code: SKA-INAF/sclassifier)
- [1] Lastufka et al. 2024, A&A 690, A310, arXiv:2408.06147 (code: github.com/elastufka/mgcls_dino)
"""

from __future__ import annotations

import pandas as pd

from radiolib.published import published_rows

__all__ = ["CODE_DIFFERENCES", "GROUPS", "config_table", "differences_table", "paper_settings"]

_ORDER = ("model", "data", "augmentation", "loss", "optimisation", "run", "other")
#: The book's table each config key belongs to (layout only; provenance is in the YAML files).
GROUPS: dict[str, str] = {
    **{k: "model" for k in ("backbone", "in_chans", "proj_hidden_dim", "proj_out_dim",
                            "out_dim", "hidden_dim", "bottleneck_dim", "head_layers",
                            "norm_last_layer", "use_bn_in_head")},
    **{k: "data" for k in ("image_size", "scaling", "field_limits")},
    **{k: "loss" for k in ("temperature", "teacher_temp", "warmup_teacher_temp",
                           "warmup_teacher_temp_epochs", "student_temp", "center_momentum",
                           "momentum_teacher")},
    **{k: "optimisation" for k in ("optimizer", "lr", "min_lr", "weight_decay",
                                   "weight_decay_end", "warmup_epochs", "clip_grad",
                                   "freeze_last_layer", "epochs", "batch_size", "amp")},
    **{k: "augmentation" for k in (
        "crop_scale", "p_hflip", "p_vflip", "p_rot90", "brightness", "contrast", "saturation",
        "hue", "jitter_strength", "p_jitter", "blur_sigma", "p_blur", "thresholding",
        "threshold_percentile", "p_threshold", "code_behaviour", "n_local", "global_size",
        "local_size", "global_scale", "local_scale", "rotation", "rotation_degrees",
        "p_rotation", "autocontrast", "p_autocontrast", "power_law", "p_power_law",
        "power_range")},
    **{k: "run" for k in ("name", "seed", "num_workers", "log_every", "eval_every",
                          "checkpoint_every")},
}

#: What the released code does differently from the paper, and the switch reproducing it.
CODE_DIFFERENCES: list[dict[str, str]] = [{'method': 'simclr',
  'topic': 'NT-Xent temperature',
  'paper': 'no value given: Table 3 lists none; tau only appears as a symbol in Eq. 2 (Sec. '
           '2.1)',
  'code': '0.1 whatever the flag says (its default is 0.1 too)',
  'switch': 'code_behaviour: true',
  'changes': 'nothing at temperature 0.1; with another temperature the paper setting uses it '
             'while the code setting keeps 0.1'},
 {'method': 'simclr',
  'topic': 'input size',
  'paper': 'riggi3 stack resized to 224 x 224',
  'code': 'resized to 64 x 64 by default',
  'switch': 'image_size: 64',
  'changes': '12x fewer pixels: faster, coarser morphology; our CPU profiles use 64'},
 {'method': 'simclr',
  'topic': '3-channel input',
  'paper': 'sigma clip 5/30, zscale 0.25, zscale 0.4, min-max per channel',
  'code': 'its only 3-channel stack: sigma clip 0/20 + zscale 0.25, sigma clip 1/20 + zscale '
          '0.25, histogram equalisation',
  'switch': 'none',
  'changes': "radiolib builds the paper's stack (scaling riggi3)"},
 {'method': 'simclr',
  'topic': 'colour jitter',
  'paper': 'brightness, contrast, saturation 0.8, hue 0.2, strength 0.5',
  'code': 'additive brightness on a min-max-normalised image, hue fixed in the code',
  'switch': 'none',
  'changes': "radiolib uses torchvision's multiplicative factors, as SimCLR's colour "
             'distortion'},
 {'method': 'simclr',
  'topic': 'command-line defaults',
  'paper': 'ResNet18, projector 256-128, Adam, Table 2 augmentations',
  'code': 'a small custom CNN, one Dense(16) layer, RMSprop, another augmenter (simclr6) '
          "unless flags say otherwise; the flags of the paper's runs are not published",
  'switch': 'none',
  'changes': 'nothing: radiolib follows the paper where it is explicit'},
 {'method': 'simclr',
  'topic': 'batch size',
  'paper': '128 (Table 3; one GPU per run, Sec. 2.4)',
  'code': "32 by default (the flags of the paper's runs are not published)",
  'switch': 'batch_size: 32',
  'changes': '62 instead of 254 negatives per view: a weaker contrastive signal per step and '
             '4x more steps per epoch'},
 {'method': 'simclr',
  'topic': 'epochs per data set',
  'paper': '100 on the hulk sets, 500 on the banner sets (Table 3, Sec. 2.4)',
  'code': '100 by default, the same for every data set',
  'switch': 'epochs: 100 for banner runs',
  'changes': "banner models (and smart_hulk's banner stage, if it followed Table 3) get 5x "
             'fewer epochs than in the paper'},
 {'method': 'dino',
  'topic': 'power-law scaling',
  'paper': 'random power-law intensity scaling',
  'code': 'a linear rescale to [-1, 1] (power 1), on local crops only',
  'switch': 'code_behaviour: true',
  'changes': 'no non-linear stretch; local crops span [-1, 1] while global crops stay in [0, '
             '1]'},
 {'method': 'dino',
  'topic': 'flips',
  'paper': "random horizontal flip, kept from DINO's standard augmentations (Sec. 3.1.1); no "
           'vertical flip mentioned',
  'code': 'no flips',
  'switch': 'code_behaviour: true',
  'changes': 'no mirror invariance is taught'},
 {'method': 'dino',
  'topic': 'blur, autocontrast, rescale',
  'paper': 'applied to each crop',
  'code': 'applied to the full image before cropping',
  'switch': 'code_behaviour: true',
  'changes': "limits from the whole image; blur width scales with the crop's zoom"},
 {'method': 'dino',
  'topic': 'head, temperatures, EMA',
  'paper': 'teacher EMA momentum 0.996 for both backbones (Table 2, grid search, Sec. 3.2); '
           'head sizes, temperatures and centre momentum not stated',
  'code': '3 layers, hidden 2048, bottleneck 256, out 65536; teacher/student temperature '
          '0.04/0.1; centre momentum 0.9; teacher EMA 0.996 -> 1 on a cosine',
  'switch': 'default (out_dim, hidden_dim, bottleneck_dim, head_layers, ...)',
  'changes': "nothing: our defaults are the code's, whose starting EMA momentum is the paper's "
             '0.996'},
 {'method': 'dino',
  'topic': 'count-probe evaluation',
  'paper': 'PCA to 100 components, then one linear layer trained 100 epochs on MSE; counts '
           'beyond a sigma cut around the mean dropped (25 MGCLS, 4 MIGHTEE crops); 70/30 '
           'train/validation, MSE on a 20 % MGCLS_20k test split disjoint from MGCLS_5k; 3 '
           'runs (Sec. 3.2, 4, 4.1)',
  'code': 'PCA 30 by default, targets beyond 3 sigma masked, SGD-trained linear layer',
  'switch': 'n_components (notebook parameter)',
  'changes': 'radiolib fits the layer in closed form as a ridge regression on standardised '
             'PCA-100 features, the penalty chosen by leave-one-out error (the paper names no '
             'regularisation), and drops no outlier counts, unlike both the paper and the '
             'code'},
 {'method': 'dino',
  'topic': 'ViT stochastic depth',
  'paper': 'not stated in our sources',
  'code': 'drop_path_rate 0.1 in the student',
  'switch': "none (torchvision's ViT has none)",
  'changes': 'radiolib trains ViT students without stochastic depth'},
 {'method': 'dino',
  'topic': 'teacher batch norm across GPUs',
  'paper': 'not stated',
  'code': 'SyncBatchNorm in student and teacher',
  'switch': 'none',
  'changes': "radiolib: SyncBatchNorm in the student on CUDA; the teacher's statistics are "
             'averaged over ranks after each step'},
 {'method': 'dino',
  'topic': 'learning rate',
  'paper': '0.03 (ResNet50), 0.00625 (ViT-S/8), from a grid search (Table 2, Sec. 3.2); before '
           'or after the batch/256 scaling is not said',
  'code': '0.0005 by default, for a global batch of 256, scaled linearly with the batch',
  'switch': 'lr: 0.0005',
  'changes': "a base rate 60x (ResNet50) or 12.5x (ViT-S/8) below the paper's values"},
 {'method': 'dino',
  'topic': 'batch size per GPU',
  'paper': '32 (ResNet50, 6 GPUs) and 8 (ViT-S/8, limited by memory) (Table 2, Sec. 3.2)',
  'code': '64 per GPU by default',
  'switch': 'batch_size: 64',
  'changes': 'fewer, larger steps per epoch and, through the linear lr scaling, a larger '
             'effective learning rate'},
 {'method': 'dino',
  'topic': 'weight decay',
  'paper': 'ResNet50: 1e-4, constant (Table 2, Sec. 3.2); ViT-S/8: 0.04 (Table 2; end value '
           'not given)',
  'code': '0.04 rising to 0.4 on a cosine, both backbones',
  'switch': 'weight_decay: 0.04, weight_decay_end: 0.4',
  'changes': 'ResNet50 regularised 400x (start) to 4000x (end) more than in the paper; the ViT '
             "starts at the paper's value and ends 10x above it"},
 {'method': 'dino',
  'topic': 'epochs',
  'paper': 'ResNet50 425 (MGCLS_20k), ViT-S/8 475 (MGCLS_5k), stopped by a convergence rule '
           '(Sec. 3.2, Fig. 5); 100 only for the grid search and the ablation on MGCLS_5k',
  'code': '100 by default',
  'switch': 'epochs: 100',
  'changes': "the default is the length of the paper's search and ablation runs, not of its "
             'final backbones'},
 {'method': 'dino',
  'topic': 'released ViT-S/8 checkpoint',
  'paper': 'ViT-S/8 trained until epoch 475 (Sec. 3.2, Fig. 5)',
  'code': 'the released ViT-S/8 teacher is the epoch-325 checkpoint (code README, file name)',
  'switch': 'backbones = "released" (notebook 06)',
  'changes': "probes of the released ViT may not match the paper's ViT numbers; the ResNet50 "
             'release (425 epochs) matches the paper'},
 {'method': 'dino',
  'topic': 'autocontrast',
  'paper': 'tried in the ablation, but the best combination reported is rotation + power-law '
           'scaling (Sec. 3.1.1); not said to be in the final recipe',
  'code': 'RandomAutocontrast(p=0.5) on local crops',
  'switch': 'autocontrast: true',
  'changes': 'half of the local crops are stretched to their own minimum and maximum, removing '
             'the field-level brightness context that per-field scaling keeps'},
 {'method': 'dino',
  'topic': 'extra released backbone (ViT-B/16)',
  'paper': 'two backbones, ResNet50 and ViT-S/8, both from random weights (Sec. 3.2, Table 3)',
  'code': 'the release also has a ViT-B/16 started from DINO ImageNet weights, 25 epochs',
  'switch': 'backbone: vit_b16 (loading the released file)',
  'changes': "nothing in the paper's results comes from it"},
 {'method': 'dino',
  'topic': 'optimiser',
  'paper': "not named (Sect. 3.1 speaks of gradient descent in general); Table 2's ResNet50 "
           "values (lr 0.03, constant weight decay 1e-4) are those of DINO's ResNet-50 recipe, "
           'which uses SGD',
  'code': 'AdamW by default',
  'switch': 'optimizer: adamw',
  'changes': 'radiolib trains the ResNet50 with SGD (momentum 0.9) and the ViT-S/8 with AdamW; '
             "the paper's lr 0.03 would be far too large for AdamW"}]


def config_table(config, groups: tuple[str, ...] | None = None) -> pd.DataFrame:
    """Tabulate the settings of a loaded config: group, key, value, source, note.

    Parameters
    ----------
    config : SimCLRConfig or DINOConfig
        As read from the YAML file actually used (:func:`radiolib.ssl.load_config`); its
        ``provenance`` gives the source and note of each value. A value that differs from the
        paper row its provenance names is flagged in the note ("paper: X").
    groups : tuple of str, optional
        Keep only these groups: ``model``, ``data``, ``augmentation``, ``loss``,
        ``optimisation``, ``run`` (Riggi Table 2 is ``("augmentation",)``, Table 3
        ``("model", "loss", "optimisation")``).
    """
    provenance = config.provenance
    published = {r["key"]: r for r in published_rows()}
    rows = []
    for key, value in config.to_dict().items():
        if key == "method":
            continue
        entry = provenance.get(key, {"from": "unknown", "note": "no provenance in the file"})
        refs = entry.get("ref")
        refs = [refs] if isinstance(refs, str) else list(refs or [])
        note = "; ".join(str(x) for x in (entry.get("where"), entry.get("note")) if x)
        paper = [published[r]["value"] if r in published else None for r in refs]
        values = value if isinstance(value, list) else [value]
        if refs and paper != values:
            shown = " - ".join(f"{v:g}" for v in paper if v is not None)
            note = f"paper: {shown} (this run differs)" + (f"; {note}" if note else "")
        elif refs:
            where = dict.fromkeys(published[r]["source"] for r in refs if r in published)
            note = "; ".join([*where, *([note] if note else [])])
        if isinstance(value, list):
            value = " - ".join(f"{v:g}" for v in value)
        rows.append({"group": GROUPS.get(key, "other"), "key": key, "value": value,
                     "source": entry["from"], "note": note})
    rows.sort(key=lambda r: _ORDER.index(r["group"]))  # stable: file order within a group
    table = pd.DataFrame(rows, columns=["group", "key", "value", "source", "note"])
    if groups is not None:
        table = table[table["group"].isin(groups)].reset_index(drop=True)
    return table


def paper_settings(config) -> dict[str, float]:
    """Return the run's value of every setting its config takes from a paper, by published key.

    Keyed by the ``published.yaml`` row each value equals in the file (a pair gives two rows):
    what a notebook records, so that the report compares the settings actually run with the
    papers'.
    """
    values = config.to_dict()
    out = {}
    for key, entry in config.provenance.items():
        refs = entry.get("ref")
        if entry.get("from") != "paper" or refs is None:
            continue
        refs = [refs] if isinstance(refs, str) else refs
        got = values[key] if isinstance(values[key], list) else [values[key]]
        out.update({r: float(v) if isinstance(v, bool) else v
                    for r, v in zip(refs, got, strict=True)})
    return out


def differences_table(method: str | None = None) -> pd.DataFrame:
    """:data:`CODE_DIFFERENCES` as a table, optionally for one method (``simclr``/``dino``)."""
    rows = [r for r in CODE_DIFFERENCES if method is None or r["method"] == method]
    return pd.DataFrame(rows, columns=["method", "topic", "paper", "code", "switch", "changes"])
