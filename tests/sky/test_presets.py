import dataclasses

import pytest

from radiolib.errors import ConfigError
from radiolib.sky import PRESETS, get_preset


def test_presets_are_the_five_surveys():
    assert sorted(PRESETS) == ["emupilot", "first", "mgcls", "mightee", "smgps"]


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_preset_documents_what_it_models_and_not(name):
    preset = get_preset(name)
    assert "Models:" in preset.description and "Does not model:" in preset.description
    assert 1.5 <= preset.pixel_scale <= 2.0
    assert abs(sum(preset.dqf_probs) - 1) < 1e-9
    assert preset.class_names[0] == "compact"
    with pytest.raises(dataclasses.FrozenInstanceError):
        preset.rms = 1.0


def test_unknown_preset_lists_the_presets():
    with pytest.raises(ConfigError, match="emupilot, first, mgcls, mightee, smgps"):
        get_preset("lofar")


def test_preset_object_passes_through():
    assert get_preset(PRESETS["smgps"]) is PRESETS["smgps"]


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_preset_says_where_its_pointing_distributions_come_from(name):
    preset = get_preset(name)
    assert "Riggi" in preset.provenance or "Lastufka" in preset.provenance
    assert "Assumed" in preset.provenance  # what no paper at hand gives is said so
    v = preset.variation
    assert v.rms_sigma_ln > 0 and len(v.dqf_noise) == 4 and v.dqf_noise[0] == 1.0
    assert list(v.dqf_noise) == sorted(v.dqf_noise)  # poorer dynamic range, more noise


def test_mightee_is_deeper_than_mgcls_and_has_no_cluster():
    mightee, mgcls = PRESETS["mightee"], PRESETS["mgcls"]
    assert mightee.rms < mgcls.rms and mightee.cluster is None and mgcls.cluster is not None
    assert mightee.mode == mgcls.mode == "pointing"
    assert mightee.pixel_scale == mgcls.pixel_scale  # a 256² crop covers the same sky


def test_only_mightee_counts_components():
    assert [n for n, p in PRESETS.items() if p.count_components] == ["mightee"]
