"""Regression tests for the collapse defects of issue #12 (scale, extreme decays, unchecked inputs)."""

import mpmath
import numpy as np
import pytest

from lossbook.collapse import (
    collapse_metrics,
    deep_linear_minimizer,
    deep_linear_thresholds,
    fit_deep_linear,
    intra_inter_energy,
    perturbation_spectrum,
    sigma_w,
    ufm_minimizer,
)

mpmath.mp.dps = 50


def _features(seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(4, 12)), np.repeat(np.arange(3), 4), rng.normal(size=(3, 4))


def _mp_trace_ratio(H, y):
    """tr Sigma_W / tr Sigma_B of the float64 entries of H, in 50-digit arithmetic."""
    Hm = [[mpmath.mpf(float(v)) for v in row] for row in H]
    d, N = H.shape
    K = int(y.max()) + 1
    means = [[mpmath.fsum(Hm[i][j] for j in range(N) if y[j] == k) / int(np.sum(y == k)) for k in range(K)]
             for i in range(d)]
    glob = [mpmath.fsum(Hm[i]) / N for i in range(d)]
    trw = mpmath.fsum((Hm[i][j] - means[i][y[j]]) ** 2 for i in range(d) for j in range(N)) / N
    trb = mpmath.fsum((means[i][k] - glob[i]) ** 2 for i in range(d) for k in range(K)) / K
    return trw / trb


@pytest.mark.parametrize("scale", [1e-160, 1e-300, 1e300, 2.0**-1070])
def test_collapse_metrics_are_scale_free(scale):
    # issue #12: nc1 was NaN at 1e-160, nc2 was 1 (instead of ~0.3) at 1e-300, LinAlgError at 1e300
    H, y, W = _features()
    ref = collapse_metrics(H, y, W=W)
    m = collapse_metrics(H * scale, y, W=W * scale)
    if scale > 1e-307:  # subnormal entries keep only a few bits: there only the 50-digit reference applies
        for name in ("nc1", "nc1_trace", "nc2_etf", "nc2_orthogonal", "nc3", "nc3_orthogonal"):
            assert getattr(m, name) == pytest.approx(getattr(ref, name), rel=1e-12), name
    # against a 50-digit evaluation on the scaled float entries themselves
    assert m.nc1_trace == pytest.approx(float(_mp_trace_ratio(H * scale, y)), rel=1e-12)
    assert m.nc2_etf < 0.9 and not np.isnan(m.nc1)


def test_traces_beyond_the_float_range_are_inf_not_nan():
    H, y, _ = _features()
    m = collapse_metrics(H * 1e300, y)
    assert m.trace_sigma_w == np.inf and m.trace_sigma_b == np.inf
    assert np.isfinite(m.nc1) and np.isfinite(m.nc1_trace)
    S = sigma_w(H * 1e300, y)
    assert not np.any(np.isnan(S))
    assert np.allclose(sigma_w(H * 2.0**-500, y) * 2.0**1000, sigma_w(H, y), rtol=1e-12)


def _mp_deep_linear_objective(counts, depth, lam, lam_h):
    """f* = sum_k min_{x >= 0} psi_k(x) / (2N) of the deep-linear MSE problem (no bias), 50 digits."""
    n = [mpmath.mpf(c) for c in counts]
    N = mpmath.fsum(n)
    M = depth
    b = M * N * (N * mpmath.mpf(lam_h) * mpmath.mpf(lam) ** M) ** (mpmath.mpf(1) / M)
    total = mpmath.mpf(0)
    for nk in n:
        psi = lambda x, nk=nk: nk / (x**M + 1) + b * x  # noqa: E731
        dpsi = lambda u, nk=nk: -nk * M * mpmath.exp((M - 1) * u) / (mpmath.exp(M * u) + 1) ** 2 + b  # u = log x
        u0 = (mpmath.log(M * nk) - mpmath.log(b)) / (M + 1)  # the large-x asymptote of the stationary point
        try:
            u = mpmath.findroot(lambda u, dpsi=dpsi: dpsi(u) / b, u0)
            best = min(psi(mpmath.exp(u)), nk)
        except (ValueError, ZeroDivisionError):
            best = nk
        total += best
    return total / (2 * N)


