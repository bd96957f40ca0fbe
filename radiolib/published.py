"""The papers' published numbers (``published.yaml``) and the rule that judges a reproduction.

Every number that Riggi et al. 2024 or Lastufka et al. 2024 print -- table cells, values in the
text, settings, dataset facts -- is one row of ``radiolib/published.yaml``. A result the papers
show only in a figure is a ``figure`` row (no value) plus ``claim`` rows that restate, as a
check on recorded numbers, what the text says the figure shows. :func:`verdict` and
:func:`claim_verdict` are the report's rules; the rule is stated in :data:`VERDICT_RULE`.
"""

from __future__ import annotations

import math
import numbers
import os
import re
from functools import lru_cache
from pathlib import Path

import yaml

from radiolib.errors import ConfigError

__all__ = [
    "CLAIM_OPS",
    "EVIDENCE",
    "KINDS",
    "PUBLISHED_PATH",
    "REL_TOLERANCE",
    "VERDICT_RULE",
    "claim_verdict",
    "published_rows",
    "section_of",
    "tolerance_of",
    "validate_rows",
    "verdict",
]

PUBLISHED_PATH = Path(__file__).with_name("published.yaml")

#: What a row holds: an outcome, a fact about the data, a setting, a figure-only quantity, a claim.
KINDS = ("result", "dataset", "setting", "figure", "claim")
#: How a reproduced value is compared with the row.
COMPARES = ("exact", "tolerance", "figure", "claim")
#: What a recorded number is evidence of (``ResultsStore.record(..., evidence=)``).
EVIDENCE = ("like-for-like", "released-weights", "analogue")
#: Claim operators: each tests a statistic ``s`` of the recorded values against a range.
CLAIM_OPS = ("gt", "lt", "diff_in", "ratio_in", "in")
#: Relative tolerance of a ``tolerance`` row without its own ``tolerance`` field.
REL_TOLERANCE = 0.05

VERDICT_RULE = (
    "Counts and settings (`exact`) must equal the published value. Metrics (`tolerance`) must "
    f"lie within the published uncertainty combined with ours (in quadrature) or within "
    f"{REL_TOLERANCE:.0%} of the published value (a row may state its own tolerance), "
    "whichever is wider. Only like-for-like evidence (the papers' data and protocol, or their "
    "released weights) is compared, and only metrics of the `paper` profile: simulated "
    "analogues and smaller profiles are marked as not comparable instead of passed. A claim "
    "holds when the interval of its statistic (value ± recorded uncertainty) lies inside the "
    "claimed range, fails when it lies outside, and is inconclusive when it straddles an edge. "
    "Numbers of a notebook that failed or did not finish are marked as a failed run and take "
    "part in no comparison or claim."
)

_REQUIRED = ("key", "paper", "source", "quantity", "value", "unit", "kind", "compare",
             "notebook")
_OPTIONAL = ("uncertainty", "tolerance", "comment", "conflicts_with", "compared", "claim")
_KEY = re.compile(r"^[a-z]+\d{4}\.[a-z0-9_]+\.[a-z0-9_]+$")


def _fail(where: str, why: str) -> ConfigError:
    return ConfigError(f"{where}: {why} (fix the row in published.yaml; its header lists the "
                       "fields)")


def _is_number(value: object) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool) \
        and math.isfinite(value)


def _check_claim(row: dict, where: str) -> None:
    claim = row.get("claim")
    if row["kind"] != "claim":
        if claim is not None:
            raise _fail(where, "only a 'claim' row may hold a 'claim' mapping")
        return
    if not isinstance(claim, dict) or not isinstance(claim.get("text"), str):
        raise _fail(where, "a claim row needs claim: {text, a, op, [b], [range]}")
    unknown = sorted(set(claim) - {"text", "a", "op", "b", "range"})
    if unknown:
        raise _fail(where, f"unknown claim fields {unknown}")
    op = claim.get("op")
    if op not in CLAIM_OPS:
        raise _fail(where, f"claim op {op!r} must be one of {', '.join(CLAIM_OPS)}")
    if not isinstance(claim.get("a"), str):
        raise _fail(where, "claim 'a' must be the key of a recorded row")
    needs_b = op in ("gt", "lt", "diff_in", "ratio_in")
    if needs_b != isinstance(claim.get("b"), str):
        raise _fail(where, f"claim op {op!r} {'needs' if needs_b else 'takes no'} 'b'")
    needs_range = op in ("diff_in", "ratio_in", "in")
    rng = claim.get("range")
    if needs_range:
        if not (isinstance(rng, list) and len(rng) == 2 and all(_is_number(v) for v in rng)
                and rng[0] <= rng[1]):
            raise _fail(where, f"claim op {op!r} needs range: [low, high] with low <= high")
    elif rng is not None:
        raise _fail(where, f"claim op {op!r} takes no range")


