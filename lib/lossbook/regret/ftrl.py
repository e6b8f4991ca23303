"""FTRL steps over the probability simplex: log-barrier (any-sign losses) and negative entropy.

Log-barrier FTRL (chapter eq. :eq:`amdp-lb-step`) returns

    x = argmin_{x in simplex} <x, L> - (1/eta) sum_a log x_a .

The KKT conditions give ``x_a = 1 / (eta (L_a - min L) + mu)`` with the scalar multiplier ``mu``
fixed by ``sum_a x_a = 1``. Subtracting ``min L`` first makes ``mu`` lie in ``[1, A]`` whatever the
sign or size of ``L`` (chapter eq. :eq:`amdp-lb-kkt`), and Newton's method on the convex, decreasing
``f(mu) = sum_a 1/(z_a + mu) - 1`` started at ``mu = 1`` (where ``f >= 0``) increases
monotonically to the root without overshooting.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .._validate import ENGINES, check_array, check_choice, check_real

__all__ = ["log_barrier_ftrl_step", "negative_entropy_ftrl_step"]


@njit(cache=True)
def _log_barrier_row_numba(c, eta, out):
    A = c.shape[0]
    m = c[0]
    for a in range(1, A):
        if c[a] < m:
            m = c[a]
    mu = 1.0
    for _ in range(200):
        f = -1.0
        g = 0.0
        for a in range(A):
            r = 1.0 / (eta * (c[a] - m) + mu)
            f += r
            g += r * r
        step = f / g
        mu += step
        if step <= 1e-16 * mu:
            break
    s = 0.0
    for a in range(A):
        out[a] = 1.0 / (eta * (c[a] - m) + mu)
        s += out[a]
    for a in range(A):
        out[a] /= s


@njit(cache=True)
def _log_barrier_rows_numba(C, eta):
    n, A = C.shape
    out = np.empty((n, A))
    for i in range(n):
        _log_barrier_row_numba(C[i], eta, out[i])
    return out


def _log_barrier_rows_numpy(C, eta):
    with np.errstate(over="ignore"):  # eta (L - min L) beyond the float range: that action's weight is 0, as in numba
        z = eta * (C - C.min(axis=1, keepdims=True))
    mu = np.ones((C.shape[0], 1))
    for _ in range(200):
        r = 1.0 / (z + mu)
        step = (r.sum(axis=1, keepdims=True) - 1.0) / (r * r).sum(axis=1, keepdims=True)
        mu = mu + step
        if np.all(step <= 1e-16 * mu):
            break
    x = 1.0 / (z + mu)
    return x / x.sum(axis=1, keepdims=True)


def log_barrier_ftrl_step(cumulative_loss, eta: float, *, engine: str = "numba") -> np.ndarray:
    """Log-barrier FTRL distribution for cumulative losses of any sign and magnitude.

    Solves ``argmin_{x in simplex} <x, L> - (1/eta) sum_a log x_a`` (chapter eq. :eq:`amdp-lb-step`)
    exactly: ``x_a = 1/(eta (L_a - min L) + mu)`` with ``mu in [1, A]`` found by monotone Newton
    iterations (eq. :eq:`amdp-lb-kkt`).

    Parameters
    ----------
    cumulative_loss : array_like, shape (A,) or (n, A)
        Cumulative loss ``L`` (one row per state); finite, any sign; ``A >= 2``.
    eta : float
        Learning rate, > 0.
    engine : {"numba", "numpy"}
        Compiled kernel or the NumPy reference.

    Returns
    -------
    ndarray
        Distribution(s) of the same shape as ``cumulative_loss``.

    Examples
    --------
    >>> x = log_barrier_ftrl_step([0.0, 1.0, -1e6], eta=1.0)
    >>> bool(np.isclose(x.sum(), 1.0)), bool(x[2] > 0.99), bool(x[0] > 0)
    (True, True, True)
    """
    C = check_array(cumulative_loss, "cumulative_loss", ndim=(1, 2))
    if C.shape[-1] < 2:
        raise ValueError(f"cumulative_loss must have at least 2 actions along its last axis, got {C.shape}")
    eta = check_real(eta, "eta", low=0.0, low_open=True)
    rows = np.ascontiguousarray(C.reshape(-1, C.shape[-1]))
    kernel = _log_barrier_rows_numba if check_choice(engine, "engine", ENGINES) == "numba" else _log_barrier_rows_numpy
    out = kernel(rows, eta)
    return out.reshape(C.shape)


def negative_entropy_ftrl_step(cumulative_loss, eta: float) -> np.ndarray:
    """Exponential-weights (negative-entropy FTRL) distribution ``x propto exp(-eta L)``.

    Solves ``argmin_{x in simplex} <x, L> + (1/eta) sum_a x_a log x_a`` (chapter eq.
    :eq:`amdp-ew-step`); computed as a softmax shifted by ``min L`` so that nothing overflows.

    Parameters
    ----------
    cumulative_loss : array_like, shape (A,) or (n, A)
        Cumulative loss ``L`` (one row per state); finite, any sign; ``A >= 2``.
    eta : float
        Learning rate, > 0.

    Returns
    -------
    ndarray
        Distribution(s) of the same shape as ``cumulative_loss``.

    Examples
    --------
    >>> negative_entropy_ftrl_step([0.0, np.log(3.0)], eta=1.0)
    array([0.75, 0.25])
    """
    C = check_array(cumulative_loss, "cumulative_loss", ndim=(1, 2))
    if C.shape[-1] < 2:
        raise ValueError(f"cumulative_loss must have at least 2 actions along its last axis, got {C.shape}")
    eta = check_real(eta, "eta", low=0.0, low_open=True)
    w = np.exp(-eta * (C - C.min(axis=-1, keepdims=True)))
    return w / w.sum(axis=-1, keepdims=True)
