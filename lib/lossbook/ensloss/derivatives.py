"""Sampled loss derivatives of EnsLoss and the checks that they define convex calibrated losses.

A convex margin loss ``phi`` is classification-calibrated iff it is differentiable at 0 with
``phi'(0) < 0`` (Bartlett, Jordan and McAuliffe 2006). EnsLoss never writes ``phi`` down: at every
step it draws the *values of the derivative* at the margins of the minibatch, as a non-decreasing,
strictly negative sequence (chapter ``book/consistency/ensloss``, :eq:`ens-sampler`). This module
holds that sampler, a checker of the two conditions, the loss a set of derivative values implies
(its integral), the large-batch limit of the sampler (:prf:ref:`ens-thm-limit`) and the doubly
stochastic gradient step of a linear model.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from scipy.special import ndtri

from .._rng import as_generator
from .._validate import check_array, check_real

__all__ = [
    "DerivativeCheck",
    "StepResult",
    "box_cox_inverse",
    "check_cc_derivative",
    "ensloss_derivatives",
    "ensloss_step",
    "ensloss_surrogate",
    "implied_loss",
    "limit_derivative",
]

#: largest Box-Cox parameter accepted (the sampler is a lognormal at 0 and flattens to 1 as it grows)
LAM_MAX = 1e3
_LOG_MAX = float(np.log(np.finfo(np.float64).max))


class DerivativeCheck(NamedTuple):
    """Whether derivative values ``g`` at margins ``z`` define a convex classification-calibrated loss.

    ``non_decreasing``: ``z_i < z_j`` implies ``g_i <= g_j`` (a convex loss has such a derivative).
    ``slope_at_zero_low``/``slope_at_zero_high``: the left and right derivative at 0 of the implied loss
    (:func:`implied_loss`); they differ when the margin 0 carries several derivative values.
    ``valid``: non-decreasing, differentiable at 0 and ``phi'(0) < 0``.
    """

    non_decreasing: bool
    slope_at_zero_low: float
    slope_at_zero_high: float
    valid: bool


class StepResult(NamedTuple):
    """One doubly stochastic gradient step: the new weights, the sampled derivatives and the gradient."""

    w: np.ndarray
    g: np.ndarray
    gradient: np.ndarray


def box_cox_inverse(u, lam: float = 0.0) -> np.ndarray:
    """Inverse Box-Cox transform ``(1 + lam u)_+^(1/lam)``, and ``exp(u)`` at ``lam = 0``, :eq:`ens-bc`.

    Computed as ``exp(log1p(lam u) / lam)``, which is accurate for tiny ``lam`` (it tends to
    ``exp(u)`` with an error ``O(lam u^2)``) and exactly 0 where ``1 + lam u <= 0``.

    Parameters
    ----------
    u : array_like
        Finite reals.
    lam : float, default 0
        Box-Cox parameter in ``[0, 1000]``.

    Returns
    -------
    numpy.ndarray
        Non-negative values, same shape as ``u``.

    Raises
    ------
    ValueError
        If ``lam`` is outside ``[0, 1000]``, ``u`` is not finite, or a value exceeds the float range
        (``exp(u)`` overflows for ``u > 709.78`` at ``lam = 0``).

    Examples
    --------
    >>> box_cox_inverse([0.0, 1.0], lam=0.0)
    array([1.        , 2.71828183])
    >>> box_cox_inverse([-2.0, 1.0], lam=1.0)
    array([0., 2.])
    """
    x = check_array(u, "u")
    lam = check_real(lam, "lam", low=0.0, high=LAM_MAX)
    if lam == 0.0:
        logv = x
    else:
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            arg = lam * x
            logv = np.where(arg > -1.0, np.log1p(np.maximum(arg, -1.0)) / lam, -np.inf)
    if x.size and np.max(logv) > _LOG_MAX:
        raise ValueError("u: the inverse Box-Cox value overflows the float range (log value above 709.78)")
    return np.exp(logv)


def _check_pair(margins, g):
    z = check_array(margins, "margins", ndim=1, min_size=1)
    gv = check_array(g, "g", ndim=1)
    if gv.shape != z.shape:
        raise ValueError(f"g must have the same shape as margins {z.shape}, got {gv.shape}")
    return z, gv


def _sampler_args(lam, clip, tail, shift):
    lam = check_real(lam, "lam", low=0.0, high=LAM_MAX)
    if clip is not None:
        clip = check_real(clip, "clip", high=0.0, high_open=True)
    if not isinstance(tail, bool | np.bool_):
        raise TypeError(f"tail must be a bool, got {type(tail).__name__}")
    shift = check_real(shift, "shift", low=0.0, high=1.0)
    return lam, clip, bool(tail), shift


def _sample(z, rng, lam, clip, tail, shift):
    # steps 1-5 of (ens-sampler): draw, sort, clip, match ranks, decay the tail, shift
    eps = rng.standard_normal(z.size)
    draws = -box_cox_inverse(eps, lam)
    draws.sort()
    if clip is not None:
        draws = np.maximum(draws, clip)
    g = np.empty_like(draws)
    g[np.argsort(z, kind="stable")] = draws
    if tail:
        big = z > 1.0
        g[big] = g[big] / z[big]
    return g - shift


def ensloss_derivatives(margins, seed, lam: float = 0.0, clip: float | None = -1.0, tail: bool = True,
                        shift: float = 1e-6) -> np.ndarray:
    """Draw EnsLoss derivative values at the margins of one minibatch, :eq:`ens-sampler`.

    Draws ``eps_i ~ N(0, 1)``, forms ``-box_cox_inverse(eps_i, lam)``, sorts these values, clips them
    below at ``clip``, gives the k-th smallest to the example with the k-th smallest margin, divides
    the value of every example with margin ``z > 1`` by ``z`` (``tail``), and subtracts ``shift``.
    The constants (``-1``, ``1/z``, ``1e-6``) are those of the official code (``losses.py`` of
    ``statmlben/ensLoss``); whether the paper's final version uses the same ones was not checked.

    Parameters
    ----------
    margins : array_like, shape (n,)
        Finite margins ``z_i = y_i f(x_i)``.
    seed : int, SeedSequence or Generator
        Source of the normal draws (a Generator is advanced, as in a training loop).
    lam : float, default 0
        Box-Cox parameter in ``[0, 1000]``; 0 gives lognormal draws.
    clip : float or None, default -1
        Lower clip, ``< 0``; ``None`` keeps the raw draws.
    tail : bool, default True
        Divide by the margin where it exceeds 1.
    shift : float, default 1e-6
        Subtracted at the end, in ``[0, 1]``. With ``shift = 0`` and ``lam > 0`` a value can be exactly
        0 (where ``1 + lam eps <= 0``), which breaks ``phi'(0) < 0`` if it lands at margin 0.

    Returns
    -------
    numpy.ndarray, shape (n,)
        ``g_i``: non-decreasing in the margin, at most ``-shift``, at least ``clip - shift``.

    Raises
    ------
    ValueError, TypeError
        For a bad argument (the message names it).

    Examples
    --------
    >>> g = ensloss_derivatives([0.3, -1.0, 2.0, 0.0], seed=0)
    >>> bool(np.all(g < 0)), bool(np.all(np.diff(g[np.argsort([0.3, -1.0, 2.0, 0.0])]) >= 0))
    (True, True)
    """
    z = check_array(margins, "margins", ndim=1, min_size=1)
    lam, clip, tail, shift = _sampler_args(lam, clip, tail, shift)
    rng = as_generator(seed)
    return _sample(z, rng, lam, clip, tail, shift)


def _sorted_points(z, g):
    order = np.lexsort((g, z))  # by margin, ties by value: the only order a monotone derivative allows
    return z[order], g[order]


def check_cc_derivative(margins, g) -> DerivativeCheck:
    """Check that derivative values ``g`` at ``margins`` define a convex calibrated loss, :prf:ref:`ens-thm-cc`.

    The implied derivative is the piecewise-linear interpolant of the points ``(z_i, g_i)`` sorted by
    margin (ties by value, so a tied margin is a vertical jump), constant beyond the extreme margins.
    The loss is convex iff the points are non-decreasing in this order, and (by Bartlett, Jordan and
    McAuliffe 2006) a convex loss is classification-calibrated iff it is differentiable at 0 with a
    negative derivative there: the left and right derivatives at 0 must agree and be ``< 0``.

    Parameters
    ----------
    margins, g : array_like, shape (n,)
        Finite margins and derivative values.

    Returns
    -------
    DerivativeCheck

    Raises
    ------
    ValueError, TypeError
        For a bad argument (the message names it).

    Examples
    --------
    >>> check_cc_derivative([-1.0, 0.0, 1.0], [-1.0, -0.5, -0.2]).valid
    True
    >>> check_cc_derivative([-1.0, 0.0, 0.0, 1.0], [-1.0, -0.5, -0.4, -0.2]).valid   # a kink at 0
    False
    """
    z, gv = _check_pair(margins, g)
    zs, gs = _sorted_points(z, gv)
    non_decreasing = bool(np.all(np.diff(gs) >= 0.0))
    at = np.flatnonzero(zs == 0.0)
    if at.size:
        low, high = float(gs[at[0]]), float(gs[at[-1]])
    elif zs[0] > 0.0:
        low = high = float(gs[0])
    elif zs[-1] < 0.0:
        low = high = float(gs[-1])
    else:
        k = int(np.searchsorted(zs, 0.0))  # zs[k-1] < 0 < zs[k]
        t = -zs[k - 1] / (zs[k] - zs[k - 1])
        low = high = float(gs[k - 1] + t * (gs[k] - gs[k - 1]))
    valid = non_decreasing and low == high and high < 0.0
    return DerivativeCheck(non_decreasing, low, high, bool(valid))


def implied_loss(margins, g, z, offset: float = 0.0) -> np.ndarray:
    """The loss ``phi(z) = offset + integral_0^z g_hat(t) dt`` implied by derivative values, :eq:`ens-implied`.

    ``g_hat`` is the interpolant of :func:`check_cc_derivative`; where it is non-decreasing the result
    is convex. It grows at most linearly, so it is finite for every finite ``z`` up to the float range.

    Parameters
    ----------
    margins, g : array_like, shape (n,)
        Finite margins and derivative values (``|g| <= 1e300``).
    z : array_like
        Points at which to evaluate the loss (``|z| <= 1e300``).
    offset : float, default 0
        The value ``phi(0)``.

    Returns
    -------
    numpy.ndarray
        ``phi(z)``, same shape as ``z``.

    Raises
    ------
    ValueError, TypeError
        For a bad argument (the message names it).

    Examples
    --------
    >>> implied_loss([-1.0, 1.0], [-1.0, -1.0], [-2.0, 0.0, 3.0], offset=1.0)   # a line of slope -1
    array([ 3.,  1., -2.])
    """
    zm, gv = _check_pair(margins, g)
    check_array(gv, "g", max_abs=1e300)
    check_array(zm, "margins", max_abs=1e300)
    x = check_array(z, "z", max_abs=1e300)
    offset = check_real(offset, "offset", low=-1e300, high=1e300)
    zs, gs = _sorted_points(zm, gv)
    # scale so that products and sums of slopes times lengths stay inside the float range
    scale = max(float(np.max(np.abs(gs), initial=0.0)), 1e-300)
    zlen = max(float(np.max(np.abs(zs))), float(np.max(np.abs(x), initial=0.0)), 1e-300)
    gs_, zs_, x_ = gs / scale, zs / zlen, x / zlen

    def antiderivative(t):
        # integral from zs_[0] to t of the interpolant (constant gs_[0] below, gs_[-1] above)
        seg = np.diff(zs_) * (gs_[1:] + gs_[:-1]) / 2.0
        cum = np.concatenate([[0.0], np.cumsum(seg)])
        k = np.clip(np.searchsorted(zs_, t, side="right") - 1, 0, zs_.size - 1)
        below = t < zs_[0]
        inside = ~below & (k < zs_.size - 1)
        out = np.where(below, (t - zs_[0]) * gs_[0], cum[k] + (t - zs_[k]) * gs_[k])
        if np.any(inside):
            ki = k[inside]
            width = zs_[ki + 1] - zs_[ki]
            frac = np.where(width > 0, (t[inside] - zs_[ki]) / np.where(width > 0, width, 1.0), 0.0)
            out[inside] = cum[ki] + (t[inside] - zs_[ki]) * (gs_[ki] + frac * (gs_[ki + 1] - gs_[ki]) / 2.0)
        return out

    vals = antiderivative(np.atleast_1d(x_)) - antiderivative(np.zeros(1))
    with np.errstate(over="ignore"):
        res = offset + vals * (scale * zlen)
    if not np.all(np.isfinite(res)):
        raise ValueError("z: the implied loss overflows the float range (|g| times |z| too large)")
    return res.reshape(x.shape)


def limit_derivative(quantile, lam: float = 0.0, clip: float | None = -1.0) -> np.ndarray:
    """Large-batch limit of the sampler before the tail decay, :eq:`ens-limit` (derived in the chapter).

    An example whose margin sits at quantile ``u`` of the minibatch's margins receives, as the batch
    grows, the derivative ``max(-box_cox_inverse(-Phi^{-1}(u), lam), clip)`` with ``Phi`` the standard
    normal distribution function (:prf:ref:`ens-thm-limit`).

    Parameters
    ----------
    quantile : array_like
        Quantiles ``u`` in the open interval ``(0, 1)``.
    lam : float, default 0
        Box-Cox parameter in ``[0, 1000]``.
    clip : float or None, default -1
        Lower clip, ``< 0``, or ``None``.

    Returns
    -------
    numpy.ndarray
        Non-positive values, same shape as ``quantile``, non-decreasing in ``u``.

    Raises
    ------
    ValueError, TypeError
        For a bad argument (the message names it); without a clip, quantiles so close to 0 that the
        value overflows are refused.

    Examples
    --------
    >>> limit_derivative([0.25, 0.5, 0.975])
    array([-1.        , -1.        , -0.14086349])
    """
    u = check_array(quantile, "quantile", low=0.0, high=1.0, low_open=True)
    if u.size and np.any(u == 1.0):
        raise ValueError("quantile entries must lie in (0, 1); largest is 1.0")
    lam = check_real(lam, "lam", low=0.0, high=LAM_MAX)
    if clip is not None:
        clip = check_real(clip, "clip", high=0.0, high_open=True)
    eps = -ndtri(u)
    if clip is not None:
        eps = np.minimum(eps, _LOG_MAX)  # values beyond the float range are clipped anyway
    try:
        val = -box_cox_inverse(eps, lam)
    except ValueError:
        raise ValueError("quantile: the limit derivative overflows the float range at this quantile "
                         "(pass a clip)") from None
    return np.maximum(val, clip) if clip is not None else val


def ensloss_surrogate(margins, g) -> tuple[float, np.ndarray]:
    """Value and margin-gradient of the backprop surrogate ``mean_i(g_i z_i)``, :eq:`ens-surrogate`.

    ``g`` is held fixed (a stop-gradient), so the gradient with respect to ``z_i`` is ``g_i / n``; the
    value itself has no meaning as a loss.

    Parameters
    ----------
    margins, g : array_like, shape (n,)
        Finite margins and derivative values (the product must stay in the float range).

    Returns
    -------
    value : float
    gradient : numpy.ndarray, shape (n,)

    Raises
    ------
    ValueError, TypeError
        For a bad argument (the message names it).

    Examples
    --------
    >>> ensloss_surrogate([1.0, -2.0], [-0.5, -1.0])
    (0.75, array([-0.25, -0.5 ]))
    """
    z, gv = _check_pair(margins, g)
    n = z.size
    with np.errstate(over="ignore"):
        value = float(np.sum((gv / n) * z))
    if not np.isfinite(value):
        raise ValueError("margins: the surrogate g * margins overflows the float range")
    return value, gv / n


def ensloss_step(w, X, y, lr: float, seed, lam: float = 0.0, clip: float | None = -1.0, tail: bool = True,
                 shift: float = 1e-6) -> StepResult:
    """One doubly stochastic gradient step of a linear classifier ``f(x) = <w, x>``, :eq:`ens-step`.

    The margins ``z_i = y_i <w, x_i>`` get sampled derivatives ``g_i`` (:func:`ensloss_derivatives`)
    and the step is ``w - lr * (1/n) sum_i g_i y_i x_i``: a gradient step on the loss those values
    imply, random through both the minibatch (the caller's choice of ``X, y``) and the loss.

    Parameters
    ----------
    w : array_like, shape (d,)
        Current weights.
    X : array_like, shape (n, d)
        Minibatch inputs.
    y : array_like, shape (n,)
        Labels in ``{-1, +1}``.
    lr : float
        Step size in ``(0, 1e6]``.
    seed : int, SeedSequence or Generator
        Source of the sampled derivatives.
    lam, clip, tail, shift
        As in :func:`ensloss_derivatives`.

    Returns
    -------
    StepResult

    Raises
    ------
    ValueError, TypeError
        For a bad argument (the message names it), or margins or a step beyond the float range.

    Examples
    --------
    >>> r = ensloss_step(np.zeros(2), [[1.0, 0.0], [0.0, 1.0]], [1, -1], lr=0.1, seed=0)
    >>> bool(r.w[0] > 0 and r.w[1] < 0)
    True
    """
    wv = check_array(w, "w", ndim=1, min_size=1)
    Xv = check_array(X, "X", ndim=2, min_size=1)
    if Xv.shape[1] != wv.size:
        raise ValueError(f"X must have {wv.size} columns to match w, got shape {Xv.shape}")
    yv = check_array(y, "y", ndim=1)
    if yv.shape[0] != Xv.shape[0]:
        raise ValueError(f"y must have {Xv.shape[0]} entries to match the rows of X, got {yv.shape[0]}")
    if not np.all(np.abs(yv) == 1.0):
        raise ValueError("y entries must be -1 or +1")
    lr = check_real(lr, "lr", low=0.0, low_open=True, high=1e6)
    lam, clip, tail, shift = _sampler_args(lam, clip, tail, shift)
    rng = as_generator(seed)
    with np.errstate(over="ignore", invalid="ignore"):
        z = yv * (Xv @ wv)
    if not np.all(np.isfinite(z)):
        raise ValueError("X: the margins y <w, x> overflow the float range")
    g = _sample(z, rng, lam, clip, tail, shift)
    with np.errstate(over="ignore", invalid="ignore"):
        grad = Xv.T @ (g * yv) / yv.size
        new_w = wv - lr * grad
    if not (np.all(np.isfinite(grad)) and np.all(np.isfinite(new_w))):
        raise ValueError("X: the gradient step overflows the float range")
    return StepResult(new_w, g, grad)
