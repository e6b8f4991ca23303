"""The benchmark harness: modules are well formed, and a case whose answers differ is refused."""

import importlib
from pathlib import Path

import pytest

from benchmarks.harness import Case, time_case

ROOT = Path(__file__).resolve().parents[1]
MODULES = sorted(p.stem for p in (ROOT / "benchmarks").glob("bench_*.py"))


@pytest.mark.parametrize("name", MODULES)
def test_benchmark_module_defines_named_cases(name):
    mod = importlib.import_module(f"benchmarks.{name}")
    assert mod.CASES, f"{name} defines no CASES"
    for case in mod.CASES:
        assert isinstance(case, Case)
        assert case.kernel and case.peer and case.size
        assert callable(case.ours) and callable(case.peer_fn)


def test_ratio_is_peer_over_ours_and_disagreement_is_refused():
    t = time_case(Case("k", "p", "1", lambda: 1, lambda: 1, repeats=3))
    assert t.ratio == pytest.approx(t.peer_s / t.ours_s)

    def check(a, b):
        assert a == b

    with pytest.raises(AssertionError):
        time_case(Case("k", "p", "1", lambda: 1, lambda: 2, check, repeats=1))
