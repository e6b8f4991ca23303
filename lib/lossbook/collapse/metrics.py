r"""Neural-collapse metrics NC1, NC2, NC3 for features ``H`` of shape ``(d, N)`` (columns are samples).

Definitions (chapter *Perturbation analysis of neural collapse*, section "Collapse metrics"):
with class means :math:`\bar h_k`, global mean :math:`\bar h_G`, centred means
:math:`M = [\bar h_1 - \bar h_G, \dots, \bar h_K - \bar h_G]`,

.. math::
   \Sigma_W = \frac1N\sum_{i}(h_i - \bar h_{y_i})(h_i - \bar h_{y_i})^\top, \qquad
   \Sigma_B = \frac1K\sum_k(\bar h_k - \bar h_G)(\bar h_k - \bar h_G)^\top,

* ``nc1`` :math:`= \tfrac1K\operatorname{tr}(\Sigma_W\Sigma_B^\dagger)` (pseudo-inverse form),
* ``nc1_trace`` :math:`= \operatorname{tr}\Sigma_W / \operatorname{tr}\Sigma_B`,
* ``nc2_etf`` :math:`= \big\|M^\top M/\|M^\top M\|_F - (I_K - \tfrac1K 11^\top)/\sqrt{K-1}\big\|_F`,
* ``nc2_orthogonal`` :math:`= \big\|\bar H^\top\bar H/\|\bar H^\top\bar H\|_F - I_K/\sqrt K\big\|_F`,
* ``nc3`` :math:`= \big\|WM/\|WM\|_F - (I_K - \tfrac1K 11^\top)/\sqrt{K-1}\big\|_F`,
* ``nc3_orthogonal`` :math:`= \big\|W\bar H/\|W\bar H\|_F - I_K/\sqrt K\big\|_F`.

All are scale-free and invariant under orthogonal maps of feature space (``W`` transformed
accordingly). Degenerate cases are finite by convention, never NaN: a zero matrix normalised by
its zero norm is taken to be zero (so NC2/NC3 of fully collapsed-to-a-point means is 1, the norm of
the target), and ``nc1_trace`` is 0 when :math:`\Sigma_W = 0` and ``inf`` when only
:math:`\Sigma_B = 0`.

Scale: the metrics are computed from ``H`` and ``W`` divided by a power of two that brings their
largest entry into ``[0.5, 1)`` (an exact rescaling), so features of any magnitude, from subnormal
to ``1e308``, give the same ratios; only the reported traces are scaled back, and they are ``inf``
(or 0) where the true trace lies beyond the float range.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .._validate import check_array, check_int, check_labels, check_real, pow2_exponent

__all__ = ["CollapseMetrics", "class_means", "collapse_metrics", "sigma_b", "sigma_w"]


class CollapseMetrics(NamedTuple):
    """Neural-collapse metrics; ``nc3``/``nc3_orthogonal`` are ``None`` when no ``W`` was given."""

    nc1: float
    nc1_trace: float
    nc2_etf: float
    nc2_orthogonal: float
    nc3: float | None
    nc3_orthogonal: float | None
    trace_sigma_w: float
    trace_sigma_b: float


def _check_H_labels(H, labels, n_classes):
    H = check_array(H, "H", ndim=2, min_size=1)
    y = np.asarray(labels)
    if y.ndim != 1:
        raise ValueError(f"labels must be one-dimensional, got shape {y.shape}")
    if y.shape[0] != H.shape[1]:
        raise ValueError(f"labels must have one entry per column of H ({H.shape[1]}), got {y.shape[0]}")
    if n_classes is None:
        if y.size and y.dtype.kind in "iuf" and np.nanmin(y) < 0:
            raise ValueError(f"labels must be non-negative class indices, got minimum {np.nanmin(y)}")
        y0 = check_labels(y, "labels", np.iinfo(np.int64).max)
        K = int(y0.max()) + 1
    else:
        K = check_int(n_classes, "n_classes", low=2)
    y = check_labels(y, "labels", K)
    if K < 2:
        raise ValueError(f"labels must contain at least 2 classes, got {K}")
    counts = np.bincount(y, minlength=K)
    if np.any(counts == 0):
        empty = np.flatnonzero(counts == 0).tolist()
        raise ValueError(f"labels must contain every class in 0..{K - 1} at least once; empty classes: {empty}")
    return H, y, K, counts


def class_means(
    H, labels, *, n_classes: int | None = None, global_mean: str = "weighted"
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Class means ``Hbar`` (d, K), global mean ``hG`` (d,) and class counts (K,).

    ``global_mean="weighted"`` averages all samples (class means weighted by their counts);
    ``"uniform"`` averages the class means. For balanced classes the two coincide.

    Parameters
    ----------
    H : array_like, shape (d, N)
        Features, one column per sample.
    labels : array_like of int, shape (N,)
        Class of each column, in ``0..K-1``; every class must occur.
    n_classes : int, optional
        ``K >= 2``; default ``max(labels) + 1``.
    global_mean : {"weighted", "uniform"}

    Returns
    -------
    tuple of ndarray
        ``(Hbar, hG, counts)``.

    Examples
    --------
    >>> Hbar, hG, counts = class_means(np.array([[0.0, 2.0, 4.0]]), [0, 0, 1])
    >>> Hbar, hG, counts
    (array([[1., 4.]]), array([2.]), array([2, 1]))
    """
    H, y, K, counts = _check_H_labels(H, labels, n_classes)
    return _class_means(H, y, K, counts, global_mean)


