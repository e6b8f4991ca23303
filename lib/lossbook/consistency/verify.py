"""A numerical proof engine: search random (distribution, scores) pairs for violations of the bound.

Each draw gives a conditional distribution ``p`` and a score vector ``h``; the engine computes the
zero-one calibration gap ``t = max p - p_{argmax h}``, the surrogate calibration gap
``Delta C = C_tau(h) - C*_tau(p)`` and the margin ``Delta C - T_tau(t)``, which the theorem says is
non-negative.

Randomness. Every draw is built from a fixed number ``3 n + 7`` of uniform variates, taken in order
from the legacy Mersenne-Twister stream seeded by one integer ``kseed`` (from
:func:`lossbook._rng.kernel_seed`). The Numba kernel ``_search_numba`` seeds Numba's generator with
``np.random.seed(kseed)`` inside the jitted code and samples, scores and discards each draw in one
pass; the NumPy reference ``_search_numpy`` reads the same stream from
``numpy.random.RandomState(kseed).random_sample`` and builds the draws vectorised
(:func:`draw_instances`). The two streams are bit-identical (Numba's ``np.random.random`` follows
NumPy's legacy ``random_sample``; pinned by a test), and every non-uniform variate is made from
uniforms by explicit formulas (exponentials as ``-log1p(-u)``), so both engines examine the same
pairs up to the last-ulp differences of ``log``/``exp`` between Numba and NumPy.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from numba import njit

from .._rng import SeedLike, as_generator, kernel_seed
from .._validate import ENGINES, MAX_ELEMENTS, MAX_LOOP, check_choice, check_int, check_real, check_size
from .bounds import _FORM_B, _G_COEF, _G_SERIES, _bound_T_unchecked
from .comp_sum import TAU_ONE_TOL, best_conditional_risk, comp_sum_loss_all_labels

__all__ = ["BoundCheck", "draw_instances", "uniforms_per_draw", "verify_bound"]

#: relative tolerance on Delta C below which a negative margin counts as a violation: Delta C is a
#: difference of two risks each computed with a relative error of a few ulps (n <= 1e3 terms), so
#: 1e-10 * (C + |C*|) + 1e-13 is far above rounding and far below any value of T_tau that matters.
VIOLATION_RTOL = 1e-10
VIOLATION_ATOL = 1e-13
#: a draw enters the ratio Delta C / T_tau(t) only if t exceeds this (T_tau(t) ~ c t^2 is then > 1e-13)
INFORMATIVE_T = 1e-6
#: draws built per block by the NumPy reference (bounds its memory to about 3 n + 7 doubles per draw
#: of one block)
_NUMPY_BLOCK = 1 << 14

_LOG_1E12 = math.log(1e-12)
_LOG_005 = math.log(0.05)
_LOG_1E6 = math.log(1e-6)
_LOG_1E3 = math.log(1e-3)
_LOG_05 = math.log(0.5)
#: added to an exponential variate before its logarithm: it changes only E = 0 (u = 0 exactly), so
#: that log E stays finite
_TINY = 1e-300


class BoundCheck(NamedTuple):
    """Outcome of :func:`verify_bound`."""

    tau: float
    n: int
    draws: int
    n_violations: int              #: draws with Delta C < T_tau(t) beyond rounding (VIOLATION_RTOL)
    min_margin: float              #: smallest Delta C - T_tau(t) over all draws
    min_ratio: float               #: smallest Delta C / T_tau(t) over draws with t > 1e-6 (inf if none)
    worst_p: np.ndarray            #: distribution of the draw attaining min_ratio
    worst_scores: np.ndarray       #: its scores
    worst_regret01: float          #: its zero-one gap t
    worst_surrogate_regret: float  #: its surrogate gap Delta C
    regret01: np.ndarray           #: zero-one gap of every draw
    surrogate_regret: np.ndarray   #: surrogate gap of every draw


def uniforms_per_draw(n: int) -> int:
    """Number of uniform variates consumed by one draw with ``n`` classes: ``3 n + 7``.

    Parameters
    ----------
    n : int
        Number of classes, ``n >= 2``.

    Returns
    -------
    int

    Examples
    --------
    >>> uniforms_per_draw(10)
    37
    """
    n = check_int(n, "n", low=2)
    return 3 * n + 7


# ------------------------------------------------------------------------------------------------
# sampling: NumPy reference (vectorised over draws) and the per-draw Numba version
# ------------------------------------------------------------------------------------------------
#
# Layout of the row u[0 .. 3n+6] of one draw (E(v) = -log1p(-v) is an Exp(1) variate):
#   u[0]                regime = min(floor(4 u[0]), 3)
#   regime 0 (generic)  alpha = 0.05 + 1.95 u[1]; p_k ∝ E(u[2+k])^(1/alpha);
#                       sigma = 0.01 + 4.99 u[2+n]; h_k = sigma (E(u[3+n+k]) - E(u[3+2n+k]))  (Laplace)
#   regimes 1, 2        labels i = floor(n u[1]), j = floor((n-1) u[2]) (+1 if >= i); t = u[3];
#   (two labels)        p = (1 - eta) two + eta noise with two_i = (1-t)/2, two_j = (1+t)/2,
#                       eta = [u[5] < 1/2] * 1e-12 (0.05/1e-12)^u[4], noise_k ∝ E(u[6+k]);
#                       regime 1: h = -(5 + 35 u[7+n+k]), h_i = 1e-6^u[6+n], h_j = 0
#                       regime 2: h_k = d (E(u[7+n+k]) - E(u[7+2n+k])), d = 1e-6^u[6+n]
#   regime 3            delta = 1e-3 (500)^u[1]; p_k ∝ 1 + delta (2 u[2+k] - 1);
#   (nearly uniform)    d = 1e-6^u[2+n]; h_k = d (E(u[3+n+k]) - E(u[3+2n+k]))


def _exp_variate(u):
    return -np.log1p(-u)


def _draws_from_uniforms_numpy(u: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Vectorised construction of ``(p, h)`` from rows of uniforms (layout above)."""
    m = u.shape[0]
    rows = np.arange(m)
    mode = np.minimum((4.0 * u[:, 0]).astype(np.int64), 3)
    # regime 0
    alpha = 0.05 + 1.95 * u[:, 1]
    lw = np.log(_exp_variate(u[:, 2:2 + n]) + _TINY) / alpha[:, None]
    w = np.exp(lw - lw.max(axis=1, keepdims=True))
    p_gen = w / w.sum(axis=1, keepdims=True)
    sigma = 0.01 + 4.99 * u[:, 2 + n]
    h_gen = sigma[:, None] * (_exp_variate(u[:, 3 + n:3 + 2 * n]) - _exp_variate(u[:, 3 + 2 * n:3 + 3 * n]))
    # regimes 1 and 2
    i = np.minimum((n * u[:, 1]).astype(np.int64), n - 1)
    j = np.minimum(((n - 1) * u[:, 2]).astype(np.int64), n - 2)
    j = j + (j >= i)
    t = u[:, 3]
    eta = np.where(u[:, 5] < 0.5, np.exp(_LOG_1E12 + (_LOG_005 - _LOG_1E12) * u[:, 4]), 0.0)
    e = _exp_variate(u[:, 6:6 + n]) + _TINY
    noise = e / e.sum(axis=1, keepdims=True)
    p_two = eta[:, None] * noise
    p_two[rows, i] += (1.0 - eta) * (1.0 - t) / 2.0
    p_two[rows, j] += (1.0 - eta) * (1.0 + t) / 2.0
    d12 = np.exp(_LOG_1E6 * u[:, 6 + n])
    h_sep = -(5.0 + 35.0 * u[:, 7 + n:7 + 2 * n])
    h_sep[rows, i] = d12
    h_sep[rows, j] = 0.0
    h_flat = d12[:, None] * (_exp_variate(u[:, 7 + n:7 + 2 * n]) - _exp_variate(u[:, 7 + 2 * n:7 + 3 * n]))
    # regime 3
    delta = np.exp(_LOG_1E3 + (_LOG_05 - _LOG_1E3) * u[:, 1])
    v = 1.0 + delta[:, None] * (2.0 * u[:, 2:2 + n] - 1.0)
    p_unif = v / v.sum(axis=1, keepdims=True)
    d3 = np.exp(_LOG_1E6 * u[:, 2 + n])
    h_unif = d3[:, None] * (_exp_variate(u[:, 3 + n:3 + 2 * n]) - _exp_variate(u[:, 3 + 2 * n:3 + 3 * n]))
    sel = [(mode == k)[:, None] for k in range(4)]
    p = np.select(sel, [p_gen, p_two, p_two, p_unif])
    h = np.select(sel, [h_gen, h_sep, h_flat, h_unif])
    p = p / p.sum(axis=1, keepdims=True)
    return p, h


