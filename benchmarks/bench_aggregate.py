"""The aggregate-responses Monte Carlo simulator against a plain NumPy loop.

Case 1 times ``simulate_bag_risk`` (Numba bag sums, Cholesky solves) against its plain NumPy
reference engine (``np.add.at`` bag sums, ``np.linalg.solve`` per rho) on the chapter's grid
(d = 200, gamma = 0.1, k = 4, 11 values of rho, 5 replications); both read the same random stream and
must return the same numbers. Case 2 times the bag-mean kernel alone against the loop a user would
write (one boolean mask per bag). Timings depend on the BLAS thread count and on the load of the
machine; read the ratio, not the absolute times.
"""

import numpy as np

from benchmarks.harness import Case
from lossbook.aggregate import bag_means, simulate_bag_risk

_GRID = np.linspace(0.0, 1.0, 11)


def _check_sim(a, b):
    np.testing.assert_allclose(a.bias, b.bias, rtol=1e-8, atol=1e-12)
    np.testing.assert_allclose(a.variance, b.variance, rtol=1e-8, atol=1e-12)


_rng = np.random.default_rng(0)
_N, _D, _K = 8000, 200, 4
_X = _rng.standard_normal((_N, _D))
_Y = _rng.standard_normal(_N)
_BAGS = _rng.permutation(np.arange(_N) // _K)


def _loop_bag_means():
    m = _N // _K
    xbar = np.empty((m, _D))
    ybar = np.empty(m)
    for a in range(m):
        mask = _BAGS == a
        xbar[a] = _X[mask].mean(axis=0)
        ybar[a] = _Y[mask].mean()
    return xbar, ybar


def _check_means(a, b):
    np.testing.assert_allclose(a[0], b[0], rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(a[1], b[1], rtol=1e-12, atol=1e-14)


CASES = [
    Case("aggregate.simulate_bag_risk (numba)", "plain NumPy loop (engine='numpy')",
         "d=200, n=2000, k=4, 11 rho, 5 reps",
         lambda: simulate_bag_risk(_K, 0.1, _GRID, d=_D, reps=5, seed=0),
         lambda: simulate_bag_risk(_K, 0.1, _GRID, d=_D, reps=5, seed=0, engine="numpy"), _check_sim,
         repeats=3, kind="own reference"),
    Case("aggregate.bag_means (numba)", "Python loop of NumPy masks", f"n={_N}, d={_D}, k={_K}",
         lambda: bag_means(_X, _Y, _BAGS)[:2], _loop_bag_means, _check_means, repeats=3, kind="own reference"),
]
