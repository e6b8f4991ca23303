"""The book's pages as standalone Jupyter notebooks, and a Sphinx extension that publishes them.

A chapter is written in MyST (``{glue:text}`` roles, ``prf:`` theorems, labelled equations, figures
captioned through cell metadata, macros defined in ``_config.yml``). Jupyter, JupyterLab and Colab
read none of that, so each executed page is converted into a notebook that does:

* glued values appear as their values (``{glue:text}``, ``{glue:}`` roles and directives, the
  cross-document ``path::key`` form included);
* a first markdown cell defines the shared LaTeX macros (generated from ``mathjax3_config``);
* theorems, definitions, proofs, admonitions, exercises and solutions become plain Markdown with
  their titles and the numbers the website shows; references (``{eq}``, ``{numref}``, ``{prf:ref}``,
  ``{ref}``, ``{doc}``, ``{cite:t}``/``{cite:p}``) become readable text or links;
* every figure is a code cell with an image output followed by its caption;
* MyST-only metadata is removed, and a first code cell installs ``lossbook`` where it is missing.

Where each piece comes from (one source of truth each):

* text and outputs: the executed notebook myst-nb writes to ``<build>/jupyter_execute/<doc>.ipynb``
  and its glue values ``<doc>.glue.json``;
* numbers: the built HTML page. Theorem, figure, equation, exercise and section numbers are read from
  what the site shows, so the notebook says "Theorem 4.1" exactly where the site does, whatever
  numbering scheme the book uses;
* macros, bibliography files and repository: the Sphinx configuration (``_config.yml``).

As a Sphinx extension (``local_extensions`` in ``_config.yml``) the notebooks are written when an HTML
build finishes, to ``<build>/notebooks/`` and beside the site (``<html>/notebooks/``); the page's
download button and its Colab/Binder launch buttons point at them. As a script::

    python book/_ext/lossbook_notebooks.py            # (re)convert from an existing build in _build/
    python book/_ext/lossbook_notebooks.py --check    # and check every notebook (what `make notebooks` runs)

:func:`check_notebook` lists what would make a notebook read badly in Jupyter; the tests use it.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import posixpath
import re
import sys
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, urlencode

NOTEBOOK_DIR = "notebooks"  # under the build folder and under the site root
SOURCE_ROOT = "book/"  # stripped from document names: book/<part>/<slug> -> <part>/<slug>.ipynb
IMAGE_MIMES = ("image/png", "image/svg+xml", "image/jpeg", "image/gif")
GLUE_PREFIX = "application/papermill.record/"
FIGURE_CAPTION_TAG = "figure-caption"
INSTALL_TAG = "install-lossbook"
MACROS_TAG = "latex-macros"
HIDE_SOURCE_TAGS = {"remove-input", "hide-input", "remove-cell", "hide-cell"}
HIDE_OUTPUT_TAGS = {"remove-output", "hide-output"}
KEEP_CELL_METADATA = ("tags", "jupyter", "collapsed", "scrolled", "editable", "deletable")
ADMONITIONS = ("note", "warning", "tip", "important", "hint", "caution", "attention", "danger", "error",
               "seealso", "todo")
PASS_THROUGH_DIRECTIVES = ("margin", "sidebar", "epigraph", "pull-quote", "highlights", "div", "container",
                           "grid", "grid-item", "tab-set", "centered", "only", "compound", "line-block",
                           "parsed-literal")  # their argument is not a title
IMAGE_FILES = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".gif": "image/gif"}
DROPPED_DIRECTIVES = ("tableofcontents", "toctree", "contents", "index", "meta", "highlight", "currentmodule",
                      "default-role", "role", "include", "literalinclude", "seealso-index", "claims-ledger",
                      "nb-exec-table")
CODE_ROLES = ("code", "literal", "samp", "file", "command", "envvar", "program", "option", "makevar", "regexp",
              "mailheader", "mimetype", "newsgroup", "dfn")
PY_ROLES = ("func", "meth", "class", "mod", "attr", "data", "obj", "exc", "const", "property", "type")


# --------------------------------------------------------------------------------------------------
# What the website shows: numbers and titles read from the built HTML
# --------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Numbered:
    """A numbered or titled thing on a page, as the site shows it."""

    kind: str  # "equation", "figure", "table", "theorem", ..., "proof", "exercise", "section"
    ident: str  # its HTML id
    number: str  # the site's label: "(4.7)", "Fig. 2", "Theorem 4.1", "4.3." ('' when unnumbered)
    title: str = ""  # caption, heading or theorem title, with math as $...$


def _make_id(label: str) -> str:
    from docutils.nodes import make_id

    return make_id(label)


def _html_text(el) -> str:
    """Text of an HTML element with inline math turned back into ``$...$``."""
    text = el.get_text()
    text = re.sub(r"\\\((.+?)\\\)", lambda m: "$" + m.group(1).strip() + "$", text, flags=re.S)
    return re.sub(r"\s+", " ", text).strip()


class SitePage:
    """Numbers, titles and headings of one built HTML page."""

    def __init__(self, html_path: Path):
        from bs4 import BeautifulSoup

        soup = BeautifulSoup(Path(html_path).read_text(encoding="utf-8"), "html.parser")
        main = soup.find("article") or soup.find(attrs={"role": "main"}) or soup
        for link in main.select("a.headerlink"):
            link.decompose()
        self.by_id: dict[str, Numbered] = {}
        self.sequence: dict[str, list[Numbered]] = defaultdict(list)  # kind -> in page order
        self.headings: list[tuple[str, str]] = []  # (number, title) in page order
        for div in main.select("div.math[id]"):
            eqno = div.find("span", class_="eqno")
            if eqno is not None:
                self._add(Numbered("equation", div["id"], eqno.get_text().strip()))
        for el in main.select("figure[id], table[id], div.proof, div.exercise, div.literal-block-wrapper[id]"):
            classes = el.get("class", [])
            if el.name in ("figure", "table"):
                kind = el.name
            elif "proof" in classes:
                kind = classes[1] if len(classes) > 2 else "proof"
            elif "exercise" in classes:
                kind = "exercise"
            else:
                kind = "code"
            num = el.find("span", class_="caption-number")
            number = num.get_text().strip() if num is not None else ""
            title = ""
            if el.name in ("figure", "table") or kind == "code":
                cap = el.find(class_="caption-text")
                title = _html_text(cap) if cap is not None else ""
            else:
                head = el.find(class_="admonition-title")
                if head is not None:
                    if num is not None:
                        num.extract()
                    title = _html_text(head).strip()
                    if title.startswith("(") and title.endswith(")"):
                        title = title[1:-1]
                    if num is not None:
                        head.insert(0, num)
            self._add(Numbered(kind, el.get("id", ""), number, title))
        for sec in main.find_all("section"):
            head = sec.find(re.compile(r"^h[1-6]$"))
            if head is None:
                continue
            num = head.find("span", class_="section-number")
            number = num.get_text().strip() if num is not None else ""
            if num is not None:
                num.extract()
            title = _html_text(head)
            if num is not None:
                head.insert(0, num)
            self.headings.append((number, title))
            item = Numbered("section", sec.get("id", ""), number, title)
            self.by_id.setdefault(item.ident, item)
            # explicit targets ``(label)=`` become empty spans just before the heading
            for span in sec.find_all("span", recursive=False):
                if span.get("id") and not span.get_text(strip=True):
                    self.by_id.setdefault(span["id"], Numbered("section", span["id"], number, title))
        h1 = main.find("h1")
        if h1 is not None:
            num = h1.find("span", class_="section-number")
            if num is not None:
                num.extract()
            self.title = _html_text(h1)
        else:
            self.title = ""

    def _add(self, item: Numbered) -> None:
        if item.ident:
            self.by_id.setdefault(item.ident, item)
        self.sequence[item.kind].append(item)


# --------------------------------------------------------------------------------------------------
# The book: configuration, pages, glue values, bibliography
# --------------------------------------------------------------------------------------------------

def macro_definitions(macros: dict) -> list[str]:
    r"""``\def`` lines for MathJax ``tex.macros`` (``{"R": "\\mathbb{R}", "norm": ["...#1...", 1]}``).

    ``\def`` rather than ``\newcommand``: it also works where a macro already exists (KaTeX defines
    ``\R``), and MathJax keeps it for every later cell of the notebook.
    """
    lines = []
    for name, value in macros.items():
        if isinstance(value, (list, tuple)):
            body, nargs = value[0], int(value[1]) if len(value) > 1 else 0
        else:
            body, nargs = value, 0
        params = "".join(f"#{i}" for i in range(1, nargs + 1))
        lines.append(rf"\def\{name}{params}{{{body}}}")
    return lines


def site_url_from(config_url: str, repo_url: str) -> str:
    """The published site's root URL: ``html.baseurl`` if set, else GitHub Pages of the repository."""
    if config_url:
        return config_url.rstrip("/") + "/"
    m = re.match(r"https://github\.com/([^/]+)/([^/]+?)(?:\.git)?/?$", repo_url or "")
    return f"https://{m.group(1)}.github.io/{m.group(2)}/" if m else ""


