"""The comp-sum family of multi-class losses and its conditional risks.

Notation (chapter ``book/consistency/comp-sum-h-consistency``): ``n`` classes, a score vector
``h`` with softmax ``s``, a conditional distribution ``p`` over the labels. For ``tau >= 0``

    Phi^tau(u) = log(1 + u)                          (tau = 1)
               = ((1 + u)^(1 - tau) - 1) / (1 - tau)  (tau != 1)

and the comp-sum loss is ``ell^tau(h, y) = Phi^tau(sum_{y' != y} exp(h_y' - h_y))``
(eq. :eq:`csh-loss`). Since ``1 + u = 1 / s_y`` it equals ``(1 - s_y^(tau - 1)) / (tau - 1)``
(eq. :eq:`csh-softmax-form`), which is how it is evaluated here: from the log-softmax, with
``expm1`` so that nothing cancels near ``tau = 1``.
"""

from __future__ import annotations

import numpy as np

from .._torch import require_torch
from .._validate import check_array, check_broadcast, check_labels, check_probability_vectors, check_real
from ..losses import log_softmax

__all__ = [
    "TAU_ONE_TOL",
    "best_conditional_risk",
    "best_conditional_softmax",
    "comp_sum_loss",
    "comp_sum_loss_all_labels",
    "comp_sum_loss_torch",
    "conditional_risk",
    "phi_tau",
    "zero_one_regret",
]

#: |tau - 1| below which the tau = 1 (logarithmic) formulas are used; the relative error this
#: introduces is of order |tau - 1| * log(1 / s_y), below 1e-7 for any representable softmax.
TAU_ONE_TOL = 1e-8


def _check_tau(tau) -> float:
    return check_real(tau, "tau", low=0.0)


def _loss_from_log_softmax(log_s: np.ndarray, tau: float) -> np.ndarray:
    """``(1 - s^(tau-1)) / (tau-1)`` from ``log s`` (eq. :eq:`csh-softmax-form`), stable near tau = 1."""
    if abs(tau - 1.0) < TAU_ONE_TOL:
        return -log_s
    q = tau - 1.0
    with np.errstate(over="ignore"):  # tau < 1 and a vanishing softmax: the loss really exceeds 1e308
        return -np.expm1(q * log_s) / q


def phi_tau(u, tau: float) -> np.ndarray:
    """Auxiliary function ``Phi^tau(u)`` of the comp-sum family (:prf:ref:`def-csh-loss`).

    Parameters
    ----------
    u : array_like
        Non-negative reals (the sum ``sum_{y' != y} exp(h_y' - h_y)``).
    tau : float
        Family parameter, ``tau >= 0``.

    Returns
    -------
    numpy.ndarray
        ``log1p(u)`` at ``tau = 1``, else ``expm1((1 - tau) log1p(u)) / (1 - tau)``. For
        ``tau < 1`` and ``u`` near the top of the float range the value can exceed it; it is then
        ``inf`` (never NaN).

    Examples
    --------
    >>> float(phi_tau(1.0, 1.0))        # log 2
    0.6931471805599453
    >>> float(phi_tau(3.0, 0.0))        # sum-exponential: Phi^0(u) = u
    3.0
    >>> float(phi_tau(1.0, 2.0))        # MAE: 1 - 1/(1 + u)
    0.5
    """
    tau = _check_tau(tau)
    u = check_array(u, "u", low=0.0)
    g = np.log1p(u)
    if abs(tau - 1.0) < TAU_ONE_TOL:
        return g
    with np.errstate(over="ignore"):
        return np.expm1((1.0 - tau) * g) / (1.0 - tau)


def comp_sum_loss_all_labels(scores, tau: float) -> np.ndarray:
    """Comp-sum loss ``ell^tau(h, y)`` for every label ``y`` at once.

    Parameters
    ----------
    scores : array_like, shape (..., n)
        Finite real scores ``h(x, .)``, ``n >= 2``.
    tau : float
        Family parameter, ``tau >= 0``.

    Returns
    -------
    numpy.ndarray, shape (..., n)
        Entry ``[..., y]`` is ``(1 - s_y^(tau - 1)) / (tau - 1)`` (``-log s_y`` at ``tau = 1``).
        For ``tau < 1`` and extreme scores the value may be ``inf`` (the loss exceeds the float
        range); it is never NaN.

    Examples
    --------
    >>> comp_sum_loss_all_labels([0.0, 0.0], 2.0)    # MAE of a uniform softmax
    array([0.5, 0.5])
    """
    tau = _check_tau(tau)
    scores = check_array(scores, "scores")
    if scores.ndim == 0 or scores.shape[-1] < 2:
        raise ValueError(f"scores must have shape (..., n) with n >= 2 classes, got shape {scores.shape}")
    return _loss_from_log_softmax(log_softmax(scores, axis=-1), tau)


