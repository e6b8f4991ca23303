"""Z-loss of a linear output layer in O(d^2) per example (the spherical family).

For outputs ``o = W h`` with ``W`` of shape (D, d), the Z-loss depends on ``o`` only through
``o_c = w_c . h``, ``sum(o) = (W^T 1) . h`` and ``sum(o^2) = h^T (W^T W) h``. With ``G = W^T W``
and ``u = W^T 1`` computed once (``O(D d^2)``), each example costs ``O(d^2)`` whatever ``D`` is
(:prf:ref:`zl-thm-spherical`). The mean-square form ``sigma^2 = sum(o^2)/D - mu^2`` cancels when
``|mu| >> sigma``; the function bounds that rounding error and refuses rows where it would exceed
a thousandth of ``sigma^2``.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from scipy.special import expit

from .._validate import check_array, check_labels, check_size
from .loss import _check_ab

__all__ = ["SphericalCache", "SphericalZLoss", "spherical_cache", "z_loss_spherical"]

_EPS = float(np.finfo(np.float64).eps)
#: refuse an example when the rounding bound on sigma^2 exceeds this fraction of sigma^2
CANCELLATION_LIMIT = 1e-3


class SphericalCache(NamedTuple):
    """Precomputed statistics of an output layer ``W`` (D, d), stored for ``2**-exponent * W``.

    ``weights`` is the scaled matrix, ``gram`` = ``weights.T @ weights``, ``col_sums`` =
    ``weights.sum(axis=0)``; ``abs_gram`` and ``abs_col_sums`` are the same for ``|weights|``
    (used only in the rounding-error bound).
    """

    weights: np.ndarray
    gram: np.ndarray
    col_sums: np.ndarray
    abs_gram: np.ndarray
    abs_col_sums: np.ndarray
    exponent: int


class SphericalZLoss(NamedTuple):
    """Per-example Z-loss values ``loss`` (n,) and gradients ``grad_hidden`` (n, d) in the hidden layer."""

    loss: np.ndarray
    grad_hidden: np.ndarray


def spherical_cache(weights):
    """Precompute ``W^T W`` and ``W^T 1`` of an output layer once, in ``O(D d^2)``, :eq:`zl-spherical`.

    Parameters
    ----------
    weights : array_like, shape (D, d)
        Finite output-layer weights, ``D >= 2`` classes, ``d >= 1`` hidden units, ``D d <= 1e8`` and
        ``d^2 <= 1e8``.
        The matrix is scaled by an exact power of two (the loss is scale invariant).

    Returns
    -------
    SphericalCache

    Raises
    ------
    ValueError
        if ``weights`` is not a finite 2-D array with at least 2 rows, is all zero, or is too large.
    TypeError
        if ``weights`` is not numeric.

    Examples
    --------
    >>> cache = spherical_cache(np.eye(3, 2))
    >>> cache.gram.shape, cache.col_sums.shape
    ((2, 2), (2,))
    """
    W = check_array(weights, "weights", ndim=2, min_size=1)
    D, d = W.shape
    if D < 2:
        raise ValueError(f"weights must have at least 2 rows (classes), got shape {W.shape}")
    check_size(D * d, "D * d")
    check_size(d * d, "d * d", what="entries of W^T W")
    top = float(np.max(np.abs(W)))
    if top == 0.0:
        raise ValueError("weights must not be all zero (every output would be 0)")
    k = int(np.frexp(top)[1])
    Ws = np.ldexp(W, -k)
    A = np.abs(Ws)
    return SphericalCache(Ws, Ws.T @ Ws, Ws.sum(axis=0), A.T @ A, A.sum(axis=0), k)


def z_loss_spherical(hidden, labels, cache, a=1.0, b=0.0):
    """Z-loss of ``o = W h`` and its gradient in ``h``, in ``O(d^2)`` per example, :eq:`zl-spherical`.

    Equals ``z_loss(hidden @ W.T, labels, a, b)`` with gradient ``z_loss_grad(...) @ W``
    (:eq:`zl-grad-h`) without forming the ``D`` outputs.

    Parameters
    ----------
    hidden : array_like, shape (n, d)
        Finite hidden activations (any magnitude; rows are scaled by exact powers of two).
    labels : array_like of int, shape (n,)
        Target classes in ``{0, ..., D-1}``.
    cache : SphericalCache
        From :func:`spherical_cache` of the output layer ``W``.
    a, b : float
        As in :func:`lossbook.zloss.z_loss`.

    Returns
    -------
    SphericalZLoss
        ``loss`` (n,) and ``grad_hidden`` (n, d).

    Raises
    ------
    ValueError
        if a row's outputs ``W h`` have zero spread, or the rounding bound of the mean-square form
        ``sum(o^2)/D - mu^2`` exceeds ``1e-3 sigma^2`` (the outputs' mean is too large against their
        spread: a cancellation; use :func:`lossbook.zloss.z_loss` on ``W h``), if the gradient
        overflows, or for bad shapes, labels, ``a`` or ``b``.
    TypeError
        if ``cache`` is not a :class:`SphericalCache` or ``labels`` are not integers.

    Examples
    --------
    >>> from lossbook.zloss import z_loss
    >>> rng = np.random.default_rng(0)
    >>> W, h, y = rng.normal(size=(50, 4)), rng.normal(size=(3, 4)), np.array([0, 7, 49])
    >>> r = z_loss_spherical(h, y, spherical_cache(W))
    >>> bool(np.allclose(r.loss, z_loss(h @ W.T, y)))
    True
    """
    a, b = _check_ab(a, b)
    if not isinstance(cache, SphericalCache):
        raise TypeError(f"cache must be a SphericalCache from spherical_cache(weights), got {type(cache).__name__}")
    Ws, G, u, Aabs, uabs, _ = cache
    D, d = Ws.shape
    H = check_array(hidden, "hidden", ndim=2, min_size=1)
    if H.shape[1] != d:
        raise ValueError(f"hidden must have {d} columns to match cache (weights of shape {Ws.shape}), "
                         f"got shape {H.shape}")
    y = check_labels(labels, "labels", D)
    if y.shape != (H.shape[0],):
        raise ValueError(f"labels must have shape ({H.shape[0]},) to match hidden, got {y.shape}")
    top = np.max(np.abs(H), axis=1)
    j = np.frexp(top)[1]
    Hs = np.ldexp(H, -j[:, None])
    Hs_abs = np.abs(Hs)
    oc = np.einsum("ij,ij->i", Ws[y], Hs)                 # o_c = w_c . h           O(d)
    mu = (Hs @ u) / D                                     # sum(o) / D              O(d)
    Gh = Hs @ G                                           # (W^T W) h               O(d^2)
    var = np.einsum("ij,ij->i", Gh, Hs) / D - mu * mu     # sum(o^2)/D - mu^2       O(d)
    # rounding bound: G and h^T G h carry at most (D + d) eps |h|^T |W|^T|W| |h|, mu^2 twice (D + d) eps mu_abs^2
    gamma = (D + d + 4) * _EPS
    mu_abs = (Hs_abs @ uabs) / D
    bound = gamma * (np.einsum("ij,ij->i", Hs_abs @ Aabs, Hs_abs) / D + 2.0 * mu_abs * mu_abs)
    bad = ~(var > bound / CANCELLATION_LIMIT)
    if np.any(bad):
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(
            f"hidden row {i}: the outputs W h have a spread too small against their mean (or zero) for the "
            "spherical form sum(o^2)/D - mu^2 (cancellation); compute z_loss on hidden @ W.T instead")
    sig = np.sqrt(var)
    zc = (oc - mu) / sig
    loss = np.logaddexp(0.0, a * (b - zc)) / a
    bracket = Ws[y] - u / D - (zc / (D * sig))[:, None] * (Gh - mu[:, None] * u)
    with np.errstate(over="ignore"):
        scale = np.ldexp(expit(a * (b - zc)) / sig, -j)
    if not np.all(np.isfinite(scale)):
        raise ValueError("hidden: a row is so small that the gradient (~1/|h|) overflows")
    return SphericalZLoss(loss, -scale[:, None] * bracket)
