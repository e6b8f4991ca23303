"""The deterministic-equivalent risk: Marchenko-Pastur moments against quadrature, the fixed point
against its closed-form ends, limits, monotonicity, and Monte Carlo against the theory."""

import math

import numpy as np
import pytest
from scipy.integrate import quad

from lossbook.aggregate import (
    bag_regression_risk,
    fixed_point_t,
    instance_risk_closed_form,
    mp_resolvent_moments,
    optimal_rho,
    simulate_bag_risk,
)
from lossbook.stats import paired_difference


def _mp_quad(g, q):
    """E g(s) for s ~ MP(q), unit mean, by quadrature of the density (atom 1 - 1/q at 0 if q > 1)."""
    lo, hi = (1 - math.sqrt(q)) ** 2, (1 + math.sqrt(q)) ** 2
    dens = lambda s: math.sqrt((hi - s) * (s - lo)) / (2 * math.pi * q * s)  # noqa: E731
    val = quad(lambda s: g(s) * dens(s), lo, hi, epsabs=1e-13, epsrel=1e-12, limit=200)[0]
    return val + (max(0.0, 1 - 1 / q) * g(0.0))


@pytest.mark.claim("agg_closed_forms")
@pytest.mark.parametrize("q", [0.1, 0.5, 0.9, 1.5, 3.0])
@pytest.mark.parametrize("t", [1e-3, 0.3, 2.0, 50.0])
def test_mp_moments_match_quadrature_of_the_density(q, t):
    f, h = mp_resolvent_moments(t, q)
    # quad reaches ~1e-11 relative on these smooth integrands (square-root edges)
    assert f == pytest.approx(_mp_quad(lambda s: 1 / (1 + t * s), q), rel=1e-9)
    assert h == pytest.approx(_mp_quad(lambda s: 1 / (1 + t * s) ** 2, q), rel=1e-9)


def test_mp_moments_are_stable_for_tiny_t():
    # f = 1 - t + (1 + q) t^2 - ...: the cancellation-free form keeps full relative accuracy of 1 - f
    for q in (0.2, 2.0):
        f, h = mp_resolvent_moments(1e-12, q)
        assert (1 - f) / 1e-12 == pytest.approx(1.0, rel=1e-3)
        assert (1 - h) / 2e-12 == pytest.approx(1.0, rel=1e-3)


@pytest.mark.claim("agg_closed_forms")
@pytest.mark.parametrize("k", [2, 3, 4, 10, 50])
@pytest.mark.parametrize("gamma", [0.01, 0.1, 0.3, 0.6, 0.95, 0.999])
def test_fixed_point_at_rho_one_equals_instance_closed_form(k, gamma):
    a, b = bag_regression_risk(k, gamma, 1.0), instance_risk_closed_form(k, gamma)
    # both are O(1/(1-gamma)); the fixed point is solved to rtol 1e-15, the quotient loses ~ 1/(1 - a h)
    assert a.bias == pytest.approx(b.bias, rel=1e-9)
    assert a.variance == pytest.approx(b.variance, rel=1e-9)


@pytest.mark.claim("agg_closed_forms")
@pytest.mark.parametrize("k, gamma", [(2, 0.1), (4, 0.2), (8, 0.1), (3, 0.3)])
def test_rho_to_zero_limit_is_bag_least_squares_when_gamma_k_below_one(k, gamma):
    assert gamma * k < 1
    ols = bag_regression_risk(k, gamma, 0.0)
    assert ols.bias == 0.0 and ols.variance == pytest.approx(gamma * k / (1 - gamma * k), rel=1e-14)
    for rho in (1e-6, 1e-12, 1e-300):
        r = bag_regression_risk(k, gamma, rho)
        # first order in t* <= rho (k-1)/(1-a): bias ~ t*^2 (1+q)/(1-a) and
        # variance ~ ols (1 - 2 t*/(1-a)), so these bounds hold with a factor >= 2 to spare
        a = gamma * k
        assert r.bias <= 10 * (rho * k) ** 2 / (1 - a) ** 3 + 1e-300
        assert r.variance == pytest.approx(ols.variance, rel=4 * rho * k / (1 - a) ** 2 + 1e-14)


