"""Results store: numbers the notebooks reproduce, and the report that judges them.

Each notebook records its numbers with a :class:`ResultsStore`, which writes
``<results_dir>/<notebook>.json``. The published values live in ``radiolib/published.yaml``
(read and judged by :mod:`radiolib.published`). :func:`report_table` joins the two for the
"published vs reproduced" page: every published row appears with a verdict, reproduced or not.

A results file also says how its notebook's run went (``status``, set by
:func:`mark_results`): `radiolib.reproduce` marks it ``running`` before executing the notebook,
then ``complete`` or ``failed``. The numbers of a run that failed or never finished are shown as
``failed run (not reproduced)`` and take part in no comparison or claim. A file without a
status (recorded interactively) counts as complete.
"""

from __future__ import annotations

import difflib
import html
import json
import math
import numbers
import os
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd

from radiolib.errors import ConfigError
from radiolib.files import atomic_write
from radiolib.published import (
    EVIDENCE,
    PUBLISHED_PATH,
    VERDICT_RULE,
    claim_verdict,
    published_rows,
    section_of,
    verdict,
)

__all__ = [
    "EXTRA_PREFIX",
    "FAILED_RUN",
    "STATUSES",
    "PUBLISHED_PATH",
    "VERDICT_RULE",
    "ResultsStore",
    "load_published",
    "load_reproduced",
    "mark_results",
    "report_html",
    "report_summary",
    "report_table",
    "slug",
    "status_counts",
]

EXTRA_PREFIX = "extra."
FIGURE = "figure"  # the value a notebook records for a figure it redraws
#: How a notebook's run went, as its results file says (no status: recorded interactively).
STATUSES = ("running", "complete", "failed")
#: The verdict of a value whose notebook failed or did not finish.
FAILED_RUN = "failed run (not reproduced)"


def slug(name: str) -> str:
    """Return a label as a key part: ``"ViT-S/8 (DINO)"`` -> ``"vit-s8_dino"``."""
    return name.lower().replace(" ", "_").translate(str.maketrans("", "", "()/"))


_FIELDS = ("key", "paper", "source", "quantity", "value", "uncertainty", "unit", "kind",
           "compare", "tolerance", "notebook", "comment", "conflicts_with", "compared", "claim")
_MAX_TEXT = 80
_REPORT_COLUMNS = ["paper", "section", "source", "quantity", "kind", "published", "uncertainty",
                   "reproduced", "reproduced_uncertainty", "unit", "profile", "evidence",
                   "difference", "verdict", "note"]


def load_published(path: str | os.PathLike | None = None) -> pd.DataFrame:
    """Read and validate the published values as a table (see :mod:`radiolib.published`).

    Returns
    -------
    pandas.DataFrame
        One row per published value, in file order; one column per field of
        ``published.yaml`` (absent optional fields are None).

    Raises
    ------
    ConfigError
        If a row breaks the schema (the message names the row and the field).
    """
    rows = published_rows(path)
    return pd.DataFrame([{c: row.get(c) for c in _FIELDS} for row in rows],
                        columns=list(_FIELDS), dtype=object)  # keep ints as ints


def _check_value(key: str, value: object) -> float | int | str:
    if hasattr(value, "item") and not isinstance(value, str):  # numpy / torch scalars
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, (numbers.Real, str)):
        raise ValueError(f"{key}: a result must be a number or a short string, got {value!r}")
    if isinstance(value, str) and len(value) > _MAX_TEXT:
        raise ValueError(f"{key}: text results are limited to {_MAX_TEXT} characters")
    if isinstance(value, numbers.Real) and not math.isfinite(value):
        raise ValueError(f"{key}: the value {value!r} is not finite")
    return value if isinstance(value, (int, str)) else float(value)


