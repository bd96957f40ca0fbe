"""Training recipes as frozen dataclasses: SimCLR (Riggi et al. [0]) and DINO (Lastufka et al. [1]).

One config holds everything a run needs (model, augmentation, loss, optimiser, schedule,
logging), is stored inside every checkpoint (:meth:`to_dict`) and read back from YAML
(:func:`load_config`: a path, or the name of a recipe shipped in ``radiolib/configs/``, see
:func:`list_configs`) with every key and value checked: an unknown key or a
bad value raises :class:`~radiolib.errors.ConfigError` naming it (and listing the valid keys).

Defaults follow the papers where they give the value, else the released code's; the YAML
files say which for every key in their ``provenance:`` block (:func:`check_provenance`).
``code_behaviour=True`` reproduces the released code where it differs from the paper
(:data:`~radiolib.ssl.differences.CODE_DIFFERENCES`).

- [0] Riggi et al. 2024, PASA, arXiv:2404.18462
- [1] Lastufka et al. 2024, A&A 690, A310, arXiv:2408.06147
"""

from __future__ import annotations

import dataclasses
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import yaml

from radiolib.errors import ConfigError
from radiolib.models.backbones import BACKBONES, backbone_spec
from radiolib.resources import package_folder
from radiolib.scaling import FIELD_LIMITS

__all__ = ["CODE_TEMPERATURE", "DINO_LOCAL_SCALES", "ORIGINS", "DINOConfig", "SimCLRConfig",
           "TrainConfig", "check_provenance", "config_path", "dino_local_scale", "list_configs",
           "load_config"]

#: NT-Xent temperature hard-coded in Riggi et al.'s released SimCLR code (its flag is ignored).
CODE_TEMPERATURE = 0.1
#: Lastufka et al.'s local crop scale by backbone family (Sect. 3.1.1): ResNet 0.05-0.14,
#: ViT 0.05-0.4 (the DINO code's default).
DINO_LOCAL_SCALES: dict[str, tuple[float, float]] = {"resnet": (0.05, 0.14), "vit": (0.05, 0.4)}


def dino_local_scale(backbone: str) -> tuple[float, float]:
    """Return the DINO local crop scale (min, max) for a backbone name, by its family."""
    return DINO_LOCAL_SCALES[backbone_spec(backbone).family]


def _f(default: Any, kind: str, **check: Any) -> Any:
    """Declare a dataclass field with its validation rule (kind: int/float/bool/str/pair)."""
    return field(default=default, metadata={"kind": kind, **check})


def _check(name: str, value: Any, meta: dict) -> Any:
    """Return ``value`` normalised to its kind, or raise ConfigError naming ``name``."""
    kind = meta["kind"]

    def bad(why: str) -> ConfigError:
        return ConfigError(f"config key {name!r}: {why}, got {value!r}")

    if value is None and meta.get("optional"):
        return None
    if kind == "bool":
        if not isinstance(value, bool):
            raise bad("must be true or false")
        return value
    if kind == "str":
        if not isinstance(value, str) or ("choices" in meta and value not in meta["choices"]):
            raise bad(f"must be one of {', '.join(meta.get('choices', ['a string']))}")
        return value
    if kind in ("pair", "triple"):
        n = 2 if kind == "pair" else 3
        if not isinstance(value, (list, tuple)) or len(value) != n:
            raise bad(f"must be a list of {n} numbers")
        items = tuple(_check(name, v, {"kind": "float", **{k: meta[k] for k in ("lo", "hi")
                                                          if k in meta}}) for v in value)
        if kind == "pair" and items[0] > items[1]:
            raise bad("must be [min, max] with min <= max")
        return items
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise bad(f"must be a{'n integer' if kind == 'int' else ' number'}")
    if kind == "int":
        if value != int(value):
            raise bad("must be an integer")
        value = int(value)
    else:
        value = float(value)
        if not math.isfinite(value):
            raise bad("must be finite")
    lo, hi = meta.get("lo"), meta.get("hi")
    if (lo is not None and value < lo) or (hi is not None and value > hi) \
            or (meta.get("positive") and value <= 0):
        span = "> 0" if meta.get("positive") else f"in [{lo}, {hi if hi is not None else 'inf'}]"
        raise bad(f"must be {span}")
    return value


