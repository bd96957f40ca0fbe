"""Configs: the papers' defaults, strict YAML validation, the book's tables."""

import dataclasses

import pytest

from radiolib.errors import ConfigError
from radiolib.resources import package_folder
from radiolib.ssl import (
    CODE_DIFFERENCES,
    DINOConfig,
    SimCLR,
    SimCLRConfig,
    config_table,
    differences_table,
    load_config,
)
from radiolib.ssl.config import config_path, dino_local_scale, list_configs
from radiolib.ssl.simclr import augment_for

RUN_KEYS = {"name", "num_workers"}


@pytest.fixture(params=["simclr_riggi", "dino_resnet50", "dino_vits8"])
def config_file(request):
    return package_folder("configs") / f"{request.param}.yaml"


def test_config_files_load_and_match_the_defaults(config_file):
    config = load_config(config_file)
    default = type(config)(backbone=config.backbone)
    per_backbone = {"optimizer", "lr", "weight_decay", "weight_decay_end", "epochs",
                    "batch_size"} if config.backbone == "vit_s8" else set()
    assert set(config.diff(default)) <= RUN_KEYS | per_backbone  # files spell out defaults
    from radiolib.ssl.config import _read_yaml, _with_base

    merged = _with_base(_read_yaml(config_file), config_file)
    assert merged.keys() - {"provenance"} == config.to_dict().keys()


def test_paper_and_code_values():
    s = load_config("simclr_riggi")
    assert (s.backbone, s.in_chans, s.proj_hidden_dim, s.proj_out_dim) == ("resnet18", 3, 256, 128)
    assert s.crop_scale == (0.8, 1.0) and s.blur_sigma == (1.0, 3.0) and s.p_blur == 0.1
    assert (s.brightness, s.contrast, s.saturation, s.hue, s.jitter_strength, s.p_jitter) == \
        (0.8, 0.8, 0.8, 0.2, 0.5, 0.8)
    assert s.thresholding and s.threshold_percentile == (40, 60) and s.p_threshold == 0.5
    assert s.optimizer == "adam" and s.loss_temperature == s.temperature
    code = s.replace(code_behaviour=True, image_size=64)
    assert code.loss_temperature == 0.1 and SimCLR(code).criterion.temperature == 0.1
    assert augment_for(code).code_behaviour and not augment_for(s).code_behaviour
    for name, local in (("dino_resnet50", (0.05, 0.14)), ("dino_vits8", (0.05, 0.4))):
        d = load_config(name)
        assert (d.head_layers, d.hidden_dim, d.bottleneck_dim, d.out_dim) == (3, 2048, 256, 65536)
        assert (d.teacher_temp, d.student_temp, d.center_momentum, d.momentum_teacher) == \
            (0.04, 0.1, 0.9, 0.996)
        assert (d.n_local, d.global_size, d.local_size, d.global_scale) == (8, 224, 96, (0.4, 1))
        assert d.local_scale == local and d.in_chans == 1
    assert DINOConfig(backbone="vit_s8").local_scale == (0.05, 0.4)  # by backbone when unset
    assert DINOConfig(backbone="resnet18").local_scale == (0.05, 0.14)
    assert dino_local_scale("vit_b16") == (0.05, 0.4)


