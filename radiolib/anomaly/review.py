"""Astronomer in the loop: a ranked candidate list, the person's 0-5 scores, and re-ranking.

A person scores the top candidates from 0 (ordinary) to 5 (most peculiar). A random forest
fitted on the scored frames over the feature space predicts how the person would score every
other frame, and the ranking mixes that prediction with the Isolation Forest score (as
active-learning anomaly tools such as astronomaly do). Outside a notebook the scores travel
in a CSV file (:func:`write_review` / :func:`read_review`): written atomically, an existing
file is first copied to a numbered backup, and a file that does not parse is refused with the
row that is wrong and left as it is.
"""

from __future__ import annotations

import io
import os
import shutil
from collections.abc import Sequence
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from astropy.visualization import ZScaleInterval
from sklearn.ensemble import RandomForestRegressor

from radiolib.errors import DataError
from radiolib.files import atomic_path

__all__ = ["KIND_SCORES", "REVIEW_COLUMNS", "SCORE_MAX", "backup", "inspection_curves",
           "mixed_scores", "read_review", "review_table", "simulated_person", "thumbnail_png",
           "write_review", "write_thumbnails"]

#: Highest score a person gives (0 = ordinary ... 5 = most peculiar).
SCORE_MAX = 5
#: What the simulated person gives each kind of frame (from the simulator's truth).
KIND_SCORES = {"peculiar": 5, "complex": 3, "ordinary": 0}
#: Columns of a review file; ``user_score`` is empty until the person fills it in.
REVIEW_COLUMNS = ("rank", "frame", "field", "x0", "y0", "x1", "y1", "ra", "dec", "score",
                  "thumbnail", "user_score")


def simulated_person(kinds) -> np.ndarray:
    """Scores a person would give from the truth kinds (peculiar 5, complex 3, ordinary 0)."""
    k = np.asarray(kinds).astype(str)
    bad = set(np.unique(k)) - set(KIND_SCORES)
    if bad:
        raise ValueError(f"no simulated score for kinds {sorted(bad)}; use truth kinds")
    return np.array([KIND_SCORES[v] for v in k], float)


def mixed_scores(features, base, reviewed: Sequence[int], user_scores, *, weight: float = 0.5,
                 seed: int = 0) -> np.ndarray:
    """``(1 - weight) * base + weight * predicted user score / 5`` for every frame.

    The prediction is a random forest (100 trees) fitted on the ``reviewed`` frames' scores;
    reviewed frames keep their own score. With fewer than two reviewed frames, or all scored
    alike, the base scores are returned unchanged.
    """
    base = np.asarray(base, float)
    idx = np.asarray(reviewed, int)
    y = np.asarray(user_scores, float) / SCORE_MAX
    if not 0 <= weight <= 1:
        raise ValueError(f"weight must be in [0, 1], got {weight}")
    if idx.size < 2 or np.ptp(y) == 0:
        return base.copy()
    x = np.asarray(features, float)
    model = RandomForestRegressor(n_estimators=100, min_samples_leaf=1, random_state=seed,
                                  n_jobs=1).fit(x[idx], y)
    pred = model.predict(x)
    pred[idx] = y
    return (1 - weight) * base + weight * pred


def inspection_curves(features, base, truth_kinds, *, budget: int, batch: int = 20,
                      weight: float = 0.5, seed: int = 0) -> pd.DataFrame:
    """Peculiar frames found against frames inspected: score alone, with the loop, random.

    ``loop``: inspect the top ``batch`` unseen frames, let :func:`simulated_person` score
    them, re-rank with :func:`mixed_scores`, repeat until ``budget`` frames are seen.
    ``random``: the expected count of a blind inspection. Columns: ``inspected``, ``score``,
    ``loop``, ``random``.
    """
    base = np.asarray(base, float)
    kinds = np.asarray(truth_kinds).astype(str)
    pec = kinds == "peculiar"
    n = len(base)
    budget = min(int(budget), n)
    alone = np.cumsum(pec[np.argsort(-base, kind="stable")][:budget])
    person = simulated_person(kinds)
    seen: list[int] = []
    current = base
    while len(seen) < budget:
        unseen = np.setdiff1d(np.arange(n), seen)
        top = unseen[np.argsort(-current[unseen], kind="stable")][:min(batch, budget - len(seen))]
        seen.extend(int(i) for i in top)
        current = mixed_scores(features, base, seen, person[seen], weight=weight, seed=seed)
    loop = np.cumsum(pec[seen])
    k = np.arange(1, budget + 1)
    return pd.DataFrame({"inspected": k, "score": alone, "loop": loop,
                         "random": k * pec.mean()})


