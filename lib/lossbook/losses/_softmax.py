"""Numerically stable softmax family.

``logsumexp(z) = m + log(sum(exp(z - m)))`` with ``m = max(z)``: every exponent is <= 0, so
nothing overflows, and the largest term contributes exactly ``exp(0) = 1``, so nothing underflows
to ``log(0)``.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .._validate import ENGINES, check_array, check_choice, check_int

__all__ = ["log_softmax", "logsumexp", "logsumexp_rows", "softmax"]


def logsumexp(z, axis: int = -1) -> np.ndarray:
    """Stable ``log(sum(exp(z), axis))`` for finite real scores.

    Examples
    --------
    >>> float(logsumexp([1000.0, 1000.0]))  # naive exp overflows
    1000.6931471805599
    """
    z = check_array(z, "z", min_size=1)
    m = np.max(z, axis=axis, keepdims=True)
    # z - m can overflow to -inf only for entries ~1e308 below the max; exp(-inf) = 0 is then exact
    with np.errstate(over="ignore"):
        out = m + np.log(np.sum(np.exp(z - m), axis=axis, keepdims=True))
    return np.squeeze(out, axis=axis)


def log_softmax(z, axis: int = -1) -> np.ndarray:
    """Stable ``z - logsumexp(z)`` along ``axis``."""
    z = check_array(z, "z", min_size=1)
    with np.errstate(over="ignore"):  # a result below -1.8e308 is -inf, its correctly rounded value
        return z - np.expand_dims(logsumexp(z, axis=axis), axis)


def softmax(z, axis: int = -1) -> np.ndarray:
    """Softmax along ``axis``, computed as ``exp(log_softmax(z))``."""
    return np.exp(log_softmax(z, axis=axis))


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
    """Row-wise stable log-sum-exp of a 2-D array; ``engine`` is ``"numba"`` or ``"numpy"``."""
    z = check_array(z, "z", ndim=2)
    check_int(z.shape[1], "z.shape[1]", low=1)
    if check_choice(engine, "engine", ENGINES) == "numba":
        return _logsumexp_rows_numba(np.ascontiguousarray(z))
    return _logsumexp_rows_numpy(z)
