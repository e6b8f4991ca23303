"""HPM's relative (pairwise ranking) loss for predicting per-patch reconstruction difficulty, and its masks.

Within each image, every pair of patches whose realised losses differ contributes the logistic loss of
the score difference in the right order (:eq:`hpm-rank`); the mean is over those pairs. The
easy-to-hard mask masks the ``floor(alpha * N_m)`` patches with the highest predicted difficulty and
fills the remaining masked slots uniformly at random (:eq:`hpm-mask`).
"""

from __future__ import annotations

import numpy as np

from .._rng import SeedLike, as_generator
from .._validate import check_array, check_real

__all__ = ["expected_hard_coverage", "hpm_mask", "n_masked", "pairwise_rank_loss", "pairwise_rank_loss_grad"]

#: Largest |score| accepted (differences of two scores stay finite).
MAX_SCORE = 1e300


def _inputs(scores, targets, valid):
    s = check_array(scores, "scores", ndim=2, max_abs=MAX_SCORE / 2)
    t = check_array(targets, "targets", ndim=2)
    if t.shape != s.shape:
        raise ValueError(f"targets must have the shape of scores {s.shape}, got {t.shape}")
    if valid is None:
        v = np.ones(s.shape, dtype=bool)
    else:
        v = np.asarray(valid)
        if v.dtype != bool or v.shape != s.shape:
            raise ValueError(f"valid must be a boolean array of shape {s.shape} (the patches that take part)")
    return s, t, v


def _pairs(s, t, v):
    # sign of (t_j - t_i) over valid pairs of the same image; 0 for ties and invalid pairs
    sign = np.sign(t[:, None, :] - t[:, :, None]) * (v[:, None, :] & v[:, :, None])
    diff = s[:, None, :] - s[:, :, None]  # s_j - s_i at [n, i, j]
    return sign, diff


def pairwise_rank_loss(scores, targets, valid=None) -> float:
    r"""HPM's relative loss, :eq:`hpm-rank`: mean logistic loss over the ordered pairs of each image.

    For image ``n`` and patches ``i, j`` with ``valid`` true and ``targets[n, j] != targets[n, i]``, the
    pair costs :math:`\mathrm{softplus}\big(-\operatorname{sign}(t_j-t_i)\,(s_j-s_i)\big)`; the loss is the
    mean over all such pairs of all images (each unordered pair counted once). With no such pair the loss
    is 0 (and so is its gradient): there is nothing to rank.

    Parameters
    ----------
    scores : array_like, shape (N, L)
        Predicted difficulty per patch, magnitude at most 5e299.
    targets : array_like, shape (N, L)
        Realised losses (any real values; only their order within an image matters).
    valid : array_like of bool, shape (N, L), optional
        Patches that take part (HPM: the masked ones); all by default.

    Returns
    -------
    float

    Examples
    --------
    >>> round(pairwise_rank_loss([[0.0, 0.0]], [[1.0, 2.0]]), 6)      # one pair, no preference: log 2
    0.693147
    >>> pairwise_rank_loss([[0.0, 0.0]], [[1.0, 1.0]])               # a tie: nothing to rank
    0.0
    """
    s, t, v = _inputs(scores, targets, valid)
    sign, diff = _pairs(s, t, v)
    pos = sign > 0  # each unordered pair once: the (i, j) with t_j > t_i
    count = int(pos.sum())
    if count == 0:
        return 0.0
    return float(np.logaddexp(0.0, -diff[pos]).sum() / count)


def pairwise_rank_loss_grad(scores, targets, valid=None) -> np.ndarray:
    """Gradient of :func:`pairwise_rank_loss` with respect to ``scores`` (zero where no pair exists).

    Examples
    --------
    >>> pairwise_rank_loss_grad([[0.0, 0.0]], [[1.0, 2.0]])
    array([[ 0.5, -0.5]])
    """
    s, t, v = _inputs(scores, targets, valid)
    sign, diff = _pairs(s, t, v)
    pos = sign > 0
    count = int(pos.sum())
    g = np.zeros_like(s)
    if count == 0:
        return g
    # d/d(diff) softplus(-diff) = -sigmoid(-diff); diff = s_j - s_i
    w = np.where(pos, -np.exp(-np.logaddexp(0.0, diff)), 0.0) / count
    g += w.sum(axis=1)   # d/ds_j: sum over i of w[n, i, j]
    g -= w.sum(axis=2)   # d/ds_i: minus sum over j of w[n, i, j]
    return g


