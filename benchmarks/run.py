"""Run every ``benchmarks/bench_*.py`` in one process and print a table of medians and ratios.

    python benchmarks/run.py [substring]     # only modules whose name contains substring
"""

from __future__ import annotations

import importlib
import os
import platform
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from benchmarks.harness import time_case  # noqa: E402


def _fmt(seconds: float) -> str:
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6)):
        if seconds >= scale:
            return f"{seconds / scale:.3g} {unit}"
    return f"{seconds / 1e-9:.3g} ns"


def main(argv: list[str]) -> int:
    pattern = argv[1] if len(argv) > 1 else ""
    modules = sorted(p.stem for p in HERE.glob("bench_*.py") if pattern in p.stem)
    print(f"# lossbook benchmarks  (python {platform.python_version()}, {os.cpu_count()} cores)")
    w_k, w_p, w_s = 44, 36, 32
    header = f"{'kernel':{w_k}s} {'peer':{w_p}s} {'size':{w_s}s} {'ours':>10s} {'peer':>10s} {'ratio':>8s}"
    print(header)
    print("-" * len(header))
    failures = 0
    for name in modules:
        mod = importlib.import_module(f"benchmarks.{name}")
        for case in mod.CASES:
            try:
                t = time_case(case)
            except Exception as exc:  # report and go on: one broken case should not hide the rest
                failures += 1
                print(f"{case.kernel:{w_k}s} {case.peer:{w_p}s} {case.size:{w_s}s} FAILED: {exc}")
                continue
            print(
                f"{case.kernel:{w_k}s} {case.peer:{w_p}s} {case.size:{w_s}s} {_fmt(t.ours_s):>10s} "
                f"{_fmt(t.peer_s):>10s} {t.ratio:>7.3g}x"
            )
    print("\nratio = peer median / our median (above 1: ours is faster); medians of repeated runs after a warm-up.")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
