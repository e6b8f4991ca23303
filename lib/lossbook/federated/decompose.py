"""The exact split of the global loss into local, distribution-shift and aggregation terms."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .._validate import check_array, check_labels
from .model import _log_softmax

__all__ = ["LossDecomposition", "loss_decomposition"]

MAX_ABS = 1e100


class LossDecomposition(NamedTuple):
    """``global_loss == local + shift + aggregation`` (eq. :eq:`fedld-decomp`); ``cross[k, j]`` is
    :math:`L_j(w_k)`, client ``k``'s model on client ``j``'s data; ``p`` the client weights."""

    global_loss: float
    local: float
    shift: float
    aggregation: float
    cross: np.ndarray
    p: np.ndarray


def _check_clients(clients, n: int) -> list[np.ndarray]:
    if isinstance(clients, np.ndarray) or not hasattr(clients, "__len__") or len(clients) == 0:
        raise TypeError("clients must be a non-empty sequence of index arrays (one per client)")
    out = []
    seen = np.zeros(n, dtype=bool)
    for k, idx in enumerate(clients):
        a = np.asarray(idx)
        if a.dtype.kind not in "iu" or a.ndim != 1 or a.size == 0:
            raise ValueError(f"clients[{k}] must be a non-empty 1-D array of integer indices")
        if a.min() < 0 or a.max() >= n:
            raise ValueError(f"clients[{k}] holds indices outside [0, {n - 1}]")
        if np.any(seen[a]) or np.unique(a).size != a.size:
            raise ValueError(f"clients must be disjoint; clients[{k}] repeats an index")
        seen[a] = True
        out.append(a.astype(np.int64))
    return out


def _client_losses(W: np.ndarray, X: np.ndarray, y: np.ndarray, owner: np.ndarray, sizes: np.ndarray) -> np.ndarray:
    """Mean cross-entropy of model ``W`` on every client's samples (``owner[i]``: client of row ``i``)."""
    logp = _log_softmax(X @ W[:-1] + W[-1])
    return np.bincount(owner, weights=-logp[np.arange(y.size), y], minlength=sizes.size) / sizes


def loss_decomposition(client_models, global_model, X, y, clients) -> LossDecomposition:
    r"""Split the global cross-entropy of ``global_model`` into three exact terms.

    With client weights :math:`p_k=n_k/n`, client losses :math:`L_k` (mean cross-entropy on client
    :math:`k`'s samples) and the global loss :math:`L=\sum_kp_kL_k` (the mean over the union of the
    clients' samples), for client models :math:`w_k` and any aggregate :math:`\bar w`
    (eq. :eq:`fedld-decomp`):

    .. math:: L(\bar w)=\underbrace{\sum_kp_kL_k(w_k)}_{\text{local}}
              +\underbrace{\sum_kp_k\bigl[L(w_k)-L_k(w_k)\bigr]}_{\text{shift}}
              +\underbrace{L(\bar w)-\sum_kp_kL(w_k)}_{\text{aggregation}} .

    The identity telescopes; the three terms are the chapter's reading of the paper's term names, not
    the paper's formulas (which could not be read).

    Parameters
    ----------
    client_models : array_like, shape (m, d + 1, C)
        The models :math:`w_k` after local training (weights and bias, as in
        :func:`softmax_regression_loss`).
    global_model : array_like, shape (d + 1, C)
        The aggregate :math:`\bar w`.
    X : array_like, shape (n, d)
    y : array_like of int, shape (n,)
    clients : sequence of m disjoint, non-empty index arrays

    Returns
    -------
    LossDecomposition

    Raises
    ------
    ValueError, TypeError
        For bad arguments, overlapping or empty clients (each names the argument).
    FloatingPointError
        If a client loss overflows.

    Examples
    --------
    >>> X = np.array([[0.0], [1.0], [2.0], [3.0]]); y = np.array([0, 0, 1, 1])
    >>> Wk = np.array([[[1.0, -1.0], [0.0, 0.0]], [[-1.0, 1.0], [0.5, 0.0]]])
    >>> dec = loss_decomposition(Wk, Wk.mean(axis=0), X, y, [np.array([0, 1]), np.array([2, 3])])
    >>> bool(abs(dec.local + dec.shift + dec.aggregation - dec.global_loss) < 1e-12)
    True
    """
    Wk = check_array(client_models, "client_models", ndim=3, max_abs=MAX_ABS)
    Wbar = check_array(global_model, "global_model", ndim=2, max_abs=MAX_ABS)
    X = check_array(X, "X", ndim=2, min_size=1, max_abs=MAX_ABS)
    if Wbar.shape[1] < 2 or Wbar.shape[0] != X.shape[1] + 1:
        raise ValueError(f"global_model must have shape (d + 1, C) with C >= 2 and d = X.shape[1] = {X.shape[1]}; "
                         f"got {Wbar.shape}")
    if Wk.shape[1:] != Wbar.shape:
        raise ValueError(f"client_models must have shape (m, {Wbar.shape[0]}, {Wbar.shape[1]}) like global_model, "
                         f"got {Wk.shape}")
    y = check_labels(y, "y", Wbar.shape[1])
    if y.shape != (X.shape[0],):
        raise ValueError(f"y must have one label per row of X (shape ({X.shape[0]},)), got shape {y.shape}")
    idx = _check_clients(clients, X.shape[0])
    if len(idx) != Wk.shape[0]:
        raise ValueError(f"client_models has {Wk.shape[0]} models for {len(idx)} clients")
    n = np.array([a.size for a in idx], dtype=float)
    p = n / n.sum()
    m = len(idx)
    rows = np.concatenate(idx)
    owner = np.repeat(np.arange(m), n.astype(np.int64))
    Xu, yu = X[rows], y[rows]
    with np.errstate(over="ignore", invalid="ignore"):
        cross = np.array([_client_losses(Wk[k], Xu, yu, owner, n) for k in range(m)])
        glob = float(p @ _client_losses(Wbar, Xu, yu, owner, n))
    if not (np.all(np.isfinite(cross)) and np.isfinite(glob)):
        raise FloatingPointError("a client loss overflowed; scale the features or weights down")
    own = np.diag(cross)
    glob_k = cross @ p  # L(w_k)
    local = float(p @ own)
    shift = float(p @ (glob_k - own))
    aggregation = glob - float(p @ glob_k)
    return LossDecomposition(glob, local, shift, aggregation, cross, p)