def comp_sum_loss(scores, y, tau: float) -> np.ndarray:
    """Comp-sum loss ``ell^tau(h, x, y)`` of eq. :eq:`csh-loss`, evaluated via the log-softmax.

    ``tau = 0`` is the sum-exponential loss, ``tau = 1`` the logistic (softmax cross-entropy)
    loss, ``tau in (1, 2)`` generalized cross-entropy with ``q = tau - 1`` and ``tau = 2`` the
    mean absolute error ``1 - s_y``.

    Parameters
    ----------
    scores : array_like, shape (..., n)
        Finite real scores.
    y : array_like of int, shape (...)
        Labels in ``{0, ..., n - 1}``; broadcast against ``scores[..., 0]``.
    tau : float
        Family parameter, ``tau >= 0``.

    Returns
    -------
    numpy.ndarray, shape (...)
        For ``tau <= 1`` a score gap so large that the loss exceeds the float range gives ``inf``
        (never NaN).

    Examples
    --------
    >>> import numpy as np
    >>> h = np.array([[2.0, 0.0, -1.0]])
    >>> bool(np.isclose(comp_sum_loss(h, [0], 1.0)[0], np.log1p(np.exp(-2) + np.exp(-3))))
    True
    >>> float(comp_sum_loss([0.0, 0.0], 1, 0.0))    # sum-exponential: exp(0 - 0)
    1.0
    """
    tau = _check_tau(tau)
    all_labels = comp_sum_loss_all_labels(scores, tau)
    n = all_labels.shape[-1]
    y = check_labels(y, "y", n)
    batch = all_labels.shape[:-1]
    if not _broadcasts_to(y.shape, batch):
        raise ValueError(f"y with shape {y.shape} does not match the batch shape {batch} of scores "
                         f"(scores has shape {all_labels.shape}: one label per score vector)")
    y_b = np.broadcast_to(y, batch)
    return np.take_along_axis(all_labels, y_b[..., None], axis=-1)[..., 0]


def _broadcasts_to(shape: tuple, target: tuple) -> bool:
    try:
        return np.broadcast_shapes(target, shape) == target
    except ValueError:
        return False


def comp_sum_loss_torch(scores, y, tau: float, reduction: str = "none"):
    """PyTorch comp-sum loss (differentiable), the same formula as :func:`comp_sum_loss`.

    Parameters
    ----------
    scores : torch.Tensor, shape (m, n)
        Real scores (logits).
    y : torch.Tensor of int64, shape (m,)
        Labels in ``{0, ..., n - 1}``.
    tau : float
        Family parameter, ``tau >= 0``.
    reduction : {"none", "mean", "sum"}

    Returns
    -------
    torch.Tensor
        ``-expm1((tau - 1) log_softmax(scores)_y) / (tau - 1)`` (``-log_softmax`` at tau = 1).
        For ``tau <= 1`` a score gap beyond the float range makes the loss ``inf``, never NaN.

    Raises
    ------
    ValueError
        for ``reduction="mean"`` over an empty batch (the mean of no losses is undefined).

    Examples
    --------
    >>> import torch
    >>> z = torch.tensor([[1.0, 0.0, -1.0]], dtype=torch.float64)
    >>> l1 = comp_sum_loss_torch(z, torch.tensor([0]), 1.0)
    >>> bool(torch.allclose(l1, torch.nn.functional.cross_entropy(z, torch.tensor([0]), reduction="none")))
    True
    """
    torch = require_torch()

    tau = _check_tau(tau)
    if reduction not in ("none", "mean", "sum"):
        raise ValueError(f"reduction must be 'none', 'mean' or 'sum', got {reduction!r}")
    if not isinstance(scores, torch.Tensor) or not (scores.is_floating_point() or scores.is_complex()):
        raise TypeError(f"scores must be a floating-point torch.Tensor, got {type(scores).__name__}")
    if scores.is_complex():
        raise TypeError("scores must be real, got a complex tensor")
    if scores.ndim != 2 or scores.shape[1] < 2:
        raise ValueError(f"scores must have shape (m, n) with n >= 2 classes, got {tuple(scores.shape)}")
    if not torch.isfinite(scores).all():
        raise ValueError("scores must contain only finite values (found NaN or inf)")
    if not isinstance(y, torch.Tensor) or y.dtype not in (torch.int64, torch.int32):
        raise TypeError("y must be an integer (int32 or int64) torch.Tensor")
    if y.shape != scores.shape[:1]:
        raise ValueError(f"y must have shape ({scores.shape[0]},) to match scores, got {tuple(y.shape)}")
    n = scores.shape[1]
    if y.numel() and (int(y.min()) < 0 or int(y.max()) >= n):
        raise ValueError(f"y must lie in [0, {n - 1}]")
    if reduction == "mean" and scores.shape[0] == 0:
        raise ValueError("scores has no rows: reduction='mean' of an empty batch is undefined (use 'sum' or 'none')")
    log_s = torch.log_softmax(scores, dim=1).gather(1, y.long()[:, None])[:, 0]
    if abs(tau - 1.0) < TAU_ONE_TOL:
        out = -log_s
    else:
        out = -torch.expm1((tau - 1.0) * log_s) / (tau - 1.0)
    if reduction == "mean":
        return out.mean()
    if reduction == "sum":
        return out.sum()
    return out


