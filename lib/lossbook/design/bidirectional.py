"""Bidirectional (forward + backward) design objective, adaptive mixing weight and optimiser.

The forward loss asks the kernel ridge model fitted on the offline data to predict the target score
at the designs, :eq:`bib-forward`; the backward loss asks the model fitted on the designs (labelled
with the target) to reproduce the offline scores, :eq:`bib-backward`. BIB and its predecessor BDI
minimise the mixture :eq:`bib-objective` over the designs.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .._validate import MAX_LOOP, check_array, check_int, check_real, check_size
from .kernels import (
    MAX_ABS_Y,
    RIDGE_RANGE,
    FourierFeatures,
    _check_x,
    _kernel,
    _ridge_eval,
    _ridge_fit,
)

__all__ = [
    "BidirectionalLoss",
    "DesignRun",
    "bidirectional_loss",
    "gamma_hypergradient",
    "optimize_designs",
]

MAX_STEPS = 10**5


class BidirectionalLoss(NamedTuple):
    """Value and design gradient of :eq:`bib-objective` and of its two parts."""

    value: float  #: gamma * forward + (1 - gamma) * backward
    gradient: np.ndarray  #: d value / d designs, shape (n_h, d)
    forward: float  #: forward loss :eq:`bib-forward`
    backward: float  #: backward loss :eq:`bib-backward`
    forward_gradient: np.ndarray  #: shape (n_h, d)
    backward_gradient: np.ndarray  #: shape (n_h, d)


class DesignRun(NamedTuple):
    """Result of :func:`optimize_designs`."""

    designs: np.ndarray  #: final designs, shape (n_h, d)
    gamma: np.ndarray  #: mixing weight used at each step, shape (steps,)
    forward_loss: np.ndarray  #: forward loss before each step, shape (steps,)
    backward_loss: np.ndarray  #: backward loss before each step, shape (steps,)


def _losses(kern, Xh, Xl, yl, fwd_fit, target, beta):
    """Forward and backward losses and their gradients (:prf:ref:`bib-prop-grad`)."""
    nh, nl = Xh.shape[0], Xl.shape[0]
    # forward: predictions of the offline model at the designs
    p, dp = _ridge_eval(kern, Xl, fwd_fit, Xh)
    res_f = p - target
    L_f = float(res_f @ res_f) / nh
    g_f = (2.0 / nh) * res_f[:, None] * dp
    # backward: the model fitted on (designs, target) predicts the offline scores
    A = kern.gram(Xh, Xh)
    A[np.diag_indices_from(A)] += beta
    a = np.linalg.solve(A, np.full(nh, target))
    K_lh = kern.gram(Xl, Xh)
    r = K_lh @ a - yl
    L_b = float(r @ r) / nl
    u = np.linalg.solve(A, K_lh.T @ r)
    g_b = (2.0 / nl) * (kern.weighted_grad(Xh, Xl, np.outer(a, r))
                        - kern.weighted_grad(Xh, Xh, np.outer(u, a) + np.outer(a, u)))
    return L_f, L_b, g_f, g_b


def _check_problem(designs, X_offline, y_offline, target, ridge, bandwidth, features, designs_name="designs"):
    Xl = _check_x(X_offline, "X_offline")
    d = Xl.shape[1]
    if Xl.shape[0] < 1:
        raise ValueError("X_offline must have at least one row")
    yl = check_array(y_offline, "y_offline", ndim=1, max_abs=MAX_ABS_Y)
    if yl.shape[0] != Xl.shape[0]:
        raise ValueError(f"y_offline has {yl.shape[0]} entries but X_offline has {Xl.shape[0]} rows")
    Xh = _check_x(designs, designs_name, d, "X_offline")
    if Xh.shape[0] < 1:
        raise ValueError(f"{designs_name} must have at least one row")
    t = check_real(target, "target", low=-MAX_ABS_Y, high=MAX_ABS_Y)
    beta = check_real(ridge, "ridge", low=RIDGE_RANGE[0], high=RIDGE_RANGE[1])
    kern = _kernel(bandwidth, features, d)
    n = Xl.shape[0] + Xh.shape[0]
    check_size(n * n * d, "designs and X_offline", what="pairwise differences")
    return Xh, Xl, yl, t, beta, kern


def _check_gamma(gamma, allow_adaptive=False):
    if allow_adaptive and isinstance(gamma, str):
        if gamma != "adaptive":
            raise ValueError(f"gamma must be a real in [0, 1] or 'adaptive', got {gamma!r}")
        return "adaptive"
    return check_real(gamma, "gamma", low=0.0, high=1.0)


def bidirectional_loss(designs, X_offline, y_offline, *, gamma: float = 0.5, target: float = 10.0,
                       ridge: float = 1e-6, bandwidth: float = 1.0,
                       features: FourierFeatures | None = None) -> BidirectionalLoss:
    r"""The bidirectional objective :eq:`bib-objective` and its gradient with respect to the designs.

    :math:`\mathcal L_\gamma = \gamma\,\mathcal L_{\rightarrow} + (1-\gamma)\,\mathcal L_{\leftarrow}`, with the
    forward loss :eq:`bib-forward` (offline model predicts ``target`` at the designs) and the backward
    loss :eq:`bib-backward` (design model predicts the offline scores). Both are kernel ridge closed
    forms (as in the official BIB/BDI code, which uses a relative ridge ``1e-6 tr(K)/n``; here the
    ridge is absolute). Gradients are analytic, :prf:ref:`bib-prop-grad`.

    Parameters
    ----------
    designs : array_like, shape (n_h, d)
        Candidate designs :math:`X_h` (modulus at most ``1e100``).
    X_offline : array_like, shape (n_l, d)
    y_offline : array_like, shape (n_l,)
        Offline data (scores of modulus at most ``1e30``; standardise them).
    gamma : float, default 0.5
        Mixing weight in ``[0, 1]``; 1 is forward only (gradient ascent on the proxy towards
        ``target``), 0 backward only, 1/2 is BDI.
    target : float, default 10.0
        The score :math:`y_h` asked of every design (the official code's value, in standardised units).
    ridge : float, default 1e-6
        :math:`\beta` in ``[1e-12, 1e12]`` for both mappings.
    bandwidth : float, default 1.0
        RBF bandwidth in ``[1e-6, 1e6]`` (ignored with ``features``).
    features : FourierFeatures or None
        Use the finite random-feature kernel instead of the RBF kernel.

    Returns
    -------
    BidirectionalLoss

    Raises
    ------
    ValueError, TypeError
        On malformed inputs, disagreeing shapes or out-of-range parameters.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> Xl = rng.standard_normal((20, 2)); yl = Xl[:, 0]
    >>> out = bidirectional_loss(Xl[:3] + 0.1, Xl, yl, gamma=1.0, target=2.0, ridge=1e-3)
    >>> out.gradient.shape, out.value == out.forward
    ((3, 2), True)
    """
    g = _check_gamma(gamma)
    Xh, Xl, yl, t, beta, kern = _check_problem(designs, X_offline, y_offline, target, ridge, bandwidth, features)
    kern.cache(Xl)
    fwd = _ridge_fit(kern, Xl, yl, beta)
    L_f, L_b, g_f, g_b = _losses(kern, Xh, Xl, yl, fwd, t, beta)
    return BidirectionalLoss(g * L_f + (1 - g) * L_b, g * g_f + (1 - g) * g_b, L_f, L_b, g_f, g_b)


def gamma_hypergradient(proxy_gradient, forward_gradient, backward_gradient, *, step_size: float) -> float:
    r"""Exact derivative in :math:`\gamma` of a proxy score after one gradient step, :eq:`bib-hypergrad`.

    For :math:`X' = X - \eta\,(\gamma g_\rightarrow + (1-\gamma) g_\leftarrow)` and any differentiable proxy
    :math:`F`, :math:`\partial_\gamma F(X') = -\eta\,\langle\nabla F(X'), g_\rightarrow - g_\leftarrow\rangle`
    (:prf:ref:`bib-prop-hyper`); the adaptive rule of the official BIB code follows this quantity
    uphill.

    Parameters
    ----------
    proxy_gradient : array_like, shape (n_h, d)
        :math:`\nabla F` evaluated at the look-ahead designs :math:`X'`.
    forward_gradient, backward_gradient : array_like, shape (n_h, d)
        :math:`g_\rightarrow`, :math:`g_\leftarrow` at the current designs (:func:`bidirectional_loss`).
    step_size : float
        :math:`\eta > 0` (at most ``1e6``).

    Returns
    -------
    float

    Raises
    ------
    ValueError, TypeError
        On malformed or disagreeing arrays or a step size out of range.

    Examples
    --------
    >>> gamma_hypergradient([[1.0, 0.0]], [[2.0, 0.0]], [[0.0, 0.0]], step_size=0.5)
    -1.0
    """
    pg = check_array(proxy_gradient, "proxy_gradient", ndim=2, max_abs=1e100)
    gf = check_array(forward_gradient, "forward_gradient", ndim=2, max_abs=1e100)
    gb = check_array(backward_gradient, "backward_gradient", ndim=2, max_abs=1e100)
    if gf.shape != pg.shape:
        raise ValueError(f"forward_gradient has shape {gf.shape} but proxy_gradient has {pg.shape}")
    if gb.shape != pg.shape:
        raise ValueError(f"backward_gradient has shape {gb.shape} but proxy_gradient has {pg.shape}")
    eta = check_real(step_size, "step_size", low=0.0, high=1e6, low_open=True)
    return _hypergrad(pg, gf, gb, eta)


def _hypergrad(pg, gf, gb, eta):
    # scale before the inner product so that large moduli cannot overflow
    s = max(float(np.max(np.abs(pg), initial=0.0)), 1e-300)
    diff = gf - gb
    t = max(float(np.max(np.abs(diff), initial=0.0)), 1e-300)
    return float(-eta * s * t * np.sum((pg / s) * (diff / t)))


class _Adam:
    def __init__(self, lr, b1=0.9, b2=0.999, eps=1e-8):
        self.lr, self.b1, self.b2, self.eps = lr, b1, b2, eps
        self.m = self.v = 0.0
        self.t = 0

    def step(self, g):
        self.t += 1
        self.m = self.b1 * self.m + (1 - self.b1) * g
        self.v = self.b2 * self.v + (1 - self.b2) * g * g
        mh = self.m / (1 - self.b1**self.t)
        vh = self.v / (1 - self.b2**self.t)
        return self.lr * mh / (np.sqrt(vh) + self.eps)


def optimize_designs(initial_designs, X_offline, y_offline, *, gamma: float | str = 0.5, steps: int = 100,
                     learning_rate: float = 0.05, target: float = 10.0, ridge: float = 1e-6,
                     bandwidth: float = 1.0, features: FourierFeatures | None = None,
                     proxy_features: FourierFeatures | None = None, proxy_ridge: float = 1e-3,
                     gamma_learning_rate: float = 0.05) -> DesignRun:
    r"""Minimise :eq:`bib-objective` over the designs with Adam, for a fixed or adaptive :math:`\gamma`.

    Each step computes the forward and backward gradients (:func:`bidirectional_loss`; the offline
    model is fitted once) and moves the designs by an Adam step of size ``learning_rate`` along
    :math:`-\nabla\mathcal L_\gamma` (Adam, as in the official code). With ``gamma="adaptive"``,
    :math:`\gamma` starts at 1/2 and, before each design step, takes an Adam step of size
    ``gamma_learning_rate`` *up* the hypergradient :eq:`bib-hypergrad` of the mean proxy score at the
    look-ahead :math:`X'=X-\eta\nabla\mathcal L_\gamma` (:math:`\eta` = ``learning_rate``), clipped to
    ``[0, 1]``. The proxy is kernel ridge on the offline data with ``proxy_features`` (RBF of
    ``bandwidth`` when None) and ``proxy_ridge``. The official code uses an ensemble of MLPs as the
    proxy and also adapts the step size; neither is done here. The defaults of ``learning_rate``,
    ``proxy_ridge`` and ``gamma_learning_rate`` were chosen for the chapter's toy problem
    (standardised scores, inputs of unit scale) and not tuned elsewhere.

    Parameters
    ----------
    initial_designs : array_like, shape (n_h, d)
    X_offline : array_like, shape (n_l, d)
    y_offline : array_like, shape (n_l,)
        As in :func:`bidirectional_loss`.
    gamma : float in [0, 1] or "adaptive", default 0.5
    steps : int, default 100
        Number of design steps in ``[1, 10**5]``; ``steps * n_h * (n_l + n_h) * d`` at most ``10**7 * 10**3``.
    learning_rate : float, default 0.05
        Adam step size for the designs in ``(0, 1e3]``.
    target, ridge, bandwidth, features
        As in :func:`bidirectional_loss`.
    proxy_features : FourierFeatures or None
        Kernel of the proxy for adaptive :math:`\gamma`.
    proxy_ridge : float, default 1e-3
        Ridge of the proxy, in ``[1e-12, 1e12]``.
    gamma_learning_rate : float, default 0.05
        Adam step size for :math:`\gamma` in ``(0, 1]``.

    Returns
    -------
    DesignRun

    Raises
    ------
    ValueError, TypeError
        On malformed inputs or out-of-range parameters.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> Xl = rng.standard_normal((30, 2)); yl = -np.sum(Xl**2, axis=1)
    >>> run = optimize_designs(Xl[:4], Xl, yl, gamma="adaptive", steps=5, ridge=1e-3)
    >>> run.designs.shape, run.gamma.shape
    ((4, 2), (5,))
    """
    g_mode = _check_gamma(gamma, allow_adaptive=True)
    Xh, Xl, yl, t, beta, kern = _check_problem(initial_designs, X_offline, y_offline, target, ridge,
                                               bandwidth, features, "initial_designs")
    T = check_int(steps, "steps", low=1, high=MAX_STEPS)
    lr = check_real(learning_rate, "learning_rate", low=0.0, high=1e3, low_open=True)
    glr = check_real(gamma_learning_rate, "gamma_learning_rate", low=0.0, high=1.0, low_open=True)
    pbeta = check_real(proxy_ridge, "proxy_ridge", low=RIDGE_RANGE[0], high=RIDGE_RANGE[1])
    d = Xl.shape[1]
    proxy = _kernel(bandwidth, proxy_features, d, "proxy_features")
    check_size(T * Xh.shape[0] * (Xl.shape[0] + Xh.shape[0]) * d, "steps * designs * data * d",
               limit=MAX_LOOP * 1000, what="kernel evaluations")
    kern.cache(Xl)
    fwd = _ridge_fit(kern, Xl, yl, beta)
    adaptive = g_mode == "adaptive"
    if adaptive:
        proxy.cache(Xl)
        pfit = _ridge_fit(proxy, Xl, yl, pbeta)
        gam_opt = _Adam(glr)
    gam = 0.5 if adaptive else float(g_mode)
    opt = _Adam(lr)
    X = Xh.copy()
    gammas, lf, lb = np.empty(T), np.empty(T), np.empty(T)
    for k in range(T):
        L_f, L_b, g_f, g_b = _losses(kern, X, Xl, yl, fwd, t, beta)
        lf[k], lb[k] = L_f, L_b
        if adaptive:
            look = X - lr * (gam * g_f + (1 - gam) * g_b)
            if np.all(np.isfinite(look)) and np.max(np.abs(look), initial=0.0) <= 1e100:
                _, dF = _ridge_eval(proxy, Xl, pfit, look)
                h = _hypergrad(dF / X.shape[0], g_f, g_b, lr)
                gam = float(np.clip(gam + gam_opt.step(np.array(h)), 0.0, 1.0))
        gammas[k] = gam
        X = X - opt.step(gam * g_f + (1 - gam) * g_b)
        np.clip(X, -1e100, 1e100, out=X)
    return DesignRun(X, gammas, lf, lb)
