"""Benchmark harness: our kernel against a named peer, both timed in the same process and run.

A benchmark module ``benchmarks/bench_<topic>.py`` defines ``CASES``, a list of :class:`Case`.
``ours`` and ``peer`` are zero-argument callables doing the same work; ``check`` (optional)
receives both results and raises if they disagree, so a ratio is never reported for different
answers. ``python benchmarks/run.py`` times every case and prints one table.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from statistics import median

__all__ = ["Case", "Timing", "time_case"]


@dataclass
class Case:
    kernel: str
    peer: str
    size: str
    ours: Callable[[], object]
    peer_fn: Callable[[], object]
    check: Callable[[object, object], None] | None = None
    repeats: int = 7


@dataclass
class Timing:
    case: Case
    ours_s: float
    peer_s: float

    @property
    def ratio(self) -> float:
        """peer median / our median: above 1 means we are faster."""
        return self.peer_s / self.ours_s


def _median_time(fn: Callable[[], object], repeats: int) -> tuple[float, object]:
    out = fn()  # warm-up: JIT compilation and caches are not part of the measurement
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return median(times), out


def time_case(case: Case) -> Timing:
    t_ours, r_ours = _median_time(case.ours, case.repeats)
    t_peer, r_peer = _median_time(case.peer_fn, case.repeats)
    if case.check is not None:
        case.check(r_ours, r_peer)
    return Timing(case, t_ours, t_peer)
