import numpy as np
import pandas as pd
import pytest

from radiolib.anomaly import (
    backup,
    inspection_curves,
    mixed_scores,
    read_review,
    review_search,
    review_table,
    simulated_person,
    write_review,
)
from radiolib.errors import DataError


def _table(n=6):
    frames = pd.DataFrame({"field": ["f"] * n, "x0": range(n), "y0": 0, "x1": 10, "y1": 10,
                           "ra": 1.0, "dec": -2.0})
    return review_table(np.linspace(0, 1, n), frames, top=4)


def test_review_file_round_trip(tmp_path):
    path = tmp_path / "ranked.csv"
    table = _table()
    assert table["frame"].tolist() == [5, 4, 3, 2]
    table.loc[0, "user_score"] = 5
    table.loc[2, "user_score"] = 0
    assert write_review(path, table) is None
    back = read_review(path)
    assert back["frame"].tolist() == [5, 4, 3, 2]
    assert back["user_score"].tolist()[0] == 5 and back["user_score"].tolist()[2] == 0
    assert back["user_score"].isna().tolist() == [False, True, False, True]
    # a second write keeps the first as a numbered backup
    saved = write_review(path, back)
    assert saved == tmp_path / "ranked.csv.1.bak"
    assert saved.read_bytes() == path.read_bytes()
    assert write_review(path, back) == tmp_path / "ranked.csv.2.bak"


@pytest.mark.parametrize("bad", ["7", "x", "2.5", "-1"])
def test_corrupted_score_is_refused_and_file_left_alone(tmp_path, bad):
    path = tmp_path / "ranked.csv"
    write_review(path, _table())
    text = path.read_text().splitlines()
    text[2] = text[2] + bad  # row 2: user_score column is last
    path.write_text("\n".join(text) + "\n")
    before = path.read_bytes()
    with pytest.raises(DataError, match="row 2: user_score"):
        read_review(path)
    assert path.read_bytes() == before
    assert not list(tmp_path.glob("*.bak"))


def test_garbage_file_refused(tmp_path):
    path = tmp_path / "ranked.csv"
    path.write_bytes(b"\x00\xff\xfe garbage\n1,2\n")
    before = path.read_bytes()
    with pytest.raises(DataError, match="ranked.csv"):
        read_review(path)
    assert path.read_bytes() == before
    path.write_text("rank,frame\n1,2\n")
    with pytest.raises(DataError, match="lacks columns"):
        read_review(path)
    with pytest.raises(DataError, match="no review file"):
        read_review(tmp_path / "missing.csv")


def test_review_search_reranks_from_scores(tmp_path):
    rng = np.random.default_rng(0)
    features = rng.normal(0, 1, (200, 4))
    features[:10, 0] += 6  # a group the person likes
    base = rng.uniform(0, 1, 200)
    base[:10] = 0.3
    path = tmp_path / "ranked.csv"
    np.savez(path.with_suffix(".npz"), features=features, scores=base)
    table = review_table(base, top=20)
    table["user_score"] = pd.array([pd.NA] * 20, dtype="Int64")
    # the person scored two frames of the group 5 and two others 0
    extra = review_table(base, top=None)
    extra = extra[extra["frame"].isin([0, 1])]
    table = pd.concat([table, extra], ignore_index=True)
    table.loc[table["frame"] == 0, "user_score"] = 5
    table.loc[table["frame"] == 1, "user_score"] = 5
    others = table["frame"].iloc[:2].tolist()
    table.loc[table["frame"].isin(others), "user_score"] = 0
    write_review(path, table)
    new = review_search(path, weight=0.7, top=20)
    assert (tmp_path / "ranked.csv.1.bak").exists()
    base_top = np.argsort(-base)[:15]
    assert not np.isin(base_top, range(2, 10)).any()  # unscored, the group ranks low
    assert new["frame"].iloc[:15].isin(range(2, 10)).sum() >= 3
    back = read_review(path)
    assert back.set_index("frame").loc[0, "user_score"] == 5


def test_mixed_scores_and_loop_beats_score_alone():
    assert mixed_scores(np.zeros((5, 2)), np.arange(5.0), [1], [5]).tolist() == list(range(5))
    rng = np.random.default_rng(1)
    n = 800
    kinds = np.array(["ordinary"] * n, dtype=object)
    kinds[:40] = "peculiar"
    kinds[40:120] = "complex"
    features = rng.normal(0, 1, (n, 5))
    features[:40, 1] += 3  # peculiar frames share a direction the score does not see
    base = rng.uniform(0, 1, n)
    base[40:120] += 0.5  # the score prefers complex frames
    base[:40] += 0.3
    curves = inspection_curves(features, base, kinds.astype(str), budget=120, batch=20)
    assert curves["inspected"].iloc[-1] == 120
    assert curves["loop"].iloc[-1] > curves["score"].iloc[-1]
    assert curves["random"].iloc[-1] == pytest.approx(120 * 40 / n)
    assert simulated_person(["peculiar", "complex", "ordinary"]).tolist() == [5, 3, 0]
    with pytest.raises(ValueError):
        simulated_person(["unlabelled"])


def test_backup_absent(tmp_path):
    assert backup(tmp_path / "nothing.csv") is None
