"""The multi-similarity loss (Wang et al. 2019): epsilon-margin pair mining and log-sum-exp pair weights.

For anchor ``i`` with kept positives ``P_i`` and kept negatives ``N_i`` (cosine similarities ``S``),

``L_i = (1/alpha) log(1 + sum_{P_i} exp(-alpha (S_ik - base))) + (1/beta) log(1 + sum_{N_i} exp(beta (S_ik - base)))``

and the loss is the mean of ``L_i`` over all anchors (an anchor with no kept pairs contributes 0).
Defaults ``alpha=2, beta=50, base=0.5, epsilon=0.1`` are those of ``pytorch-metric-learning`` (the
official code is quoted with ``beta=40``; the chapter discusses the choice).
"""

from __future__ import annotations

import numpy as np

from .._torch import require_torch
from .._validate import check_real
from .similarity import cosine_similarity_matrix, pair_masks

__all__ = [
    "multi_similarity_loss",
    "multi_similarity_loss_torch",
    "multi_similarity_mine",
    "multi_similarity_pair_weights",
]


SCALE_RANGE = (1e-6, 1e6)  #: accepted alpha and beta (outside it 1/alpha or alpha * 2 overflow or lose all precision)


def _check(embeddings, labels, alpha, beta, base, epsilon):
    S = cosine_similarity_matrix(embeddings)
    if S.shape[0] < 2:
        raise ValueError(f"embeddings must have at least 2 rows (pairs), got {S.shape[0]}")
    y = np.asarray(labels)
    if y.shape != (S.shape[0],):
        raise ValueError(f"labels must have shape ({S.shape[0]},) to match embeddings, got {y.shape}")
    pos, neg = pair_masks(y)
    alpha = check_real(alpha, "alpha", low=SCALE_RANGE[0], high=SCALE_RANGE[1])
    beta = check_real(beta, "beta", low=SCALE_RANGE[0], high=SCALE_RANGE[1])
    base = check_real(base, "base", low=-1.0, high=1.0)
    epsilon = check_real(epsilon, "epsilon", low=0.0, allow_inf=True)
    return S, pos, neg, alpha, beta, base, epsilon


def _mine(S, pos, neg, epsilon):
    """Kept-pair masks: a negative is kept if ``S + eps > min positive``, a positive if ``S - eps < max negative``."""
    has_both = pos.any(axis=1) & neg.any(axis=1)
    min_pos = np.where(pos, S, np.inf).min(axis=1, keepdims=True)
    max_neg = np.where(neg, S, -np.inf).max(axis=1, keepdims=True)
    keep_neg = neg & ((S + epsilon > min_pos) | ~has_both[:, None])
    keep_pos = pos & ((S - epsilon < max_neg) | ~has_both[:, None])
    return keep_pos, keep_neg


def multi_similarity_mine(embeddings, labels, *, epsilon: float = 0.1) -> tuple[np.ndarray, np.ndarray]:
    """The pairs the multi-similarity miner keeps (:prf:ref:`msl-def-mining`).

    For an anchor with at least one positive and one negative, a negative ``k`` is kept if
    ``S_ik + epsilon > min_{j in P} S_ij`` and a positive ``j`` if ``S_ij - epsilon < max_{k in N} S_ik``;
    an anchor without positives or without negatives is not mined (all its pairs are kept).
    ``pytorch-metric-learning``'s ``MultiSimilarityMiner`` instead drops every pair of such an anchor;
    the two agree whenever every anchor has both.

    Parameters
    ----------
    embeddings : array_like, shape (n, d)
        Finite, non-zero rows (they are L2-normalised).
    labels : array_like of int, shape (n,)
        Class labels.
    epsilon : float, default 0.1
        Margin, ``>= 0`` (``inf`` keeps every pair).

    Returns
    -------
    keep_pos, keep_neg : ndarray of bool, shape (n, n)

    Examples
    --------
    >>> E = [[1.0, 0.0], [0.9, 0.1], [-1.0, 0.0], [0.0, 1.0]]
    >>> kp, kn = multi_similarity_mine(E, [0, 0, 1, 1])
    >>> kn[0].tolist()   # anchor 0: the negative at -1 is easy and dropped, the orthogonal one too
    [False, False, False, False]
    """
    S, pos, neg, *_, epsilon = _check(embeddings, labels, 2.0, 50.0, 0.5, epsilon)
    return _mine(S, pos, neg, epsilon)


def _log1p_sum_exp(X, mask):
    """Row-wise ``log(1 + sum_{mask} exp(X))`` without overflow (0 for an empty row)."""
    Xm = np.where(mask, X, -np.inf)
    m = np.maximum(0.0, Xm.max(axis=1, keepdims=True))
    return (m + np.log(np.exp(-m) + np.exp(Xm - m).sum(axis=1, keepdims=True)))[:, 0]


