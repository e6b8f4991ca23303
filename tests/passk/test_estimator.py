"""The pass@k estimator against brute-force enumeration, exact rationals and high-precision binomials."""

from __future__ import annotations

import itertools
import math
from fractions import Fraction

import mpmath
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from lossbook.passk import pass_at_k, pass_at_k_plugin

EPS = np.finfo(float).eps


def brute_force(n: int, c: int, k: int) -> Fraction:
    """Fraction of the k-subsets of n samples (the first c correct) that hold a correct one."""
    subsets = list(itertools.combinations(range(n), k))
    return Fraction(sum(any(i < c for i in s) for s in subsets), len(subsets))


@pytest.mark.claim("pak_estimator_bruteforce")
def test_matches_brute_force_enumeration():
    # every (n, c, k) with n <= 10: 12 870 subsets at most; the float result of eq. pak-product
    # differs from the exact rational by a few roundings of k terms, below 16 k eps
    worst = 0.0
    for n in range(1, 11):
        for c in range(n + 1):
            for k in range(1, n + 1):
                exact = brute_force(n, c, k)
                got = pass_at_k(n, c, k)
                worst = max(worst, abs(got - float(exact)))
                assert got == pytest.approx(float(exact), rel=16 * k * EPS, abs=0.0) or got == float(exact)
    assert worst < 1e-14


@st.composite
def nck(draw):
    n = draw(st.integers(1, 400))
    return n, draw(st.integers(0, n)), draw(st.integers(1, n))


@given(nck())
def test_matches_exact_rational_binomial_ratio(args):
    # exact integers (math.comb) as the oracle on random (n, c, k) with n <= 400; error bound as below
    n, c, k = args
    exact = 1 - Fraction(math.comb(n - c, k), math.comb(n, k))
    got = pass_at_k(n, c, k)
    assert abs(got - float(exact)) <= 4 * (k + 4) * EPS * float(exact)
    # the estimate never falls below the plug-in: each factor 1 - c/(n-i) is at most 1 - c/n
    assert pass_at_k_plugin(n, c, k) <= got + 4 * (k + 4) * EPS


def test_vectorised_call_equals_scalar_calls():
    c = np.array([[0, 3, 7], [10, 1, 3]])
    got = pass_at_k(10, c, 4)
    assert got.shape == (2, 3)
    assert np.array_equal(got, [[pass_at_k(10, int(x), 4) for x in row] for row in c])


@pytest.mark.claim("pak_estimator_stable")
@pytest.mark.parametrize("n, c, k", [(1000, 1, 1), (1000, 1, 500), (10**6, 1, 1), (10**6, 3, 10**5),
                                     (10**6, 10**5, 10**5), (10**6, 999_000, 999), (5000, 2500, 2400),
                                     (10**7, 1, 2)])
def test_matches_high_precision_binomials(n, c, k):
    # mpmath at 80 digits is an independent oracle. The sum of k log1p terms has a worst-case
    # relative error of about k eps in log q; -expm1 keeps that relative error when the estimate is
    # small, and shrinks it when the estimate is near 1: 4 k eps bounds the relative error.
    with mpmath.workdps(80):
        exact = 1 - mpmath.binomial(n - c, k) / mpmath.binomial(n, k)
    got = pass_at_k(n, c, k)
    assert np.isfinite(got)
    assert abs(got - float(exact)) <= 4 * (k + 4) * EPS * float(exact)


@pytest.mark.claim("pak_estimator_stable")
def test_naive_binomial_ratio_overflows_where_product_form_does_not():
    # the float binomial coefficient C(2000, 1000) overflows: the textbook formula cannot be evaluated
    with pytest.raises(OverflowError):
        float(math.comb(2000, 1000))
    assert 0.0 < pass_at_k(2000, 1, 1000) <= 1.0


@pytest.mark.claim("pak_unbiased")
@pytest.mark.parametrize("n, k", [(5, 1), (5, 3), (8, 8), (20, 7)])
def test_unbiased_for_binomial_counts(n, k):
    # Theorem pak-thm-unbiased, exactly: sum_c Binom(c; n, p) * estimate(c) = 1 - (1-p)^k in rationals,
    # then in floats through the library (error of n+1 terms each below 4 k eps)
    for p in (Fraction(0), Fraction(1, 7), Fraction(1, 2), Fraction(9, 10), Fraction(1)):  # incl. both ends
        exact = sum(math.comb(n, c) * p**c * (1 - p) ** (n - c) * (1 - Fraction(math.comb(n - c, k), math.comb(n, k)))
                    for c in range(n + 1))
        assert exact == 1 - (1 - p) ** k
        pf = float(p)
        est = pass_at_k(n, np.arange(n + 1), k)
        weights = np.array([math.comb(n, c) * pf**c * (1 - pf) ** (n - c) for c in range(n + 1)])
        assert float(weights @ est) == pytest.approx(1 - (1 - pf) ** k, abs=1e-13)


@pytest.mark.claim("pak_plugin_bias")
def test_plugin_estimate_is_biased_low_for_k_at_least_two():
    n, p = 20, 0.1
    weights = np.array([math.comb(n, c) * p**c * (1 - p) ** (n - c) for c in range(n + 1)])
    for k in range(1, 11):
        truth = 1 - (1 - p) ** k
        plug = float(weights @ pass_at_k_plugin(n, np.arange(n + 1), k))
        if k == 1:
            assert plug == pytest.approx(truth, abs=1e-14)
        else:
            assert plug < truth - 1e-6  # Jensen: a strict gap for k >= 2 and 0 < p < 1


@pytest.mark.parametrize("args, exc, word", [
    ((0, 0, 1), ValueError, "n"),
    ((5, 6, 1), ValueError, "c"),
    ((5, -1, 1), ValueError, "c"),
    ((5, 2, 0), ValueError, "k"),
    ((5, 2, 6), ValueError, "k"),
    ((5, 2, 1.5), TypeError, "k"),
    ((5, 2.5, 1), TypeError, "c"),
    ((5.5, 2, 1), TypeError, "n"),
    ((True, 0, 1), TypeError, "n"),
    (([5, 6], [1, 2, 3], 1), ValueError, "broadcast"),
])
def test_bad_arguments_are_named(args, exc, word):
    for fn in (pass_at_k, pass_at_k_plugin):
        with pytest.raises(exc, match=word):
            fn(*args)


@pytest.mark.claim("pak_estimator_monte_carlo")
def test_average_estimate_over_sampled_counts_matches_coverage():
    # Monte Carlo: 4000 problems with success probabilities p_i, c_i ~ Binomial(64, p_i); the mean of the
    # estimates is within 4 standard errors of mean 1 - (1 - p_i)^k at every k (a biased estimator with
    # the plug-in's bias, about 0.02 at k = 16 here, would fail)
    rng = np.random.default_rng(11)
    p = rng.beta(0.3, 2.0, size=4000)
    c = rng.binomial(64, p)
    for k in (1, 4, 16, 64):
        est = pass_at_k(64, c, k)
        truth = -np.expm1(k * np.log1p(-p))
        se = np.std(est - truth) / np.sqrt(p.size)
        assert abs(np.mean(est - truth)) < 4 * se
    plug = pass_at_k_plugin(64, c, 16) - -np.expm1(16 * np.log1p(-p))
    assert abs(plug.mean()) > 4 * plug.std() / np.sqrt(p.size)