@njit(cache=True)
def _draw_from_uniforms_numba(u, n, p, h):
    """One draw from the uniforms ``u`` into ``p`` and ``h`` (same formulas as the NumPy reference)."""
    mode = min(int(4.0 * u[0]), 3)
    if mode == 0:
        alpha = 0.05 + 1.95 * u[1]
        mx = -np.inf
        for k in range(n):
            lw = math.log(-math.log1p(-u[2 + k]) + _TINY) / alpha
            p[k] = lw
            if lw > mx:
                mx = lw
        for k in range(n):
            p[k] = math.exp(p[k] - mx)
        sigma = 0.01 + 4.99 * u[2 + n]
        for k in range(n):
            h[k] = sigma * (-math.log1p(-u[3 + n + k]) + math.log1p(-u[3 + 2 * n + k]))
    elif mode <= 2:
        i = min(int(n * u[1]), n - 1)
        j = min(int((n - 1) * u[2]), n - 2)
        if j >= i:
            j += 1
        t = u[3]
        eta = math.exp(_LOG_1E12 + (_LOG_005 - _LOG_1E12) * u[4]) if u[5] < 0.5 else 0.0
        se = 0.0
        for k in range(n):
            e = -math.log1p(-u[6 + k]) + _TINY
            p[k] = e
            se += e
        for k in range(n):
            p[k] = eta * (p[k] / se)
        p[i] += (1.0 - eta) * (1.0 - t) / 2.0
        p[j] += (1.0 - eta) * (1.0 + t) / 2.0
        d = math.exp(_LOG_1E6 * u[6 + n])
        if mode == 1:
            for k in range(n):
                h[k] = -(5.0 + 35.0 * u[7 + n + k])
            h[i] = d
            h[j] = 0.0
        else:
            for k in range(n):
                h[k] = d * (-math.log1p(-u[7 + n + k]) + math.log1p(-u[7 + 2 * n + k]))
    else:
        delta = math.exp(_LOG_1E3 + (_LOG_05 - _LOG_1E3) * u[1])
        for k in range(n):
            p[k] = 1.0 + delta * (2.0 * u[2 + k] - 1.0)
        d = math.exp(_LOG_1E6 * u[2 + n])
        for k in range(n):
            h[k] = d * (-math.log1p(-u[3 + n + k]) + math.log1p(-u[3 + 2 * n + k]))
    s = 0.0
    for k in range(n):
        s += p[k]
    for k in range(n):
        p[k] /= s