@dataclass(frozen=True)
class TrainConfig:
    """Fields shared by every recipe: data size, optimisation, schedule, logging.

    ``batch_size`` is per process (GPU); the global batch is ``batch_size * world_size``.
    A warm-up longer than the run is cut to the run (useful with ``--epochs`` on CPU).
    """

    method: ClassVar[str] = ""
    name: str = _f("run", "str")
    seed: int = _f(0, "int", lo=0)
    backbone: str = _f("resnet18", "str", choices=BACKBONES)
    in_chans: int = _f(3, "int", lo=1)
    image_size: int = _f(224, "int", lo=8)
    epochs: int = _f(100, "int", lo=1)
    batch_size: int = _f(64, "int", lo=1)
    lr: float = _f(1e-3, "float", positive=True)
    min_lr: float = _f(0.0, "float", lo=0)
    weight_decay: float = _f(0.0, "float", lo=0)
    warmup_epochs: int = _f(0, "int", lo=0)
    clip_grad: float = _f(0.0, "float", lo=0)
    amp: bool = _f(False, "bool")
    num_workers: int = _f(0, "int", lo=0)
    log_every: int = _f(10, "int", lo=1)
    eval_every: int = _f(0, "int", lo=0)
    checkpoint_every: int = _f(0, "int", lo=0)
    code_behaviour: bool = _f(False, "bool")

    #: True where ``lr`` is for a global batch of 256 and the method scales it (DINO).
    lr_per_256: ClassVar[bool] = False
    #: Keys that may change between a checkpoint and ``--resume`` (not the training maths).
    RESUMABLE: ClassVar[frozenset[str]] = frozenset(
        {"name", "epochs", "num_workers", "log_every", "eval_every", "checkpoint_every"})

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            object.__setattr__(self, f.name, _check(f.name, getattr(self, f.name), f.metadata))

    @property
    def provenance(self) -> dict[str, dict[str, Any]]:
        """Return where each value of the YAML file came from (its ``provenance:`` block).

        See :func:`check_provenance`; empty for a config built in code or from a checkpoint.
        """
        return dict(self.__dict__.get("_provenance", {}))

    @classmethod
    def keys(cls) -> list[str]:
        """Return the valid keys, sorted."""
        return sorted(f.name for f in dataclasses.fields(cls))

    @classmethod
    def from_dict(cls, data: dict, *, source: str = "config") -> TrainConfig:
        """Build from a mapping, rejecting unknown keys (``method`` must match if present)."""
        if not isinstance(data, dict):
            raise ConfigError(f"{source}: expected a mapping of keys to values, got "
                              f"{type(data).__name__}")
        data = dict(data)
        provenance = check_provenance(data.pop("provenance", {}), source)
        method = data.pop("method", cls.method)
        if method != cls.method:
            raise ConfigError(f"{source}: config key 'method' is {method!r}, expected "
                              f"{cls.method!r}")
        unknown = sorted(set(data) - set(cls.keys()))
        if unknown:
            raise ConfigError(f"{source}: unknown config key(s) {', '.join(map(repr, unknown))} "
                              f"for {cls.__name__}; valid keys: {', '.join(cls.keys())}")
        config = cls(**data)
        missing = sorted(set(provenance) - set(cls.keys()))
        if missing:
            raise ConfigError(f"{source}: provenance names unknown key(s) {', '.join(missing)}")
        object.__setattr__(config, "_provenance", provenance)
        return config

    @classmethod
    def from_yaml(cls, path: str | os.PathLike) -> TrainConfig:
        """Read and validate a YAML file (e.g. ``radiolib/configs/*.yaml``; no ``base:``)."""
        return cls.from_dict(_read_yaml(path), source=str(path))

    def to_dict(self) -> dict[str, Any]:
        """Plain types only (tuples as lists), ``method`` first: for YAML and checkpoints."""
        out: dict[str, Any] = {"method": self.method}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            out[f.name] = list(value) if isinstance(value, tuple) else value
        return out

    def replace(self, **changes: Any) -> TrainConfig:
        """Return a copy with ``changes`` applied and validated (unknown keys: ConfigError)."""
        return type(self).from_dict({**self.to_dict(), **changes, "provenance": self.provenance},
                                    source="replace()")

    def at_batch(self, batch_size: int) -> TrainConfig:
        """Return the recipe at another batch size per process, lr scaled linearly with it.

        Goyal et al.'s rule, which DINO's code applies itself: the rule the smaller profiles
        use, so that they keep the papers' learning rate per example.
        """
        if self.lr_per_256:  # DINO: lr is given for a global batch of 256 and scaled in training
            return self.replace(batch_size=batch_size)
        return self.replace(batch_size=batch_size, lr=self.lr * batch_size / self.batch_size)

    def diff(self, other: TrainConfig) -> dict[str, tuple[Any, Any]]:
        """``{key: (self value, other value)}`` for keys that differ."""
        a, b = self.to_dict(), other.to_dict()
        return {k: (a.get(k), b.get(k)) for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k)}


