"""Overflow-free spherical Bessel/Hankel ratio tables (chapter section "Stable evaluation").

Spherical Hankel functions ``h_n(x)`` grow like ``(2n-1)!!/x^{n+1}`` and ``j_n(x)`` shrinks like
``x^n/(2n+1)!!`` for ``n >> |x|``; ``j_n`` of a lossy argument also carries ``exp(|Im x|)``. Direct
evaluation therefore overflows (``scipy.special.spherical_yn(400, 5.0)`` is ``-inf``). The series
only ever needs *ratios* of functions of the same order at two arguments, so we tabulate

* ``q_n = h_n(x)/h_{n-1}(x)`` by the upward recurrence ``q_{n+1} = (2n+1)/x - 1/q_n``, ``q_1 = 1/x - i``
  (stable: ``|h_n|`` increases with ``n``);
* ``p_n = j_n(x)/j_{n-1}(x)`` by the downward continued fraction ``p_n = 1/((2n+1)/x - p_{n+1})``
  started well above ``max(N, |x|)`` (Miller's algorithm: ``j_n`` is the minimal solution);

and the Riccati log-derivatives ``xi_n'/xi_n = 1/q_n - n/x`` and ``psi_n'/psi_n = 1/p_n - n/x``.
All functions use the ``exp(-i w t)`` convention, ``h_n = h_n^{(1)}``.

Each function is plain Python on scalars and arrays; the ``_numba`` twins are the same source
compiled with ``numba.njit(cache=True)`` on first call (nothing compiles at import).
"""

from __future__ import annotations

import cmath

import numpy as np
from numba import njit

__all__: list[str] = []


def _log_sin(z):
    # log sin z without overflow for large |Im z|: sin z = e^{-iz} (e^{2iz} - 1)/(2i) for Im z >= 0.
    if abs(z.imag) < 30.0:
        return cmath.log(cmath.sin(z))
    if z.imag > 0:
        return -1j * z + cmath.log((cmath.exp(2j * z) - 1.0) / 2j)
    return 1j * z + cmath.log((1.0 - cmath.exp(-2j * z)) / 2j)


def _log_j0(z):
    """log j_0(z) = log(sin z / z) for complex z != 0."""
    return _log_sin(z) - cmath.log(z)


def _h_table(x, N):
    """For real x > 0: q[n] = h_n(x)/h_{n-1}(x), dxi[n] = xi_n'(x)/xi_n(x), logh[n] = log h_n(x), n <= N."""
    q = np.zeros(N + 1, dtype=np.complex128)
    dxi = np.zeros(N + 1, dtype=np.complex128)
    logh = np.zeros(N + 1, dtype=np.complex128)
    # h_0 = -i e^{ix}/x, xi_0 = -i e^{ix}: xi_0'/xi_0 = i.
    logh[0] = 1j * (x - 0.5 * np.pi) - np.log(x)
    dxi[0] = 1j
    qn = 1.0 / x - 1j
    for n in range(1, N + 1):
        if n > 1:
            qn = (2.0 * n - 1.0) / x - 1.0 / qn
        q[n] = qn
        dxi[n] = 1.0 / qn - n / x
        logh[n] = logh[n - 1] + cmath.log(qn)
    return q, dxi, logh


def _j_table(z, N):
    """For complex z != 0: p[n] = j_n(z)/j_{n-1}(z), dpsi[n] = psi_n'(z)/psi_n(z), logj[n] = log j_n(z)."""
    p = np.zeros(N + 1, dtype=np.complex128)
    dpsi = np.zeros(N + 1, dtype=np.complex128)
    logj = np.zeros(N + 1, dtype=np.complex128)
    start = N + 60 + int(abs(z))
    pk = z / (2.0 * start + 3.0)  # leading-order p_{start+1}; its error dies out going down
    for n in range(start, 0, -1):
        pk = 1.0 / ((2.0 * n + 1.0) / z - pk)
        if n <= N:
            p[n] = pk
    logj[0] = _log_j0(z)
    # psi_0 = sin z: psi_0'/psi_0 = cot z, bounded by ~1 once |Im z| is large.
    dpsi[0] = cmath.cos(z) / cmath.sin(z) if abs(z.imag) < 30.0 else (-1j if z.imag > 0 else 1j)
    for n in range(1, N + 1):
        dpsi[n] = 1.0 / p[n] - n / z
        logj[n] = logj[n - 1] + cmath.log(p[n])
    return p, dpsi, logj


_log_sin_numba = njit(cache=True)(_log_sin)


@njit(cache=True)
def _log_j0_numba(z):
    return _log_sin_numba(z) - cmath.log(z)


_h_table_numba = njit(cache=True)(_h_table)


@njit(cache=True)
def _j_table_numba(z, N):
    p = np.zeros(N + 1, dtype=np.complex128)
    dpsi = np.zeros(N + 1, dtype=np.complex128)
    logj = np.zeros(N + 1, dtype=np.complex128)
    start = N + 60 + int(abs(z))
    pk = z / (2.0 * start + 3.0)
    for n in range(start, 0, -1):
        pk = 1.0 / ((2.0 * n + 1.0) / z - pk)
        if n <= N:
            p[n] = pk
    logj[0] = _log_j0_numba(z)
    dpsi[0] = cmath.cos(z) / cmath.sin(z) if abs(z.imag) < 30.0 else (-1j if z.imag > 0 else 1j)
    for n in range(1, N + 1):
        dpsi[n] = 1.0 / p[n] - n / z
        logj[n] = logj[n - 1] + cmath.log(p[n])
    return p, dpsi, logj
