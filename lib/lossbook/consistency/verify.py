"""A numerical proof engine: search random (distribution, scores) pairs for violations of the bound.

Each draw gives a conditional distribution ``p`` and a score vector ``h``; the engine computes the
zero-one calibration gap ``t = max p - p_{argmax h}``, the surrogate calibration gap
``Delta C = C_tau(h) - C*_tau(p)`` and the margin ``Delta C - T_tau(t)``, which the theorem says is
non-negative. The random numbers are drawn with NumPy in :func:`draw_instances` (so that the Numba
kernel ``_margins_numba`` and the vectorised NumPy reference ``_margins_numpy`` see identical
inputs and a test pins them together).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from numba import njit

from .._rng import SeedLike, as_generator
from .._validate import check_int, check_real
from .bounds import _bound_T_unchecked
from .comp_sum import TAU_ONE_TOL, best_conditional_risk, comp_sum_loss_all_labels

__all__ = ["BoundCheck", "draw_instances", "verify_bound"]

#: relative tolerance on Delta C below which a negative margin counts as a violation: Delta C is a
#: difference of two risks each computed with a relative error of a few ulps (n <= 1e3 terms), so
#: 1e-10 * (C + |C*|) + 1e-13 is far above rounding and far below any value of T_tau that matters.
VIOLATION_RTOL = 1e-10
VIOLATION_ATOL = 1e-13


class BoundCheck(NamedTuple):
    """Outcome of :func:`verify_bound`."""

    tau: float
    n: int
    draws: int
    n_violations: int              #: draws with Delta C < T_tau(t) beyond rounding (VIOLATION_RTOL)
    min_margin: float              #: smallest Delta C - T_tau(t) over all draws
    min_ratio: float               #: smallest Delta C / T_tau(t) over draws with t > 1e-6
    worst_p: np.ndarray            #: distribution of the draw attaining min_ratio
    worst_scores: np.ndarray       #: its scores
    worst_regret01: float          #: its zero-one gap t
    worst_surrogate_regret: float  #: its surrogate gap Delta C
    regret01: np.ndarray           #: zero-one gap of every draw
    surrogate_regret: np.ndarray   #: surrogate gap of every draw


def draw_instances(n: int, draws: int, *, seed: SeedLike) -> tuple[np.ndarray, np.ndarray]:
    """Draw ``draws`` pairs ``(p, h)`` for ``n`` classes from a mixture of four regimes.

    1. *Generic*: ``p ~ Dirichlet(alpha 1)``, ``alpha ~ U(0.05, 2)``; ``h ~ N(0, sigma^2 I)``,
       ``sigma ~ U(0.01, 5)``.
    2. *Two labels, separated scores* (near the tight construction for ``tau <= 1``): mass on two
       random labels ``i, j`` with ``p_j - p_i ~ U(0, 1)``; in half the draws it is contaminated by
       a Dirichlet(1) vector of log-uniform weight in ``[1e-12, 0.05]``; ``h_i`` exceeds ``h_j = 0``
       by a log-uniform ``[1e-6, 1]`` amount, the other labels sit ``U(5, 40)`` below.
    3. *Two labels, nearly equal scores* (the worst case of the proof for ``tau > 1``): ``p`` as in
       2, ``h ~ N(0, d^2 I)`` with log-uniform ``d in [1e-6, 1]``.
    4. *Nearly uniform* (the worst case for MAE): ``p ~ Dirichlet(c 1)`` with ``c ~ U(20, 500)``,
       scores as in 3.

    Each draw picks one regime with probability 1/4.

    Returns
    -------
    p, scores : numpy.ndarray, shape (draws, n)

    Examples
    --------
    >>> p, h = draw_instances(4, 3, seed=0)
    >>> p.shape, bool(np.allclose(p.sum(axis=1), 1.0))
    ((3, 4), True)
    """
    n = check_int(n, "n", low=2)
    draws = check_int(draws, "draws", low=1)
    rng = as_generator(seed)
    mode = rng.integers(0, 4, size=draws)
    # regime 1
    alpha = rng.uniform(0.05, 2.0, size=draws)
    g = rng.gamma(alpha[:, None], size=(draws, n))
    empty = g.sum(axis=1) == 0.0  # every gamma variate underflowed (possible for alpha ~ 0.05)
    g[empty, rng.integers(0, n, size=int(empty.sum()))] = 1.0
    p_gen = g / g.sum(axis=1, keepdims=True)
    sigma = rng.uniform(0.01, 5.0, size=draws)
    h_gen = sigma[:, None] * rng.standard_normal((draws, n))
    # regimes 2 and 3
    perm = np.argsort(rng.random((draws, n)), axis=1)
    i, j = perm[:, 0], perm[:, 1]
    t = rng.uniform(0.0, 1.0, size=draws)
    rows = np.arange(draws)
    p_two = np.zeros((draws, n))
    p_two[rows, i] = (1.0 - t) / 2.0
    p_two[rows, j] = (1.0 + t) / 2.0
    eta = np.exp(rng.uniform(np.log(1e-12), np.log(0.05), size=draws)) * (rng.random(draws) < 0.5)
    noise = rng.dirichlet(np.ones(n), size=draws)
    p_two = (1.0 - eta[:, None]) * p_two + eta[:, None] * noise
    lift = np.exp(rng.uniform(np.log(1e-6), 0.0, size=draws))
    h_sep = -rng.uniform(5.0, 40.0, size=(draws, n))
    h_sep[rows, i] = lift
    h_sep[rows, j] = 0.0
    spread = np.exp(rng.uniform(np.log(1e-6), 0.0, size=draws))
    h_flat = spread[:, None] * rng.standard_normal((draws, n))
    # regime 4
    conc = rng.uniform(20.0, 500.0, size=draws)
    g4 = rng.gamma(conc[:, None], size=(draws, n))
    p_flat = g4 / g4.sum(axis=1, keepdims=True)
    p = np.where((mode == 0)[:, None], p_gen, np.where((mode == 3)[:, None], p_flat, p_two))
    h = np.where((mode == 0)[:, None], h_gen, np.where((mode == 1)[:, None], h_sep, h_flat))
    p = p / p.sum(axis=1, keepdims=True)
    return np.ascontiguousarray(p), np.ascontiguousarray(h)


def _margins_numpy(p: np.ndarray, h: np.ndarray, tau: float, n: int):
    """Vectorised NumPy reference: (zero-one gap, surrogate gap, T_tau(zero-one gap), C_tau(h))."""
    ell = comp_sum_loss_all_labels(h, tau)
    cond = np.sum(p * np.where(p > 0, ell, 0.0), axis=1)
    cstar = best_conditional_risk(p, tau)
    pred = np.argmax(h, axis=1)
    t01 = np.max(p, axis=1) - p[np.arange(p.shape[0]), pred]
    return t01, cond - cstar, _bound_T_unchecked(t01, tau, n), cond + np.abs(cstar)


@njit(cache=True)
def _bound_T_scalar(t, tau, n):
    # eq. csh-T, the same stable evaluation as bounds._bound_T_unchecked
    if abs(tau - 1.0) < TAU_ONE_TOL:
        out = 0.5 * (1.0 + t) * math.log1p(t)
        if t < 1.0:
            out += 0.5 * (1.0 - t) * math.log1p(-t)
        return out
    if tau >= 2.0:
        return t / ((tau - 1.0) * float(n) ** (tau - 1.0))
    a = 1.0 / (2.0 - tau)
    lo = -1.0 if t >= 1.0 else math.expm1(a * math.log1p(-t))
    mean_minus_one = 0.5 * (math.expm1(a * math.log1p(t)) + lo)
    m1 = math.expm1((2.0 - tau) * math.log1p(mean_minus_one))
    scale = 2.0 ** (1.0 - tau) if tau < 1.0 else float(n) ** (1.0 - tau)
    return scale * m1 / (tau - 1.0)


@njit(cache=True)
def _margins_numba(p, h, tau, n):
    draws = p.shape[0]
    t01 = np.empty(draws)
    gap = np.empty(draws)
    tb = np.empty(draws)
    scale = np.empty(draws)
    q = tau - 1.0
    log_case = abs(q) < TAU_ONE_TOL
    a = 1.0 / (2.0 - tau) if tau < 2.0 else 0.0
    for r in range(draws):
        # log-softmax of the scores; argmax with lowest-index tie-break
        m = h[r, 0]
        arg = 0
        for k in range(1, n):
            if h[r, k] > m:
                m = h[r, k]
                arg = k
        se = 0.0
        for k in range(n):
            se += math.exp(h[r, k] - m)
        lse = m + math.log(se)
        cond = 0.0
        pmax = 0.0
        for k in range(n):
            pk = p[r, k]
            if pk > pmax:
                pmax = pk
            if pk > 0.0:
                ls = h[r, k] - lse
                ell = -ls if log_case else -math.expm1(q * ls) / q
                cond += pk * ell
        # best conditional risk, eq. csh-cstar
        if tau >= 2.0:
            cstar = (1.0 - pmax) / q
        elif log_case:
            cstar = 0.0
            for k in range(n):
                if p[r, k] > 0.0:
                    cstar -= p[r, k] * math.log(p[r, k])
        else:
            z = 0.0
            log_pmax = math.log(pmax)
            for k in range(n):
                if p[r, k] > 0.0:
                    # (p_k / max p)^a, normalised so that nothing underflows; exp(a log x) is about
                    # twice as fast as x**a (measured) and as accurate here
                    z += math.exp(a * (math.log(p[r, k]) - log_pmax))
            cstar = math.expm1((2.0 - tau) * (a * log_pmax + math.log(z))) / (1.0 - tau)
        t = pmax - p[r, arg]
        t01[r] = t
        gap[r] = cond - cstar
        tb[r] = _bound_T_scalar(t, tau, n)
        scale[r] = cond + abs(cstar)
    return t01, gap, tb, scale


def verify_bound(tau: float, n: int, draws: int, *, seed: SeedLike, engine: str = "numba") -> BoundCheck:
    """Search ``draws`` random pairs ``(p, h)`` for violations of ``T_tau(Delta C_{0-1}) <= Delta C_tau``.

    The pairs come from :func:`draw_instances`; the gaps are evaluated by a Numba kernel
    (``engine="numba"``) or its vectorised NumPy reference (``engine="numpy"``). A draw is a
    violation if ``Delta C < T_tau(t) - (1e-10 (C_tau(h) + |C*_tau|) + 1e-13)``: the slack is far
    above floating-point rounding of the risks and far below the values of ``T_tau`` at stake.

    Parameters
    ----------
    tau : float
        ``tau >= 0``.
    n : int
        Number of classes, ``n >= 2``.
    draws : int
        Number of random pairs, ``>= 1``.
    seed : int, SeedSequence or Generator
        Source of randomness (required).
    engine : {"numba", "numpy"}

    Returns
    -------
    BoundCheck
        Violation count, smallest margin, smallest ratio ``Delta C / T_tau(t)`` (over draws with
        ``t > 1e-6``), the worst draw and the per-draw gaps.

    Examples
    --------
    >>> res = verify_bound(1.0, 3, 2000, seed=0)
    >>> res.n_violations, bool(res.min_ratio >= 1.0)
    (0, True)
    """
    tau = check_real(tau, "tau", low=0.0)
    n = check_int(n, "n", low=2)
    draws = check_int(draws, "draws", low=1)
    p, h = draw_instances(n, draws, seed=seed)
    if engine == "numba":
        t01, gap, tb, scale = _margins_numba(p, h, tau, n)
    elif engine == "numpy":
        t01, gap, tb, scale = _margins_numpy(p, h, tau, n)
    else:
        raise ValueError(f"engine must be 'numba' or 'numpy', got {engine!r}")
    if not (np.all(np.isfinite(gap)) and np.all(np.isfinite(tb))):
        raise FloatingPointError("non-finite calibration gap: the draw overflowed the float range")
    margin = gap - tb
    violations = int(np.sum(margin < -(VIOLATION_RTOL * scale + VIOLATION_ATOL)))
    informative = t01 > 1e-6
    if np.any(informative):
        ratio = np.where(informative, gap / np.where(informative, tb, 1.0), np.inf)
        w = int(np.argmin(ratio))
        min_ratio = float(ratio[w])
    else:
        w, min_ratio = int(np.argmin(margin)), float("nan")
    return BoundCheck(tau, n, draws, violations, float(np.min(margin)), min_ratio, p[w].copy(), h[w].copy(),
                      float(t01[w]), float(gap[w]), t01, gap)
