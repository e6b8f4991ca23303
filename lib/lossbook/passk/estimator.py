"""The unbiased pass@k estimator from ``n`` samples of which ``c`` are correct.

Chapter :doc:`/book/consistency/pass-at-n-confidence`. With ``n`` sampled answers to one problem,
``c`` of them correct, the probability that a uniformly random ``k``-subset of the samples holds at
least one correct answer is ``1 - C(n-c, k) / C(n, k)`` (eq. :eq:`pak-estimator`). It is an unbiased
estimate of the coverage ``1 - (1-p)^k`` (:prf:ref:`pak-thm-unbiased`). The binomial ratio is the
product ``prod_{i<k} (1 - c/(n-i))`` (eq. :eq:`pak-product`), summed here in logs with ``log1p`` and
turned back with ``expm1``, so nothing overflows and small estimates keep their relative accuracy.
"""

from __future__ import annotations

import numpy as np

from .._validate import check_int

__all__ = ["pass_at_k", "pass_at_k_plugin"]


def _int_array(value, name: str, low: int) -> np.ndarray:
    arr = np.asarray(value)
    if arr.dtype == bool or arr.dtype.kind not in "iu":
        # floats are refused even when integral: a count held as a float has usually been computed, and
        # 2.9999999 silently truncated is the bug this catches
        raise TypeError(f"{name} must hold integers, got dtype={arr.dtype}")
    arr = arr.astype(np.int64)
    if arr.size and arr.min() < low:
        raise ValueError(f"{name} must be >= {low}, got {arr.min()}")
    return arr


def _check_nck(n, c, k):
    k = check_int(k, "k", low=1)
    n = _int_array(n, "n", 1)
    c = _int_array(c, "c", 0)
    try:
        n, c = np.broadcast_arrays(n, c)
    except ValueError:
        raise ValueError(f"n and c must broadcast together, got shapes {np.shape(n)} and {np.shape(c)}") from None
    if np.any(c > n):
        raise ValueError("c must lie in [0, n] (c counts correct answers among the n samples)")
    if np.any(k > n):
        raise ValueError(f"k must lie in [1, n]; got k={k} with smallest n={n.min()}")
    return n, c, k


def _scalar_or_array(out: np.ndarray, *inputs) -> float | np.ndarray:
    return float(out) if all(np.ndim(x) == 0 for x in inputs) else out


def pass_at_k(n, c, k: int) -> float | np.ndarray:
    """Unbiased estimate of pass@k from ``n`` samples of which ``c`` are correct.

    Implements ``1 - C(n-c, k) / C(n, k)`` (eq. :eq:`pak-estimator`) as
    ``-expm1(sum_{i<k} log1p(-c / (n - i)))`` (eq. :eq:`pak-product`): no binomial coefficient is
    formed, so ``n`` in the millions is fine, and an estimate near zero keeps its relative accuracy.
    Unbiased for ``1 - (1-p)^k`` when ``c ~ Binomial(n, p)`` (:prf:ref:`pak-thm-unbiased`).

    Parameters
    ----------
    n : int or array_like of int
        Number of samples per problem, ``n >= 1``.
    c : int or array_like of int
        Number of correct samples, ``0 <= c <= n``; broadcast against ``n``.
    k : int
        Budget of the pass@k metric, ``1 <= k <= n``.

    Returns
    -------
    float or numpy.ndarray
        The estimate in ``[0, 1]``: a float for scalar ``n`` and ``c``, else an array of their
        broadcast shape (average it over problems for the benchmark's pass@k).

    Raises
    ------
    TypeError
        if ``n``, ``c`` or ``k`` are not integers.
    ValueError
        if ``c`` is outside ``[0, n]`` or ``k`` outside ``[1, n]``.

    Examples
    --------
    >>> pass_at_k(10, 0, 5), pass_at_k(10, 6, 5)      # no correct sample; fewer than k wrong ones
    (0.0, 1.0)
    >>> round(pass_at_k(4, 1, 2), 12)                 # 3 of the 6 pairs hold the correct answer
    0.5
    >>> pass_at_k(200, [0, 1, 200], 10).round(4).tolist()
    [0.0, 0.05, 1.0]
    """
    n_arr, c_arr, k = _check_nck(n, c, k)
    out = np.empty(n_arr.shape, dtype=np.float64)
    flat_n, flat_c, flat_out = n_arr.ravel(), c_arr.ravel(), out.reshape(-1)
    pairs, inverse = np.unique(np.stack([flat_n, flat_c]), axis=1, return_inverse=True)
    values = np.empty(pairs.shape[1])
    for j, (nn, cc) in enumerate(pairs.T):
        if cc == 0:
            values[j] = 0.0
        elif nn - cc < k:  # every k-subset contains a correct sample
            values[j] = 1.0
        else:
            # log C(n-c,k)/C(n,k) = sum_{i<k} log(1 - c/(n-i))   (eq. pak-product)
            log_q = np.sum(np.log1p(-cc / (nn - np.arange(k, dtype=np.float64))))
            values[j] = -np.expm1(log_q)
    flat_out[:] = values[np.asarray(inverse).ravel()]
    return _scalar_or_array(out, n, c)


def pass_at_k_plugin(n, c, k: int) -> float | np.ndarray:
    """The plug-in estimate ``1 - (1 - c/n)^k``: biased low for ``k >= 2`` (chapter exercise).

    Shown in the chapter beside :func:`pass_at_k` to make its bias visible: ``(1-x)^k`` is convex,
    so by Jensen's inequality the plug-in estimate underestimates ``1 - (1-p)^k`` on average.

    Parameters
    ----------
    n, c, k
        As in :func:`pass_at_k`.

    Returns
    -------
    float or numpy.ndarray

    Raises
    ------
    TypeError, ValueError
        As in :func:`pass_at_k`.

    Examples
    --------
    >>> round(pass_at_k_plugin(4, 1, 2), 12)       # 1 - (3/4)^2, below the unbiased 0.5
    0.4375
    """
    n_arr, c_arr, k = _check_nck(n, c, k)
    with np.errstate(divide="ignore"):  # c = n: log 0 = -inf, and the estimate is 1
        out = -np.expm1(k * np.log1p(-c_arr / n_arr.astype(np.float64)))
    return _scalar_or_array(out, n, c)