def notebook_relpath(docname: str) -> str:
    """``book/<part>/<slug>`` -> ``<part>/<slug>.ipynb`` (the path under ``notebooks/``)."""
    rel = docname[len(SOURCE_ROOT):] if docname.startswith(SOURCE_ROOT) else docname
    return rel + ".ipynb"


@dataclass
class Book:
    """Everything the conversion of one page may need from the rest of the book."""

    html_dir: Path
    exec_dir: Path
    macros: dict
    bibfiles: list[Path] = field(default_factory=list)
    src_dir: Path | None = None  # the book's source root (for pictures that a page shows from a file)
    repo_url: str = ""
    branch: str = "main"
    site_url: str = ""
    pages_branch: str = "gh-pages"
    docs: list[str] = field(default_factory=list)  # documents that get a notebook, in reading order
    cache_dir: Path | None = None  # the jupyter-cache of the build (complete outputs), if any

    def __post_init__(self):
        self._pages: dict[str, SitePage | None] = {}
        self._glue: dict[str, dict] = {}
        self._bib = None

    # pages and labels
    def page(self, docname: str) -> SitePage | None:
        if docname not in self._pages:
            path = self.html_dir / f"{docname}.html"
            self._pages[docname] = SitePage(path) if path.exists() else None
        return self._pages[docname]

    def find(self, label: str, docname: str, prefix: str = "") -> tuple[str, Numbered] | None:
        """Look ``label`` up on ``docname``'s page first, then on every other page of the book."""
        ident = _make_id(prefix + label)
        candidates = [docname] + [d for d in self.docs if d != docname]
        for doc in candidates:
            page = self.page(doc)
            if page is not None:
                for key in (prefix + label, ident):
                    if key in page.by_id:
                        return doc, page.by_id[key]
        return None

    # executed notebooks
    def executed(self, docname: str) -> dict:
        """The executed notebook of ``docname``, with the complete outputs of the execution cache.

        myst-nb's copy in ``jupyter_execute/`` has the text of every cell, but it drops some outputs
        (images of cells captioned through ``mystnb.figure`` metadata among them); the jupyter-cache
        record of the same code holds them all.
        """
        nb = json.loads((self.exec_dir / f"{docname}.ipynb").read_text(encoding="utf-8"))
        record = self._cached(nb)
        if record is not None:
            codes = [c for c in nb["cells"] if c["cell_type"] == "code"]
            cached = [c for c in record["cells"] if c["cell_type"] == "code"]
            if len(codes) == len(cached) and all(_text(a["source"]) == _text(b["source"])
                                                  for a, b in zip(codes, cached, strict=True)):
                for cell, full in zip(codes, cached, strict=True):
                    cell["outputs"] = full.get("outputs", [])
                    cell["execution_count"] = full.get("execution_count")
        return nb

    def _cached(self, nb: dict) -> dict | None:
        if self.cache_dir is None or not Path(self.cache_dir).exists():
            return None
        import nbformat
        from jupyter_cache import get_cache

        cache = get_cache(str(self.cache_dir))
        try:
            record = cache.match_cache_notebook(nbformat.from_dict(copy.deepcopy(nb)))
        except KeyError:  # no record for this code
            return None
        return json.loads(nbformat.writes(cache.get_cache_bundle(record.pk).nb))

    # glue values
    def glue(self, docname: str) -> dict:
        if docname not in self._glue:
            path = self.exec_dir / f"{docname}.glue.json"
            self._glue[docname] = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
        return self._glue[docname]

    # bibliography
    def bib(self):
        if self._bib is None:
            import pybtex.database

            self._bib = {}
            for path in self.bibfiles:
                if Path(path).exists():
                    self._bib.update(pybtex.database.parse_file(str(path)).entries)
        return self._bib

    def site_link(self, docname: str, anchor: str = "") -> str:
        if not self.site_url:
            return ""
        return self.site_url + docname + ".html" + (f"#{anchor}" if anchor else "")


# --------------------------------------------------------------------------------------------------
# MyST -> Markdown that Jupyter, JupyterLab and Colab render
# --------------------------------------------------------------------------------------------------

def md_escape(text: str) -> str:
    """Escape plain text (a glued value) so that Markdown and the notebook's math parser show it as is."""
    text = text.replace("\\", "\\\\")
    return re.sub(r"([`*_\[\]<>|$~])", r"\\\1", text)


def _split_target(text: str) -> tuple[str | None, str]:
    """``"text <target>"`` -> ("text", "target"); ``"target"`` -> (None, "target")."""
    m = re.match(r"^(.*?)\s*<([^<>]+)>\s*$", text, flags=re.S)
    if m and m.group(1).strip():
        return re.sub(r"\s+", " ", m.group(1).strip()), m.group(2).strip()
    return None, text.strip()


def _number_only(label: str) -> str:
    m = re.search(r"([\dA-Z][\w.]*)\s*$", label)
    return m.group(1) if m else label


INLINE = re.compile(
    r"""
      (?P<role>\{(?P<name>[A-Za-z][\w:+.\-]*)\}(?P<rt>`+)(?P<body>.+?)(?P=rt))
    | (?P<code>(?P<ct>`+).+?(?P=ct))
    | (?P<dmath>\$\$.+?\$\$)
    | (?P<imath>(?<![\\$])\$(?![\s$])(?:\\.|[^$\\])+?(?<![\s\\])\$(?!\d))
    | (?P<subst>\{\{\s*(?P<sname>[\w.]+)\s*\}\})
    | (?P<fnref>\[\^(?P<fnname>[^\]\s]+)\](?!:))
    | (?P<link>(?<!!)\[(?P<ltext>[^\]]*)\]\((?P<ltarget>[^)\s]+)\))
    """,
    re.S | re.X,
)
FENCE = re.compile(r"^(?P<indent>\s*)(?P<fence>`{3,}|~{3,}|:{3,})(?P<info>.*)$")
HEADING = re.compile(r"^(?P<hashes>#{1,6})\s+(?P<text>.*?)\s*#*\s*$")
TARGET = re.compile(r"^\s*\((?P<label>[^()\s]+)\)=\s*$")
AMS_BEGIN = re.compile(r"^\s*\\begin\{(?P<env>equation|multline|gather|align|alignat|flalign|eqnarray)(?P<star>\*?)\}")
FOOTNOTE_DEF = re.compile(r"^\[\^(?P<name>[^\]\s]+)\]:\s*(?P<text>.*)$")
CELL_BREAK = "\x00cell:"


