"""What every chapter page must show, as checks that return a list of problems (empty = fine).

The same functions run on the real site (``test_page_pattern.py``) and on a deliberately broken
mini-book (``test_checks_can_fail.py``), which proves that each check is able to fail.

Browser checks (one page load, evaluated at each viewport width):

* ``figure``    an output image that is not inside a numbered, captioned figure, or a figure that the
  text never refers to;
* ``overflow``  a typeset display equation (``mjx-container[display]``), an inline formula, a table or
  a visible ``pre`` wider than the article's text column (horizontal scrolling does not count as fitting);
* ``output``    a cell whose visible output is text (a print, a repr, a Markdown sentence, HTML that is
  not a table): outputs must be a figure, a table, or nothing;
* ``structure`` docutils system messages or problematic nodes, an admonition, proof or exercise block
  that swallowed a heading or another block, and raw TeX left in the text (stray ``$``/``$$``);
* ``numbering`` (chapter pages) a figure, equation or theorem number without the chapter number
  (Fig. 4.2, (4.7), Theorem 4.1), and a reference showing another number than its target's.

Source checks (the chapter's MyST file):

* ``removed_verification_cells``  a verification cell (it asserts, simplifies, compares within a
  tolerance, or computes a claim's ``__verdict``) whose code is removed (``remove-input``,
  ``remove-cell``, ``mystnb: remove_code_source``): a reader must be able to open it (``hide-input``);
* ``figures_hidden_from_jupyter``  a ``{glue:figure}`` of a figure glued with ``display=False``;
* ``unbalanced_fences``  ``` or ::: fences that do not pair up as MyST reads them (unterminated,
  stray, or nested inside a fence of the same length), and an unclosed ``$$`` display formula.
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml

WIDTHS = (1280, 1024)

KINDS = ("figure", "overflow", "output", "structure", "numbering")

# Evaluated in the page with one argument, ``chapter`` (true on a chapter page, whose numbers must
# carry the chapter number); returns {kind: [problem, ...]} for the KINDS above.
PAGE_AUDIT_JS = r"""
(chapter) => {
  const art = document.querySelector('article.bd-article') || document.querySelector('article') || document.body;
  const cs = getComputedStyle(art);
  const ar = art.getBoundingClientRect();
  const left = ar.left + parseFloat(cs.paddingLeft), right = ar.right - parseFloat(cs.paddingRight);
  const snip = (e) => (e.textContent || '').replace(/\s+/g, ' ').trim().slice(0, 70);
  const visible = (e) => !!(e.offsetParent || e.getClientRects().length);
  const out = {figure: [], overflow: [], output: [], structure: [], numbering: []};

  // internal links by target id (a figure, an equation or a theorem is "referenced" if a link points at it)
  const links = {};
  for (const a of art.querySelectorAll('a[href*="#"]')) {
    const id = decodeURIComponent(a.getAttribute('href').split('#').pop());
    (links[id] = links[id] || []).push(a);
  }

  // ---- figure: every output image in a numbered, captioned figure that the text refers to
  for (const img of art.querySelectorAll('img')) {
    const src = img.getAttribute('src') || '';
    if (!/_images\//.test(src)) continue;               // theme icons and logos are not figures
    const fig = img.closest('figure');
    const cap = fig && fig.querySelector('figcaption');
    const num = cap && cap.querySelector('.caption-number');
    const words = cap ? cap.textContent.replace(/^\s*(Fig\.|Figure)\s*[\d.]+\s*/, '').trim() : '';
    const name = src.split('/').pop();
    if (!fig || !cap || !num || words.length < 20)
      out.figure.push(name + (fig ? (cap ? (num ? ': caption too short' : ': caption not numbered')
                                         : ': figure without caption') : ': not in a figure'));
    else if (!fig.id || !(links[fig.id] || []).some(a => !fig.contains(a)))
      out.figure.push(`${name}: figure "${snip(num)}" (#${fig.id}) is never referenced from the text ({numref})`);
  }

  // ---- overflow: nothing wider than the text column (scrolling does not count as fitting)
  const tol = 1, column = right - left;
  for (const m of art.querySelectorAll('mjx-container[display="true"]')) {
    if (!visible(m)) continue;
    const inner = m.querySelector('mjx-math') || m;
    const r = inner.getBoundingClientRect();
    if (r.width > column + tol || r.right > right + tol || r.left < left - tol)
      out.overflow.push(`equation ${Math.round(r.width)}px > column ${Math.round(column)}px: ${snip(m)}`);
  }
  for (const m of art.querySelectorAll('mjx-container:not([display="true"])')) {
    if (!visible(m) || m.closest('table')) continue;    // a formula in a table is measured with its table
    const r = m.getBoundingClientRect();                // an inline formula never breaks across lines
    if (r.width > column + tol)
      out.overflow.push(`inline formula ${Math.round(r.width)}px > column ${Math.round(column)}px: ${snip(m)}`);
  }
  for (const t of art.querySelectorAll('table')) {
    if (!visible(t)) continue;
    const r = t.getBoundingClientRect();
    if (t.scrollWidth > t.clientWidth + tol || r.right > right + tol ||
        (t.parentElement && t.parentElement.scrollWidth > t.parentElement.clientWidth + tol))
      out.overflow.push(`table ${Math.round(Math.max(r.width, t.scrollWidth))}px > column ` +
                        `${Math.round(column)}px: ${snip(t)}`);
  }
  for (const p of art.querySelectorAll('pre')) {
    if (!visible(p)) continue;
    const r = p.getBoundingClientRect();
    if (p.scrollWidth > p.clientWidth + tol || r.right > right + tol)
      out.overflow.push(`code block ${p.scrollWidth}px > ${p.clientWidth}px: ${snip(p)}`);
  }

  // ---- output: what a cell shows is a figure, a table, or nothing. myst-nb writes text/plain and
  // stream outputs as div.output, but Markdown outputs straight into .cell_output, so every child counts.
  const onlyTables = (e) => {
    if (!(e.matches('table') || e.querySelector('table'))) return false;
    const c = e.cloneNode(true);
    c.querySelectorAll('table, style, script').forEach(x => x.remove());
    return !c.textContent.trim() && !c.querySelector('img, svg, iframe, canvas');
  };
  for (const co of art.querySelectorAll('.cell_output')) {
    for (const o of co.children) {
      if (o.matches('figure') || o.querySelector('figure')) {
        if (o.querySelector('.stream, .text_plain')) out.output.push('text printed inside a figure: ' + snip(o));
        continue;
      }
      if (o.matches('img') || (o.querySelector('img') && !o.textContent.trim())) continue;  // the figure check
      if (onlyTables(o)) continue;
      const what = o.matches('.stream, .stderr, .text_plain') ? 'text output (print or repr)'
                 : o.matches('.text_html') ? 'HTML output that is not a table' : 'Markdown or other output';
      out.output.push(`${what}: ${snip(o)}`);
    }
  }

  // ---- structure: docutils messages, blocks that swallowed a heading or another block, raw TeX
  for (const e of art.querySelectorAll('.system-message, .problematic'))
    out.structure.push('docutils message: ' + snip(e));
  for (const box of art.querySelectorAll('.admonition, .proof, .exercise, .solution')) {
    const heading = box.querySelector('h1, h2, h3, h4, h5, h6, .rubric');
    const nested = [...box.querySelectorAll('.exercise, .solution, .proof')].filter(e => e !== box);
    if (heading) out.structure.push(`block swallowed the heading "${snip(heading)}": ${snip(box).slice(0, 40)}`);
    else if (nested.length && !box.matches('.dropdown'))
      out.structure.push(`block swallowed another block "${snip(nested[0]).slice(0, 40)}": ${snip(box).slice(0, 40)}`);
  }
  // TeX that reached the page as text: an unterminated $$, a display formula turned inline with its
  // dollars left over (sphinx-proof does this to a proof that opens with $$), delimiters MathJax did not take.
  const skip = 'pre, code, script, style, mjx-container, .highlight, .cell_input, textarea';
  const isMath = (e) => !!e && e.nodeType === 1 &&
                         (e.matches('mjx-container, .math') || !!e.querySelector('mjx-container'));
  const walker = document.createTreeWalker(art, NodeFilter.SHOW_TEXT);
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    if (n.parentElement.closest(skip)) continue;
    const t = n.textContent;
    const nextMath = isMath(n.nextSibling), prevMath = isMath(n.previousSibling);
    if (/\$\$|\\[(\[]|\\begin\{/.test(t) || /\$[^$\n]*[\\^_{][^$\n]*\$/.test(t) ||
        (nextMath && /\$\s*$/.test(t)) || (prevMath && /^\s*\$/.test(t)))
      out.structure.push('raw TeX in the text: ' + snip(n.parentElement));
  }

  // ---- numbering: on a chapter page every number carries the chapter number (Fig. 4.2, (4.7),
  // Theorem 4.1), one chapter per page; a reference that shows a number shows its target's number.
  if (chapter) {
    const numberOf = (e) => { const m = e && e.textContent.match(/\d+(\.\d+)*/); return m ? m[0] : null; };
    const chapters = new Set();
    for (const e of art.querySelectorAll('.caption-number, .eqno')) {
      if (!/\d/.test(e.textContent)) continue;           // deliberately unnumbered (:nonumber:)
      const m = e.textContent.trim().match(/^(.*?)\s*\(?(\d+)\.(\d+)\)?\s*#?$/);
      if (!m) out.numbering.push(`number without the chapter number: "${e.textContent.trim()}"`);
      else chapters.add(m[2]);
    }
    if (chapters.size > 1) out.numbering.push(`numbers of several chapters on one page: ${[...chapters].join(', ')}`);
    for (const [id, anchors] of Object.entries(links)) {
      const target = document.getElementById(id);
      if (!target) continue;                               // the number shown in the target's own title
      const want = numberOf(target.querySelector(
        ':scope > figcaption .caption-number, :scope > .eqno, ' +
        ':scope > .admonition-title .caption-number, :scope > caption .caption-number'));
      if (!want) continue;
      for (const a of anchors) {
        if (target.contains(a) || !/\d/.test(a.textContent)) continue;   // its own headerlink; a worded link
        if (numberOf(a) !== want)
          out.numbering.push(`reference "${snip(a)}" to #${id}, which is numbered ${want}`);
      }
    }
  }
  return out;
}
"""


def audit_page(page, url: str, widths=WIDTHS, chapter: bool = False) -> dict[str, list[str]]:
    """Load ``url`` once per width (after MathJax has typeset it) and merge the problems found.

    ``chapter``: the page is a chapter of a numbered part, so its numbers must carry the chapter number.
    """
    problems: dict[str, list[str]] = {k: [] for k in KINDS}
    for width in widths:
        page.set_viewport_size({"width": width, "height": 900})
        page.goto(url, wait_until="load")
        if page.locator(".math").count():
            page.wait_for_function("() => !!(window.MathJax && window.MathJax.startup"
                                   " && window.MathJax.startup.promise)", timeout=20_000)
            page.evaluate("async () => { await window.MathJax.startup.promise; return true; }")
        found = page.evaluate(PAGE_AUDIT_JS, chapter)
        for key, items in found.items():
            for item in items:
                tagged = f"[{width}px] {item}" if key == "overflow" else item
                if tagged not in problems[key]:
                    problems[key].append(tagged)
    return problems


# ---------------------------------------------------------------------------------------- source checks
# A verification cell asserts, simplifies, compares within a tolerance, or decides a claim's verdict.
_VERIFY = re.compile(
    r"^\s*assert\b|\braise AssertionError\b|\b(?:n|trig|pow|rat)?simplify\(|\btrigsimp\(|\ballclose\(|\bisclose\("
    r"|\barray_equal\(|\btesting\.assert|assert_allclose|\.equals\(",
    re.MULTILINE)
# ...or glues a "__verdict" that it computes (a comparison or a condition in the same cell)
_VERDICT = re.compile(r"""["']\w*__verdict["']""")
_DECIDES = re.compile(r"\bif\b|[<>]=?|==|!=|\ball\(|\bany\(")
_FENCE = re.compile(r"^(?P<indent>\s*)(?P<fence>`{3,}|:{3,})(?P<rest>.*)$")
# directives whose body is not Markdown: fences and $$ inside them are text
_LITERAL = re.compile(r"^\{(code-cell|code-block|code|sourcecode|literalinclude|math|raw|eval-rst|glue:math)\}")


def _front_matter(text: str) -> dict:
    m = re.match(r"^---\n(.*?)\n---\n", text, re.S)
    return (yaml.safe_load(m.group(1)) or {}) if m else {}


def _code_cells(text: str):
    """Yield (tags, metadata, source, line) for every ``{code-cell}`` of a MyST notebook."""
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
        meta: dict = {}
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
        yield tags, meta, "\n".join(body[k:]), start
        i = j + 1


def _is_verification(src: str) -> bool:
    return bool(_VERIFY.search(src) or (_VERDICT.search(src) and _DECIDES.search(src)))


def removed_verification_cells(md: Path) -> list[str]:
    """Code cells that verify something (assert, simplify, allclose, a computed verdict) but whose code the
    reader cannot open: tagged ``remove-input``/``remove-cell``, or ``mystnb: remove_code_source`` on the
    cell or the whole page. Such a cell is ``hide-input``."""
    text = md.read_text(encoding="utf-8")
    page_removes = bool((_front_matter(text).get("mystnb") or {}).get("remove_code_source"))
    out = []
    for tags, meta, src, line in _code_cells(text):
        how = sorted({"remove-input", "remove-cell"} & set(tags))
        if (meta.get("mystnb") or {}).get("remove_code_source") or page_removes:
            how.append("remove_code_source")
        if how and _is_verification(src):
            verdict = _VERDICT.search(src)
            named = f" ({verdict.group(0)[1:-1]})" if verdict else ""
            out.append(f"{md.name}:{line}{named}: verification cell removed by {how} (use hide-input)")
    return out


def figures_hidden_from_jupyter(md: Path) -> list[str]:
    """Figures shown through ``{glue:figure}`` whose cell glues them with ``display=False``: they are
    captioned on the site but invisible when the notebook runs in Jupyter. Use ``mystnb: figure:``."""
    text = md.read_text(encoding="utf-8")
    keys = re.findall(r"^\s*[`:]{3,}\{glue:figure\}\s*(\S+)", text, re.MULTILINE)
    out = []
    for key in keys:
        for _tags, _meta, src, line in _code_cells(text):
            call = re.search(r"\bglue\(\s*[\"']" + re.escape(key) + r"[\"'][^)]*display\s*=\s*False", src)
            if call:
                out.append(f"{md.name}:{line}: figure {key!r} glued with display=False and shown by "
                           "{glue:figure} (use mystnb: figure: so Jupyter shows it too)")
    return out


def unbalanced_fences(md: Path) -> list[str]:
    """Fences that do not pair up as MyST will read them: a ``` or ::: directive that is never closed,
    a closing fence with nothing open, a directive nested in one fenced with the same number of backticks
    or colons (MyST closes the outer one at the inner's closing fence), and a ``$$`` display formula that
    is never closed (it swallows the text that follows)."""
    stack: list[tuple[str, int, bool]] = []   # (fence, line, literal body)
    math_open = 0
    out = []
    for n, line in enumerate(md.read_text(encoding="utf-8").splitlines(), start=1):
        m = _FENCE.match(line)
        top = stack[-1] if stack else None
        if top and top[2]:  # inside code or maths only its own closing fence counts
            if m and not m.group("rest").strip() and m.group("fence")[0] == top[0][0] \
                    and len(m.group("fence")) >= len(top[0]):
                stack.pop()
            continue
        if m:
            fence, rest = m.group("fence"), m.group("rest").strip()
            if math_open:
                out.append(f"{md.name}:{math_open}: $$ opened here is not closed before the fence on line {n}")
                math_open = 0
            same = top is not None and top[0][0] == fence[0]
            if not rest:
                if same and len(fence) >= len(top[0]):
                    stack.pop()
                else:
                    out.append(f"{md.name}:{n}: closing fence {fence!r} with nothing open")
            elif same and len(fence) >= len(top[0]):
                out.append(f"{md.name}:{n}: {fence}{rest.split()[0]} nested in the {top[0]} block of line {top[1]}: "
                           f"give the outer block more {'backticks' if fence[0] == '`' else 'colons'}")
                stack.append((fence, n, bool(_LITERAL.match(rest)) or not rest.startswith("{")))
            else:
                stack.append((fence, n, bool(_LITERAL.match(rest)) or not rest.startswith("{")))
            continue
        dollars = line.strip()
        if math_open:
            if "$$" in dollars:
                math_open = 0
        elif dollars.startswith("$$") and "$$" not in dollars[2:]:
            math_open = n
    out += [f"{md.name}:{n}: fence {f!r} opened here is never closed" for f, n, _ in stack]
    if math_open:
        out.append(f"{md.name}:{math_open}: $$ opened here is never closed")
    return out
