"""Bit allocation under the model ``E L(b) = sum_j C_j 2^(-2 b_j)``.

The continuous problem (:doc:`/book/compression/baq-bit-allocation`, program :eq:`baq-program`)

    minimise  sum_j C_j 4^(-b_j)   subject to  mean(b) = R,  b_min <= b_j <= b_max

is convex and separable; its KKT conditions give *reverse water-filling*
``b_j = clip(log2(C_j / theta) / 2, b_min, b_max)`` with one water level ``theta`` fixed by the
budget (theorem :prf:ref:`baq-thm-waterfill`). The integer version is solved exactly by greedy marginal
allocation (theorem :prf:ref:`baq-thm-greedy`).

Each solver has a pure-NumPy reference (``_name_numpy``) and a Numba kernel (``_name_numba``) that
a test pins to it. The NumPy water-fill brackets the level by bisection; the Numba kernel walks the
sorted breakpoints of the piecewise-linear budget function, so the two are independent algorithms.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from numba import njit

from .._validate import ENGINES, check_array, check_choice, check_int, check_real

__all__ = [
    "KKTResiduals",
    "WaterfillResult",
    "closed_form_interior",
    "expected_loss",
    "gm_am_gain",
    "integer_bits",
    "kkt_residuals",
    "official_levels",
    "waterfill_bits",
]


class WaterfillResult(NamedTuple):
    """Optimal real bit-widths and the water level.

    Attributes
    ----------
    bits : ndarray of float, shape (n,)
        ``b_j = clip(log2(C_j / theta) / 2, b_min, b_max)``.
    theta : float
        The water level: every column strictly between the bounds has expected loss
        ``C_j 4^(-b_j) = theta``. ``0.0`` when it is undefined (all ``C_j = 0``).
    """

    bits: np.ndarray
    theta: float


class KKTResiduals(NamedTuple):
    r"""KKT residuals of the water-filling program (see :func:`kkt_residuals`).

    Attributes
    ----------
    budget : float
        :math:`|\sum_j b_j-n\bar R|/n`.
    stationarity : float
        Largest relative :math:`|C_j4^{-b_j}-\theta|/\theta` over free columns.
    dual_lower : float
        Smallest :math:`(\theta-C_j4^{-b_j})/\theta` over columns at ``b_min`` (optimal: :math:`\ge0`).
    dual_upper : float
        Smallest :math:`(C_j4^{-b_j}-\theta)/\theta` over columns at ``b_max`` (optimal: :math:`\ge0`).
    bounds : float
        Largest bound violation.
    """

    budget: float
    stationarity: float
    dual_lower: float
    dual_upper: float
    bounds: float


# --------------------------------------------------------------------------------------------
# validation shared by the public functions
# --------------------------------------------------------------------------------------------
def _check_sensitivities(C) -> np.ndarray:
    C = check_array(C, "C", ndim=1, low=0.0, min_size=1)
    return np.ascontiguousarray(C)


def _check_bounds(avg_bits, b_min, b_max) -> tuple[float, float, float]:
    b_min = check_real(b_min, "b_min", low=0.0)
    if b_max is None:
        hi = math.inf
    else:
        hi = check_real(b_max, "b_max", low=b_min)
    avg = check_real(avg_bits, "avg_bits", low=b_min, high=None if b_max is None else hi)
    return avg, b_min, hi


# --------------------------------------------------------------------------------------------
# continuous water-filling
# --------------------------------------------------------------------------------------------
def _budget_sum(a, t, lo, hi):
    return float(np.sum(np.clip(0.5 * (a - t), lo, hi)))


def _finish_level(a, t_probe, lo, hi, target):
    """Given a level ``t_probe`` inside the right linear piece, solve that piece exactly."""
    free_bits = 0.5 * (a - t_probe)
    at_lo = free_bits <= lo
    at_hi = free_bits >= hi
    free = ~(at_lo | at_hi)
    k = int(np.count_nonzero(free))
    if k == 0:
        return t_probe
    fixed = lo * np.count_nonzero(at_lo) + (hi * np.count_nonzero(at_hi) if np.isfinite(hi) else 0.0)
    # sum_free (a_j - t)/2 = target - fixed  =>  t = (sum_free a_j - 2 (target - fixed)) / k
    return (float(np.sum(a[free])) - 2.0 * (target - fixed)) / k


def _waterfill_numpy(C, avg_bits, lo, hi):
    """Reference: bisection on ``t = log2 theta``, then the exact solve on the bracketed piece."""
    n = C.size
    live = C > 0
    bits = np.full(n, lo)
    n_live = int(np.count_nonzero(live))
    target = n * avg_bits - lo * (n - n_live)  # bits owed to live columns if dead ones sit at b_min
    if n_live == 0:
        return np.full(n, avg_bits), 0.0
    a = np.log2(C[live])
    if target >= n_live * hi:  # live columns saturate; dead ones absorb the rest (loss unaffected)
        bits[live] = hi
        if n_live < n:
            bits[~live] = lo + (target - n_live * hi) / (n - n_live)
        return bits, float(np.min(C[live]) * 4.0 ** (-hi))
    if target <= n_live * lo:
        return bits, float(np.max(C[live]) * 4.0 ** (-lo))
    t_lo = float(a.min() - 2.0 * (hi if np.isfinite(hi) else avg_bits + 1.0)) - 2.0
    t_hi = float(a.max() - 2.0 * lo) + 2.0
    for _ in range(200):  # the budget sum is non-increasing in t
        mid = 0.5 * (t_lo + t_hi)
        if _budget_sum(a, mid, lo, hi) > target:
            t_lo = mid
        else:
            t_hi = mid
        if t_hi - t_lo <= 1e-13 * max(1.0, abs(mid)):
            break
    t = _finish_level(a, 0.5 * (t_lo + t_hi), lo, hi, target)
    bits[live] = np.clip(0.5 * (a - t), lo, hi)
    return bits, float(2.0**t)


@njit(cache=True)
def _sum_at(a, t, lo, hi):
    s = 0.0
    for j in range(a.size):
        v = 0.5 * (a[j] - t)
        if v < lo:
            v = lo
        elif v > hi:
            v = hi
        s += v
    return s


@njit(cache=True)
def _waterfill_numba(C, avg_bits, lo, hi):
    n = C.size
    bits = np.full(n, lo)
    n_live = 0
    for j in range(n):
        if C[j] > 0.0:
            n_live += 1
    target = n * avg_bits - lo * (n - n_live)
    if n_live == 0:
        return np.full(n, avg_bits), 0.0
    a = np.empty(n_live)
    idx = np.empty(n_live, dtype=np.int64)
    k = 0
    cmin = np.inf
    cmax = 0.0
    for j in range(n):
        if C[j] > 0.0:
            a[k] = np.log2(C[j])
            idx[k] = j
            k += 1
            cmin = min(cmin, C[j])
            cmax = max(cmax, C[j])
    if target >= n_live * hi:
        for k in range(n_live):
            bits[idx[k]] = hi
        if n_live < n:
            extra = (target - n_live * hi) / (n - n_live)
            for j in range(n):
                if C[j] <= 0.0:
                    bits[j] = lo + extra
        return bits, cmin * 4.0 ** (-hi)
    if target <= n_live * lo:
        return bits, cmax * 4.0 ** (-lo)
    # Breakpoints of the piecewise-linear, non-increasing budget f(t): a_j - 2 hi and a_j - 2 lo.
    finite_hi = np.isfinite(hi)
    nb = 2 * n_live if finite_hi else n_live
    p = np.empty(nb)
    for k in range(n_live):
        p[k] = a[k] - 2.0 * lo
        if finite_hi:
            p[n_live + k] = a[k] - 2.0 * hi
    p.sort()
    # Find the last breakpoint with f(p) >= target (f(p[0]) >= target holds since target < n_live*hi).
    left = 0
    right = nb - 1
    t_probe = 0.0
    if _sum_at(a, p[0], lo, hi) < target:  # only without an upper bound: every column is free
        left = 0
        right = 0
        t_probe = p[0] - 1.0
    elif _sum_at(a, p[right], lo, hi) >= target:
        left = right
    else:
        while right - left > 1:
            mid = (left + right) // 2
            if _sum_at(a, p[mid], lo, hi) >= target:
                left = mid
            else:
                right = mid
    if right > left:
        t_probe = p[left] + 0.5 * (p[right] - p[left])
    elif _sum_at(a, p[0], lo, hi) >= target:
        t_probe = p[left] + 1.0
    # Exact solve on the piece containing t_probe.
    s_free = 0.0
    n_free = 0
    fixed = 0.0
    for k in range(n_live):
        v = 0.5 * (a[k] - t_probe)
        if v <= lo:
            fixed += lo
        elif v >= hi:
            fixed += hi
        else:
            s_free += a[k]
            n_free += 1
    t = p[left]
    if n_free > 0:
        t = (s_free - 2.0 * (target - fixed)) / n_free
    for k in range(n_live):
        v = 0.5 * (a[k] - t)
        if v < lo:
            v = lo
        elif v > hi:
            v = hi
        bits[idx[k]] = v
    return bits, 2.0**t


def waterfill_bits(C, avg_bits: float, *, b_min: float = 0.0, b_max: float | None = None,
                   engine: str = "numba") -> WaterfillResult:
    r"""Optimal real bit-widths for the loss model :math:`\sum_j C_j 2^{-2b_j}` (reverse water-filling).

    Solves the convex program

    .. math:: \min_b \sum_j C_j 4^{-b_j}\quad\text{s.t.}\quad \tfrac1n\textstyle\sum_j b_j=\bar R,\;
              b_{\min}\le b_j\le b_{\max},

    whose unique solution is :math:`b_j=\mathrm{clip}(\tfrac12\log_2(C_j/\theta), b_{\min}, b_{\max})`
    with the water level :math:`\theta` fixed by the budget (chapter *BAQ*, theorem
    :prf:ref:`baq-thm-waterfill`; without active bounds it is the geometric-mean form
    :math:`b_j=\bar R+\tfrac12\log_2(C_j/\mathrm{GM}(C))`). Columns with :math:`C_j=0` get
    :math:`b_{\min}` (unless every live column is already at :math:`b_{\max}`).

    Parameters
    ----------
    C : array_like, shape (n,)
        Sensitivities, finite and :math:`\ge 0`.
    avg_bits : float
        Average bits per column :math:`\bar R`, in ``[b_min, b_max]``.
    b_min, b_max : float, optional
        Bounds on every :math:`b_j` (``b_max=None``: no upper bound).
    engine : {"numba", "numpy"}
        ``"numba"``: sorted-breakpoint kernel, :math:`O(n\log n)`; ``"numpy"``: bisection reference.

    Returns
    -------
    WaterfillResult
        ``bits`` (float array) and ``theta`` (the water level).

    Examples
    --------
    >>> res = waterfill_bits([16.0, 1.0], 2.0)
    >>> res.bits.round(12).tolist(), round(res.theta, 12)
    ([3.0, 1.0], 0.25)
    """
    C = _check_sensitivities(C)
    avg, lo, hi = _check_bounds(avg_bits, b_min, b_max)
    kernel = _waterfill_numba if check_choice(engine, "engine", ENGINES) == "numba" else _waterfill_numpy
    bits, theta = kernel(C, avg, lo, hi)
    return WaterfillResult(np.asarray(bits, dtype=np.float64), float(theta))


def closed_form_interior(C, avg_bits: float) -> np.ndarray:
    r"""Unconstrained optimum :math:`b_j=\bar R+\tfrac12\log_2(C_j/\mathrm{GM}(C))` (no bounds).

    Only valid when no bound would be active; entries may be negative. Requires :math:`C_j>0`.

    Parameters
    ----------
    C : array_like, shape (n,)
        Sensitivities, finite and :math:`>0`.
    avg_bits : float
        Average bits :math:`\bar R` (any finite real).

    Returns
    -------
    ndarray of float, shape (n,)
        The bit-widths (eq. :eq:`baq-interior`).

    Examples
    --------
    >>> closed_form_interior([16.0, 1.0], 2.0).tolist()
    [3.0, 1.0]
    """
    C = check_array(C, "C", ndim=1, low=0.0, low_open=True, min_size=1)
    avg = check_real(avg_bits, "avg_bits")
    a = np.log2(C)
    return avg + 0.5 * (a - a.mean())


def _scaled_losses(C: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``C * 2**(-2 b)`` with ``0`` where ``C = 0`` (never ``0 * inf``), and, where the product of the two
    factors overflows although the value does not, the value formed in logs; ``inf`` only beyond the float range."""
    with np.errstate(over="ignore", divide="ignore"):
        d = C * np.exp2(-2.0 * b)
        bad = ~np.isfinite(d) & (C > 0)
        if bad.any():
            d[bad] = np.exp2(np.log2(C[bad]) - 2.0 * b[bad])
    d[C == 0] = 0.0
    return d