def multi_similarity_loss(embeddings, labels, *, alpha: float = 2.0, beta: float = 50.0, base: float = 0.5,
                          epsilon: float = 0.1, mine: bool = True) -> float:
    """Multi-similarity loss of a batch, with or without mining: :eq:`msl-loss`.

    Derived in :doc:`/book/collapse/multi-similarity-loss`.

    Parameters
    ----------
    embeddings : array_like, shape (n, d)
        Finite, non-zero rows; ``n >= 2``. Only their directions matter.
    labels : array_like of int, shape (n,)
        Class labels.
    alpha, beta : float, default 2 and 50
        Positive and negative scales, in ``[1e-6, 1e6]``.
    base : float, default 0.5
        The similarity offset ``lambda``, in ``[-1, 1]``.
    epsilon : float, default 0.1
        Mining margin, ``>= 0``; ``inf`` keeps every pair (see :func:`multi_similarity_mine`).
    mine : bool, default True
        Apply the miner; ``False`` keeps every pair.

    Returns
    -------
    float
        The mean over all ``n`` anchors of ``L_i`` (empty sums contribute ``log 1 = 0``).

    Examples
    --------
    >>> E = [[1.0, 0.0], [0.0, 1.0]]          # two orthogonal positives, no negatives
    >>> bool(np.isclose(multi_similarity_loss(E, [0, 0], mine=False), 0.5 * np.log1p(np.exp(1.0))))
    True
    """
    S, pos, neg, alpha, beta, base, epsilon = _check(embeddings, labels, alpha, beta, base, epsilon)
    if not isinstance(mine, bool | np.bool_):
        raise TypeError(f"mine must be a bool, got {type(mine).__name__}")
    kp, kn = _mine(S, pos, neg, epsilon) if mine else (pos, neg)
    per_anchor = (_log1p_sum_exp(-alpha * (S - base), kp) / alpha + _log1p_sum_exp(beta * (S - base), kn) / beta)
    return float(per_anchor.mean())


def multi_similarity_pair_weights(embeddings, labels, *, alpha: float = 2.0, beta: float = 50.0,
                                  base: float = 0.5, epsilon: float = 0.1, mine: bool = True) -> np.ndarray:
    """``dL/dS_ij`` of :func:`multi_similarity_loss` in closed form, :eq:`msl-wneg` and :eq:`msl-wpos`.

    For a kept positive, ``-exp(-alpha (S_ij - base)) / (n (1 + sum_{P_i} exp(-alpha (S_ik - base))))``; for
    a kept negative, ``+exp(beta (S_ij - base)) / (n (1 + sum_{N_i} exp(beta (S_ik - base))))``; zero for
    pairs the miner drops and on the diagonal. Their absolute values are the general-pair-weighting
    weights. Mining masks are held fixed (they are piecewise constant in ``S``).

    Parameters
    ----------
    embeddings, labels, alpha, beta, base, epsilon, mine
        As in :func:`multi_similarity_loss`.

    Returns
    -------
    ndarray, shape (n, n)

    Examples
    --------
    >>> W = multi_similarity_pair_weights([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]], [0, 0, 1], mine=False)
    >>> bool(W[0, 1] < 0 < W[0, 2])       # pull the positive, push the negative
    True
    """
    S, pos, neg, alpha, beta, base, epsilon = _check(embeddings, labels, alpha, beta, base, epsilon)
    if not isinstance(mine, bool | np.bool_):
        raise TypeError(f"mine must be a bool, got {type(mine).__name__}")
    kp, kn = _mine(S, pos, neg, epsilon) if mine else (pos, neg)
    n = S.shape[0]
    xp, xn = -alpha * (S - base), beta * (S - base)
    lp, ln = _log1p_sum_exp(xp, kp)[:, None], _log1p_sum_exp(xn, kn)[:, None]
    W = np.zeros_like(S)
    W[kp] = -np.exp((xp - lp)[kp])  # each entry <= 0 in the exponent: a softmax with an extra 1
    W[kn] = np.exp((xn - ln)[kn])
    return W / n


def multi_similarity_loss_torch(embeddings, labels, *, alpha: float = 2.0, beta: float = 50.0, base: float = 0.5,
                                epsilon: float = 0.1, mine: bool = True):
    """PyTorch twin of :func:`multi_similarity_loss`, differentiable in ``embeddings`` (for training).

    Parameters
    ----------
    embeddings : torch.Tensor, shape (n, d)
        Floating point, finite, non-zero rows, ``n >= 2``.
    labels : torch.Tensor or array_like of int, shape (n,)
        Class labels.
    alpha, beta, base, epsilon, mine
        As in :func:`multi_similarity_loss`.

    Returns
    -------
    torch.Tensor
        Scalar; the mining masks are computed without gradient.

    Examples
    --------
    >>> import torch
    >>> E = torch.tensor([[1.0, 0.0], [0.6, 0.8], [0.0, 1.0]], dtype=torch.float64)
    >>> v = multi_similarity_loss_torch(E, [0, 0, 1])
    >>> bool(abs(v.item() - multi_similarity_loss(E.numpy(), [0, 0, 1])) < 1e-12)
    True
    """
    torch = require_torch()
    if not torch.is_tensor(embeddings) or not embeddings.is_floating_point() or embeddings.ndim != 2:
        raise TypeError("embeddings must be a 2-D floating-point torch tensor")
    with torch.no_grad():
        E_np = embeddings.detach().to("cpu", torch.float64).numpy()
        y = labels.detach().cpu().numpy() if torch.is_tensor(labels) else np.asarray(labels)
        S0, pos, neg, alpha, beta, base, epsilon = _check(E_np, y, alpha, beta, base, epsilon)
        if not isinstance(mine, bool | np.bool_):
            raise TypeError(f"mine must be a bool, got {type(mine).__name__}")
        kp, kn = _mine(S0, pos, neg, epsilon) if mine else (pos, neg)
    U = torch.nn.functional.normalize(embeddings, dim=1)
    S = U @ U.T
    kp_t, kn_t = torch.as_tensor(kp, device=S.device), torch.as_tensor(kn, device=S.device)
    zero = torch.zeros(S.shape[0], 1, dtype=S.dtype, device=S.device)

    def log1p_sum_exp(X, mask):
        X = torch.where(mask, X, torch.full_like(X, -torch.inf))
        return torch.logsumexp(torch.cat([zero, X], dim=1), dim=1)

    per_anchor = (log1p_sum_exp(-alpha * (S - base), kp_t) / alpha + log1p_sum_exp(beta * (S - base), kn_t) / beta)
    return per_anchor.mean()
