"""Betti matching: the induced matching of two barcodes through their comparison image.

Chapter ``book/physics/betti-matching``. For a prediction ``F`` and a target ``G`` filtered by sublevel sets, the
comparison image ``C = min(F, G)`` has sublevel sets ``C_t = F_t ∪ G_t`` that contain both. The inclusions
induce maps in homology, and Bauer and Lesnick's induced matching of each map (:prf:ref:`bm-thm-induced`) is
composed through the barcode of ``C`` into a partial matching between the intervals of ``F`` and ``G``.

Dimension 0: the pixels are added in ``C``'s order; one union-find carries three representatives per component
(the elder under ``C``'s, ``F``'s and ``G``'s order). At a merge at level ``c``, the dying ``F``- and
``G``-representatives ``u, w`` are matched when ``F(u) < c`` and ``G(w) < c`` (the image intervals are then
non-empty). Dimension 1 (by duality): each input is swept in its own reverse order with a second
representative keyed by ``C``; a dying input interval is assigned the dying ``C``-representative ``s`` when
``C(s)`` exceeds the merge level, and intervals of ``F`` and ``G`` assigned the same ``s`` are matched.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .._torch import require_torch
from .._validate import check_array
from .barcode import _check_flag, _check_image, _check_mask, _pairs_flat, _ranks, _sweep

_LOSS_MAX = 1e150

__all__ = ["BettiMatching", "betti_matching", "betti_matching_error", "betti_matching_loss",
           "betti_number_error"]


class BettiMatching(NamedTuple):
    """Result of :func:`betti_matching` (all indices are flat, row-major pixel indices).

    Attributes
    ----------
    pred_pairs, target_pairs : tuple of ndarray
        Per dimension (0, 1), integer arrays (k, 2) of (birth pixel, death pixel) of the positive-length
        intervals; the essential class of dimension 0 is the last row, with death pixel -1.
    matched : tuple of ndarray
        Per dimension, integer arrays (m, 2) of row indices ``(i, j)``: interval ``i`` of the prediction is
        matched with interval ``j`` of the target.
    unmatched_pred, unmatched_target : tuple of ndarray
        Per dimension, row indices of the intervals left unmatched.
    superlevel : bool
        Whether the pairs refer to the superlevel filtration (the pairs of the negated images).
    """

    pred_pairs: tuple
    target_pairs: tuple
    matched: tuple
    unmatched_pred: tuple
    unmatched_target: tuple
    superlevel: bool

    def counts(self):
        """Per dimension: (matched, unmatched in the prediction, unmatched in the target), shape (2, 3)."""
        return np.array([[len(self.matched[d]), len(self.unmatched_pred[d]), len(self.unmatched_target[d])]
                         for d in (0, 1)], dtype=np.int64)


def _dim1_keys(f, c, rank_f, rank_c, order_f, h, w):
    """Sweep ``f`` dually with a second representative keyed by ``c``; map death pixel -> key pixel."""
    ev, young_f, young_c, _ = _sweep(order_f[::-1].copy(), rank_f, rank_c, rank_c, h, w, True)
    keep = (f[young_f] > f[ev]) & (c[young_c] > f[ev])
    return dict(zip(young_f[keep].tolist(), young_c[keep].tolist(), strict=True))


def _match_flat(f, g, h, w):
    c = np.minimum(f, g)
    order_f, rank_f = _ranks(f)
    order_g, rank_g = _ranks(g)
    order_c, rank_c = _ranks(c)
    pf = _pairs_flat(f, h, w)
    pg = _pairs_flat(g, h, w)
    matched = []
    # dimension 0
    ev, _, uf, ug = _sweep(order_c, rank_c, rank_f, rank_g, h, w, False)
    lev = c[ev]
    ok = (f[uf] < lev) & (g[ug] < lev)
    row_f = {b: i for i, b in enumerate(pf[0][:-1, 0].tolist())}
    row_g = {b: i for i, b in enumerate(pg[0][:-1, 0].tolist())}
    m0 = [(row_f[a], row_g[b]) for a, b in zip(uf[ok].tolist(), ug[ok].tolist(), strict=True)]
    m0.append((len(pf[0]) - 1, len(pg[0]) - 1))  # the essential classes
    matched.append(np.array(m0, dtype=np.int64).reshape(-1, 2))
    # dimension 1
    key_f = _dim1_keys(f, c, rank_f, rank_c, order_f, h, w)
    key_g = _dim1_keys(g, c, rank_g, rank_c, order_g, h, w)
    by_key_g = {key_g[d]: j for j, d in enumerate(pg[1][:, 1].tolist()) if d in key_g}
    m1 = []
    for i, d in enumerate(pf[1][:, 1].tolist()):
        k = key_f.get(d)
        if k is not None and k in by_key_g:
            m1.append((i, by_key_g[k]))
    matched.append(np.array(m1, dtype=np.int64).reshape(-1, 2))
    un_p = tuple(np.setdiff1d(np.arange(len(pf[d])), matched[d][:, 0]) for d in (0, 1))
    un_t = tuple(np.setdiff1d(np.arange(len(pg[d])), matched[d][:, 1]) for d in (0, 1))
    return pf, pg, tuple(matched), un_p, un_t


def betti_matching(pred, target, *, superlevel=False):
    """Induced matching of the barcodes of two images through their comparison image (:eq:`bm-compare`).

    Parameters
    ----------
    pred, target : array_like, shape (h, w)
        Two images of the same shape (finite values).
    superlevel : bool, default False
        Filter both by superlevel sets (use ``True`` for likelihoods whose foreground is near 1); the
        comparison image is then the pixelwise maximum.

    Returns
    -------
    BettiMatching
        Pairs, matched rows and unmatched rows per dimension.

    Raises
    ------
    ValueError
        If an image is not 2-D, empty or not finite, or the shapes differ.

    Examples
    --------
    >>> a = [[0, 0, 0, 0], [0, 1, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0]]
    >>> b = [[0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 1]]
    >>> betti_matching(a, b, superlevel=True).counts().tolist()  # the essential classes only
    [[1, 0, 0], [0, 0, 0]]
    """
    f = _check_image(pred, "pred")
    g = _check_image(target, "target")
    if f.shape != g.shape:
        raise ValueError(f"pred and target must have the same shape, got {f.shape} and {g.shape}")
    superlevel = _check_flag(superlevel, "superlevel")
    s = -1.0 if superlevel else 1.0
    h, w = f.shape
    return BettiMatching(*_match_flat(s * f.ravel(), s * g.ravel(), h, w), superlevel=superlevel)


def betti_matching_loss(pred, target, *, superlevel=True, matching=None):
    """Betti-matching loss (:eq:`bm-loss`) as a differentiable PyTorch scalar.

    Matched pairs cost twice the squared distance between their (birth, death) points, unmatched intervals
    their squared length (twice the squared distance to the diagonal); essential classes are matched and
    compared by their births only. The gradient reaches ``pred`` only at the critical pixels.

    Parameters
    ----------
    pred : torch.Tensor, shape (h, w)
        Prediction (e.g. likelihoods); gradients flow through it.
    target : array_like or torch.Tensor, shape (h, w)
        Target image (constant).
    superlevel : bool, default True
        Superlevel filtration (likelihoods: foreground near 1).
    matching : BettiMatching, optional
        A precomputed matching of ``pred`` and ``target`` (same ``superlevel``); computed when omitted.

    Returns
    -------
    torch.Tensor
        Scalar loss.

    Raises
    ------
    TypeError
        If ``pred`` is not a torch tensor or ``matching`` is not a :class:`BettiMatching`.
    ValueError
        If the images are not 2-D, not finite, of different shapes, or hold a value of magnitude above 1e150
        (whose square would overflow).

    Examples
    --------
    >>> import torch
    >>> t = torch.tensor([[0.0, 1.0], [0.0, 0.0]])
    >>> float(betti_matching_loss(t.clone(), t))
    0.0
    """
    torch = require_torch()
    if not isinstance(pred, torch.Tensor):
        raise TypeError(f"pred must be a torch.Tensor, got {type(pred).__name__}")
    superlevel = _check_flag(superlevel, "superlevel")
    f = check_array(pred.detach().cpu().numpy(), "pred", ndim=2, min_size=1, max_abs=_LOSS_MAX)
    g = check_array(target.detach().cpu().numpy() if isinstance(target, torch.Tensor) else target, "target",
                    ndim=2, min_size=1, max_abs=_LOSS_MAX)
    if f.shape != g.shape:
        raise ValueError(f"pred and target must have the same shape, got {f.shape} and {g.shape}")
    tgt = torch.as_tensor(g, dtype=pred.dtype)
    if matching is None:
        matching = betti_matching(f, g, superlevel=superlevel)
    elif not isinstance(matching, BettiMatching):
        raise TypeError(f"matching must be a BettiMatching, got {type(matching).__name__}")
    fp = pred.reshape(-1)
    gt = tgt.reshape(-1)
    total = fp.sum() * 0.0
    for d in (0, 1):
        pp = torch.as_tensor(matching.pred_pairs[d])
        tp = torch.as_tensor(matching.target_pairs[d])
        mt = matching.matched[d]
        if len(mt):
            a = pp[torch.as_tensor(mt[:, 0])]
            b = tp[torch.as_tensor(mt[:, 1])]
            total = total + 2.0 * ((fp[a[:, 0]] - gt[b[:, 0]]) ** 2).sum()
            fin = (a[:, 1] >= 0) & (b[:, 1] >= 0)
            total = total + 2.0 * ((fp[a[fin, 1]] - gt[b[fin, 1]]) ** 2).sum()
        up = pp[torch.as_tensor(matching.unmatched_pred[d], dtype=torch.long)]
        up = up[up[:, 1] >= 0]
        total = total + ((fp[up[:, 0]] - fp[up[:, 1]]) ** 2).sum()
        ut = tp[torch.as_tensor(matching.unmatched_target[d], dtype=torch.long)]
        ut = ut[ut[:, 1] >= 0]
        total = total + ((gt[ut[:, 0]] - gt[ut[:, 1]]) ** 2).sum()
    return total


def betti_matching_error(pred_mask, target_mask):
    """Betti-matching error of two binary masks: unmatched intervals per dimension (:eq:`bm-errors`).

    Parameters
    ----------
    pred_mask, target_mask : array_like of bool or {0, 1}, shape (h, w)
        Binary masks, foreground 1 (8-connected), holes 4-connected.

    Returns
    -------
    ndarray of int, shape (2,)
        ``(mu_0, mu_1)``: intervals of either mask left unmatched, in dimensions 0 and 1.

    Raises
    ------
    ValueError
        If a mask is not binary, not 2-D, or the shapes differ.

    Examples
    --------
    >>> ring = [[1, 1, 1, 0, 0, 0], [1, 0, 1, 0, 0, 0], [1, 1, 1, 0, 0, 0]]
    >>> moved = [[0, 0, 0, 1, 1, 1], [0, 0, 0, 1, 0, 1], [0, 0, 0, 1, 1, 1]]
    >>> betti_number_error(ring, moved).tolist(), betti_matching_error(ring, moved).tolist()
    ([0, 0], [0, 2])
    """
    a = _check_mask(pred_mask, "pred_mask")
    b = _check_mask(target_mask, "target_mask")
    if a.shape != b.shape:
        raise ValueError(f"pred_mask and target_mask must have the same shape, got {a.shape} and {b.shape}")
    c = betti_matching(a, b, superlevel=True).counts()
    mu = c[:, 1] + c[:, 2]
    # with an empty mask the essential class is born by the background, not by a component: the other mask's
    # essential class then has no partner
    mu[0] += int(a.any() != b.any())
    return mu


def betti_number_error(pred_mask, target_mask):
    """Betti-number error ``|beta_d(pred) - beta_d(target)|`` for d = 0, 1 (:eq:`bm-errors`).

    Parameters
    ----------
    pred_mask, target_mask : array_like of bool or {0, 1}, shape (h, w)
        Binary masks, foreground 1.

    Returns
    -------
    ndarray of int, shape (2,)

    Raises
    ------
    ValueError
        If a mask is not binary, not 2-D, or the shapes differ.

    Examples
    --------
    >>> betti_number_error([[1, 0, 1]], [[1, 1, 1]]).tolist()
    [1, 0]
    """
    from .barcode import betti_numbers

    a = _check_mask(pred_mask, "pred_mask")
    b = _check_mask(target_mask, "target_mask")
    if a.shape != b.shape:
        raise ValueError(f"pred_mask and target_mask must have the same shape, got {a.shape} and {b.shape}")
    return np.abs(betti_numbers(a) - betti_numbers(b))


