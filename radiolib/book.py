"""What every notebook of the book calls: one set-up call, and numbers glued into its text.

:func:`start` replaces the plumbing at the top of a notebook (figure style, results store), so
that the rendered page hides one line instead of a cell of set-up. :func:`glue` hands a number
the run computed to the page text (MyST-NB's ``{glue:text}`name:.1f```), so that captions and
sentences are right under every profile rather than written for one.
"""

from __future__ import annotations

import os

import numpy as np

from radiolib import plots
from radiolib.results import ResultsStore

__all__ = ["glue", "span", "start"]


def start(notebook: str, *, profile: str, results_dir: str | os.PathLike) -> ResultsStore:
    """Set the book's figure style and return the notebook's :class:`ResultsStore`."""
    plots.use_style()
    return ResultsStore(results_dir, profile=profile, notebook=notebook)


class _Text(str):
    """A string whose plain-text display has no quotes, so that glued words read as text."""

    def __repr__(self) -> str:
        return str(self)


def glue(name: str, value):
    """Make ``value`` available to the page text as ``name``; return it unchanged.

    Strings are glued without quotes and numpy scalars as plain numbers (so that a format
    such as ``{glue:text}`name:.1f``` can read them). Without MyST-NB (a plain install, not
    ``radiolib[book]``) the value is only returned.
    """
    try:
        from myst_nb import glue as _glue  # optional: the book extra
    except ImportError:
        return value
    shown = value.item() if isinstance(value, np.generic) else value
    _glue(name, _Text(shown) if isinstance(shown, str) else shown, display=False)
    return value


def span(values, fmt: str = ".2f") -> str:
    """Format the range of ``values`` for a sentence: ``"0.15–0.50"`` (one number if all equal).

    >>> span([0.5, 0.148, 0.2]), span([3, 3], ".0f")
    ('0.15–0.50', '3')
    """
    lo, hi = min(values), max(values)
    lo_text, hi_text = format(lo, fmt), format(hi, fmt)
    return lo_text if lo_text == hi_text else f"{lo_text}–{hi_text}"
