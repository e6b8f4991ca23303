"""Each page check fails on a deliberately broken page and passes on a page that follows the pattern.

A mini-book (``fixtures/pattern_book``: ``broken.md`` has one instance of every defect, ``good.md``
none, ``unnumbered.md`` sits in an unnumbered part but is checked as a chapter) is built once per session
with the site's own extensions, CSS and local MathJax. Defects that would wreck the rest of a page
(mis-nested fences, an unclosed ``$$``) are source files of their own in ``fixtures/sources``.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from checks import KINDS, audit_page, figures_hidden_from_jupyter, removed_verification_cells, unbalanced_fences
from conftest import ROOT, serve

pytestmark = pytest.mark.site

FIXTURE = Path(__file__).parent / "fixtures" / "pattern_book"
SOURCES = Path(__file__).parent / "fixtures" / "sources"


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
        {"format": "jb-book", "root": "index",
         "parts": [{"caption": "Chapters", "numbered": True, "chapters": [{"file": "good"}, {"file": "broken"}]},
                   {"caption": "Back matter", "numbered": False, "chapters": [{"file": "unnumbered"}]}]}))
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
    # every page is audited as a chapter: unnumbered.md is the one that is not
    result = {name: audit_page(page, f"{url}/{name}.html", chapter=True) for name in ("good", "broken", "unnumbered")}
    ctx.close()
    return result


def test_good_page_passes_every_check(audits, fixture_site):
    assert audits["good"] == {k: [] for k in KINDS}
    html = (fixture_site[1] / "_build" / "html" / "good.html").read_text()
    assert html.count('class="caption-number"') == 1 and "_images/" in html  # the figure is there, numbered
    assert "Fig. 1.1" in html and "(1.1)" in html  # numbers carry the chapter number
    md = fixture_site[1] / "good.md"
    assert removed_verification_cells(md) == [] and unbalanced_fences(md) == [] == figures_hidden_from_jupyter(md)


def test_figure_check_flags_an_uncaptioned_output_image(audits):
    assert any("not in a figure" in p for p in audits["broken"]["figure"]), audits["broken"]["figure"]


def test_figure_check_flags_a_figure_the_text_never_refers_to(audits):
    found = [p for p in audits["broken"]["figure"] if "never referenced" in p]
    assert len(found) == 1 and "Fig. 2.1" in found[0], audits["broken"]["figure"]  # the glued one, not fig-broken-typed


@pytest.mark.parametrize("width", [1280, 1024])
@pytest.mark.parametrize("kind", ["equation", "inline formula", "table", "code block"])
def test_overflow_check_flags_wide_content_at_both_widths(audits, kind, width):
    found = [p for p in audits["broken"]["overflow"] if p.startswith(f"[{width}px] {kind}")]
    assert found, f"no {kind} overflow reported at {width} px: {audits['broken']['overflow']}"


def test_output_check_flags_a_print_and_a_repr(audits):
    outs = audits["broken"]["output"]
    assert any("checks:" in p for p in outs), outs
    assert any("budget" in p for p in outs), outs


def test_output_check_flags_a_markdown_sentence(audits):
    # myst-nb writes Markdown output straight into .cell_output, with no div.output around it
    outs = audits["broken"]["output"]
    assert any(p.startswith("Markdown") and "passed" in p for p in outs), outs


def test_structure_check_flags_a_docutils_message_and_swallowed_blocks(audits):
    found = audits["broken"]["structure"]
    assert any(p.startswith("docutils message") for p in found), found
    assert any("swallowed the heading" in p for p in found), found
    assert any("swallowed another block" in p and "Lemma" in p for p in found), found


def test_structure_check_flags_raw_tex_in_the_text(audits):
    found = [p for p in audits["broken"]["structure"] if p.startswith("raw TeX")]
    assert found and any("Proof" in p for p in found), audits["broken"]["structure"]


def test_numbering_check_flags_numbers_without_the_chapter(audits):
    found = audits["unnumbered"]["numbering"]
    assert any('"Fig. 1"' in p for p in found) and any('"(1)' in p for p in found), found
    assert audits["unnumbered"]["figure"] == [], audits["unnumbered"]  # the page is otherwise fine


def test_numbering_check_flags_a_reference_with_a_typed_number(audits):
    found = audits["broken"]["numbering"]
    assert len(found) == 1 and "Fig. 7" in found[0] and "2.2" in found[0], found


def test_hidden_check_flags_removed_verification_cells(fixture_site):
    found = removed_verification_cells(fixture_site[1] / "broken.md")
    assert len(found) == 3, found
    assert [p.split("removed by ")[1][:20] for p in found] == ["['remove-input'] (us", "['remove-cell'] (use",
                                                                "['remove_code_source"], found


def test_glue_check_flags_a_figure_jupyter_would_not_show(fixture_site):
    found = figures_hidden_from_jupyter(fixture_site[1] / "broken.md")
    assert len(found) == 1 and "broken_glued_figure" in found[0], found


def test_fence_check_flags_an_unterminated_directive(fixture_site):
    found = unbalanced_fences(fixture_site[1] / "broken.md")
    assert any("never closed" in p for p in found), found


def test_fence_check_flags_a_directive_nested_with_the_same_fence():
    found = unbalanced_fences(SOURCES / "nested_fences.md")
    assert len(found) == 1 and "nested in the ``` block" in found[0], found


def test_fence_check_flags_an_unclosed_display_formula():
    found = unbalanced_fences(SOURCES / "open_math.md")
    assert found == ["open_math.md:3: $$ opened here is never closed"], found
