"""Docstrings and the book point at each other: every label a ``lossbook`` docstring cites exists.

Docstrings cite the book with Sphinx roles, readable in ``help()`` and resolved into links in the
library reference: :eq:`label` (a numbered equation), :prf:ref:`label` (a theorem, lemma,
definition ...), :ref:`label` (a section target ``(label)=``), :doc:`/book/<part>/<slug>` (a chapter).
A citation in plain literal form (eq. ``label``) is an error too: it would not link.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LIB = ROOT / "lib" / "lossbook"


def book_labels() -> tuple[set[str], set[str], set[str], set[str]]:
    eq, prf, sec, docs = set(), set(), set(), set()
    for path in (ROOT / "book").rglob("*.md"):
        if "_build" in path.parts:
            continue
        docs.add("/" + path.relative_to(ROOT).with_suffix("").as_posix())
        text = path.read_text(encoding="utf-8")
        eq |= set(re.findall(r"^\$\$\s*\((\S+)\)\s*$", text, re.M))
        for m in re.finditer(r"^`{3,}\{([\w:-]+)\}[^\n]*\n((?::[^\n]*\n)*)", text, re.M):
            for lab in re.findall(r":label:\s*(\S+)", m.group(2)):
                (eq if m.group(1) == "math" else prf).add(lab)
        sec |= set(re.findall(r"^\(([\w-]+)\)=\s*$", text, re.M))
    return eq, prf, sec, docs


EQ, PRF, SEC, DOCS = book_labels()
ROLE = re.compile(r":(eq|prf:ref|ref|doc):`([^`]+)`")
LITERAL_CITATION = re.compile(
    r"(?:eqs?\.|theorem|lemma|definition|prop\.|proposition|chapter)\s+``([a-z]+-[a-z0-9-]+)``")


def _citations():
    for path in sorted(LIB.rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        for m in ROLE.finditer(text):
            yield path.relative_to(ROOT).as_posix(), m.group(1), m.group(2)


CITATIONS = list(_citations())


def test_docstrings_cite_the_book():
    assert len(CITATIONS) > 50  # the existing chapters' functions cite their equations


@pytest.mark.parametrize("where, role, label", CITATIONS, ids=[f"{r}:{lab}" for _, r, lab in CITATIONS])
def test_cited_label_exists_in_the_book(where, role, label):
    target = {"eq": EQ, "prf:ref": PRF, "ref": SEC | PRF, "doc": DOCS}[role]
    assert label in target, f"{where} cites :{role}:`{label}`, which the book does not define"


def test_no_citation_in_plain_literal_form():
    bad = [(p.relative_to(ROOT).as_posix(), m.group(0)) for p in LIB.rglob("*.py")
           for m in LITERAL_CITATION.finditer(p.read_text(encoding="utf-8"))]
    assert not bad, f"cite with a role (:eq:`label`, :prf:ref:`label`) so the reference links it: {bad}"


def test_the_check_catches_a_missing_label():
    assert "csh-loss" in EQ and "no-such-label" not in EQ | PRF | SEC