@pytest.mark.parametrize(("counts", "depth", "lam"), [([3, 2], 2, 1e-300), ([3, 2], 1, 1e-300), ([5, 1, 2], 3, 1e-200),
                                                      ([3, 2], 2, 1e-3), ([1e300, 1e300], 2, 1e-100)])
def test_deep_linear_closed_form_at_extreme_decays_and_counts(counts, depth, lam):
    # issue #12: the closed forms returned NaN at large lambda or counts (b_M overflowed, psi(0) = n + inf * 0)
    sol = deep_linear_minimizer(counts, depth, lam, lam)
    ref = _mp_deep_linear_objective(counts, depth, lam, lam)
    assert sol.objective == pytest.approx(float(ref), rel=1e-9)
    for v in (sol.product_sq_singular_values, sol.class_mean_norms, sol.layer_singular_values):
        assert np.all(np.isfinite(v))


@pytest.mark.parametrize("lam", [1e100, 1e300, 1.7e308])
def test_deep_linear_closed_form_at_huge_decays_collapses_without_nan(lam):
    sol = deep_linear_minimizer([3, 2], 2, lam, lam)
    assert sol.objective == 0.5 and np.all(sol.collapsed)
    sol = deep_linear_minimizer([1e300, 1e300], 3, lam, lam, bias=True)
    assert sol.objective == pytest.approx(0.25, rel=1e-12) and np.all(np.isfinite(sol.layer_class_mean_norms))


def test_thresholds_for_huge_depths():
    tau, rho = deep_linear_thresholds(2**63)
    m = mpmath.mpf(2**63)
    xp = ((m - 1) / (m + 1)) ** (1 / m)
    assert tau == pytest.approx(float((m - 1) ** ((m - 1) / m) / m), rel=1e-12)
    assert rho == pytest.approx(float(m * xp ** (m - 1) / (xp**m + 1) ** 2), rel=1e-12)
    tau, rho = deep_linear_thresholds(10**400)
    assert tau == 1.0 and rho == np.inf  # rho ~ M/4 is beyond the float range


@pytest.mark.parametrize("init", ["zeros", 3, object()])
def test_fit_deep_linear_refuses_a_wrong_init(init):
    # issue #12: init='zeros' raised AttributeError
    with pytest.raises(TypeError, match="init"):
        fit_deep_linear([2, 2], 2, 1, 0.1, 0.1, seed=0, init=init)


def test_ufm_minimizer_with_extreme_decay_ratio():
    m = ufm_minimizer(2, 1, 2, 1e-20, 1e49)  # lam_h / lam_w overflows; c = sqrt(1e29) >= 1: zero minimiser
    assert m.collapsed_to_zero and np.all(m.W == 0)
    m = ufm_minimizer(2, 1, 2, 1e-40, 1e-30)
    assert np.all(np.isfinite(m.W)) and np.all(np.isfinite(m.H))
    rho = mpmath.mpf(1) - mpmath.sqrt(mpmath.mpf(1e-40) * mpmath.mpf(1e-30))
    assert m.rho == pytest.approx(float(rho * mpmath.sqrt(mpmath.mpf(1e-40) / mpmath.mpf(1e-30))), rel=1e-14)


def test_energy_split_is_scale_free():
    rng = np.random.default_rng(1)
    F = rng.normal(size=(4, 4))
    ref = intra_inter_energy(F, 2, 2, 1, n_draws=50, seed=3)
    big = intra_inter_energy(F * 2.0**1000, 2, 2, 1, n_draws=50, seed=3)
    assert big.inter_share == pytest.approx(ref.inter_share, rel=1e-12)
    assert big.intra_gain == np.inf  # true value ~ 2^2000, beyond the float range


def test_perturbation_spectrum_with_subnormal_decay():
    s = perturbation_spectrum(2, 4, 4, 2.2e-313, 1e-3, 1.0)
    assert not np.any(np.isnan(s.values))