@dataclass
class Converter:
    """Converts the markdown of one page (one instance per page: it numbers and collects as it goes)."""

    book: Book
    docname: str
    problems: list[str] = field(default_factory=list)
    inserted_cells: list[dict] = field(default_factory=list)  # code cells that directives ask for
    cited: list[str] = field(default_factory=list)
    footnotes: dict[str, int] = field(default_factory=dict)
    substitutions: dict = field(default_factory=dict)

    def __post_init__(self):
        self.page = self.book.page(self.docname)
        self._seq = defaultdict(int)  # kind -> how many numbered blocks of that kind were met
        self._heading_index = 0

    # ---- lookups -------------------------------------------------------------------------------
    def numbered(self, kind: str, label: str | None, prefix: str = "") -> Numbered | None:
        """The site's record for a block of ``kind`` met in page order (by label when it has one)."""
        seq = self.page.sequence.get(kind, []) if self.page else []
        index = self._seq[kind]
        self._seq[kind] += 1
        if label:
            found = self.book.find(label, self.docname, prefix)
            if found is not None:
                return found[1]
            self.problems.append(f"{self.docname}: {kind} {label!r} not found on the built page")
        if index < len(seq):
            return seq[index]
        return None

    def doc_target(self, target: str) -> str:
        """A ``{doc}`` target (relative to this page, or absolute from the book root) as a document name."""
        target = re.sub(r"\.(md|ipynb|rst)$", "", target.strip())
        if target.startswith("/"):
            return posixpath.normpath(target.lstrip("/"))
        return posixpath.normpath(posixpath.join(posixpath.dirname(self.docname), target))

    def picture(self, target: str) -> Path | None:
        """The file of a picture referenced from this page (relative to it, or absolute from the root)."""
        if self.book.src_dir is None or re.match(r"^[a-z][a-z0-9+.-]*:", target, flags=re.I):
            return None
        rel = target.lstrip("/") if target.startswith("/") else \
            posixpath.normpath(posixpath.join(posixpath.dirname(self.docname), target))
        path = Path(self.book.src_dir) / rel
        return path if path.is_file() else None

    def doc_link(self, docname: str, anchor: str = "") -> str:
        if docname in self.book.docs:  # another notebook: a relative link works in Jupyter and Colab
            here = posixpath.dirname(notebook_relpath(self.docname))
            return posixpath.relpath(notebook_relpath(docname), here or ".")
        return self.book.site_link(docname, anchor)

    # ---- glue ----------------------------------------------------------------------------------
    def glue_output(self, spec: str) -> tuple[dict | None, str]:
        """``[path::]key[:fmt]`` -> (the glued output, format spec)."""
        doc = self.docname
        if "::" in spec:
            path, spec = spec.split("::", 1)
            doc = self.doc_target(path)
        key, _, fmt = spec.partition(":")
        output = self.book.glue(doc).get(key)
        if output is None:
            self.problems.append(f"{self.docname}: glue key {key!r} not found in {doc}")
        return output, fmt

    def glue_text(self, spec: str, default_fmt: str = "s") -> str | None:
        from myst_nb.core.variables import format_plain_text

        output, fmt = self.glue_output(spec)
        if output is None:
            return None
        data = _unprefixed(output.get("data", {}))
        if "text/plain" not in data:
            self.problems.append(f"{self.docname}: glue {spec!r} has no text/plain")
            return None
        return format_plain_text(_text(data["text/plain"]), fmt or default_fmt)

    def glue_markdown(self, spec: str, inline: bool) -> str | None:
        """A glued object pasted by ``{glue}``/``{glue:any}``: text, Markdown, LaTeX or HTML as Markdown."""
        output, fmt = self.glue_output(spec)
        if output is None:
            return None
        data = _unprefixed(output.get("data", {}))
        if "text/markdown" in data:
            return _text(data["text/markdown"])
        if "text/latex" in data:
            return _text(data["text/latex"])
        if "text/html" in data:
            return _text(data["text/html"]).strip()
        if not inline and any(m in data for m in IMAGE_MIMES):
            return None  # an image: the caller places it in a code cell
        if "text/plain" in data:
            from myst_nb.core.variables import format_plain_text

            return md_escape(format_plain_text(_text(data["text/plain"]), fmt))
        return None

    def image_cell(self, output: dict, note: str) -> str:
        """Ask for a code cell that shows a glued image here; returns the marker that splits the cell."""
        data = {k: v for k, v in _unprefixed(output.get("data", {})).items() if k in IMAGE_MIMES + ("text/plain",)}
        meta = {k: v for k, v in output.get("metadata", {}).items() if k != "scrapbook"}
        self.inserted_cells.append({"source": note, "outputs": [{"output_type": "display_data", "data": data,
                                                                   "metadata": meta}]})
        return f"{CELL_BREAK}{len(self.inserted_cells) - 1}"

    # ---- inline --------------------------------------------------------------------------------
    def inline(self, text: str) -> str:
        return INLINE.sub(self._inline_token, text)

    def _inline_token(self, m: re.Match) -> str:
        if m.group("role"):
            return self.role(m.group("name"), m.group("body"), m.group(0))
        if m.group("subst"):
            name = m.group("sname")
            if name in self.substitutions:
                return self.inline(str(self.substitutions[name]))
            return m.group(0)
        if m.group("fnref"):
            n = self.footnotes.setdefault(m.group("fnname"), len(self.footnotes) + 1)
            return f"<sup>{n}</sup>"
        if m.group("link"):
            target = m.group("ltarget")
            text = self.inline(m.group("ltext"))
            if re.match(r"^[a-z][a-z0-9+.-]*:", target, flags=re.I):  # http:, mailto:, ...
                return f"[{text}]({target})"
            path, _, anchor = target.partition("#")
            if path and re.search(r"\.(md|ipynb|rst)$", path):
                link = self.doc_link(self.doc_target(path), anchor)
                return f"[{text}]({link})" if link else text
            return text  # a MyST label or an in-page anchor: the text is what a reader needs
        return m.group(0)  # code spans and math stay as they are

    def role(self, name: str, body: str, raw: str) -> str:
        name = name.lower()
        if name in ("glue:text",):
            value = self.glue_text(body)
            return raw if value is None else md_escape(value)
        if name in ("glue", "glue:", "glue:any", "glue:md"):
            value = self.glue_markdown(body, inline=True)
            return raw if value is None else value
        if name in ("eq", "math:numref"):
            found = self.book.find(body.strip(), self.docname, "equation-")
            if found is None:
                self.problems.append(f"{self.docname}: equation {body!r} not found on the built pages")
                return raw
            return found[1].number
        if name in ("numref", "std:numref"):
            text, label = _split_target(body)
            found = self.book.find(label, self.docname)
            if found is None or not found[1].number:
                self.problems.append(f"{self.docname}: numref {label!r} not found on the built pages")
                return raw
            item = found[1]
            if text is None:
                return item.number
            number = _number_only(item.number)
            return text.replace("%s", number).replace("{number}", number).replace("{name}", item.title)
        if name in ("prf:ref", "ref", "std:ref", "any"):
            text, label = _split_target(body)
            if text is not None:
                return self.inline(text)
            found = self.book.find(label, self.docname) or self.book.find(label, self.docname, "equation-")
            if found is None:
                self.problems.append(f"{self.docname}: reference {label!r} not found on the built pages")
                return raw
            item = found[1]
            if name == "prf:ref" or item.kind not in ("section", "figure", "table", "code") or not item.title:
                return item.number or item.title
            return item.title
        if name == "doc":
            text, target = _split_target(body)
            doc = self.doc_target(target)
            page = self.book.page(doc)
            title = self.inline(text) if text is not None else (page.title if page else target)
            link = self.doc_link(doc)
            return f"[{title}]({link})" if link else title
        if name.startswith("cite"):
            return self.cite(name.partition(":")[2] or "p", body)
        if name == "math":
            return f"${body}$"
        if name in ("sub", "sup"):
            return f"<{name}>{self.inline(body)}</{name}>"
        if name == "kbd":
            return f"<kbd>{body}</kbd>"
        if name in ("abbr",):
            return re.sub(r"\s*\([^()]*\)\s*$", "", body)
        if name in CODE_ROLES:
            return f"`{body}`"
        short = name.partition(":")[2] if name.startswith("py:") else name
        if short in PY_ROLES:
            text, target = _split_target(body)
            if text is None:
                text = target.lstrip("~.")
                if target.startswith("~"):
                    text = text.rsplit(".", 1)[-1]
                if short in ("func", "meth") and not text.endswith(")"):
                    text += "()"
            return f"`{text}`"
        # any other role (term, download, external links, ...): its visible text
        text, target = _split_target(body)
        return self.inline(text if text is not None else target)

    def cite(self, variant: str, body: str) -> str:
        keys = [k.strip() for k in re.sub(r"\{[^{}]*\}", "", body).split(",") if k.strip()]
        labels = []
        for key in keys:
            entry = self.book.bib().get(key)
            if entry is None:
                self.problems.append(f"{self.docname}: citation key {key!r} is not in the bibliography")
                labels.append((key, "n.d."))
                continue
            if key not in self.cited:
                self.cited.append(key)
            labels.append(_author_year(entry))
        if variant in ("t", "ts"):
            return "; ".join(f"{a} ({y})" for a, y in labels)
        if variant == "author":
            return "; ".join(a for a, _ in labels)
        if variant == "year":
            return "; ".join(y for _, y in labels)
        return "(" + "; ".join(f"{a}, {y}" for a, y in labels) + ")"

    # ---- blocks --------------------------------------------------------------------------------
    def markdown(self, text: str) -> str:
        return "\n".join(self.blocks(text.split("\n")))

    def blocks(self, lines: list[str]) -> list[str]:
        out: list[str] = []
        para: list[str] = []

        def flush():
            if para:
                out.extend(self.inline("\n".join(para)).split("\n"))
                para.clear()

        i = 0
        while i < len(lines):
            line = lines[i]
            stripped = line.strip()
            fence = FENCE.match(line)
            if fence:
                flush()
                end = _closing_fence(lines, i, fence.group("fence"))
                indent = fence.group("indent")
                body = [_dedent(x, len(indent)) for x in lines[i + 1:end]]
                info = fence.group("info").strip()
                if info.startswith("{"):
                    rendered = self.directive(info, body)
                    out.extend((indent + x) if x else "" for x in rendered)
                else:
                    out.extend(lines[i:end + 1])  # a code block: verbatim
                i = end + 1
                continue
            if stripped.startswith("$$"):
                flush()
                end, tex, label = _display_math(lines, i)
                if end is not None:
                    indent = line[: len(line) - len(line.lstrip())]
                    out.extend(indent + x for x in self.display_math(tex, label))
                    i = end + 1
                    continue
            ams = AMS_BEGIN.match(line)
            if ams:
                flush()
                end = next((j for j in range(i, len(lines)) if f"\\end{{{ams.group('env')}{ams.group('star')}}}"
                            in lines[j]), len(lines) - 1)
                out.extend(self._labels_to_tags("\n".join(lines[i:end + 1])).split("\n"))
                i = end + 1
                continue
            if TARGET.match(line) or stripped == "+++" or re.match(r"^\s*%", line):
                flush()  # MyST targets, block breaks and comments have no meaning in Jupyter
                i += 1
                continue
            heading = HEADING.match(line)
            if heading:
                flush()
                out.append(self.heading(heading.group("hashes"), heading.group("text")))
                i += 1
                continue
            footnote = FOOTNOTE_DEF.match(line)
            if footnote:
                flush()
                n = self.footnotes.setdefault(footnote.group("name"), len(self.footnotes) + 1)
                para.append(f"<sup>{n}</sup> {footnote.group('text')}")
                i += 1
                continue
            if not stripped:
                flush()
                out.append("")
            else:
                para.append(line)
            i += 1
        flush()
        return out

    def heading(self, hashes: str, text: str) -> str:
        text = self.inline(text)
        headings = self.page.headings if self.page else []
        # the site numbers sections ("4.3."); match headings in page order, by their text
        for j in range(self._heading_index, len(headings)):
            number, title = headings[j]
            if _plain(title) == _plain(text):
                self._heading_index = j + 1
                return f"{hashes} {number} {text}" if number else f"{hashes} {text}"
        return f"{hashes} {text}"

    def display_math(self, tex: str, label: str | None) -> list[str]:
        r"""``$$...$$`` the way Sphinx hands it to MathJax (split/aligned wrapping), with ``\tag`` numbers."""
        parts = [p.strip() for p in re.split(r"\n\s*\n", tex) if p.strip()]
        wrapped = [(r"\begin{split}" + p + r"\end{split}") if r"\\" in p and not p.startswith("\\begin") else p
                   for p in parts]
        body = (r"\begin{aligned}" + "\\\\\n".join(wrapped) + r"\end{aligned}") if len(wrapped) > 1 else \
            (wrapped[0] if wrapped else "")
        body = self._labels_to_tags(body)
        if label:
            found = self.book.find(label.strip(), self.docname, "equation-")
            if found is None:
                self.problems.append(f"{self.docname}: equation {label!r} not found on the built page")
            else:
                body += f"\n\\tag{{{found[1].number.strip('()')}}}"
        return ["$$", *body.split("\n"), "$$"]

    def _labels_to_tags(self, tex: str) -> str:
        def repl(m):
            found = self.book.find(m.group(1), self.docname, "equation-")
            return f"\\tag{{{found[1].number.strip('()')}}}" if found else ""
        return re.sub(r"\\label\{([^{}]+)\}", repl, tex)

    def directive(self, info: str, body: list[str]) -> list[str]:
        m = re.match(r"^\{(?P<name>[^}]+)\}\s*(?P<arg>.*)$", info)
        name, arg = m.group("name").strip().lower(), m.group("arg").strip()
        opts, content = _directive_options(body)
        classes = str(opts.get("class", "")).split()
        label = opts.get("label") or opts.get("name")

        if name.startswith("prf:"):
            kind = name[4:]
            if kind == "proof":
                self.numbered("proof", None)
                lines = self.blocks(content)
                title = f"*Proof ({self.inline(arg)}).*" if arg else "*Proof.*"
                return _end_mark(_lead(title, lines)) + [""]
            item = self.numbered(kind, label)
            number = item.number if item and item.number else kind.capitalize()
            head = f"**{number}**" + (f" ({self.inline(arg)})" if arg else "") + "."
            return _lead(head, self.blocks(content)) + [""]
        if name == "exercise":
            item = self.numbered("exercise", label)
            number = item.number if item and item.number else "Exercise"
            head = f"**{number}**" + (f" ({self.inline(arg)})" if arg else "") + "."
            return _lead(head, self.blocks(content)) + [""]
        if name == "solution":
            found = self.book.find(arg, self.docname) if arg else None
            title = f"Solution to {found[1].number}" if found and found[1].number else "Solution"
            return _block(title, self.blocks(content), dropdown="dropdown" in classes)
        if name in ADMONITIONS or name == "admonition":
            title = self.inline(arg) if (name == "admonition" and arg) else \
                ("See also" if name == "seealso" else name.capitalize())
            if name != "admonition" and arg:  # ``{note} text`` puts the first line in the argument
                content = [arg, *content]
            return _block(title, self.blocks(content), dropdown="dropdown" in classes)
        if name in ("dropdown", "toggle", "details"):
            return _block(self.inline(arg) or "Details", self.blocks(content), dropdown=True)
        if name in ("math",):
            return self.display_math("\n".join(content), label) + [""]
        if name in ("code-block", "code", "sourcecode", "ipython", "ipython3"):
            return [f"```{arg}", *content, "```", ""]
        if name in ("glue:figure", "glue", "glue:", "glue:any", "glue:md", "glue:math"):
            return self.glue_directive(name, arg, opts, content)
        if name in ("figure", "image"):
            # a picture from a file: shown as an image output, which Jupyter and Colab both display
            # (Colab shows neither cell attachments nor files beside the notebook)
            path = self.picture(arg)
            mime = IMAGE_FILES.get(path.suffix.lower()) if path is not None else None
            if mime is None:
                lines = [f"![{opts.get('alt', '')}]({arg})", ""]
            else:
                import base64

                data = {mime: base64.b64encode(path.read_bytes()).decode(), "text/plain": f"<{path.name}>"}
                marker = self.image_cell({"data": data}, f"# {path.name}, shown by the page from a file")
                lines = ["", marker, ""]
            if name == "figure":
                caption = self.caption(label, content)
                if mime and caption:
                    caption = [f"{CELL_BREAK}caption", *caption, f"{CELL_BREAK}split"]
                lines = lines[:-1] + caption + [""]
            return lines
        if name == "table":
            return self.caption(label, [arg] if arg else [], kind="table") + self.blocks(content) + [""]
        if name == "list-table":
            return _list_table(self.blocks(content), opts) + [""]
        if name == "raw":
            return (content + [""]) if arg.strip().lower() in ("html", "markdown", "md") else []
        if name == "bibliography":
            return []  # the notebook lists the works it cites at its end
        if name in DROPPED_DIRECTIVES:
            link = self.book.site_link(self.docname)
            return [f"*This part of the page is shown on [the website]({link}).*", ""] if link and \
                name in ("claims-ledger", "nb-exec-table") else []
        # layout containers and anything unknown: keep the content, with the argument as a title
        inner = self.blocks(content)
        if arg and name not in PASS_THROUGH_DIRECTIVES:
            return _lead(f"**{self.inline(arg)}**", inner) + [""]
        return inner + [""]

    def caption(self, label: str | None, content: list[str], kind: str = "figure") -> list[str]:
        """A figure or table caption: the site's number in bold, then the caption text."""
        item = self.numbered(kind, label)
        text = "\n".join(self.blocks(content)).strip()
        number = item.number if item and item.number else ""
        head = f"**{number}.** " if number else ""
        return [head + text, ""] if (head or text) else []

    def glue_directive(self, name: str, arg: str, opts: dict, content: list[str]) -> list[str]:
        if name == "glue:math":
            text = self.glue_markdown(arg, inline=True)
            if text is None:
                return [f"```{{{name}}} {arg}", "```"]
            tex = text.strip().strip("$")
            return self.display_math(tex, opts.get("label")) + [""]
        if name in ("glue", "glue:", "glue:any", "glue:md"):
            text = self.glue_markdown(arg, inline=False)
            if text is not None:
                return [*text.split("\n"), ""]
        output, _ = self.glue_output(arg)
        if output is None:
            return [f"```{{{name}}} {arg}", "```"]
        data = _unprefixed(output.get("data", {}))
        if not any(k in data for k in IMAGE_MIMES):
            return [md_escape(_text(data.get("text/plain", ""))), ""]
        marker = self.image_cell(output, f"# The figure below was drawn by an earlier cell (glue key {arg!r}).")
        if name == "glue:figure":
            caption = self.caption(opts.get("name"), content)
            return ["", marker, *([f"{CELL_BREAK}caption", *caption, f"{CELL_BREAK}split"] if caption else []), ""]
        return ["", marker, ""]


