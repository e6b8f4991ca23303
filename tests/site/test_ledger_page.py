"""The claims-ledger page: it fits the column, every verdict is a coloured badge of a known category,
and the counts at the top add up to the rows (they are computed in the build, after glue resolution)."""

from __future__ import annotations

import re

import pytest
from conftest import toc_pages

pytestmark = pytest.mark.site

LEDGER = "book/claims.html"


@pytest.mark.skipif(LEDGER not in toc_pages(), reason="this build has no ledger page")
@pytest.mark.parametrize("width", [1280, 1024])
def test_ledger_fits_shows_counts_and_coloured_verdicts(offline_page, site_url, width):
    page = offline_page.page
    page.set_viewport_size({"width": width, "height": 900})
    page.goto(f"{site_url}/{LEDGER}", wait_until="load")
    info = page.evaluate("""() => {
      const art = document.querySelector('article.bd-article');
      const right = art.getBoundingClientRect().right - parseFloat(getComputedStyle(art).paddingRight);
      const tables = [...art.querySelectorAll('.claims-ledger table')];
      const wide = tables.filter(t => t.getBoundingClientRect().right > right + 1 || t.scrollWidth > t.clientWidth + 1
                                      || t.parentElement.scrollWidth > t.parentElement.clientWidth + 1).length;
      const rows = tables.flatMap(t => [...t.querySelectorAll('tbody tr')]);
      const cat = b => [...b.classList].find(c => c.startsWith('verdict-') && c !== 'verdict-badge');
      const cats = rows.map(r => { const b = r.lastElementChild.querySelector('.verdict-badge');
                                   return b ? cat(b) : null; });
      const colours = rows.map(r => { const b = r.lastElementChild.querySelector('.verdict-badge');
                                      return b ? getComputedStyle(b).backgroundColor : null; });
      const counts = art.querySelector('.claims-counts');
      return {tables: tables.length, wide, rows: rows.length, cats, colours, counts: counts ? counts.textContent : ''};
    }""")
    assert info["tables"] >= 1 and info["rows"] >= 1
    assert info["wide"] == 0, f"{info['wide']} ledger tables wider than the column at {width} px"
    assert None not in info["cats"], "a verdict cell without a badge"
    assert "verdict-unknown" not in info["cats"], "a verdict outside the vocabulary"
    assert all(c and c not in ("rgba(0, 0, 0, 0)", "transparent") for c in info["colours"]), "uncoloured badge"
    total = re.match(r"\s*(\d+) claims:", info["counts"])
    assert total and int(total.group(1)) == info["rows"], info["counts"]
    assert sum(int(k) for k in re.findall(r"(\d+) [a-z]", info["counts"].split(":", 1)[1])) == info["rows"]