class ResultsStore:
    """Record the numbers one notebook reproduces, in ``<results_dir>/<notebook>.json``.

    Parameters
    ----------
    results_dir : path-like
        Folder of the profile's results (the notebooks' ``results_dir`` parameter).
    profile : str
        The profile the notebook runs under.
    notebook : str
        The notebook's name, e.g. ``"01_data_and_scaling"``.

    Examples
    --------
    >>> store = ResultsStore(results_dir, profile, "01_data_and_scaling")  # doctest: +SKIP
    >>> store.record("griese2022.rgd.n_train", 1758)  # doctest: +SKIP
    """

    def __init__(self, results_dir: str | os.PathLike, profile: str, notebook: str):
        self.path = Path(results_dir) / f"{notebook}.json"
        self.profile = profile
        self.notebook = notebook
        self._keys = set(load_published()["key"])
        self.results: dict[str, dict] = {}
        self.status: str | None = None  # kept as the file says (reproduce sets it)
        self.error: str | None = None
        if self.path.exists():  # re-running cells interactively keeps earlier records
            saved = json.loads(self.path.read_text(encoding="utf-8"))
            if saved.get("profile") == profile:
                self.results = dict(saved.get("results", {}))
                self.status, self.error = saved.get("status"), saved.get("error")

    def record(self, key: str, value: float | int | str, *, note: str | None = None,
               uncertainty: float | None = None, evidence: str = "analogue") -> None:
        """Record one reproduced value and save the file.

        Parameters
        ----------
        key : str
            A key of ``published.yaml``, or any name starting with ``"extra."`` for a number
            the papers do not publish.
        value : number or str
            The reproduced value (numpy scalars are accepted); text up to 80 characters.
        note : str, optional
            A short remark shown in the report (e.g. "smoke profile: 200 images").
        uncertainty : float, optional
            The value's spread (a standard deviation over runs, a bootstrap half-width):
            the report and the claims use it.
        evidence : {"analogue", "like-for-like", "released-weights"}
            What the number is evidence of: ``like-for-like`` only when data and protocol are
            the paper's own (real data, the paper's settings), ``released-weights`` when the
            paper's published model produced it, ``analogue`` otherwise (simulated data, our
            CPU-trained models). Only the first two are compared with the published value.

        Raises
        ------
        ConfigError
            If ``key`` is neither published nor ``extra.*``; the message lists close matches.
        ValueError
            If ``value`` is not a finite number or a short string, or ``evidence`` unknown.
        """
        if key not in self._keys and not key.startswith(EXTRA_PREFIX):
            close = difflib.get_close_matches(key, sorted(self._keys), n=3, cutoff=0.5)
            hint = f"; did you mean {', '.join(close)}?" if close else ""
            raise ConfigError(f"unknown result key {key!r}: use a key of published.yaml or "
                              f"'{EXTRA_PREFIX}<name>'{hint}")
        if evidence not in EVIDENCE:
            raise ValueError(f"{key}: evidence must be one of {', '.join(EVIDENCE)}, "
                             f"got {evidence!r}")
        entry = {"value": _check_value(key, value), "note": note, "evidence": evidence}
        if uncertainty is not None:
            spread = _check_value(key, uncertainty)
            if isinstance(spread, str) or spread < 0:
                raise ValueError(f"{key}: the uncertainty must be a number >= 0, got "
                                 f"{uncertainty!r}")
            entry["uncertainty"] = float(spread)
        self.results[key] = entry
        self.save()

    def record_many(self, values: dict[str, float | int | str], *, note: str | None = None,
                    evidence: str = "analogue") -> None:
        """Record several values with one note and kind of evidence."""
        for key, value in values.items():
            self.record(key, value, note=note, evidence=evidence)

    def record_result(self, result) -> None:
        """Record what a :class:`radiolib.papers.PaperResult` contributes.

        Its records, with their uncertainties, its note and its kind of evidence.
        """
        for key, value in result.records.items():
            evidence = getattr(result, "evidence_by_key", {}).get(key, result.evidence)
            self.record(key, value, note=result.note, evidence=evidence,
                        uncertainty=result.uncertainties.get(key))

    def figure(self, key: str, label: str) -> None:
        """Record that this notebook redraws a published figure, as the figure's cell ``label``."""
        self.record(key, FIGURE, note=label)

    def record_counts(self, prefix: str, counts: pd.DataFrame, *,
                      evidence: str = "analogue") -> list[str]:
        """Record a class × split count table as ``<prefix>.n_<class>_<split>`` keys.

        Column sums go to ``<prefix>.n_<split>`` and the grand total to ``<prefix>.n_total``
        (the ``total`` column). Under an ``extra.`` prefix every cell is recorded; otherwise
        only the keys that ``published.yaml`` lists. Returns the keys recorded.
        """
        values = {f"{prefix}.n_{cls.lower()}_{col}": counts.loc[cls, col]
                  for cls in counts.index for col in counts.columns}
        values.update({f"{prefix}.n_{col}": counts[col].sum() for col in counts.columns
                       if col != "total"})
        if "total" in counts.columns:
            values[f"{prefix}.n_total"] = counts["total"].sum()
        keep = [k for k in values if k.startswith(EXTRA_PREFIX) or k in self._keys]
        for key in keep:
            self.results[key] = {"value": _check_value(key, int(values[key])), "note": None,
                                 "evidence": evidence}
        self.save()
        return keep

    def save(self) -> Path:
        """Write the results file atomically (also when nothing was recorded) and return it."""
        payload = {
            "profile": self.profile,
            "notebook": self.notebook,
            "written_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "results": self.results,
        }
        if self.status is not None:
            payload["status"] = self.status
        if self.error is not None:
            payload["error"] = self.error
        atomic_write(self.path, json.dumps(payload, indent=1, sort_keys=True) + "\n")
        return self.path