def validate_rows(rows: object, path: str | os.PathLike = "published.yaml") -> list[dict]:
    """Check every row against the schema of ``published.yaml``; return the rows.

    Raises
    ------
    ConfigError
        Naming the row and what is wrong: a missing or unknown field, a bad type, a duplicate
        key, a value on a figure or claim row (or none on another), a claim that refers to a
        key the file lacks, a conflict that is not mutual.
    """
    if not isinstance(rows, list):
        raise ConfigError(f"{path}: expected a YAML list of rows, got {type(rows).__name__}")
    seen: dict[str, dict] = {}
    for i, row in enumerate(rows):
        where = f"{path}, row {i + 1}"
        if not isinstance(row, dict):
            raise ConfigError(f"{where}: expected a mapping, got {row!r}")
        missing = [f for f in _REQUIRED if f not in row]
        unknown = sorted(set(row) - set(_REQUIRED) - set(_OPTIONAL))
        if missing or unknown:
            raise _fail(f"{where} ({row.get('key')})",
                        f"missing fields {missing}, unknown fields {unknown}")
        key = row["key"]
        if not isinstance(key, str) or not _KEY.match(key):
            raise _fail(where, f"key {key!r} must look like 'paper2024.table3.snake_name'")
        where = f"{where} ({key})"
        if key in seen:
            raise ConfigError(f"{path}: duplicate key {key!r}")
        seen[key] = row
        for name in ("paper", "source", "quantity"):
            if not isinstance(row[name], str) or not row[name].strip():
                raise _fail(where, f"{name!r} must be a non-empty string")
        if not isinstance(row["unit"], str):
            raise _fail(where, "'unit' must be a string (\"\" if none)")
        if row["kind"] not in KINDS:
            raise _fail(where, f"'kind' must be one of {', '.join(KINDS)}")
        if row["compare"] not in COMPARES:
            raise _fail(where, f"'compare' must be one of {', '.join(COMPARES)}")
        graphic = row["kind"] in ("figure", "claim")
        if graphic != (row["compare"] == row["kind"]):
            raise _fail(where, "'compare' is 'figure'/'claim' exactly on figure/claim rows")
        value = row["value"]
        if graphic and value is not None:
            raise _fail(where, f"a {row['kind']} row has no value (null)")
        if not graphic and not _is_number(value):
            raise _fail(where, "'value' must be a finite number")
        for name in ("uncertainty", "tolerance"):
            if row.get(name) is not None and not (_is_number(row[name]) and row[name] >= 0):
                raise _fail(where, f"{name!r} must be a number >= 0")
        if row["notebook"] is not None and not isinstance(row["notebook"], str):
            raise _fail(where, "'notebook' must be a notebook name or null")
        if "compared" in row and not isinstance(row["compared"], bool):
            raise _fail(where, "'compared' must be true or false")
        _check_claim(row, where)
    for key, row in seen.items():
        for other in _as_list(row.get("conflicts_with")):
            if other not in seen or key not in _as_list(seen[other].get("conflicts_with")):
                raise ConfigError(f"{path} ({key}): conflicts_with {other!r} must name a row "
                                  "that names this one back")
            if row.get("compared", True) == seen[other].get("compared", True):
                raise ConfigError(f"{path} ({key}): of two conflicting rows exactly one has "
                                  "'compared: false' (and a comment saying why)")
        claim = row.get("claim") or {}
        for ref in (claim.get("a"), claim.get("b")):
            if ref is not None and ref not in seen:
                raise ConfigError(f"{path} ({key}): the claim refers to {ref!r}, which is not a "
                                  "row of the file")
    return rows


