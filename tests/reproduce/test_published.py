"""``radiolib.published``: the schema of published.yaml, its coverage of both papers, the
verdict rule on hand-made cases, and configs that cannot drift from the papers."""

from __future__ import annotations

import math
import re

import pytest
import yaml

from radiolib.errors import ConfigError
from radiolib.published import (
    KINDS,
    claim_verdict,
    published_rows,
    section_of,
    tolerance_of,
    validate_rows,
    verdict,
)
from radiolib.resources import package_folder

ROWS = {row["key"]: row for row in published_rows()}
CONFIGS = package_folder("configs")

# Every table and figure of both papers, by the papers' own numbering (issue 10): each must have
# at least one row (a value, a figure quantity or a claim).
RIGGI_IDS = [f"table{i}" for i in range(1, 5)] + [f"fig{i}" for i in range(1, 13)] + \
    ["figa1", "figa2", "figa3", "figa4"]
# Lastufka et al. number their tables through the appendices: the backbone comparison of
# Appendix B is Table 4 (Appendix C cites Tables 5 and 6); Fig. 13 has panels a and b.
LASTUFKA_IDS = [f"table{i}" for i in range(1, 7)] + [f"fig{i}" for i in range(1, 13)] + \
    ["fig13a", "fig13b"]


@pytest.mark.parametrize("paper, ids", [("riggi2024", RIGGI_IDS),
                                        ("lastufka2024", LASTUFKA_IDS)])
def test_every_table_and_figure_has_rows(paper, ids):
    present = {section_of(k) for k in ROWS if k.startswith(paper + ".")}
    missing = [i for i in ids if i not in present]
    assert not missing, f"{paper}: no row for {missing}"


def test_schema_of_every_row():
    for key, row in ROWS.items():
        assert row["kind"] in KINDS, key
        if row["kind"] in ("figure", "claim"):
            assert row["value"] is None, key
        else:
            assert isinstance(row["value"], (int, float)) and math.isfinite(row["value"]), key
        if row.get("uncertainty") is not None:
            assert isinstance(row["uncertainty"], (int, float)) and row["uncertainty"] >= 0, key
        assert row["notebook"] is None or re.fullmatch(r"\d\d_\w+", row["notebook"]), key
        if row["kind"] == "claim":
            for ref in (row["claim"]["a"], row["claim"].get("b")):
                assert ref is None or ROWS[ref]["kind"] in ("result", "figure", "dataset"), key


def test_uncertainties_are_transcribed():
    # both papers print "±" spreads (Lastufka's mean ± std over runs): some rows carry them
    for paper in ("riggi2024", "lastufka2024"):
        spreads = [k for k, r in ROWS.items() if k.startswith(paper)
                   and r.get("uncertainty") is not None]
        assert spreads or paper == "riggi2024", paper


def _listed(value):
    return [] if value is None else value if isinstance(value, list) else [value]


def test_conflicts_are_mutual_and_one_is_compared():
    pairs = [(k, o) for k, r in ROWS.items() for o in _listed(r.get("conflicts_with"))]
    assert len(pairs) >= 8  # both papers contradict themselves a few times (issue 10)
    for key, other in pairs:
        assert key in _listed(ROWS[other]["conflicts_with"])
        flags = {ROWS[key].get("compared", True), ROWS[other].get("compared", True)}
        assert flags == {True, False}
        dropped = key if ROWS[key].get("compared") is False else other
        assert ROWS[dropped].get("comment"), f"{dropped}: say why it is not compared"


ROW = {"key": "paper2024.table1.x", "paper": "Paper et al. 2024", "source": "Table 1",
       "quantity": "x", "value": 1.5, "unit": "", "kind": "result", "compare": "tolerance",
       "notebook": None}
CLAIM = {**ROW, "key": "paper2024.fig1.claim", "value": None, "kind": "claim",
         "compare": "claim", "claim": {"text": "x beats y", "a": "paper2024.table1.x",
                                       "op": "gt", "b": "paper2024.table1.x"}}


