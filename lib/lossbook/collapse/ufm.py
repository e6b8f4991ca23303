r"""The unconstrained-features model (UFM) with weight decay, and its "vicinity" variant.

Objective (Tirer, Huang & Niles-Weed 2023, eqs. (1)-(2); chapter :eq:`ncp-eq-vicinity`), with
``H`` of shape ``(d, N)``, ``W`` of shape ``(K, d)``, one-hot labels ``Y`` of shape ``(K, N)``:

.. math::
   f(W, H; H_0) = \frac{1}{2N}\|WH - Y\|_F^2 + \frac{\lambda_W}{2K}\|W\|_F^2
   + \frac{\lambda_H}{2N}\|H\|_F^2 + \frac{\beta}{2N}\|H - H_0\|_F^2 .

``beta = 0`` is the plain UFM. For balanced classes ``N = K n``.

Entries of ``W``, ``H``, ``H0`` and the decays ``lam_w``, ``lam_h``, ``beta`` must not exceed
:data:`MAX_MAGNITUDE` (``1e50``) in magnitude (here, in :mod:`.perturbation` and :mod:`.flow`);
larger inputs are refused with the limit in the message.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from scipy.optimize import minimize

from .._rng import SeedLike, as_generator
from .._validate import check_array, check_int, check_real
from .etf import orthonormal_frame

#: Largest magnitude accepted for the entries of ``W``, ``H``, ``H0`` and for the decays ``lam_w``,
#: ``lam_h``, ``beta`` of the unconstrained-features functions (this module, :mod:`.perturbation`,
#: :mod:`.flow`): the objective and its Hessian multiply up to six of them, which stays inside the
#: float range; larger inputs are refused with this limit in the message.
MAX_MAGNITUDE = 1e50

__all__ = [
    "UFMMinimizer",
    "VicinitySolution",
    "central_path_field",
    "class_indicator",
    "optimal_classifier",
    "solve_vicinity",
    "ufm_minimizer",
    "ufm_objective",
]


class UFMMinimizer(NamedTuple):
    """Closed-form global minimiser of the UFM (theorem :prf:ref:`ncp-thm-ufm`)."""

    W: np.ndarray
    H: np.ndarray
    Y: np.ndarray
    rho: float
    objective: float
    collapsed_to_zero: bool


class VicinitySolution(NamedTuple):
    """Minimiser of the vicinity objective and its certificate (gradient norm of the reduced loss)."""

    W: np.ndarray
    H: np.ndarray
    objective: float
    grad_norm: float


def class_indicator(K: int, n: int) -> np.ndarray:
    r"""Labels :math:`Y = I_K \otimes \mathbf 1_n^\top` of shape ``(K, K n)``, columns ordered by class.

    Examples
    --------
    >>> class_indicator(2, 2)
    array([[1., 1., 0., 0.],
           [0., 0., 1., 1.]])
    """
    K = check_int(K, "K", low=1)
    n = check_int(n, "n", low=1)
    return np.kron(np.eye(K), np.ones((1, n)))


def _check_Y(Y) -> np.ndarray:
    Y = check_array(Y, "Y", ndim=2, min_size=2)
    if Y.shape[0] < 2 or not np.all((Y == 0) | (Y == 1)) or not np.all(Y.sum(axis=0) == 1):
        raise ValueError("Y must be a (K, N) one-hot label matrix with K >= 2 (each column one 1, rest 0)")
    if np.any(Y.sum(axis=1) == 0):
        raise ValueError("Y must contain every class at least once (a row of Y is all zero)")
    return Y


def _check_HY(H, Y, name="H"):
    Y = _check_Y(Y)
    H = check_array(H, name, ndim=2, min_size=1, max_abs=MAX_MAGNITUDE)
    if H.shape[1] != Y.shape[1]:
        raise ValueError(f"{name} must have N = {Y.shape[1]} columns (one per column of Y), got {H.shape[1]}")
    return H, Y


def _decay(value, name: str, *, low_open: bool) -> float:
    return check_real(value, name, low=0.0, low_open=low_open, high=MAX_MAGNITUDE)


def ufm_objective(W, H, Y, lam_w: float, lam_h: float, *, beta: float = 0.0, H0=None) -> float:
    """Value of the (vicinity) UFM objective of the module docstring (chapter eq. :eq:`ncp-eq-vicinity`).

    **Units of the decays.** The penalties are ``lam_w/(2K) ||W||^2 + lam_h/(2N) ||H||^2`` (the paper's
    normalisation), whereas :func:`lossbook.collapse.deep_linear_objective` uses ``lam/2 ||W||^2`` and
    ``lam_h/2 ||H||^2``: the same problem at ``M = 1`` needs decays ``K`` and ``N`` times larger here
    (:func:`lossbook.collapse.ufm_decays_from_deep_linear`).

    Parameters
    ----------
    W : array_like, shape (K, d)
        Classifier.
    H : array_like, shape (d, N)
        Features, one column per sample.
    Y : array_like, shape (K, N)
        One-hot labels.
    lam_w, lam_h : float
        Weight decays, ``>= 0``.
    beta : float
        Vicinity weight, ``>= 0``; ``0`` gives the plain UFM.
    H0 : array_like, shape (d, N), optional
        Anchor features; required when ``beta > 0``.

    Returns
    -------
    float

    Examples
    --------
    >>> m = ufm_minimizer(3, 2, 4, 0.5, 0.2)
    >>> c = (0.5 * 0.2) ** 0.5
    >>> bool(np.isclose(ufm_objective(m.W, m.H, m.Y, 0.5, 0.2), c - c**2 / 2))
    True
    """
    H, Y = _check_HY(H, Y)
    K, N = Y.shape
    W = check_array(W, "W", ndim=2, max_abs=MAX_MAGNITUDE)
    if W.shape != (K, H.shape[0]):
        raise ValueError(f"W must have shape (K, d) = ({K}, {H.shape[0]}) (K rows of Y, d rows of H), got {W.shape}")
    lam_w = _decay(lam_w, "lam_w", low_open=False)
    lam_h = _decay(lam_h, "lam_h", low_open=False)
    beta = _decay(beta, "beta", low_open=False)
    if beta > 0:
        if H0 is None:
            raise ValueError("H0 is required when beta > 0")
        H0 = check_array(H0, "H0", ndim=2, max_abs=MAX_MAGNITUDE)
        if H0.shape != H.shape:
            raise ValueError(f"H0 must have the shape of H {H.shape}, got {H0.shape}")
    return _objective(W, H, Y, lam_w, lam_h, beta, H0)


def _objective(W, H, Y, lam_w, lam_h, beta, H0):
    """The vicinity objective without input checks (also at iterates beyond MAX_MAGNITUDE)."""
    K, N = Y.shape
    with np.errstate(over="ignore", invalid="ignore"):
        val = (np.sum((W @ H - Y) ** 2) + lam_h * np.sum(H**2)) / (2 * N) + lam_w * np.sum(W**2) / (2 * K)
        if beta > 0:
            val += beta * np.sum((H - H0) ** 2) / (2 * N)
    return float(val)


def ufm_minimizer(K: int, n: int, d: int, lam_w: float, lam_h: float, *, seed: SeedLike | None = None) -> UFMMinimizer:
    r"""Global minimiser of the balanced UFM in closed form (Tirer & Bruna 2022, Thm 3.1).

    With :math:`c = \sqrt{\lambda_W\lambda_H}`: if :math:`c < 1`,
    :math:`H^* = \sqrt\rho\, R\otimes\mathbf 1_n^\top` and
    :math:`W^* = \sqrt{\lambda_H/\lambda_W}\,\sqrt\rho\,R^\top` with
    :math:`\rho = (1-c)\sqrt{\lambda_W/\lambda_H}` and any :math:`R` with :math:`R^\top R = I_K`;
    the objective is :math:`c - c^2/2`. If :math:`c \ge 1` the minimiser is ``(0, 0)`` with objective 1/2.
    (Chapter theorem :prf:ref:`ncp-thm-ufm`.)

    Parameters
    ----------
    K, n, d : int
        Classes (``K >= 2``), samples per class (``n >= 1``), feature dimension (``d >= K``).
    lam_w, lam_h : float
        Weight decay on ``W`` and ``H``, both ``> 0``.
    seed : optional
        If given, ``R`` is a Haar-random orthonormal frame; otherwise the first ``K`` axes.

    Returns
    -------
    UFMMinimizer
        ``W`` (K, d), ``H`` (d, Kn), ``Y`` (K, Kn), ``rho`` (squared norm of each class mean),
        ``objective`` and ``collapsed_to_zero``.

    Examples
    --------
    >>> m = ufm_minimizer(3, 2, 4, lam_w=0.5, lam_h=0.2)
    >>> bool(np.allclose(m.H[:, ::2].T @ m.H[:, ::2], m.rho * np.eye(3)))
    True
    """
    K = check_int(K, "K", low=2)
    n = check_int(n, "n", low=1)
    d = check_int(d, "d", low=K)
    lam_w = _decay(lam_w, "lam_w", low_open=True)
    lam_h = _decay(lam_h, "lam_h", low_open=True)
    if seed is not None:
        as_generator(seed)  # validated even when the minimiser is zero and the frame unused
    c = np.sqrt(lam_w) * np.sqrt(lam_h)
    Y = class_indicator(K, n)
    if c >= 1.0:
        return UFMMinimizer(np.zeros((K, d)), np.zeros((d, K * n)), Y, 0.0, 0.5, True)
    # ratios of square roots: lam_w / lam_h itself may overflow or underflow
    rho = (1.0 - c) * (np.sqrt(lam_w) / np.sqrt(lam_h))
    R = orthonormal_frame(K, d, seed=seed)
    H = np.sqrt(rho) * np.kron(R, np.ones((1, n)))
    W = (np.sqrt(lam_h) / np.sqrt(lam_w)) * np.sqrt(rho) * R.T
    return UFMMinimizer(W, H, Y, float(rho), float(c - c**2 / 2), False)


def _wstar(H, Y, lam_w):
    K, N = Y.shape
    A = H @ H.T + (N / K) * lam_w * np.eye(H.shape[0])
    try:
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            W = np.linalg.solve(A, H @ Y.T).T
    except np.linalg.LinAlgError:
        W = None
    if W is None or not np.all(np.isfinite(W)):
        raise ValueError("H H^T + (N/K) lam_w I is singular in floating point (lam_w is negligible next to "
                         "||H||^2): the best classifier W*(H) is not determined; increase lam_w")
    return W


def optimal_classifier(H, Y, lam_w: float) -> np.ndarray:
    r"""Best classifier for fixed features, :math:`W^*(H) = YH^\top(HH^\top + \tfrac NK\lambda_W I_d)^{-1}`.

    For balanced classes :math:`N/K = n` (chapter eq. :eq:`ncp-eq-wstar`).

    Parameters
    ----------
    H : array_like, shape (d, N)
        Features.
    Y : array_like, shape (K, N)
        One-hot labels.
    lam_w : float
        Classifier weight decay, ``> 0``.

    Returns
    -------
    ndarray, shape (K, d)

    Raises
    ------
    ValueError
        If ``H H^T + (N/K) lam_w I`` is singular in floating point (``lam_w`` negligible next to
        ``||H||^2``): the best classifier is then not determined.

    Examples
    --------
    >>> m = ufm_minimizer(3, 2, 4, 0.5, 0.2)
    >>> bool(np.allclose(optimal_classifier(m.H, m.Y, 0.5), m.W))
    True
    """
    H, Y = _check_HY(H, Y)
    lam_w = _decay(lam_w, "lam_w", low_open=True)
    return _wstar(H, Y, lam_w)


def _field_numpy(H, Y, lam_w, lam_h):
    W = _wstar(H, Y, lam_w)
    return W.T @ (W @ H - Y) + lam_h * H


def central_path_field(H, Y, lam_w: float, lam_h: float) -> np.ndarray:
    r"""Right-hand side of the central path, :math:`G(H) = N\nabla\mathcal L(H) = W^{*\top}(W^*H - Y) + \lambda_H H`.

    :math:`\mathcal L(H) = f(W^*(H), H)` is the UFM loss with the classifier eliminated; the
    formula follows from the envelope theorem (chapter eq. :eq:`ncp-eq-field`).

    Parameters
    ----------
    H : array_like, shape (d, N)
        Features.
    Y : array_like, shape (K, N)
        One-hot labels.
    lam_w : float
        Classifier weight decay, ``> 0``.
    lam_h : float
        Feature weight decay, ``>= 0``.

    Returns
    -------
    ndarray, shape (d, N)

    Raises
    ------
    ValueError
        If ``H H^T + (N/K) lam_w I`` is singular in floating point (``lam_w`` negligible next to
        ``||H||^2``): the best classifier is then not determined.

    Examples
    --------
    >>> m = ufm_minimizer(3, 2, 4, 0.5, 0.2)
    >>> float(np.abs(central_path_field(m.H, m.Y, 0.5, 0.2)).max()) < 1e-12   # a stationary point
    True
    """
    H, Y = _check_HY(H, Y)
    lam_w = _decay(lam_w, "lam_w", low_open=True)
    lam_h = _decay(lam_h, "lam_h", low_open=False)
    return _field_numpy(H, Y, lam_w, lam_h)


def solve_vicinity(
    H0,
    Y,
    lam_w: float,
    lam_h: float,
    beta: float,
    *,
    H_init=None,
    gtol: float = 1e-12,
    newton_steps: int = 3,
) -> VicinitySolution:
    r"""Minimise the vicinity objective :math:`f(W, H; H_0)` (eq. (2) of the paper).

    ``W`` is eliminated (:func:`optimal_classifier`); the reduced problem
    :math:`\mathcal L(H) + \frac{\beta}{2N}\|H - H_0\|_F^2` is minimised by SciPy's L-BFGS-B from
    ``H_init`` (default ``H0``) with the envelope-theorem gradient
    :math:`(G(H) + \beta(H - H_0))/N`, then polished by a few Newton steps on the stationarity
    equation with its exact Jacobian, the reduced Hessian
    :math:`A_{HH}-A_{HW}A_{WW}^{-1}A_{HW}^\top` of :mod:`lossbook.collapse.perturbation`
    (only for ``d N <= 2000``). The returned ``grad_norm`` (max-abs of :math:`G(H)+\beta(H-H_0)`) certifies
    the solution: check it, the problem is non-convex for small ``beta``.

    Parameters
    ----------
    H0 : array_like, shape (d, N)
        Anchor features.
    Y : array_like, shape (K, N)
        One-hot labels.
    lam_w : float
        Classifier weight decay, ``> 0``.
    lam_h : float
        Feature weight decay, ``>= 0``.
    beta : float
        Vicinity weight, ``> 0``.
    H_init : array_like, shape (d, N), optional
        Starting point (default ``H0``).
    gtol : float
        Target max-abs residual, ``> 0`` (passed to L-BFGS-B as ``gtol / N``).
    newton_steps : int
        Maximum number of Newton polishing steps, ``>= 0``.

    Returns
    -------
    VicinitySolution

    Raises
    ------
    ValueError
        If ``H H^T + (N/K) lam_w I`` is singular in floating point (``lam_w`` negligible next to
        ``||H||^2``): the best classifier is then not determined.

    Examples
    --------
    >>> m = ufm_minimizer(3, 2, 4, 0.5, 0.2)
    >>> s = solve_vicinity(m.H + 0.1, m.Y, 0.5, 0.2, beta=50.0)
    >>> s.grad_norm < 1e-10
    True
    """
    H0, Y = _check_HY(H0, Y, "H0")
    lam_w = _decay(lam_w, "lam_w", low_open=True)
    lam_h = _decay(lam_h, "lam_h", low_open=False)
    beta = _decay(beta, "beta", low_open=True)
    gtol = check_real(gtol, "gtol", low=0.0, low_open=True)
    newton_steps = check_int(newton_steps, "newton_steps", low=0)
    d, N = H0.shape
    if H_init is None:
        H_init = H0
    H_init = check_array(H_init, "H_init", ndim=2, max_abs=MAX_MAGNITUDE)
    if H_init.shape != H0.shape:
        raise ValueError(f"H_init must have the shape of H0 {H0.shape}, got {H_init.shape}")

    def resid(h):
        H = h.reshape(d, N, order="F")
        return (_field_numpy(H, Y, lam_w, lam_h) + beta * (H - H0)).ravel(order="F")

    def fun(h):
        H = h.reshape(d, N, order="F")
        W = _wstar(H, Y, lam_w)
        return _objective(W, H, Y, lam_w, lam_h, beta, H0), resid(h) / N

    res = minimize(fun, H_init.ravel(order="F"), jac=True, method="L-BFGS-B",
                   options={"gtol": gtol / N, "ftol": 0.0, "maxiter": 20000, "maxcor": 30})
    h = res.x
    if d * N <= 2000:
        from .perturbation import _reduced_hessian  # local import: perturbation imports this module

        for _ in range(newton_steps):
            r = resid(h)
            if np.max(np.abs(r)) < 1e-14:
                break
            H = h.reshape(d, N, order="F")
            try:
                J = _reduced_hessian(_wstar(H, Y, lam_w), H, Y, lam_w, lam_h, beta)
                with np.errstate(all="ignore"):
                    step = np.linalg.solve(J, r)
            except (np.linalg.LinAlgError, ValueError):  # singular Jacobian: keep the L-BFGS point
                break
            if not np.all(np.isfinite(step)):
                break
            h = h - step
    H = h.reshape(d, N, order="F")
    W = _wstar(H, Y, lam_w)
    return VicinitySolution(W, H, _objective(W, H, Y, lam_w, lam_h, beta, H0),
                            float(np.max(np.abs(resid(h)))))
