"""Bound verification throughput at n = 10: the Numba search against the vectorised NumPy reference.

The ``verify_bound`` cases time the whole search of 1e5 draws (draws per second = 1e5 / median
time): the Numba engine samples each pair inside the kernel (Numba's Mersenne Twister seeded from
``seed``) and scores it in the same pass; the NumPy engine draws the same pairs from the same
stream (``numpy.random.RandomState``) and scores them vectorised. The last case times the scoring
alone on 1e5 pre-drawn pairs, to show where the time goes.
"""

import numpy as np

from benchmarks.harness import Case
from lossbook.consistency import draw_instances, verify_bound
from lossbook.consistency.verify import _margins_numba, _margins_numpy

_N = 10
_DRAWS = 100_000


def _check_full(a, b):
    assert a.n_violations == b.n_violations == 0
    np.testing.assert_allclose(a.min_ratio, b.min_ratio, rtol=1e-9)
    np.testing.assert_allclose(a.regret01, b.regret01, rtol=0, atol=1e-11)


CASES = [
    Case(f"consistency.verify_bound tau={tau:g} (numba)", "verify_bound(engine='numpy')", f"{_DRAWS} draws, n={_N}",
         lambda tau=tau: verify_bound(tau, _N, _DRAWS, seed=0),
         lambda tau=tau: verify_bound(tau, _N, _DRAWS, seed=0, engine="numpy"), _check_full,
         repeats=5, kind="own reference")
    for tau in (0.5, 1.0, 1.5)
]

_P, _H = draw_instances(_N, _DRAWS, seed=0)


def _check_margins(a, b):
    for x, y in zip(a, b, strict=True):
        np.testing.assert_allclose(x, y, rtol=1e-12, atol=1e-12 * (1 + float(np.max(b[3]))))


CASES.append(Case("consistency.verify margins only tau=1 (numba)", "vectorised NumPy reference",
                  f"{_DRAWS} pre-drawn, n={_N}", lambda: _margins_numba(_P, _H, 1.0, _N),
                  lambda: _margins_numpy(_P, _H, 1.0, _N), _check_margins, kind="own reference"))
