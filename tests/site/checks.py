"""What every chapter page must show, as checks that return a list of problems (empty = fine).

The same functions run on the real site (``test_page_pattern.py``) and on a deliberately broken
mini-book (``test_checks_can_fail.py``), which proves that each check is able to fail.

Browser checks (one page load, evaluated at each viewport width):

* ``figure``   an output image that is not inside a numbered, captioned figure;
* ``overflow`` a typeset display equation (``mjx-container[display]``), a table or a visible
  ``pre`` wider than the article's text column (horizontal scrolling does not count as fitting);
* ``output``   a cell whose visible output is text (a print, a repr): outputs must be a figure, an
  HTML table, or nothing;
* ``structure`` docutils system messages or problematic nodes, and an admonition, proof or
  exercise block that swallowed a heading, a section or another exercise.

Source checks (the chapter's MyST file):

* ``hidden``   a verification cell (it asserts, simplifies or compares) tagged ``remove-input`` or
  ``remove-cell``: a reader must be able to open it, so it is ``hide-input``;
* ``fences``   unbalanced ``` or ::: fences (an unterminated directive swallows the rest of the page).
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml

WIDTHS = (1280, 1024)

# Evaluated in the page; returns {"figure": [...], "overflow": [...], "output": [...], "structure": [...]}.
PAGE_AUDIT_JS = r"""
() => {
  const art = document.querySelector('article.bd-article') || document.querySelector('article') || document.body;
  const cs = getComputedStyle(art);
  const ar = art.getBoundingClientRect();
  const left = ar.left + parseFloat(cs.paddingLeft), right = ar.right - parseFloat(cs.paddingRight);
  const snip = (e) => (e.textContent || '').replace(/\s+/g, ' ').trim().slice(0, 70);
  const visible = (e) => !!(e.offsetParent || e.getClientRects().length);
  const out = {figure: [], overflow: [], output: [], structure: []};

  for (const img of art.querySelectorAll('img')) {
    const src = img.getAttribute('src') || '';
    if (!/_images\//.test(src)) continue;               // theme icons and logos are not figures
    const fig = img.closest('figure');
    const cap = fig && fig.querySelector('figcaption');
    const num = cap && cap.querySelector('.caption-number');
    const words = cap ? cap.textContent.replace(/^\s*(Fig\.|Figure)\s*[\d.]+\s*/, '').trim() : '';
    if (!fig || !cap || !num || words.length < 20)
      out.figure.push(src.split('/').pop() + (fig ? (cap ? (num ? ': caption too short' : ': caption not numbered')
                                                       : ': figure without caption') : ': not in a figure'));
  }

  const tol = 1;
  for (const m of art.querySelectorAll('mjx-container[display="true"]')) {
    if (!visible(m)) continue;
    const inner = m.querySelector('mjx-math') || m;
    const r = inner.getBoundingClientRect();
    if (r.width > right - left + tol || r.right > right + tol || r.left < left - tol)
      out.overflow.push(`equation ${Math.round(r.width)}px > column ${Math.round(right - left)}px: ${snip(m)}`);
  }
  for (const t of art.querySelectorAll('table')) {
    if (!visible(t)) continue;
    const r = t.getBoundingClientRect();
    if (t.scrollWidth > t.clientWidth + tol || r.right > right + tol ||
        (t.parentElement && t.parentElement.scrollWidth > t.parentElement.clientWidth + tol))
      out.overflow.push(`table ${Math.round(Math.max(r.width, t.scrollWidth))}px > column ` +
                        `${Math.round(right - left)}px: ${snip(t)}`);
  }
  for (const p of art.querySelectorAll('pre')) {
    if (!visible(p)) continue;
    const r = p.getBoundingClientRect();
    if (p.scrollWidth > p.clientWidth + tol || r.right > right + tol)
      out.overflow.push(`code block ${p.scrollWidth}px > ${p.clientWidth}px: ${snip(p)}`);
  }

  for (const o of art.querySelectorAll('.cell_output .output')) {
    if (o.closest('figure')) {
      if (o.matches('.stream, .text_plain')) out.output.push('text printed inside a figure cell: ' + snip(o));
      continue;
    }
    if (o.matches('.text_html')) {
      if (!o.querySelector('table')) out.output.push('HTML output that is not a table: ' + snip(o));
      continue;
    }
    if (o.matches('.stream, .text_plain, .text_latex, .text_markdown') || o.querySelector('pre'))
      out.output.push('text output (print or repr): ' + snip(o));
  }

  for (const e of art.querySelectorAll('.system-message, .problematic'))
    out.structure.push('docutils message: ' + snip(e));
  for (const box of art.querySelectorAll('.admonition, .proof, .exercise, .solution')) {
    const heading = box.querySelector('h1, h2, h3, h4');
    const nested = [...box.querySelectorAll('.exercise, .solution, .proof')].filter(e => e !== box);
    if (heading) out.structure.push(`block swallowed the heading "${snip(heading)}": ${snip(box).slice(0, 40)}`);
    else if (nested.length && !box.matches('.dropdown'))
      out.structure.push(`block swallowed another block "${snip(nested[0]).slice(0, 40)}": ${snip(box).slice(0, 40)}`);
  }
  return out;
}
"""


def audit_page(page, url: str, widths=WIDTHS) -> dict[str, list[str]]:
    """Load ``url`` once per width (after MathJax has typeset it) and merge the problems found."""
    problems: dict[str, list[str]] = {"figure": [], "overflow": [], "output": [], "structure": []}
    for width in widths:
        page.set_viewport_size({"width": width, "height": 900})
        page.goto(url, wait_until="load")
        if page.locator(".math").count():
            page.wait_for_function("() => !!(window.MathJax && window.MathJax.startup"
                                   " && window.MathJax.startup.promise)", timeout=20_000)
            page.evaluate("async () => { await window.MathJax.startup.promise; return true; }")
        found = page.evaluate(PAGE_AUDIT_JS)
        for key, items in found.items():
            for item in items:
                tagged = f"[{width}px] {item}" if key == "overflow" else item
                if tagged not in problems[key]:
                    problems[key].append(tagged)
    return problems


# ---------------------------------------------------------------------------------------- source checks
_VERIFY = re.compile(r"^\s*assert\b|\bsimplify\(|\ballclose\(|\bisclose\(|np\.testing\.|assert_allclose|\.equals\(",
                     re.MULTILINE)
_FENCE = re.compile(r"^(?P<indent>\s*)(?P<fence>`{3,}|:{3,})(?P<rest>.*)$")


def _code_cells(text: str):
    """Yield (tags, source, line) for every ``{code-cell}`` of a MyST notebook."""
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        m = re.match(r"^(`{3,})\{code-cell\}", lines[i])
        if not m:
            i += 1
            continue
        fence, start = m.group(1), i + 1
        j = i + 1
        while j < len(lines) and lines[j].rstrip() != fence:
            j += 1
        body = lines[i + 1:j]
        tags: list[str] = []
        k = 0
        if body and body[0].strip() == "---":  # YAML metadata block
            end = next((n for n in range(1, len(body)) if body[n].strip() == "---"), 0)
            meta = yaml.safe_load("\n".join(body[1:end])) or {}
            tags = [str(t) for t in meta.get("tags", [])]
            k = end + 1
        else:
            while k < len(body) and body[k].startswith(":"):
                t = re.match(r":tags:\s*\[([^\]]*)\]", body[k])
                if t:
                    tags = re.findall(r"[\w-]+", t.group(1))
                k += 1
        yield tags, "\n".join(body[k:]), start
        i = j + 1


def removed_verification_cells(md: Path) -> list[str]:
    """Code cells that verify something (assert, simplify, allclose, ...) but are removed from the page."""
    out = []
    for tags, src, line in _code_cells(md.read_text(encoding="utf-8")):
        if ({"remove-input", "remove-cell"} & set(tags)) and _VERIFY.search(src):
            out.append(f"{md.name}:{line}: verification cell tagged {sorted(set(tags))} (use hide-input)")
    return out


def unbalanced_fences(md: Path) -> list[str]:
    """Directive fences (``` and :::) that open without closing, or close what was never opened."""
    stack: list[tuple[str, int]] = []
    out = []
    for n, line in enumerate(md.read_text(encoding="utf-8").splitlines(), start=1):
        m = _FENCE.match(line)
        if not m:
            continue
        fence, rest = m.group("fence"), m.group("rest").strip()
        if stack and stack[-1][0][0] == "`" and fence[0] == ":":
            continue  # a ::: line inside a code block is text
        if rest:
            if stack and stack[-1][0][0] == "`" and not rest.startswith("{"):
                continue  # a plain ```lang inside a fenced block is text of that block
            stack.append((fence, n))
        elif stack and stack[-1][0][0] == fence[0] and len(fence) >= len(stack[-1][0]):
            stack.pop()
        else:
            out.append(f"{md.name}:{n}: closing fence {fence!r} with nothing open")
    out += [f"{md.name}:{n}: fence {f!r} opened here is never closed" for f, n in stack]
    return out