def _text(value) -> str:
    return "".join(value) if isinstance(value, list) else str(value)


def _unprefixed(data: dict) -> dict:
    return {(k[len(GLUE_PREFIX):] if k.startswith(GLUE_PREFIX) else k): v for k, v in data.items()}


def _plain(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text.lower())


def _dedent(line: str, n: int) -> str:
    return line[n:] if line[:n].strip() == "" else line.lstrip()


def _closing_fence(lines: list[str], start: int, fence: str) -> int:
    char, n = fence[0], len(fence)
    pattern = re.compile(rf"^\s*{re.escape(char)}{{{n},}}\s*$")
    for j in range(start + 1, len(lines)):
        if pattern.match(lines[j]):
            return j
    return len(lines) - 1


def _display_math(lines: list[str], start: int):
    """A ``$$ ... $$ (label)`` block starting at ``start``: (end line, tex, label) or (None, ...)."""
    first = lines[start].strip()[2:]
    close = re.compile(r"^(?P<before>.*?)\$\$\s*(?:\((?P<label>[^()]+)\))?\s*$")
    m = close.match(first)
    if m:  # one line: $$ tex $$ (label)
        return start, m.group("before"), m.group("label")
    body = [first] if first.strip() else []
    for j in range(start + 1, len(lines)):
        m = close.match(lines[j].strip())
        if m:
            if m.group("before").strip():
                body.append(m.group("before"))
            return j, "\n".join(body), m.group("label")
        body.append(lines[j])
    return None, "", None