@dataclass(frozen=True)
class SimCLRConfig(TrainConfig):
    """SimCLR of Riggi et al. 2024: ResNet18 on riggi3 3-channel tiles, projector 256 -> 128.

    Augmentation keys are :class:`radiolib.augment.SimCLRAugment`'s (their Table 2). With
    ``code_behaviour`` the NT-Xent temperature is :data:`CODE_TEMPERATURE` whatever
    ``temperature`` says, as in the released code; its default image size 64 is
    ``image_size: 64``.
    """

    method: ClassVar[str] = "simclr"
    name: str = _f("simclr_riggi", "str")
    optimizer: str = _f("adam", "str", choices=("adam", "adamw"))
    warmup_epochs: int = _f(10, "int", lo=0)
    proj_hidden_dim: int = _f(256, "int", lo=1)
    proj_out_dim: int = _f(128, "int", lo=1)
    temperature: float = _f(0.1, "float", positive=True)
    lr: float = _f(0.1, "float", positive=True)
    min_lr: float = _f(1e-6, "float", lo=0)
    batch_size: int = _f(128, "int", lo=1)
    scaling: str = _f("riggi3", "str", choices=("riggi3",))
    crop_scale: tuple[float, float] = _f((0.8, 1.0), "pair", lo=0, hi=1)
    p_hflip: float = _f(0.33, "float", lo=0, hi=1)
    p_vflip: float = _f(0.33, "float", lo=0, hi=1)
    p_rot90: float = _f(0.5, "float", lo=0, hi=1)
    brightness: float = _f(0.8, "float", lo=0)
    contrast: float = _f(0.8, "float", lo=0)
    saturation: float = _f(0.8, "float", lo=0)
    hue: float = _f(0.2, "float", lo=0, hi=0.5)
    jitter_strength: float = _f(0.5, "float", lo=0)
    p_jitter: float = _f(0.8, "float", lo=0, hi=1)
    blur_sigma: tuple[float, float] = _f((1.0, 3.0), "pair", lo=0)
    p_blur: float = _f(0.1, "float", lo=0, hi=1)
    thresholding: bool = _f(True, "bool")
    threshold_percentile: tuple[float, float] = _f((40.0, 60.0), "pair", lo=0, hi=100)
    p_threshold: float = _f(0.5, "float", lo=0, hi=1)

    @property
    def loss_temperature(self) -> float:
        """The temperature the loss uses: 0.1 under ``code_behaviour``, else ``temperature``."""
        return CODE_TEMPERATURE if self.code_behaviour else self.temperature


