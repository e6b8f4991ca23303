"""Normalised embeddings, cosine similarities, positive/negative pair masks, pair weights by autograd."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .._torch import require_torch
from .._validate import check_array

__all__ = ["cosine_similarity_matrix", "l2_normalize", "pair_masks", "similarity_gradient"]


def l2_normalize(embeddings, *, name: str = "embeddings") -> np.ndarray:
    """Rows of ``embeddings`` divided by their Euclidean norms.

    Parameters
    ----------
    embeddings : array_like, shape (n, d)
        Finite, every row non-zero (a zero row has no direction, so its cosine similarities are undefined).
    name : str
        Argument name used in error messages.

    Returns
    -------
    ndarray, shape (n, d)
        Unit rows (float64).

    Raises
    ------
    ValueError
        For a non-finite entry, a wrong shape, or a row of norm 0.

    Examples
    --------
    >>> l2_normalize([[3.0, 4.0]]).tolist()
    [[0.6, 0.8]]
    """
    E = check_array(embeddings, name, ndim=2, min_size=1)
    # scale each row by its largest entry first, so that norms of rows near 1e300 or 1e-300 do not overflow
    big = np.max(np.abs(E), axis=1, keepdims=True)
    if np.any(big == 0):
        raise ValueError(f"{name} has a zero row (row {int(np.argmin(big[:, 0]))}): its direction is undefined")
    scaled = E / big
    return scaled / np.linalg.norm(scaled, axis=1, keepdims=True)


def cosine_similarity_matrix(embeddings) -> np.ndarray:
    """``S[i, j] = <e_i, e_j> / (|e_i| |e_j|)`` for all pairs, clipped to ``[-1, 1]``.

    Parameters
    ----------
    embeddings : array_like, shape (n, d)
        As in :func:`l2_normalize`.

    Returns
    -------
    ndarray, shape (n, n)
        Symmetric, ones on the diagonal.

    Examples
    --------
    >>> cosine_similarity_matrix([[1.0, 0.0], [1.0, 1.0]]).round(4).tolist()
    [[1.0, 0.7071], [0.7071, 1.0]]
    """
    U = l2_normalize(embeddings)
    S = np.clip(U @ U.T, -1.0, 1.0)
    np.fill_diagonal(S, 1.0)
    return S


def pair_masks(labels) -> tuple[np.ndarray, np.ndarray]:
    """Boolean masks of the positive pairs (same label, ``i != j``) and the negative pairs (other label).

    Parameters
    ----------
    labels : array_like of int, shape (n,)
        Class labels (any integers).

    Returns
    -------
    positive, negative : ndarray of bool, shape (n, n)

    Examples
    --------
    >>> pos, neg = pair_masks([0, 0, 1])
    >>> pos.astype(int).tolist(), neg.astype(int).tolist()
    ([[0, 1, 0], [1, 0, 0], [0, 0, 0]], [[0, 0, 1], [0, 0, 1], [1, 1, 0]])
    """
    y = np.asarray(labels)
    if y.ndim != 1:
        raise ValueError(f"labels must be one-dimensional, got shape {y.shape}")
    if y.dtype.kind not in "iub":
        raise TypeError(f"labels must hold integers, got dtype={y.dtype}")
    same = y[:, None] == y[None, :]
    pos = same.copy()
    np.fill_diagonal(pos, False)
    return pos, ~same


def similarity_gradient(loss_of_s: Callable, embeddings, labels) -> np.ndarray:
    """``dL/dS`` of a loss written as a function of the cosine-similarity matrix (general pair weighting).

    The weights of :prf:ref:`msl-def-weight`, computed by autograd; :prf:ref:`msl-prop-gpw` turns them into
    the gradient in the embeddings.

    ``S`` is treated as an ``n x n`` matrix of free variables, entry ``(i, j)`` belonging to anchor ``i``;
    ``|dL/dS_ij|`` is the weight of the pair in the gradient, since
    ``dL/dtheta = sum_ij dL/dS_ij dS_ij/dtheta``.

    Parameters
    ----------
    loss_of_s : callable
        ``loss_of_s(S, labels) -> scalar torch tensor`` with ``S`` a float64 torch tensor.
    embeddings : array_like, shape (n, d)
        As in :func:`l2_normalize`.
    labels : array_like of int, shape (n,)
        Class labels.

    Returns
    -------
    ndarray, shape (n, n)
        The signed derivatives (negative on pairs the loss pulls together).

    Examples
    --------
    >>> import torch
    >>> G = similarity_gradient(lambda S, y: -S[0, 1] + 2 * S[1, 0], [[1.0, 0.0], [0.0, 1.0]], [0, 0])
    >>> G.tolist()
    [[0.0, -1.0], [2.0, 0.0]]
    """
    torch = require_torch()
    if not callable(loss_of_s):
        raise TypeError(f"loss_of_s must be callable, got {type(loss_of_s).__name__}")
    S = torch.tensor(cosine_similarity_matrix(embeddings), dtype=torch.float64, requires_grad=True)
    y = np.asarray(labels)
    if y.shape != (S.shape[0],):
        raise ValueError(f"labels must have shape ({S.shape[0]},), got {y.shape}")
    pair_masks(y)  # integer labels only (TypeError naming labels)
    out = loss_of_s(S, torch.as_tensor(y))
    if not torch.is_tensor(out) or out.numel() != 1:
        raise TypeError("loss_of_s must return a scalar torch tensor")
    (g,) = torch.autograd.grad(out, S, allow_unused=True)
    return np.zeros(S.shape) if g is None else g.detach().numpy()
