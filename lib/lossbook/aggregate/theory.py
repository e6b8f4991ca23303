"""Asymptotic bias and variance of the interpolating estimator (chapter ``book/feedback/aggregate-responses``).

Proportional regime: ``n, d -> infinity`` with ``d/n -> gamma`` and bag size ``k`` fixed, isotropic
Gaussian design, random bags. With ``a = gamma k`` (``= d/m``) and ``q = gamma k/(k - 1)``
(``= d/(n - m)``) the excess risk ``||theta_hat - theta_0||^2`` of
``theta_hat_rho = (U^T U + rho Z^T Z)^{-1} U^T v`` tends to ``bias + variance`` given by the fixed
point :eq:`agg-fixed-point` and :eq:`agg-risk-general`, derived in the chapter (the paper's own
theorem could not be read).
"""

from __future__ import annotations

import math
from typing import NamedTuple

from scipy.optimize import brentq, minimize_scalar

from .._validate import check_int, check_real

__all__ = [
    "BagRisk",
    "OptimalRho",
    "bag_regression_risk",
    "fixed_point_t",
    "instance_risk_closed_form",
    "mp_resolvent_moments",
    "optimal_rho",
]


class BagRisk(NamedTuple):
    """Asymptotic excess risk ``bias + variance`` of the interpolating estimator."""

    bias: float
    variance: float

    @property
    def risk(self) -> float:
        """``bias + variance``."""
        return self.bias + self.variance


class OptimalRho(NamedTuple):
    """The weight ``rho`` in ``[0, 1]`` minimising the asymptotic risk, and the risk there."""

    rho: float
    risk: float
    bias: float
    variance: float


def _mp_f_h(t: float, q: float) -> tuple[float, float]:
    """``f(t) = E 1/(1 + t s)`` and ``h(t) = E 1/(1 + t s)^2`` for ``s ~ MP(q)`` (unit-mean law).

    ``f`` is the closed form of :eq:`agg-mp-f` written as ``2/(b + D)`` with ``b = 1 + t(1 - q)`` and
    ``D = sqrt(b^2 + 4 q t)``: this form has no cancellation when ``b >= 0`` (always for ``q <= 1``);
    for ``b < 0`` the textbook form ``(D - b)/(2 q t)`` adds two positive numbers and is used instead.
    ``h = f + t f'`` with ``f'`` differentiated analytically.
    """
    if t == 0.0:
        return 1.0, 1.0
    b = 1.0 + t * (1.0 - q)
    D = math.sqrt(b * b + 4.0 * q * t)
    db = 1.0 - q
    dD = (b * db + 2.0 * q) / D
    if b >= 0.0:
        f = 2.0 / (b + D)
        fp = -2.0 * (db + dD) / (b + D) ** 2
    else:
        f = (D - b) / (2.0 * q * t)
        fp = ((dD - db) * t - (D - b)) / (2.0 * q * t * t)
    return f, f + t * fp


def mp_resolvent_moments(t, q):
    """Moments ``f(t) = E[1/(1+ts)]`` and ``h(t) = E[1/(1+ts)^2]`` of the Marchenko-Pastur law.

    ``s`` follows the Marchenko-Pastur law with ratio ``q`` and unit mean (the limit spectrum of
    ``Z^T Z / N`` for an ``N x d`` standard Gaussian ``Z`` with ``d/N -> q``); ``f`` is eq.
    :eq:`agg-mp-f` of the chapter, in a form without cancellation for small ``t``.

    Parameters
    ----------
    t : float
        Argument, ``t >= 0``.
    q : float
        Aspect ratio, ``q > 0`` (``q > 1`` puts an atom of mass ``1 - 1/q`` at zero).

    Returns
    -------
    (float, float)
        ``f(t)`` and ``h(t)``.

    Raises
    ------
    ValueError
        If ``t < 0`` or ``q <= 0``.

    Examples
    --------
    >>> f, h = mp_resolvent_moments(0.0, 0.5)
    >>> (f, h)
    (1.0, 1.0)
    >>> f, h = mp_resolvent_moments(1e-9, 0.5)   # f = 1 - t E[s] + ..., and E[s] = 1
    >>> round((1 - f) / 1e-9, 6)
    1.0
    """
    t = check_real(t, "t", low=0.0)
    q = check_real(q, "q", low=0.0, low_open=True)
    return _mp_f_h(t, q)