@dataclass(frozen=True)
class DINOConfig(TrainConfig):
    """DINO of Lastufka et al. 2024 on single-channel MGCLS crops (ResNet50 or ViT-S/8).

    The defaults are the ResNet50 recipe (``radiolib/configs/dino_resnet50.yaml``; the ViT-S/8 file
    changes the optimiser, lr, weight decay, epochs, batch and local scale).
    ``lr`` is for a global batch of 256 and scaled linearly (as the DINO code);
    ``local_scale`` None means Sect. 3.1.1's by backbone (:func:`dino_local_scale`).
    ``code_behaviour`` switches :class:`radiolib.augment.DINOAugment` to the released code.
    """

    method: ClassVar[str] = "dino"
    lr_per_256: ClassVar[bool] = True
    name: str = _f("dino_resnet50", "str")
    optimizer: str = _f("sgd", "str", choices=("adamw", "sgd"))
    backbone: str = _f("resnet50", "str", choices=BACKBONES)
    in_chans: int = _f(1, "int", lo=1)
    image_size: int = _f(256, "int", lo=8)
    field_limits: str = _f("contrast_2_98", "str")
    epochs: int = _f(425, "int", lo=1)
    batch_size: int = _f(32, "int", lo=1)
    lr: float = _f(0.03, "float", positive=True)
    min_lr: float = _f(1e-6, "float", lo=0)
    weight_decay: float = _f(1e-4, "float", lo=0)
    weight_decay_end: float = _f(1e-4, "float", lo=0)
    warmup_epochs: int = _f(10, "int", lo=0)
    clip_grad: float = _f(3.0, "float", lo=0)
    amp: bool = _f(True, "bool")
    freeze_last_layer: int = _f(1, "int", lo=0)
    out_dim: int = _f(65536, "int", lo=1)
    hidden_dim: int = _f(2048, "int", lo=1)
    bottleneck_dim: int = _f(256, "int", lo=1)
    head_layers: int = _f(3, "int", lo=1)
    norm_last_layer: bool = _f(True, "bool")
    use_bn_in_head: bool = _f(False, "bool")
    teacher_temp: float = _f(0.04, "float", positive=True)
    warmup_teacher_temp: float = _f(0.04, "float", positive=True)
    warmup_teacher_temp_epochs: int = _f(0, "int", lo=0)
    student_temp: float = _f(0.1, "float", positive=True)
    center_momentum: float = _f(0.9, "float", lo=0, hi=1)
    momentum_teacher: float = _f(0.996, "float", lo=0, hi=1)
    n_local: int = _f(8, "int", lo=0)
    global_size: int = _f(224, "int", lo=8)
    local_size: int = _f(96, "int", lo=8)
    global_scale: tuple[float, float] = _f((0.4, 1.0), "pair", lo=0, hi=1)
    local_scale: tuple[float, float] | None = _f(None, "pair", lo=0, hi=1, optional=True)
    rotation: bool = _f(True, "bool")
    rotation_degrees: float = _f(30.0, "float", lo=0)
    p_rotation: float = _f(0.5, "float", lo=0, hi=1)
    autocontrast: bool = _f(False, "bool")
    p_autocontrast: float = _f(0.5, "float", lo=0, hi=1)
    power_law: bool = _f(True, "bool")
    p_power_law: float = _f(0.5, "float", lo=0, hi=1)
    power_range: tuple[float, float] = _f((0.5, 2.0), "pair", lo=0)

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.field_limits not in FIELD_LIMITS:
            raise ConfigError(f"config key 'field_limits': must be one of "
                              f"{', '.join(FIELD_LIMITS)}, got {self.field_limits!r}")
        if self.local_scale is None:
            object.__setattr__(self, "local_scale", dino_local_scale(self.backbone))
        patch = backbone_spec(self.backbone).patch_size
        if patch is not None:
            for key in ("global_size", "local_size"):
                if getattr(self, key) % patch:
                    raise ConfigError(f"config key {key!r}: must be a multiple of the ViT patch "
                                      f"{patch}, got {getattr(self, key)}")


_METHODS: dict[str, type[TrainConfig]] = {"dino": DINOConfig, "simclr": SimCLRConfig}


#: Where a config value may come from: the paper, the authors' released code, neither, or a run.
ORIGINS = ("paper", "code", "unknown", "run")


def check_provenance(block: Any, source: str = "config") -> dict[str, dict[str, Any]]:
    """Validate a config's ``provenance:`` block: ``key -> {from, ref | where, note}``.

    ``from`` is one of :data:`ORIGINS`. A ``paper`` value names the ``published.yaml`` row(s)
    it equals (``ref``: one key, or a list for a [min, max] pair) or, for a value that is not
    a number (a backbone's name), the place in the paper (``where``). The book's tables and a
    test read this block, so a config cannot drift from the papers unseen.
    """
    if not isinstance(block, dict):
        raise ConfigError(f"{source}: 'provenance' must map config keys to "
                          "{from: paper|code|unknown|run, ref|where: ..., note: ...}")
    out = {}
    for key, entry in block.items():
        if isinstance(entry, str):
            entry = {"from": entry}
        if not isinstance(entry, dict) or entry.get("from") not in ORIGINS:
            raise ConfigError(f"{source}: provenance of {key!r} must say from: one of "
                              f"{', '.join(ORIGINS)}, got {entry!r}")
        unknown = sorted(set(entry) - {"from", "ref", "where", "note"})
        if unknown:
            raise ConfigError(f"{source}: provenance of {key!r} has unknown field(s) {unknown}")
        if entry["from"] == "paper" and not (entry.get("ref") or entry.get("where")):
            raise ConfigError(f"{source}: provenance of {key!r} is 'paper' but names no "
                              "published.yaml row (ref) nor place in the paper (where)")
        ref = entry.get("ref")
        if ref is not None and not (isinstance(ref, str) or (
                isinstance(ref, list) and all(isinstance(r, str) for r in ref))):
            raise ConfigError(f"{source}: provenance ref of {key!r} must be a key or a list")
        out[key] = dict(entry)
    return out


