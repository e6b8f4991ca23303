"""Code-wise attention: one attention distribution over the tokens per code (NumPy reference).

For code ``l``, :math:`\\alpha_{l} = \\mathrm{softmax}_t(u_l^\\top\\tanh(W_1 h_t))` over the non-pad tokens and
:math:`v_l=\\sum_t\\alpha_{lt}h_t` (:eq:`ticd-attention`). The chapter's PyTorch model uses the same formula.
"""

from __future__ import annotations

import numpy as np

from .._validate import check_array

__all__ = ["codewise_attention", "token_contributions"]


def codewise_attention(H, mask, W1, U) -> tuple[np.ndarray, np.ndarray]:
    r"""Code-wise attention weights and document vectors, :eq:`ticd-attention`.

    Parameters
    ----------
    H : array_like, shape (B, S, d)
        Token representations (the encoder's output), magnitude at most 1e100.
    mask : array_like of bool, shape (B, S)
        True for real tokens, False for padding; every document needs at least one real token.
    W1 : array_like, shape (k, d)
        Shared projection.
    U : array_like, shape (L, k)
        One query per code.

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
        ``V`` of shape (B, L, d) and ``alpha`` of shape (B, L, S); each row of ``alpha`` sums to 1 and is
        exactly 0 on padding.

    Examples
    --------
    >>> H = np.array([[[1.0], [0.0], [5.0]]]); m = np.array([[True, True, False]])
    >>> V, a = codewise_attention(H, m, np.ones((1, 1)), np.zeros((2, 1)))
    >>> a[0].tolist(), V[0, :, 0].tolist()
    ([[0.5, 0.5, 0.0], [0.5, 0.5, 0.0]], [0.5, 0.5])
    """
    H = check_array(H, "H", ndim=3, max_abs=1e100)
    m = np.asarray(mask)
    if m.dtype != bool or m.shape != H.shape[:2]:
        raise ValueError(f"mask must be a boolean array of shape {H.shape[:2]} (documents, tokens)")
    if H.shape[0] and not np.all(m.any(axis=1)):
        raise ValueError("mask must mark at least one real token in every document")
    W1 = check_array(W1, "W1", ndim=2, max_abs=1e100)
    U = check_array(U, "U", ndim=2, max_abs=1e100)
    if W1.shape[1] != H.shape[2]:
        raise ValueError(f"W1 must have {H.shape[2]} columns (the token dimension d of H), got shape {W1.shape}")
    if U.shape[1] != W1.shape[0]:
        raise ValueError(f"U must have {W1.shape[0]} columns (the rows of W1), got shape {U.shape}")
    with np.errstate(over="ignore", invalid="ignore"):
        scores = np.einsum("lk,bsk->bls", U, np.tanh(H @ W1.T))  # |tanh| <= 1: scores are finite
    scores = np.where(m[:, None, :], scores, -np.inf)
    scores = scores - scores.max(axis=2, keepdims=True)
    w = np.exp(scores)
    alpha = w / w.sum(axis=2, keepdims=True)
    return np.einsum("bls,bsd->bld", alpha, H), alpha


def token_contributions(alpha, H, w) -> np.ndarray:
    r"""Each token's additive share of each code's logit: :math:`c_{lt}=\alpha_{lt}\,w_l^\top h_t`.

    The logit is :math:`z_l = \sum_t c_{lt} + b_l` exactly (:prf:ref:`ticd-prop-explain`).

    Parameters
    ----------
    alpha : array_like, shape (B, L, S)
    H : array_like, shape (B, S, d)
    w : array_like, shape (L, d)
        The codes' output weights.

    Returns
    -------
    numpy.ndarray, shape (B, L, S)

    Raises
    ------
    ValueError
        on shapes that disagree, or if a product overflows the float range (rescale ``H`` or ``w``).

    Examples
    --------
    >>> token_contributions(np.array([[[0.5, 0.5]]]), np.array([[[2.0], [-1.0]]]), np.array([[1.0]])).tolist()
    [[[1.0, -0.5]]]
    """
    a = check_array(alpha, "alpha", ndim=3, low=0.0, high=1.0)
    H = check_array(H, "H", ndim=3, max_abs=1e100)
    w = check_array(w, "w", ndim=2, max_abs=1e100)
    if a.shape[0] != H.shape[0] or a.shape[2] != H.shape[1]:
        raise ValueError(f"alpha {a.shape} and H {H.shape} disagree on documents or tokens")
    if w.shape != (a.shape[1], H.shape[2]):
        raise ValueError(f"w must have shape ({a.shape[1]}, {H.shape[2]}) (the codes of alpha, the features of H), "
                         f"got {w.shape}")
    with np.errstate(over="ignore", invalid="ignore"):
        out = a * np.einsum("ld,bsd->bls", w, H)
    if not np.all(np.isfinite(out)):
        raise ValueError("token contributions overflowed; rescale H or w")
    return out
