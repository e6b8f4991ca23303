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


def _m_minus_one(t: np.ndarray, tau: float) -> np.ndarray:
    """``M_tau(t) - 1`` without cancellation for small ``t`` or ``tau`` near 1."""
    a = 1.0 / (2.0 - tau)
    with np.errstate(divide="ignore"):
        lm = np.log1p(-t)  # -inf at t = 1, and then expm1(-inf) = -1 exactly
    mean_minus_one = 0.5 * (np.expm1(a * np.log1p(t)) + np.expm1(a * lm))
    return np.expm1((2.0 - tau) * np.log1p(mean_minus_one))


def _bound_T_unchecked(t: np.ndarray, tau: float, n: int) -> np.ndarray:
    if abs(tau - 1.0) < TAU_ONE_TOL:
        return xlog1py((1.0 + t) / 2.0, t) + xlog1py((1.0 - t) / 2.0, -t)
    if tau >= 2.0:
        return t / ((tau - 1.0) * float(n) ** (tau - 1.0))
    scale = 2.0 ** (1.0 - tau) if tau < 1.0 else float(n) ** (1.0 - tau)
    return scale * _m_minus_one(t, tau) / (tau - 1.0)


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

    Computed by vectorised bisection on ``[0, 1]`` (``T_tau`` is increasing), 64 halvings, so
    the result is exact to about ``1e-16`` in ``t``; ``tau >= 2`` uses the closed form
    ``min(1, (tau - 1) n^(tau - 1) s)``.

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
        return np.minimum(1.0, (tau - 1.0) * float(n) ** (tau - 1.0) * s)
    top = float(_bound_T_unchecked(np.array(1.0), tau, n))
    lo = np.zeros_like(s)
    hi = np.ones_like(s)
    for _ in range(64):
        mid = 0.5 * (lo + hi)
        below = _bound_T_unchecked(mid, tau, n) < s
        lo = np.where(below, mid, lo)
        hi = np.where(below, hi, mid)
    return np.where(s >= top, 1.0, 0.5 * (lo + hi))


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
    if abs(tau - 1.0) < TAU_ONE_TOL:
        return 0.5
    if tau < 1.0:
        return 2.0 ** (-tau) / (2.0 - tau)
    return 1.0 / (2.0 * (2.0 - tau) * float(n) ** (tau - 1.0))


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
    return np.minimum(1.0, np.sqrt(s / quadratic_coefficient(tau, n)))


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
        Number of classes, ``n >= 2``.
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
        Number of classes, ``n >= 2``.
    seed : int, SeedSequence or Generator
        Source of randomness for differential evolution (required).
    maxiter : int
        Differential-evolution generations, ``>= 1``.
    max_gap : float
        Largest score gap below the predicted label, ``> 0``.

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
    t = check_real(t, "t", low=0.0, high=1.0, high_open=True)
    maxiter = check_int(maxiter, "maxiter", low=1)
    max_gap = check_real(max_gap, "max_gap", low=0.0, low_open=True)
    rng = as_generator(seed)

    def unpack(x):
        a = x[0] * (1.0 - t) / 2.0
        rest = 1.0 - 2.0 * a - t
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
