"""Benchmark harness: our kernel against a named peer, both timed in the same process and run.

A benchmark module ``benchmarks/bench_<topic>.py`` defines ``CASES``, a list of :class:`Case`.
``ours`` and ``peer`` are zero-argument callables doing the same work; ``check`` (optional)
receives both results and raises if they disagree, so a ratio is never reported for different
answers. ``python benchmarks/run.py`` times every case and prints one table.

Every case declares ``kind``: ``"external"`` when the peer is the tool a user would otherwise call
(PyTorch, SciPy, scikit-learn, cvxpy, gudhi, scikit-image, pytorch-metric-learning, ...), ``"own reference"``
when no such tool exists and the peer is our own straightforward code. ``threads`` is the thread count both
sides run with (``0`` = every core): :func:`thread_limit` sets it for BLAS/OpenMP (threadpoolctl), Numba
and PyTorch alike, around both timings. ``dtype`` names the working precision of both sides.

A module may also define ``SCALING``, a list of :class:`Scaling`: one kernel timed over growing sizes, with
its operation count, so that ``run.py`` can fit the growth exponent of time next to that of the count.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from statistics import median

__all__ = ["KINDS", "Case", "Scaling", "ScalingResult", "Timing", "thread_limit", "time_case", "time_scaling"]

KINDS = ("external", "own reference")


@dataclass
class Case:
    kernel: str
    peer: str
    size: str
    ours: Callable[[], object]
    peer_fn: Callable[[], object]
    check: Callable[[object, object], None] | None = None
    repeats: int = 7
    kind: str | None = None
    threads: int = 1
    dtype: str = "float64"

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"Case {self.kernel!r}: kind must be one of {KINDS}, got {self.kind!r}")
        if not isinstance(self.threads, int) or self.threads < 0:
            raise ValueError(f"Case {self.kernel!r}: threads must be an int >= 0 (0 = every core)")

    @property
    def n_threads(self) -> int:
        return self.threads or (os.cpu_count() or 1)


@dataclass
class Scaling:
    """``make(size)`` returns a zero-argument callable doing the work at that size; ``ops(size)`` its count."""

    kernel: str
    size_name: str
    sizes: tuple
    make: Callable[[object], Callable[[], object]]
    ops: Callable[[object], float]
    repeats: int = 3
    threads: int = 1


@dataclass
class Timing:
    case: Case
    ours_s: float
    peer_s: float

    @property
    def ratio(self) -> float:
        """peer median / our median: above 1 means we are faster."""
        return self.peer_s / self.ours_s


@contextmanager
def thread_limit(n: int) -> Iterator[None]:
    """Run BLAS/OpenMP pools (threadpoolctl), Numba and, if imported, PyTorch with ``n`` threads."""
    import numba
    from threadpoolctl import threadpool_limits

    old_nb = numba.get_num_threads()
    torch = sys.modules.get("torch")
    old_torch = torch.get_num_threads() if torch is not None else None
    numba.set_num_threads(min(n, numba.config.NUMBA_NUM_THREADS))
    if torch is not None:
        torch.set_num_threads(n)
    try:
        with threadpool_limits(limits=n):
            yield
    finally:
        numba.set_num_threads(old_nb)
        if torch is not None:
            torch.set_num_threads(old_torch)


def _median_time(fn: Callable[[], object], repeats: int) -> tuple[float, object]:
    out = fn()  # warm-up: JIT compilation and caches are not part of the measurement
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return median(times), out


def time_case(case: Case) -> Timing:
    with thread_limit(case.n_threads):
        t_ours, r_ours = _median_time(case.ours, case.repeats)
        t_peer, r_peer = _median_time(case.peer_fn, case.repeats)
    if case.check is not None:
        case.check(r_ours, r_peer)
    return Timing(case, t_ours, t_peer)


@dataclass
class ScalingResult:
    scaling: Scaling
    times: list[float]
    ops: list[float]
    time_exponent: float
    ops_exponent: float


def _loglog_slope(x: list[float], y: list[float]) -> float:
    import numpy as np

    return float(np.polyfit(np.log(np.asarray(x, dtype=float)), np.log(np.asarray(y, dtype=float)), 1)[0])


def time_scaling(sc: Scaling) -> ScalingResult:
    """Median time at every size; least-squares slopes of log time and of log ops against log size."""
    if len(sc.sizes) < 4:
        raise ValueError(f"Scaling {sc.kernel!r}: a growth fit needs at least 4 sizes")
    times = []
    n = sc.threads or (os.cpu_count() or 1)
    with thread_limit(n):
        for size in sc.sizes:
            times.append(_median_time(sc.make(size), sc.repeats)[0])
    ops = [float(sc.ops(size)) for size in sc.sizes]
    sizes = [float(s) for s in sc.sizes]
    return ScalingResult(sc, times, ops, _loglog_slope(sizes, times), _loglog_slope(sizes, ops))