def _directive_options(body: list[str]) -> tuple[dict, list[str]]:
    """Split a directive body into its options (``:key: value`` lines or a YAML block) and its content."""
    opts: dict = {}
    i = 0
    if body and body[0].strip() == "---":
        end = next((j for j in range(1, len(body)) if body[j].strip() == "---"), None)
        if end is not None:
            import yaml

            opts = yaml.safe_load("\n".join(body[1:end])) or {}
            i = end + 1
    else:
        while i < len(body):
            m = re.match(r"^\s*:(?P<key>[\w-]+):\s*(?P<value>.*)$", body[i])
            if not m:
                break
            opts[m.group("key")] = m.group("value").strip() or True
            i += 1
    content = body[i:]
    while content and not content[0].strip():
        content = content[1:]
    return opts, content


def _lead(head: str, lines: list[str]) -> list[str]:
    """Run a bold or italic head into the first paragraph (unless it starts with a block)."""
    lines = list(lines)
    while lines and not lines[0].strip():
        lines.pop(0)
    first = lines[0].strip() if lines else ""
    if first and re.match(r"^([A-Za-z0-9(*_\"'`\[]|\$(?!\$))", first) and not lines[0].startswith("    "):
        return ["", f"{head} {lines[0]}", *lines[1:]]
    return ["", head, "", *lines]


