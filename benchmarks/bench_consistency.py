"""Bound verification throughput at n = 10: the Numba kernel against the vectorised NumPy reference."""

import numpy as np

from benchmarks.harness import Case
from lossbook.consistency import draw_instances
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
