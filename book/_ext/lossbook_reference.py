"""Sphinx extension: the library reference, and links from each chapter to the functions it calls.

* Before the table of contents is read (``config-inited``, ahead of sphinx-external-toc), one page
  per public subpackage of ``lossbook`` is written to ``book/reference/<subpackage>.md`` (generated,
  not committed; ``_toc.yml`` includes them with a glob), each an ``automodule`` of the package's
  ``__all__`` rendered with numpydoc. A new subpackage appears in the reference with no edit here.
  Docstrings cite the chapters with :eq:`label`, :prf:ref:`label`, :ref:`label` and :doc:`...`, so
  every function links back to the equation it implements (``tests/test_docstring_labels.py``).
* Each chapter (``book/<part>/<slug>``) gets, at its end, a box "Library functions used in this
  chapter" listing every name it imports from ``lossbook`` as a link to its reference entry.
"""

from __future__ import annotations

import re
from pathlib import Path

from docutils import nodes
from sphinx import addnodes

PKG_DIR = Path(__file__).resolve().parents[2] / "lib" / "lossbook"
IMPORT = re.compile(r"^from\s+(lossbook(?:\.\w+)*)\s+import\s+(\([^)]*\)|[^\n]+)", re.M)


def public_subpackages(pkg_dir: Path = PKG_DIR) -> list[str]:
    return sorted(p.name for p in pkg_dir.iterdir()
                  if (p / "__init__.py").exists() and not p.name.startswith("_"))


def _first_line(pkg: str) -> str:
    text = (PKG_DIR / pkg / "__init__.py").read_text(encoding="utf-8")
    m = re.search(r'^(?:r)?"""\s*(.+?)(?:\n|""")', text, re.M)
    return m.group(1).strip().rstrip(".") if m else ""


def write_reference_pages(app, config) -> None:
    out = Path(app.srcdir) / "book" / "reference"
    out.mkdir(parents=True, exist_ok=True)
    subs = public_subpackages()
    wanted = {f"lossbook-{s}.md" for s in subs} | {"index.md"}
    for stale in out.glob("*.md"):
        if stale.name not in wanted:
            stale.unlink()
    rows = "\n".join(f"| [`lossbook.{s}`](lossbook-{s}.md) | {_first_line(s)} |" for s in subs)
    _write(out / "index.md", f"""# Library reference

Generated from the docstrings of the `lossbook` package when the book is built: one page per
subpackage, every public name of its `__all__`. Each function cites the equation or theorem of the
book that it implements, with a link; each chapter ends with links to the functions it uses.
`pip install -e .` installs the package; `import lossbook` is cheap and subpackages load on first use.

| subpackage | what it holds |
|---|---|
{rows}
""")
    for s in subs:
        data = "".join(f"\n.. autodata:: lossbook.{s}.{name}\n" for name in _data_names(s))
        _write(out / f"lossbook-{s}.md", f"""# `lossbook.{s}`

```{{eval-rst}}
.. automodule:: lossbook.{s}
   :members:
   :imported-members:
   :undoc-members:
{data}```
""")


def _data_names(pkg: str) -> list[str]:
    """Public names of ``lossbook.<pkg>`` that are constants, not functions or classes.

    autodoc documents imported data only when asked by name, so they get an ``autodata`` entry each.
    """
    import importlib
    import inspect

    mod = importlib.import_module(f"lossbook.{pkg}")
    return [n for n in getattr(mod, "__all__", []) if not n.startswith("_")
            and not (inspect.isroutine(getattr(mod, n, None)) or inspect.isclass(getattr(mod, n, None)))]


def _write(path: Path, text: str) -> None:
    # rewrite only on change, so Sphinx does not see every page as outdated on each build
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        path.write_text(text, encoding="utf-8")


def chapter_imports(text: str) -> list[tuple[str, str]]:
    """(module, name) for every ``from lossbook... import ...`` in a chapter's source, in order, unique."""
    seen, out = set(), []
    for m in IMPORT.finditer(text):
        names = re.sub(r"#[^\n]*", "", m.group(2)).strip("() \n")
        for part in names.split(","):
            name = part.strip().split(" as ")[0].strip()
            if name and name.isidentifier() and (m.group(1), name) not in seen:
                seen.add((m.group(1), name))
                out.append((m.group(1), name))
    return out


def add_chapter_links(app, doctree) -> None:
    docname = app.env.docname
    if docname.count("/") != 2 or not docname.startswith("book/") or docname.startswith("book/reference"):
        return
    src = Path(app.env.doc2path(docname))
    if not src.exists():
        return
    used = chapter_imports(src.read_text(encoding="utf-8"))
    if not used:
        return
    box = nodes.admonition(classes=["library-used", "tip"])
    box += nodes.title(text="Library functions used in this chapter")
    items = nodes.bullet_list()
    for module, name in used:
        target = ".".join(module.split(".")[:2] + [name])  # the reference documents each subpackage's __all__
        ref = addnodes.pending_xref("", refdomain="py", reftype="obj", reftarget=target,
                                    refexplicit=False, refwarn=False)
        ref += nodes.literal(text=target, classes=["xref", "py"])
        items += nodes.list_item("", nodes.paragraph("", "", ref))
    box += items
    sections = list(doctree.findall(nodes.section))
    (sections[0] if sections else doctree).append(box)


def setup(app):
    app.connect("config-inited", write_reference_pages, priority=100)
    app.connect("doctree-read", add_chapter_links)
    return {"parallel_read_safe": True, "parallel_write_safe": True, "version": "1"}
