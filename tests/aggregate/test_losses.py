"""The identity instance loss = bag loss + within-bag penalty, and the reduction of the fit to
(U^T U + rho Z^T Z)^{-1} U^T v, checked against independent computations."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy.linalg import helmert
from scipy.optimize import minimize

from lossbook.aggregate import bag_loss, bag_means, fit_interpolating, instance_loss, within_bag_penalty
from lossbook.aggregate.losses import _bag_sums_numba, _bag_sums_numpy


def _data(seed, n_bags, k, d, unequal=False):
    rng = np.random.default_rng(seed)
    sizes = rng.integers(1, 2 * k + 1, size=n_bags) if unequal else np.full(n_bags, k)
    bags = np.repeat(np.arange(n_bags), sizes)
    rng.shuffle(bags)
    X = rng.normal(size=(bags.size, d)) * rng.uniform(0.1, 10)
    y = rng.normal(size=bags.size)
    return rng, X, y, bags


@pytest.mark.claim("agg_identity")
@given(seed=st.integers(0, 2**31), n_bags=st.integers(1, 12), k=st.integers(1, 6), d=st.integers(1, 8),
       unequal=st.booleans())
def test_instance_loss_is_bag_loss_plus_within_bag_penalty(seed, n_bags, k, d, unequal):
    rng, X, y, bags = _data(seed, n_bags, k, d, unequal)
    ybar = np.array([y[bags == a].mean() for a in range(n_bags)])   # bag means by a plain loop
    theta = rng.normal(size=d)
    # instance loss written out directly from its definition, not through the library
    direct = np.mean([(ybar[bags[i]] - X[i] @ theta) ** 2 for i in range(bags.size)])
    lhs = instance_loss(theta, X, ybar, bags)
    rhs = bag_loss(theta, X, ybar, bags) + within_bag_penalty(theta, X, bags)
    # the three are sums of O(n) terms of size ~ direct: rounding is ~ n eps * direct
    assert lhs == pytest.approx(direct, rel=1e-12, abs=1e-300)
    assert lhs == pytest.approx(rhs, rel=1e-11, abs=1e-14 * (1 + direct))


def test_penalty_vanishes_with_singleton_bags_and_constant_features():
    rng, X, y, bags = _data(1, 6, 1, 3)
    assert within_bag_penalty(rng.normal(size=3), X, bags) == 0.0
    Xc = np.repeat(rng.normal(size=(4, 3)), 3, axis=0)
    assert within_bag_penalty(rng.normal(size=3), Xc, np.repeat(np.arange(4), 3)) == pytest.approx(0.0, abs=1e-28)


@pytest.mark.claim("agg_reduction")
@pytest.mark.parametrize("rho", [0.0, 0.3, 1.0])
@pytest.mark.parametrize("k", [2, 5])
def test_fit_equals_reduced_form_with_helmert_rotation(rho, k):
    rng, X, y, bags = _data(7, 30, k, 6)
    xbar, ybar, size = bag_means(X, y, bags)
    # build U, Z, v exactly as in the derivation: sqrt(k) means and Helmert-rotated deviations
    H = helmert(k, full=False)                      # (k - 1) x k, orthonormal rows orthogonal to 1
    U = np.sqrt(k) * xbar
    v = np.sqrt(k) * ybar
    Z = np.vstack([H @ X[bags == a] for a in range(30)])
    expect = np.linalg.solve(U.T @ U + rho * Z.T @ Z, U.T @ v)
    np.testing.assert_allclose(fit_interpolating(X, ybar, bags, rho), expect, rtol=1e-9, atol=1e-12)


@pytest.mark.claim("agg_reduction")
def test_fit_minimises_the_objective_generic_solver_and_instance_least_squares():
    rng, X, y, bags = _data(11, 25, 3, 4, unequal=True)
    ybar = bag_means(X, y, bags)[1]
    for rho in (0.0, 0.4, 1.0):
        res = minimize(lambda th, rho=rho: bag_loss(th, X, ybar, bags) + rho * within_bag_penalty(th, X, bags),
                       np.zeros(4), method="BFGS", options={"gtol": 1e-11})
        # BFGS stops at gradient 1e-11 on a quadratic of curvature O(1): parameters agree to ~1e-6
        np.testing.assert_allclose(fit_interpolating(X, ybar, bags, rho), res.x, atol=1e-6)
    # rho = 1 is ordinary least squares of each instance on its bag's response
    ols = np.linalg.lstsq(X, ybar[bags], rcond=None)[0]
    np.testing.assert_allclose(fit_interpolating(X, ybar, bags, 1.0), ols, rtol=1e-9, atol=1e-12)


def test_bag_fit_is_minimum_norm_with_fewer_bags_than_features():
    rng, X, y, bags = _data(5, 4, 3, 9)
    xbar, ybar, size = bag_means(X, y, bags)
    th = fit_interpolating(X, ybar, bags, 0.0)
    np.testing.assert_allclose(th, np.linalg.pinv(np.sqrt(3) * xbar) @ (np.sqrt(3) * ybar), atol=1e-10)


def test_numba_bag_sums_agree_with_numpy_reference():
    rng, X, y, bags = _data(3, 50, 4, 7, unequal=True)
    m = int(bags.max()) + 1
    for a, b in zip(_bag_sums_numba(X, y, bags, m), _bag_sums_numpy(X, y, bags, m), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-13, atol=1e-13)


@pytest.mark.parametrize("call, match", [
    (lambda: bag_means([[1.0]], [1.0, 2.0], [0]), "y must have one entry"),
    (lambda: bag_means([[1.0], [2.0]], [1.0, 2.0], [0, 2]), "every index"),
    (lambda: bag_means([[1.0], [2.0]], [1.0, 2.0], [0.0, 1.0]), "integer bag indices"),
    (lambda: bag_means([[np.nan], [2.0]], [1.0, 2.0], [0, 1]), "X must contain only finite"),
    (lambda: fit_interpolating([[1.0], [2.0]], [1.0], [0, 0], 1.5), "rho must lie in"),
    (lambda: bag_loss([1.0, 2.0], [[1.0], [2.0]], [1.0], [0, 0]), "theta must have d = 1"),
    (lambda: bag_loss([1.0], [[1.0], [2.0]], [1.0, 2.0], [0, 0]), "bag_response must have one entry"),
    (lambda: bag_means([[1.0]], [1.0], [0], engine="c"), "engine must be"),
])
def test_bad_input_names_the_argument(call, match):
    with pytest.raises((ValueError, TypeError), match=match):
        call()
