"""Central-path RK4 (Numba kernel) against the pure-NumPy reference integrator, same steps, same answer.

Steps per second = 2000 / median time; ``ratio`` = NumPy time / Numba time.
"""

import numpy as np

from benchmarks.harness import Case
from lossbook.collapse import central_path_flow, class_indicator

_K, _n, _d = 4, 10, 10
_Y = class_indicator(_K, _n)
_H0 = np.random.default_rng(0).normal(size=(_d, _K * _n)) + 2.0
_ARGS = (_H0, _Y, 0.05, 0.02)
_KW = {"T": 2.0, "dt": 1e-3}


def _check(a, b):
    np.testing.assert_allclose(a.H, b.H, rtol=1e-10, atol=1e-12)


CASES = [
    Case("collapse.central_path_flow RK4 (numba)", "same RK4 in NumPy", "2000 steps, d=10, N=40",
         lambda: central_path_flow(*_ARGS, **_KW, engine="numba"),
         lambda: central_path_flow(*_ARGS, **_KW, engine="numpy"), _check, repeats=5, kind="own reference"),
]