def _draw_numpy(kseed: int, n: int, draws: int) -> tuple[np.ndarray, np.ndarray]:
    """``draws`` pairs from the legacy stream ``RandomState(kseed)`` (the reference sampler)."""
    rs = np.random.RandomState(kseed)
    k = 3 * n + 7
    ps, hs = [], []
    for start in range(0, draws, _NUMPY_BLOCK):
        m = min(_NUMPY_BLOCK, draws - start)
        p, h = _draws_from_uniforms_numpy(rs.random_sample((m, k)), n)
        ps.append(p)
        hs.append(h)
    return np.concatenate(ps), np.concatenate(hs)


@njit(cache=True)
def _draw_numba(kseed, n, draws):
    """The kernel's sampler alone (for the agreement test): Numba's MT19937 seeded with ``kseed``."""
    np.random.seed(kseed)  # noqa: NPY002 -- Numba's own generator, seeded explicitly (lossbook._rng)
    k = 3 * n + 7
    u = np.empty(k)
    p = np.empty((draws, n))
    h = np.empty((draws, n))
    for r in range(draws):
        for c in range(k):
            u[c] = np.random.random()  # noqa: NPY002
        _draw_from_uniforms_numba(u, n, p[r], h[r])
    return p, h


def draw_instances(n: int, draws: int, *, seed: SeedLike) -> tuple[np.ndarray, np.ndarray]:
    """Draw the ``draws`` pairs ``(p, h)`` that :func:`verify_bound` examines for the same ``seed``.

    Four regimes, each chosen with probability 1/4 (``E`` denotes an Exp(1) variate):

    1. *Generic*: ``p_k ∝ E_k^(1/alpha)`` with ``alpha ~ U(0.05, 2)`` (a Dirichlet(1) vector raised
       to a power: very peaked for small ``alpha``, flat for ``alpha = 2``); Laplace scores
       ``h_k = sigma (E_k - E'_k)`` with ``sigma ~ U(0.01, 5)``.
    2. *Two labels, separated scores* (near the tight construction for ``tau <= 1``): mass
       ``(1 - t)/2, (1 + t)/2`` on two random labels ``i, j``, ``t ~ U(0, 1)``; in half the draws it
       is contaminated by a Dirichlet(1) vector of log-uniform weight in ``[1e-12, 0.05]``; ``h_i``
       exceeds ``h_j = 0`` by a log-uniform ``[1e-6, 1]`` amount, the other labels sit ``U(5, 40)``
       below.
    3. *Two labels, nearly equal scores* (the worst case of the proof for ``tau > 1``): ``p`` as in
       2, Laplace scores of log-uniform scale ``d in [1e-6, 1]``.
    4. *Nearly uniform* (the worst case for MAE): ``p_k ∝ 1 + delta (2 U_k - 1)`` with log-uniform
       ``delta in [1e-3, 0.5]``, scores as in 3.

    Each draw consumes :func:`uniforms_per_draw` ``(n)`` uniforms of the legacy Mersenne-Twister
    stream ``numpy.random.RandomState(kernel_seed(as_generator(seed)))``; this is the NumPy reference
    of the sampler inside the Numba kernel of :func:`verify_bound`.

    Parameters
    ----------
    n : int
        Number of classes, ``n >= 2``.
    draws : int
        Number of pairs, ``>= 1``.
    seed : int, SeedSequence or Generator
        Source of randomness (required).

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
    check_size(n * draws, "n * draws", limit=MAX_ELEMENTS // 4)  # p, h and two work arrays of this size
    kseed = kernel_seed(as_generator(seed))
    return _draw_numpy(kseed, n, draws)


# ------------------------------------------------------------------------------------------------
# margins: NumPy reference (vectorised) and the Numba kernels
# ------------------------------------------------------------------------------------------------


def _margins_numpy(p: np.ndarray, h: np.ndarray, tau: float, n: int):
    """Vectorised NumPy reference: (zero-one gap, surrogate gap, T_tau(zero-one gap), C_tau(h) + |C*|)."""
    ell = comp_sum_loss_all_labels(h, tau)
    cond = np.sum(p * np.where(p > 0, ell, 0.0), axis=1)
    cstar = best_conditional_risk(p, tau)
    pred = np.argmax(h, axis=1)
    t01 = np.max(p, axis=1) - p[np.arange(p.shape[0]), pred]
    return t01, cond - cstar, _bound_T_unchecked(t01, tau, n), cond + np.abs(cstar)


def _search_numpy(kseed: int, n: int, draws: int, tau: float):
    """NumPy reference of the whole search: the reference sampler, then the vectorised margins."""
    p, h = _draw_numpy(kseed, n, draws)
    t01, gap, tb, scale = _margins_numpy(p, h, tau, n)
    return t01, gap, tb, scale, p, h


@njit(cache=True)
def _expm1_minus_x_scalar(x):
    # bounds._expm1_minus_x: Taylor series below 0.1 in modulus, the direct difference above
    if abs(x) < _G_SERIES:
        h = 0.0
        for k in range(len(_G_COEF) - 1, -1, -1):
            h = h * x + _G_COEF[k]
        return x * x * h
    return math.expm1(x) - x


@njit(cache=True)
def _t1_scalar(t):
    # bounds._t1
    if t < 0.5:
        return t * math.atanh(t) + 0.5 * math.log1p(-t * t)
    out = 0.5 * (1.0 + t) * math.log1p(t)
    if t < 1.0:
        out += 0.5 * (1.0 - t) * math.log1p(-t)
    return out


@njit(cache=True)
def _bound_T_scalar(t, tau, n):
    # eq. csh-T, the same stable evaluation as bounds._bound_T_unchecked
    if abs(tau - 1.0) < TAU_ONE_TOL:
        return _t1_scalar(t)
    if tau >= 2.0:
        return t * math.exp(-(math.log(tau - 1.0) + (tau - 1.0) * math.log(n)))
    a = 1.0 / (2.0 - tau)
    delta = (tau - 1.0) / (2.0 - tau)
    up = math.log1p(t)
    um = math.log1p(-t) if t < 1.0 else 0.0
    if delta * up > _FORM_B:
        ra = math.exp(a * (um - up)) if t < 1.0 else 0.0
        m1 = math.expm1(up + (2.0 - tau) * (math.log1p(ra) - math.log(2.0)))
    else:
        S = delta * _t1_scalar(t) + 0.5 * (1.0 + t) * _expm1_minus_x_scalar(delta * up)
        if t < 1.0:
            S += 0.5 * (1.0 - t) * _expm1_minus_x_scalar(delta * um)
        m1 = math.expm1((2.0 - tau) * math.log1p(S))
    log_scale = (1.0 - tau) * (math.log(2.0) if tau < 1.0 else math.log(n))
    return math.exp(log_scale) * m1 / (tau - 1.0)


@njit(cache=True)
def _cstar_scalar(p, tau, n):
    """C*_tau(p) by the evaluation of comp_sum.best_conditional_risk (eq. :eq:`csh-cstar`)."""
    top = 0
    for k in range(1, n):
        if p[k] > p[top]:
            top = k
    rest = 0.0
    for k in range(n):
        if k != top:
            rest += p[k]
    e = (p[top] - 1.0) + rest
    if tau >= 2.0:
        return rest / (1.0 + e) / (tau - 1.0)
    le = math.log1p(e)
    if abs(tau - 1.0) < TAU_ONE_TOL:
        h = 0.0
        for k in range(n):
            if p[k] > 0.0:
                h -= p[k] / (1.0 + e) * (math.log(p[k]) - le)
        return h
    delta = (tau - 1.0) / (2.0 - tau)
    if abs(delta) <= 0.25:
        S = 0.0
        for k in range(n):
            if p[k] > 0.0:
                S += p[k] / (1.0 + e) * math.expm1(delta * (math.log(p[k]) - le))
        A = (2.0 - tau) * math.log1p(S)
    else:
        a = 1.0 / (2.0 - tau)
        m = a * (math.log(p[top]) - le)
        z = 0.0
        for k in range(n):
            if k != top and p[k] > 0.0:
                # exp(a log x) is about twice as fast as x**a (measured) and as accurate here
                z += math.exp(a * (math.log(p[k]) - le) - m)
        A = (2.0 - tau) * (m + math.log1p(z))
    return math.expm1(A) / (1.0 - tau)


@njit(cache=True)
def _margin_one(p, h, tau, n):
    """(zero-one gap, surrogate gap, T_tau(gap), C + |C*|) of one pair.

    Eqs. :eq:`csh-01-regret`, :eq:`csh-cstar` and :eq:`csh-T`.
    """
    q = tau - 1.0
    log_case = abs(q) < TAU_ONE_TOL
    # log-softmax of the scores; argmax with lowest-index tie-break
    m = h[0]
    arg = 0
    for k in range(1, n):
        if h[k] > m:
            m = h[k]
            arg = k
    se = 0.0
    for k in range(n):
        se += math.exp(h[k] - m)
    lse = math.log(se)
    cond = 0.0
    pmax = 0.0
    for k in range(n):
        pk = p[k]
        if pk > pmax:
            pmax = pk
        if pk > 0.0:
            ls = (h[k] - m) - lse
            ell = -ls if log_case else -math.expm1(q * ls) / q
            cond += pk * ell
    cstar = _cstar_scalar(p, tau, n)
    t = pmax - p[arg]
    return t, cond - cstar, _bound_T_scalar(t, tau, n), cond + abs(cstar)


@njit(cache=True)
def _margins_numba(p, h, tau, n):
    """Margins of pre-drawn pairs (pinned to :func:`_margins_numpy` on identical inputs)."""
    draws = p.shape[0]
    t01 = np.empty(draws)
    gap = np.empty(draws)
    tb = np.empty(draws)
    scale = np.empty(draws)
    for r in range(draws):
        t01[r], gap[r], tb[r], scale[r] = _margin_one(p[r], h[r], tau, n)
    return t01, gap, tb, scale


@njit(cache=True)
def _search_numba(kseed, n, draws, tau):
    """The whole search in one pass: sample (seeded from ``kseed``), score, keep the worst draws.

    Returns the per-draw gaps and, for the draw of smallest ratio ``Delta C / T_tau(t)`` (over
    ``t > INFORMATIVE_T``; the first on ties, as ``numpy.argmin``) and the draw of smallest margin,
    their ``p`` and ``h``, so that nothing of size ``draws x n`` is stored.
    """
    np.random.seed(kseed)  # noqa: NPY002 -- Numba's own generator, seeded explicitly (lossbook._rng)
    k = 3 * n + 7
    u = np.empty(k)
    p = np.empty(n)
    h = np.empty(n)
    t01 = np.empty(draws)
    gap = np.empty(draws)
    tb = np.empty(draws)
    scale = np.empty(draws)
    best_ratio = np.inf
    best_margin = np.inf
    ratio_p = np.zeros(n)
    ratio_h = np.zeros(n)
    margin_p = np.zeros(n)
    margin_h = np.zeros(n)
    have_ratio = False
    for r in range(draws):
        for c in range(k):
            u[c] = np.random.random()  # noqa: NPY002
        _draw_from_uniforms_numba(u, n, p, h)
        t, g, T, sc = _margin_one(p, h, tau, n)
        t01[r], gap[r], tb[r], scale[r] = t, g, T, sc
        margin = g - T
        if margin < best_margin or r == 0:
            best_margin = margin
            margin_p[:] = p
            margin_h[:] = h
        if t > INFORMATIVE_T:
            ratio = g / T
            if ratio < best_ratio or not have_ratio:
                best_ratio = ratio
                have_ratio = True
                ratio_p[:] = p
                ratio_h[:] = h
    return t01, gap, tb, scale, have_ratio, ratio_p, ratio_h, margin_p, margin_h


def verify_bound(tau: float, n: int, draws: int, *, seed: SeedLike, engine: str = "numba") -> BoundCheck:
    """Search ``draws`` random pairs ``(p, h)`` for violations of ``T_tau(Delta C_{0-1}) <= Delta C_tau``.

    ``engine="numba"`` runs one jitted pass that samples each pair (Numba's Mersenne Twister, seeded
    inside the kernel with an integer drawn from ``seed``), evaluates its gaps and keeps the worst
    draw; ``engine="numpy"`` is the vectorised reference, which draws the same pairs from the same
    stream (:func:`draw_instances`). A draw is a violation if
    ``Delta C < T_tau(t) - (1e-10 (C_tau(h) + |C*_tau|) + 1e-13)``: the slack is far above
    floating-point rounding of the risks and far below the values of ``T_tau`` at stake.

    Parameters
    ----------
    tau : float
        In ``[0, 100]`` (the sampler's score scales are meaningless beyond).
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
    tau = check_real(tau, "tau", low=0.0, high=100.0)
    n = check_int(n, "n", low=2)
    draws = check_int(draws, "draws", low=1)
    # the numpy engine holds a few (draws, n) arrays; the numba one streams but still runs n * draws steps
    check_size(n * draws, "n * draws", limit=MAX_ELEMENTS // 4 if engine == "numpy" else 100 * MAX_LOOP,
               what="entries" if engine == "numpy" else "loop steps")
    check_choice(engine, "engine", ENGINES)
    kseed = kernel_seed(as_generator(seed))
    if engine == "numba":
        t01, gap, tb, scale, have_ratio, ratio_p, ratio_h, margin_p, margin_h = _search_numba(kseed, n, draws, tau)
    else:
        t01, gap, tb, scale, p, h = _search_numpy(kseed, n, draws, tau)
    if not (np.all(np.isfinite(gap)) and np.all(np.isfinite(tb))):
        raise FloatingPointError("non-finite calibration gap: the draw overflowed the float range")
    margin = gap - tb
    violations = int(np.sum(margin < -(VIOLATION_RTOL * scale + VIOLATION_ATOL)))
    informative = t01 > INFORMATIVE_T
    if np.any(informative):
        ratio = np.where(informative, gap / np.where(informative, tb, 1.0), np.inf)
        w = int(np.argmin(ratio))
        min_ratio = float(ratio[w])
    else:
        w, min_ratio = int(np.argmin(margin)), float("inf")  # no informative draw: the empty minimum
    if engine == "numba":
        # the kernel kept the same draw: identical comparisons on identical numbers, first on ties
        wp, wh = (ratio_p, ratio_h) if have_ratio else (margin_p, margin_h)
    else:
        wp, wh = p[w].copy(), h[w].copy()
    return BoundCheck(tau, n, draws, violations, float(np.min(margin)), min_ratio, wp, wh,
                      float(t01[w]), float(gap[w]), t01, gap)