def mark_results(results_dir: str | os.PathLike, profile: str, notebook: str, status: str, *,
                 error: str | None = None, fresh: bool = False) -> Path:
    """Set the ``status`` of a notebook's results file (``running``, ``complete``, ``failed``).

    ``fresh=True`` starts an empty file (before a run: no stale numbers); otherwise the
    recorded numbers are kept. ``error`` says why a run failed. Returns the file's path.
    """
    if status not in STATUSES:
        raise ValueError(f"status must be one of {', '.join(STATUSES)}, got {status!r}")
    path = Path(results_dir) / f"{notebook}.json"
    if fresh:
        path.unlink(missing_ok=True)
    store = ResultsStore(results_dir, profile, notebook)
    store.status, store.error = status, error
    return store.save()


def load_reproduced(results_dir: str | os.PathLike) -> pd.DataFrame:
    """Read every notebook's results file in ``results_dir``.

    Returns
    -------
    pandas.DataFrame
        Columns ``key, value, uncertainty, evidence, note, notebook, profile, status, error``;
        empty if nothing was recorded. ``status`` is ``complete`` (also for a file without
        one), ``running`` (the notebook did not finish) or ``failed`` (``error`` says why). A
        key recorded by two notebooks keeps the later notebook's value, but a finished
        notebook's over a failed one's.
    """
    rows: dict[str, dict] = {}
    for path in sorted(Path(results_dir).glob("*.json")):
        saved = json.loads(path.read_text(encoding="utf-8"))
        status = saved.get("status") or "complete"
        for key, rec in saved.get("results", {}).items():
            if status != "complete" and rows.get(key, {}).get("status") == "complete":
                continue
            rows[key] = {"key": key, "value": rec.get("value"),
                         "uncertainty": rec.get("uncertainty"),
                         "evidence": rec.get("evidence", "analogue"), "note": rec.get("note"),
                         "notebook": saved.get("notebook", path.stem),
                         "profile": saved.get("profile"), "status": status,
                         "error": saved.get("error")}
    return pd.DataFrame(list(rows.values()), dtype=object,
                        columns=["key", "value", "uncertainty", "evidence", "note", "notebook",
                                 "profile", "status", "error"])


def _failed_note(rec: dict) -> str:
    why = rec["error"] or "it did not finish"
    return f"notebook {rec['notebook']} failed ({why}): its numbers are not results"


def _none(value: object) -> object:
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else value