@pytest.mark.parametrize("rows, match", [
    ([ROW, ROW], "duplicate key 'paper2024.table1.x'"),
    ([{k: v for k, v in ROW.items() if k != "unit"}], r"missing fields \['unit'\]"),
    ([{**ROW, "colour": "red"}], r"unknown fields \['colour'\]"),
    ([{**ROW, "value": "1.5"}], "'value' must be a finite number"),
    ([{**ROW, "value": None}], "'value' must be a finite number"),
    ([{**ROW, "uncertainty": -1}], "'uncertainty' must be a number >= 0"),
    ([{**ROW, "kind": "guess"}], "'kind' must be one of"),
    ([{**ROW, "kind": "figure", "value": None}], "exactly on figure/claim rows"),
    ([{**ROW, "key": "nodots"}], "must look like"),
    ([{**ROW, "paper": ""}], "'paper' must be a non-empty string"),
    ([ROW, {**CLAIM, "claim": {**CLAIM["claim"], "b": "paper2024.table9.y"}}],
     "refers to 'paper2024.table9.y'"),
    ([ROW, {**CLAIM, "claim": {**CLAIM["claim"], "op": "diff_in"}}], "needs range"),
    ([ROW, {**CLAIM, "claim": {**CLAIM["claim"], "op": "bigger"}}], "claim op 'bigger'"),
    ([{**ROW, "conflicts_with": "paper2024.table1.y"}], "must name a row that names this"),
    ([{**ROW, "conflicts_with": "paper2024.table1.y"},
      {**ROW, "key": "paper2024.table1.y", "conflicts_with": "paper2024.table1.x"}],
     "exactly one has 'compared: false'"),
    ({"key": "x"}, "expected a YAML list"),
])
def test_schema_errors_name_the_row(tmp_path, rows, match):
    path = tmp_path / "published.yaml"
    path.write_text(yaml.safe_dump(rows))
    with pytest.raises(ConfigError, match=match):
        published_rows(path)


def test_valid_claim_and_conflict_pass():
    rows = [ROW, CLAIM, {**ROW, "key": "paper2024.sec2.x", "conflicts_with": ROW["key"],
                         "compared": False, "comment": "the table is later"}]
    rows[0] = {**ROW, "conflicts_with": "paper2024.sec2.x"}
    assert len(validate_rows(rows)) == 3


# --- the verdict rule on small hand-made cases ---------------------------------------------
COUNT = {**ROW, "kind": "dataset", "compare": "exact", "value": 1758}
METRIC = {**ROW, "value": 80.0, "uncertainty": 2.0}
LFL = {"evidence": "like-for-like"}


@pytest.mark.parametrize("row, record, profile, expected", [
    (COUNT, {"value": 1758, **LFL}, "quick", "match"),           # a count is exact at any profile
    (COUNT, {"value": 1757, **LFL}, "smoke", "mismatch"),
    (METRIC, {"value": 81.9, **LFL}, "paper", "within tolerance"),  # |1.9| <= max(2, 4)
    (METRIC, {"value": 84.1, **LFL}, "paper", "outside tolerance"),  # 4.1 > max(2, 0.05 * 80)
    (METRIC, {"value": 84.1, "uncertainty": 4.0, **LFL}, "paper", "within tolerance"),
    ({**METRIC, "uncertainty": None, "tolerance": 0.01}, {"value": 81.0, **LFL}, "paper",
     "outside tolerance"),
    (METRIC, {"value": 80.0, "evidence": "analogue"}, "paper", "analogue (not compared)"),
    (METRIC, {"value": 80.0}, "paper", "analogue (not compared)"),  # analogue unless said
    (METRIC, {"value": 80.0, **LFL}, "quick", "not comparable (quick profile)"),
    (METRIC, {"value": 80.0, "evidence": "released-weights"}, "paper", "within tolerance"),
    (METRIC, None, None, "not yet run"),
    ({**ROW, "kind": "figure", "compare": "figure", "value": None}, {"value": "figure"},
     "smoke", "figure only (see its claims)"),
])
def test_verdict_rule(row, record, profile, expected):
    assert verdict(row, record, profile) == expected


def test_tolerance_combines_uncertainties_in_quadrature():
    assert tolerance_of(METRIC, 1.5) == pytest.approx(max(2.5, 4.0))
    assert tolerance_of({**METRIC, "value": 10.0}, 1.5) == pytest.approx(2.5)


def _rec(value, spread=None):
    return {"value": value, "uncertainty": spread}


