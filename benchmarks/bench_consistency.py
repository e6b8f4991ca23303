"""Bound verification throughput at n = 10: the Numba kernel against the vectorised NumPy reference.

The first three cases time the evaluation of 1e5 pre-drawn (p, h) pairs (draws per second =
1e5 / median time); the last times the whole ``verify_bound`` call, sampling included (sampling is
NumPy in both engines, so the ratio there is diluted).
"""

import numpy as np

from benchmarks.harness import Case
from lossbook.consistency import draw_instances, verify_bound
from lossbook.consistency.verify import _margins_numba, _margins_numpy

_N = 10
_DRAWS = 100_000
_P, _H = draw_instances(_N, _DRAWS, seed=0)


def _check(a, b):
    for x, y in zip(a, b, strict=True):
        np.testing.assert_allclose(x, y, rtol=1e-12, atol=1e-12 * (1 + float(np.max(b[3]))))


CASES = [
    Case(f"consistency.verify margins tau={tau:g} (numba)", "vectorised NumPy reference", f"{_DRAWS} draws, n={_N}",
         lambda tau=tau: _margins_numba(_P, _H, tau, _N), lambda tau=tau: _margins_numpy(_P, _H, tau, _N), _check)
    for tau in (0.5, 1.0, 1.5)
]


def _check_full(a, b):
    assert a.n_violations == b.n_violations == 0
    np.testing.assert_allclose(a.min_ratio, b.min_ratio, rtol=1e-9)


CASES.append(Case("consistency.verify_bound tau=1 (numba)", "verify_bound(engine='numpy')", f"{_DRAWS} draws, n={_N}",
                  lambda: verify_bound(1.0, _N, _DRAWS, seed=0),
                  lambda: verify_bound(1.0, _N, _DRAWS, seed=0, engine="numpy"), _check_full, repeats=5))
