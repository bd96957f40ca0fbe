"""Each paper's experiments, once: data sets, splits, protocols, tables and their result keys.

One module per paper (:mod:`~radiolib.papers.riggi2024`, :mod:`~radiolib.papers.lastufka2024`),
one function per table, figure or experiment. Each returns a :class:`PaperResult`: a tidy table
for the page and the records it contributes to the results store, keyed by constants that a
test checks against ``published.yaml``. Notebooks call these functions and show their results;
nothing below this layer knows a paper's tables.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

__all__ = ["PaperResult"]


@dataclass
class PaperResult:
    """A table to show and the records it adds to the results store (one call to record).

    ``uncertainties`` are the records' ± (half-widths of 95 % intervals where a probe gives
    them); ``text`` is Markdown that compares the table's rows from those intervals.
    """

    table: pd.DataFrame
    records: dict[str, float] = field(default_factory=dict)
    note: str | None = None
    evidence: str = "analogue"
    uncertainties: dict[str, float] = field(default_factory=dict)
    #: Records whose evidence differs from ``evidence``: key -> kind (e.g. another group's
    #: released weights scored on real data among analogue rows).
    evidence_by_key: dict[str, str] = field(default_factory=dict)
    #: Other values the page shows beside the table (reference lines, counts by geometry).
    details: dict = field(default_factory=dict)
    text: str = ""
