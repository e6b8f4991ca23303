"""Fixtures for browser checks of the built site: a loopback HTTP server and headless Chromium.

The site is served from ``_build/html`` on 127.0.0.1 (an ephemeral port). Every request that does
not go to that server is aborted and recorded, so a page that needs the network fails its check.
With ``CI=true`` a missing browser or a missing build is an error, never a skip.
"""

from __future__ import annotations

import functools
import http.server
import importlib.util
import os
import shutil
import threading
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# LOSSBOOK_SITE_DIR points the checks at another build, e.g. the one-chapter build of
# `make page CH=book/<part>/<slug>.md`:  LOSSBOOK_SITE_DIR=_build/page-<slug>/_build/html
HTML = Path(os.environ.get("LOSSBOOK_SITE_DIR") or ROOT / "_build" / "html")
if not HTML.is_absolute():
    HTML = ROOT / HTML
CHROMIUM = os.environ.get("LOSSBOOK_CHROMIUM", "/usr/bin/chromium")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def toc_pages() -> list[str]:
    """Pages of the site in reading order (``_toc.yml``); on another build, those of them it contains."""
    spec = importlib.util.spec_from_file_location("lossbook_ledger", ROOT / "book" / "_ext" / "lossbook_ledger.py")
    ledger = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(ledger)
    pages = [f + ".html" for f in ledger.toc_files(ROOT)]
    if os.environ.get("LOSSBOOK_SITE_DIR"):
        pages = [p for p in pages if (HTML / p).exists()]
    return pages


def chapter_pages() -> list[str]:
    """The chapters (documents of the numbered parts), as ``book/<part>/<slug>.html``."""
    spec = importlib.util.spec_from_file_location("lossbook_ledger", ROOT / "book" / "_ext" / "lossbook_ledger.py")
    ledger = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(ledger)
    pages = set(toc_pages())
    return [c + ".html" for c in ledger.toc_chapters(ROOT) if c + ".html" in pages]


def _missing(reason: str):
    if IN_CI:
        pytest.fail(f"{reason} (CI=true: browser checks are mandatory)")
    pytest.skip(reason)


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # keep pytest output readable
        pass


def serve(directory: Path):
    """Serve ``directory`` on an ephemeral loopback port; returns (base url, server)."""
    handler = functools.partial(_QuietHandler, directory=str(directory))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_address[1]}", server


@pytest.fixture(scope="session")
def site_url():
    if not (HTML / "index.html").exists() and not any(HTML.glob("book/**/*.html")):
        _missing(f"no built site at {HTML} (run `make book` first)")
    url, server = serve(HTML)
    yield url
    server.shutdown()


@pytest.fixture(scope="session")
def browser():
    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        _missing(f"Chromium not found at {CHROMIUM} (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("playwright (Python) is not installed")
    with sync_playwright() as pw:
        b = pw.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--no-first-run", "--disable-quic"],
        )
        yield b
        b.close()


class OfflinePage:
    """A page whose context aborts every request outside the local server and records problems."""

    def __init__(self, browser, base: str):
        self.base = base
        self.context = browser.new_context(viewport={"width": 1280, "height": 900})
        self.blocked: list[str] = []
        self.console_errors: list[str] = []
        self.page_errors: list[str] = []
        self.failed: list[str] = []

        def route(r):
            if r.request.url.startswith(base) or r.request.url.startswith("data:"):
                r.continue_()
            else:
                self.blocked.append(r.request.url)
                r.abort()

        self.context.route("**/*", route)
        self.page = self.context.new_page()
        self.page.on("console", lambda m: self.console_errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.page_errors.append(str(e)))
        self.page.on("requestfailed", lambda r: self.failed.append(r.url))

    def close(self):
        self.context.close()


@pytest.fixture
def offline_page(browser, site_url):
    p = OfflinePage(browser, site_url)
    yield p
    p.close()
