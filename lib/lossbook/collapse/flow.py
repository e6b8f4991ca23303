r"""Gradient flow along the central path, :math:`\dot H_t = -G(H_t)`, integrated by classical RK4.

:math:`G(H) = W^*(H)^\top(W^*(H)H - Y) + \lambda_H H` with
:math:`W^*(H) = YH^\top(HH^\top + \tfrac NK\lambda_W I)^{-1}` (Tirer, Huang & Niles-Weed 2023,
eq. (4); chapter eq. :eq:`ncp-eq-flow`). Along the path the within-class trace ratio
:math:`\widetilde{NC}_1 = \operatorname{tr}\Sigma_W/\operatorname{tr}\Sigma_B` is recorded.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit

from .._validate import ENGINES, MAX_LOOP, check_choice, check_int, check_real, check_size
from .ufm import _check_HY, _decay

__all__ = ["CentralPath", "central_path_flow"]


class CentralPath(NamedTuple):
    """Recorded central-path trajectory (``t[0] = 0`` is the initial point)."""

    t: np.ndarray
    nc1_trace: np.ndarray
    trace_sigma_w: np.ndarray
    trace_sigma_b: np.ndarray
    H: np.ndarray


# --- NumPy reference --------------------------------------------------------------------------

def _field_numpy(H, Y, nlam, lam_h):
    A = H @ H.T + nlam * np.eye(H.shape[0])
    Wt = np.linalg.solve(A, H @ Y.T)
    return Wt @ (Wt.T @ H - Y) + lam_h * H


def _traces_numpy(H, y, counts):
    K = counts.shape[0]
    means = np.stack([H[:, y == k].mean(axis=1) for k in range(K)], axis=1)
    trw = np.sum((H - means[:, y]) ** 2) / H.shape[1]
    hG = H.mean(axis=1)
    trb = np.sum((means - hG[:, None]) ** 2) / K
    return trw, trb


def _flow_numpy(H0, Y, y, counts, nlam, lam_h, dt, n_steps, every):
    H = H0.copy()
    n_rec = n_steps // every + 1
    trw = np.empty(n_rec)
    trb = np.empty(n_rec)
    trw[0], trb[0] = _traces_numpy(H, y, counts)
    r = 1
    for s in range(1, n_steps + 1):
        k1 = _field_numpy(H, Y, nlam, lam_h)
        k2 = _field_numpy(H - 0.5 * dt * k1, Y, nlam, lam_h)
        k3 = _field_numpy(H - 0.5 * dt * k2, Y, nlam, lam_h)
        k4 = _field_numpy(H - dt * k3, Y, nlam, lam_h)
        H = H - dt / 6.0 * (k1 + 2.0 * k2 + 2.0 * k3 + k4)
        if s % every == 0:
            trw[r], trb[r] = _traces_numpy(H, y, counts)
            r += 1
    return H, trw, trb


# --- Numba kernel -----------------------------------------------------------------------------

@njit(cache=True)
def _field_numba(H, Y, nlam, lam_h, out):
    d = H.shape[0]
    A = H @ H.T
    for i in range(d):
        A[i, i] += nlam
    Wt = np.linalg.solve(A, H @ Y.T)  # (d, K) = W*^T
    R = Wt.T @ H - Y
    out[:, :] = Wt @ R + lam_h * H


@njit(cache=True)
def _traces_numba(H, y, counts):
    d, N = H.shape
    K = counts.shape[0]
    means = np.zeros((d, K))
    for j in range(N):
        for i in range(d):
            means[i, y[j]] += H[i, j]
    for k in range(K):
        for i in range(d):
            means[i, k] /= counts[k]
    trw = 0.0
    for j in range(N):
        for i in range(d):
            e = H[i, j] - means[i, y[j]]
            trw += e * e
    trb = 0.0
    for i in range(d):
        g = 0.0
        for j in range(N):
            g += H[i, j]
        g /= N
        for k in range(K):
            e = means[i, k] - g
            trb += e * e
    return trw / N, trb / K


@njit(cache=True)
def _flow_numba(H0, Y, y, counts, nlam, lam_h, dt, n_steps, every):
    H = H0.copy()
    d, N = H.shape
    k1 = np.empty((d, N))
    k2 = np.empty((d, N))
    k3 = np.empty((d, N))
    k4 = np.empty((d, N))
    n_rec = n_steps // every + 1
    trw = np.empty(n_rec)
    trb = np.empty(n_rec)
    trw[0], trb[0] = _traces_numba(H, y, counts)
    r = 1
    for s in range(1, n_steps + 1):
        _field_numba(H, Y, nlam, lam_h, k1)
        _field_numba(H - 0.5 * dt * k1, Y, nlam, lam_h, k2)
        _field_numba(H - 0.5 * dt * k2, Y, nlam, lam_h, k3)
        _field_numba(H - dt * k3, Y, nlam, lam_h, k4)
        H = H - dt / 6.0 * (k1 + 2.0 * k2 + 2.0 * k3 + k4)
        if s % every == 0:
            trw[r], trb[r] = _traces_numba(H, y, counts)
            r += 1
    return H, trw, trb


#: Length of the stability interval of classical RK4 on the negative real axis.
RK4_STABILITY = 2.78


def _check_solvable(H, nlam):
    """The Numba solver gives no LinAlgError: refuse a numerically singular start as the NumPy one does."""
    A = H @ H.T + nlam * np.eye(H.shape[0])
    if np.linalg.cond(A) > 1e15:
        raise ValueError("H H^T + (N/K) lam_w I is singular in floating point at H0 (lam_w negligible next to "
                         "||H0||^2); increase lam_w")


def central_path_flow(
    H0,
    Y,
    lam_w: float,
    lam_h: float,
    T: float,
    dt: float,
    *,
    record_every: int = 1,
    engine: str = "numba",
) -> CentralPath:
    r"""Integrate :math:`\dot H = -G(H)` from ``H0`` to time ``T`` with fixed-step RK4.

    Parameters
    ----------
    H0 : array_like, shape (d, N)
        Initial features (columns are samples).
    Y : array_like, shape (K, N)
        One-hot labels (e.g. :func:`lossbook.collapse.class_indicator`).
    lam_w : float
        Classifier weight decay, ``> 0`` (needed for :math:`W^*` to exist for every ``H``).
    lam_h : float
        Feature weight decay, ``>= 0``.
    T, dt : float
        Final time and step, ``0 < dt <= T``; ``round(T / dt)`` steps are taken.
    record_every : int
        Record traces every this many steps (``>= 1``).
    engine : {"numba", "numpy"}
        Numba kernel (default) or the pure-NumPy reference; a test pins them together.

    Returns
    -------
    CentralPath
        Times, :math:`\widetilde{NC}_1`, :math:`\operatorname{tr}\Sigma_W`,
        :math:`\operatorname{tr}\Sigma_B` at the recorded steps, and the final ``H``.

    Raises
    ------
    ValueError
        Up front when ``T / dt`` (times ``d N / 16``) exceeds the limit of ``MAX_LOOP / 10`` steps,
        or when ``dt * lam_h`` exceeds the RK4 stability limit 2.78;
        when ``H0`` has all class means equal (the trace ratio is undefined); when
        ``H H^T + (N/K) lam_w I`` is singular in floating point.
    FloatingPointError
        If the path diverges (non-finite features; reduce ``dt``).

    Examples
    --------
    >>> from lossbook.collapse import class_indicator
    >>> rng = np.random.default_rng(0)
    >>> Y = class_indicator(3, 4)
    >>> path = central_path_flow(rng.normal(size=(5, 12)), Y, 0.1, 0.05, T=2.0, dt=0.01, engine="numpy")
    >>> bool(np.all(np.diff(path.nc1_trace) < 0))
    True
    """
    H0, Y = _check_HY(H0, Y, "H0")
    lam_w = _decay(lam_w, "lam_w", low_open=True)
    lam_h = _decay(lam_h, "lam_h", low_open=False)
    T = check_real(T, "T", low=0.0, low_open=True)
    dt = check_real(dt, "dt", low=0.0, high=T, low_open=True)
    every = check_int(record_every, "record_every", low=1)
    check_choice(engine, "engine", ENGINES)
    # the Jacobian of -G has eigenvalues <= -lam_h: explicit RK4 is stable only for dt lam_h <= 2.78
    if dt * lam_h > RK4_STABILITY:
        raise ValueError(f"dt * lam_h = {dt * lam_h:.3g} exceeds the RK4 stability limit {RK4_STABILITY} (the "
                         "integration would be unstable); reduce dt")
    with np.errstate(over="ignore"):
        ratio = T / dt
    # the number of RK4 steps, times the work of one step, is refused up front above the loop limit
    d0, n0 = H0.shape
    check_size(ratio * max(1, d0 * n0 // 16), "T / dt (times d N / 16)", limit=MAX_LOOP // 10, what="steps")
    n_steps = int(round(ratio))
    K, N = Y.shape
    y = np.argmax(Y, axis=0).astype(np.int64)
    counts = Y.sum(axis=1)
    args = (np.ascontiguousarray(H0), np.ascontiguousarray(Y), y, counts, N / K * lam_w, lam_h, dt, n_steps, every)
    kernel = _flow_numba if check_choice(engine, "engine", ENGINES) == "numba" else _flow_numpy
    _check_solvable(args[0], args[4])
    if _traces_numpy(args[0], y, counts)[1] == 0.0:
        raise ValueError("H0 has all class means equal (tr Sigma_B = 0); the trace ratio is undefined")
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        try:
            H, trw, trb = kernel(*args)
        except np.linalg.LinAlgError:  # the compiled solver refuses non-finite matrices: a diverged path
            raise FloatingPointError("central path diverged (non-finite or singular features); reduce dt") from None
    if not (np.all(np.isfinite(trw)) and np.all(np.isfinite(trb))):
        raise FloatingPointError("central path diverged (non-finite features); reduce dt")
    if np.any(trb == 0.0):
        raise ValueError("H0 has all class means equal (tr Sigma_B = 0); the trace ratio is undefined")
    t = dt * every * np.arange(trw.shape[0])
    return CentralPath(t, trw / trb, trw, trb, H)