def _class_means(H, y, K, counts, global_mean):
    if global_mean not in ("weighted", "uniform"):
        raise ValueError(f"global_mean must be 'weighted' or 'uniform', got {global_mean!r}")
    # means of entries up to 1.7e308 are finite: sum the exactly rescaled entries, scale back
    k = pow2_exponent(np.max(np.abs(H))) if H.size else 0
    Hs = np.ldexp(H, -k)
    onehot = np.zeros((H.shape[1], K))
    onehot[np.arange(H.shape[1]), y] = 1.0
    Hbar = (Hs @ onehot) / counts
    hG = Hs.mean(axis=1) if global_mean == "weighted" else Hbar.mean(axis=1)
    return np.ldexp(Hbar, k), np.ldexp(hG, k), counts


def sigma_w(H, labels, *, n_classes: int | None = None) -> np.ndarray:
    r"""Within-class covariance :math:`\Sigma_W` (normalised by ``N``), shape ``(d, d)``.

    Parameters
    ----------
    H, labels, n_classes
        As in :func:`class_means`.

    Returns
    -------
    ndarray, shape (d, d)
        Computed from exactly rescaled features; an entry is ``inf`` only where its true value
        exceeds the float range (features near ``1e308``).

    Examples
    --------
    >>> sigma_w(np.array([[0.0, 2.0, 4.0]]), [0, 0, 1])
    array([[0.66666667]])
    """
    H, y, K, counts = _check_H_labels(H, labels, n_classes)
    Hbar, _, _ = _class_means(H, y, K, counts, "weighted")
    k = pow2_exponent(np.max(np.abs(H)))
    C = np.ldexp(H, -k) - np.ldexp(Hbar, -k)[:, y]
    with np.errstate(over="ignore", under="ignore"):
        return np.ldexp(C @ C.T / H.shape[1], 2 * k)


def sigma_b(H, labels, *, n_classes: int | None = None, global_mean: str = "weighted") -> np.ndarray:
    r"""Between-class covariance :math:`\Sigma_B` (normalised by ``K``), shape ``(d, d)``.

    Parameters
    ----------
    H, labels, n_classes, global_mean
        As in :func:`class_means`.

    Returns
    -------
    ndarray, shape (d, d)
        As for :func:`sigma_w`: ``inf`` only where the true entry exceeds the float range.

    Examples
    --------
    >>> sigma_b(np.array([[0.0, 2.0, 4.0]]), [0, 1, 1], global_mean="uniform")
    array([[2.25]])
    """
    H, y, K, counts = _check_H_labels(H, labels, n_classes)
    Hbar, hG, _ = _class_means(H, y, K, counts, global_mean)
    k = pow2_exponent(np.max(np.abs(H)))
    M = np.ldexp(Hbar, -k) - np.ldexp(hG, -k)[:, None]
    with np.errstate(over="ignore", under="ignore"):
        return np.ldexp(M @ M.T / K, 2 * k)


def _normalised_distance(A: np.ndarray, target: np.ndarray) -> float:
    A = np.ldexp(A, -pow2_exponent(np.max(np.abs(A)))) if A.size else A
    nrm = np.linalg.norm(A)
    An = A / nrm if nrm > 0 else np.zeros_like(A)
    return float(np.linalg.norm(An - target))