def expected_loss(C, bits) -> float:
    r"""Model loss :math:`\sum_j C_j 2^{-2b_j}` (eq. :eq:`baq-model`).

    Parameters
    ----------
    C : array_like, shape (n,)
        Sensitivities, finite and :math:`\ge0`.
    bits : array_like, shape (n,)
        Bit-widths (real), finite.

    Returns
    -------
    float
        :math:`\sum_j C_j2^{-2b_j}`; ``inf`` only when the true value exceeds the float range.

    Examples
    --------
    >>> expected_loss([16.0, 1.0], [2.0, 2.0])
    1.0625
    """
    C = _check_sensitivities(C)
    b = check_array(bits, "bits", ndim=1)
    if b.shape != C.shape:
        raise ValueError(f"bits must have the shape of C {C.shape}, got {b.shape}")
    with np.errstate(over="ignore"):
        return float(np.sum(_scaled_losses(C, b)))


def gm_am_gain(C) -> float:
    r"""Predicted loss ratio optimal/uniform, :math:`\mathrm{GM}(C)/\mathrm{AM}(C)\in(0,1]`.

    Exact when the interior closed form is optimal (theorem :prf:ref:`baq-thm-gain`). Computed in the log
    domain, so it neither overflows nor underflows. Requires :math:`C_j>0`.

    Parameters
    ----------
    C : array_like, shape (n,)
        Sensitivities, finite and :math:`>0`.

    Returns
    -------
    float
        :math:`\mathrm{GM}(C)/\mathrm{AM}(C)` (eq. :eq:`baq-gain`).

    Examples
    --------
    >>> round(gm_am_gain([16.0, 1.0]), 12)
    0.470588235294
    """
    C = check_array(C, "C", ndim=1, low=0.0, low_open=True, min_size=1)
    logs = np.log(C)
    m = logs.max()
    # GM/AM = exp(mean log C) / mean C; factor out max(C) for stability.
    return float(np.exp(logs.mean() - m) / np.mean(np.exp(logs - m)))