@pytest.mark.parametrize("claim, records, expected", [
    ({"a": "a", "op": "gt", "b": "b"}, {"a": _rec(0.9), "b": _rec(0.8)}, "holds"),
    ({"a": "a", "op": "gt", "b": "b"}, {"a": _rec(0.7), "b": _rec(0.8)}, "fails"),
    ({"a": "a", "op": "gt", "b": "b"}, {"a": _rec(0.8), "b": _rec(0.8)}, "fails"),
    ({"a": "a", "op": "gt", "b": "b"}, {"a": _rec(0.85, 0.05), "b": _rec(0.8, 0.05)},
     "inconclusive"),  # the difference's interval straddles 0
    ({"a": "a", "op": "lt", "b": "b"}, {"a": _rec(0.1), "b": _rec(0.3)}, "holds"),
    ({"a": "a", "op": "diff_in", "b": "b", "range": [7, 12]},
     {"a": _rec(90.0), "b": _rec(80.0)}, "holds"),
    ({"a": "a", "op": "diff_in", "b": "b", "range": [7, 12]},
     {"a": _rec(82.0), "b": _rec(80.0)}, "fails"),
    ({"a": "a", "op": "ratio_in", "b": "b", "range": [1.5, 3]},
     {"a": _rec(4.0), "b": _rec(2.0)}, "holds"),
    ({"a": "a", "op": "in", "range": [0.05, 0.1]}, {"a": _rec(0.07)}, "holds"),
    ({"a": "a", "op": "gt", "b": "b"}, {"a": _rec(0.9)}, "not run"),
    ({"a": "a", "op": "in", "range": [0, 1]}, {}, "not run"),
])
def test_claim_verdicts(claim, records, expected):
    assert claim_verdict({"text": "t", **claim}, records)[0] == expected


# Edges of the rule, on numbers exact in binary: spreads of 0.75 and 1.0 combine to 1.25.
A, B = "a", "b"


@pytest.mark.parametrize("op, rng, a, b, expected", [
    # diff: stat 2.25 +- 1.25 = [1.0, 3.5]; a range is closed, so touching an edge holds
    ("diff_in", [1.0, 3.5], (3.25, 0.75), (1.0, 1.0), "holds"),
    ("diff_in", [1.0, 3.0], (3.25, 0.75), (1.0, 1.0), "inconclusive"),  # straddles 3
    ("diff_in", [1.5, 3.5], (3.25, 0.75), (1.0, 1.0), "inconclusive"),  # straddles 1.5
    ("diff_in", [1.0, 3.25], (3.25, 0.0), (1.0, 1.0), "holds"),  # no spread of a: [1.25, 3.25]
    ("diff_in", [1.0, 3.25], (3.25, 0.75), (1.0, 1.0), "inconclusive"),  # a's spread counts
    ("diff_in", [3.5, 5.0], (3.25, 0.75), (1.0, 1.0), "inconclusive"),  # touches 3.5 from below
    ("diff_in", [0.0, 1.0], (3.25, 0.75), (1.0, 1.0), "inconclusive"),  # touches 1.0 from above
    ("diff_in", [3.6, 5.0], (3.25, 0.75), (1.0, 1.0), "fails"),
    ("diff_in", [0.0, 0.9], (3.25, 0.75), (1.0, 1.0), "fails"),
    # gt / lt compare with 0 strictly: an interval that only touches 0 is not on either side
    ("gt", None, (2.25, 0.75), (1.0, 1.0), "inconclusive"),   # [0, 2.5]
    ("gt", None, (1.0, 0.75), (2.25, 1.0), "fails"),          # [-2.5, 0]
    ("gt", None, (2.5, 0.75), (1.0, 1.0), "holds"),           # [0.25, 2.75]
    ("lt", None, (1.0, 0.75), (2.25, 1.0), "inconclusive"),   # [-2.5, 0]
    ("lt", None, (2.25, 0.75), (1.0, 1.0), "fails"),          # [0, 2.5]
    ("lt", None, (1.0, 0.75), (1.5, 1.0), "inconclusive"),    # [-1.75, 0.75]
    ("lt", None, (1.0, 0.0), (0.5, 0.0), "fails"),            # 0.5, no spread
    ("lt", None, (0.5, 0.0), (1.0, 0.0), "holds"),
    # ratio: relative spreads in quadrature, 4 / 2 = 2 with 0.125 from a alone: [1.75, 2.25]
    ("ratio_in", [1.5, 3.0], (4.0, 0.5), (2.0, 0.0), "holds"),
    ("ratio_in", [1.5, 3.0], (4.0, 0.0), (2.0, 0.5), "holds"),  # 0.25 from b: [1.5, 2.5]
    ("ratio_in", [1.5, 3.0], (4.0, 1.0), (2.0, 0.5), "inconclusive"),  # 2 +- 0.707
    ("ratio_in", [0.0, 1.0], (0.0, 0.5), (2.0, 0.5), "holds"),  # a = 0: ratio 0, no spread
    ("ratio_in", [0.0, 1.0], (1.0, 0.0), (0.0, 0.5), "inconclusive"),  # b = 0: no ratio
    ("ratio_in", [0.5, 2.0], (1.0, 0.0), (1.0, 0.0), "holds"),
    ("in", [0.0, 1.0], (0.5, 0.5), None, "holds"),  # [0, 1], touching both edges
    ("in", [0.0, 1.0], (0.5, 0.75), None, "inconclusive"),
])
def test_claim_verdict_edges(op, rng, a, b, expected):
    claim = {"text": "t", "a": A, "op": op}
    records = {A: _rec(*a)}
    if b is not None:
        claim["b"], records[B] = B, _rec(*b)
    if rng is not None:
        claim["range"] = rng
    state, stat = claim_verdict(claim, records)
    assert state == expected
    if op == "ratio_in" and b[0] == 0:
        assert stat is None
    else:
        assert stat == (a[0] / b[0] if op == "ratio_in" else a[0] - (b[0] if b else 0.0))


