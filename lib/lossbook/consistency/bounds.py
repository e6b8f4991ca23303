"""H-consistency bound functions of the comp-sum losses with respect to the zero-one loss.

For ``t in [0, 1]`` let ``a = 1 / (2 - tau)`` and ``M_tau(t) = (((1 + t)^a + (1 - t)^a) / 2)^(2 - tau)``
(a power mean of ``1 + t`` and ``1 - t``). The bound function of the chapter's main theorem
(:prf:ref:`thm-csh-main`; derived in the chapter, the paper's exact statement could not be read) is

    T_tau(t) = 2^(1-tau) (1 - M_tau(t)) / (1 - tau)                      tau in [0, 1)
             = (1+t)/2 log(1+t) + (1-t)/2 log(1-t)                     tau = 1
             = (M_tau(t) - 1) / ((tau - 1) n^(tau - 1))                  tau in (1, 2)
             = t / ((tau - 1) n^(tau - 1))                               tau >= 2

and ``Gamma_tau = T_tau^{-1}`` (set to 1 where the bound is vacuous).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from scipy.optimize import differential_evolution
from scipy.special import xlog1py

from .._rng import SeedLike, as_generator
from .._validate import check_array, check_int, check_real
from .comp_sum import TAU_ONE_TOL, best_conditional_risk, conditional_risk, zero_one_regret

__all__ = [
    "TightInstance",
    "TransformSearch",
    "bound_T",
    "bound_gamma",
    "quadratic_coefficient",
    "sqrt_bound",
    "tight_instance",
    "transform_search",
]


def _check_tau_n(tau, n) -> tuple[float, int]:
    return check_real(tau, "tau", low=0.0), check_int(n, "n", low=2)


#: delta log(1 + t) above which M_tau(t) - 1 is formed from the asymptotic (large a) expression
_FORM_B = 30.0
#: |x| below which expm1(x) - x is summed from its Taylor series (relative error below 1e-17)
_G_SERIES = 0.1
_G_COEF = tuple(1.0 / math.factorial(k + 2) for k in range(12))  # expm1(x) - x = x^2 sum_k x^k / (k+2)!


def _expm1_minus_x(x: np.ndarray) -> np.ndarray:
    """``expm1(x) - x`` (>= 0) without the cancellation of the direct difference for small ``x``."""
    x = np.asarray(x, dtype=np.float64)
    small = np.abs(x) < _G_SERIES
    xs = np.where(small, x, 0.0)
    h = np.zeros_like(xs)
    for c in reversed(_G_COEF):
        h = h * xs + c
    with np.errstate(over="ignore"):
        direct = np.expm1(np.where(small, 0.0, x)) - np.where(small, 0.0, x)
    return np.where(small, xs * xs * h, direct)


def _t1(t: np.ndarray) -> np.ndarray:
    """``T_1(t) = ((1+t) log(1+t) + (1-t) log(1-t)) / 2``, relatively accurate for every ``t`` in [0, 1].

    Below ``t = 1/2`` as ``t atanh(t) + log1p(-t^2)/2`` (the terms are about ``t^2`` and ``-t^2/2``:
    no cancellation, where the defining form subtracts two ``O(t)`` terms to leave ``t^2/2``).
    """
    t = np.asarray(t, dtype=np.float64)
    lo = t < 0.5
    tl = np.where(lo, t, 0.0)
    th = np.where(lo, 1.0, t)
    small = tl * np.arctanh(tl) + 0.5 * np.log1p(-tl * tl)
    big = xlog1py((1.0 + th) / 2.0, th) + xlog1py((1.0 - th) / 2.0, -th)
    return np.where(lo, small, big)


def _m_minus_one(t: np.ndarray, tau: float) -> np.ndarray:
    """``M_tau(t) - 1`` with ``M_tau(t) = (((1+t)^a + (1-t)^a)/2)^(2 - tau)``, ``a = 1/(2 - tau)``, tau in [0, 2).

    With ``delta = a - 1`` and the weights ``w = (1 +- t)/2`` (which sum to 1),
    ``((1+t)^a + (1-t)^a)/2 = 1 + S``, ``S = delta T_1(t) + w+ g(delta log1p t) + w- g(delta log1p(-t))``
    where ``g(x) = expm1(x) - x >= 0`` (:func:`_expm1_minus_x`); then ``M - 1 = expm1((2 - tau) log1p S)``.
    This is relatively accurate for small ``t`` and for ``tau`` near 1. Near ``tau = 2`` (``delta log(1+t)``
    above 30, where ``(1+t)^a`` would overflow) the equivalent
    ``M - 1 = expm1(log1p t + (2 - tau) (log1p(r^a) - log 2))``, ``r = (1-t)/(1+t)``, is used.
    """
    t = np.asarray(t, dtype=np.float64)
    a = 1.0 / (2.0 - tau)
    delta = (tau - 1.0) / (2.0 - tau)
    inner = t < 1.0
    up = np.log1p(t)
    um = np.log1p(-np.where(inner, t, 0.0))  # log(1 - t); the t = 1 entries are masked
    form_b = delta * up > _FORM_B
    wm_term = np.where(inner, 0.5 * (1.0 - t) * _expm1_minus_x(np.where(form_b, 0.0, delta * um)), 0.0)
    S = delta * _t1(t) + 0.5 * (1.0 + t) * _expm1_minus_x(np.where(form_b, 0.0, delta * up)) + wm_term
    out_a = np.expm1((2.0 - tau) * np.log1p(S))
    ra = np.where(inner, np.exp(a * (um - up)), 0.0)
    out_b = np.expm1(up + (2.0 - tau) * (np.log1p(ra) - math.log(2.0)))
    return np.where(form_b, out_b, out_a)


def _log_n(n: int) -> float:
    return math.log(n)  # exact for Python ints of any size (no float(n) overflow)


def _linear_scale(tau: float, n: int) -> float | None:
    """``(tau - 1) n^(tau - 1)`` for ``tau >= 2`` when it is a normal float (exact products), else None."""
    try:
        k = (tau - 1.0) * math.pow(n, tau - 1.0)
    except OverflowError:
        return None
    return k if 0.0 < k < math.inf else None


def _bound_T_unchecked(t: np.ndarray, tau: float, n: int) -> np.ndarray:
    if abs(tau - 1.0) < TAU_ONE_TOL:
        return _t1(t)
    if tau >= 2.0:
        # t / ((tau - 1) n^(tau - 1)); in logs when a factor would overflow (large tau or n)
        k = _linear_scale(tau, n)
        if k is not None:
            return t / k
        return t * math.exp(-(math.log(tau - 1.0) + (tau - 1.0) * _log_n(n)))
    log_scale = (1.0 - tau) * (math.log(2.0) if tau < 1.0 else _log_n(n))
    return math.exp(log_scale) * _m_minus_one(t, tau) / (tau - 1.0)


def bound_T(t, tau: float, n: int) -> np.ndarray:
    """Bound function ``T_tau(t)`` of the comp-sum H-consistency bound (eq. ``csh-T``).

    ``T_tau(Delta C_{0-1}) <= Delta C_{ell^tau}`` pointwise for symmetric complete hypothesis
    sets (theorem :prf:ref:`thm-csh-main` of the chapter, derived there; the paper's own statement
    could not be read and is not confirmed).

    Parameters
    ----------
    t : array_like
        Zero-one calibration gaps in ``[0, 1]``.
    tau : float
        ``tau >= 0``.
    n : int
        Number of classes, ``n >= 2`` (only ``tau > 1`` depends on it).

    Returns
    -------
    numpy.ndarray
        ``T_tau(t)``; increasing and convex in ``t`` with ``T_tau(0) = 0``.

    Examples
    --------
    >>> import numpy as np
    >>> t = np.array([0.0, 0.6, 1.0])
    >>> bool(np.allclose(bound_T(t, 0.0, 5), 1 - np.sqrt(1 - t**2)))   # sum-exponential
    True
    >>> float(bound_T(1.0, 1.0, 10))                                    # logistic: log 2
    0.6931471805599453
    >>> float(bound_T(0.5, 2.0, 10))                                    # MAE: t / n
    0.05
    """
    tau, n = _check_tau_n(tau, n)
    t = check_array(t, "t", low=0.0, high=1.0)
    return _bound_T_unchecked(t, tau, n)


def bound_gamma(s, tau: float, n: int) -> np.ndarray:
    """Inverse bound ``Gamma_tau(s) = T_tau^{-1}(s)``, and 1 where ``s >= T_tau(1)`` (vacuous).

    Computed by vectorised bisection on ``log t`` over ``[log 1e-320, 0]`` (``T_tau`` is increasing),
    64 halvings, so the result has a relative error of about ``1e-16`` even where ``Gamma_tau(s)`` is
    tiny; ``tau >= 2`` uses the closed form ``min(1, (tau - 1) n^(tau - 1) s)``, formed in logs.

    Parameters
    ----------
    s : array_like
        Surrogate calibration gaps (excess risks), ``s >= 0``.
    tau : float
        ``tau >= 0``.
    n : int
        ``n >= 2``.

    Returns
    -------
    numpy.ndarray
        ``Gamma_tau(s)`` in ``[0, 1]``, non-decreasing and concave in ``s``.

    Examples
    --------
    >>> import numpy as np
    >>> s = np.array([0.0, 0.02, 0.5])
    >>> bool(np.allclose(bound_gamma(s, 0.0, 3), np.sqrt(2 * s - s**2)))
    True
    >>> float(bound_gamma(0.01, 2.0, 10))     # MAE: n s
    0.1
    >>> float(bound_gamma(5.0, 1.0, 10))      # beyond T_1(1) = log 2: vacuous
    1.0
    """
    tau, n = _check_tau_n(tau, n)
    s = check_array(s, "s", low=0.0)
    if tau >= 2.0:
        k = _linear_scale(tau, n)
        if k is not None:
            with np.errstate(over="ignore"):
                return np.minimum(1.0, s * k)
        log_k = math.log(tau - 1.0) + (tau - 1.0) * _log_n(n)
        with np.errstate(divide="ignore", over="ignore"):
            return np.minimum(1.0, np.exp(np.log(s) + log_k))
    top = float(_bound_T_unchecked(np.array(1.0), tau, n))
    lo = np.full_like(s, math.log(1e-320))
    hi = np.zeros_like(s)
    for _ in range(64):
        mid = 0.5 * (lo + hi)
        below = _bound_T_unchecked(np.exp(mid), tau, n) < s
        lo = np.where(below, mid, lo)
        hi = np.where(below, hi, mid)
    out = np.exp(0.5 * (lo + hi))
    return np.where(s >= top, 1.0, np.where(s == 0, 0.0, out))


def quadratic_coefficient(tau: float, n: int) -> float:
    """``c_tau = lim_{t -> 0} T_tau(t) / t^2`` (eq. :eq:`csh-ctau`); 0 for ``tau >= 2`` (linear bound).

    ``2^(-tau) / (2 - tau)`` for ``tau < 1``, ``1/2`` at ``tau = 1`` and
    ``1 / (2 (2 - tau) n^(tau - 1))`` for ``tau in (1, 2)``.

    Parameters
    ----------
    tau : float
        ``tau >= 0``.
    n : int
        Number of classes, ``n >= 2``.

    Returns
    -------
    float
        The coefficient ``c_tau``.

    Examples
    --------
    >>> quadratic_coefficient(0.0, 4), quadratic_coefficient(1.0, 4)
    (0.5, 0.5)
    """
    tau, n = _check_tau_n(tau, n)
    if tau >= 2.0:
        return 0.0
    return math.exp(_log_quadratic_coefficient(tau, n))


def _log_quadratic_coefficient(tau: float, n: int) -> float:
    """``log c_tau`` for ``tau < 2`` (finite even where ``c_tau`` itself under- or overflows)."""
    if abs(tau - 1.0) < TAU_ONE_TOL:
        return math.log(0.5)
    if tau < 1.0:
        return -tau * math.log(2.0) - math.log(2.0 - tau)
    return -math.log(2.0 * (2.0 - tau)) - (tau - 1.0) * _log_n(n)


def sqrt_bound(s, tau: float, n: int) -> np.ndarray:
    """Square-root form ``min(1, sqrt(s / c_tau))`` of ``Gamma_tau`` (:eq:`csh-ctau`), ``tau < 2``.

    It is an upper bound on ``Gamma_tau(s)`` for every ``s`` exactly when
    ``T_tau(t) >= c_tau t^2`` on ``[0, 1]``, which the chapter finds for ``tau <= 4/3`` only;
    near ``s = 0`` it is the leading term of ``Gamma_tau`` for every ``tau < 2``.

    Parameters
    ----------
    s : array_like
        Surrogate calibration gaps, ``s >= 0``.
    tau : float
        ``tau in [0, 2)``.
    n : int
        ``n >= 2``.

    Returns
    -------
    numpy.ndarray
        ``min(1, sqrt(s / c_tau))``.

    Examples
    --------
    >>> float(sqrt_bound(0.02, 1.0, 10))      # sqrt(2 s)
    0.2
    """
    tau, n = _check_tau_n(tau, n)
    if tau >= 2.0:
        raise ValueError(f"tau must lie in [0, 2) for the square-root form, got {tau!r}")
    s = check_array(s, "s", low=0.0)
    with np.errstate(divide="ignore", over="ignore"):
        return np.minimum(1.0, np.exp(0.5 * (np.log(s) - _log_quadratic_coefficient(tau, n))))


class TightInstance(NamedTuple):
    """A conditional distribution and scores whose calibration gaps attain the bound."""

    p: np.ndarray
    scores: np.ndarray


def tight_instance(t: float, tau: float, n: int, *, eps: float = 1e-9, depth: float = 60.0) -> TightInstance:
    """Distribution and scores with ``Delta C_{0-1} = t`` and ``Delta C_tau ≈ T_tau(t)``.

    The construction of :prf:ref:`prop-csh-tight`.

    For ``tau in [0, 1]``: ``p = ((1 - t)/2, (1 + t)/2, 0, ..., 0)`` and scores
    ``(eps, 0, -depth, ..., -depth)``; the surrogate gap exceeds ``T_tau(t)`` by ``O(eps)``
    plus ``O(exp(-depth))``. For ``tau = 2`` (MAE) and ``t <= 1/(n - 1)``:
    ``p = (p_2 - t, p_2, ..., p_2)`` with ``p_2 = (1 + t)/n`` and equal scores (label 0 is predicted
    by the lowest-index tie-break); the gap equals ``t / n`` exactly.

    Parameters
    ----------
    t : float
        Target zero-one gap in ``[0, 1]`` (``[0, 1/(n - 1)]`` for MAE).
    tau : float
        ``tau in [0, 1]`` or ``tau = 2``.
    n : int
        Number of classes, in ``[2, 10**8]``.
    eps : float
        Score lead of the predicted label (``tau <= 1``), ``>= 0``.
    depth : float
        How far below the other labels' scores sit (``tau <= 1``), ``>= 0``.

    Returns
    -------
    TightInstance
        ``(p, scores)``, both of shape ``(n,)``.

    Raises
    ------
    ValueError
        for ``tau`` in ``(1, 2)`` or above 2, where no instance attaining ``T_tau`` is known
        (the chapter shows that ``T_tau`` is then not attained for ``n > 2``), or for MAE with
        ``t > 1/(n - 1)``.

    Examples
    --------
    >>> from lossbook.consistency import conditional_risk, best_conditional_risk
    >>> inst = tight_instance(0.5, 1.0, 4)
    >>> gap = conditional_risk(inst.scores, inst.p, 1.0) - best_conditional_risk(inst.p, 1.0)
    >>> bool(abs(gap - bound_T(0.5, 1.0, 4)) < 1e-8)
    True
    """
    tau, n = _check_tau_n(tau, n)
    n = check_int(n, "n", low=2, high=10**8)  # the instance holds n-vectors
    t = check_real(t, "t", low=0.0, high=1.0)
    eps = check_real(eps, "eps", low=0.0)
    depth = check_real(depth, "depth", low=0.0)
    if tau <= 1.0:
        p = np.zeros(n)
        p[0], p[1] = (1.0 - t) / 2.0, (1.0 + t) / 2.0
        scores = np.full(n, -depth)
        scores[0], scores[1] = eps, 0.0
        return TightInstance(p, scores)
    if tau == 2.0:
        if t > 1.0 / (n - 1):
            raise ValueError(f"t must lie in [0, 1/(n-1)] = [0, {1.0 / (n - 1):.6g}] for the MAE instance, got {t!r}")
        p2 = (1.0 + t) / n
        p = np.full(n, p2)
        p[0] = p2 - t
        return TightInstance(p / p.sum(), np.zeros(n))
    raise ValueError(f"tau must lie in [0, 1] or equal 2 for a tight instance, got {tau!r}")


class TransformSearch(NamedTuple):
    """Result of a numerical search for the exact pointwise transform at one ``t``."""

    value: float          #: smallest surrogate calibration gap found with zero-one gap t
    p: np.ndarray         #: the minimising distribution
    scores: np.ndarray    #: the minimising scores (label 0 predicted)
    bound: float          #: T_tau(t)
    two_label: float      #: the two-label value T_tau(t) with n = 2 (an upper bound on the exact transform)


def transform_search(t: float, tau: float, n: int, *, seed: SeedLike, maxiter: int = 300,
                     max_gap: float = 30.0) -> TransformSearch:
    """Numerically minimise ``Delta C_tau`` over ``(p, h)`` subject to ``Delta C_{0-1} = t``.

    Differential evolution (SciPy) over ``p = (a, a + t, rest)`` and scores ``(0, -g_1, ..., -g_{n-1})``
    with ``g_j in [0, max_gap]``, so label 0 is predicted and label 1 carries ``max p``; a penalty
    keeps the other probabilities at most ``a + t``. The result is an upper estimate of the exact
    transform ``inf {Delta C_tau : Delta C_{0-1} = t}`` (used in the chapter's section on the
    class-count dependence).

    Parameters
    ----------
    t : float
        Prescribed zero-one gap in ``[0, 1)``.
    tau : float
        ``tau >= 0``.
    n : int
        Number of classes, in ``[2, 100]`` (the search runs in ``2n - 3`` dimensions).
    seed : int, SeedSequence or Generator
        Source of randomness for differential evolution (required).
    maxiter : int
        Differential-evolution generations, in ``[1, 10**5]``.
    max_gap : float
        Largest score gap below the predicted label, in ``(0, 700]`` (beyond it the exponential losses
        of ``tau < 1`` overflow, and gaps that large change nothing the search can see).

    Returns
    -------
    TransformSearch
        The smallest surrogate gap found, its ``(p, scores)``, ``T_tau(t)`` and the two-label value.

    Raises
    ------
    RuntimeError
        if the search ends at a point whose zero-one gap is not ``t``.

    Examples
    --------
    >>> r = transform_search(0.3, 1.0, 2, seed=0, maxiter=100)
    >>> bool(abs(r.value - r.bound) < 1e-6)
    True
    """
    tau, n = _check_tau_n(tau, n)
    n = check_int(n, "n", low=2, high=100)  # differential evolution in 2n - 3 dimensions
    t = check_real(t, "t", low=0.0, high=1.0, high_open=True)
    maxiter = check_int(maxiter, "maxiter", low=1, high=10**5)
    max_gap = check_real(max_gap, "max_gap", low=0.0, low_open=True, high=700.0)
    rng = as_generator(seed)

    def unpack(x):
        a = x[0] * (1.0 - t) / 2.0
        rest = max(0.0, 1.0 - 2.0 * a - t)  # -1 ulp when x[0] = 1 would make p negative
        p = np.empty(n)
        p[0], p[1] = a, a + t
        if n > 2:
            w = np.exp(x[1:n - 1] - np.max(x[1:n - 1]))
            p[2:] = rest * w / w.sum()
        else:
            p[1] += rest  # n = 2: a is fixed by t
            p[0] = (1.0 - t) / 2.0
            p[1] = (1.0 + t) / 2.0
        scores = np.concatenate(([0.0], -x[n - 1:]))
        return p / p.sum(), scores

    def objective(x):
        p, h = unpack(x)
        gap = float(conditional_risk(h, p, tau) - best_conditional_risk(p, tau))
        excess = max(0.0, float(np.max(p[2:], initial=0.0) - p[1]))
        return gap + 100.0 * excess

    bounds = [(0.0, 1.0)] + [(-10.0, 10.0)] * (n - 2) + [(0.0, max_gap)] * (n - 1)
    res = differential_evolution(objective, bounds, seed=rng, maxiter=maxiter, tol=1e-12, atol=0.0,
                                 polish=True)
    p, h = unpack(res.x)
    t_b = float(_bound_T_unchecked(np.array(t), tau, n))
    two = float(_bound_T_unchecked(np.array(t), tau, 2))
    value = float(conditional_risk(h, p, tau) - best_conditional_risk(p, tau))
    if abs(float(zero_one_regret(h, p)) - t) > 1e-9:
        raise RuntimeError("transform_search ended at an infeasible point; increase maxiter")
    return TransformSearch(value, p, h, t_b, two)
