"""The benchmark harness: modules are well formed, every row declares its peer kind, threads and dtype, and a
case whose answers differ is refused."""

import importlib
from pathlib import Path

import pytest

from benchmarks.harness import KINDS, Case, Scaling, _loglog_slope, thread_limit, time_case

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
        assert case.kind in KINDS and case.n_threads >= 1 and case.dtype
    for sc in getattr(mod, "SCALING", []):
        assert isinstance(sc, Scaling) and len(sc.sizes) >= 4


def test_a_case_must_declare_its_peer_kind():
    with pytest.raises(ValueError, match="kind"):
        Case("k", "p", "1", lambda: 1, lambda: 1)
    with pytest.raises(ValueError, match="kind"):
        Case("k", "p", "1", lambda: 1, lambda: 1, kind="ours")
    with pytest.raises(ValueError, match="threads"):
        Case("k", "p", "1", lambda: 1, lambda: 1, kind="external", threads=-1)


def test_thread_limit_sets_and_restores_numba_torch_and_blas():
    numba = pytest.importorskip("numba")
    torch = pytest.importorskip("torch")
    from threadpoolctl import threadpool_info

    before = (numba.get_num_threads(), torch.get_num_threads())
    with thread_limit(1):
        assert numba.get_num_threads() == 1 and torch.get_num_threads() == 1
        assert all(pool["num_threads"] == 1 for pool in threadpool_info())
    assert (numba.get_num_threads(), torch.get_num_threads()) == before


def test_loglog_slope_recovers_an_exact_power():
    sizes = [10.0, 20.0, 40.0, 80.0]
    assert _loglog_slope(sizes, [3.0 * s**2.5 for s in sizes]) == pytest.approx(2.5, rel=1e-12)


def test_ratio_is_peer_over_ours_and_disagreement_is_refused():
    t = time_case(Case("k", "p", "1", lambda: 1, lambda: 1, repeats=3, kind="own reference"))
    assert t.ratio == pytest.approx(t.peer_s / t.ours_s)

    def check(a, b):
        assert a == b

    with pytest.raises(AssertionError):
        time_case(Case("k", "p", "1", lambda: 1, lambda: 2, check, repeats=1, kind="own reference"))