def kkt_residuals(C, bits, avg_bits: float, theta: float, *, b_min: float = 0.0,
                  b_max: float | None = None) -> KKTResiduals:
    r"""KKT residuals of the water-filling program for a candidate ``(bits, theta)``.

    With multiplier :math:`\mu=2\ln 2\,\theta` for the budget, stationarity reads
    :math:`2\ln2\,C_j4^{-b_j}=\mu-\nu_j+\eta_j` with :math:`\nu_j\ge0` (active lower bound) and
    :math:`\eta_j\ge0` (active upper bound). Returned fields:

    ``budget``  :math:`|\sum_j b_j-n\bar R|/n`;
    ``stationarity``  max relative :math:`|C_j4^{-b_j}-\theta|/\theta` over free columns;
    ``dual_lower``  min of :math:`(\theta-C_j4^{-b_j})/\theta` over columns at ``b_min`` (should be :math:`\ge0`);
    ``dual_upper``  min of :math:`(C_j4^{-b_j}-\theta)/\theta` over columns at ``b_max`` (should be :math:`\ge0`);
    ``bounds``  largest bound violation.

    Parameters
    ----------
    C : array_like, shape (n,)
        Sensitivities, finite and :math:`\ge0`.
    bits : array_like, shape (n,)
        Candidate bit-widths.
    avg_bits : float
        Budget :math:`\bar R`, in ``[b_min, b_max]``.
    theta : float
        Candidate water level, :math:`>0`.
    b_min, b_max : float, optional
        Bounds as in :func:`waterfill_bits`.

    Returns
    -------
    KKTResiduals
        The residuals listed above; ``inf`` only where :math:`C_j2^{-2b_j}/\theta` exceeds the float range.

    Examples
    --------
    >>> r = kkt_residuals([16.0, 1.0], [3.0, 1.0], 2.0, 0.25)
    >>> r.budget, r.stationarity
    (0.0, 0.0)
    """
    C = _check_sensitivities(C)
    b = check_array(bits, "bits", ndim=1)
    if b.shape != C.shape:
        raise ValueError(f"bits must have the shape of C {C.shape}, got {b.shape}")
    avg, lo, hi = _check_bounds(avg_bits, b_min, b_max)
    theta = check_real(theta, "theta", low=0.0, low_open=True)
    d = _scaled_losses(C, b)
    tol = 1e-12
    at_lo = b <= lo + tol
    at_hi = b >= hi - tol
    free = ~(at_lo | at_hi)
    with np.errstate(over="ignore"):
        rel = d / theta - 1.0
    return KKTResiduals(
        budget=float(abs(b.sum() - b.size * avg) / b.size),
        stationarity=float(np.max(np.abs(rel[free]))) if free.any() else 0.0,
        dual_lower=float(np.min(-rel[at_lo])) if at_lo.any() else 0.0,
        dual_upper=float(np.min(rel[at_hi])) if at_hi.any() else 0.0,
        bounds=float(max(0.0, lo - b.min(), b.max() - hi)),
    )


