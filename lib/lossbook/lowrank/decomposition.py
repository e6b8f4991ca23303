"""Best rank-r approximation and the LOST low-rank + channel-sparse split of a weight matrix.

The chapter ``book/compression/lost-low-rank-sparse`` derives every formula here: the truncated SVD
is the best rank-r approximation in Frobenius norm (Eckart--Young, :eq:`lost-eckart-young`); the
residual it leaves is orthogonal to it, and keeping the ``k`` residual columns of largest norm is the
best column-sparse correction *given* that low-rank part (:prf:ref:`lost-thm-channels`).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .._rng import SeedLike, as_generator
from .._validate import check_array, check_int, check_size, pow2_exponent

__all__ = [
    "LostDecomposition",
    "LowRankApproximation",
    "RandomSupportDecomposition",
    "best_rank_approximation",
    "lost_channel_scores",
    "lost_decomposition",
    "random_support_decomposition",
]

#: Largest magnitude of a weight entry accepted: squared norms of ``W`` (up to 1e8 entries of
#: magnitude 1e150) then stay below the float range.
MAX_WEIGHT = 1e150

#: Largest ``m * n * min(m, n)`` (the order of the SVD's operation count) accepted in one call.
MAX_SVD_WORK = 10**11


class LowRankApproximation(NamedTuple):
    """Truncated SVD ``W ≈ B @ A`` with ``B = U_r Σ_r^{1/2}`` and ``A = Σ_r^{1/2} V_r^T``."""

    B: np.ndarray  #: (m, r) left factor
    A: np.ndarray  #: (r, n) right factor
    singular_values: np.ndarray  #: all min(m, n) singular values of W, non-increasing
    error: float  #: ||W - B A||_F = sqrt(sum_{i > r} sigma_i^2)


class LostDecomposition(NamedTuple):
    """LOST split ``W ≈ B @ A + S`` with ``S`` non-zero only on the input columns ``channels``."""

    B: np.ndarray  #: (m, r) left factor of the best rank-r approximation
    A: np.ndarray  #: (r, n) right factor
    channels: np.ndarray  #: (k,) kept input channels, ascending (int64)
    S: np.ndarray  #: (m, k) the residual's columns ``channels``
    scores: np.ndarray  #: (n,) residual column norms ||R[:, j]||_2 that ranked the channels
    lowrank_error: float  #: ||W - B A||_F
    error: float  #: ||W - B A - S||_F (S placed in its columns)


class RandomSupportDecomposition(NamedTuple):
    """Best rank-r part plus the residual kept on a uniformly random set of entries (SLTrain-style)."""

    B: np.ndarray  #: (m, r)
    A: np.ndarray  #: (r, n)
    rows: np.ndarray  #: (nnz,) row index of each kept entry (int64)
    cols: np.ndarray  #: (nnz,) column index of each kept entry (int64)
    values: np.ndarray  #: (nnz,) residual values at (rows, cols)
    lowrank_error: float  #: ||W - B A||_F
    error: float  #: ||W - B A - S||_F


def _check_weight(W) -> np.ndarray:
    W = check_array(W, "W", ndim=2, max_abs=MAX_WEIGHT)
    m, n = W.shape
    if m == 0 or n == 0:
        raise ValueError(f"W must have at least one row and one column, got shape {W.shape}")
    check_size(m * n * min(m, n), "W.shape[0] * W.shape[1] * min(W.shape)", limit=MAX_SVD_WORK,
               what="SVD operations")
    return W


def _svd_split(W: np.ndarray, rank: int):
    """SVD of ``W`` scaled by a power of two (exact), so tiny and huge entries lose nothing.

    Returns the factors, all singular values, the scaled residual and the exponent ``e`` with
    ``W = 2**e * Ws``.
    """
    e = pow2_exponent(np.max(np.abs(W)))
    Ws = np.ldexp(W, -e)
    U, s, Vt = np.linalg.svd(Ws, full_matrices=False)
    root = np.sqrt(s[:rank])
    e_b = e // 2  # split 2**e between the factors so that neither under- nor overflows
    B = np.ldexp(U[:, :rank] * root, e_b)
    A = np.ldexp(root[:, None] * Vt[:rank], e - e_b)
    # The residual from the tail singular triplets is exactly orthogonal to the kept part
    # (up to the SVD's rounding), unlike W - B A, which carries cancellation error.
    Rs = (U[:, rank:] * s[rank:]) @ Vt[rank:]
    return B, A, np.ldexp(s, e), Rs, e


def best_rank_approximation(W, rank: int) -> LowRankApproximation:
    """Best approximation of ``W`` of rank at most ``rank`` in Frobenius norm (truncated SVD).

    Implements the Eckart--Young theorem :eq:`lost-eckart-young`: with ``W = U Σ V^T``,
    ``B A = U_r Σ_r V_r^T`` minimises ``||W - L||_F`` over all ``L`` of rank at most ``r`` and the
    minimum is ``sqrt(sum_{i>r} sigma_i^2)``. The square root of ``Σ_r`` is split evenly between the
    factors, as in LOST's initialisation (:eq:`lost-factors`).

    Parameters
    ----------
    W : array_like, shape (m, n)
        Real weight matrix; finite entries of magnitude at most 1e150 (so that squared norms stay in
        the float range), ``m * n * min(m, n) <= 1e11``.
    rank : int
        Target rank ``r`` in ``[0, min(m, n)]``.

    Returns
    -------
    LowRankApproximation
        ``B`` (m, r), ``A`` (r, n), all singular values and the Frobenius ``error``.

    Raises
    ------
    ValueError
        If ``W`` is not a finite non-empty 2-D array within the limits, or ``rank`` is out of range.
    TypeError
        If ``W`` is not numeric or ``rank`` is not an integer.

    Examples
    --------
    >>> W = np.diag([3.0, 2.0, 1.0])
    >>> approx = best_rank_approximation(W, 1)
    >>> np.round(approx.B @ approx.A, 12)
    array([[3., 0., 0.],
           [0., 0., 0.],
           [0., 0., 0.]])
    >>> round(approx.error ** 2, 12)  # 2^2 + 1^2
    5.0
    """
    W = _check_weight(W)
    rank = check_int(rank, "rank", low=0, high=min(W.shape))
    B, A, s, Rs, e = _svd_split(W, rank)
    error = float(np.ldexp(np.linalg.norm(Rs), e))
    return LowRankApproximation(B, A, s, error)


def lost_channel_scores(W, rank: int) -> np.ndarray:
    """Norms of the columns of the residual ``R = W - U_r Σ_r V_r^T`` (LOST's channel scores).

    Score ``c_j = ||R[:, j]||_2`` (:eq:`lost-scores`) measures how much of input channel ``j`` the best
    rank-``r`` part misses. By :prf:ref:`lost-thm-channels` keeping the ``k`` largest is the best
    column-sparse correction of that low-rank part.

    Parameters
    ----------
    W : array_like, shape (m, n)
        As in :func:`best_rank_approximation`.
    rank : int
        ``r`` in ``[0, min(m, n)]``.

    Returns
    -------
    numpy.ndarray, shape (n,)
        Non-negative scores; their squares sum to ``sum_{i>r} sigma_i^2``.

    Raises
    ------
    ValueError
        As in :func:`best_rank_approximation`.
    TypeError
        As in :func:`best_rank_approximation`.

    Examples
    --------
    >>> W = np.array([[5.0, 0.0, 0.0], [0.0, 1.0, 2.0]])
    >>> np.round(lost_channel_scores(W, 1), 6)
    array([0., 1., 2.])
    """
    W = _check_weight(W)
    rank = check_int(rank, "rank", low=0, high=min(W.shape))
    _, _, _, Rs, e = _svd_split(W, rank)
    return np.ldexp(np.linalg.norm(Rs, axis=0), e)


def lost_decomposition(W, rank: int, n_channels: int) -> LostDecomposition:
    """Split ``W`` into its best rank-``r`` part and ``k`` residual input channels (LOST's initialisation).

    ``B A`` is the truncated SVD (:eq:`lost-factors`); the channels are the ``k`` columns of the residual
    ``R`` with the largest norms (:eq:`lost-scores`, ties broken towards the lower index) and ``S = R[:, J]``.
    By :prf:ref:`lost-thm-channels` the error is
    ``||W - BA - S||_F^2 = sum_{i>r} sigma_i^2 - sum_{j in J} ||R[:, j]||^2`` (:eq:`lost-error`). The
    channel choice and the split follow the first author's development code (the paper itself could not
    be read; see the chapter).

    Parameters
    ----------
    W : array_like, shape (m, n)
        As in :func:`best_rank_approximation`.
    rank : int
        ``r`` in ``[0, min(m, n)]``.
    n_channels : int
        ``k`` in ``[0, n]``, the number of input channels of the sparse part.

    Returns
    -------
    LostDecomposition
        Factors, kept channels (ascending), ``S``, all scores and both Frobenius errors.

    Raises
    ------
    ValueError
        As in :func:`best_rank_approximation`, or if ``n_channels`` is out of range.
    TypeError
        If an argument has the wrong type.

    Examples
    --------
    >>> W = np.array([[5.0, 0.0, 0.0], [0.0, 1.0, 2.0]])
    >>> d = lost_decomposition(W, 1, 1)
    >>> d.channels, np.round(d.S, 12).ravel(), round(d.error, 12)
    (array([2]), array([0., 2.]), 1.0)
    """
    W = _check_weight(W)
    m, n = W.shape
    rank = check_int(rank, "rank", low=0, high=min(m, n))
    n_channels = check_int(n_channels, "n_channels", low=0, high=n)
    B, A, s, Rs, e = _svd_split(W, rank)
    scores_s = np.linalg.norm(Rs, axis=0)
    order = np.argsort(-scores_s, kind="stable")
    channels = np.sort(order[:n_channels]).astype(np.int64)
    S = np.ldexp(Rs[:, channels], e)
    rest = np.delete(Rs, channels, axis=1)
    return LostDecomposition(B, A, channels, S, np.ldexp(scores_s, e),
                             float(np.ldexp(np.linalg.norm(Rs), e)), float(np.ldexp(np.linalg.norm(rest), e)))


def random_support_decomposition(W, rank: int, n_entries: int, seed: SeedLike) -> RandomSupportDecomposition:
    """Best rank-``r`` part plus the residual kept on ``n_entries`` uniformly random entries.

    The baseline of the chapter's comparison (a fixed random sparse support, as in SLTrain-style
    low-rank + sparse training). With a support of ``n_entries = m k`` entries drawn uniformly without
    replacement, the expected captured residual energy is ``(k/n) ||R||_F^2``, never more than LOST's
    (:prf:ref:`lost-prop-random`).

    Parameters
    ----------
    W : array_like, shape (m, n)
        As in :func:`best_rank_approximation`.
    rank : int
        ``r`` in ``[0, min(m, n)]``.
    n_entries : int
        Size of the support, in ``[0, m n]``.
    seed : int, SeedSequence or Generator
        Draws the support.

    Returns
    -------
    RandomSupportDecomposition
        Factors, the support (sorted row-major) with its residual values, and both Frobenius errors.

    Raises
    ------
    ValueError
        As in :func:`best_rank_approximation`, or if ``n_entries`` is out of range or ``seed`` negative.
    TypeError
        If an argument has the wrong type.

    Examples
    --------
    >>> W = np.arange(12.0).reshape(3, 4)
    >>> d = random_support_decomposition(W, 1, 12, seed=0)
    >>> d.error < 1e-12  # the full support recovers W
    True
    """
    W = _check_weight(W)
    m, n = W.shape
    rank = check_int(rank, "rank", low=0, high=min(m, n))
    n_entries = check_int(n_entries, "n_entries", low=0, high=m * n)
    rng = as_generator(seed)
    B, A, s, Rs, e = _svd_split(W, rank)
    flat = np.sort(rng.choice(m * n, size=n_entries, replace=False)).astype(np.int64)
    rows, cols = np.divmod(flat, n)
    values = np.ldexp(Rs[rows, cols], e)
    rest = Rs.copy()
    rest[rows, cols] = 0.0
    return RandomSupportDecomposition(B, A, rows, cols, values, float(np.ldexp(np.linalg.norm(Rs), e)),
                                      float(np.ldexp(np.linalg.norm(rest), e)))