def conditional_risk(scores, p, tau: float) -> np.ndarray:
    """Conditional risk ``C_tau(h, x) = sum_y p_y ell^tau(h, x, y)`` (:prf:ref:`def-csh-gaps`).

    Labels with ``p_y = 0`` contribute exactly 0, even where their loss is infinite.

    Parameters
    ----------
    scores : array_like, shape (..., n)
    p : array_like, shape (..., n)
        Conditional distributions (non-negative, summing to 1 within 1e-9); broadcast with scores.
    tau : float
        ``tau >= 0``.

    Returns
    -------
    numpy.ndarray, shape (...)
        ``C_tau(h, x)`` for each pair of score vector and distribution; ``inf`` where a label
        with ``p_y > 0`` has an infinite loss (``tau <= 1`` and a score gap beyond the float range).

    Examples
    --------
    >>> float(conditional_risk([0.0, 0.0], [0.5, 0.5], 1.0))   # log 2
    0.6931471805599453
    """
    tau = _check_tau(tau)
    ell = comp_sum_loss_all_labels(scores, tau)
    p = check_probability_vectors(p, "p")
    if p.shape[-1] != ell.shape[-1]:
        raise ValueError(f"p has {p.shape[-1]} classes but scores have {ell.shape[-1]}")
    check_broadcast(("scores", ell), ("p", p))
    ell = np.where(p > 0, ell, 0.0)
    return np.sum(p * ell, axis=-1)


def best_conditional_risk(p, tau: float) -> np.ndarray:
    """Best conditional risk ``C*_tau(p) = inf_h C_tau(h, x)`` over all score vectors (eq. :eq:`csh-cstar`).

    ``((sum_y p_y^(1/(2-tau)))^(2-tau) - 1) / (1 - tau)`` for ``tau in [0, 1) U (1, 2)``, the
    Shannon entropy (nats) at ``tau = 1`` and ``(1 - max_y p_y) / (tau - 1)`` for ``tau >= 2``.
    This is the value for a symmetric complete hypothesis set.

    Evaluation. With ``a = 1/(2 - tau)`` and ``delta = a - 1``: for ``|delta| <= 1/4`` (``tau`` within
    about 0.2 of 1) ``sum_y p_y^a = 1 + S``, ``S = sum_y p_y expm1(delta log p_y)``, whose terms all
    have one sign (``log p_y <= 0``), so ``C* = expm1((2 - tau) log1p(S)) / (1 - tau)`` keeps its
    relative accuracy as ``tau -> 1`` even for nearly one-hot ``p``. Elsewhere ``log sum_y p_y^a`` is
    a log-sum-exp with ``log1p`` of the non-largest terms. ``p`` is normalised implicitly (its sum,
    checked to be 1 within rounding, is divided out in the logs), so a distribution whose float
    entries sum to 1 only up to one ulp gives the value of the exactly normalised one.

    Parameters
    ----------
    p : array_like, shape (..., n)
        Conditional distributions (sums within the rounding of their dtype of 1).
    tau : float
        ``tau >= 0``.

    Returns
    -------
    numpy.ndarray, shape (...)
        ``C*_tau(p)`` for each distribution (the last axis is summed over).

    Examples
    --------
    >>> float(best_conditional_risk([0.5, 0.5], 1.0))   # entropy log 2
    0.6931471805599453
    >>> float(best_conditional_risk([0.7, 0.2, 0.1], 2.0))   # MAE: 1 - max p
    0.30000000000000004
    """
    tau = _check_tau(tau)
    p = check_probability_vectors(p, "p")
    if p.shape[-1] < 2:
        raise ValueError(f"p must have n >= 2 classes, got {p.shape[-1]}")
    # p is normalised implicitly: with e = sum(p) - 1 (formed as (max p - 1) + sum of the others, so
    # that no rounding of the sum hides it), the distribution is p / (1 + e) and its logs
    # log p - log1p(e). For nearly one-hot p, 1 - max p is tiny and an unaccounted e of one ulp of 1
    # would change C* in its leading digits.
    top = np.argmax(p, axis=-1)[..., None]
    pmax = np.take_along_axis(p, top, axis=-1)[..., 0]
    others = p.copy()
    np.put_along_axis(others, top, 0.0, axis=-1)
    rest = np.sum(others, axis=-1)
    e = (pmax - 1.0) + rest
    if tau >= 2.0:
        return rest / (1.0 + e) / (tau - 1.0)
    pos = p > 0
    log_p = np.log(np.where(pos, p, 1.0)) - np.log1p(e)[..., None]  # masked where p = 0 below
    q = p / (1.0 + e)[..., None]
    if abs(tau - 1.0) < TAU_ONE_TOL:
        return -np.sum(np.where(pos, q * log_p, 0.0), axis=-1)
    delta = (tau - 1.0) / (2.0 - tau)
    if abs(delta) <= 0.25:
        S = np.sum(np.where(pos, q * np.expm1(delta * log_p), 0.0), axis=-1)
        A = (2.0 - tau) * np.log1p(S)
    else:
        a = 1.0 / (2.0 - tau)
        la = np.where(pos, a * log_p, -np.inf)
        m = np.take_along_axis(la, top, axis=-1)
        terms = np.exp(la - m)
        np.put_along_axis(terms, top, 0.0, axis=-1)
        A = (2.0 - tau) * (m[..., 0] + np.log1p(np.sum(terms, axis=-1)))
    return np.expm1(A) / (1.0 - tau)