# --------------------------------------------------------------------------------------------
# integer allocation
# --------------------------------------------------------------------------------------------
def _integer_bits_numpy(C, total, lo, hi):
    """Reference: keep the ``total - n lo`` largest increments over *all* levels (theorem :prf:ref:`baq-thm-greedy`).

    Increment ``b -> b+1`` of column j lowers the model loss by ``(3/4) C_j 4^(-b)``; its log2 key
    ``log2 C_j - 2b`` decreases in b, so the largest-r set is prefix-closed per column.
    """
    n = C.size
    levels = hi - lo
    r = total - n * lo
    with np.errstate(divide="ignore"):
        a = np.log2(C)
    keys = a[:, None] - 2.0 * (lo + np.arange(levels))[None, :]
    flat = keys.ravel()
    if r == 0:
        return np.full(n, lo, dtype=np.int64)
    # stable order: larger key first, ties by (column, level) so the result is deterministic
    order = np.lexsort((np.arange(flat.size), -flat))
    chosen = order[:r]
    counts = np.bincount(chosen // levels, minlength=n)
    return (lo + counts).astype(np.int64)


@njit(cache=True)
def _heap_push(keys, cols, size, key, col):
    i = size
    keys[i] = key
    cols[i] = col
    while i > 0:
        parent = (i - 1) // 2
        if keys[parent] > keys[i] or (keys[parent] == keys[i] and cols[parent] <= cols[i]):
            break
        keys[parent], keys[i] = keys[i], keys[parent]
        cols[parent], cols[i] = cols[i], cols[parent]
        i = parent
    return size + 1


@njit(cache=True)
def _heap_pop(keys, cols, size):
    key = keys[0]
    col = cols[0]
    size -= 1
    keys[0] = keys[size]
    cols[0] = cols[size]
    i = 0
    while True:
        lft = 2 * i + 1
        rgt = lft + 1
        best = i
        if lft < size and (keys[lft] > keys[best] or (keys[lft] == keys[best] and cols[lft] < cols[best])):
            best = lft
        if rgt < size and (keys[rgt] > keys[best] or (keys[rgt] == keys[best] and cols[rgt] < cols[best])):
            best = rgt
        if best == i:
            break
        keys[best], keys[i] = keys[i], keys[best]
        cols[best], cols[i] = cols[i], cols[best]
        i = best
    return key, col, size


@njit(cache=True)
def _integer_bits_numba(C, total, lo, hi):
    """Greedy marginal allocation started from the floor of the continuous optimum.

    Floors never exceed an integer optimum (proof in the chapter), so only additions are needed;
    a max-heap keyed by ``log2 C_j - 2 b_j`` hands out the remaining bits one at a time.
    """
    n = C.size
    cont, _ = _waterfill_numba(C, total / n, float(lo), float(hi))
    b = np.empty(n, dtype=np.int64)
    used = 0
    for j in range(n):
        v = int(np.floor(cont[j] + 1e-12))  # guard: 2.9999999999999996 is the integer 3
        if v < lo:
            v = lo
        if v > hi:
            v = hi
        b[j] = v
        used += v
    keys = np.empty(n)
    cols = np.empty(n, dtype=np.int64)
    size = 0
    for j in range(n):
        if b[j] < hi:
            k = np.log2(C[j]) - 2.0 * b[j] if C[j] > 0.0 else -np.inf
            size = _heap_push(keys, cols, size, k, j)
    while used < total:
        _, j, size = _heap_pop(keys, cols, size)
        b[j] += 1
        used += 1
        if b[j] < hi:
            k = np.log2(C[j]) - 2.0 * b[j] if C[j] > 0.0 else -np.inf
            size = _heap_push(keys, cols, size, k, j)
    # Floor-rounding guard: if the floors overshoot (only through rounding), take back the cheapest bits.
    while used > total:
        worst = -1
        wkey = np.inf
        for j in range(n):
            if b[j] > lo:
                k = np.log2(C[j]) - 2.0 * (b[j] - 1) if C[j] > 0.0 else -np.inf
                if k < wkey or worst < 0:
                    wkey = k
                    worst = j
        b[worst] -= 1
        used -= 1
    return b


def integer_bits(C, avg_bits: float, *, b_min: int = 0, b_max: int = 8, engine: str = "numba") -> np.ndarray:
    r"""Optimal integer bit-widths with the exact budget :math:`\sum_j b_j=n\bar R`.

    Minimises :math:`\sum_j C_j4^{-b_j}` over integers :math:`b_{\min}\le b_j\le b_{\max}` with
    :math:`\sum_j b_j=n\bar R`. Greedy marginal allocation is exactly optimal for this separable,
    discretely convex problem (chapter *BAQ*, theorem :prf:ref:`baq-thm-greedy`).

    Parameters
    ----------
    C : array_like, shape (n,)
        Sensitivities, finite and :math:`\ge0`.
    avg_bits : float
        Average bits; :math:`n\bar R` must be an integer (within :math:`10^{-9}`) and lie in
        :math:`[n b_{\min}, n b_{\max}]`.
    b_min, b_max : int
        Integer bounds, ``0 <= b_min <= b_max <= 32``.
    engine : {"numba", "numpy"}
        ``"numba"``: floor of the water-filling solution plus a heap; ``"numpy"``: largest
        increments over all levels. Both are optimal; they can differ only between tied allocations.

    Returns
    -------
    ndarray of int64, shape (n,)

    Raises
    ------
    ValueError
        if :math:`n\bar R` is not an integer, or the budget is infeasible.

    Examples
    --------
    >>> integer_bits([16.0, 4.0, 1.0], 2.0).tolist()
    [3, 2, 1]
    """
    C = _check_sensitivities(C)
    lo = check_int(b_min, "b_min", low=0, high=32)
    hi = check_int(b_max, "b_max", low=lo, high=32)
    avg = check_real(avg_bits, "avg_bits", low=lo, high=hi)
    n = C.size
    total_f = n * avg
    total = int(round(total_f))
    if abs(total_f - total) > 1e-9:
        raise ValueError(
            f"n * avg_bits must be an integer for an exact integer budget; got n={n}, "
            f"avg_bits={avg!r} (n * avg_bits = {total_f!r}); choose avg_bits as a multiple of 1/n"
        )
    kernel = _integer_bits_numba if check_choice(engine, "engine", ENGINES) == "numba" else _integer_bits_numpy
    return kernel(C, total, lo, hi)


# --------------------------------------------------------------------------------------------
# the published rule (for comparison only)
# --------------------------------------------------------------------------------------------
def official_levels(column_loss, ref_bits: float, *, exponent: float = 1.95, eps: float = 1e-8,
                    live_mask=None) -> np.ndarray:
    r"""Level counts by the rule in the official BAQ code (`gptq_baq.py`), re-implemented independently.

    .. math:: x_j=2^{R_{\rm ref}}\big(\ell_j/\mathrm{GM}_\varepsilon(\ell)\big)^{1/\vartheta},\qquad
              N_j=\mathrm{round}(\max(x_j,1)),

    with :math:`\mathrm{GM}_\varepsilon(\ell)=\exp(\mathrm{mean}\,\log(\ell_j+\varepsilon))`; the
    column then gets :math:`\log_2N_j` bits (one level = zero bits: the column is pruned). The clamp
    does not lower the water level again, so the budget is met only approximately; columns with
    :math:`\ell_j=0` drag the geometric mean down and every other column gains levels.

    ``live_mask`` (our fix, not in the official code): apply the rule to the live columns only, with
    the target rescaled to :math:`R_{\rm ref}n/n_{\rm live}` in the geometric sense
    (:math:`2^{R_{\rm ref}n/n_{\rm live}}`), and give dead columns one level.

    Parameters
    ----------
    column_loss : array_like, shape (n,)
        GPTQ column losses :math:`\ell_j\ge0` at ``ref_bits`` uniform bits.
    ref_bits : float
        :math:`R_{\rm ref}`, in ``[0, 30]``.
    exponent : float
        :math:`\vartheta>0` (1.95 in the official code).
    eps : float
        :math:`\varepsilon>0` inside the geometric mean (``1e-8`` in the official code).
    live_mask : array_like of bool, shape (n,), optional
        Columns to which the rule is applied (our fix); ``None`` reproduces the official code.

    Returns
    -------
    ndarray of int64, shape (n,)
        Level counts :math:`N_j\ge1`; the column gets :math:`\log_2N_j` bits.

    Raises
    ------
    ValueError
        for out-of-range arguments, or when a level count would exceed :math:`2^{62}` ("level counts
        exceed 2**62": a large ``ref_bits`` with few live columns, or a small ``exponent`` with widely
        spread losses).

    Examples
    --------
    >>> official_levels([1.0, 1.0, 1.0], 2.0).tolist()
    [4, 4, 4]
    """
    ell = check_array(column_loss, "column_loss", ndim=1, low=0.0, min_size=1)
    R = check_real(ref_bits, "ref_bits", low=0.0, high=30.0)
    th = check_real(exponent, "exponent", low=0.0, low_open=True)
    eps = check_real(eps, "eps", low=0.0, low_open=True)
    n = ell.size
    if live_mask is None:
        live = np.ones(n, dtype=bool)
        target = R
    else:
        live = np.asarray(live_mask)
        if live.dtype != bool or live.shape != ell.shape:
            raise ValueError(f"live_mask must be a boolean array of shape {ell.shape}")
        n_live = int(live.sum())
        if n_live == 0:
            raise ValueError("live_mask must mark at least one live column")
        target = R * n / n_live
    gm = np.exp(np.mean(np.log(ell[live] + eps)))
    with np.errstate(over="ignore"):
        x = 2.0**target * (ell[live] / gm) ** (1.0 / th)
    if not np.all(x < 2.0**62):  # also catches inf: int64 conversion would wrap around silently
        raise ValueError("level counts exceed 2**62 (ref_bits too large for the live fraction, or a "
                         "small exponent with widely spread losses)")
    N = np.ones(n, dtype=np.int64)
    N[live] = np.round(np.maximum(x, 1.0)).astype(np.int64)
    return N
