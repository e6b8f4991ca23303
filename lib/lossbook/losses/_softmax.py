"""Numerically stable softmax family.

With ``m = max(z)`` along the axis and ``s = sum(exp(z - m))`` (every exponent <= 0, the largest
term exactly ``exp(0) = 1``, so ``1 <= s <= n``):

* ``logsumexp(z) = m + log(s)``;
* ``log_softmax(z) = (z - m) - log(s)``, formed from the *shifted* scores. The textbook
  ``z - logsumexp(z)`` subtracts two large, nearly equal numbers when the scores share a large
  offset: at ``z = [1e16, 1e16]`` it gives ``[0, 0]`` instead of ``[-log 2, -log 2]``, because
  ``logsumexp(z) = 1e16 + log 2`` rounds to ``1e16``;
* ``softmax(z) = exp(z - m) / s``.

A shifted score ``z - m`` below the float range (entries ~1e308 below the max) is ``-inf``, its
correctly rounded value; ``exp`` of it is exactly 0.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .._validate import ENGINES, check_array, check_axis, check_choice

__all__ = ["log_softmax", "logsumexp", "logsumexp_rows", "softmax"]


def _check_scores(z, axis) -> tuple[np.ndarray, int]:
    z = check_array(z, "z")
    if z.ndim == 0:
        raise ValueError("z must have at least one dimension, got a scalar")
    ax = check_axis(axis, "axis", z.ndim)
    if z.shape[ax] == 0:
        raise ValueError(f"z must have at least one entry along axis {axis} (the log of an empty sum is -inf), "
                         f"got shape {z.shape}")
    return z, ax


def _shifted(z: np.ndarray, ax: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(m, z - m, log s)`` along ``ax`` (keepdims), the pieces of every function here."""
    m = np.max(z, axis=ax, keepdims=True)
    with np.errstate(over="ignore"):  # z - m below -1.8e308 is -inf, its correctly rounded value
        d = z - m
    return m, d, np.log(np.sum(np.exp(d), axis=ax, keepdims=True))


def logsumexp(z, axis: int = -1) -> np.ndarray:
    """Stable ``log(sum(exp(z), axis))`` for finite real scores.

    Parameters
    ----------
    z : array_like
        Finite real scores, at least one entry along ``axis`` (other axes may be empty).
    axis : int
        Axis to reduce.

    Returns
    -------
    numpy.ndarray
        ``max(z) + log(sum(exp(z - max(z))))``, the shape of ``z`` without ``axis``.

    Examples
    --------
    >>> float(logsumexp([1000.0, 1000.0]))  # naive exp overflows
    1000.6931471805599
    """
    z, ax = _check_scores(z, axis)
    if z.size == 0:
        return np.empty(z.shape[:ax] + z.shape[ax + 1:])
    m, _, log_s = _shifted(z, ax)
    return np.squeeze(m + log_s, axis=ax)


def log_softmax(z, axis: int = -1) -> np.ndarray:
    """Stable log-softmax ``(z - m) - log(sum(exp(z - m)))`` along ``axis`` (``m = max z``).

    Accurate to a few ulps whatever the offset shared by the scores (``log_softmax([1e300] * 3)``
    is ``-log 3`` three times). An entry more than ~1.8e308 below the largest score is ``-inf``,
    the correctly rounded value of a number below the float range.

    Parameters
    ----------
    z : array_like
        Finite real scores, at least one entry along ``axis``.
    axis : int
        Axis of the classes.

    Returns
    -------
    numpy.ndarray
        Same shape as ``z``; entries ``<= 0``.

    Examples
    --------
    >>> log_softmax([1e16, 1e16])          # z - logsumexp(z) would give [0, 0]
    array([-0.69314718, -0.69314718])
    """
    z, ax = _check_scores(z, axis)
    if z.size == 0:
        return z.copy()
    _, d, log_s = _shifted(z, ax)
    return d - log_s


def softmax(z, axis: int = -1) -> np.ndarray:
    """Softmax ``exp(z - m) / sum(exp(z - m))`` along ``axis`` (``m = max z``).

    Parameters
    ----------
    z : array_like
        Finite real scores, at least one entry along ``axis``.
    axis : int
        Axis of the classes.

    Returns
    -------
    numpy.ndarray
        Same shape as ``z``; entries in ``[0, 1]`` summing to 1 along ``axis``.

    Examples
    --------
    >>> softmax([1e16, 1e16])
    array([0.5, 0.5])
    """
    z, ax = _check_scores(z, axis)
    if z.size == 0:
        return z.copy()
    _, d, _ = _shifted(z, ax)
    e = np.exp(d)
    return e / np.sum(e, axis=ax, keepdims=True)


@njit(cache=True)
def _logsumexp_rows_numba(z):
    n, k = z.shape
    out = np.empty(n)
    for i in range(n):
        m = z[i, 0]
        for j in range(1, k):
            if z[i, j] > m:
                m = z[i, j]
        s = 0.0
        for j in range(k):
            s += np.exp(z[i, j] - m)
        out[i] = m + np.log(s)
    return out


def _logsumexp_rows_numpy(z):
    return logsumexp(z, axis=1)


def logsumexp_rows(z, *, engine: str = "numba") -> np.ndarray:
    """Row-wise stable log-sum-exp of a 2-D array; ``engine`` is ``"numba"`` or ``"numpy"``.

    Parameters
    ----------
    z : array_like, shape (n, k)
        Finite real scores, ``k >= 1`` columns; ``n = 0`` rows gives an empty result (both engines).
    engine : {"numba", "numpy"}

    Returns
    -------
    numpy.ndarray, shape (n,)

    Examples
    --------
    >>> logsumexp_rows([[0.0, 0.0], [1e300, 1e300]], engine="numpy")
    array([6.93147181e-001, 1.00000000e+300])
    """
    z = check_array(z, "z", ndim=2)
    if z.shape[1] < 1:
        raise ValueError(f"z must have at least one column (the log of an empty sum is -inf), got shape {z.shape}")
    if check_choice(engine, "engine", ENGINES) == "numba":
        return _logsumexp_rows_numba(np.ascontiguousarray(z))
    if z.shape[0] == 0:
        return np.empty(0)
    return _logsumexp_rows_numpy(z)
