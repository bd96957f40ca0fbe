"""The book builds from a smoke reproduction with ``jupyter-book build -W -n`` (slow)."""

from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.slow


def test_every_notebook_ran(built_book, repo_root):
    from radiolib.reproduce import list_notebooks

    assert list(built_book.statuses) == list_notebooks()
    assert set(built_book.statuses.values()) == {"ran"}
    for name in built_book.statuses:
        executed = json.loads((built_book.book / "notebooks" / f"{name}.ipynb").read_text())
        assert executed["metadata"]["radiolib"]["profile"] == "smoke"
        assert (built_book.book / "_results" / "smoke" / f"{name}.json").exists()
    assert not (built_book.book / "_failed").exists()


def test_book_builds_without_warnings(built_book):
    build = built_book.build
    assert build.returncode == 0, f"jupyter-book build failed:\n{build.stdout[-4000:]}\n" \
                                  f"{build.stderr[-4000:]}"
    assert "build succeeded" in build.stdout


def test_every_toc_page_has_html(built_book, book_pages):
    for page in book_pages:
        assert (built_book.html / f"{page}.html").is_file(), page
    assert (built_book.html / "index.html").is_file()


def test_launch_buttons_open_the_source_notebooks(built_book):
    page = (built_book.html / "notebooks" / "99_published_vs_reproduced.html").read_text()
    from radiolib.reproduce import repository_url

    repo = repository_url().removeprefix("https://github.com/")  # e.g. OWNER/radiolib
    assert (f"https://mybinder.org/v2/gh/{repo}/main?urlpath=tree/"
            "notebooks/99_published_vs_reproduced.ipynb") in page
    assert (f"https://colab.research.google.com/github/{repo}/blob/main/"
            "notebooks/99_published_vs_reproduced.ipynb") in page