def n_masked(n_patches: int, mask_ratio: float) -> int:
    """Masked patches per image, ``L - floor(L (1 - mask_ratio))`` (MAE's count).

    Examples
    --------
    >>> n_masked(16, 0.75), n_masked(196, 0.75)
    (12, 147)
    """
    if isinstance(n_patches, bool) or not isinstance(n_patches, int | np.integer) or not 1 <= n_patches <= 10**7:
        raise ValueError(f"n_patches must be an integer in [1, 1e7], got {n_patches!r}")
    mask_ratio = check_real(mask_ratio, "mask_ratio", low=0.0, high=1.0)
    return int(n_patches - np.floor(n_patches * (1.0 - mask_ratio) + 1e-9))


def hpm_mask(scores, mask_ratio: float, alpha: float, *, seed: SeedLike) -> np.ndarray:
    r"""Easy-to-hard mask, :eq:`hpm-mask`: the top ``floor(alpha N_m)`` scored patches plus random ones.

    Per image, :math:`N_m` = :func:`n_masked` patches are masked: the :math:`\lfloor\alpha N_m\rfloor` with the
    highest score (ties by lower index), and the rest uniformly at random among the others. ``alpha = 0``
    is MAE's uniform random mask.

    Parameters
    ----------
    scores : array_like, shape (N, L)
        Predicted difficulty, finite.
    mask_ratio : float
        In ``[0, 1]``.
    alpha : float
        Fraction of the masked patches chosen by score, in ``[0, 1]``.
    seed : int, SeedSequence or Generator

    Returns
    -------
    numpy.ndarray of bool, shape (N, L)
        True where masked.

    Examples
    --------
    >>> hpm_mask([[0.0, 5.0, 1.0, 2.0]], 0.5, 1.0, seed=0).tolist()
    [[False, True, False, True]]
    """
    s = check_array(scores, "scores", ndim=2)
    alpha = check_real(alpha, "alpha", low=0.0, high=1.0)
    N, L = s.shape
    if L == 0:
        raise ValueError("scores must have at least one patch per image")
    nm = n_masked(L, mask_ratio)
    k = int(np.floor(alpha * nm + 1e-9))
    rng = as_generator(seed)
    order = np.argsort(-s, axis=1, kind="stable")
    mask = np.zeros((N, L), dtype=bool)
    rows = np.arange(N)[:, None]
    mask[rows, order[:, :k]] = True
    if nm > k:
        rest = order[:, k:]
        pick = np.argsort(rng.random(rest.shape), axis=1)[:, : nm - k]
        mask[rows, np.take_along_axis(rest, pick, axis=1)] = True
    return mask


def expected_hard_coverage(n_patches: int, n_hard: int, mask_ratio: float, alpha: float) -> float:
    r"""Expected fraction of masked patches that are hard, for a predictor that ranks the hard ones first.

    With :math:`k=\lfloor\alpha N_m\rfloor` patches chosen by score and :math:`h` hard patches,
    :math:`\mathbb E[\#\text{hard masked}] = \min(k,h) + (N_m-k)\,\frac{h-\min(k,h)}{L-k}`
    (:prf:ref:`hpm-prop-coverage`); divided by :math:`N_m`. Chance (``alpha = 0``) is ``h / L``.

    Raises
    ------
    ValueError
        on out-of-range arguments, or when ``mask_ratio`` masks no patch (the fraction is undefined).

    Examples
    --------
    >>> expected_hard_coverage(16, 8, 0.75, 0.0), expected_hard_coverage(16, 8, 0.75, 0.5)
    (0.5, 0.6)
    """
    if isinstance(n_patches, bool) or not isinstance(n_patches, int | np.integer) or not 1 <= n_patches <= 10**7:
        raise ValueError(f"n_patches must be an integer in [1, 1e7], got {n_patches!r}")
    if isinstance(n_hard, bool) or not isinstance(n_hard, int | np.integer) or not 0 <= n_hard <= n_patches:
        raise ValueError(f"n_hard must be an integer in [0, n_patches], got {n_hard!r}")
    alpha = check_real(alpha, "alpha", low=0.0, high=1.0)
    nm = n_masked(int(n_patches), mask_ratio)
    if nm == 0:
        raise ValueError("mask_ratio masks no patch: the coverage is undefined")
    k = int(np.floor(alpha * nm + 1e-9))
    top = min(k, n_hard)
    rest = (nm - k) * (n_hard - top) / (n_patches - k) if n_patches > k else 0.0
    return float((top + rest) / nm)
