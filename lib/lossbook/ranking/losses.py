"""The Mann–Whitney (pairwise logistic) loss and InfoNCE, as functions of scores.

``mw_loss`` is the mean over positive/negative pairs of ``softplus(s_n - s_p)`` (:eq:`mw-loss`): the
binary cross-entropy of ``sigmoid(s_p - s_n)`` against 1, a smooth upper bound on the area over the
ROC curve times ``ln 2`` (:prf:ref:`mw-thm-bound`). ``info_nce_loss`` is the per-query contrastive
loss (:eq:`mw-infonce`), unchanged when a query's scores are all shifted by one constant
(:prf:ref:`mw-prop-shift`).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit
from scipy.special import expit

from .._torch import require_torch
from .._validate import ENGINES, check_array, check_choice, check_real
from .auc import _binary_labels

__all__ = ["MWLoss", "info_nce_loss", "info_nce_loss_torch", "mw_loss", "mw_loss_and_grad", "mw_loss_torch"]

POOLINGS = ("global", "per_query")


class MWLoss(NamedTuple):
    """Value of :func:`mw_loss_and_grad` and its gradient in the scores (same shape as the scores)."""

    value: float
    grad: np.ndarray


@njit(cache=True)
def _mw_pairs_numba(pos, neg):
    """Sum of softplus(s_n - s_p) over all pairs and its gradients, in O(n_pos n_neg) time, O(n) memory."""
    total = 0.0
    g_pos = np.zeros(pos.size)
    g_neg = np.zeros(neg.size)
    for i in range(pos.size):
        p = pos[i]
        for j in range(neg.size):
            t = neg[j] - p
            if t > 0.0:  # softplus(t) = t + log1p(exp(-t)) and sigmoid(t) = 1 / (1 + exp(-t)): exp(-t) < 1
                e = np.exp(-t)
                total += t + np.log1p(e)
                sig = 1.0 / (1.0 + e)
            else:  # exp(t) <= 1: nothing overflows
                e = np.exp(t)
                total += np.log1p(e)
                sig = e / (1.0 + e)
            g_pos[i] -= sig
            g_neg[j] += sig
    return total, g_pos, g_neg


def _mw_pairs_numpy(pos, neg, block: int = 256):
    """Reference: the same sums with broadcasting over blocks of positives (memory block * n_neg)."""
    total = 0.0
    g_pos = np.empty(pos.size)
    g_neg = np.zeros(neg.size)
    for start in range(0, pos.size, block):
        d = neg[None, :] - pos[start:start + block, None]
        total += float(np.logaddexp(0.0, d).sum())
        sig = expit(d)
        g_pos[start:start + block] = -sig.sum(axis=1)
        g_neg += sig.sum(axis=0)
    return total, g_pos, g_neg


def _scores_and_labels(scores, labels):
    s = check_array(scores, "scores", ndim=(1, 2), min_size=2)
    y = _binary_labels(labels, "labels")
    if y.shape != s.shape:
        raise ValueError(f"labels must have the shape of scores {s.shape}, got {y.shape}")
    return s, y


def _mw_block(s, y, engine):
    pos, neg = s[y], s[~y]
    if pos.size == 0 or neg.size == 0:
        raise ValueError("labels must contain both classes (a positive and a negative) in every pool of pairs")
    total, g_pos, g_neg = (_mw_pairs_numba if engine == "numba" else _mw_pairs_numpy)(pos, neg)
    m = pos.size * neg.size
    grad = np.empty_like(s)
    grad[y] = g_pos / m
    grad[~y] = g_neg / m
    return total / m, grad


def mw_loss_and_grad(scores, labels, *, pooling: str = "global", engine: str = "numba") -> MWLoss:
    """Mann–Whitney loss :eq:`mw-loss` and its exact gradient :eq:`mw-grad` in the scores.

    With ``pooling="global"`` every positive is paired with every negative of the whole array (for a
    query-by-document score matrix, pairs *across* queries too, as in the paper's in-batch figure);
    with ``pooling="per_query"`` (2-D scores only) each row is pooled on its own and the row losses are
    averaged, which makes the loss invariant to per-row shifts like InfoNCE (:prf:ref:`mw-prop-shift`).

    Parameters
    ----------
    scores : array_like of float, shape (n,) or (n_queries, n_docs)
        Finite scores.
    labels : array_like of bool or {0, 1}, same shape
        Relevance; every pool needs a positive and a negative.
    pooling : {"global", "per_query"}, default "global"
    engine : {"numba", "numpy"}, default "numba"
        Pair loop in Numba (``O(n)`` memory) or blocked NumPy broadcasting (the reference).

    Returns
    -------
    MWLoss
        ``value`` (float, ``>= 0``) and ``grad`` (array of the scores' shape).

    Raises
    ------
    ValueError
        if shapes differ, a label is not 0/1, a pool lacks a class, or ``pooling`` is unknown.
    TypeError
        if an input is not numeric.

    Examples
    --------
    >>> out = mw_loss_and_grad([2.0, 0.0], [1, 0])
    >>> round(out.value, 6), [round(float(g), 6) for g in out.grad]
    (0.126928, [-0.119203, 0.119203])
    """
    check_choice(engine, "engine", ENGINES)
    check_choice(pooling, "pooling", POOLINGS)
    s, y = _scores_and_labels(scores, labels)
    if pooling == "global":
        value, grad = _mw_block(s.ravel(), y.ravel(), engine)
        return MWLoss(float(value), grad.reshape(s.shape))
    if s.ndim != 2:
        raise ValueError(f"pooling='per_query' needs 2-D scores (queries x documents), got shape {s.shape}")
    grad = np.empty_like(s)
    values = np.empty(s.shape[0])
    for q in range(s.shape[0]):
        values[q], grad[q] = _mw_block(s[q], y[q], engine)
    return MWLoss(float(values.mean()), grad / s.shape[0])


def mw_loss(scores, labels, *, pooling: str = "global", engine: str = "numba") -> float:
    """Mann–Whitney loss :eq:`mw-loss`: mean of ``softplus(s_n - s_p)`` over positive/negative pairs.

    By :prf:ref:`mw-thm-bound`, ``1 - roc_auc(labels, scores) <= mw_loss(scores, labels) / ln 2``
    (global pooling).

    Parameters
    ----------
    scores, labels, pooling, engine
        As in :func:`mw_loss_and_grad`.

    Returns
    -------
    float
        The loss, ``>= 0``; ``ln 2`` when every pair is tied.

    Raises
    ------
    ValueError, TypeError
        As :func:`mw_loss_and_grad`, naming the offending argument.

    Examples
    --------
    >>> round(mw_loss([0.0, 0.0], [1, 0]), 6)  # ln 2 when every pair is tied
    0.693147
    """
    return mw_loss_and_grad(scores, labels, pooling=pooling, engine=engine).value


def info_nce_loss(scores, labels, tau: float = 0.05) -> float:
    """InfoNCE :eq:`mw-infonce` of a query-by-document score matrix, averaged over positive pairs.

    For each positive ``(q, d+)`` the term is ``-log(exp(s_qd+/tau) / (exp(s_qd+/tau) + sum_n exp(s_qn/tau)))``
    with ``n`` over the query's negatives (its other positives are left out of the denominator).

    Parameters
    ----------
    scores : array_like of float, shape (n_queries, n_docs)
    labels : array_like of bool or {0, 1}, same shape
        Every row needs a positive and a negative.
    tau : float, default 0.05
        Temperature, ``> 0``.

    Returns
    -------
    float

    Raises
    ------
    ValueError, TypeError
        for bad shapes, labels or ``tau``.

    Examples
    --------
    >>> round(info_nce_loss([[1.0, 0.0]], [[1, 0]], tau=1.0), 6)  # log(1 + e^-1)
    0.313262
    """
    tau = check_real(tau, "tau", low=0.0, low_open=True)
    s = check_array(scores, "scores", ndim=2, min_size=2)
    y = _binary_labels(labels, "labels")
    if y.shape != s.shape:
        raise ValueError(f"labels must have the shape of scores {s.shape}, got {y.shape}")
    if not (y.any(axis=1).all() and (~y).any(axis=1).all()):
        raise ValueError("every row of labels needs a positive and a negative")
    z = _scaled(s, tau)
    neg_lse = np.logaddexp.reduce(np.where(y, -np.inf, z), axis=1)  # log sum over the row's negatives
    terms = np.logaddexp(z, neg_lse[:, None]) - z
    return float(terms[y].mean())


def _scaled(s: np.ndarray, tau: float) -> np.ndarray:
    with np.errstate(over="ignore"):
        z = s / tau
    if not np.all(np.isfinite(z)):
        raise ValueError(f"scores / tau overflows the float range (max |scores| = {np.max(np.abs(s)):.3g}, "
                         f"tau = {tau:.3g}); rescale scores or raise tau")
    return z


def _as_numpy(labels, torch):
    return labels.detach().cpu().numpy() if isinstance(labels, torch.Tensor) else np.asarray(labels)


def _check_score_tensor(scores, torch, ndim=None):
    if not isinstance(scores, torch.Tensor):
        raise TypeError(f"scores must be a torch.Tensor, got {type(scores).__name__}")
    if not scores.is_floating_point():
        raise TypeError(f"scores must be a floating-point tensor, got dtype {scores.dtype}")
    if ndim is not None and scores.ndim != ndim:
        raise ValueError(f"scores must be {ndim}-D, got shape {tuple(scores.shape)}")
    if not bool(torch.isfinite(scores).all()):
        raise ValueError("scores must contain only finite values (found NaN or inf)")


def mw_loss_torch(scores, labels):
    """Differentiable global-pooling MW loss :eq:`mw-loss` of a torch score tensor (any shape).

    All pairs are formed by broadcasting, so memory grows as ``n_pos * n_neg``: meant for in-batch
    score matrices (use :func:`mw_loss_and_grad` for large arrays).

    Parameters
    ----------
    scores : torch.Tensor
        Finite scores, any shape.
    labels : array_like or torch.Tensor of bool or {0, 1}, same shape
        Both classes must occur.

    Returns
    -------
    torch.Tensor
        Scalar loss, differentiable in ``scores``.

    Raises
    ------
    ValueError
        if the shapes differ, a label is not 0/1 or a class is missing.

    Examples
    --------
    >>> import torch
    >>> round(float(mw_loss_torch(torch.tensor([0.0, 0.0]), torch.tensor([True, False]))), 6)
    0.693147
    """
    torch = require_torch()
    _check_score_tensor(scores, torch)
    y = torch.as_tensor(_binary_labels(_as_numpy(labels, torch), "labels"))
    if tuple(y.shape) != tuple(scores.shape):
        raise ValueError(f"labels must have the shape of scores {tuple(scores.shape)}, got {tuple(y.shape)}")
    pos, neg = scores[y], scores[~y]
    if pos.numel() == 0 or neg.numel() == 0:
        raise ValueError("labels must contain both classes")
    d = neg[None, :] - pos[:, None]
    return torch.logaddexp(torch.zeros((), dtype=d.dtype), d).mean()  # exact softplus


def info_nce_loss_torch(scores, labels, tau: float = 0.05):
    """Differentiable InfoNCE :eq:`mw-infonce` of a torch score matrix, as :func:`info_nce_loss`.

    Parameters
    ----------
    scores : torch.Tensor, shape (n_queries, n_docs)
    labels : array_like or torch.Tensor of bool or {0, 1}, same shape
        Every row needs a positive and a negative.
    tau : float, default 0.05
        Temperature, ``> 0``.

    Returns
    -------
    torch.Tensor
        Scalar loss, differentiable in ``scores``.

    Raises
    ------
    ValueError
        for bad shapes, labels or ``tau``.

    Examples
    --------
    >>> import torch
    >>> round(float(info_nce_loss_torch(torch.tensor([[1.0, 0.0]]), torch.tensor([[True, False]]), 1.0)), 5)
    0.31326
    """
    torch = require_torch()
    tau = check_real(tau, "tau", low=0.0, low_open=True)
    _check_score_tensor(scores, torch, ndim=2)
    y = torch.as_tensor(_binary_labels(_as_numpy(labels, torch), "labels"))
    if tuple(y.shape) != tuple(scores.shape):
        raise ValueError(f"labels must have the shape of scores {tuple(scores.shape)}, got {tuple(y.shape)}")
    if not (bool(y.any(dim=1).all()) and bool((~y).any(dim=1).all())):
        raise ValueError("every row of labels needs a positive and a negative")
    _scaled(scores.detach().cpu().numpy(), tau)  # refuse an overflowing scores / tau up front
    z = scores / tau
    neg_lse = torch.logsumexp(z.masked_fill(y, float("-inf")), dim=1, keepdim=True)
    terms = torch.logaddexp(z, neg_lse) - z
    return terms[y].mean()
