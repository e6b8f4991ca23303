"""Sphinx extension: the book's claims ledger.

The registry is the set of YAML files ``book/_claims/<chapter-slug>.yml``, one per chapter, read
by :func:`load_registry` (also used by ``tests/test_claims_ledger.py``). Each file looks like::

    chapter: book/physics/implant-path-loss      # the chapter's path, as in _toc.yml
    claims:
      - id: pl_flat_limit                        # glue key used by the chapter
        claim: "Flat-interface extra loss equals 10 log10|eps_c| ..."
        source: paper | derived | reproduction   # whose statement it is
        test: tests/pathloss/test_closed_form.py::test_flat_interface_limit   # or a list of tests

The chapter computes each value at build time and glues it, as text, under the key ``id``, and a
verdict under ``id + "__verdict"``. The directive ``{claims-ledger}`` (used in book/claims.md)
turns the registry into one table whose value and verdict cells are cross-document glue
references, so the ledger shows what the chapters computed in this very build. A key that a
chapter failed to glue is a Sphinx warning, which fails ``make test``.
"""

from __future__ import annotations

import posixpath
from pathlib import Path

import yaml
from docutils import nodes
from docutils.parsers.rst import Directive
from docutils.statemachine import StringList

REQUIRED_FIELDS = ("id", "claim", "source", "test")
SOURCES = ("paper", "derived", "reproduction", "finding")


def load_registry(root: Path) -> list[dict]:
    """Return every claim of every ``book/_claims/*.yml`` under ``root`` (checked for shape)."""
    claims: list[dict] = []
    seen: set[str] = set()
    for path in sorted((Path(root) / "book" / "_claims").glob("*.yml")):
        data = yaml.safe_load(path.read_text()) or {}
        chapter = data.get("chapter")
        if not chapter:
            raise ValueError(f"{path}: missing 'chapter'")
        for entry in data.get("claims") or []:
            missing = [f for f in REQUIRED_FIELDS if not entry.get(f)]
            if missing:
                raise ValueError(f"{path}: claim {entry.get('id')!r} lacks {missing}")
            if entry["source"] not in SOURCES:
                raise ValueError(f"{path}: claim {entry['id']!r} has source {entry['source']!r}; use one of {SOURCES}")
            if entry["id"] in seen:
                raise ValueError(f"{path}: duplicate claim id {entry['id']!r}")
            seen.add(entry["id"])
            claims.append({**entry, "chapter": chapter, "registry_file": str(path)})
    return claims


def toc_files(root: Path) -> list[str]:
    """Document paths of ``_toc.yml`` under ``root`` in reading order (root first); [] without a toc."""
    toc_path = Path(root) / "_toc.yml"
    if not toc_path.exists():
        return []
    toc = yaml.safe_load(toc_path.read_text()) or {}
    files = [toc.get("root", "")]
    for part in toc.get("parts", []):
        files += [c["file"] for c in part.get("chapters", [])]
    return files


class ClaimsLedger(Directive):
    has_content = False

    def run(self):
        env = self.state.document.settings.env
        root = Path(env.srcdir)
        # only chapters that are part of this build (the full book, or a one-chapter page build)
        claims = [c for c in load_registry(root) if c["chapter"] in env.found_docs]
        # rows follow the reading order of the book (_toc.yml), not the registry's file names
        order = {doc: i for i, doc in enumerate(toc_files(root))}
        claims.sort(key=lambda c: order.get(c["chapter"], len(order)))
        for path in (root / "book" / "_claims").glob("*.yml"):
            env.note_dependency(str(path))
        if not claims:
            return [nodes.paragraph(text="No claims are registered yet.")]
        lines = [
            "| # | claim (chapter; verifying test) | source | computed in this build | verdict |",
            "|---|---|---|---|---|",
        ]
        for i, c in enumerate(claims, start=1):
            # glue roles resolve paths relative to the current document's folder
            # (with the source suffix, which env.path2doc needs)
            src = next((c["chapter"] + ext for ext in (".md", ".ipynb") if (root / (c["chapter"] + ext)).exists()),
                       None)
            if src is None:
                raise self.error(f"claims registry {c['registry_file']}: chapter {c['chapter']!r} has no source file")
            rel = posixpath.relpath(src, start=posixpath.dirname(env.docname) or ".")
            tests = [c["test"]] if isinstance(c["test"], str) else list(c["test"])
            test = " ".join(f"`{t}`" for t in tests)
            text = c["claim"].replace("\n", " ")
            cell = f"{text} <br/>{{doc}}`/{c['chapter']}`; {test}".replace("|", "\\|")
            lines.append(
                f"| {i} | {cell} | {c['source']} | {{glue:text}}`{rel}::{c['id']}:s` "
                f"| {{glue:text}}`{rel}::{c['id']}__verdict:s` |"
            )
        container = nodes.container(classes=["claims-ledger"])
        self.state.nested_parse(
            StringList(lines, source="claims-ledger"),
            self.content_offset,
            container,
        )
        return [container]


def setup(app):
    app.add_directive("claims-ledger", ClaimsLedger)
    return {"parallel_read_safe": True, "parallel_write_safe": True, "version": "1"}
