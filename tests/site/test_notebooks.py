"""The converted notebooks of a built book (``make notebooks``; written by every HTML build).

Each executed page has a notebook in ``_build/notebooks/`` and beside the site in
``_build/html/notebooks/``. Each one passes ``check_notebook`` (no leftover MyST, shared macros
defined first, every figure caption under an image), carries the numbers the site shows, is what the
page's download and launch buttons open, and every formula in it typesets in MathJax with only the
macros its first cell defines (undefined control sequences are errors here, as they are red in Jupyter).
"""

from __future__ import annotations

import importlib.util
import json
import re
import sys
from pathlib import Path
from urllib.parse import unquote, urljoin, urlparse

import pytest
import yaml
from conftest import HTML, chapter_pages

ROOT = Path(__file__).resolve().parents[2]
BUILD = HTML.parent  # _build, or a one-chapter build's folder (LOSSBOOK_SITE_DIR)
_spec = importlib.util.spec_from_file_location("lossbook_notebooks", ROOT / "book" / "_ext" / "lossbook_notebooks.py")
nbconv = importlib.util.module_from_spec(_spec)
sys.modules.setdefault("lossbook_notebooks", nbconv)
_spec.loader.exec_module(nbconv)

pytestmark = pytest.mark.site

BOOK = nbconv.book_from_config(ROOT, BUILD)
DOCS = BOOK.docs  # executed pages of the last build, in reading order ([] without a build)


def _notebook(doc: str) -> dict:
    return json.loads((BUILD / nbconv.NOTEBOOK_DIR / nbconv.notebook_relpath(doc)).read_text(encoding="utf-8"))


def _markdown(nb: dict) -> str:
    return "\n\n".join(c["source"] for c in nb["cells"] if c["cell_type"] == "markdown")


def test_every_executed_page_has_its_notebook_in_the_build_and_beside_the_site(site_url):
    del site_url  # only guarantees that a build exists (or fails under CI)
    chapters = [p.removesuffix(".html") for p in chapter_pages()]
    assert chapters and set(chapters) <= set(DOCS), f"chapters without a notebook: {set(chapters) - set(DOCS)}"
    for doc in DOCS:
        built = BUILD / nbconv.NOTEBOOK_DIR / nbconv.notebook_relpath(doc)
        published = HTML / nbconv.NOTEBOOK_DIR / nbconv.notebook_relpath(doc)
        assert built.exists() and published.exists(), doc
        assert built.read_bytes() == published.read_bytes(), f"{doc}: the published notebook differs"


@pytest.mark.parametrize("doc", DOCS)
def test_notebook_passes_the_checks(doc):
    import nbformat

    nb = _notebook(doc)
    nbformat.validate(nbformat.from_dict(nb))
    assert nbconv.check_notebook(nb, BOOK.macros) == []
    assert nbconv.defined_macros(nb) == set(BOOK.macros), "the first cell must define every shared macro"
    install = nb["cells"][1]
    assert install["cell_type"] == "code" and f"git+{BOOK.repo_url}@{BOOK.branch}" in install["source"]
    assert set(nb["metadata"]) <= {"kernelspec", "language_info"}
    for cell in nb["cells"]:
        assert set(cell["metadata"]) <= set(nbconv.KEEP_CELL_METADATA), (doc, cell["metadata"])


@pytest.mark.parametrize("doc", DOCS)
def test_notebook_numbers_are_the_sites(doc):
    page = nbconv.SitePage(HTML / f"{doc}.html")
    nb = _notebook(doc)
    text = _markdown(nb)
    missing = []
    for kind, items in page.sequence.items():
        for item in items:
            if not item.number or kind == "proof":
                continue
            if kind == "equation":
                if f"\\tag{{{item.number.strip('()')}}}" not in text:
                    missing.append(item.number)
            elif f"**{item.number}" not in text:
                missing.append(item.number)
    for number, title in page.headings:
        if number and not re.search(rf"^#+ {re.escape(number)} ", text, flags=re.M):
            missing.append(f"section {number} {title}")
    assert not missing, f"{doc}: numbered on the site but not in the notebook: {missing}"
    captions = sum(nbconv.FIGURE_CAPTION_TAG in c["metadata"].get("tags", []) for c in nb["cells"])
    assert captions == len(page.sequence.get("figure", [])), f"{doc}: figures on the site vs captions in the notebook"


