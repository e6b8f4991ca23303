"""Simplex equiangular tight frames and orthonormal frames (the targets of neural collapse).

A *simplex ETF* with ``K`` vertices is a ``d x K`` matrix ``M`` whose columns have unit norm and
pairwise inner products ``-1/(K-1)``; equivalently ``M.T @ M = K/(K-1) * (I_K - 1 1^T / K)``.
It exists whenever ``d >= K - 1``.
"""

from __future__ import annotations

import numpy as np

from .._rng import SeedLike, as_generator
from .._validate import check_int, check_real

__all__ = ["orthonormal_frame", "random_rotation", "simplex_etf"]


def random_rotation(d: int, *, seed: SeedLike) -> np.ndarray:
    """Haar-distributed ``d x d`` orthogonal matrix (QR of a Gaussian matrix with sign fix).

    Examples
    --------
    >>> Q = random_rotation(4, seed=0)
    >>> bool(np.allclose(Q.T @ Q, np.eye(4)))
    True
    """
    d = check_int(d, "d", low=1)
    rng = as_generator(seed)
    A = rng.standard_normal((d, d))
    Q, R = np.linalg.qr(A)
    # Multiply by the signs of diag(R) so the distribution is exactly Haar (Mezzadri 2007).
    s = np.sign(np.diag(R))
    s[s == 0] = 1.0
    return Q * s


def _helmert_basis(K: int) -> np.ndarray:
    """``K x (K-1)`` orthonormal basis of the complement of the all-ones vector."""
    U = np.zeros((K, K - 1))
    for j in range(1, K):
        U[:j, j - 1] = 1.0
        U[j, j - 1] = -float(j)
        U[:, j - 1] /= np.sqrt(j * (j + 1.0))
    return U


def simplex_etf(
    K: int, d: int | None = None, *, scale: float = 1.0, seed: SeedLike | None = None
) -> np.ndarray:
    r"""Simplex equiangular tight frame with ``K`` vertices in :math:`\mathbb R^d`.

    Returns ``M`` of shape ``(d, K)`` with

    .. math:: M^\top M = \mathrm{scale}^2\,\frac{K}{K-1}\Big(I_K - \tfrac1K\mathbf 1_K\mathbf 1_K^\top\Big),

    i.e. columns of norm ``scale``, pairwise cosine ``-1/(K-1)``, and ``M @ 1_K = 0`` (chapter
    *Perturbation analysis of neural collapse*, :doc:`/book/collapse/nc-perturbation`).

    Parameters
    ----------
    K : int
        Number of vertices (classes), ``K >= 2``.
    d : int, optional
        Ambient dimension, ``d >= K - 1``; default ``K``.
    scale : float
        Norm of every column, ``> 0``.
    seed : int, SeedSequence or Generator, optional
        If given, the frame is rotated by a Haar-random orthogonal ``d x d`` matrix; if ``None``
        the deterministic frame spanned by the first ``K - 1`` coordinate axes is returned.

    Examples
    --------
    >>> M = simplex_etf(3, 5, seed=0)
    >>> np.round(M.T @ M, 12) + 0.0
    array([[ 1. , -0.5, -0.5],
           [-0.5,  1. , -0.5],
           [-0.5, -0.5,  1. ]])
    """
    K = check_int(K, "K", low=2)
    d = K if d is None else check_int(d, "d", low=K - 1)
    scale = check_real(scale, "scale", low=0.0, low_open=True)
    M = np.zeros((d, K))
    M[: K - 1, :] = _helmert_basis(K).T
    M *= np.sqrt(K / (K - 1.0))  # unit columns; the scale last, so entries up to 1.7e308 stay finite
    if seed is not None:
        M = random_rotation(d, seed=seed) @ M
    return M * scale


def orthonormal_frame(K: int, d: int | None = None, *, seed: SeedLike | None = None) -> np.ndarray:
    r"""``d x K`` matrix ``R`` with orthonormal columns (:math:`R^\top R = I_K`), ``d >= K``.

    With ``seed=None`` it is the first ``K`` columns of :math:`I_d`; otherwise those columns rotated
    by a Haar-random orthogonal matrix.

    Examples
    --------
    >>> R = orthonormal_frame(2, 4, seed=1)
    >>> bool(np.allclose(R.T @ R, np.eye(2)))
    True
    """
    K = check_int(K, "K", low=1)
    d = K if d is None else check_int(d, "d", low=K)
    R = np.eye(d)[:, :K]
    if seed is not None:
        R = random_rotation(d, seed=seed) @ R
    return R
