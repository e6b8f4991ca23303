"""Classic pair-based losses written as functions of the similarity matrix, and their pair weights.

Each loss is a mean over anchors ``i`` of a sum over the anchor's pairs, with ``S`` the cosine-similarity
matrix (entry ``(i, j)`` belongs to anchor ``i``). The ``*_from_similarity`` functions take ``S`` as a
torch tensor (so the same code trains a network and gives ``dL/dS`` by autograd); :func:`pair_weights`
gives ``dL/dS`` in closed form with NumPy, the general-pair-weighting weights being its absolute value.

=====================  ==========================================================================
``contrastive``        ``sum_P (1 - S_ij) + sum_N max(0, S_ij - margin)``
``triplet``            ``(n / T) sum_{j in P_i, k in N_i} max(0, S_ik - S_ij + margin)`` (``T`` triplets)
``binomial_deviance``  ``sum_P softplus(-alpha (S_ij - base)) / alpha + sum_N softplus(beta (S_ij - base)) / beta``
``multi_similarity``   ``log(1 + sum_P e^{-alpha (S - base)}) / alpha + log(1 + sum_N e^{beta (S - base)}) / beta``
=====================  ==========================================================================

Binomial deviance is the multi-similarity loss without its relative-similarity term: each pair's
weight depends only on its own similarity.
"""

from __future__ import annotations

import numpy as np

from .._torch import require_torch
from .._validate import check_array, check_choice, check_real
from .multi_similarity import _log1p_sum_exp, _mine
from .similarity import pair_masks

__all__ = ["PAIR_LOSSES", "pair_loss_from_similarity", "pair_weights"]

PAIR_LOSSES = ("contrastive", "triplet", "binomial_deviance", "multi_similarity")
_DEFAULTS = {"margin": 0.5, "triplet_margin": 0.1, "alpha": 2.0, "beta": 50.0, "base": 0.5, "epsilon": 0.1}


def _params(kw):
    unknown = set(kw) - set(_DEFAULTS) - {"mine"}
    if unknown:
        raise TypeError(f"unknown parameter(s) {sorted(unknown)}; accepted: {sorted(_DEFAULTS)} and mine")
    p = {**_DEFAULTS, **{k: v for k, v in kw.items() if k != "mine"}}
    p["margin"] = check_real(p["margin"], "margin", low=-1.0, high=1.0)
    p["triplet_margin"] = check_real(p["triplet_margin"], "triplet_margin", low=0.0, high=2.0)
    p["alpha"] = check_real(p["alpha"], "alpha", low=1e-6, high=1e6)
    p["beta"] = check_real(p["beta"], "beta", low=1e-6, high=1e6)
    p["base"] = check_real(p["base"], "base", low=-1.0, high=1.0)
    p["epsilon"] = check_real(p["epsilon"], "epsilon", low=0.0, allow_inf=True)
    mine = kw.get("mine", True)
    if not isinstance(mine, bool | np.bool_):
        raise TypeError(f"mine must be a bool, got {type(mine).__name__}")
    p["mine"] = bool(mine)
    return p


def _masks(S_np, labels, name, p):
    y = np.asarray(labels)
    if y.shape != (S_np.shape[0],):
        raise ValueError(f"labels must have shape ({S_np.shape[0]},) to match S, got {y.shape}")
    pos, neg = pair_masks(y)
    if name == "multi_similarity" and p["mine"]:
        pos, neg = _mine(S_np, pos, neg, p["epsilon"])
    return pos, neg


def _check_s(S, n_name="S"):
    S = check_array(S, n_name, ndim=2, low=-1.0 - 1e-9, high=1.0 + 1e-9)
    if S.shape[0] != S.shape[1] or S.shape[0] < 2:
        raise ValueError(f"{n_name} must be a square similarity matrix with at least 2 rows, got {S.shape}")
    return S