@pytest.mark.parametrize("doc", DOCS)
def test_page_buttons_open_the_converted_notebook(doc):
    html = (HTML / f"{doc}.html").read_text(encoding="utf-8")
    page_url = (HTML / f"{doc}.html").as_uri()
    downloads = [h for h in re.findall(r'href="([^"]+\.ipynb)"', html) if not h.startswith("http")]
    assert downloads, f"{doc}: no .ipynb download link"
    for href in downloads:
        target = Path(unquote(urlparse(urljoin(page_url, href)).path))
        assert target == HTML / nbconv.NOTEBOOK_DIR / nbconv.notebook_relpath(doc), href
    launch = yaml.safe_load((ROOT / "_config.yml").read_text())["launch_buttons"]
    urls = nbconv.launch_urls(BOOK, doc, launch.get("binderhub_url", ""), launch.get("colab_url", ""),
                              launch.get("notebook_interface", ""))
    assert launch.get("notebook_interface") == "jupyterlab" and set(urls) == {"Binder", "Colab"}
    for name, url in urls.items():
        assert f'href="{url.replace("&", "&amp;")}"' in html, f"{doc}: {name} button does not open {url}"


TYPESET = """async (formulas) => {
    await MathJax.startup.promise;
    const errors = [];
    for (const [tex, display] of formulas) {
        const node = await MathJax.tex2chtmlPromise(tex, {display});
        const err = node.querySelector('mjx-merror');
        if (err) errors.push((err.getAttribute('data-mjx-error') || err.textContent) + ' in: ' + tex.slice(0, 80));
    }
    return errors;
}"""


def _mathjax_page(offline_page, site_url):
    """A blank page with the site's MathJax where an undefined macro is an error (as in Jupyter, not red text)."""
    page = offline_page.page
    page.set_content(f"""<html><head><script>window.MathJax = {{
        tex: {{packages: {{'[-]': ['noundefined']}}}}, startup: {{typeset: false}}}};</script>
        <script src="{site_url}/_static/mathjax/tex-chtml.js"></script></head><body></body></html>""")
    page.wait_for_function("() => !!(window.MathJax && MathJax.startup && MathJax.startup.promise)", timeout=20_000)
    return page


def _formulas(nb: dict) -> list[tuple[str, bool]]:
    out = []
    for cell in nb["cells"]:
        if cell["cell_type"] == "markdown":
            src = nbconv._without_code(cell["source"])
            for m in nbconv.MATH_SEGMENT.finditer(src):
                if m.group(1) is not None:
                    out.append((m.group(1), True))
                elif m.group(2) is not None:
                    out.append((m.group(2), False))
                else:
                    out.append((m.group(0), True))
    return out


@pytest.mark.parametrize("doc", DOCS)
def test_every_formula_typesets_with_the_first_cells_macros(offline_page, site_url, doc):
    page = _mathjax_page(offline_page, site_url)
    formulas = _formulas(_notebook(doc))
    assert formulas, f"{doc}: no formula found (the extraction is broken?)"
    errors = page.evaluate(TYPESET, formulas)  # in order: the first cell's \\def's come first
    assert not errors, f"{doc}: {len(errors)} formulas fail in MathJax: {errors[:10]}"
    assert not offline_page.blocked


def test_typesetting_check_fails_on_an_undefined_macro(offline_page, site_url):
    page = _mathjax_page(offline_page, site_url)
    defs = "".join(nbconv.macro_definitions(BOOK.macros))
    assert page.evaluate(TYPESET, [["\\calH \\subset \\R^n", False]]), "a book macro without its definition passed"
    assert page.evaluate(TYPESET, [[defs, False], ["\\calH \\subset \\R^n", False]]) == []
    assert page.evaluate(TYPESET, [["\\calQ", False]]), "an undefined macro passed"
