"""Minimizability gaps: best conditional risks under restricted hypothesis sets.

The minimizability gap of a loss ``ell`` and hypothesis set ``H`` is
``M_ell(H) = R*_ell(H) - E_x[C*_ell(H, x)]`` (eq. :eq:`csh-gap`): the best risk in the class minus the
expected best *pointwise* risk. It is zero when ``H`` contains every measurable function and can be
positive for, e.g., linear models. This module gives the closed form of ``C*`` for bounded scores
with deterministic labels and the tools to compute the gap of linear models on a finite input space.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from scipy.optimize import minimize

from .._rng import SeedLike, as_generator
from .._validate import check_array, check_int, check_probability_vectors, check_real, check_same_length
from ..losses import log_softmax
from .comp_sum import TAU_ONE_TOL, best_conditional_risk, comp_sum_loss_all_labels

__all__ = [
    "LinearFit",
    "box_best_conditional_risk",
    "fit_linear_population",
    "population_excess_risks",
    "quadratic_posterior_example",
]


def box_best_conditional_risk(bound: float, tau: float, n: int) -> float:
    """Best conditional risk of ``ell^tau`` for a deterministic label, scores in ``[-bound, bound]^n``.

    ``C*_tau = Phi^tau((n - 1) exp(-2 bound))`` (eq. :eq:`csh-box`): the label's score at ``+bound``,
    every other score at ``-bound``. With deterministic labels and a hypothesis set whose scores
    fill the box at every ``x``, the minimizability gap is ``R*_tau(H) - Phi^tau((n - 1) e^{-2 bound})``.

    The argument order ``(variable, tau, n)`` is the one of ``bound_T(t, tau, n)`` and
    ``tight_instance(t, tau, n)``.

    Parameters
    ----------
    bound : float
        Score bound ``Lambda > 0``.
    tau : float
        ``tau >= 0``.
    n : int
        ``n >= 2``.

    Returns
    -------
    float
        ``Phi^tau((n - 1) exp(-2 bound))``, formed from ``log u = log(n - 1) - 2 bound`` so that neither
        a huge ``n`` nor a tiny ``bound`` overflows; ``inf`` only for ``tau < 1`` when the value itself
        exceeds the float range.

    Examples
    --------
    >>> round(box_best_conditional_risk(2.0, 1.0, 4), 5)      # log(1 + 3 e^-4)
    0.05349
    """
    tau = check_real(tau, "tau", low=0.0)
    n = check_int(n, "n", low=2)
    bound = check_real(bound, "bound", low=0.0, low_open=True)
    g = float(np.logaddexp(0.0, math.log(n - 1) - 2.0 * bound))  # log1p(u), u = (n - 1) e^(-2 bound)
    if abs(tau - 1.0) < TAU_ONE_TOL:
        return g
    with np.errstate(over="ignore"):
        return float(np.expm1((1.0 - tau) * g) / (1.0 - tau))


def population_excess_risks(scores, weights, P, tau: float) -> tuple[float, float]:
    """Excess risks over the Bayes risks on a finite input space, computed exactly in ``y``.

    Returns ``(E_x[max_y p - p_{argmax h}], E_x[C_tau(h, x) - C*_tau(p(.|x))])``: the zero-one
    and surrogate excess risks relative to all measurable functions, i.e. the two sides of the
    bound with vanishing minimizability gaps (eq. :eq:`csh-bayes-bound`).

    Parameters
    ----------
    scores : array_like, shape (m, n)
    weights : array_like, shape (m,)
        Probabilities of the ``m`` inputs (non-negative, summing to 1).
    P : array_like, shape (m, n)
        Conditional distributions ``p(. | x_i)``.
    tau : float
        Family parameter, ``tau >= 0``.

    Returns
    -------
    zero_one, surrogate : float
        The two excess risks. The surrogate one is ``inf`` when ``tau <= 1`` and a score gap on an input
        of positive weight is so large that the loss itself exceeds the float range.

    Examples
    --------
    >>> import numpy as np
    >>> P = np.array([[0.7, 0.3], [0.2, 0.8]])
    >>> z01, zs = population_excess_risks(np.log(P), [0.5, 0.5], P, 1.0)   # Bayes scores
    >>> bool(abs(z01) < 1e-15 and abs(zs) < 1e-12)
    True
    """
    tau = check_real(tau, "tau", low=0.0)
    scores = check_array(scores, "scores", ndim=2)
    P = check_probability_vectors(P, "P")
    if P.ndim != 2:
        raise ValueError(f"P must be two-dimensional (m, n), got shape {P.shape}")
    w = check_probability_vectors(weights, "weights", axis=0)
    if w.ndim != 1:
        raise ValueError(f"weights must be one-dimensional, got shape {w.shape}")
    check_same_length(("scores", scores), ("weights", w), ("P", P))
    P = P / P.sum(axis=1, keepdims=True)  # accepted within the tolerance of its dtype: exact in float64 from here
    w = w / w.sum()
    if scores.shape != P.shape:
        raise ValueError(f"scores and P must have the same shape, got {scores.shape} and {P.shape}")
    ell = np.where(P > 0, comp_sum_loss_all_labels(scores, tau), 0.0)
    surrogate = np.sum(P * ell, axis=1) - best_conditional_risk(P, tau)
    pred = np.argmax(scores, axis=1)
    zero_one = np.max(P, axis=1) - P[np.arange(P.shape[0]), pred]
    return float(w @ zero_one), float(w @ surrogate)


class LinearFit(NamedTuple):
    """Population minimiser of a comp-sum loss over linear scores ``x W^T + b``."""

    W: np.ndarray      #: (n, d) weights
    b: np.ndarray      #: (n,) biases
    risk: float        #: population risk R_tau(h) = sum_i w_i C_tau(h, x_i)
    converged: bool    #: whether the best restart reported convergence


def _risk_and_grad(theta, X, w, P, tau, n):
    d = X.shape[1]
    W = theta[: n * d].reshape(n, d)
    b = theta[n * d:]
    z = X @ W.T + b
    if not np.all(np.isfinite(z)):  # a trial step of the line search left the float range: reject it
        return np.inf, np.zeros_like(theta)
    log_s = log_softmax(z, axis=1)
    s = np.exp(log_s)
    q = tau - 1.0
    if abs(q) < TAU_ONE_TOL:
        ell = -log_s
        sq = np.ones_like(s)
    else:
        ell = -np.expm1(q * log_s) / q
        sq = np.exp(q * log_s)
    Pw = P * w[:, None]
    live = Pw > 0  # pairs of zero weight contribute nothing, even where their loss overflows to inf
    risk = float(np.sum(np.where(live, Pw * ell, 0.0)))
    # gradient of ell(z, y) in z is s_y^(tau-1) (s - e_y) (chapter, eq. csh-grad)
    coef = np.where(live, Pw * sq, 0.0)
    gz = s * coef.sum(axis=1, keepdims=True) - coef
    return risk, np.concatenate(((gz.T @ X).ravel(), gz.sum(axis=0)))


def fit_linear_population(X, weights, P, tau: float, *, seed: SeedLike, restarts: int = 5,
                          init_scale: float = 0.1, maxiter: int = 2000) -> LinearFit:
    """Minimise the population comp-sum risk over linear scores with free biases (L-BFGS, multistart).

    The objective ``sum_i w_i sum_y P_iy ell^tau(W x_i + b, y)`` is convex for ``tau <= 1`` and
    not for ``tau > 1``, hence ``restarts`` random initialisations (``N(0, init_scale^2)``); the
    best end point is returned. Used to compute ``R*_tau(H_lin)`` in a minimizability gap.

    Parameters
    ----------
    X : array_like, shape (m, d)
        The ``m`` inputs, entries of modulus at most ``1e100`` (beyond, the scores overflow).
    weights : array_like, shape (m,)
        Their probabilities (non-negative, summing to 1).
    P : array_like, shape (m, n)
        Conditional distributions ``p(. | x_i)``.
    tau : float
        ``tau >= 0``.
    seed : int, SeedSequence or Generator
        Source of the random initialisations (required).
    restarts : int
        Number of L-BFGS starts, in ``[1, 1000]``.
    init_scale : float
        Standard deviation of the initial parameters, in ``[0, 10]``.
    maxiter : int
        L-BFGS iterations per start, in ``[1, 10**6]``.

    Returns
    -------
    LinearFit
        Weights, biases, population risk and convergence flag of the best start.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.array([[-1.0], [1.0]]); P = np.array([[0.8, 0.2], [0.2, 0.8]])
    >>> fit = fit_linear_population(X, [0.5, 0.5], P, 1.0, seed=0)
    >>> bool(abs(fit.risk - best_conditional_risk(P, 1.0).mean()) < 1e-6)   # posterior is linear
    True
    """
    tau = check_real(tau, "tau", low=0.0)
    X = check_array(X, "X", ndim=2, max_abs=1e100)
    P = check_probability_vectors(P, "P")
    w = check_probability_vectors(weights, "weights", axis=0)
    if P.ndim != 2:
        raise ValueError(f"P must be two-dimensional (m, n), got shape {P.shape}")
    if w.ndim != 1:
        raise ValueError(f"weights must be one-dimensional, got shape {w.shape}")
    check_same_length(("X", X), ("weights", w), ("P", P))
    restarts = check_int(restarts, "restarts", low=1, high=1000)
    init_scale = check_real(init_scale, "init_scale", low=0.0, high=10.0)
    maxiter = check_int(maxiter, "maxiter", low=1, high=10**6)
    rng = as_generator(seed)
    n, d = P.shape[1], X.shape[1]
    best = None
    for _ in range(restarts):
        theta0 = init_scale * rng.standard_normal(n * d + n)
        with np.errstate(over="ignore", invalid="ignore"):  # a trial step may overflow; the line search backs off
            res = minimize(_risk_and_grad, theta0, args=(X, w, P, tau, n), jac=True, method="L-BFGS-B",
                           options={"maxiter": maxiter, "gtol": 1e-10, "ftol": 1e-15})
        if best is None or res.fun < best.fun:
            best = res
    if not np.isfinite(best.fun):  # every start overflowed (huge X times init_scale): start from zero scores
        with np.errstate(over="ignore", invalid="ignore"):
            best = minimize(_risk_and_grad, np.zeros(n * d + n), args=(X, w, P, tau, n), jac=True,
                            method="L-BFGS-B", options={"maxiter": maxiter, "gtol": 1e-10, "ftol": 1e-15})
    W = best.x[: n * d].reshape(n, d)
    return LinearFit(W, best.x[n * d:].copy(), float(best.fun), bool(best.success))


def quadratic_posterior_example(m: int = 41, sharpness: float = 3.0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The chapter's minimizability-gap example: 3 classes on ``m`` equally likely points of ``[-2, 2]``.

    ``p(. | x) = softmax(sharpness * (x^2 - 1, 1 - x^2, x / 2))``: class 0 wins at both ends of the
    interval, class 1 in the middle. A linear score ``w_y x + b_y`` gives each class at most one
    interval, so linear models cannot represent this posterior and the minimizability gaps of
    ``H_lin`` are positive.

    Parameters
    ----------
    m : int
        Number of input points, in ``[2, 10**7]``.
    sharpness : float
        Scale of the logits, ``>= 0`` (0 gives uniform posteriors).

    Returns
    -------
    X : (m, 1) inputs, weights : (m,) uniform probabilities, P : (m, 3) conditional distributions.

    Examples
    --------
    >>> X, w, P = quadratic_posterior_example(5)
    >>> X.shape, P.shape, float(w.sum())
    ((5, 1), (5, 3), 1.0)
    """
    m = check_int(m, "m", low=2, high=10**7)
    sharpness = check_real(sharpness, "sharpness", low=0.0)
    x = np.linspace(-2.0, 2.0, m)
    logits = sharpness * np.stack([x**2 - 1.0, 1.0 - x**2, 0.5 * x], axis=1)
    P = np.exp(log_softmax(logits, axis=1))
    return x[:, None], np.full(m, 1.0 / m), P / P.sum(axis=1, keepdims=True)
