"""Bound functions T_tau / Gamma_tau: closed forms (SymPy), shape, inverse, tightness, square-root range."""

import numpy as np
import pytest
import sympy as sp
from scipy.optimize import brentq

from lossbook.consistency import (
    best_conditional_risk,
    bound_gamma,
    bound_T,
    conditional_risk,
    quadratic_coefficient,
    sqrt_bound,
    tight_instance,
    transform_search,
    zero_one_regret,
)

t_sym, tau_sym = sp.symbols("t tau", positive=True)


def _M(tau):
    a = 1 / (2 - tau)
    return (((1 + t_sym) ** a + (1 - t_sym) ** a) / 2) ** (2 - tau)


@pytest.mark.claim("csh_T_closed_forms")
def test_sum_exponential_and_logistic_closed_forms():
    T0 = 2 * (1 - _M(sp.Integer(0)))
    assert sp.simplify(T0 - (1 - sp.sqrt(1 - t_sym**2))) == 0
    t = np.linspace(0, 1, 1001)
    np.testing.assert_allclose(bound_T(t, 0.0, 7), 1 - np.sqrt(1 - t**2), atol=1e-15)
    np.testing.assert_allclose(bound_gamma(t, 0.0, 7), np.sqrt(2 * t - t**2), atol=1e-14)
    # the tau -> 1 limit of the tau < 1 formula is the binary logistic transform
    T_tau = 2 ** (1 - tau_sym) * (1 - _M(tau_sym)) / (1 - tau_sym)
    for tv in (sp.Rational(1, 3), sp.Rational(1, 2), sp.Rational(9, 10)):
        # evaluated at tau = 1 -+ 1e-30 with 60 significant digits: the one-sided limits to ~1e-30
        T1 = (1 + tv) / 2 * sp.log(1 + tv) + (1 - tv) / 2 * sp.log(1 - tv)
        for side in (-1, 1):
            near = T_tau.subs(t_sym, tv).subs(tau_sym, 1 + side * sp.Rational(1, 10**30)).evalf(60)
            assert abs(float(near - T1.evalf(60))) < 1e-25
    # MAE: t / n
    assert float(bound_T(0.3, 2.0, 4)) == pytest.approx(0.075, abs=1e-16)


@pytest.mark.claim("csh_T_closed_forms")
def test_quadratic_coefficient_and_quartic_sign_change():
    a = sp.Symbol("tau")
    series = sp.series(_M(a), t_sym, 0, 6).removeO()
    c2 = sp.simplify(series.coeff(t_sym, 2))
    c4 = sp.factor(series.coeff(t_sym, 4))
    assert sp.simplify(c2 - (a - 1) / (2 * (2 - a))) == 0
    assert set(sp.solve(sp.numer(sp.together(c4)), a)) == {1, sp.Rational(4, 3), 3}
    # c_tau of the library against the symbolic coefficient
    for tau, n in ((0.0, 3), (0.5, 3), (1.5, 3), (1.5, 10), (1.8, 5)):
        scale = 2 ** (1 - tau) if tau < 1 else n ** (1 - tau)
        expected = scale * float(c2.subs(a, tau)) / (tau - 1)
        assert quadratic_coefficient(tau, n) == pytest.approx(expected, rel=1e-14)
        small = np.array([1e-3])
        assert float(bound_T(small, tau, n)[0]) / 1e-6 == pytest.approx(expected, rel=1e-5)


@pytest.mark.claim("csh_T_continuity")
def test_endpoints_and_continuity_at_tau_one():
    for n in (2, 5, 50):
        assert float(bound_T(1.0, 0.5, n)) == pytest.approx((2**0.5 - 1) / 0.5, rel=1e-14)
        assert float(bound_T(1.0, 1.5, n)) == pytest.approx((2 ** -0.5 - 1) / -0.5 * (2 / n) ** 0.5, rel=1e-14)
        for t in (0.1, 0.5, 1.0):
            T1 = float(bound_T(t, 1.0, n))
            for eps in (1e-3, 1e-5):
                # continuity: T_{1 -+ eps} - T_1 = O(eps). The relative slope |d log T_tau / d tau| at
                # tau = 1 is 0.35 from below (t-dependent, measured on this grid) and at most
                # 0.92 log n from above (the n^(1 - tau) factor gives log n); twice that covers the
                # O(eps^2) term. A jump at tau = 1 would be O(1).
                assert float(bound_T(t, 1 - eps, n)) == pytest.approx(T1, rel=2 * eps)
                assert float(bound_T(t, 1 + eps, n)) == pytest.approx(T1, rel=2 * eps * np.log(n))


