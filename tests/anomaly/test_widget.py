"""The notebook review widget, driven by its buttons as a person would (no browser needed)."""

import importlib.util
import shutil
import sys

import numpy as np
import pandas as pd
import pytest

from radiolib.anomaly import ReviewWidget, read_review, review_search, review_widget, save_search
from radiolib.errors import ConfigError, DataError

widgets = pytest.mark.skipif(importlib.util.find_spec("ipywidgets") is None,
                             reason="ipywidgets not installed (pip install 'radiolib[book]')")


def _search(n=30, seed=0):
    rng = np.random.default_rng(seed)
    features = rng.normal(size=(n, 4))
    scores = np.linspace(0, 1, n)
    images = rng.normal(size=(n, 16, 16))
    return features, scores, images


def _start(tmp_path, **kwargs):
    features, scores, images = _search()
    path = tmp_path / "review" / "ranked.csv"
    labels = {29: "PECULIAR|COMPACT", 27: "COMPACT"}
    w = review_widget(path, features, scores, images=images, labels=labels, top=8,
                      per_page=3, **kwargs)
    return w, path


@widgets
def test_buttons_score_frames_and_save_writes_the_review_file(tmp_path):
    w, path = _start(tmp_path)
    assert [c.frame for c in w.cards] == [29, 28, 27]  # highest score first
    assert "PECULIAR, COMPACT" in w.cards[0].children[1].value
    assert "unlabelled" in w.cards[1].children[1].value
    assert w.prev_button.disabled and not w.next_button.disabled
    w.cards[0].buttons[5].click()
    w.cards[2].buttons[0].click()
    assert w.cards[0].buttons[5].button_style == "success"
    assert w.cards[0].buttons[4].button_style == ""
    assert "not saved" in w.status.value
    assert read_review(path)["user_score"].isna().all()  # nothing written before save
    w.next_button.click()
    assert [c.frame for c in w.cards] == [26, 25, 24]
    w.cards[1].buttons[3].click()
    w.cards[1].buttons[2].click()  # a second click changes the score
    w.next_button.click()
    w.next_button.click()  # clipped at the last page (8 frames: pages of 3, 3, 2)
    assert len(w.cards) == 2 and w.next_button.disabled
    w.prev_button.click()
    assert [c.frame for c in w.cards] == [26, 25, 24]
    w.save_button.click()
    back = read_review(path)
    scored = dict(zip(back["frame"], back["user_score"], strict=True))
    assert {f: int(s) for f, s in scored.items() if not pd.isna(s)} == {29: 5, 27: 0, 25: 2}
    assert (path.parent / "ranked.csv.1.bak").is_file()  # the unscored list, kept
    assert "saved 3 score(s)" in w.status.value and "not saved" not in w.status.value


@widgets
def test_restart_resumes_the_scores_without_rewriting(tmp_path):
    w, path = _start(tmp_path)
    w.cards[1].buttons[4].click()
    w.save()
    before = path.read_bytes()
    again = review_widget(path, per_page=8)  # a new session, thumbnails from the PNG files
    assert again.scores() == {28: 4}
    card = next(c for c in again.cards if c.frame == 28)
    assert card.buttons[4].button_style == "success"
    assert type(card.children[0]).__name__ == "Image" and card.children[0].value
    assert path.read_bytes() == before and not (path.parent / "ranked.csv.2.bak").exists()


@widgets
def test_corrupted_file_is_refused_and_left_alone(tmp_path):
    w, path = _start(tmp_path)
    lines = path.read_text().splitlines()
    lines[2] += "9"  # row 2's user_score is the last column
    path.write_text("\n".join(lines) + "\n")
    before = path.read_bytes()
    with pytest.raises(DataError, match="row 2: user_score"):
        review_widget(path)
    with pytest.raises(DataError, match="row 2: user_score"):
        ReviewWidget(path)
    assert path.read_bytes() == before


@widgets
def test_rerank_runs_the_csv_path_on_the_saved_scores(tmp_path):
    w, path = _start(tmp_path)
    w.cards[0].buttons[0].click()
    w.cards[1].buttons[5].click()
    w.save()
    twin = tmp_path / "twin"
    twin.mkdir()
    shutil.copy(path, twin / "ranked.csv")
    shutil.copy(path.with_suffix(".npz"), twin / "ranked.npz")
    expected = review_search(twin / "ranked.csv")
    w.rerank_button.click()
    assert "re-ranked" in w.status.value, w.status.value
    pd.testing.assert_frame_equal(w.table.reset_index(drop=True),
                                  read_review(path).reset_index(drop=True))
    np.testing.assert_allclose(w.table["score"], expected["score"])
    assert w.table["frame"].tolist() == expected["frame"].tolist()
    assert w.scores() == {29: 0, 28: 5} and w.page == 0


@widgets
def test_errors_in_a_button_are_shown_not_lost(tmp_path):
    w, path = _start(tmp_path)
    path.with_suffix(".npz").unlink()
    w.cards[0].buttons[5].click()
    w.rerank_button.click()
    assert "error" in w.status.value and "radiolib anomaly rank" in w.status.value
    assert read_review(path)["user_score"].notna().sum() == 1  # saved before re-ranking failed
    with pytest.raises(ConfigError, match="0-5"):
        w.set_score(29, 6)
    with pytest.raises(ConfigError, match="not in"):
        w.set_score(0, 1)


@widgets
def test_a_file_of_another_search_is_not_resumed(tmp_path):
    w, path = _start(tmp_path)
    features, scores, _ = _search(n=12)
    with pytest.raises(DataError, match="30 frames, not 12"):
        review_widget(path, features, scores)
    with pytest.raises(DataError, match="no review file"):
        review_widget(tmp_path / "none.csv")


def test_missing_ipywidgets_says_what_to_install(tmp_path, monkeypatch):
    features, scores, _ = _search()
    path = tmp_path / "ranked.csv"
    save_search(path, features, scores, top=5)
    monkeypatch.setitem(sys.modules, "ipywidgets", None)  # import ipywidgets -> ImportError
    with pytest.raises(ConfigError, match="pip install"):
        ReviewWidget(path)
    with pytest.raises(ConfigError, match="pip install"):
        review_widget(tmp_path / "new.csv", features, scores)
    assert not (tmp_path / "new.csv").exists()
