"""Shared fixtures: the repository root and a smoke build of the book (built once per session)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO


@pytest.fixture(scope="session")
def built_book(tmp_path_factory) -> SimpleNamespace:
    """Copy book/ to a temporary folder, reproduce it with the smoke profile and build it.

    Returns the book folder, the HTML folder, the reproduce statuses, the build's completed
    process and the timings, so that the book and browser tests share one build.
    """
    from radiolib.reproduce import reproduce

    book = tmp_path_factory.mktemp("smoke-book") / "book"
    shutil.copytree(REPO / "book", book,
                    ignore=shutil.ignore_patterns("_build", "notebooks", "_results", "_failed",
                                                 "_screenshots", "_work", "__pycache__"))
    # like the Makefile: beside a checkout with ../shared/data, that folder is the data mirror
    saved = os.environ.get("RADIOLIB_MIRROR")
    if saved is None and (SHARED_DATA / "README.md").exists():
        os.environ["RADIOLIB_MIRROR"] = str(SHARED_DATA)
    try:
        start = time.perf_counter()
        statuses = reproduce("smoke", book_dir=book)
        reproduce_s = time.perf_counter() - start
    finally:
        if saved is None:
            os.environ.pop("RADIOLIB_MIRROR", None)
    jupyter_book = Path(sys.executable).parent / "jupyter-book"
    start = time.perf_counter()
    build = subprocess.run([str(jupyter_book), "build", str(book), "-W", "-n", "--keep-going"],
                           capture_output=True, text=True, timeout=900)
    # the notebooks' checkpoints and fields (~2 GB) are not read by any test: free the disk
    shutil.rmtree(book / "_work", ignore_errors=True)
    return SimpleNamespace(book=book, html=book / "_build" / "html", statuses=statuses,
                           build=build, reproduce_s=reproduce_s,
                           build_s=time.perf_counter() - start)


@pytest.fixture(scope="session")
def book_pages(built_book) -> list[str]:
    """The pages the book's _toc.yml lists (root first), without suffix, e.g. 'running'."""
    import yaml

    toc = yaml.safe_load((built_book.book / "_toc.yml").read_text(encoding="utf-8"))
    pages = [toc["root"]]

    def walk(entries):
        for entry in entries or []:
            if "file" in entry:
                pages.append(entry["file"])
            walk(entry.get("chapters") or entry.get("sections"))

    for part in toc.get("parts", []):
        walk(part.get("chapters"))
    walk(toc.get("chapters"))
    return pages
