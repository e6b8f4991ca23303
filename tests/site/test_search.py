"""Browser checks of two things a reader notices: formulas in search results, and MathJax's console.

Search snippets are cut from a page's text, where a formula is its TeX source, so they showed
``\\(R_{ij}\\)``; ``book/_static/search-math.js`` typesets them. MathJax logged "No version
information available for component [tex]/ams" on every page with math, because the configuration
loaded a package that ``tex-chtml.js`` already contains.
"""

from __future__ import annotations

import contextlib
import re

import pytest
from conftest import HTML, chapter_pages
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from test_site import PAGES, _wait_for_mathjax

pytestmark = pytest.mark.site

RAW_TEX = re.compile(r"\\\(|\\\)|\\\[|\\\]|\\[A-Za-z]{2,}")


def _snippets(page) -> list[dict]:
    """Each result snippet: its text outside typeset formulas, and how many formulas it typeset."""
    return page.evaluate("""() => [...document.querySelectorAll('#search-results li p.context')].map(p => {
        const copy = p.cloneNode(true);
        copy.querySelectorAll('mjx-container').forEach(m => m.remove());
        return {text: copy.textContent, typeset: p.querySelectorAll('mjx-container').length,
                errors: p.querySelectorAll('mjx-merror').length};
    })""")


def _query_near_a_formula() -> str:
    """A word whose snippet will hold an inline formula: Sphinx cuts the snippet around the first
    occurrence of the word's stem in the page text, so pick a word whose stem first occurs next to
    an inline formula of a chapter (display equations are not part of that text)."""
    from bs4 import BeautifulSoup
    from snowballstemmer import stemmer

    stem = stemmer("porter").stemWord
    for path in chapter_pages():
        soup = BeautifulSoup((HTML / path).read_text(encoding="utf-8"), "html.parser")
        main = soup.find(attrs={"role": "main"}) or soup
        for el in main.select("div.math, span.eqno, .headerlink, script, style"):
            el.decompose()
        text = main.get_text().lower()
        for m in re.finditer(r"\b[a-z]{8,}\b", text):
            first = text.find(stem(m.group(0)))
            if first == m.start() and "\\(" in text[max(0, first - 60):first + 60]:
                return m.group(0)
    pytest.fail("no word next to an inline formula on any chapter page")


def test_search_snippets_show_typeset_formulas_not_tex(offline_page, site_url):
    query = _query_near_a_formula()
    page = offline_page.page
    page.goto(f"{site_url}/search.html?q={query}", wait_until="load")
    page.wait_for_selector("#search-results li p.context", timeout=20_000)
    page.wait_for_function("() => !document.querySelector('#search-progress') || "
                           "!document.querySelector('#search-progress').textContent.trim()", timeout=30_000)
    _wait_for_mathjax(page)
    # every result's snippet is fetched and typeset asynchronously: wait until no raw delimiter is left
    # (or give up waiting and let the assertions below say what is wrong)
    with contextlib.suppress(PlaywrightTimeout):
        page.wait_for_function(r"""() => [...document.querySelectorAll('#search-results li p.context')].every(p =>
            ![...p.childNodes].some(n => n.nodeType === 3 && n.textContent.includes('\\(')) &&
            !p.querySelector('span.math:not(:has(mjx-container))'))""", timeout=20_000)
    snippets = _snippets(page)
    assert snippets, f"search for {query!r} found nothing"
    raw = [s["text"][:120] for s in snippets if RAW_TEX.search(s["text"])]
    assert not raw, f"snippets show raw TeX: {raw}"
    assert all(s["errors"] == 0 for s in snippets), "MathJax reported a TeX error in a snippet"
    # the query must reach text with formulas, or this test proves nothing
    assert sum(s["typeset"] for s in snippets) > 0, f"no snippet for {query!r} contains a formula"
    assert not offline_page.blocked and not offline_page.console_errors, offline_page.console_errors


@pytest.mark.parametrize("path", PAGES)
def test_page_console_has_no_warnings(offline_page, site_url, path):
    page = offline_page.page
    messages: list[str] = []
    page.on("console", lambda m: messages.append(f"{m.type}: {m.text}") if m.type in ("warning", "error") else None)
    page.goto(f"{site_url}/{path}", wait_until="load")
    if page.locator(".math").count():
        _wait_for_mathjax(page)
        page.wait_for_timeout(300)  # a late loader message would arrive after the first typeset
    assert not messages, f"{path}: console {messages}"