def _check_kgr(k, gamma, rho) -> tuple[int, float, float]:
    k = check_int(k, "k", low=1)
    gamma = check_real(gamma, "gamma", low=0.0, low_open=True)
    rho = check_real(rho, "rho", low=0.0, high=1.0)
    if rho > 0.0 and gamma >= 1.0 and k > 1:
        raise ValueError(
            f"gamma must lie in (0, 1) when rho > 0 (U^T U + rho Z^T Z is singular for d >= n), got {gamma!r}")
    if k == 1 and gamma == 1.0 or k > 1 and rho == 0.0 and gamma * k == 1.0:
        raise ValueError(
            f"gamma * k must differ from 1 when rho = 0 (the bag-level risk diverges there), got {gamma * k!r}")
    return k, gamma, rho


def fixed_point_t(k, gamma, rho) -> float:
    """Solve :eq:`agg-fixed-point`, ``t (1 - a f(t)) = rho (k - 1)``, for ``t* > 0``.

    Parameters
    ----------
    k : int
        Bag size, ``k >= 2``.
    gamma : float
        ``d/n`` in ``(0, 1)``.
    rho : float
        Weight of the within-bag penalty, in ``(0, 1]``.

    Returns
    -------
    float
        The root ``t*``. The left side ``g(t) = t (1 - a f(t))`` has ``g(0) = 0`` and
        ``g'(t) = 1 - a h(t)``; the root lies where ``g`` increases, bracketed by
        ``[rho (k-1), rho (k-1)/(1 - a)]`` when ``a < 1`` (because ``1 - a <= 1 - a f <= 1``), and
        found by doubling an upper end from the zero of ``1 - a f`` otherwise. ``brentq`` runs with a
        relative tolerance, so ``t*`` is accurate for ``rho`` down to ``1e-300``.

    Raises
    ------
    ValueError
        If an argument is outside its range.

    Examples
    --------
    >>> t = fixed_point_t(4, 0.2, 0.3)
    >>> a, q = 0.8, 0.8 / 3
    >>> f, _ = mp_resolvent_moments(t, q)
    >>> bool(abs(t * (1 - a * f) - 0.3 * 3) < 1e-12)
    True
    """
    k = check_int(k, "k", low=2)
    gamma = check_real(gamma, "gamma", low=0.0, high=1.0, low_open=True, high_open=True)
    rho = check_real(rho, "rho", low=0.0, high=1.0, low_open=True)
    return _fixed_point_t(k, gamma, rho)


def _fixed_point_t(k: int, gamma: float, rho: float) -> float:
    a = gamma * k
    q = gamma * k / (k - 1)
    target = rho * (k - 1)

    def g(t: float) -> float:
        return t * (1.0 - a * _mp_f_h(t, q)[0]) - target

    if a < 1.0:
        lo, hi = target, target / (1.0 - a)
    else:
        # 1 - a f(t) < 0 below t0 where a f(t0) = 1; g increases beyond t0 (g' = 1 - a h > 0 there)
        t0_hi = 1.0
        while a * _mp_f_h(t0_hi, q)[0] >= 1.0:
            t0_hi *= 2.0
        t0 = brentq(lambda t: a * _mp_f_h(t, q)[0] - 1.0, 0.0, t0_hi, xtol=1e-300, rtol=1e-15)
        lo, hi = t0, 2.0 * t0 + target
        while g(hi) <= 0.0:
            hi *= 2.0
    if g(lo) >= 0.0:
        return lo
    if g(hi) <= 0.0:
        return hi
    return brentq(g, lo, hi, xtol=1e-300, rtol=1e-15, maxiter=500)


