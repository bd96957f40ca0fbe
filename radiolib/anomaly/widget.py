"""The review in a live notebook: candidates as cards with 0-5 buttons, saved to the review file.

:class:`ReviewWidget` shows the frames of a review file (written by `radiolib anomaly rank` or
:func:`radiolib.anomaly.save_search`) a page at a time (one card, or a grid), each with its
thumbnail, its labels when known and its anomaly score. The person's scores are written with
the same functions as the CSV round trip (:func:`~radiolib.anomaly.write_review`: atomic, the
previous file kept as a numbered backup) and "re-rank" runs
:func:`~radiolib.anomaly.review_search` on that file, so a notebook session, the CSV and a
restart all see the same scores. Nothing waits for input: building the widget returns at once.
"""

from __future__ import annotations

import html
import os
from collections.abc import Mapping, Sequence
from numbers import Integral
from pathlib import Path

import numpy as np
import pandas as pd

from radiolib.anomaly.review import SCORE_MAX, read_review, thumbnail_png, write_review
from radiolib.anomaly.search import review_search, save_search
from radiolib.errors import ConfigError, DataError, RadiolibError

__all__ = ["ReviewWidget", "review_widget"]

#: Button colour of the score a frame has (ipywidgets button styles).
_CHOSEN, _OTHER = "success", ""


def _widgets():
    try:
        import ipywidgets
    except ImportError:
        raise ConfigError("the review widget needs ipywidgets: pip install 'radiolib[book]' "
                          "(or pip install ipywidgets), or use the CSV round trip "
                          "`radiolib anomaly review`") from None
    return ipywidgets


