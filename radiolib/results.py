"""Results store: numbers the notebooks reproduce, the published values, and the report table.

Each notebook records its numbers with a :class:`ResultsStore`, which writes
``<results_dir>/<notebook>.json``. The published values live in ``radiolib/published.yaml``
(one row per number, see the comments in that file). :func:`report_table` joins the two for
the "published vs reproduced" page: every published row appears, reproduced or not.
"""

from __future__ import annotations

import difflib
import html
import json
import math
import numbers
import os
import tempfile
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd
import yaml

from radiolib.errors import ConfigError

__all__ = [
    "EXTRA_PREFIX",
    "PUBLISHED_PATH",
    "ResultsStore",
    "load_published",
    "load_reproduced",
    "report_html",
    "report_table",
    "slug",
    "status_counts",
]

PUBLISHED_PATH = Path(__file__).with_name("published.yaml")
EXTRA_PREFIX = "extra."

def slug(name: str) -> str:
    """Return a label as a key part: ``"ViT-S/8 (DINO)"`` -> ``"vit-s8_dino"``."""
    return name.lower().replace(" ", "_").translate(str.maketrans("", "", "()/"))


_REQUIRED = ("key", "paper", "source", "quantity", "value", "unit", "notebook")
_OPTIONAL = ("comment",)
_MAX_TEXT = 80
_REPORT_COLUMNS = ["paper", "source", "quantity", "published", "reproduced", "unit", "status",
                   "note"]