def report_table(results_dir: str | os.PathLike) -> pd.DataFrame:
    """Judge every published row against what the notebooks recorded, plus ``extra.*`` rows.

    Parameters
    ----------
    results_dir : path-like
        Folder of one profile's results files.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``key``; columns ``paper, section, source, quantity, kind, published,
        uncertainty, reproduced, reproduced_uncertainty, unit, profile, evidence, difference,
        verdict, note``. The verdict follows :data:`radiolib.published.VERDICT_RULE`; a claim
        row's ``reproduced`` is its statistic (e.g. the difference it tests) on our values,
        its ``published`` the same statistic on the paper's own numbers where the paper prints
        them (the note says whether the claim holds there too).
    """
    reproduced = load_reproduced(results_dir).set_index("key")
    every = {key: {k: _none(v) for k, v in rec.items()} for key, rec in reproduced.iterrows()}
    records = {k: r for k, r in every.items() if r["status"] == "complete"}
    failed = {k: r for k, r in every.items() if r["status"] != "complete"}
    rows = []
    published = published_rows()
    paper_values = {r["key"]: {"value": r["value"], "uncertainty": r.get("uncertainty")}
                    for r in published if r["value"] is not None}
    for row in published:
        rec = records.get(row["key"])
        out = {"key": row["key"], "paper": row["paper"], "section": section_of(row["key"]),
               "source": row["source"], "quantity": row["quantity"], "kind": row["kind"],
               "published": row["value"], "uncertainty": row.get("uncertainty"),
               "reproduced": None, "reproduced_uncertainty": None, "unit": row["unit"],
               "profile": None, "evidence": None, "difference": None, "verdict": None,
               "note": row.get("comment")}
        if row["kind"] == "claim":
            claim = row["claim"]
            state, stat = claim_verdict(claim, records)
            on_paper, paper_stat = claim_verdict(claim, paper_values)
            used = [records[k] for k in (claim["a"], claim.get("b")) if k in records]
            note = claim["text"] + ("" if on_paper == "not run" else
                                    f" [on the paper's own numbers: {on_paper}]")
            out.update(verdict=f"claim {state}", reproduced=stat, published=paper_stat,
                       profile=", ".join(sorted({r["profile"] for r in used})) or None,
                       note=note)
        else:
            if rec is not None:
                out.update(reproduced=rec["value"], reproduced_uncertainty=rec["uncertainty"],
                           profile=rec["profile"], evidence=rec["evidence"],
                           note=rec["note"] or out["note"])
                if isinstance(rec["value"], numbers.Real):
                    out["difference"] = rec["value"] - row["value"] \
                        if row["value"] is not None else None
            out["verdict"] = verdict(row, rec, rec["profile"] if rec else None)
            if rec is None and row["key"] in failed:
                bad = failed[row["key"]]
                out.update(reproduced=bad["value"], reproduced_uncertainty=bad["uncertainty"],
                           profile=bad["profile"], evidence=bad["evidence"],
                           verdict=FAILED_RUN, note=_failed_note(bad))
            elif row.get("compared") is False:
                other = row.get("conflicts_with")
                other = ", ".join(other) if isinstance(other, list) else other
                out["verdict"] = (f"not compared (the book compares {other})" if other
                                  else "not compared (context only)")
        rows.append(out)
    for key, rec in every.items():
        if key.startswith(EXTRA_PREFIX):
            ok = rec["status"] == "complete"
            rows.append({"key": key, "paper": "radiolib (extra)", "section": rec["notebook"],
                         "source": rec["notebook"], "quantity": key[len(EXTRA_PREFIX):],
                         "kind": "extra", "published": None, "uncertainty": None,
                         "reproduced": rec["value"],
                         "reproduced_uncertainty": rec["uncertainty"], "unit": "",
                         "profile": rec["profile"], "evidence": rec["evidence"],
                         "difference": None,
                         "verdict": "extra (not in the papers)" if ok else f"extra, {FAILED_RUN}",
                         "note": rec["note"] if ok else _failed_note(rec)})
    return pd.DataFrame(rows, columns=["key", *_REPORT_COLUMNS], dtype=object).set_index("key")


#: The summary's lines: label -> test on the report's verdict column.
_SUMMARY = {
    "published rows": lambda v: ~v.str.startswith("extra"),
    "recorded (any evidence)": lambda v: ~v.isin(["not yet run", FAILED_RUN])
    & ~v.str.startswith("claim") & ~v.str.startswith("extra"),
    "compared like-for-like": lambda v: v.isin(["match", "mismatch", "within tolerance",
                                                "outside tolerance"]),
    "match or within tolerance": lambda v: v.isin(["match", "within tolerance"]),
    "mismatch or outside tolerance": lambda v: v.isin(["mismatch", "outside tolerance"]),
    "analogues (not compared)": lambda v: v == "analogue (not compared)",
    "not comparable at this profile": lambda v: v.str.startswith("not comparable"),
    "figures redrawn": lambda v: v == "figure only (see its claims)",
    "not yet run": lambda v: v == "not yet run",
    "failed runs (not reproduced)": lambda v: v.str.endswith(FAILED_RUN),
    "claims that hold": lambda v: v == "claim holds",
    "claims that fail": lambda v: v == "claim fails",
    "claims inconclusive": lambda v: v == "claim inconclusive",
    "claims not run": lambda v: v == "claim not run",
}


def report_summary(table: pd.DataFrame) -> pd.DataFrame:
    """Count a :func:`report_table` at a glance: one line per summary item, one column per paper."""
    verdicts = table["verdict"].astype(str)
    papers = [p for p in table["paper"].unique() if p != "radiolib (extra)"]
    data = {}
    for paper in [*papers, "all"]:
        mask = table["paper"] == paper if paper != "all" else pd.Series(True, index=table.index)
        data[paper] = {label: int((test(verdicts) & mask).sum())
                       for label, test in _SUMMARY.items()}
    return pd.DataFrame(data).rename_axis(index="rows")


def status_counts(table: pd.DataFrame) -> pd.DataFrame:
    """Count the rows of a :func:`report_table` by paper and verdict (one column per verdict)."""
    counts = pd.crosstab(table["paper"], table["verdict"], margins=True, margins_name="total")
    return counts.rename_axis(index="paper", columns=None)


