"""Sphinx extension: the book's claims ledger.

The registry is the set of YAML files ``book/_claims/<chapter-slug>.yml``, one per chapter, read
by :func:`load_registry` (also used by ``tests/test_claims_ledger.py``). Each file looks like::

    chapter: book/physics/implant-path-loss      # the chapter's path, as in _toc.yml
    claims:
      - id: pl_flat_limit                        # glue key used by the chapter
        claim: "Flat-interface extra loss equals $10\\log_{10}\\lvert\\varepsilon_c\\rvert$ ..."   # MyST
        source: paper | derived | reproduction | finding
        test: tests/pathloss/test_closed_form.py::test_flat_interface_limit   # or a list of tests
      - id: pl_paper_validation
        claim: "..."
        source: paper
        status: not-checkable                    # no test; the reason says why
        reason: "the paper's measurements could not be read"

*source*: ``paper`` (the paper's statement, checked here), ``derived`` (derived in this book),
``reproduction`` (a paper's number or trend re-measured at toy scale), ``finding`` (ours, e.g. a
counterexample). A claim that cannot be checked here has ``status: not-checkable`` and a
``reason``, and names no test; every other claim names the tests that verify it.

The chapter computes each value at build time and glues it, as short text, under the key ``id``,
and a verdict under ``id + "__verdict"``. A verdict starts with one of the words of
:data:`VERDICTS`, which fixes its category (and its badge colour on the ledger page). The
directive ``{claims-ledger}`` (in book/claims.md) renders one table per part of the book whose
value and verdict cells are cross-document glue references, so the ledger shows what the chapters
computed in this very build; a post-transform then colours the verdicts and counts them. A key that
a chapter failed to glue, or a verdict outside the vocabulary, is a Sphinx warning, which fails the
strict build.
"""

from __future__ import annotations

import posixpath
from collections import Counter
from pathlib import Path

import yaml
from docutils import nodes
from docutils.parsers.rst import Directive
from docutils.statemachine import StringList
from sphinx.transforms.post_transforms import SphinxPostTransform
from sphinx.util import logging

LOGGER = logging.getLogger(__name__)

REQUIRED_FIELDS = ("id", "claim", "source")
SOURCES = ("paper", "derived", "reproduction", "finding")
STATUSES = ("checked", "not-checkable")

# A verdict's leading words fix its category. Order matters: longer phrases first.
VERDICTS: tuple[tuple[str, str], ...] = (
    ("not checkable", "not-checkable"),
    ("not reproduced", "fails"),
    ("not confirmed", "fails"),
    ("not observed", "fails"),
    ("confirmed", "confirmed"),
    ("reproduced", "confirmed"),
    ("consistent", "confirmed"),
    ("partly", "partly"),
    ("fails", "fails"),
    ("refuted", "fails"),
    ("conjecture", "conjecture"),
)
CATEGORY_LABELS = {
    "confirmed": "confirmed",
    "partly": "partly confirmed",
    "fails": "fails or refuted",
    "conjecture": "conjecture",
    "not-checkable": "not checkable here",
}


def verdict_category(text: str) -> str | None:
    """Category of a verdict string by its leading words, or None if it is outside the vocabulary."""
    low = text.strip().lower()
    for word, cat in VERDICTS:
        if low.startswith(word):
            return cat
    return None


def claim_tests(claim: dict) -> list[str]:
    """The tests a claim names ([] for a claim that is not checkable here)."""
    t = claim.get("test") or []
    return [t] if isinstance(t, str) else list(t)


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
            cid = entry["id"]
            if entry["source"] not in SOURCES:
                raise ValueError(f"{path}: claim {cid!r} has source {entry['source']!r}; use one of {SOURCES}")
            status = entry.get("status", "checked")
            if status not in STATUSES:
                raise ValueError(f"{path}: claim {cid!r} has status {status!r}; use one of {STATUSES}")
            if status == "not-checkable":
                if entry.get("test"):
                    raise ValueError(f"{path}: claim {cid!r} is not-checkable but names a test")
                if not entry.get("reason"):
                    raise ValueError(f"{path}: claim {cid!r} is not-checkable and gives no 'reason'")
            elif not entry.get("test"):
                raise ValueError(f"{path}: claim {cid!r} names no test (or mark it 'status: not-checkable' "
                                 "with a 'reason')")
            if "|" in entry["claim"]:
                raise ValueError(f"{path}: claim {cid!r}: '|' breaks the ledger table; write \\lvert, \\rvert or "
                                 "\\Vert in maths")
            if cid in seen:
                raise ValueError(f"{path}: duplicate claim id {cid!r}")
            seen.add(cid)
            claims.append({**entry, "status": status, "chapter": chapter, "registry_file": str(path)})
    return claims


def toc_files(root: Path) -> list[str]:
    """Document paths of ``_toc.yml`` under ``root`` in reading order (root first); [] without a toc."""
    return [f for f, _ in toc_parts(root)]


def toc_chapters(root: Path) -> list[str]:
    """The chapters: documents of the numbered parts of ``_toc.yml`` (front and back matter excluded)."""
    toc_path = Path(root) / "_toc.yml"
    if not toc_path.exists():
        return []
    toc = yaml.safe_load(toc_path.read_text()) or {}
    return [c["file"] for part in toc.get("parts", []) if part.get("numbered", False)
            for c in part.get("chapters", [])]