def test_unknown_key_is_named_with_the_valid_ones(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("method: simclr\ntemprature: 0.2\n")
    with pytest.raises(ConfigError, match=r"unknown config key\(s\) 'temprature'.*valid keys: "
                                          r".*temperature"):
        load_config(path)


@pytest.mark.parametrize("cls, key, value, match", [
    (SimCLRConfig, "temperature", -1, "> 0"),
    (SimCLRConfig, "batch_size", 0, r"in \[1"),
    (SimCLRConfig, "epochs", 1.5, "integer"),
    (SimCLRConfig, "crop_scale", [1.0, 0.5], "min <= max"),
    (SimCLRConfig, "crop_scale", 0.8, "list of 2"),
    (SimCLRConfig, "thresholding", "yes", "true or false"),
    (SimCLRConfig, "backbone", "vgg16", "one of resnet18"),
    (SimCLRConfig, "p_blur", 2.0, r"in \[0, 1\]"),
    (SimCLRConfig, "lr", float("nan"), "finite"),
    (DINOConfig, "field_limits", "p99", "one of minmax"),
    (DINOConfig, "center_momentum", 1.5, r"in \[0, 1\]"),
])
def test_bad_values_are_named(cls, key, value, match):
    with pytest.raises(ConfigError, match=rf"config key '{key}': .*{match}"):
        cls.from_dict({key: value})


def test_other_errors(tmp_path):
    with pytest.raises(ConfigError, match="multiple of the ViT patch 8"):
        DINOConfig(backbone="vit_s8", global_size=100)
    with pytest.raises(ConfigError, match="'method' is 'dino', expected 'simclr'"):
        SimCLRConfig.from_dict({"method": "dino"})
    with pytest.raises(ConfigError, match="'method' must be one of dino, simclr"):
        load_config({"method": "byol"})
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "none.yaml")
    (tmp_path / "bad.yaml").write_text("method: [simclr\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(tmp_path / "bad.yaml")
    with pytest.raises(ConfigError, match="unknown config key"):
        SimCLRConfig().replace(bogus=1)
    with pytest.raises(dataclasses.FrozenInstanceError):
        SimCLRConfig().lr = 1.0


def test_configs_by_name(tmp_path, monkeypatch):
    assert list_configs() == ["dino_resnet50", "dino_vits8", "simclr_riggi"]  # no dino_base
    for name in list_configs():
        assert config_path(name) == package_folder("configs") / f"{name}.yaml"
        assert load_config(name) == load_config(f"{name}.yaml")
    assert load_config("dino_resnet50").momentum_teacher == 0.996  # from its base, shipped too
    with pytest.raises(ConfigError, match=r"unknown config 'simclr'; .*: dino_resnet50, "
                                          r"dino_vits8, simclr_riggi$"):
        load_config("simclr")
    with pytest.raises(ConfigError, match=r"config file 'sub/simclr_riggi.yaml' not found; "
                                          r".*simclr_riggi$"):
        load_config("sub/simclr_riggi.yaml")
    monkeypatch.chdir(tmp_path)  # a file of the working folder wins over a shipped name
    (tmp_path / "simclr_riggi.yaml").write_text("method: simclr\nepochs: 3\n")
    assert load_config("simclr_riggi.yaml").epochs == 3
    assert load_config("simclr_riggi").epochs == 100  # no suffix: the shipped recipe


def test_round_trip_through_a_dict():
    config = DINOConfig(backbone="vit_s8", n_local=4)
    assert load_config(config.to_dict()) == config


def test_config_tables_come_from_the_config(config_file):
    config = load_config(config_file)
    table = config_table(config)
    assert set(table["key"]) == set(config.to_dict()) - {"method"}
    assert set(table["source"]) <= {"paper", "code", "unknown", "run"}
    assert set(config.provenance) == set(table["key"])  # every key has a provenance
    row = table.set_index("key").loc["backbone"]
    assert row["value"] == config.backbone and row["source"] == "paper"
    aug = config_table(config, groups=("augmentation",))
    assert set(aug["group"]) == {"augmentation"} and len(aug) > 5


def test_code_differences_are_complete():
    fields = {"method", "topic", "paper", "code", "switch", "changes"}
    assert all(set(r) == fields and all(r.values()) for r in CODE_DIFFERENCES)
    topics = " ".join(r["topic"] for r in CODE_DIFFERENCES)
    for word in ("temperature", "input size", "power-law", "flips", "head"):
        assert word in topics
    assert len(differences_table("simclr")) == 7
    assert not [r for r in CODE_DIFFERENCES if r["topic"] == "random crop"]  # paper = code