def _number(value: object, spread: object = None, unit: str = "") -> str:
    value, spread = _none(value), _none(spread)
    if value is None:
        return "—"
    if isinstance(value, numbers.Integral):
        text = str(value)
    else:
        text = f"{value:.4g}" if isinstance(value, numbers.Real) else str(value)
    if isinstance(spread, numbers.Real) and spread:
        text += f" ± {spread:.2g}"
    return html.escape(f"{text} {unit}" if unit and text != "figure" else text)


_STYLE = """<style>
.radiolib-report td, .radiolib-report th {vertical-align: top; font-size: 0.85em}
.radiolib-report code {word-break: break-all}
.radiolib-verdict-ok {color: #1a7f37} .radiolib-verdict-bad {color: #cf222e}
</style>"""
_SCRIPT = """<script>
(function () {
  const root = document.currentScript.parentElement;
  const selects = root.querySelectorAll("select[data-filter]");
  function apply() {
    const want = {};
    selects.forEach(s => { if (s.value) want[s.dataset.filter] = s.value; });
    let shown = 0;
    root.querySelectorAll("tbody tr").forEach(tr => {
      const ok = Object.entries(want).every(([k, v]) => tr.dataset[k] === v);
      tr.style.display = ok ? "" : "none";
      shown += ok;
    });
    root.querySelector(".radiolib-shown").textContent = shown;
  }
  selects.forEach(s => s.addEventListener("change", apply));
})();
</script>"""
_OK = ("match", "within tolerance", "claim holds")
_BAD = ("mismatch", "outside tolerance", "claim fails", FAILED_RUN, f"extra, {FAILED_RUN}")


def _select(name: str, values: list[str]) -> str:
    options = "".join(f'<option value="{html.escape(v)}">{html.escape(v)}</option>'
                      for v in values)
    return (f'<label style="margin-right: 1em">{name} <select data-filter="{name}">'
            f'<option value="">all</option>{options}</select></label>')


def report_html(table: pd.DataFrame) -> str:
    """Render a :func:`report_table` as one HTML table, filterable by paper, section, verdict.

    Each row: the quantity (its key and note under it), where in the paper, the published
    value ± its uncertainty, ours ± ours (with the profile and the kind of evidence), the
    difference and the verdict. Three drop-downs filter the rows (a few lines of JavaScript;
    without it every row shows).
    """
    body = []
    for key, row in table.iterrows():
        note = row["note"] if isinstance(row["note"], str) else ""
        note = f"<br><small><em>{html.escape(note)}</em></small>" if note else ""
        verdict_text = str(row["verdict"])
        css = ("radiolib-verdict-ok" if verdict_text in _OK
               else "radiolib-verdict-bad" if verdict_text in _BAD else "")
        evidence = " · ".join(str(x) for x in (row["profile"], row["evidence"]) if _none(x))
        body.append(
            f'<tr data-paper="{html.escape(str(row["paper"]))}" '
            f'data-section="{html.escape(str(row["section"]))}" '
            f'data-verdict="{html.escape(verdict_text)}">'
            f'<td>{html.escape(str(row["quantity"]))}<br><small><code>{html.escape(key)}'
            f"</code></small>{note}</td>"
            f'<td>{html.escape(str(row["paper"]))}<br><small>{html.escape(str(row["source"]))}'
            f"</small></td>"
            f'<td>{_number(row["published"], row["uncertainty"], row["unit"])}</td>'
            f'<td>{_number(row["reproduced"], row["reproduced_uncertainty"], row["unit"])}'
            f"<br><small>{html.escape(evidence)}</small></td>"
            f'<td>{_number(row["difference"])}</td>'
            f'<td class="{css}">{html.escape(verdict_text)}</td></tr>')
    widths = {"quantity": 34, "paper and source": 18, "published": 12, "reproduced": 14,
              "difference": 8, "verdict": 14}
    head = "".join(f'<th style="width: {w}%">{c}</th>' for c, w in widths.items())
    filters = (_select("paper", list(table["paper"].unique()))
               + _select("section", sorted(table["section"].astype(str).unique()))
               + _select("verdict", sorted(table["verdict"].astype(str).unique())))
    return (f'<div class="radiolib-report-root" style="overflow-x: auto">{_STYLE}'
            f'<p>{filters} <span class="radiolib-shown">{len(table)}</span> rows shown</p>'
            f'<table class="table radiolib-report"><thead><tr>{head}</tr></thead>'
            f'<tbody>{"".join(body)}</tbody></table>{_SCRIPT}</div>')