def _read_yaml(path: str | os.PathLike) -> Any:
    try:
        with open(path, encoding="utf-8") as f:
            return yaml.safe_load(f)
    except FileNotFoundError:
        raise ConfigError(f"config file {os.fspath(path)!r} not found") from None
    except IsADirectoryError:
        raise ConfigError(f"config {os.fspath(path)!r} is a folder, not a YAML file") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{os.fspath(path)}: not a YAML text file ({exc})") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{os.fspath(path)}: not valid YAML ({exc})") from exc


def _with_base(data: Any, path: str | os.PathLike, seen: tuple[str, ...] = ()) -> Any:
    """Merge a YAML config over the file its ``base:`` key names (relative to it)."""
    if not isinstance(data, dict) or "base" not in data:
        return data
    data = dict(data)
    base_path = os.path.join(os.path.dirname(os.fspath(path)), str(data.pop("base")))
    if os.path.abspath(base_path) in seen:
        raise ConfigError(f"{os.fspath(path)}: 'base' files refer to each other in a loop")
    base = _with_base(_read_yaml(base_path), base_path, (*seen, os.path.abspath(base_path)))
    if not isinstance(base, dict):
        raise ConfigError(f"{base_path}: a base config must be a mapping of keys to values")
    merged = {**base, **data}
    merged["provenance"] = {**base.get("provenance", {}), **data.get("provenance", {})}
    return merged


def list_configs() -> list[str]:
    """Names of the SSL recipes in ``radiolib/configs/`` (not their bases nor the detector's).

    >>> list_configs()
    ['dino_resnet50', 'dino_vits8', 'simclr_riggi']
    """
    paths = sorted(package_folder("configs").glob("*.yaml"))
    skip = set()
    for path in paths:
        data = _read_yaml(path)
        if isinstance(data, dict) and "base" in data:
            skip.add(Path(str(data["base"])).stem)
        if isinstance(data, dict) and data.get("method", "simclr") not in _METHODS:
            skip.add(path.stem)  # another stage's settings (the detector's)
    return [p.stem for p in paths if p.stem not in skip]


def config_path(config: str | os.PathLike) -> Path:
    """Return the YAML file of a config given by path or by a shipped recipe's name.

    An existing file wins; else a bare name (``simclr_riggi``, or ``simclr_riggi.yaml``) is
    looked up in ``radiolib/configs/``, so that ``--config NAME`` works from any folder.

    Raises
    ------
    ConfigError
        If neither is found (or a folder is given); the message lists the shipped recipes.
    """
    path = Path(config)
    if path.is_file():
        return path
    if len(path.parts) == 1 and path.suffix in ("", ".yaml"):
        shipped = package_folder("configs") / f"{path.stem}.yaml"
        if shipped.is_file():
            return shipped
        what = f"unknown config {os.fspath(config)!r}"
    else:
        what = f"config file {os.fspath(config)!r} not found"
    if path.is_dir():
        what = f"config {os.fspath(config)!r} is a folder, not a YAML file"
    raise ConfigError(f"{what}; give a YAML file or the name of a recipe shipped with "
                      f"radiolib: {', '.join(list_configs())}")


def load_config(source: str | os.PathLike | dict) -> SimCLRConfig | DINOConfig:
    """Read a config of either recipe from a YAML path, a recipe's name or a dict.

    A name is one of :func:`list_configs` (``simclr_riggi``, ``dino_vits8``, ...); a dict is
    e.g. a checkpoint's config. The ``method`` key (``simclr`` or ``dino``) picks the class.
    A YAML file may start from another with ``base: other.yaml`` (its keys and provenance
    override the base's).
    """
    if not isinstance(source, dict):
        source = config_path(source)
    data = source if isinstance(source, dict) else _with_base(_read_yaml(source), source)
    where = "config" if isinstance(source, dict) else os.fspath(source)
    if not isinstance(data, dict) or data.get("method") not in _METHODS:
        got = data.get("method") if isinstance(data, dict) else data
        raise ConfigError(f"{where}: config key 'method' must be one of "
                          f"{', '.join(sorted(_METHODS))}, got {got!r}")
    return _METHODS[data["method"]].from_dict(data, source=where)