def _atomic_write_text(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _validate_rows(rows: object, path: Path) -> list[dict]:
    if not isinstance(rows, list):
        raise ConfigError(f"{path}: expected a YAML list of rows, got {type(rows).__name__}")
    seen: set[str] = set()
    for i, row in enumerate(rows):
        where = f"{path}, row {i + 1}"
        if not isinstance(row, dict):
            raise ConfigError(f"{where}: expected a mapping, got {row!r}")
        missing = [f for f in _REQUIRED if f not in row]
        unknown = sorted(set(row) - set(_REQUIRED) - set(_OPTIONAL))
        if missing or unknown:
            raise ConfigError(f"{where} ({row.get('key')}): missing fields {missing}, "
                              f"unknown fields {unknown}")
        key = row["key"]
        if not isinstance(key, str) or key.count(".") < 2 or key.startswith(EXTRA_PREFIX):
            raise ConfigError(f"{where}: key {key!r} must look like 'paper2024.where.name'")
        if key in seen:
            raise ConfigError(f"{path}: duplicate key {key!r}")
        seen.add(key)
        for field in ("paper", "source", "quantity"):
            if not isinstance(row[field], str) or not row[field].strip():
                raise ConfigError(f"{where} ({key}): {field!r} must be a non-empty string")
        if not isinstance(row["unit"], str):
            raise ConfigError(f"{where} ({key}): 'unit' must be a string (\"\" if none)")
        value = row["value"]
        if value is not None and (isinstance(value, bool) or not isinstance(value, numbers.Real)):
            raise ConfigError(f"{where} ({key}): 'value' must be a number or null")
        if row["notebook"] is not None and not isinstance(row["notebook"], str):
            raise ConfigError(f"{where} ({key}): 'notebook' must be a notebook name or null")
    return rows


def load_published(path: str | os.PathLike | None = None) -> pd.DataFrame:
    """Read and validate the published values.

    Parameters
    ----------
    path : path-like, optional
        A YAML file of rows; default ``radiolib/published.yaml``.

    Returns
    -------
    pandas.DataFrame
        One row per published value, columns ``key, paper, source, quantity, value, unit,
        notebook, comment``, in file order.

    Raises
    ------
    ConfigError
        If a row lacks a field, has an unknown one, a bad type, or repeats a key.
    """
    path = Path(path) if path is not None else PUBLISHED_PATH
    rows = _validate_rows(yaml.safe_load(path.read_text(encoding="utf-8")), path)
    columns = list(_REQUIRED) + list(_OPTIONAL)
    records = [{c: row.get(c) for c in columns} for row in rows]
    return pd.DataFrame(records, columns=columns, dtype=object)  # keep ints as ints


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
        if self.path.exists():  # re-running cells interactively keeps earlier records
            saved = json.loads(self.path.read_text(encoding="utf-8"))
            if saved.get("profile") == profile:
                self.results = dict(saved.get("results", {}))

    def record(self, key: str, value: float | int | str, *, note: str | None = None) -> None:
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

        Raises
        ------
        ConfigError
            If ``key`` is neither published nor ``extra.*``; the message lists close matches.
        ValueError
            If ``value`` is not a finite number or a short string.
        """
        if key not in self._keys and not key.startswith(EXTRA_PREFIX):
            close = difflib.get_close_matches(key, sorted(self._keys), n=3, cutoff=0.5)
            hint = f"; did you mean {', '.join(close)}?" if close else ""
            raise ConfigError(f"unknown result key {key!r}: use a key of published.yaml or "
                              f"'{EXTRA_PREFIX}<name>'{hint}")
        self.results[key] = {"value": _check_value(key, value), "note": note}
        self.save()

    def record_counts(self, prefix: str, counts: pd.DataFrame) -> list[str]:
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
            self.results[key] = {"value": _check_value(key, int(values[key])), "note": None}
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
        _atomic_write_text(self.path, json.dumps(payload, indent=1, sort_keys=True) + "\n")
        return self.path


def load_reproduced(results_dir: str | os.PathLike) -> pd.DataFrame:
    """Read every notebook's results file in ``results_dir``.

    Returns
    -------
    pandas.DataFrame
        Columns ``key, value, note, notebook, profile``; empty if nothing was recorded.
        A key recorded by two notebooks keeps the later notebook's value.
    """
    rows = {}
    for path in sorted(Path(results_dir).glob("*.json")):
        saved = json.loads(path.read_text(encoding="utf-8"))
        for key, rec in saved.get("results", {}).items():
            rows[key] = {"key": key, "value": rec.get("value"), "note": rec.get("note"),
                         "notebook": saved.get("notebook", path.stem),
                         "profile": saved.get("profile")}
    return pd.DataFrame(list(rows.values()), dtype=object,
                        columns=["key", "value", "note", "notebook", "profile"])


NOT_TRANSCRIBED = "value not transcribed yet"  # the `comment` of rows still to be filled in


def _status(published: object, reproduced: object, key: str, comment: object = None) -> str:
    if key.startswith(EXTRA_PREFIX):
        return "extra (not in the papers)"
    if reproduced is None:
        return "not yet reproduced"
    if published is None:
        return ("published value not transcribed yet" if str(comment).startswith(NOT_TRANSCRIBED)
                else "no published value (figure)")
    return "reproduced"


def report_table(results_dir: str | os.PathLike) -> pd.DataFrame:
    """Join published and reproduced values, one row per published value plus ``extra.*``.

    Parameters
    ----------
    results_dir : path-like
        Folder of one profile's results files.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``key``; columns ``paper, source, quantity, published, reproduced, unit,
        status, note``. ``status`` is "reproduced", "not yet reproduced", "published value not
        transcribed yet", "no published value
        (figure)" or, for ``extra.*`` keys, "extra (not in the papers)".
    """
    published = load_published()
    reproduced = load_reproduced(results_dir).set_index("key")
    rows = []
    for row in published.itertuples(index=False):
        rec = reproduced.loc[row.key] if row.key in reproduced.index else None
        value = None if rec is None else rec["value"]
        published_value = None if pd.isna(row.value) else row.value
        rows.append({"key": row.key, "paper": row.paper, "source": row.source,
                     "quantity": row.quantity, "published": published_value,
                     "reproduced": value, "unit": row.unit,
                     "status": _status(published_value, value, row.key, row.comment),
                     "note": (rec["note"] if rec is not None else None) or row.comment})
    for key, rec in reproduced.iterrows():
        if key.startswith(EXTRA_PREFIX):
            rows.append({"key": key, "paper": "radiolib (extra)", "source": rec["notebook"],
                         "quantity": key[len(EXTRA_PREFIX):], "published": None,
                         "reproduced": rec["value"], "unit": "",
                         "status": _status(None, rec["value"], key), "note": rec["note"]})
    return pd.DataFrame(rows, columns=["key", *_REPORT_COLUMNS], dtype=object).set_index("key")


_BREAK = "word-break: break-all"  # long result keys may wrap anywhere


def _cell(value: object, unit: str) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    if isinstance(value, numbers.Integral):
        text = str(value)
    else:
        text = f"{value:.4g}" if isinstance(value, numbers.Real) else str(value)
    return html.escape(f"{text} {unit}" if unit else text)


def report_html(table: pd.DataFrame) -> str:
    """Render a :func:`report_table` as HTML: one captioned table per paper.

    Five columns fit the page: quantity (with the result key and any note under it),
    source, published and reproduced value (with the unit) and status.
    """
    parts = []
    widths = {"quantity": 36, "source": 24, "published": 13, "reproduced": 13, "status": 14}
    head = "".join(f'<th style="width: {w}%">{c}</th>' for c, w in widths.items())
    for paper, rows in table.groupby("paper", sort=False):
        body = []
        for key, row in rows.iterrows():
            text = row["note"] if isinstance(row["note"], str) else ""
            note = f"<br><small><em>{html.escape(text)}</em></small>" if text else ""
            body.append(
                f'<tr><td>{html.escape(row["quantity"])}<br><small><code style="{_BREAK}">'
                f"{html.escape(key)}"
                f'</code></small>{note}</td><td>{html.escape(str(row["source"]))}</td>'
                f'<td>{_cell(row["published"], row["unit"])}</td>'
                f'<td>{_cell(row["reproduced"], row["unit"])}</td>'
                f'<td>{html.escape(row["status"])}</td></tr>')
        parts.append(f'<table class="table radiolib-report"><caption>{html.escape(paper)}'
                     f'</caption><thead><tr>{head}</tr></thead><tbody>{"".join(body)}'
                     f"</tbody></table>")
    return f'<div style="overflow-x: auto">{"".join(parts)}</div>'


def status_counts(table: pd.DataFrame) -> pd.DataFrame:
    """Count the rows of a :func:`report_table` by paper and status (one column per status)."""
    counts = pd.crosstab(table["paper"], table["status"], margins=True, margins_name="total")
    return counts.rename_axis(index="paper", columns=None)