def _end_mark(lines: list[str]) -> list[str]:
    """End a proof with ∎: on its last line when that is prose, else as a paragraph of its own."""
    lines = list(lines)
    while lines and not lines[-1].strip():
        lines.pop()
    last = lines[-1].strip() if lines else ""
    if last and not re.match(r"^(\$\$|\||[-*+] |\d+[.)] |<|`|~|\\end|#)", last) and not last.endswith("$$"):
        lines[-1] = lines[-1].rstrip() + " ∎"
        return lines
    return [*lines, "", "∎"]


def _block(title: str, lines: list[str], dropdown: bool) -> list[str]:
    if dropdown:  # a collapsed block, as the site's dropdowns; Markdown inside needs blank lines
        return ["", "<details>", f"<summary>{title}</summary>", "", *lines, "", "</details>", ""]
    return _lead(f"**{title}.**", lines) + [""]


def _list_table(lines: list[str], opts: dict) -> list[str]:
    rows: list[list[str]] = []
    for line in lines:
        m = re.match(r"^(\s*)([*-])\s+(.*)$", line)
        if m and not m.group(1):
            rows.append([])
            rest = m.group(3)
            m2 = re.match(r"^[*-]\s+(.*)$", rest)
            if m2:
                rows[-1].append(m2.group(1))
        elif m and rows:
            rows[-1].append(m.group(3))
        elif rows and rows[-1] and line.strip():
            rows[-1][-1] += " " + line.strip()
    if not rows:
        return lines
    width = max(len(r) for r in rows)
    rows = [r + [""] * (width - len(r)) for r in rows]
    header = int(opts.get("header-rows", 0) or 0)
    head = rows[0] if header else [""] * width
    body = rows[1:] if header else rows
    out = ["| " + " | ".join(c.replace("|", "\\|") for c in head) + " |", "|" + "---|" * width]
    out += ["| " + " | ".join(c.replace("|", "\\|") for c in r) + " |" for r in body]
    return out


def _author_year(entry) -> tuple[str, str]:
    """Author-year label as the site prints it: "Mao et al.", "A and B", "A"."""
    from pybtex.richtext import Text

    persons = entry.persons.get("author") or entry.persons.get("editor") or []
    names = [Text(*p.rich_last_names).render_as("text") for p in persons]
    if not names:
        author = str(entry.fields.get("title", entry.key))
    elif len(names) == 1:
        author = names[0]
    elif len(names) == 2:
        author = f"{names[0]} and {names[1]}"
    else:
        author = f"{names[0]} et al."
    return author, str(entry.fields.get("year", "n.d."))


# --------------------------------------------------------------------------------------------------
# Notebooks
# --------------------------------------------------------------------------------------------------

def _cell_id(docname: str, salt: str) -> str:
    return hashlib.sha1(f"{docname}\x00{salt}".encode()).hexdigest()[:12]


def _markdown_cell(source: str, tags: list[str] | None = None) -> dict:
    cell = {"cell_type": "markdown", "metadata": {}, "source": source}
    if tags:
        cell["metadata"]["tags"] = list(tags)
    return cell


def _code_cell(source: str, outputs: list | None = None, metadata: dict | None = None) -> dict:
    return {"cell_type": "code", "execution_count": None, "metadata": metadata or {}, "outputs": outputs or [],
            "source": source}


def _clean_outputs(outputs: list) -> list:
    """Outputs as Jupyter should show them: no glue-only records, no stderr (the site drops it too)."""
    cleaned = []
    for out in outputs:
        out = copy.deepcopy(out)
        if out.get("output_type") == "stream" and out.get("name") == "stderr":
            continue
        if "data" in out:
            out["data"] = {k: v for k, v in out["data"].items() if not k.startswith(GLUE_PREFIX)}
            if not out["data"]:
                continue
        if "metadata" in out:
            out["metadata"] = {k: v for k, v in out["metadata"].items() if k != "scrapbook"}
        cleaned.append(out)
    return cleaned


def _code_metadata(meta: dict) -> dict:
    tags = list(meta.get("tags", []))
    clean = {k: copy.deepcopy(v) for k, v in meta.items() if k in KEEP_CELL_METADATA}
    jup = clean.setdefault("jupyter", {})
    if HIDE_SOURCE_TAGS.intersection(tags):
        jup["source_hidden"] = True
    if HIDE_OUTPUT_TAGS.intersection(tags):
        jup["outputs_hidden"] = True
    if not jup:
        del clean["jupyter"]
    return clean


def install_cell_source(repo_url: str, branch: str) -> str:
    spec = f"lossbook[notebooks] @ git+{repo_url.rstrip('/')}@{branch}"
    return (
        "# Installs lossbook and what this chapter needs where it is missing (Colab, a fresh kernel);\n"
        "# where lossbook is already installed this cell does nothing.\n"
        "import importlib.util\n"
        "import subprocess\n"
        "import sys\n"
        "\n"
        'if importlib.util.find_spec("lossbook") is None:\n'
        f'    subprocess.check_call([sys.executable, "-m", "pip", "install", "--quiet", "{spec}"])'
    )


def convert(book: Book, docname: str, executed: dict) -> tuple[dict, list[str]]:
    """The notebook for ``docname`` from its executed notebook; returns (notebook, problems)."""
    conv = Converter(book, docname, substitutions=dict(executed.get("metadata", {}).get("substitutions", {})))
    page = book.page(docname)
    title = page.title if page else docname
    cells: list[dict] = []
    link = book.site_link(docname)
    intro = (f"*This notebook is the page [{title}]({link}) of the book* Losses, derived and computed, "
             if link else f"*This notebook is the page {title} of the book* Losses, derived and computed, ")
    intro += ("*converted with the values, figures and numbers of the website. Run the next cell first where "
              "`lossbook` is not installed (Colab, Binder).*")
    macros = "\n".join(macro_definitions(book.macros))
    cells.append(_markdown_cell(f"{intro}\n\n${macros}$", tags=[MACROS_TAG]))
    cells.append(_code_cell(install_cell_source(book.repo_url, book.branch), metadata={"tags": [INSTALL_TAG]}))

    for cell in executed.get("cells", []):
        source = _text(cell.get("source", ""))
        if cell.get("cell_type") == "markdown":
            conv.inserted_cells = []
            text = conv.markdown(source)
            caption_next = False
            for piece in re.split(rf"({re.escape(CELL_BREAK)}(?:\d+|split|caption))", text):
                if piece.startswith(CELL_BREAK):
                    what = piece[len(CELL_BREAK):]
                    if what == "caption":  # the next piece is the caption of the image just inserted
                        caption_next = True
                    elif what.isdigit():
                        extra = conv.inserted_cells[int(what)]
                        cells.append(_code_cell(extra["source"], extra["outputs"],
                                                metadata={"jupyter": {"source_hidden": True}}))
                elif piece.strip():
                    cells.append(_markdown_cell(_tidy(piece), tags=[FIGURE_CAPTION_TAG] if caption_next else None))
                    caption_next = False
        elif cell.get("cell_type") == "code":
            meta = cell.get("metadata", {})
            cells.append(_code_cell(source, _clean_outputs(cell.get("outputs", [])), _code_metadata(meta)))
            cells[-1]["execution_count"] = cell.get("execution_count")
            figure = (meta.get("mystnb") or {}).get("figure")
            if isinstance(figure, dict):
                caption = conv.caption(figure.get("name"), str(figure.get("caption", "")).strip().split("\n"))
                if caption:
                    cells.append(_markdown_cell(_tidy("\n".join(caption)), tags=[FIGURE_CAPTION_TAG]))
        else:  # raw cells: keep as they are
            cells.append({"cell_type": cell["cell_type"], "metadata": {}, "source": source})

    if conv.cited:
        from pybtex.plugin import find_plugin

        style = find_plugin("pybtex.style.formatting", "plain")()
        bib = book.bib()
        entries = {e.key: e for e in style.format_entries([bib[k] for k in conv.cited])}
        refs = [" ".join(entries[k].text.render_as("markdown").split("\n")) for k in conv.cited]
        cells.append(_markdown_cell("**Works cited in this chapter**\n\n" + "\n".join(f"- {r}" for r in refs)))

    for i, cell in enumerate(cells):
        cell["id"] = _cell_id(docname, f"{i}:{cell['cell_type']}")
    metadata = {k: v for k, v in executed.get("metadata", {}).items() if k in ("kernelspec", "language_info")}
    metadata.setdefault("kernelspec", {"display_name": "Python 3", "language": "python", "name": "python3"})
    nb = {"cells": cells, "metadata": metadata, "nbformat": 4, "nbformat_minor": 5}
    return nb, conv.problems


