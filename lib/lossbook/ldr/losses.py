"""LDR-KL loss (label-distributionally robust, KL regulariser), its worst-case label weights and limits.

For scores ``f`` in R^K, label ``y`` and margin ``c >= 0`` write ``a_k = f_k - f_y + c [k != y]``.
The LDR-KL loss is ``max_{p in simplex} <p, a> - lam KL(p || uniform)``, whose value is
``lam log mean_k exp(a_k / lam)`` with maximiser ``softmax(a / lam)`` (chapter
``book/consistency/ldr-losses``).
"""

from __future__ import annotations

import numpy as np

from .._torch import require_torch
from .._validate import check_array, check_int, check_labels, check_real
from ..losses import logsumexp, softmax

__all__ = ["aldr_kl_lambda", "cs_loss", "ldr_kl_loss", "ldr_kl_loss_torch", "ldr_worst_case_weights"]

LAM_MIN = 1e-3
LAM_MAX = 1e3
SCORE_MAX = 1e4


def _margins(scores, labels, margin):
    f = check_array(scores, "scores", ndim=2, min_size=1)
    if f.shape[1] < 2:
        raise ValueError(f"scores must have at least 2 columns (classes), got shape {f.shape}")
    y = check_labels(labels, "labels", f.shape[1])
    if y.shape != (f.shape[0],):
        raise ValueError(f"labels must have shape ({f.shape[0]},) to match scores, got {y.shape}")
    c = check_real(margin, "margin", low=0.0)
    rows = np.arange(f.shape[0])
    with np.errstate(over="ignore", invalid="ignore"):
        a = f - f[rows, y][:, None] + c
    a[rows, y] = 0.0
    if not np.all(np.isfinite(a)):
        raise ValueError("scores: a score difference f_k - f_y + margin overflows the float range")
    return a


def ldr_kl_loss(scores, labels, lam, margin=0.0):
    """Per-example LDR-KL loss ``lam * log(mean_k exp(a_k / lam))``, :eq:`ldr-closed-form`.

    Parameters
    ----------
    scores : array_like, shape (n, K)
        Finite real scores, ``K >= 2``.
    labels : array_like of int, shape (n,)
        Labels in ``{0, ..., K-1}``.
    lam : float
        Temperature ``lam > 0`` (the KL weight). Any positive finite value is accepted; the
        stable form is tested for ``lam`` in ``[1e-3, 1e3]`` and scores up to ``1e4`` in modulus.
    margin : float
        Margin ``c >= 0`` added to every wrong class.

    Returns
    -------
    numpy.ndarray, shape (n,)
        The loss of each example.

    Raises
    ------
    ValueError
        if ``lam`` is not positive and finite, ``margin`` is negative, scores are not finite,
        or labels are out of range.
    TypeError
        if labels are not integers.

    Examples
    --------
    >>> ldr_kl_loss([[0.0, 0.0]], [0], lam=1.0).round(12)  # a = (0, 0): log mean exp = 0
    array([0.])
    >>> ldr_kl_loss([[1e4, -1e4]], [1], lam=1e-3)  # close to the hinge max a = 2e4
    array([19999.99930685])
    """
    lam = check_real(lam, "lam", low=0.0, low_open=True)
    a = _margins(scores, labels, margin)
    with np.errstate(over="ignore"):
        z = a / lam
    if not np.all(np.isfinite(z)):
        raise ValueError(f"scores / lam overflows for lam={lam!r}; use a larger lam or smaller scores")
    return lam * (logsumexp(z, axis=1) - np.log(a.shape[1]))


def ldr_worst_case_weights(scores, labels, lam, margin=0.0):
    """Worst-case label weights ``p* = softmax(a / lam)``, the maximiser in :eq:`ldr-closed-form`.

    Parameters and validation as :func:`ldr_kl_loss`.

    Returns
    -------
    numpy.ndarray, shape (n, K)
        Rows on the probability simplex.

    Raises
    ------
    ValueError
        as :func:`ldr_kl_loss`, including when ``scores / lam`` overflows.
    TypeError
        if labels are not integers.

    Examples
    --------
    >>> ldr_worst_case_weights([[0.0, 0.0]], [0], lam=1.0)
    array([[0.5, 0.5]])
    """
    lam = check_real(lam, "lam", low=0.0, low_open=True)
    a = _margins(scores, labels, margin)
    with np.errstate(over="ignore"):
        z = a / lam
    if not np.all(np.isfinite(z)):
        raise ValueError(f"scores / lam overflows for lam={lam!r}; use a larger lam or smaller scores")
    return softmax(z, axis=1)


def cs_loss(scores, labels, margin=1.0):
    """Crammer–Singer hinge ``max(0, max_{k != y} f_k - f_y + c)``, the ``lam -> 0`` limit :eq:`ldr-limits`.

    Raises
    ------
    ValueError
        if ``margin < 0``, scores are not finite, a score difference overflows, or labels are out of range.
    TypeError
        if labels are not integers.

    Examples
    --------
    >>> cs_loss([[2.0, 0.0, 1.5]], [0], margin=1.0)
    array([0.5])
    """
    a = _margins(scores, labels, margin)
    return a.max(axis=1)