def best_conditional_softmax(p, tau: float) -> np.ndarray:
    """Softmax that attains ``C*_tau``: ``s_y ∝ p_y^(1/(2 - tau))`` for ``tau < 2`` (eq. :eq:`csh-argmin`).

    Formed in the log domain (``exp(a log p_y - max)``, normalised), so it stays a distribution as
    ``tau -> 2``, where ``a = 1/(2 - tau)`` grows without bound and ``p_y^a`` underflows.
    For ``tau >= 2`` the infimum is not attained by finite scores; the returned vector is the
    limit, all mass on the first label of largest ``p`` (lowest-index tie-break).

    Parameters
    ----------
    p : array_like, shape (..., n)
        Conditional distributions (non-negative, summing to 1 within the rounding of their dtype).
    tau : float
        ``tau >= 0``.

    Returns
    -------
    numpy.ndarray, shape (..., n)
        The minimising softmax vector (its limit for ``tau >= 2``).

    Examples
    --------
    >>> best_conditional_softmax([0.25, 0.75], 1.0)
    array([0.25, 0.75])
    >>> best_conditional_softmax([0.2, 0.8], 0.0)       # s ∝ sqrt(p)
    array([0.33333333, 0.66666667])
    """
    tau = _check_tau(tau)
    p = check_probability_vectors(p, "p")
    if tau >= 2.0:
        out = np.zeros_like(p)
        np.put_along_axis(out, np.argmax(p, axis=-1)[..., None], 1.0, axis=-1)
        return out
    a = 1.0 / (2.0 - tau)
    with np.errstate(divide="ignore"):
        la = a * np.log(p)  # -inf where p = 0: exp gives exactly 0
    w = np.exp(la - np.max(la, axis=-1, keepdims=True))
    return w / np.sum(w, axis=-1, keepdims=True)


def zero_one_regret(scores, p) -> np.ndarray:
    """Zero-one calibration gap ``max_y p_y - p_{argmax h}`` (eq. :eq:`csh-01-regret`).

    The prediction is the first index of the largest score (lowest-index tie-break), as
    :func:`numpy.argmax`.

    Parameters
    ----------
    scores : array_like, shape (..., n)
        Finite real scores.
    p : array_like, shape (..., n)
        Conditional distributions; broadcast against ``scores``.

    Returns
    -------
    numpy.ndarray, shape (...)
        The zero-one calibration gap ``t`` in ``[0, 1]``.

    Examples
    --------
    >>> float(zero_one_regret([1.0, 2.0, 0.0], [0.5, 0.3, 0.2]))
    0.2
    >>> float(zero_one_regret([1.0, 1.0], [0.5, 0.5]))
    0.0
    """
    scores = check_array(scores, "scores", min_size=2)
    p = check_probability_vectors(p, "p")
    if scores.ndim == 0 or scores.shape[-1] != p.shape[-1]:
        raise ValueError(f"scores and p must share their last (class) axis, got {scores.shape} and {p.shape}")
    check_broadcast(("scores", scores), ("p", p))
    scores, p = np.broadcast_arrays(scores, p)
    pred = np.argmax(scores, axis=-1)
    return np.max(p, axis=-1) - np.take_along_axis(p, pred[..., None], axis=-1)[..., 0]