def toc_parts(root: Path) -> list[tuple[str, str]]:
    """(document, part caption) in reading order; the root document has the caption ''."""
    toc_path = Path(root) / "_toc.yml"
    if not toc_path.exists():
        return []
    toc = yaml.safe_load(toc_path.read_text()) or {}
    out = [(toc.get("root", ""), "")]
    for part in toc.get("parts", []):
        out += [(c["file"], part.get("caption", "")) for c in part.get("chapters", [])]
    return out


class ClaimsLedger(Directive):
    has_content = False

    def run(self):
        env = self.state.document.settings.env
        root = Path(env.srcdir)
        # only chapters that are part of this build (the full book, or a one-chapter page build)
        claims = [c for c in load_registry(root) if c["chapter"] in env.found_docs]
        parts = toc_parts(root)
        order = {doc: i for i, (doc, _) in enumerate(parts)}
        caption = dict(parts)
        claims.sort(key=lambda c: order.get(c["chapter"], len(order)))
        for path in (root / "book" / "_claims").glob("*.yml"):
            env.note_dependency(str(path))
        if not claims:
            return [nodes.paragraph(text="No claims are registered yet.")]
        out = [nodes.paragraph(classes=["claims-counts"])]  # filled by LedgerVerdicts after glue resolution
        groups: dict[str, list[dict]] = {}
        for c in claims:
            groups.setdefault(caption.get(c["chapter"], "") or "Introduction", []).append(c)
        number = 0
        for part, items in groups.items():
            lines = [f"### {part}", "", "| # | claim | computed in this build | verdict |", "|---|---|---|---|"]
            for c in items:
                number += 1
                # glue roles resolve paths relative to the current document's folder
                # (with the source suffix, which env.path2doc needs)
                src = next((c["chapter"] + ext for ext in (".md", ".ipynb") if (root / (c["chapter"] + ext)).exists()),
                           None)
                if src is None:
                    raise self.error(f"claims registry {c['registry_file']}: chapter {c['chapter']!r} has no source")
                rel = posixpath.relpath(src, start=posixpath.dirname(env.docname) or ".")
                if c["status"] == "not-checkable":
                    check = f"not checkable here: {c['reason']}"
                else:
                    check = "test " + ", ".join(f"`{t.split('::')[-1]}`" for t in claim_tests(c))
                text = c["claim"].replace("\n", " ")
                meta = f"{{doc}}`/{c['chapter']}` · *{c['source']}* · {check}"
                cell = f"{text} <br/><span class=\"claim-meta\">{meta}</span>".replace("|", "\\|")
                lines.append(f"| {number} | {cell} | {{glue:text}}`{rel}::{c['id']}:s` "
                             f"| {{glue:text}}`{rel}::{c['id']}__verdict:s` |")
            container = nodes.container(classes=["claims-ledger"])
            self.state.nested_parse(StringList(lines, source="claims-ledger"), self.content_offset, container)
            out.append(container)
        return out


class LedgerVerdicts(SphinxPostTransform):
    """After cross-document glue is resolved: colour each verdict by category and count them."""

    default_priority = 20  # myst-nb's ReplacePendingGlueReferences runs at 5

    def apply(self, **kwargs):
        counts = Counter()
        for table_box in self.document.findall(lambda n: isinstance(n, nodes.container)
                                               and "claims-ledger" in n.get("classes", [])):
            for row in table_box.findall(nodes.row):
                entries = list(row.findall(nodes.entry))
                if len(entries) < 4 or row.parent.tagname == "thead":
                    continue
                verdict_cell = entries[-1]
                text = verdict_cell.astext().strip()
                cat = verdict_category(text)
                if cat is None:
                    LOGGER.warning(f"claims ledger: verdict {text!r} (row {entries[0].astext()}) does not start with "
                                   f"one of {[w for w, _ in VERDICTS]}", location=verdict_cell)
                    cat = "unknown"
                counts[cat] += 1
                verdict_cell["classes"].append("verdict-cell")
                for par in verdict_cell.findall(nodes.paragraph):
                    par["classes"] += ["verdict-badge", f"verdict-{cat}"]
        total = sum(counts.values())
        for par in self.document.findall(lambda n: isinstance(n, nodes.paragraph)
                                         and "claims-counts" in n.get("classes", [])):
            par += nodes.strong(text=f"{total} claims: ")
            items = [(CATEGORY_LABELS.get(cat, cat), counts[cat], cat) for cat in (*CATEGORY_LABELS, "unknown")
                     if counts[cat]]
            for i, (label, k, cat) in enumerate(items):
                par += nodes.inline(text=f"{k} {label}", classes=["verdict-badge", f"verdict-{cat}"])
                if i < len(items) - 1:
                    par += nodes.Text(" ")


def setup(app):
    app.add_directive("claims-ledger", ClaimsLedger)
    app.add_post_transform(LedgerVerdicts)
    return {"parallel_read_safe": True, "parallel_write_safe": True, "version": "2"}