def test_verdict_edges():
    with pytest.raises(ValueError, match="^claim rows are judged by claim_verdict$"):
        verdict({**ROW, "kind": "claim", "compare": "claim", "value": None}, {"value": 1.0},
                "paper")
    for value in (None, "n/a", float("nan")):
        assert verdict(METRIC, {"value": value, **LFL}, "paper") == "recorded without a number"
    # exact rows forgive floating-point noise only: relative 1e-9, absolute 1e-12 near zero
    big, zero = {**COUNT, "value": 1e6}, {**COUNT, "value": 0.0}
    assert verdict(big, {"value": 1e6 * (1 + 1e-10), **LFL}, "paper") == "match"
    assert verdict(big, {"value": 1e6 * (1 + 1e-8), **LFL}, "paper") == "mismatch"
    assert verdict(zero, {"value": 1e-13, **LFL}, "paper") == "match"
    assert verdict(zero, {"value": 1e-11, **LFL}, "paper") == "mismatch"
    # a difference equal to the tolerance is within it: hypot(3, 4) = 5 = |15 - 10|
    row = {**METRIC, "value": 10.0, "uncertainty": 3.0, "tolerance": 0.0}
    assert tolerance_of(row, 4.0) == 5.0
    assert verdict(row, {"value": 15.0, "uncertainty": 4.0, **LFL}, "paper") == "within tolerance"
    assert verdict(row, {"value": 15.001, "uncertainty": 4.0, **LFL}, "paper") == \
        "outside tolerance"
    # dataset facts are compared at any profile, metrics only at the paper's
    fact = {**METRIC, "kind": "dataset"}
    assert verdict(fact, {"value": 80.0, **LFL}, "smoke") == "within tolerance"


# --- configs cannot drift from the papers ---------------------------------------------------
@pytest.mark.parametrize("name", ["simclr_riggi", "dino_resnet50", "dino_vits8"])
def test_paper_values_of_configs_equal_published_rows(name):
    from radiolib.ssl import load_config

    config = load_config(CONFIGS / f"{name}.yaml")
    values = config.to_dict()
    provenance = config.provenance
    assert set(values) - {"method"} <= set(provenance), "every key says where it comes from"
    n_checked = 0
    for key, entry in provenance.items():
        if entry["from"] != "paper":
            continue
        ref = entry.get("ref")
        if ref is None:  # a name (backbone, optimiser), located in the paper instead
            assert not isinstance(values[key], (int, float)) or isinstance(values[key], bool), \
                f"{name}.{key}: a numeric paper value needs a published row (ref)"
            continue
        refs = ref if isinstance(ref, list) else [ref]
        got = values[key] if isinstance(values[key], list) else [values[key]]
        assert len(refs) == len(got), f"{name}.{key}"
        for r, v in zip(refs, got, strict=True):
            assert r in ROWS, f"{name}.{key}: {r} is not in published.yaml"
            assert ROWS[r]["kind"] == "setting", r
            assert v == pytest.approx(ROWS[r]["value"]), f"{name}.{key} = {v} but {r} says " \
                f"{ROWS[r]['value']}"
            n_checked += 1
    assert n_checked >= 5


# Claims the paper's own printed numbers do not bear out: kept as rows because the text makes
# them (issue 10), and listed here so a transcription error cannot hide among them.
PAPER_INCONSISTENT = {
    "lastufka2024.sec4.claim_baselines_10x_more_data",  # Table 3: RGZ 108k vs 20k, 5.4x
    "lastufka2024.sec4_3.claim_resnets_similar_vs_dino_imagenet",  # 0.80 vs 0.76 ± 0.01: edge
}


def test_claims_hold_on_the_papers_own_numbers():
    values = {k: {"value": r["value"], "uncertainty": r.get("uncertainty")}
              for k, r in ROWS.items() if r["value"] is not None}
    checked = 0
    for key, row in ROWS.items():
        if row["kind"] != "claim":
            continue
        state, _ = claim_verdict(row["claim"], values)
        if state == "not run":
            continue  # a figure-only quantity: checked on recorded values only
        checked += 1
        assert (state == "holds") != (key in PAPER_INCONSISTENT), (key, state)
    assert checked >= 40
