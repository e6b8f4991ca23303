"""Issue #12 regressions: the silent wrong results reported for the softmax family and the comp-sum
functions at extreme arguments, against 50-digit mpmath references.

Tolerances: the references are exact to ~1e-50; the float64 results are allowed a few hundred ulps
(1e-13 relative), which a formulation that cancels (log where log1p is needed, an overflowing power)
misses by many orders of magnitude at these arguments (the reported errors were O(1) to 1e2).
"""

from __future__ import annotations

import math

import mpmath as mp
import numpy as np
import pytest

from lossbook.consistency import (
    best_conditional_risk,
    best_conditional_softmax,
    bound_gamma,
    bound_T,
    comp_sum_loss,
)
from lossbook.losses import log_softmax, softmax

mp.mp.dps = 50
RTOL = 1e-13


@pytest.mark.parametrize("offset", [1e12, 1e16, 1e300, -1e300])
def test_softmax_of_equal_scores_at_a_huge_offset_is_uniform(offset):
    z = np.array([offset, offset, offset])
    np.testing.assert_allclose(softmax(z), np.full(3, 1 / 3), rtol=RTOL)
    np.testing.assert_allclose(log_softmax(z), np.full(3, -math.log(3)), rtol=RTOL)


def test_softmax_at_offset_1e12_keeps_the_small_differences():
    z = 1e12 + np.array([0.0, 1.0, 2.0])  # exactly representable: spacing of floats near 1e12 is 1.2e-4
    ref = [mp.mpf(v) - mp.log(mp.fsum(mp.e ** (mp.mpf(u) - 2) for u in (0, 1, 2))) - 2 for v in (0, 1, 2)]
    np.testing.assert_allclose(log_softmax(z), [float(r) for r in ref], rtol=RTOL)


def test_comp_sum_logistic_loss_of_a_tie_at_a_huge_offset_is_log_2():
    assert comp_sum_loss([[1e16, 1e16]], [0], 1.0)[0] == pytest.approx(math.log(2), rel=RTOL)


def _ref_T(t, tau, n):
    t, tau = mp.mpf(t), mp.mpf(tau)
    if tau >= 2:
        return t / ((tau - 1) * mp.mpf(n) ** (tau - 1))
    if tau == 1:
        return ((1 - t) * mp.log(1 - t) + (1 + t) * mp.log(1 + t)) / 2
    scale = 2 ** (1 - tau) if tau < 1 else mp.mpf(n) ** (1 - tau)
    m = (((1 + t) ** (1 / (2 - tau)) + (1 - t) ** (1 / (2 - tau))) / 2) ** (2 - tau)
    return scale * (m - 1) / (tau - 1)


@pytest.mark.parametrize("tau", [1.9995, 1.99999, 1.9999999, 2.0, 2.5])
@pytest.mark.parametrize("t", [1e-8, 0.3, 1.0])
def test_bound_T_near_and_above_tau_2_is_finite_and_accurate(tau, t):
    got = float(bound_T(t, tau, 10))
    assert math.isfinite(got)
    assert got == pytest.approx(float(_ref_T(t, tau, 10)), rel=1e-10)


@pytest.mark.parametrize("tau", [1.9995, 1.99999, 2.0])
def test_bound_gamma_inverts_bound_T_near_tau_2(tau):
    t = np.array([1e-6, 0.01, 0.4])
    np.testing.assert_allclose(bound_gamma(bound_T(t, tau, 10), tau, 10), t, rtol=1e-9)


def _ref_cstar(p, tau):
    p = [mp.mpf(v) for v in p]
    p = [v / mp.fsum(p) for v in p]
    if tau == 1:
        return -mp.fsum(v * mp.log(v) for v in p if v > 0)
    a = 1 / (2 - mp.mpf(tau))
    return (mp.fsum(v ** a for v in p) ** (2 - mp.mpf(tau)) - 1) / (1 - mp.mpf(tau))


@pytest.mark.parametrize("tau", [1.0 - 1e-6, 1.0 - 1e-9, 1.0 + 1e-9, 1.0 + 1e-6, 0.9, 1.1])
@pytest.mark.parametrize("eps", [1e-6, 1e-12])
def test_best_conditional_risk_near_tau_1_and_one_hot_p_keeps_relative_accuracy(tau, eps):
    p = np.array([1.0 - 2 * eps, eps, eps])
    ref = _ref_cstar(p.tolist(), tau)
    assert float(best_conditional_risk(p, tau)) == pytest.approx(float(ref), rel=1e-10)


@pytest.mark.parametrize("tau", [1.99, 1.9999, 1.999999, 1.99999999])
def test_best_conditional_softmax_near_tau_2_matches_the_reference(tau):
    # s_y = p_y^a / sum p^a with a = 1/(2 - tau) up to 1e8: the minor entries underflow to 0 correctly
    p = [0.5, 0.3, 0.2]
    a = 1 / (2 - mp.mpf(tau))
    ref = [float(v ** a / mp.fsum(u ** a for u in p)) for v in p]
    s = best_conditional_softmax(np.array(p), tau)
    assert np.all(np.isfinite(s))
    np.testing.assert_allclose(s, ref, rtol=1e-9, atol=1e-300)