def pair_loss_from_similarity(name: str, S, labels, **params):
    """A pair-based loss of the similarity matrix ``S`` (torch), differentiable in ``S`` (:prf:ref:`msl-def-weight`).

    Parameters
    ----------
    name : {"contrastive", "triplet", "binomial_deviance", "multi_similarity"}
        The loss (formulas in the module docstring).
    S : torch.Tensor, shape (n, n)
        Cosine similarities, entries in ``[-1, 1]``; ``n >= 2``.
    labels : torch.Tensor or array_like of int, shape (n,)
        Class labels.
    **params
        ``margin`` (contrastive, default 0.5), ``triplet_margin`` (default 0.1), ``alpha``, ``beta``,
        ``base`` (default 2, 50, 0.5; alpha and beta in ``[1e-6, 1e6]``), ``epsilon`` and ``mine``
        (multi-similarity mining, default 0.1, True).

    Returns
    -------
    torch.Tensor
        Scalar. Mining masks (multi-similarity) are computed without gradient.

    Examples
    --------
    >>> import torch
    >>> S = torch.tensor([[1.0, 0.2], [0.2, 1.0]], dtype=torch.float64)
    >>> float(pair_loss_from_similarity("contrastive", S, [0, 0]))   # each anchor: 1 - 0.2
    0.8
    """
    torch = require_torch()
    name = check_choice(name, "name", PAIR_LOSSES)
    if not torch.is_tensor(S) or not S.is_floating_point():
        raise TypeError("S must be a floating-point torch tensor")
    p = _params(params)
    S_np = _check_s(S.detach().cpu().double().numpy())
    y = labels.detach().cpu().numpy() if torch.is_tensor(labels) else np.asarray(labels)
    pos_np, neg_np = _masks(S_np, y, name, p)
    pos, neg = torch.as_tensor(pos_np, device=S.device), torch.as_tensor(neg_np, device=S.device)
    zero = torch.zeros((), dtype=S.dtype, device=S.device)
    n = S.shape[0]
    if name == "contrastive":
        per = torch.where(pos, 1.0 - S, zero).sum(1) + torch.where(neg, torch.relu(S - p["margin"]), zero).sum(1)
        return per.mean()
    if name == "triplet":
        # hinge over (anchor i, positive j) pairs x candidate negatives k: |P| x n, not n^3
        pi, pj = (torch.as_tensor(a, device=S.device) for a in np.nonzero(pos_np))
        negs = neg[pi]
        T = int(negs.sum())
        if T == 0:
            return (S * 0.0).sum()
        hinge = torch.relu(S[pi] - S[pi, pj][:, None] + p["triplet_margin"])
        return torch.where(negs, hinge, zero).sum() / T
    a, b, lam = p["alpha"], p["beta"], p["base"]
    if name == "binomial_deviance":
        def sp(t):  # exact softplus (torch's softplus returns t itself above t = 20)
            return torch.logaddexp(torch.zeros_like(t), t)

        per = (torch.where(pos, sp(-a * (S - lam)), zero).sum(1) / a
               + torch.where(neg, sp(b * (S - lam)), zero).sum(1) / b)
        return per.mean()
    col = torch.zeros(n, 1, dtype=S.dtype, device=S.device)

    def lse1(X, mask):
        return torch.logsumexp(torch.cat([col, torch.where(mask, X, torch.full_like(X, -torch.inf))], 1), 1)

    return (lse1(-a * (S - lam), pos) / a + lse1(b * (S - lam), neg) / b).mean()


def pair_weights(name: str, S, labels, **params) -> np.ndarray:
    """``dL/dS`` of :func:`pair_loss_from_similarity` in closed form (NumPy); ``|dL/dS|`` are the pair weights.

    The table of :prf:ref:`msl-thm-weights`; the embedding gradient follows from :eq:`msl-gpw`.

    Parameters
    ----------
    name, labels, **params
        As in :func:`pair_loss_from_similarity`.
    S : array_like, shape (n, n)
        Cosine similarities in ``[-1, 1]``.

    Returns
    -------
    ndarray, shape (n, n)
        Zero on pairs that do not enter the loss. At a hinge's kink the derivative is taken as 0
        (the side autograd takes for ``relu``).

    Examples
    --------
    >>> S = np.array([[1.0, 0.2, 0.7], [0.2, 1.0, 0.1], [0.7, 0.1, 1.0]])
    >>> pair_weights("contrastive", S, [0, 0, 1])[0].tolist()   # pull the positive, push the negative above 0.5
    [0.0, -0.3333333333333333, 0.3333333333333333]
    """
    name = check_choice(name, "name", PAIR_LOSSES)
    p = _params(params)
    S = _check_s(S)
    pos, neg = _masks(S, labels, name, p)
    n = S.shape[0]
    W = np.zeros_like(S)
    if name == "contrastive":
        W[pos] = -1.0
        W[neg & (S > p["margin"])] = 1.0
        return W / n
    if name == "triplet":
        valid = pos[:, :, None] & neg[:, None, :]
        T = int(valid.sum())
        if T == 0:
            return W
        active = valid & (S[:, None, :] - S[:, :, None] + p["triplet_margin"] > 0)
        W -= active.sum(axis=2)   # a positive pair counts once per active triplet it is in
        W += active.sum(axis=1)   # and a negative pair likewise
        return W / T
    a, b, lam = p["alpha"], p["beta"], p["base"]
    if name == "binomial_deviance":
        sig = lambda t: 0.5 * (1.0 + np.tanh(0.5 * t))  # noqa: E731 - logistic without overflow
        W[pos] = -sig(-a * (S[pos] - lam))
        W[neg] = sig(b * (S[neg] - lam))
        return W / n
    xp, xn = -a * (S - lam), b * (S - lam)
    lp, ln = _log1p_sum_exp(xp, pos)[:, None], _log1p_sum_exp(xn, neg)[:, None]
    W[pos] = -np.exp((xp - lp)[pos])
    W[neg] = np.exp((xn - ln)[neg])
    return W / n