def _tidy(text: str) -> str:
    text = re.sub(r"\n{3,}", "\n\n", text)
    return text.strip("\n")


def convert_book(book: Book, out_dirs: list[Path]) -> dict[str, list[str]]:
    """Write one notebook per document of ``book.docs`` into each of ``out_dirs``; returns problems by document."""
    import nbformat

    problems = {}
    for docname in book.docs:
        nb, probs = convert(book, docname, book.executed(docname))
        nbformat.validate(nbformat.from_dict(nb))
        text = json.dumps(nb, indent=1, ensure_ascii=False, sort_keys=True) + "\n"
        for out in out_dirs:
            path = out / notebook_relpath(docname)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        problems[docname] = probs
    return problems


# --------------------------------------------------------------------------------------------------
# Checks: what makes a notebook read badly in Jupyter
# --------------------------------------------------------------------------------------------------

MATH_SEGMENT = re.compile(r"\$\$(.+?)\$\$|(?<![\\$])\$(?![\s$])((?:\\.|[^$\\])+?)(?<![\s\\])\$|"
                          r"\\begin\{(equation|multline|gather|align|alignat|flalign)\*?\}(.+?)\\end\{\3\*?\}",
                          re.S)
DEFINED = re.compile(r"\\(?:def|gdef|newcommand|renewcommand|DeclareMathOperator)\*?\s*\{?\\([A-Za-z]+)")


def math_segments(text: str) -> list[str]:
    """The TeX of every formula in a markdown text (code spans and fenced code excluded)."""
    text = re.sub(r"^(\s*)(`{3,}|~{3,}).*?^\1\2\s*$", "", text, flags=re.S | re.M)
    text = re.sub(r"(`+).+?\1", "", text, flags=re.S)
    return [next(g for g in m.groups()[:2] if g is not None) if m.group(3) is None else m.group(4)
            for m in MATH_SEGMENT.finditer(text)]


def _without_code(text: str) -> str:
    """Markdown without its code blocks and code spans (a directive fence ```{x} is not a code block)."""
    out, fence = [], None
    for line in text.split("\n"):
        m = re.match(r"^\s*(`{3,}|~{3,})(.*)$", line)
        if fence is None and m and not m.group(2).strip().startswith("{"):
            fence = m.group(1)
            continue
        if fence is not None:
            if re.match(rf"^\s*{re.escape(fence[0])}{{{len(fence)},}}\s*$", line):
                fence = None
            continue
        out.append(line)
    # code spans, within the runs of lines between directive fences (which are kept for the check)
    pieces = re.split(r"(^\s*(?:`{3,}|~{3,}|:{3,}).*$)", "\n".join(out), flags=re.M)
    span = re.compile(r"(?<!`)(`+)(?!`).+?(?<!`)\1(?!`)", flags=re.S)
    return "".join(p if i % 2 else span.sub("", p) for i, p in enumerate(pieces))


def defined_macros(nb: dict) -> set[str]:
    """Macros that the notebook's first markdown cell defines."""
    first = next((c for c in nb.get("cells", []) if c["cell_type"] == "markdown"), None)
    return set(DEFINED.findall(_text(first["source"]))) if first else set()


def check_notebook(nb: dict, required_macros=()) -> list[str]:
    """What would make ``nb`` read badly in Jupyter, JupyterLab or Colab (an empty list when nothing).

    Leftover MyST (a ``{glue`` role or directive, a ``:label:`` option line, a directive fence
    ````` ```{ `````), a formula that uses one of ``required_macros`` (the book's shared macros) without
    the first markdown cell defining it, or a figure caption that follows no image output.
    """
    problems = []
    defined = defined_macros(nb)
    required = set(required_macros)
    cells = nb.get("cells", [])
    for i, cell in enumerate(cells):
        src = _text(cell.get("source", ""))
        where = f"cell {i}"
        if cell["cell_type"] != "markdown":
            continue
        prose = _without_code(src)  # MyST shown as code (a code block, a code span) is not a leftover
        if "{glue" in prose:
            problems.append(f"{where}: leftover glue: {prose[prose.find('{glue'):][:60]!r}")
        for line in prose.split("\n"):
            if re.match(r"^\s*:label:", line):
                problems.append(f"{where}: leftover option line {line.strip()!r}")
            if re.match(r"^\s*(`{3,}|~{3,}|:{3,})\s*\{", line):
                problems.append(f"{where}: leftover directive fence {line.strip()!r}")
        for tex in math_segments(src):
            used = set(re.findall(r"\\([A-Za-z]+)", tex))
            missing = sorted((used & required) - defined)
            if missing and i != 0:
                problems.append(f"{where}: macros used but not defined by the first cell: {missing}")
            if re.search(r"\\label\{", tex):
                problems.append(f"{where}: a \\label is left in a formula")
        if FIGURE_CAPTION_TAG in cell.get("metadata", {}).get("tags", []):
            prev = cells[i - 1] if i else None
            has_image = prev is not None and prev["cell_type"] == "code" and any(
                any(m in out.get("data", {}) for m in IMAGE_MIMES) for out in prev.get("outputs", []))
            if not has_image:
                problems.append(f"{where}: figure caption {src[:50]!r} follows no image output")
    return problems


# --------------------------------------------------------------------------------------------------
# Sphinx extension
# --------------------------------------------------------------------------------------------------

def _book_from_app(app) -> Book:
    cfg = app.config
    opts = cfg.html_theme_options or {}
    tex = (cfg.mathjax3_config or {}).get("tex", {})
    srcdir = Path(app.srcdir)
    outdir = Path(app.outdir)
    exec_dir = outdir.parent / "jupyter_execute"
    docs = [d for d in _reading_order(app) if (exec_dir / f"{d}.ipynb").exists()]
    return Book(
        html_dir=outdir, exec_dir=exec_dir, macros=dict(tex.get("macros", {})), src_dir=srcdir,
        bibfiles=[srcdir / b for b in getattr(cfg, "bibtex_bibfiles", [])],
        repo_url=opts.get("repository_url", ""), branch=opts.get("repository_branch", "") or "main",
        site_url=site_url_from(cfg.html_baseurl, opts.get("repository_url", "")),
        pages_branch=cfg.lossbook_pages_branch, docs=docs,
        cache_dir=_cache_dir(getattr(cfg, "nb_execution_cache_path", ""), outdir.parent, srcdir),
    )


