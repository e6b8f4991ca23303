"""Each page check fails on a deliberately broken page and passes on a page that follows the pattern.

A mini-book (``fixtures/pattern_book``: ``broken.md`` has one instance of every defect, ``good.md``
none) is built once per session with the site's own extensions, CSS and local MathJax.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from checks import audit_page, removed_verification_cells, unbalanced_fences
from conftest import ROOT, serve

pytestmark = pytest.mark.site

FIXTURE = Path(__file__).parent / "fixtures" / "pattern_book"


@pytest.fixture(scope="session")
def fixture_site(tmp_path_factory):
    src = tmp_path_factory.mktemp("pattern_book")
    for f in FIXTURE.glob("*.md"):
        shutil.copy(f, src / f.name)
    book_cfg = yaml.safe_load((ROOT / "_config.yml").read_text())
    sphinx_cfg = book_cfg["sphinx"]["config"]
    cfg = {
        "title": "pattern fixture",
        "execute": {"execute_notebooks": "force", "timeout": 120},
        "parse": book_cfg["parse"],
        "sphinx": {
            "extra_extensions": book_cfg["sphinx"]["extra_extensions"],
            "config": {k: sphinx_cfg[k] for k in ("keep_warnings", "numfig", "numfig_secnum_depth", "math_numfig",
                                                  "mathjax_path",
                                                  "mathjax3_config", "html_css_files", "nb_merge_streams")}
            | {"html_static_path": [str(ROOT / "book" / "_static")]},
        },
    }
    (src / "_config.yml").write_text(yaml.safe_dump(cfg))
    (src / "_toc.yml").write_text(yaml.safe_dump(
        {"format": "jb-book", "root": "index", "chapters": [{"file": "good"}, {"file": "broken"}],
         "defaults": {"numbered": True}}))
    jb = Path(sys.executable).parent / "jupyter-book"
    out = subprocess.run([str(jb), "build", str(src), "--path-output", str(src)], capture_output=True, text=True,
                         timeout=600)
    html = src / "_build" / "html"
    assert (html / "broken.html").exists(), out.stdout[-3000:] + out.stderr[-3000:]
    url, server = serve(html)
    yield url, src
    server.shutdown()


@pytest.fixture(scope="session")
def audits(browser, fixture_site):
    url, _ = fixture_site
    ctx = browser.new_context()
    page = ctx.new_page()
    result = {name: audit_page(page, f"{url}/{name}.html") for name in ("good", "broken")}
    ctx.close()
    return result


def test_good_page_passes_every_check(audits, fixture_site):
    assert audits["good"] == {"figure": [], "overflow": [], "output": [], "structure": []}
    html = (fixture_site[1] / "_build" / "html" / "good.html").read_text()
    assert html.count('class="caption-number"') == 1 and "_images/" in html  # the figure is there, numbered
    md = fixture_site[1] / "good.md"
    assert removed_verification_cells(md) == [] and unbalanced_fences(md) == []


def test_figure_check_flags_an_uncaptioned_output_image(audits):
    assert any("not in a figure" in p for p in audits["broken"]["figure"]), audits["broken"]["figure"]


@pytest.mark.parametrize("width", [1280, 1024])
@pytest.mark.parametrize("kind", ["equation", "table", "code block"])
def test_overflow_check_flags_wide_content_at_both_widths(audits, kind, width):
    found = [p for p in audits["broken"]["overflow"] if p.startswith(f"[{width}px] {kind}")]
    assert found, f"no {kind} overflow reported at {width} px: {audits['broken']['overflow']}"


def test_output_check_flags_a_print_and_a_repr(audits):
    outs = audits["broken"]["output"]
    assert any("checks:" in p for p in outs), outs
    assert any("budget" in p for p in outs), outs


def test_structure_check_flags_a_docutils_message_and_a_swallowed_block(audits):
    found = audits["broken"]["structure"]
    assert any(p.startswith("docutils message") for p in found), found
    assert any("swallowed" in p for p in found), found


def test_hidden_check_flags_a_removed_verification_cell(fixture_site):
    found = removed_verification_cells(fixture_site[1] / "broken.md")
    assert len(found) == 1 and "remove-input" in found[0], found


def test_fence_check_flags_an_unterminated_directive(fixture_site):
    found = unbalanced_fences(fixture_site[1] / "broken.md")
    assert any("never closed" in p for p in found), found
