"""What every notebook of the book calls: one set-up call, and numbers glued into its text.

:func:`start` replaces the plumbing at the top of a notebook (figure style, results store), so
that the rendered page hides one line instead of a cell of set-up. :func:`glue` hands a number
the run computed to the page text (MyST-NB's ``{glue:text}`name:.1f```), so that captions and
sentences are right under every profile rather than written for one.
"""

from __future__ import annotations

import os

from radiolib import plots
from radiolib.results import ResultsStore

__all__ = ["glue", "start"]


def start(notebook: str, *, profile: str, results_dir: str | os.PathLike) -> ResultsStore:
    """Set the book's figure style and return the notebook's :class:`ResultsStore`."""
    plots.use_style()
    return ResultsStore(results_dir, profile=profile, notebook=notebook)


def glue(name: str, value):
    """Make ``value`` available to the page text as ``name``; return it unchanged.

    Without MyST-NB (a plain install, not ``radiolib[book]``) the value is only returned.
    """
    try:
        from myst_nb import glue as _glue  # optional: the book extra
    except ImportError:
        return value
    _glue(name, value, display=False)
    return value