def _cache_dir(configured: str, build: Path, root: Path) -> Path:
    if not configured:
        return build / ".jupyter_cache"
    path = Path(configured)
    return path if path.is_absolute() else root / path


def _reading_order(app) -> list[str]:
    env = app.env
    order = [env.config.root_doc]
    seen = set(order)
    for doc in order:  # breadth-first through the toctrees, then anything left
        for child in env.toctree_includes.get(doc, []):
            if child not in seen:
                seen.add(child)
                order.append(child)
    return order + sorted(set(env.found_docs) - seen)


def launch_urls(book: Book, docname: str, binderhub_url: str, colab_url: str, interface: str) -> dict:
    """Colab and Binder URLs of the published notebook of ``docname``."""
    m = re.match(r"https://github\.com/([^/]+)/([^/]+?)(?:\.git)?/?$", book.repo_url or "")
    if not m:
        return {}
    org, repo = m.groups()
    path = f"{NOTEBOOK_DIR}/{notebook_relpath(docname)}"
    urls = {}
    if colab_url:
        urls["Colab"] = f"{colab_url.rstrip('/')}/github/{org}/{repo}/blob/{book.pages_branch}/{path}"
    if binderhub_url:
        # Binder builds the reading environment from binder/ on the source branch; nbgitpuller then
        # fetches the published notebooks (the site's branch) into ~/<repo> and opens this one.
        ui = "lab/tree" if interface == "jupyterlab" else "tree"
        pull = "git-pull?" + urlencode({"repo": f"https://github.com/{org}/{repo}", "branch": book.pages_branch,
                                        "urlpath": f"{ui}/{repo}/{path}"})
        urls["Binder"] = (f"{binderhub_url.rstrip('/')}/v2/gh/{org}/{repo}/{book.branch}"
                          f"?urlpath={quote(pull, safe='')}")
    return urls


def _page_buttons(app, pagename, templatename, context, doctree):
    """Point the page's .ipynb download and its launch buttons at the converted notebook."""
    buttons = context.get("header_buttons")
    book = getattr(app, "_lossbook_book", None)
    if not buttons or book is None or pagename not in book.docs:
        return
    opts = (app.config.html_theme_options or {}).get("launch_buttons", {})
    urls = launch_urls(book, pagename, opts.get("binderhub_url", ""), opts.get("colab_url", ""),
                       opts.get("notebook_interface", "jupyterlab"))
    local = context["pathto"](f"{NOTEBOOK_DIR}/{notebook_relpath(pagename)}", 1)
    for group in buttons:
        for button in group.get("buttons", []):
            if button.get("label") == "download-notebook-button":
                button["url"] = local
            elif button.get("text") in urls:
                button["url"] = urls[button["text"]]


def _builder_inited(app):
    if app.builder.format == "html":
        # the list of notebook pages is known once sources are read; buttons are set per page after that
        app._lossbook_book = None


def _env_updated(app, env):
    if app.builder.format == "html":
        app._lossbook_book = _book_from_app(app)
    return []


def _build_finished(app, exception):
    if exception is not None or app.builder.format != "html":
        return
    from sphinx.util import logging

    logger = logging.getLogger(__name__)
    book = _book_from_app(app)
    outdir = Path(app.outdir)
    targets = [outdir / NOTEBOOK_DIR, outdir.parent / NOTEBOOK_DIR]
    try:
        problems = convert_book(book, targets)
    except Exception as exc:  # a converter bug must not hide the site; it fails `make test` instead
        logger.warning(f"notebook conversion failed: {exc!r}", type="lossbook", subtype="notebooks")
        return
    for docname in book.docs:  # the theme copies the raw executed notebook there: replace it too
        src = outdir / NOTEBOOK_DIR / notebook_relpath(docname)
        dst = outdir / "_sources" / f"{docname}.ipynb"
        if dst.exists():
            dst.write_bytes(src.read_bytes())
    for probs in problems.values():
        for p in probs:
            logger.warning(f"notebook conversion: {p}", type="lossbook", subtype="notebooks")
    logger.info(f"notebooks: {len(book.docs)} written to {targets[1]} and {targets[0]}")


def setup(app):
    app.add_config_value("lossbook_pages_branch", "gh-pages", "html")
    app.connect("builder-inited", _builder_inited)
    app.connect("env-updated", _env_updated)
    app.connect("html-page-context", _page_buttons, priority=600)  # after the theme's buttons (501)
    app.connect("build-finished", _build_finished)
    return {"parallel_read_safe": True, "parallel_write_safe": True, "version": "1"}


# --------------------------------------------------------------------------------------------------
# Command line: convert from an existing build, check the result
# --------------------------------------------------------------------------------------------------

def book_from_config(root: Path, build: Path) -> Book:
    import yaml

    cfg = yaml.safe_load((root / "_config.yml").read_text())
    sphinx_cfg = (cfg.get("sphinx") or {}).get("config") or {}
    repo = cfg.get("repository") or {}
    exec_dir = build / "jupyter_execute"
    sys.path.insert(0, str(root / "book" / "_ext"))
    from lossbook_ledger import toc_files

    docs = [d for d in toc_files(root) if (exec_dir / f"{d}.ipynb").exists()]
    return Book(
        html_dir=build / "html", exec_dir=exec_dir, src_dir=root,
        macros=dict(((sphinx_cfg.get("mathjax3_config") or {}).get("tex") or {}).get("macros") or {}),
        bibfiles=[root / b for b in cfg.get("bibtex_bibfiles", [])],
        repo_url=repo.get("url", ""), branch=repo.get("branch", "main"),
        site_url=site_url_from((cfg.get("html") or {}).get("baseurl", ""), repo.get("url", "")),
        pages_branch=sphinx_cfg.get("lossbook_pages_branch", "gh-pages"), docs=docs,
        cache_dir=_cache_dir((cfg.get("execute") or {}).get("cache", ""), build, root),
    )


def main(argv: list[str]) -> int:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--build", default="_build", help="the book's build folder (default: _build)")
    parser.add_argument("--check", action="store_true", help="only check the notebooks already written")
    args = parser.parse_args(argv)
    root = Path(__file__).resolve().parents[2]
    build = (root / args.build).resolve()
    book = book_from_config(root, build)
    if not book.docs:
        print(f"no executed pages under {build / 'jupyter_execute'}: build the book first (make book)")
        return 1
    failed = 0
    if not args.check:
        for probs in convert_book(book, [build / NOTEBOOK_DIR, build / "html" / NOTEBOOK_DIR]).values():
            for p in probs:
                print(f"problem: {p}")
                failed += 1
    for doc in book.docs:
        path = build / NOTEBOOK_DIR / notebook_relpath(doc)
        nb = json.loads(path.read_text(encoding="utf-8"))
        probs = check_notebook(nb, book.macros)
        n_fig = sum(FIGURE_CAPTION_TAG in c["metadata"].get("tags", []) for c in nb["cells"])
        print(f"{'OK  ' if not probs else 'FAIL'} {os.path.relpath(path, root)}: {len(nb['cells'])} cells, "
              f"{n_fig} figures")
        for p in probs:
            print(f"     {p}")
        failed += len(probs)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
