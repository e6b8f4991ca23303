"""Server-side aggregation of client updates: FedAvg and principal-gradient aggregation."""

from __future__ import annotations

import numpy as np

from .._validate import check_array, check_choice, check_real, check_size

__all__ = ["fedavg_aggregate", "principal_gradient_aggregate"]

MAX_ABS = 1e100


def _check(updates, weights):
    G = check_array(updates, "updates", ndim=2, min_size=1, max_abs=MAX_ABS)
    m = G.shape[0]
    if m == 0 or G.shape[1] == 0:
        raise ValueError(f"updates must have at least one client and one coordinate, got shape {G.shape}")
    check_size(G.size, "updates")
    if weights is None:
        p = np.full(m, 1.0 / m)
    else:
        p = check_array(weights, "weights", ndim=1, low=0.0)
        if p.shape != (m,):
            raise ValueError(f"weights must have one entry per client ({m}), got shape {p.shape}")
        if not abs(p.sum() - 1.0) <= 1e-9:
            raise ValueError(f"weights must sum to 1 (within 1e-9), got {p.sum()!r}")
    return G, p


def fedavg_aggregate(updates, weights=None) -> np.ndarray:
    r"""FedAvg: the weighted mean :math:`\sum_ip_ig_i` of the client updates (eq. :eq:`fedld-fedavg`).

    Parameters
    ----------
    updates : array_like, shape (m, d)
        One update :math:`g_i=w_i-\bar w` per client (finite, modulus at most 1e100).
    weights : array_like, shape (m,), optional
        Non-negative client weights summing to 1 (usually :math:`n_i/n`); uniform by default.

    Returns
    -------
    numpy.ndarray, shape (d,)

    Examples
    --------
    >>> fedavg_aggregate([[1.0, 0.0], [0.0, 1.0]], [0.25, 0.75]).tolist()
    [0.25, 0.75]
    """
    G, p = _check(updates, weights)
    return p @ G


def principal_gradient_aggregate(updates, kappa: float = 0.8, *, weights=None, rule: str = "projection",
                                 eps: float = 1e-12) -> np.ndarray:
    r"""Principal-gradient aggregation (PGA) of client updates.

    Let :math:`G=\sum_j\sigma_ju_jr_j^\top` be the SVD of the ``(m, d)`` update matrix (the principal
    directions :math:`r_j` are the eigenvectors of :math:`G^\top G`, equivalently :math:`G^\top e_j`
    for the eigenvectors :math:`e_j` of the Gram matrix :math:`GG^\top/m` used by the FedLD code), and
    keep the :math:`k=\max(1,\lfloor\kappa m\rfloor)` largest. Directions with
    :math:`\sigma_j\le\texttt{eps}\,\sigma_1` carry no update and are dropped (the official code divides
    0 by 0 there and returns NaN, e.g. for identical updates).

    ``rule="projection"`` (eq. :eq:`fedld-pga-proj`) projects the weighted mean update onto the kept
    directions, :math:`\Delta=\sum_{j\le k}r_jr_j^\top\sum_ip_ig_i`; with every direction kept it is
    FedAvg exactly (:prf:ref:`fedld-thm-pga`).

    ``rule="code"`` (eq. :eq:`fedld-pga-code`) is the rule read from the official FedLD code: each
    direction's sign is flipped to agree with the majority of the clients, and

    .. math:: \Delta=\sum_ip_i\sum_{j\le k}\operatorname{sign}\langle g_i,r_j\rangle\,\lVert g_i\rVert\,
              \frac{\sigma_j^2}{\sum_l\sigma_l^2}\,r_j ,

    with a zero contribution where :math:`\langle g_i,r_j\rangle=0`. It is **not** FedAvg even with every
    direction kept; its norm is at most :math:`\sum_ip_i\lVert g_i\rVert`.

    Parameters
    ----------
    updates : array_like, shape (m, d)
        One update per client (finite, modulus at most 1e100).
    kappa : float, default 0.8
        Fraction of directions kept, in ``(0, 1]``; 0.8 is the official code's default.
    weights : array_like, shape (m,), optional
        Client weights summing to 1; uniform by default (as in the official code).
    rule : {"projection", "code"}, default "projection"
    eps : float, default 1e-12
        Relative singular-value cut-off, in ``[0, 1)``.

    Returns
    -------
    numpy.ndarray, shape (d,)

    Examples
    --------
    >>> G = np.array([[1.0, 2.0, 0.0], [3.0, -1.0, 1.0]])
    >>> bool(np.allclose(principal_gradient_aggregate(G, 1.0), G.mean(axis=0)))
    True
    >>> np.round(principal_gradient_aggregate([[1.0, 1.0], [1.0, 1.0]], rule="code"), 12).tolist()
    [1.0, 1.0]
    """
    G, p = _check(updates, weights)
    kappa = check_real(kappa, "kappa", low=0.0, high=1.0, low_open=True)
    rule = check_choice(rule, "rule", ("projection", "code"))
    eps = check_real(eps, "eps", low=0.0, high=1.0, high_open=True)
    m = G.shape[0]
    scale = float(np.max(np.abs(G)))
    if scale == 0.0:
        return np.zeros(G.shape[1])
    Gs = G / scale  # scale-free: the rule is positively homogeneous of degree 1 in G
    _, sig, Rt = np.linalg.svd(Gs, full_matrices=False)
    k = max(1, int(m * kappa))
    keep = [j for j in range(min(k, sig.size)) if sig[j] > eps * sig[0]]
    R = Rt[keep]  # (k', d), orthonormal rows
    if rule == "projection":
        return scale * (R.T @ (R @ (p @ Gs)))
    dots = Gs @ R.T  # (m, k'): <g_i, r_j>
    flip = np.where(np.sum(dots >= 0, axis=0) < np.sum(dots < 0, axis=0), -1.0, 1.0)
    R = R * flip[:, None]
    sgn = np.sign(dots * flip)
    share = sig[keep] ** 2 / np.sum(sig**2)
    norms = np.linalg.norm(Gs, axis=1)
    coef = (p * norms) @ (sgn * share)  # (k',)
    return scale * (coef @ R)
