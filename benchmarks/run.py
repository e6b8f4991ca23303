"""Run every ``benchmarks/bench_*.py`` in one process and print a table of medians and ratios.

    python benchmarks/run.py [substring]     # only modules whose name contains substring

Each row names its peer and the peer's kind ("external": the tool a user would otherwise call; "own
reference": our own straightforward code, where no such tool exists), the thread count both sides ran with
and the working dtype. Modules with a ``SCALING`` list get a second table: time against size over at least
four sizes, with the exponent of a log-log least-squares fit of time next to that of the operation count.
"""

from __future__ import annotations

import importlib
import os
import platform
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from benchmarks.harness import time_case, time_scaling  # noqa: E402


def _fmt(seconds: float) -> str:
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6)):
        if seconds >= scale:
            return f"{seconds / scale:.3g} {unit}"
    return f"{seconds / 1e-9:.3g} ns"


def main(argv: list[str]) -> int:
    pattern = argv[1] if len(argv) > 1 else ""
    modules = sorted(p.stem for p in HERE.glob("bench_*.py") if pattern in p.stem)
    print(f"# lossbook benchmarks  (python {platform.python_version()}, {os.cpu_count()} cores)")
    w_k, w_p, w_c, w_s = 46, 34, 13, 30
    header = (f"{'kernel':{w_k}s} {'peer':{w_p}s} {'peer kind':{w_c}s} {'thr':>3s} {'dtype':7s} {'size':{w_s}s} "
              f"{'ours':>9s} {'peer':>9s} {'ratio':>7s}")
    print(header)
    print("-" * len(header))
    failures = 0
    scalings = []
    for name in modules:
        mod = importlib.import_module(f"benchmarks.{name}")
        scalings.extend(getattr(mod, "SCALING", []))
        for case in mod.CASES:
            lead = (f"{case.kernel:{w_k}s} {case.peer:{w_p}s} {case.kind:{w_c}s} {case.n_threads:>3d} "
                    f"{case.dtype:7s} {case.size:{w_s}s}")
            try:
                t = time_case(case)
            except Exception as exc:  # report and go on: one broken case should not hide the rest
                failures += 1
                print(f"{lead} FAILED: {exc}")
                continue
            print(f"{lead} {_fmt(t.ours_s):>9s} {_fmt(t.peer_s):>9s} {t.ratio:>6.3g}x")
    print("\nratio = peer median / our median (above 1: ours is faster); medians of repeated runs after a warm-up;")
    print("thr = threads for both sides (BLAS, Numba, PyTorch); peer kind 'own reference' = no external tool exists.")
    for sc in scalings:
        try:
            r = time_scaling(sc)
        except Exception as exc:
            failures += 1
            print(f"\nscaling {sc.kernel}: FAILED: {exc}")
            continue
        print(f"\n# scaling: {sc.kernel} ({sc.threads or os.cpu_count()} thread(s))")
        print(f"{sc.size_name:>24s} {'time':>10s} {'ops':>12s} {'s per Gop':>10s}")
        for size, t, ops in zip(sc.sizes, r.times, r.ops, strict=True):
            print(f"{size!s:>24s} {_fmt(t):>10s} {ops:>12.3g} {t / ops * 1e9:>10.3g}")
        print(f"log-log fit: time ~ {sc.size_name}^{r.time_exponent:.2f}; operation count ~ "
              f"{sc.size_name}^{r.ops_exponent:.2f}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