@pytest.mark.claim("csh_T_convex")
@pytest.mark.parametrize("tau", [0.0, 0.3, 0.6, 0.9, 1.0, 1.2, 1.5, 1.8, 1.95, 2.0, 3.0])
def test_bound_is_increasing_and_convex(tau):
    t = np.linspace(0.0, 1.0, 200_001)
    T = bound_T(t, tau, 10)
    # each value carries an absolute rounding error below 8 ulp of max T (stable expm1/log1p
    # evaluation), so first and second differences may dip below 0 by at most 32 ulp.
    tol = 32 * np.finfo(float).eps * max(1.0, T.max())
    assert T[0] == 0.0
    assert np.all(np.diff(T) > -tol)
    assert np.all(np.diff(T, 2) > -tol)
    assert T[-1] > T[len(T) // 2] > 0


@pytest.mark.parametrize("tau", [0.0, 0.5, 1.0, 1.5, 2.0, 3.0])
def test_gamma_inverts_T_against_brentq(tau):
    n = 6
    top = float(bound_T(1.0, tau, n))
    s = np.linspace(0, 1.2 * top, 37)
    g = bound_gamma(s, tau, n)
    for si, gi in zip(s, g, strict=True):
        if si >= top:
            assert gi == 1.0
        else:
            root = brentq(lambda x, si=si: float(bound_T(x, tau, n)) - si, 0.0, 1.0, xtol=1e-15)
            assert gi == pytest.approx(root, abs=1e-12)


@pytest.mark.claim("csh_sqrt_range")
def test_global_square_root_bound_holds_up_to_four_thirds_only():
    t = np.linspace(1e-4, 1.0, 100_000)
    for tau in (0.0, 0.5, 1.0, 1.1, 1.25, 4 / 3):
        for n in (2, 10):
            ratio = bound_T(t, tau, n) / (quadratic_coefficient(tau, n) * t**2)
            assert ratio.min() >= 1 - 1e-9
            s = bound_T(t, tau, n)
            assert np.all(bound_gamma(s, tau, n) <= sqrt_bound(s, tau, n) + 1e-12)
    for tau in (1.4, 1.5, 1.75, 1.9):
        for n in (2, 10):
            ratio = bound_T(t, tau, n) / (quadratic_coefficient(tau, n) * t**2)
            # above 4/3 the t^4 coefficient is negative: the form fails at EVERY t in (0, 1], not only at large t
            assert np.all(ratio < 1), (tau, n, t[ratio >= 1][:3])
            # ... by a deficit that vanishes like t^2 near 0 (log-log slope of 1 - ratio between t = 1e-3 and 1e-2)
            small = bound_T(np.array([1e-3, 1e-2]), tau, n) / (quadratic_coefficient(tau, n) * np.array([1e-6, 1e-4]))
            slope = np.log10((1 - small[1]) / (1 - small[0]))
            assert slope == pytest.approx(2.0, abs=0.02)
    # the reviewer's independent value: T/(c t^2) = 0.99998 at t = 0.01 for tau = 1.5 (n cancels in the ratio)
    r = bound_T(0.01, 1.5, 10) / (quadratic_coefficient(1.5, 10) * 1e-4)
    assert r == pytest.approx(0.99998, abs=5e-6)
    for tau in (1.5, 1.75):
        ratio = bound_T(t, tau, 10) / (quadratic_coefficient(tau, 10) * t**2)
        assert np.argmin(ratio) == len(t) - 1  # the deficit is largest at t = 1
        # independent closed form at t = 1: T(1) / c = 2 (2 - tau) (2^(1-tau) - 1) / (1 - tau) * 2^(tau-1)
        closed = 2 * (2 - tau) * (2 ** (1 - tau) - 1) / (1 - tau) * 2 ** (tau - 1)
        assert ratio[-1] == pytest.approx(closed, rel=1e-12)


@pytest.mark.claim("csh_tight_tau_le_1")
@pytest.mark.parametrize("tau", [0.0, 0.25, 0.5, 0.75, 1.0])
@pytest.mark.parametrize("n", [2, 3, 10])
def test_two_label_construction_attains_the_bound(tau, n):
    for t in np.linspace(0.0, 1.0, 11):
        inst = tight_instance(t, tau, n)
        assert zero_one_regret(inst.scores, inst.p) == pytest.approx(t, abs=1e-15)
        gap = conditional_risk(inst.scores, inst.p, tau) - best_conditional_risk(inst.p, tau)
        assert abs(gap - float(bound_T(t, tau, n))) < 1e-6


@pytest.mark.claim("csh_mae_n_dependence")
@pytest.mark.parametrize("n", [2, 3, 10, 50])
def test_mae_bound_is_attained_with_its_class_count_factor(n):
    for t in np.linspace(0.0, 1.0 / (n - 1), 7):
        inst = tight_instance(t, 2.0, n)
        assert zero_one_regret(inst.scores, inst.p) == pytest.approx(t, abs=1e-14)
        gap = conditional_risk(inst.scores, inst.p, 2.0) - best_conditional_risk(inst.p, 2.0)
        assert gap == pytest.approx(t / n, abs=1e-14)


@pytest.mark.claim("csh_gce_class_dependence")
@pytest.mark.parametrize("n", [3, 4])
def test_gce_bound_is_loose_by_the_two_label_factor(n):
    tau, t = 1.5, 0.05
    r = transform_search(t, tau, n, seed=0, maxiter=50)  # measured: within 3e-5 of the limit at maxiter=50
    # the search never goes below the bound, and it finds the two-label value (n/2)^(tau-1) T_tau
    assert r.value >= r.bound * (1 - 1e-9)
    assert r.value / r.bound == pytest.approx((n / 2) ** (tau - 1), rel=0.01)
    assert r.two_label / r.bound == pytest.approx((n / 2) ** (tau - 1), rel=1e-12)


def test_invalid_arguments_name_the_parameter():
    with pytest.raises(ValueError, match="t entries"):
        bound_T([0.5, 1.2], 1.0, 3)
    with pytest.raises(ValueError, match="n must lie"):
        bound_T(0.5, 1.0, 1)
    with pytest.raises(ValueError, match="tau must lie"):
        bound_gamma(0.1, -1.0, 3)
    with pytest.raises(ValueError, match="s entries"):
        bound_gamma(-0.1, 1.0, 3)
    with pytest.raises(ValueError, match="tight instance"):
        tight_instance(0.2, 1.5, 3)
    with pytest.raises(ValueError, match="1/\\(n-1\\)"):
        tight_instance(0.9, 2.0, 5)