def aldr_kl_lambda(scores, labels, lam0, alpha, margin=0.0, iters=200, tol=1e-12):
    """Adaptive temperature of ALDR-KL: fixed point of ``lam = lam0 (1 - KL(p*(lam) || u) / (alpha log K))``.

    This is the stationary condition of ``max_lam psi^lam - (alpha log K / (2 lam0)) (lam - lam0)^2``
    (:eq:`ldr-aldr`), the penalty scale used by the official code. The result lies in
    ``[lam0 (1 - 1/alpha), lam0]``.

    Parameters
    ----------
    scores, labels, margin
        As in :func:`ldr_kl_loss`.
    lam0 : float
        Reference temperature, ``lam0 > 0``.
    alpha : float
        ``alpha`` in ``(1, 1e6]``; ``alpha > 1`` keeps the temperature positive.
    iters : int
        Maximum number of fixed-point steps, in ``[1, 10**6]``.
    tol : float
        ``tol >= 0``; stop when no temperature moves by more than ``tol * lam0``.

    Returns
    -------
    numpy.ndarray, shape (n,)

    Raises
    ------
    ValueError
        if ``lam0 <= 0``, ``alpha <= 1``, ``iters`` or ``tol`` out of range, bad scores or labels, or
        ``scores / (lam0 (1 - 1/alpha))`` overflows.
    TypeError
        if labels are not integers.

    Examples
    --------
    >>> float(aldr_kl_lambda([[0.0, 0.0, 0.0]], [0], lam0=1.0, alpha=2.0)[0])  # p* uniform: KL = 0
    1.0
    """
    lam0 = check_real(lam0, "lam0", low=0.0, low_open=True)
    alpha = check_real(alpha, "alpha", low=1.0, low_open=True, high=1e6)
    iters = check_int(iters, "iters", low=1, high=10**6)
    tol = check_real(tol, "tol", low=0.0)
    a = _margins(scores, labels, margin)
    floor = lam0 * (1.0 - 1.0 / alpha)
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        z = a / floor if floor > 0 else np.full_like(a, np.inf)
    if not np.all(np.isfinite(z)):
        raise ValueError(f"scores / lam overflows for lam0={lam0!r}, alpha={alpha!r}; use a larger lam0")
    k = a.shape[1]
    lam = np.full(a.shape[0], lam0)
    for _ in range(iters):
        p = softmax(a / lam[:, None], axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            kl = np.sum(np.where(p > 0, p * np.log(k * p), 0.0), axis=1)
        new = lam0 * (1.0 - np.clip(kl, 0.0, np.log(k)) / (alpha * np.log(k)))
        done = np.max(np.abs(new - lam)) <= tol * lam0
        lam = new
        if done:
            break
    return lam


def ldr_kl_loss_torch(scores, labels, lam, margin=0.0):
    """PyTorch LDR-KL per-example loss (differentiable), the same formula as :func:`ldr_kl_loss`.

    Raises
    ------
    ValueError
        if ``lam <= 0``, ``margin < 0``, labels are out of range, or ``(scores - score of the label) / lam``
        overflows.
    TypeError
        if ``scores`` is not a 2-D tensor or ``labels`` not an integer tensor.

    Examples
    --------
    >>> import torch
    >>> ldr_kl_loss_torch(torch.zeros(1, 2, dtype=torch.float64), torch.tensor([0]), 1.0)
    tensor([0.], dtype=torch.float64)
    """
    torch = require_torch()
    lam = check_real(lam, "lam", low=0.0, low_open=True)
    c = check_real(margin, "margin", low=0.0)
    if not isinstance(scores, torch.Tensor) or scores.ndim != 2 or scores.shape[1] < 2:
        raise TypeError("scores must be a 2-D torch.Tensor with at least 2 columns")
    if not isinstance(labels, torch.Tensor) or labels.dtype not in (torch.int64, torch.int32):
        raise TypeError("labels must be an integer torch.Tensor")
    if labels.shape != (scores.shape[0],):
        raise ValueError(f"labels must have shape ({scores.shape[0]},), got {tuple(labels.shape)}")
    k = scores.shape[1]
    if labels.numel() and (int(labels.min()) < 0 or int(labels.max()) >= k):
        raise ValueError(f"labels must lie in [0, {k - 1}]")
    onehot = torch.nn.functional.one_hot(labels.long(), k).to(scores.dtype)
    a = scores - scores.gather(1, labels.long()[:, None]) + c * (1.0 - onehot)
    z = a / lam
    if not bool(torch.isfinite(z).all()):
        raise ValueError(f"scores / lam overflows for lam={lam!r}; use a larger lam or smaller scores")
    return lam * (torch.logsumexp(z, dim=1) - np.log(k))