def bag_regression_risk(k, gamma, rho, *, r2=1.0, sigma2=1.0) -> BagRisk:
    """Asymptotic bias and variance of ``theta_hat_rho = (U^T U + rho Z^T Z)^{-1} U^T v``.

    Implements :prf:ref:`agg-thm-risk` (eqs. :eq:`agg-fixed-point` and :eq:`agg-risk-general`): with
    ``a = gamma k``, ``q = gamma k/(k-1)``, ``t*`` the root of ``t (1 - a f(t)) = rho (k - 1)`` and
    ``h = E(1 + t* s)^{-2}``, ``bias = r2 (1 - 2 f + h)/(1 - a h)`` and
    ``variance = sigma2 a h/(1 - a h)``. ``rho = 0`` is the bag-level estimator (least squares on
    the ``m = n/k`` bag means, minimum-norm when ``gamma k > 1``; :eq:`agg-risk-bag`), ``rho = 1`` the
    instance-level one (:eq:`agg-risk-instance`). ``k = 1`` (no aggregation) is least squares on all
    ``n`` samples whatever ``rho``. Derived in the chapter for an isotropic Gaussian design, random
    bags of equal size and ``||theta_0||^2 = r2``; the paper's parametrisation could not be checked.
    The derivation assumes ``q = gamma k/(k - 1) < 1``; for ``q >= 1`` (with ``gamma < 1``) the same
    formula is returned and agrees with simulation in the chapter's table, but it is not derived there.

    Parameters
    ----------
    k : int
        Bag size, ``k >= 1``.
    gamma : float
        Limit of ``d/n``, ``gamma > 0``; ``gamma < 1`` is required when ``rho > 0`` and ``k > 1``,
        and ``gamma k != 1`` when ``rho = 0``.
    rho : float
        Weight of the within-bag penalty, ``0 <= rho <= 1``.
    r2 : float, optional
        Signal strength ``||theta_0||^2 >= 0``.
    sigma2 : float, optional
        Noise variance ``>= 0`` of each response (for label-DP, the effective variance of
        :func:`~lossbook.aggregate.dp_effective_noise`).

    Returns
    -------
    BagRisk
        ``(bias, variance)``; ``.risk`` is their sum.

    Raises
    ------
    ValueError, TypeError
        If an argument is outside its range or of the wrong type.

    Examples
    --------
    >>> r = bag_regression_risk(4, 0.2, 1.0)          # instance level: bias -> (1 - 1/k)^2 + ...
    >>> round(r.bias, 4), round(r.variance, 4)
    (0.6094, 0.0625)
    >>> bag_regression_risk(4, 0.2, 0.0).bias           # bag level: unbiased when gamma k < 1
    0.0
    """
    k, gamma, rho = _check_kgr(k, gamma, rho)
    r2 = check_real(r2, "r2", low=0.0)
    sigma2 = check_real(sigma2, "sigma2", low=0.0)
    if k == 1:
        return _ols_risk(gamma, r2, sigma2)
    if rho == 0.0:
        return _ols_risk(gamma * k, r2, sigma2)
    a = gamma * k
    q = gamma * k / (k - 1)
    t = _fixed_point_t(k, gamma, rho)
    f, h = _mp_f_h(t, q)
    denom = 1.0 - a * h
    # 1 - 2 f + h = E[(t s)^2/(1 + t s)^2] >= 0; evaluated as such when t s is small to avoid cancellation
    num_bias = 1.0 - 2.0 * f + h
    if t < 1e-4:
        num_bias = _small_t_bias_numerator(t, q)
    return BagRisk(r2 * num_bias / denom, sigma2 * a * h / denom)


def _small_t_bias_numerator(t: float, q: float) -> float:
    """``E[(ts)^2/(1+ts)^2]`` for small ``t`` from the MP moments ``E s^j`` (Narayana polynomials)."""
    # E s^2 = 1 + q, E s^3 = 1 + 3q + q^2, E s^4 = 1 + 6q + 6q^2 + q^3; series of x^2/(1+x)^2 = x^2 - 2x^3 + 3x^4
    m2, m3, m4 = 1.0 + q, 1.0 + 3.0 * q + q * q, 1.0 + 6.0 * q + 6.0 * q * q + q**3
    return t * t * (m2 - 2.0 * t * m3 + 3.0 * t * t * m4)