def _as_list(value: object) -> list:
    return [] if value is None else value if isinstance(value, list) else [value]


@lru_cache(maxsize=4)
def _load(path: str, mtime: float) -> tuple[dict, ...]:
    with open(path, encoding="utf-8") as fh:
        try:
            rows = yaml.safe_load(fh)
        except yaml.YAMLError as exc:
            raise ConfigError(f"{path}: not valid YAML ({exc})") from None
    return tuple(validate_rows(rows, path))


def published_rows(path: str | os.PathLike | None = None) -> list[dict]:
    """Read and validate ``published.yaml`` (cached until the file changes); rows in file order."""
    path = Path(path) if path is not None else PUBLISHED_PATH
    if not path.is_file():
        raise ConfigError(f"{path}: no such file; published.yaml ships inside the radiolib "
                          "package (reinstall radiolib)")
    return [dict(row) for row in _load(str(path), path.stat().st_mtime)]


def section_of(key: str) -> str:
    """Return the table, figure or section part of a key (``riggi2024.table3.lr``: ``table3``)."""
    return key.split(".")[1]


def tolerance_of(row: dict, uncertainty: float | None = None) -> float:
    """Return the largest difference a ``tolerance`` row accepts (see :data:`VERDICT_RULE`)."""
    spread = math.hypot(row.get("uncertainty") or 0.0, uncertainty or 0.0)
    rel = row.get("tolerance")
    rel = REL_TOLERANCE if rel is None else rel
    return max(spread, rel * abs(row["value"]))


def verdict(row: dict, record: dict | None, profile: str | None) -> str:
    """Judge one non-claim row against its record (``None``: not recorded).

    ``record`` holds ``value`` and optionally ``uncertainty`` and ``evidence``; ``profile`` is
    the profile the record was made under. See :data:`VERDICT_RULE`.
    """
    if row["kind"] == "claim":
        raise ValueError("claim rows are judged by claim_verdict")
    if record is None:
        return "not yet run"
    value = record.get("value")
    if row["kind"] == "figure":
        return "figure only (see its claims)"
    if not _is_number(value):
        return "recorded without a number"
    if record.get("evidence", "analogue") == "analogue":
        return "analogue (not compared)"
    if profile != "paper" and row["kind"] != "dataset":
        return f"not comparable ({profile} profile)"
    if row["compare"] == "exact":
        same = math.isclose(value, row["value"], rel_tol=1e-9, abs_tol=1e-12)
        return "match" if same else "mismatch"
    within = abs(value - row["value"]) <= tolerance_of(row, record.get("uncertainty"))
    return "within tolerance" if within else "outside tolerance"


def claim_verdict(claim: dict, records: dict[str, dict]) -> tuple[str, float | None]:
    """Evaluate a claim on recorded values: ``(verdict, statistic)``.

    ``records`` maps keys to records (``value``, optional ``uncertainty``). The verdict is
    ``holds``, ``fails``, ``inconclusive`` or ``not run`` (a value is missing).
    """
    op = claim["op"]
    a = records.get(claim["a"])
    b = records.get(claim["b"]) if "b" in claim and claim["b"] is not None else None
    if a is None or not _is_number(a.get("value")) or \
            (op not in ("in",) and (b is None or not _is_number(b.get("value")))):
        return "not run", None
    va, ua = a["value"], a.get("uncertainty") or 0.0
    vb, ub = (b["value"], b.get("uncertainty") or 0.0) if b is not None else (0.0, 0.0)
    if op == "ratio_in":
        if vb == 0:
            return "inconclusive", None
        stat = va / vb
        spread = abs(stat) * math.hypot(ua / va if va else 0.0, ub / vb)
    else:
        stat = va - vb
        spread = math.hypot(ua, ub)
    low, high = {"gt": (0.0, math.inf), "lt": (-math.inf, 0.0)}.get(op) or claim["range"]
    strict = op in ("gt", "lt")
    lo_in = stat - spread > low if strict else stat - spread >= low
    hi_in = stat + spread < high if strict else stat + spread <= high
    if lo_in and hi_in:
        return "holds", stat
    if stat + spread < low or stat - spread > high or (strict and (stat + spread == low
                                                                   or stat - spread == high)):
        return "fails", stat
    return "inconclusive", stat