def collapse_metrics(
    H,
    labels,
    W=None,
    *,
    n_classes: int | None = None,
    global_mean: str = "weighted",
    rcond: float = 1e-10,
) -> CollapseMetrics:
    r"""NC1 (pseudo-inverse and trace-ratio forms), NC2 (ETF and orthogonal frame), NC3.

    Parameters
    ----------
    H : array_like, shape (d, N)
        Features, one column per sample (``book/notation.md``).
    labels : array_like of int, shape (N,)
        Class of each column, in ``0..K-1``; every class must occur.
    W : array_like, shape (K, d), optional
        Last-layer weights; when given, ``nc3`` and ``nc3_orthogonal`` are computed.
    n_classes : int, optional
        ``K``; default ``max(labels) + 1``.
    global_mean : {"weighted", "uniform"}
        How :math:`\bar h_G` is formed (matters only for imbalanced classes).
    rcond : float
        Relative cut-off for the pseudo-inverse of :math:`\Sigma_B`, in ``(0, 1)``; values below
        ``d * eps`` (float64 rounding of a ``d x d`` matrix) are raised to it.

    Returns
    -------
    CollapseMetrics
        The metrics of the module docstring and the traces of :math:`\Sigma_W`, :math:`\Sigma_B`.
        The metrics are scale-free (computed from exactly rescaled ``H`` and ``W``); ``nc1_trace``
        is ``inf`` when only :math:`\Sigma_B = 0`, and a trace is ``inf`` only where its true value
        exceeds the float range.

    Examples
    --------
    >>> from lossbook.collapse import simplex_etf
    >>> M = simplex_etf(3, 4)
    >>> H = np.repeat(M, 5, axis=1)          # 5 identical samples per class
    >>> m = collapse_metrics(H, np.repeat(np.arange(3), 5), W=M.T)
    >>> round(m.nc1, 12), round(m.nc2_etf, 12), round(m.nc3, 12)
    (0.0, 0.0, 0.0)
    """
    H, y, K, counts = _check_H_labels(H, labels, n_classes)
    rcond = check_real(rcond, "rcond", low=0.0, high=1.0, low_open=True, high_open=True)
    if global_mean not in ("weighted", "uniform"):
        raise ValueError(f"global_mean must be 'weighted' or 'uniform', got {global_mean!r}")
    d, N = H.shape
    if W is not None:
        W = check_array(W, "W", ndim=2)
        if W.shape != (K, d):
            raise ValueError(f"W must have shape (K, d) = ({K}, {d}) (K classes of labels, d rows of H), "
                             f"got {W.shape}")
    # scale-free metrics: normalise H exactly (a power of two) before forming any product or ratio
    k = pow2_exponent(np.max(np.abs(H)))
    Hs = np.ldexp(H, -k)
    Hbar, hG, _ = _class_means(Hs, y, K, counts, global_mean)
    C = Hs - Hbar[:, y]
    Sw = C @ C.T / N
    M = Hbar - hG[:, None]
    Sb = M @ M.T / K
    trw_s, trb_s = float(np.trace(Sw)), float(np.trace(Sb))
    with np.errstate(over="ignore", under="ignore"):
        trw, trb = float(np.ldexp(trw_s, 2 * k)), float(np.ldexp(trb_s, 2 * k))

    # a cut-off below d eps would only invert rounding noise (and overflow): it is raised to d eps
    cut = max(rcond, d * np.finfo(float).eps)
    nc1 = float(np.trace(Sw @ np.linalg.pinv(Sb, rcond=cut, hermitian=True))) / K
    if trw_s == 0.0:
        nc1_trace = 0.0
    elif trb_s == 0.0:
        nc1_trace = float("inf")
    else:
        nc1_trace = trw_s / trb_s

    centred = (np.eye(K) - np.ones((K, K)) / K) / np.sqrt(K - 1.0)
    ident = np.eye(K) / np.sqrt(K)
    nc2_etf = _normalised_distance(M.T @ M, centred)
    nc2_orth = _normalised_distance(Hbar.T @ Hbar, ident)

    nc3 = nc3_orth = None
    if W is not None:
        Ws = np.ldexp(W, -pow2_exponent(np.max(np.abs(W))))
        nc3 = _normalised_distance(Ws @ M, centred)
        nc3_orth = _normalised_distance(Ws @ Hbar, ident)
    return CollapseMetrics(nc1, nc1_trace, nc2_etf, nc2_orth, nc3, nc3_orth, trw, trb)
