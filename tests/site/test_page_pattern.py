"""Every page of the site follows the chapter pattern (see ``checks.py`` for what each check means).

One page load per viewport width serves all browser checks of a page. ``test_checks_can_fail.py``
shows, on a deliberately broken mini-book, that each of these checks is able to fail.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from checks import audit_page, figures_hidden_from_jupyter, removed_verification_cells, unbalanced_fences
from conftest import ROOT, chapter_pages, toc_pages

pytestmark = pytest.mark.site

PAGES = toc_pages()
CHAPTERS = set(chapter_pages())

@pytest.mark.parametrize("path", PAGES)
def test_page_shows_only_captioned_figures_fitting_content_and_no_raw_output(offline_page, site_url, path):
    problems = audit_page(offline_page.page, f"{site_url}/{path}", chapter=path in CHAPTERS)
    report = "\n".join(f"  {kind}: {item}" for kind, items in problems.items() for item in items)
    assert not report, f"{path} breaks the page pattern:\n{report}"


@pytest.mark.parametrize("path", PAGES)
def test_source_keeps_checks_openable_and_fences_balanced(path):
    src = ROOT / Path(path).with_suffix(".md")
    if not src.exists():
        pytest.skip(f"{path} has no MyST source")
    problems = removed_verification_cells(src)
    problems += unbalanced_fences(src) + figures_hidden_from_jupyter(src)
    assert not problems, "\n".join(problems)


def test_contributing_skeleton_follows_the_pattern(tmp_path):
    # the chapter skeleton in CONTRIBUTING.md is what new chapters copy: it must pass the source checks
    # and show each piece of the pattern (its rendering was checked once by building it with a stub solver)
    text = (ROOT / "CONTRIBUTING.md").read_text(encoding="utf-8")
    skeleton = text.split("`````markdown\n", 1)[1].split("\n`````", 1)[0]
    md = tmp_path / "skeleton.md"
    md.write_text(skeleton, encoding="utf-8")
    assert removed_verification_cells(md) == unbalanced_fences(md) == figures_hidden_from_jupyter(md) == []
    for piece in ("tags: [hide-input]\nmystnb:\n  figure:\n    name: ", "    caption: ", "{numref}`xyz-fig-gap`",
                  ":tags: [hide-input]\n", "assert ", '__verdict", "confirmed" if', "{glue:text}`xyz_gap__verdict`"):
        assert piece in skeleton, piece