class ReviewWidget:
    """Cards of the candidates of review file ``path``, ``per_page`` at a time.

    ``images`` (``images[frame]``) draws thumbnails from the frames themselves; without it
    the PNG files of the file's ``thumbnail`` column are shown. ``labels`` maps a frame to its
    labels (``"A|B"``; empty or missing: unlabelled). ``weight`` and ``seed`` go to
    :func:`~radiolib.anomaly.review_search`. A file that does not parse is refused (the
    `radiolib.errors.DataError` of :func:`~radiolib.anomaly.read_review`) and left as it is.

    Buttons: ``0``-``5`` on each card score its frame, ``previous``/``next`` turn the page,
    ``save`` writes the scores to ``path`` (after a backup) and ``re-rank`` saves, then
    re-ranks the file from the scores. ``ui`` is the widget to display.
    """

    def __init__(self, path: str | os.PathLike, *, images=None,
                 labels: Mapping[int, str] | Sequence[str] | None = None, per_page: int = 6,
                 columns: int = 3, thumb_px: int = 160, weight: float = 0.5, seed: int = 0):
        if per_page < 1 or columns < 1:
            raise ConfigError(f"per_page and columns must be >= 1, got {per_page}, {columns}")
        self._w = _widgets()
        self.path = Path(path)
        self.table = read_review(self.path)
        self.images, self.labels = images, labels
        self.per_page, self.columns, self.thumb_px = int(per_page), int(columns), int(thumb_px)
        self.weight, self.seed = weight, seed
        self.page = 0
        self.unsaved = False
        self._thumbs: dict[int, bytes | None] = {}
        w = self._w
        self.prev_button = w.Button(description="previous", icon="arrow-left")
        self.next_button = w.Button(description="next", icon="arrow-right")
        self.save_button = w.Button(description="save", icon="save", button_style="primary")
        self.rerank_button = w.Button(description="re-rank", icon="sort")
        self.status = w.HTML()
        self.prev_button.on_click(lambda _: self._guard(self.turn, -1))
        self.next_button.on_click(lambda _: self._guard(self.turn, 1))
        self.save_button.on_click(lambda _: self._guard(self.save))
        self.rerank_button.on_click(lambda _: self._guard(self.rerank))
        self.cards: list = []
        self.grid = w.GridBox(layout=w.Layout(
            grid_template_columns=f"repeat({self.columns}, {self.thumb_px + 40}px)"))
        bar = w.HBox([self.prev_button, self.next_button, self.save_button, self.rerank_button])
        self.ui = w.VBox([bar, self.status, self.grid])
        self._show()

    # -- what the buttons do (public: a script may call them too) --------------------------

    @property
    def n_pages(self) -> int:
        """Pages of ``per_page`` candidates."""
        return max(1, -(-len(self.table) // self.per_page))

    def scores(self) -> dict[int, int]:
        """Return the scores given so far: frame -> 0-5."""
        done = self.table.dropna(subset=["user_score"])
        return dict(zip(done["frame"].astype(int), done["user_score"].astype(int), strict=True))

    def set_score(self, frame: int, score: int) -> None:
        """Give ``frame`` (listed in the file) a score 0-5; kept in memory until :meth:`save`."""
        if not (isinstance(score, Integral) and 0 <= score <= SCORE_MAX):
            raise ConfigError(f"a score is a whole number 0-{SCORE_MAX}, got {score!r}")
        rows = self.table.index[self.table["frame"] == int(frame)]
        if not len(rows):
            raise ConfigError(f"frame {frame} is not in {self.path}")
        self.table.loc[rows[0], "user_score"] = int(score)
        self.unsaved = True
        self._show()

    def turn(self, step: int) -> None:
        """Move ``step`` pages (clipped to the first and last page)."""
        self.page = min(max(self.page + int(step), 0), self.n_pages - 1)
        self._show()

    def save(self) -> Path | None:
        """Write the scores to the review file (atomic, previous file backed up first).

        Returns the backup's path.
        """
        saved = write_review(self.path, self.table)
        self.unsaved = False
        self._show(f"saved {len(self.scores())} score(s) to {self.path.name}"
                   + (f" (previous file: {saved.name})" if saved else ""))
        return saved

    def rerank(self) -> pd.DataFrame:
        """Save, then re-rank the file from the scores (the CSV path's `review_search`)."""
        self.save()
        review_search(self.path, weight=self.weight, seed=self.seed)
        self.table = read_review(self.path)  # as a restart would see it
        self.page = 0
        self._show(f"re-ranked {self.path.name} from {len(self.scores())} score(s)")
        return self.table

    # -- drawing --------------------------------------------------------------------------

    def _guard(self, action, *args) -> None:
        try:
            action(*args)
        except RadiolibError as err:  # a button cannot raise to the person: say it instead
            self._show(f"<b>error</b>: {html.escape(str(err))}")

    def _label(self, frame: int) -> str:
        if self.labels is None:
            return ""
        try:
            value = self.labels[frame]
        except (KeyError, IndexError):
            return ""
        return "" if value is None or pd.isna(value) else str(value)

    def _png(self, row) -> bytes | None:
        frame = int(row["frame"])
        if frame not in self._thumbs:
            name = str(row["thumbnail"]).strip()
            path = self.path.parent / name
            self._thumbs[frame] = (thumbnail_png(self.images[frame]) if self.images is not None
                                   else path.read_bytes() if name and path.is_file() else None)
        return self._thumbs[frame]

    def _card(self, row):
        w = self._w
        frame = int(row["frame"])
        given = row["user_score"]
        png = self._png(row)
        picture = (w.Image(value=png, format="png", width=self.thumb_px, height=self.thumb_px)
                   if png is not None else w.HTML("<i>no thumbnail</i>"))
        labels = self._label(frame) or "unlabelled"
        info = w.HTML(f"#{int(row['rank'])} frame {frame}<br>score {float(row['score']):.3f}"
                      f"<br>{html.escape(labels.replace('|', ', '))}")
        buttons = []
        for s in range(SCORE_MAX + 1):
            chosen = not pd.isna(given) and int(given) == s
            b = w.Button(description=str(s), button_style=_CHOSEN if chosen else _OTHER,
                         layout=w.Layout(width="30px"))
            b.on_click(lambda _, f=frame, v=s: self._guard(self.set_score, f, v))
            buttons.append(b)
        card = w.VBox([picture, info, w.HBox(buttons)])
        card.frame, card.buttons = frame, buttons
        return card

    def _show(self, message: str | None = None) -> None:
        first = self.page * self.per_page
        rows = self.table.iloc[first:first + self.per_page]
        self.cards = [self._card(row) for _, row in rows.iterrows()]
        self.grid.children = self.cards
        self.prev_button.disabled = self.page == 0
        self.next_button.disabled = self.page >= self.n_pages - 1
        state = (f"page {self.page + 1}/{self.n_pages}, {len(self.scores())} of "
                 f"{len(self.table)} scored" + (" (not saved)" if self.unsaved else ""))
        self.status.value = state + (f" &mdash; {message}" if message else "")

    def _repr_mimebundle_(self, **kwargs):
        return self.ui._repr_mimebundle_(**kwargs)


def review_widget(path: str | os.PathLike, features=None, scores=None,
                  frames: pd.DataFrame | None = None, *, images=None, labels=None,
                  top: int = 50, **kwargs) -> ReviewWidget:
    """Return a :class:`ReviewWidget` on ``path``, writing the ranked list first if none.

    With no file at ``path``, ``features`` and ``scores`` (every frame's) start one with
    :func:`~radiolib.anomaly.save_search` (the ``top`` frames, thumbnails from ``images``);
    an existing file is resumed with its scores, never rewritten here. ``kwargs`` go to
    :class:`ReviewWidget`.
    """
    path = Path(path)
    _widgets()
    if not path.exists():
        if features is None or scores is None:
            raise DataError(f"no review file at {path}; give features and scores to start one, "
                            "or write one with `radiolib anomaly rank`")
        save_search(path, features, scores, frames, images=images, top=top)
    elif scores is not None:
        _check_same_search(path, len(scores))
    return ReviewWidget(path, images=images, labels=labels, **kwargs)


def _check_same_search(path: Path, n: int) -> None:
    side = path.with_suffix(".npz")
    try:
        with np.load(side, allow_pickle=False) as z:
            known = len(z["scores"])
    except (OSError, KeyError, ValueError):
        return  # re-ranking will say what is missing
    if known != n:
        raise DataError(f"review file {path} belongs to a search of {known} frames, not {n}; "
                        "give another path (or move the old file away) to start a new review")
