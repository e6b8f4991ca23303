"""Browser checks of the built website (``make site-test`` after a build).

Each page listed in ``_toc.yml`` is opened in headless Chromium with every non-loopback request
aborted. The checks are the ones a reader would notice: the page loads, nothing errors in the
console, math is typeset by the MathJax copy shipped with the site, images load, no executed cell
shows a traceback, links and anchors resolve, and search finds chapter text.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urldefrag, urljoin, urlparse

import pytest
from conftest import HTML, chapter_pages, toc_pages

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.site


PAGES = toc_pages()


def _wait_for_mathjax(page):
    # MathJax 3 exposes a startup promise that resolves once the initial typesetting is done.
    page.wait_for_function("() => !!(window.MathJax && window.MathJax.startup && window.MathJax.startup.promise)",
                           timeout=20_000)
    page.evaluate("async () => { await window.MathJax.startup.promise; return true; }")


@pytest.mark.parametrize("path", PAGES)
def test_page_loads_offline_with_typeset_math_images_and_no_errors(offline_page, site_url, path):
    page = offline_page.page
    response = page.goto(f"{site_url}/{path}", wait_until="load")
    assert response is not None and response.status == 200, f"{path}: HTTP {response and response.status}"
    src = page.evaluate("() => [...document.scripts].map(s => s.src).filter(s => /mathjax/i.test(s))")
    assert all(s.startswith(site_url) for s in src), f"MathJax not served locally: {src}"
    n_math_src = page.locator(".math").count()
    if n_math_src:  # Sphinx loads MathJax only on pages that contain math
        assert src, f"{path}: has math but loads no MathJax"
        _wait_for_mathjax(page)
        n_typeset = page.locator("mjx-container").count()
        assert n_typeset >= n_math_src, f"{path}: {n_math_src} math elements, {n_typeset} typeset"
    assert page.locator("mjx-merror").count() == 0, f"{path}: MathJax reported a TeX error"
    undefined = page.evaluate("() => [...document.querySelectorAll('mjx-container')]"
                              ".filter(e => /\\\\[A-Za-z]+/.test(e.textContent)).length")
    assert undefined == 0, f"{path}: {undefined} formulas show raw TeX commands (undefined macro?)"

    broken = page.evaluate(
        "() => [...document.images].filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.src)")
    assert not broken, f"{path}: images that did not load: {broken}"

    tb = page.evaluate(
        "() => [...document.querySelectorAll('.cell_output, .output')]"
        ".filter(e => e.matches('.traceback, .error, .stderr') || /Traceback \\(most recent call last\\)/"
        ".test(e.textContent)).length")
    assert tb == 0, f"{path}: {tb} output cells show an error or a traceback"

    assert not offline_page.page_errors, f"{path}: JavaScript errors {offline_page.page_errors}"
    assert not offline_page.console_errors, f"{path}: console errors {offline_page.console_errors}"
    assert not offline_page.blocked, f"{path}: tried to reach the network: {offline_page.blocked}"
    assert not offline_page.failed, f"{path}: failed requests {offline_page.failed}"


def test_search_finds_a_word_from_a_chapter(offline_page, site_url):
    if "book/intro.html" not in PAGES:
        pytest.skip("this build has no intro page (LOSSBOOK_SITE_DIR points at a one-chapter build)")
    page = offline_page.page
    page.goto(f"{site_url}/search.html?q=logsumexp", wait_until="load")
    page.wait_for_selector("#search-results li", timeout=20_000)
    hrefs = page.eval_on_selector_all("#search-results li a", "els => els.map(e => e.getAttribute('href'))")
    assert any("intro" in h for h in hrefs), f"search for 'logsumexp' did not find the intro page: {hrefs}"
    assert not offline_page.blocked


def test_screenshot_for_review(offline_page, site_url):
    page = offline_page.page
    page.goto(f"{site_url}/{PAGES[0]}", wait_until="load")
    _wait_for_mathjax(page)
    out = ROOT / "_build" / "screenshots"
    out.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(out / "intro.png"), full_page=False)
    assert (out / "intro.png").stat().st_size > 10_000


class _Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.hrefs: list[str] = []
        self.ids: set[str] = set()

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if "id" in a:
            self.ids.add(a["id"])
        if tag == "a" and a.get("name"):
            self.ids.add(a["name"])
        for key in ("href", "src"):
            if tag in ("a", "link", "img", "script") and a.get(key):
                self.hrefs.append(a[key])


def _parse(path: Path) -> _Links:
    p = _Links()
    p.feed(path.read_text(encoding="utf-8", errors="replace"))
    return p


def test_no_broken_internal_link_or_anchor(site_url):
    del site_url  # the fixture only guarantees the build exists (or fails under CI)
    cache: dict[Path, _Links] = {}
    problems = []
    pages = [HTML / p for p in PAGES] + [HTML / "genindex.html", HTML / "search.html"]
    for page in pages:
        parsed = cache.setdefault(page, _parse(page))
        base = "file://" + page.as_posix()
        for href in parsed.hrefs:
            if re.match(r"^(https?:|mailto:|javascript:|data:)", href) or href.startswith("//"):
                continue
            target, frag = urldefrag(urljoin(base, href))
            tpath = Path(unquote(urlparse(target).path))
            if tpath.is_dir():
                tpath = tpath / "index.html"
            if not tpath.exists():
                problems.append(f"{page.relative_to(HTML)}: {href} -> missing file")
                continue
            if frag and tpath.suffix == ".html":
                ids = cache.setdefault(tpath, _parse(tpath)).ids
                if unquote(frag) not in ids:
                    problems.append(f"{page.relative_to(HTML)}: {href} -> no anchor #{frag}")
    assert not problems, "\n".join(problems[:50])


def _luminance(rgb: str) -> float:
    vals = [float(v) for v in re.findall(r"[\d.]+", rgb)[:3]]
    lin = [(v / 255) / 12.92 if v / 255 <= 0.03928 else (((v / 255) + 0.055) / 1.055) ** 2.4 for v in vals]
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]


@pytest.mark.parametrize("mode", ["light", "dark"])
def test_text_is_readable_in_light_and_dark_mode(offline_page, site_url, mode):
    page = offline_page.page
    page.add_init_script(f"localStorage.setItem('mode', '{mode}'); localStorage.setItem('theme', '{mode}');")
    page.goto(f"{site_url}/{PAGES[0]}", wait_until="load")
    assert page.evaluate("() => document.documentElement.dataset.theme") == mode
    fg = page.evaluate("() => getComputedStyle(document.querySelector('article p')).color")
    bg = page.evaluate("() => getComputedStyle(document.body).backgroundColor")
    hi, lo = sorted((_luminance(fg), _luminance(bg)), reverse=True)
    contrast = (hi + 0.05) / (lo + 0.05)
    assert contrast >= 4.5, f"{mode} mode: text {fg} on {bg} has contrast {contrast:.2f} < 4.5 (WCAG AA)"
    (ROOT / "_build" / "screenshots").mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ROOT / "_build" / "screenshots" / f"intro-{mode}.png"))


FIGURE_PAGES = chapter_pages() + [p for p in PAGES[:1] if p == "book/intro.html"]  # every chapter and the intro


@pytest.mark.parametrize("path", FIGURE_PAGES)
def test_chapter_shows_at_least_one_computed_figure(path):
    # Figures made by executed cells (inline, or pasted with glue into a figure directive) are written by
    # myst-nb into _images/; the theme's own icons live in _static/. Chapters ship no static pictures.
    html = (HTML / path).read_text(encoding="utf-8")
    n_images = len(re.findall(r'<img[^>]*src="[^"]*_images/[^"]+\.(?:png|svg|jpg)"', html))
    assert n_images >= 1, f"{path}: no computed figure (was matplotlib's inline backend disabled?)"


@pytest.mark.parametrize("path", chapter_pages())
def test_chapter_links_every_library_function_it_uses(path):
    # the reference extension lists the chapter's lossbook imports; an entry without a link means the
    # reference does not document that name (not in its subpackage's __all__)
    if not (HTML / "book" / "reference" / "index.html").exists():
        pytest.skip("this build has no library reference (LOSSBOOK_SITE_DIR points at a one-chapter build)")
    html = (HTML / path).read_text(encoding="utf-8")
    box = re.search(r'library-used.*?</ul>', html, re.S)
    if box is None:
        pytest.skip(f"{path} imports nothing from lossbook")
    items = re.findall(r"<li>(.*?)</li>", box.group(0), re.S)
    unlinked = [re.sub(r"<[^>]+>", "", i).strip() for i in items if "<a " not in i]
    assert items and not unlinked, f"{path}: no reference entry for {unlinked}"