def review_table(scores, frames: pd.DataFrame | None = None, *, top: int | None = None
                 ) -> pd.DataFrame:
    """Rank frames by score (highest first) into a review table of :data:`REVIEW_COLUMNS`.

    ``frames`` (one row per score) may give ``field, x0, y0, x1, y1, ra, dec``; missing
    columns stay empty. ``top`` keeps the first rows.
    """
    s = np.asarray(scores, float)
    order = np.argsort(-s, kind="stable")[:top]
    table = pd.DataFrame({"rank": np.arange(1, len(order) + 1), "frame": order, "score": s[order]})
    for col in ("field", "x0", "y0", "x1", "y1", "ra", "dec"):
        table[col] = (frames[col].to_numpy()[order] if frames is not None and col in frames
                      else "")
    table["thumbnail"] = ""
    table["user_score"] = pd.array([pd.NA] * len(table), dtype="Int64")
    return table[list(REVIEW_COLUMNS)]


def write_thumbnails(table: pd.DataFrame, images, folder: str | os.PathLike) -> pd.DataFrame:
    """Save a zscale PNG of each listed frame (``images[frame]``) and fill ``thumbnail``.

    Paths are relative to the review file's folder when ``folder`` is inside it.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    table = table.copy()
    names = []
    for frame in table["frame"].astype(int):
        path = folder / f"frame_{frame:06d}.png"
        with atomic_path(path) as tmp:
            Path(tmp).write_bytes(thumbnail_png(images[frame]))
        names.append(f"{folder.name}/{path.name}")
    table["thumbnail"] = names
    return table


def thumbnail_png(image) -> bytes:
    """Return a grey zscale PNG of one frame (NaN as 0, origin lower), as the review shows it."""
    img = np.nan_to_num(np.asarray(image, float))
    lo, hi = ZScaleInterval().get_limits(img)
    buf = io.BytesIO()
    plt.imsave(buf, img, cmap="gray", vmin=lo, vmax=hi, origin="lower", format="png")
    return buf.getvalue()


def backup(path: str | os.PathLike) -> Path | None:
    """Copy ``path`` to the next free ``<name>.<n>.bak`` beside it; None when it does not exist."""
    path = Path(path)
    if not path.exists():
        return None
    n = 1
    while (target := path.with_name(f"{path.name}.{n}.bak")).exists():
        n += 1
    shutil.copy2(path, target)
    return target


def write_review(path: str | os.PathLike, table: pd.DataFrame) -> Path | None:
    """Write a review table as CSV atomically, backing up an existing file first.

    Returns the backup's path (None when there was no file).
    """
    missing = [c for c in REVIEW_COLUMNS if c not in table]
    if missing:
        raise ValueError(f"review table lacks columns {missing}")
    _check_scores(table["user_score"], Path(path))
    saved = backup(path)
    with atomic_path(path) as tmp:
        table[list(REVIEW_COLUMNS)].to_csv(tmp, index=False)
    return saved


def _check_scores(values: pd.Series, path: Path) -> pd.Series:
    out = []
    for i, v in enumerate(values):
        if v is None or v is pd.NA or (isinstance(v, float) and np.isnan(v)) or not str(v).strip():
            out.append(pd.NA)
            continue
        try:
            f = float(str(v).strip())
        except ValueError:
            f = np.nan
        if not (np.isfinite(f) and f == int(f) and 0 <= f <= SCORE_MAX):
            raise DataError(f"review file {path}: row {i + 1}: user_score {v!r} is not a whole "
                            f"number 0-{SCORE_MAX}; fix it or leave it empty")
        out.append(int(f))
    return pd.Series(pd.array(out, dtype="Int64"), index=values.index, name="user_score")


def read_review(path: str | os.PathLike) -> pd.DataFrame:
    """Read a review file written by :func:`write_review`, checking every row; never writes.

    Raises `radiolib.errors.DataError` naming the file and what is wrong (unreadable CSV,
    missing columns, a frame that is not a unique whole number, a score outside 0-5).
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"no review file at {path}; write one with `radiolib anomaly rank`")
    try:
        table = pd.read_csv(path, dtype={"user_score": str, "thumbnail": str, "field": str},
                            keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as err:
        raise DataError(f"review file {path} is not a readable CSV ({err}); restore it from "
                        f"its .bak copy or write it again") from None
    missing = [c for c in REVIEW_COLUMNS if c not in table]
    if missing:
        raise DataError(f"review file {path} lacks columns {missing}; restore it from its .bak "
                        "copy or write it again")
    frame = pd.to_numeric(table["frame"], errors="coerce")
    if frame.isna().any() or (frame != frame.round()).any() or frame.duplicated().any():
        raise DataError(f"review file {path}: column 'frame' must hold unique whole numbers; "
                        "restore it from its .bak copy")
    table["frame"] = frame.astype(int)
    table["score"] = pd.to_numeric(table["score"], errors="coerce")
    table["user_score"] = _check_scores(table["user_score"], path)
    return table