@pytest.mark.claim("agg_rho0_discontinuity")
def test_rho_to_zero_limit_differs_from_min_norm_bag_fit_when_gamma_k_above_one():
    # a = gamma k > 1: the rho -> 0+ limit interpolates the bags with the smallest within-bag penalty,
    # not with the smallest norm, so its risk differs from the min-norm bag estimator (theory) ...
    lim, mn = bag_regression_risk(8, 0.2, 1e-12), bag_regression_risk(8, 0.2, 0.0)
    assert mn.bias == pytest.approx(1 - 1 / 1.6) and mn.variance == pytest.approx(1 / 0.6)
    assert lim.risk > mn.risk * 1.05
    # ... and Monte Carlo sees both values: d = 200, 60 reps, |z| < 4 for each
    sim = simulate_bag_risk(8, 0.2, [0.0, 1e-9], d=200, reps=60, seed=21)
    g = sim.d / sim.n
    for j, th in enumerate((bag_regression_risk(8, g, 0.0), bag_regression_risk(8, g, 1e-9))):
        tot = sim.bias[:, j] + sim.variance[:, j]
        assert abs(tot.mean() - th.risk) < 4 * tot.std(ddof=1) / math.sqrt(60)
    d = paired_difference(sim.bias[:, 1] + sim.variance[:, 1], sim.bias[:, 0] + sim.variance[:, 0])
    assert d.ci_low > 0


def _bv(k, gamma, rhos):
    B = np.array([bag_regression_risk(k, gamma, r).bias for r in rhos])
    V = np.array([bag_regression_risk(k, gamma, r).variance for r in rhos])
    return B, V


@pytest.mark.claim("agg_monotone")
@pytest.mark.parametrize("k, gamma", [(2, 0.1), (4, 0.2), (8, 0.1), (2, 0.45), (20, 0.04)])
def test_bias_increases_and_variance_decreases_in_rho_when_gamma_k_below_one(k, gamma):
    assert gamma * k < 1
    B, V = _bv(k, gamma, np.linspace(1e-4, 1, 200))
    assert np.all(np.diff(B) > 0) and np.all(np.diff(V) < 0)


@pytest.mark.claim("agg_bias_nonmonotone")
@pytest.mark.parametrize("k, gamma", [(10, 0.5), (3, 0.9)])
def test_bias_is_not_increasing_in_rho_when_gamma_k_above_one(k, gamma):
    assert gamma * k > 1
    B, V = _bv(k, gamma, np.linspace(1e-4, 1, 200))
    assert B[0] > B[-1] and np.any(np.diff(B) < 0)     # more penalty, *less* bias at first
    assert np.all(np.diff(V) < 0)


@pytest.mark.claim("agg_bias_nonmonotone")
def test_simulation_confirms_bias_falls_with_rho_at_gamma_k_five():
    sim = simulate_bag_risk(10, 0.5, [0.01, 1.0], d=200, reps=30, seed=9)
    # paired over replications: the bias at rho = 0.01 exceeds the bias at rho = 1
    assert paired_difference(sim.bias[:, 0], sim.bias[:, 1]).ci_low > 0


@pytest.mark.claim("agg_inconsistent")
@pytest.mark.parametrize("k", [2, 4, 10])
def test_instance_bias_tends_to_shrinkage_bias_as_gamma_vanishes(k):
    target = (1 - 1 / k) ** 2
    for gamma, tol in ((1e-3, 1e-3), (1e-6, 1e-6)):
        assert bag_regression_risk(k, gamma, 1.0).bias == pytest.approx(target, abs=tol)
    # and bag-level is consistent there
    assert bag_regression_risk(k, 1e-6, 0.0).risk < 2e-5


@pytest.mark.claim("agg_theory_vs_mc")
@pytest.mark.parametrize("k, gamma, rho", [(2, 0.25, 0.3), (4, 0.2, 0.3), (4, 0.2, 1.0), (10, 0.5, 0.3),
                                           (4, 0.1, 0.0), (8, 0.1, 0.15)])
def test_monte_carlo_matches_theory_within_standard_error(k, gamma, rho):
    sim = simulate_bag_risk(k, gamma, [rho], d=200, reps=100, seed=1000 + k)
    th = bag_regression_risk(k, sim.d / sim.n, rho)
    # tolerance 4 SE: a measured run of 200 reps at d = 100 and 200 showed |z| < 1.9 on these cases,
    # i.e. the finite-d correction is below the Monte Carlo error at d = 200
    for x, tv in ((sim.bias[:, 0], th.bias), (sim.variance[:, 0], th.variance)):
        se = x.std(ddof=1) / math.sqrt(x.size)
        assert abs(x.mean() - tv) <= 4 * se + 1e-12


@pytest.mark.claim("agg_theory_vs_mc")
def test_theory_vs_mc_check_fails_for_a_wrong_parameter():
    # the same check rejects the theory at the wrong bag size: the test can fail
    sim = simulate_bag_risk(4, 0.2, [0.3], d=200, reps=100, seed=1004)
    wrong = bag_regression_risk(3, sim.d / sim.n, 0.3)
    x = sim.bias[:, 0]
    assert abs(x.mean() - wrong.bias) > 4 * x.std(ddof=1) / math.sqrt(x.size)


