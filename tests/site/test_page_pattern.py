"""Every page of the site follows the chapter pattern (see ``checks.py`` for what each check means).

One page load per viewport width serves all browser checks of a page. ``test_checks_can_fail.py``
shows, on a deliberately broken mini-book, that each of these checks is able to fail.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from checks import audit_page, removed_verification_cells, unbalanced_fences
from conftest import ROOT, toc_pages

pytestmark = pytest.mark.site

PAGES = toc_pages()


@pytest.mark.parametrize("path", PAGES)
def test_page_shows_only_captioned_figures_fitting_content_and_no_raw_output(offline_page, site_url, path):
    problems = audit_page(offline_page.page, f"{site_url}/{path}")
    report = "\n".join(f"  {kind}: {item}" for kind, items in problems.items() for item in items)
    assert not report, f"{path} breaks the page pattern:\n{report}"


@pytest.mark.parametrize("path", PAGES)
def test_source_keeps_checks_openable_and_fences_balanced(path):
    src = ROOT / Path(path).with_suffix(".md")
    if not src.exists():
        pytest.skip(f"{path} has no MyST source")
    problems = removed_verification_cells(src) + unbalanced_fences(src)
    assert not problems, "\n".join(problems)