def _ols_risk(a: float, r2: float, sigma2: float) -> BagRisk:
    """Least squares (minimum norm when ``a > 1``) with ``d/N -> a``: eq. :eq:`agg-risk-bag`."""
    if a < 1.0:
        return BagRisk(0.0, sigma2 * a / (1.0 - a))
    return BagRisk(r2 * (1.0 - 1.0 / a), sigma2 / (a - 1.0))


def instance_risk_closed_form(k, gamma, *, r2=1.0, sigma2=1.0) -> BagRisk:
    """Closed form :eq:`agg-risk-instance` of the instance-level risk (``rho = 1``).

    ``bias = r2 [beta^2 + gamma beta (1 - beta)/(1 - gamma)]`` with ``beta = 1 - 1/k`` and
    ``variance = sigma2 gamma/(k (1 - gamma))``; derived in the chapter (:prf:ref:`agg-cor-instance`).

    Parameters
    ----------
    k : int
        Bag size, ``k >= 1``.
    gamma : float
        ``d/n`` in ``(0, 1)``.
    r2, sigma2 : float, optional
        Signal strength and noise variance, both ``>= 0``.

    Returns
    -------
    BagRisk

    Raises
    ------
    ValueError, TypeError
        If an argument is outside its range.

    Examples
    --------
    >>> r = instance_risk_closed_form(4, 0.2)
    >>> round(r.bias, 6), r.variance
    (0.609375, 0.0625)
    """
    k = check_int(k, "k", low=1)
    gamma = check_real(gamma, "gamma", low=0.0, high=1.0, low_open=True, high_open=True)
    r2 = check_real(r2, "r2", low=0.0)
    sigma2 = check_real(sigma2, "sigma2", low=0.0)
    beta = 1.0 - 1.0 / k
    return BagRisk(r2 * (beta * beta + gamma * beta * (1.0 - beta) / (1.0 - gamma)),
                   sigma2 * gamma / (k * (1.0 - gamma)))


def optimal_rho(k, gamma, *, r2=1.0, sigma2=1.0) -> OptimalRho:
    """Minimise the asymptotic risk :func:`bag_regression_risk` over ``rho`` in ``[0, 1]``.

    A bounded scalar search (``scipy.optimize.minimize_scalar``, absolute tolerance ``1e-6`` in
    ``rho``) compared with the two end points; the risk is smooth in ``rho`` on ``(0, 1]``, and its
    unimodality is observed on the chapter's grids, not proved, so the interior minimum returned is
    the best of the search and the ends.

    Parameters
    ----------
    k : int
        Bag size, ``k >= 2``.
    gamma : float
        ``d/n`` in ``(0, 1)``.
    r2, sigma2 : float, optional
        Signal strength and noise variance, both ``>= 0``.

    Returns
    -------
    OptimalRho
        ``(rho, risk, bias, variance)`` at the minimiser.

    Raises
    ------
    ValueError, TypeError
        If an argument is outside its range. At ``gamma k = 1`` the ``rho = 0`` end has infinite risk and
        is skipped.

    Examples
    --------
    >>> o = optimal_rho(4, 0.1)
    >>> bool(0.0 < o.rho < 1.0)
    True
    """
    k = check_int(k, "k", low=2)
    gamma = check_real(gamma, "gamma", low=0.0, high=1.0, low_open=True, high_open=True)
    r2 = check_real(r2, "r2", low=0.0)
    sigma2 = check_real(sigma2, "sigma2", low=0.0)

    def risk(rho: float) -> float:
        if rho == 0.0 and gamma * k == 1.0:
            return math.inf   # the bag-level variance diverges at gamma k = 1
        return bag_regression_risk(k, gamma, rho, r2=r2, sigma2=sigma2).risk

    res = minimize_scalar(risk, bounds=(0.0, 1.0), method="bounded", options={"xatol": 1e-6})
    cands = [(float(res.fun), float(res.x)), (risk(0.0), 0.0), (risk(1.0), 1.0)]
    best_risk, best_rho = min(cands)
    r = bag_regression_risk(k, gamma, best_rho, r2=r2, sigma2=sigma2)
    return OptimalRho(best_rho, float(best_risk), r.bias, r.variance)