@pytest.mark.claim("agg_bag_exact")
def test_bag_variance_matches_exact_finite_sample_formula():
    # m > d + 1: E||(U^T U)^{-1} U^T xi||^2 = sigma2 tr E (U^T U)^{-1} = sigma2 d/(m - d - 1) (inverse Wishart)
    sim = simulate_bag_risk(4, 0.1, [0.0], d=50, reps=400, seed=5, sigma2=2.0)
    x = sim.variance[:, 0]
    exact = 2.0 * sim.d / (sim.m - sim.d - 1)
    assert abs(x.mean() - exact) <= 4 * x.std(ddof=1) / math.sqrt(x.size)
    assert np.all(sim.bias[:, 0] < 1e-20)


@pytest.mark.claim("agg_mean_theta_k")
@pytest.mark.parametrize("k", [2, 5])
def test_instance_estimator_is_unbiased_for_theta0_over_k(k):
    # E theta_hat_1 = theta_0 / k exactly for n > d (Haar invariance); z-score of the projection
    sim = simulate_bag_risk(k, 0.3, [1.0], d=40, reps=300, seed=77 + k)
    dots = sim.mean_theta_dot[:, 0]
    z = (dots.mean() - 1 / k) / (dots.std(ddof=1) / math.sqrt(dots.size))
    assert abs(z) < 4
    # and it is far from theta_0 (the check can fail): 1 - 1/k is many standard errors away
    assert abs(dots.mean() - 1.0) > 10 * dots.std(ddof=1) / math.sqrt(dots.size)


@pytest.mark.claim("agg_interior_rho")
@pytest.mark.parametrize("k", [2, 4, 8])
def test_optimal_rho_is_interior_and_beats_both_ends_in_simulation(k):
    o = optimal_rho(k, 0.1)
    assert 0.05 < o.rho < 0.5
    sim = simulate_bag_risk(k, 0.1, [0.0, o.rho, 1.0], d=200, reps=20, seed=300 + k)
    tot = sim.bias + sim.variance
    for end in (0, 2):
        assert paired_difference(tot[:, end], tot[:, 1]).ci_low > 0


@pytest.mark.parametrize("call, match", [
    (lambda: bag_regression_risk(0, 0.1, 0.5), "k must lie in"),
    (lambda: bag_regression_risk(2.5, 0.1, 0.5), "k must be an integer"),
    (lambda: bag_regression_risk(2, 0.0, 0.5), "gamma must lie in"),
    (lambda: bag_regression_risk(2, 1.2, 0.5), "gamma must lie in"),
    (lambda: bag_regression_risk(2, 0.1, 1.5), "rho must lie in"),
    (lambda: bag_regression_risk(2, 0.5, 0.0), "gamma \\* k must differ from 1"),
    (lambda: bag_regression_risk(2, 0.1, 0.5, r2=-1.0), "r2 must lie in"),
    (lambda: bag_regression_risk(2, 0.1, float("nan")), "rho must not be NaN"),
    (lambda: fixed_point_t(1, 0.1, 0.5), "k must lie in"),
    (lambda: mp_resolvent_moments(-1.0, 0.5), "t must lie in"),
])
def test_bad_input_names_the_argument(call, match):
    with pytest.raises((ValueError, TypeError), match=match):
        call()


def test_gamma_above_one_is_allowed_for_the_bag_estimator_only():
    r = bag_regression_risk(2, 1.5, 0.0)
    assert r.bias == pytest.approx(1 - 1 / 3) and r.variance == pytest.approx(1 / 2)


@pytest.mark.parametrize("q", [0.2, 0.9, 2.0])
@pytest.mark.parametrize("t", [1e-7, 9e-5, 2e-4, 1e-2])
def test_bias_numerator_is_accurate_on_both_sides_of_the_series_switch(q, t):
    # E[(ts)^2/(1+ts)^2] by quadrature of a cancellation-free integrand: an independent value for the
    # series branch (t < 1e-4) and the closed-form branch; both must hold 1e-7 relative accuracy
    from lossbook.aggregate.theory import _mp_f_h, _small_t_bias_numerator

    ref = _mp_quad(lambda s: (t * s) ** 2 / (1 + t * s) ** 2, q)
    f, h = _mp_f_h(t, q)
    ours = _small_t_bias_numerator(t, q) if t < 1e-4 else 1 - 2 * f + h
    assert ours == pytest.approx(ref, rel=1e-7)
