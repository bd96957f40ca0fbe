"""Headless Chromium visits every page of the smoke-built book (marked ``browser``).

Each page of the table of contents must load with status 200, log no console error of its
own, show every image, and contain no traceback or error on stderr; the report page must
list the published rows. Screenshots of the intro and report pages are written next to the
built book (``<tmp>/smoke-book*/book/_screenshots/``; the path is printed).
"""

from __future__ import annotations

import functools
import shutil
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHROMIUM = next((p for p in (shutil.which("chromium"), shutil.which("chromium-browser"),
                             "/usr/bin/chromium") if p and Path(p).exists()), None)
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
REPORT = "notebooks/99_published_vs_reproduced"
WAIT_FOR_IMAGES = """() => Promise.all([...document.images].map(img => {
    img.loading = "eager";
    return img.complete ? null : new Promise(done => { img.onload = img.onerror = done; });
}))"""
BROKEN_IMAGES = "els => els.filter(e => !(e.complete && e.naturalWidth > 0)).map(e => e.src)"


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args):  # keep pytest's output clean
        pass


@pytest.fixture(scope="module")
def site(built_book):
    if built_book.build.returncode != 0:
        pytest.skip("the book did not build (see test_book.py)")
    handler = functools.partial(_QuietHandler, directory=str(built_book.html))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def browser():
    if CHROMIUM is None:
        pytest.skip("chromium is not installed (`make browser-deps` installs Debian's chromium)")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def visits(site, browser, book_pages, built_book):
    """Load every toc page once; return what each page showed (and take two screenshots)."""
    shots = built_book.book / "_screenshots"
    shots.mkdir(exist_ok=True)
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    # the machine may be offline: external requests (CDN fonts, MathJax) fail fast, unseen
    page.route("**/*", lambda route: route.continue_() if route.request.url.startswith(site)
               else route.abort())
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(f"{msg.text} @ {msg.location.get('url')}")
            if msg.type == "error" and (msg.location.get("url") or "").startswith(site) else None)
    page.on("pageerror", lambda exc: errors.append(f"uncaught: {exc}"))
    seen = {}
    for name in book_pages:
        errors.clear()
        response = page.goto(site + f"{name}.html", wait_until="load")
        page.evaluate(WAIT_FOR_IMAGES)
        seen[name] = {
            "status": response.status if response else None,
            "errors": list(errors),
            "broken_images": page.eval_on_selector_all("img", BROKEN_IMAGES),
            "n_images": page.locator("img").count(),
            "n_figures": page.locator("article figure img").count(),
            "tracebacks": page.locator(".output.traceback, .output.error").count(),
            "stderr": [t for t in page.locator(".output.stderr").all_inner_texts()
                       if "Error" in t],
            "text": page.locator("article").inner_text(),
            "n_tables": page.locator("article table").count(),
        }
        if name in ("intro", REPORT):
            path = shots / f"{name.replace('/', '_')}.png"
            page.screenshot(path=str(path), full_page=True)
            print(f"screenshot: {path}")
    page.close()
    return seen


def test_pages_load(visits):
    for name, seen in visits.items():
        assert seen["status"] == 200, name
        assert seen["errors"] == [], name


def test_images_render(visits):
    for name, seen in visits.items():
        assert seen["broken_images"] == [], name


def test_captioned_figures_render(visits):
    """Every code cell with a figure caption (mystnb metadata) shows a rendered figure."""
    import nbformat

    for name, seen in visits.items():
        if not name.startswith("notebooks/"):
            continue
        notebooks = Path(__file__).resolve().parents[2] / "notebooks"
        source = notebooks / f"{name.split('/', 1)[1]}.ipynb"
        nb = nbformat.read(source, as_version=4)
        wanted = sum("figure" in c.metadata.get("mystnb", {}) for c in nb.cells)
        assert seen["n_figures"] >= wanted, f"{name}: {seen['n_figures']} of {wanted} figures"


def test_no_tracebacks(visits):
    for name, seen in visits.items():
        assert seen["tracebacks"] == 0, name
        assert "Traceback (most recent call last)" not in seen["text"], name
        assert seen["stderr"] == [], name


def test_report_lists_published_rows(visits):
    from radiolib.results import load_published

    report = visits[REPORT]
    assert report["n_tables"] >= 2  # the counts and at least one paper
    for row in load_published().itertuples():
        assert row.key in report["text"]
        assert row.quantity in report["text"]


def test_screenshots_written(visits, built_book):
    for name in ("intro", REPORT):
        path = built_book.book / "_screenshots" / f"{name.replace('/', '_')}.png"
        assert path.stat().st_size > 10_000
