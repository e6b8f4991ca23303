"""The claims ledger and the tests agree.

The registry is ``book/_claims/*.yml`` (read by the same loader the Sphinx extension uses). These
tests fail when an entry names a test that does not exist, when a test marked
``@pytest.mark.claim(id)`` is not registered under that id, when a chapter does not glue a
registered key, or when a chapter in the table of contents registers no claim at all.
"""

from __future__ import annotations

import ast
import importlib.util
import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]


def _load_ledger_module():
    spec = importlib.util.spec_from_file_location("lossbook_ledger", ROOT / "book" / "_ext" / "lossbook_ledger.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


LEDGER = _load_ledger_module()
CLAIMS = LEDGER.load_registry(ROOT)


def _claim_marks(node: ast.AST) -> list[str]:
    ids = []
    for dec in getattr(node, "decorator_list", []):
        if isinstance(dec, ast.Call) and ast.unparse(dec.func) in ("pytest.mark.claim", "mark.claim"):
            for arg in dec.args:
                if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                    ids.append(arg.value)
    return ids


def _collect_marked_tests() -> dict[str, list[str]]:
    """Map ``path::name`` (and ``path::Class::name``) of every test function to its claim ids."""
    found: dict[str, list[str]] = {}
    for path in sorted((ROOT / "tests").rglob("test_*.py")):
        rel = path.relative_to(ROOT).as_posix()
        tree = ast.parse(path.read_text(), filename=rel)
        for node in tree.body:
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name.startswith("test"):
                found[f"{rel}::{node.name}"] = _claim_marks(node)
            elif isinstance(node, ast.ClassDef) and node.name.startswith("Test"):
                for sub in node.body:
                    if isinstance(sub, ast.FunctionDef | ast.AsyncFunctionDef) and sub.name.startswith("test"):
                        found[f"{rel}::{node.name}::{sub.name}"] = _claim_marks(node) + _claim_marks(sub)
    return found


TESTS = _collect_marked_tests()


def _tests_of(claim: dict) -> list[str]:
    return LEDGER.claim_tests(claim)


def _toc_files() -> list[str]:
    return LEDGER.toc_files(ROOT)


def test_registry_is_not_empty_and_ids_are_unique():
    ids = [c["id"] for c in CLAIMS]
    assert ids, "no claims registered"
    assert len(ids) == len(set(ids))


@pytest.mark.parametrize("claim", CLAIMS, ids=[c["id"] for c in CLAIMS])
def test_registered_test_exists_and_carries_the_claim_mark(claim):
    for nodeid in _tests_of(claim):
        assert nodeid in TESTS, f"claim {claim['id']!r} names {nodeid!r}, which is not a test function"
        assert claim["id"] in TESTS[nodeid], (
            f"{nodeid} verifies claim {claim['id']!r} but lacks @pytest.mark.claim({claim['id']!r})"
        )


def test_every_marked_test_is_in_the_registry():
    registered = {(c["id"], t) for c in CLAIMS for t in _tests_of(c)}
    missing = [(cid, nodeid) for nodeid, ids in TESTS.items() for cid in ids if (cid, nodeid) not in registered]
    assert not missing, f"tests marked as verifying claims but not registered under that claim: {missing}"


@pytest.mark.parametrize("claim", CLAIMS, ids=[c["id"] for c in CLAIMS])
def test_chapter_glues_value_and_verdict(claim):
    candidates = [ROOT / (claim["chapter"] + ext) for ext in (".md", ".ipynb")]
    src = next((p for p in candidates if p.exists()), None)
    assert src is not None, f"chapter {claim['chapter']} of claim {claim['id']} does not exist"
    text = src.read_text()
    for key in (claim["id"], claim["id"] + "__verdict"):
        # glue("key", ...) with either quote style, or a key built by the same literal
        assert re.search(r"""["']""" + re.escape(key) + r"""["']""", text), f"{src.name} never glues {key!r}"


def test_checkable_claims_name_tests_and_not_checkable_ones_give_a_reason():
    for claim in CLAIMS:
        if claim["status"] == "not-checkable":
            assert not _tests_of(claim) and claim.get("reason"), claim["id"]
        else:
            assert _tests_of(claim), f"{claim['id']} names no test"


def test_registry_rejects_malformed_entries(tmp_path):
    (tmp_path / "book" / "_claims").mkdir(parents=True)
    bad = {
        "no test": {"id": "x", "claim": "c", "source": "derived"},
        "bad source": {"id": "x", "claim": "c", "source": "rumour", "test": "t"},
        "no reason": {"id": "x", "claim": "c", "source": "paper", "status": "not-checkable"},
        "test and not-checkable": {"id": "x", "claim": "c", "source": "paper", "status": "not-checkable",
                                   "reason": "r", "test": "t"},
        "pipe in claim": {"id": "x", "claim": "$|h|$", "source": "derived", "test": "t"},
    }
    for what, entry in bad.items():
        (tmp_path / "book" / "_claims" / "x.yml").write_text(yaml.safe_dump({"chapter": "book/a/b", "claims": [entry]}))
        with pytest.raises(ValueError):
            LEDGER.load_registry(tmp_path)
        assert what


@pytest.mark.parametrize("text, cat", [("confirmed", "confirmed"), ("Confirmed (within 0.3 dB)", "confirmed"),
                                       ("reproduced (by a reconstruction)", "confirmed"), ("partly (τ ≤ 1)", "partly"),
                                       ("FAILS", "fails"), ("not reproduced here", "fails"),
                                       ("conjecture (search evidence)", "conjecture"),
                                       ("not checkable (no LLMs)", "not-checkable"), ("finding: x", None),
                                       ("looks fine", None)])
def test_verdict_vocabulary(text, cat):
    assert LEDGER.verdict_category(text) == cat


def test_registered_chapters_are_in_the_toc():
    toc = set(_toc_files())
    for claim in CLAIMS:
        assert claim["chapter"] in toc, f"{claim['chapter']} has claims but is not in _toc.yml"


def test_every_chapter_in_the_toc_registers_claims():
    chapters = {c["chapter"] for c in CLAIMS}
    for f in LEDGER.toc_chapters(ROOT):  # the numbered parts: chapters, not front or back matter
        assert f in chapters, f"{f} is in the table of contents but registers no claim in book/_claims/"


def test_every_chapter_file_is_in_the_toc():
    toc = set(_toc_files())
    for path in sorted((ROOT / "book").glob("*/*.md")):
        rel = path.relative_to(ROOT).with_suffix("").as_posix()
        if not rel.startswith(("book/_", "book/reference/")):  # reference pages are generated and globbed
            assert rel in toc, f"{rel}.md exists but is not listed in _toc.yml (only_build_toc_files hides it)"
