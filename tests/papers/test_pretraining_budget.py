"""The pre-training budget study: settings, the pointing split, scoring and the verdict text."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest

from radiolib.errors import ConfigError, DataError
from radiolib.evaluate.splits import group_split
from radiolib.papers import pretraining_budget as pb


@dataclass
class _Run:
    """A stand-in BudgetRun: embeddings per epoch and their timings."""

    emb: dict
    minutes: dict

    @property
    def checkpoints(self):
        return pd.DataFrame({"epoch": list(self.emb), "step": list(self.emb),
                             "wall_seconds": [60 * m for m in self.minutes.values()],
                             "cpu_seconds": [120 * m for m in self.minutes.values()],
                             "threads": 2, "load1": 1.0})

    def embeddings(self, epoch):
        return self.emb[epoch]

    def idle_seconds_per_step(self):
        return 30.0  # step = epoch here: a minute every 2 epochs


def _truth(n=600, seed=0):
    rng = np.random.default_rng(seed)
    counts = rng.poisson(20, n).astype(float)
    label = np.where(counts > 20, "MANY", "FEW")
    fields = np.repeat([f"mgcls_{i}" for i in range(12)], n // 12)
    return rng, counts, label, fields


def _learning_run(rng, counts):
    """Epoch 0: noise; then features that hold more and more of the count."""
    noise = rng.normal(size=(len(counts), 16))
    emb = {0: noise}
    for epoch, signal in ((1, 0.0), (2, 0.5), (3, 3.0)):
        e = noise.copy()
        e[:, 0] += signal * (counts - 20) / 4.5
        emb[epoch] = e
    return _Run(emb, {0: 0.0, 1: 0.5, 2: 1.0, 3: 2.0})


def test_group_split_holds_out_whole_pointings():
    _, _, _, fields = _truth()
    fit, test = group_split(fields, seed=1)
    assert len(np.intersect1d(fit, test)) == 0 and len(fit) + len(test) == len(fields)
    assert not set(fields[fit]) & set(fields[test])
    assert len(set(fields[test])) == 6
    with pytest.raises(ValueError, match="2 groups"):
        group_split(["a", "a"])


def test_score_runs_and_verdict_when_ssl_learns():
    rng, counts, label, fields = _truth()
    fit, test = group_split(fields)
    runs = {"SimCLR learns": _learning_run(rng, counts)}
    curves = pb.score_runs(runs, counts, label, fit, test, n_components=8, n_boot=200)
    assert set(curves["probe"]) == set(pb.CROP_PROBES)
    count = curves[curves["probe"] == "source count"].set_index("epoch")
    assert (count["low"] <= count["value"]).all() and (count["value"] <= count["high"]).all()
    assert count.loc[0, "diff"] == 0
    assert count.loc[3, "value"] < count.loc[0, "low"]  # the signal is found
    assert count.loc[3, "minutes"] == pytest.approx(2.0)  # CPU time / threads
    assert count.loc[3, "idle_minutes"] == pytest.approx(1.5)  # steps x idle pace
    result = pb.budget_result(curves, budget_minutes=5)
    row = result.table.set_index("probe").loc["source count"]
    assert row["beats_random"] and row["epoch"] == 3
    assert "beats its random initialisation at 95 % within 5 min" in \
        result.details["verdicts"]["source count"]
    # within 0.6 minutes only epoch 1 (no signal) counts: no claim
    early = pb.budget_result(curves, budget_minutes=0.6)
    assert not early.table.set_index("probe").loc["source count", "beats_random"]
    assert "no setting beats" in early.details["verdicts"]["source count"]
    best = pb.best_settings(curves, 5)
    assert set(best["probe"]) == set(pb.CROP_PROBES)
    assert (best["setting"] == "SimCLR learns").all()


def test_cutout_runs_are_scored_on_the_morphology_probe():
    rng = np.random.default_rng(3)
    classes = np.array(["1C-1P", "1C-2P", "2C-2P"])
    y = classes[rng.integers(0, 3, 900)]
    fields = np.repeat([f"first_{i}" for i in range(10)], 90)
    noise = rng.normal(size=(900, 8))
    learned = noise.copy()
    learned[:, :3] += 3.0 * (y[:, None] == classes)  # one feature per class
    run = _Run({0: noise, 1: noise + 0.01 * rng.normal(size=noise.shape), 2: learned},
               {0: 0.0, 1: 1.0, 2: 2.0})
    fit, test = group_split(fields)
    curves = pb.score_cutout_runs({"SimCLR cut-outs": run}, y, fit, test, n_boot=200)
    assert set(curves["probe"]) == {pb.MORPHOLOGY}
    assert (curves["metric"] == "balanced_accuracy").all() and (curves["n_test"] == 450).all()
    by_epoch = curves.set_index("epoch")
    assert by_epoch.loc[0, "value"] < 0.45 < 0.9 < by_epoch.loc[2, "value"]
    result = pb.budget_result(curves, budget_minutes=5)
    assert result.table.set_index("probe").loc[pb.MORPHOLOGY, "beats_random"]
    assert pb.MORPHOLOGY in result.details["verdicts"]
    refs = pb.cutout_references(rng.normal(size=(900, 16, 16)), y, fit, test, n_boot=100)
    assert [r["name"] for r in refs[pb.MORPHOLOGY]][0] == "commonest label"
    assert refs[pb.MORPHOLOGY][0]["value"] == pytest.approx(1 / 3)  # one class of three


def test_run_study_sends_each_setting_to_its_data(tmp_path, monkeypatch):
    called = {}

    def fake(kind):
        def study(settings, **kw):
            called[kind] = sorted(settings)
            rows = pd.DataFrame({"setting": list(settings), "probe": kind})
            return rows, {f"n_{kind}": 1}, {kind: []}
        return study

    monkeypatch.setattr(pb, "_crop_study", fake("crops"))
    monkeypatch.setattr(pb, "_cutout_study", fake("cutouts"))
    cut = next(iter(pb.ON_CUTOUTS & set(pb.LONG)))
    settings = pb.study_settings(long=True)
    curves = pb.run_study(settings, work=tmp_path, cache_dir=tmp_path)
    assert called["cutouts"] == [cut]
    assert called["crops"] == sorted(set(settings) - {cut})
    _, meta = pb.read_curves(tmp_path)
    assert meta["n_crops"] == meta["n_cutouts"] == 1 and set(meta["references"]) == {
        "crops", "cutouts"}
    assert len(curves) == len(settings)


def test_study_cutouts_cut_every_classified_source(tmp_path):
    cuts, table = pb.study_cutouts([7, 8], 1024, 32, tmp_path)
    assert cuts.shape[1:] == (32, 32) and len(cuts) == len(table) > 0
    assert set(table["field"]) <= {"first_7", "first_8"} and table["snr"].min() >= 5
    with pytest.raises(ValueError, match="consecutive"):
        pb.study_cutouts([7, 9], 1024, 32, tmp_path)


def test_no_claim_when_nothing_is_learned():
    rng, counts, label, fields = _truth()
    fit, test = group_split(fields)
    noise = rng.normal(size=(len(counts), 16))
    run = _Run({e: noise + 0.01 * rng.normal(size=noise.shape) for e in range(3)},
               {0: 0.0, 1: 1.0, 2: 2.0})
    curves = pb.score_runs({"DINO idle": run}, counts, label, fit, test, n_components=8,
                           n_boot=200)
    result = pb.budget_result(curves, budget_minutes=5)
    assert not result.table["beats_random"].any()
    verdicts = result.details["verdicts"]
    assert set(verdicts) == set(pb.PROBES)
    for probe in pb.CROP_PROBES:
        assert "no setting beats" in verdicts[probe] and "at 95 % within" not in verdicts[probe]
        assert "inf" not in verdicts[probe]
    assert "no setting of this study was scored" in verdicts[pb.MORPHOLOGY]


def test_minutes_needed_extrapolates_a_log_linear_trend():
    # score = 30 - 2 ln(minutes); random 30 [29, 31]; half-width 1 -> needs 28: e^1 minutes
    minutes = np.array([0.0, 0.5, 1.0, 2.0])
    value = np.r_[30.0, 30 - 2 * np.log(minutes[1:])]
    g = pd.DataFrame({"epoch": range(4), "minutes": minutes, "value": value,
                      "low": value - 1, "high": value + 1})
    assert pb._minutes_needed(g, lower=True) == pytest.approx(np.e)
    flat = g.assign(value=30.0, low=29.0, high=31.0)
    assert np.isnan(pb._minutes_needed(flat, lower=True))
    slow = g.assign(value=np.r_[30.0, 30 - 0.001 * np.log(minutes[1:])])
    assert pb._minutes_needed(slow, lower=True) == np.inf


def test_settings_and_configs():
    assert pb.study_settings(pilot=False) == {}
    assert set(pb.study_settings(long=True)) == set(pb.PILOT) | set(pb.LONG)
    with pytest.raises(ConfigError, match="unknown study setting"):
        pb.study_settings(names=["nope"])
    for name, spec in {**pb.PILOT, **pb.LONG}.items():
        config = pb.setting_config(name, *spec)
        assert config.method == spec[0] and config.epochs == spec[1]
        assert config.eval_every == spec[2] and config.num_workers == 0
        for key, value in spec[3].items():
            got = getattr(config, key)
            assert (list(got) if isinstance(got, tuple) else got) == value
    simclr = pb.setting_config("x", "simclr", 2, 1, {})
    assert simclr.lr == pytest.approx(0.1 * 64 / 128)  # the recipe's lr per example


def test_read_curves_says_what_to_run(tmp_path):
    with pytest.raises(Exception, match="radiolib study"):
        pb.read_curves(tmp_path)
    curves = pd.DataFrame({"setting": ["a"], "value": [1.0]})
    pb.write_curves(curves, tmp_path, cpu="X")
    back, meta = pb.read_curves(tmp_path)
    assert meta == {"cpu": "X"} and back.equals(curves)


def test_cli_study_names_the_settings_on_a_bad_one(tmp_path, capsys):
    from radiolib.cli import main

    assert main(["study", "--setting", "nope", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("radiolib study: error: unknown study setting(s) 'nope'")
    assert "SimCLR R18/2 32px" in err and len(err.splitlines()) == 1


def test_study_crops_carry_both_truths_and_are_reused(tmp_path):
    crops = pb.study_crops([0], 768, tmp_path, "crops")
    assert {"n_sources", "primary", "labels"} <= set(crops.index.columns)
    assert len(crops) == 9 and crops.index["n_sources"].ge(0).all()
    stamp = (tmp_path / "crops" / "index.csv").stat().st_mtime_ns
    again = pb.study_crops([0], 768, tmp_path, "crops")
    assert (tmp_path / "crops" / "index.csv").stat().st_mtime_ns == stamp
    assert again.index.equals(crops.index)
    other = pb.study_crops([1], 768, tmp_path, "crops")  # other seeds: cut again
    assert set(other.index["field"]) == {"mgcls_1"}


def test_long_checkpoints_are_found_only_when_the_study_trained_them(tmp_path):
    from radiolib.ssl.cache import CachedRun, save_runs

    assert pb.long_checkpoints(tmp_path) == {}  # no study run: nothing, no error
    runs = {}
    for name in [next(iter(pb.LONG)), next(iter(pb.PILOT))]:
        out = tmp_path / "".join(c if c.isalnum() else "_" for c in name)
        out.mkdir()
        (out / "checkpoint.pt").write_bytes(b"x")
        runs[name] = CachedRun("k", out, out / "checkpoint.pt", out / "metrics.jsonl", False)
    save_runs(tmp_path, pb.RUNS, runs)
    found = pb.long_checkpoints(tmp_path)
    assert list(found) == [next(iter(pb.LONG))]  # pilot settings are not long ones
    assert found[next(iter(pb.LONG))].resolve() == runs[next(iter(pb.LONG))].checkpoint.resolve()
    assert list(pb.long_checkpoints(tmp_path, image_size=64)) == [next(iter(pb.LONG))]
    assert pb.long_checkpoints(tmp_path, image_size=128) == {}  # trained at 64 px


def test_verdict_without_a_trend_gives_the_minutes_tried_as_a_lower_bound():
    t = pd.DataFrame({"beats_random": [False, False], "within_budget": [True, True],
                      "minutes_needed": [np.nan, np.nan], "longest_minutes": [3.0, 14.2],
                      "setting": ["a", "b"]})
    sentence = pb._verdict("source count", t, budget=5)
    assert "no curve improves on it in up to 14 min of training" in sentence
    assert "more than that" in sentence
    t["minutes_needed"] = [np.inf, np.nan]
    assert f"more than {pb.EXTRAPOLATE} times the longest run (14 min)" in \
        pb._verdict("source count", t, budget=5)


def test_recipe_flops_count_each_view_and_the_dino_teacher():
    simclr = pb.setting_config("s", "simclr", 1, 1, {"image_size": 32})
    one = pb._step_flops("resnet18", simclr.in_chans, 32, backward=True)
    assert pb.recipe_flops(simclr) == pytest.approx(2 * one)
    forward = pb._step_flops("resnet18", simclr.in_chans, 32, backward=False)
    assert 2.5 < one / forward < 3.5  # a backward pass costs about two forward passes
    dino = pb.setting_config("d", "dino", 1, 1, {"backbone": "resnet18", "global_size": 32,
                                                 "local_size": 16, "n_local": 2})
    c = dino.in_chans
    expected = (2 * pb._step_flops("resnet18", c, 32, backward=True)
                + 2 * pb._step_flops("resnet18", c, 16, backward=True)
                + 2 * pb._step_flops("resnet18", c, 32, backward=False))
    assert pb.recipe_flops(dino) == pytest.approx(expected)


def test_paper_recipe_cost_divides_the_recipe_by_the_measured_rate():
    name = "SimCLR R18/2 32px"
    method, epochs, every, changes = pb.PILOT[name]
    config = pb.setting_config(name, method, epochs, every, changes)
    meta = {"settings": {name: list(pb.PILOT[name])}, "n_train_crops": 10 * config.batch_size}
    curves = pd.DataFrame({"setting": [name] * 3, "epoch": [0, 2, 4],
                           "minutes": [0.0, 1.0, 2.0]})
    rate = pb.training_rate(curves, meta)  # the last checkpoint: 4 epochs of 10 batches
    assert rate == pytest.approx(pb.recipe_flops(config) * 40 * config.batch_size / 2.0)
    cost = pb.paper_recipe_cost(curves, meta)
    assert set(cost.index) == set(pb.PAPER_RECIPES)
    row = cost.loc["dino_resnet50"]
    assert row["epochs"] == 425 and row["crops"] == 19554  # the paper's, from its files
    assert row["minutes"] == pytest.approx(row["PFLOP"] * 1e15 / rate)
    assert row["days"] == pytest.approx(row["minutes"] / 1440)
    assert "dino_resnet50 (resnet50, 425 epochs on 19554 crops" in pb.recipe_cost_text(cost, "x")
    with pytest.raises(DataError, match="no timed crop setting"):
        pb.training_rate(curves.assign(epoch=0), meta)
