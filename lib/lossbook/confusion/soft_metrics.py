"""AnyLoss: a confusion-matrix metric turned into a loss through an amplified sigmoid.

Chapter: :doc:`/book/consistency/anyloss` (equations :eq:`any-amp`, :eq:`any-soft`, :eq:`any-metrics`,
:eq:`any-grad`; :prf:ref:`any-thm-gap`). The construction is that of Han, Moniz and Chawla (2024) as
read from their official code; the gap bound is derived in the chapter.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from scipy.special import expit

from lossbook._torch import require_torch
from lossbook._validate import check_array, check_choice, check_real, check_same_length

__all__ = [
    "METRICS",
    "ConfusionCounts",
    "SoftMetricGap",
    "amplify",
    "anyloss",
    "anyloss_gradient",
    "anyloss_torch",
    "confusion_metric",
    "soft_confusion",
    "soft_metric_gap",
]

#: Metrics implemented: accuracy, F-beta (``"f1"`` is F-beta with ``beta=1``), geometric mean of
#: the true-positive and true-negative rates, balanced accuracy.
METRICS = ("accuracy", "f1", "fbeta", "gmean", "balanced_accuracy")

#: The amplification of the official code (Han, Moniz and Chawla 2024); a default taken from one
#: code base, not calibrated here.
DEFAULT_L = 73.0


class ConfusionCounts(NamedTuple):
    """Entries of a (soft) binary confusion matrix: true/false positives and negatives."""

    tp: float
    fn: float
    fp: float
    tn: float


class SoftMetricGap(NamedTuple):
    """Soft metric, hard metric at threshold 1/2, their absolute gap and the bound of :prf:ref:`any-thm-gap`.

    ``e_pos``/``e_neg`` are the sums of :math:`|\\hat y_i - h_i|` over positives / negatives.
    """

    soft: float
    hard: float
    gap: float
    bound: float
    e_pos: float
    e_neg: float


def _check_p(p, name="p") -> np.ndarray:
    return check_array(p, name, ndim=1, low=0.0, high=1.0, min_size=1)


def _check_y(y, n: int, name="y", p_name="p") -> np.ndarray:
    arr = np.asarray(y)
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"{name} must hold binary labels 0/1, got dtype={arr.dtype}")
    arr = check_array(arr, name, ndim=1, min_size=1)
    if not np.all((arr == 0) | (arr == 1)):
        raise ValueError(f"{name} must hold binary labels in {{0, 1}}")
    check_same_length((p_name, np.empty(n)), (name, arr))
    return arr


def _check_metric(metric, beta):
    metric = check_choice(metric, "metric", METRICS)
    beta = check_real(beta, "beta", low=0.0, low_open=True)
    if metric == "f1" and beta != 1.0:
        raise ValueError("metric='f1' fixes beta=1; use metric='fbeta' for another beta")
    return metric, beta


def _needs_both_classes(metric: str, P: float, N: float):
    if metric in ("gmean", "balanced_accuracy") and (P == 0 or N == 0):
        raise ValueError(f"y must contain both classes for metric={metric!r} (it divides by P and by N); "
                         f"got P={P:g}, N={N:g}")
    if metric in ("f1", "fbeta") and P == 0:
        raise ValueError(f"y must contain at least one positive for metric={metric!r}")


def amplify(p, L: float = DEFAULT_L) -> np.ndarray:
    """Amplified sigmoid :math:`A_L(p) = 1/(1 + e^{-L(p - 1/2)})`, eq. :eq:`any-amp`.

    Parameters
    ----------
    p : array_like
        Probabilities in ``[0, 1]``.
    L : float, default 73
        Amplification, ``> 0`` (73 is the value of the official code, not tuned here).

    Returns
    -------
    ndarray
        :math:`A_L(p) \\in (0, 1)`, with :math:`A_L(1/2) = 1/2` and :math:`A_L(1-p) = 1 - A_L(p)`.

    Raises
    ------
    ValueError
        if ``p`` leaves ``[0, 1]`` or is not finite, or ``L`` is not a positive finite number.

    Examples
    --------
    >>> amplify([0.0, 0.5, 1.0], L=73.0).round(6).tolist()
    [0.0, 0.5, 1.0]
    """
    arr = check_array(p, "p", low=0.0, high=1.0)
    L = check_real(L, "L", low=0.0, low_open=True)
    return expit(L * (arr - 0.5))  # expit is overflow-free for any L*(p - 1/2)


def soft_confusion(y_hat, y) -> ConfusionCounts:
    """Soft confusion matrix of predictions ``y_hat`` in ``[0, 1]`` against labels ``y``, eq. :eq:`any-soft`.

    :math:`TP = \\sum y\\hat y`, :math:`FN = \\sum y(1-\\hat y)`, :math:`FP = \\sum (1-y)\\hat y`,
    :math:`TN = \\sum (1-y)(1-\\hat y)`. With hard ``y_hat`` in ``{0, 1}`` these are the usual counts.

    Parameters
    ----------
    y_hat : array_like, shape (n,)
        Soft (or hard) predictions in ``[0, 1]``.
    y : array_like, shape (n,)
        Binary labels in ``{0, 1}``.

    Returns
    -------
    ConfusionCounts

    Raises
    ------
    ValueError
        if an entry is out of range, not finite, or the lengths differ.

    Examples
    --------
    >>> c = soft_confusion([0.9, 0.2, 0.6], [1, 1, 0])
    >>> [round(v, 12) for v in c]
    [1.1, 0.9, 0.6, 0.4]
    """
    yh = _check_p(y_hat, "y_hat")
    yy = _check_y(y, yh.size, p_name="y_hat")
    tp = float(np.sum(yy * yh))
    fp = float(np.sum((1.0 - yy) * yh))
    P = float(yy.sum())
    N = float(yy.size - P)
    return ConfusionCounts(tp, P - tp, fp, N - fp)


def _fbeta_weights(beta: float) -> tuple[float, float]:
    # F_beta = (1+b^2) TP / (b^2 P + TP + FP) = TP / (w P + v (TP + FP)) with w = b^2/(1+b^2), v = 1/(1+b^2):
    # w and v are formed without squaring a large or tiny beta (no overflow to inf/inf, no underflow to 0/0).
    if beta >= 1.0:
        r = (1.0 / beta) ** 2
        return 1.0 / (1.0 + r), r / (1.0 + r)
    b2 = beta * beta
    return b2 / (1.0 + b2), 1.0 / (1.0 + b2)


def _metric_value(tp, fp, P, N, metric, beta):
    # Every metric as a function of (TP, FP) with P, N fixed: FN = P - TP, TN = N - FP (eq. any-metrics).
    if metric == "accuracy":
        return (tp + N - fp) / (P + N)
    if metric in ("f1", "fbeta"):
        w, v = _fbeta_weights(beta)
        D = w * P + v * (tp + fp)
        if isinstance(D, float) and D == 0.0:
            return 0.0  # w P underflowed with TP = FP = 0: F-beta is 0 whenever TP = 0 and P > 0
        return tp / D
    if metric == "gmean":
        return np.sqrt(max(tp / P * (N - fp) / N, 0.0))
    return 0.5 * (tp / P + (N - fp) / N)  # balanced accuracy


def _metric_partials(tp, fp, P, N, metric, beta):
    # (dM/dTP, dM/dFP) of eq. any-metrics; the chapter's eq. any-grad chains them to p.
    if metric == "accuracy":
        return 1.0 / (P + N), -1.0 / (P + N)
    if metric in ("f1", "fbeta"):
        w, v = _fbeta_weights(beta)
        D = w * P + v * (tp + fp)
        return (w * P + v * fp) / D**2, -v * tp / D**2
    if metric == "gmean":
        g = _metric_value(tp, fp, P, N, metric, beta)
        if g == 0.0:
            raise ValueError("the gmean gradient is undefined where the soft TP or TN count is 0 "
                             "(sqrt at 0); lower L or move p away from the saturated values")
        return (N - fp) / (2.0 * g * P * N), -tp / (2.0 * g * P * N)
    return 0.5 / P, -0.5 / N


def confusion_metric(counts: ConfusionCounts, metric: str = "f1", beta: float = 1.0) -> float:
    """A metric from (soft or hard) confusion counts, eq. :eq:`any-metrics`.

    Parameters
    ----------
    counts : ConfusionCounts
        Non-negative ``tp, fn, fp, tn``.
    metric : {"accuracy", "f1", "fbeta", "gmean", "balanced_accuracy"}, default "f1"
        ``fbeta`` is :math:`(1+\\beta^2)TP/(\\beta^2(TP+FN) + TP + FP)`; ``gmean`` is
        :math:`\\sqrt{TPR\\cdot TNR}`; ``balanced_accuracy`` is :math:`(TPR+TNR)/2`.
    beta : float, default 1
        F-beta weight, ``> 0`` (only ``1`` with ``metric="f1"``).

    Returns
    -------
    float

    Raises
    ------
    ValueError
        for an unknown metric, negative counts, or a metric undefined on these counts (no positives for
        F-beta; a missing class for gmean and balanced accuracy).

    Examples
    --------
    >>> c = ConfusionCounts(tp=3, fn=1, fp=2, tn=4)
    >>> round(confusion_metric(c, "f1"), 4), confusion_metric(c, "balanced_accuracy")
    (0.6667, 0.7083333333333333)
    """
    if not isinstance(counts, tuple) or len(counts) != 4:
        raise TypeError("counts must be a ConfusionCounts (tp, fn, fp, tn)")
    tp, fn, fp, tn = (check_real(v, f"counts.{k}", low=0.0) for k, v in zip(ConfusionCounts._fields, counts,
                                                                             strict=True))
    metric, beta = _check_metric(metric, beta)
    top = max(tp, fn, fp, tn)
    if top == 0:
        raise ValueError("counts must not all be zero")
    # every metric is a ratio of counts (homogeneous of degree 0): scale so the sums cannot overflow
    tp, fn, fp, tn = tp / top, fn / top, fp / top, tn / top
    P, N = tp + fn, fp + tn
    _needs_both_classes(metric, P, N)
    return float(_metric_value(tp, fp, P, N, metric, beta))


def anyloss(p, y, metric: str = "f1", L: float = DEFAULT_L, beta: float = 1.0) -> float:
    """AnyLoss: one minus the metric of the soft confusion matrix of :math:`A_L(p)`, eq. :eq:`any-loss`.

    Parameters
    ----------
    p : array_like, shape (n,)
        Predicted probabilities of the positive class, in ``[0, 1]``.
    y : array_like, shape (n,)
        Binary labels in ``{0, 1}``.
    metric : {"accuracy", "f1", "fbeta", "gmean", "balanced_accuracy"}, default "f1"
        See :func:`confusion_metric`.
    L : float, default 73
        Amplification, ``> 0`` (the official code's value).
    beta : float, default 1
        F-beta weight, ``> 0``.

    Returns
    -------
    float
        :math:`1 - M(TP, FN, FP, TN)` of the soft counts, in ``[0, 1]``.

    Raises
    ------
    ValueError
        on out-of-range inputs, or when the metric is undefined for ``y`` (see :func:`confusion_metric`).

    Examples
    --------
    >>> round(anyloss([0.9, 0.8, 0.1, 0.2], [1, 1, 0, 0], metric="f1"), 6)
    0.0
    """
    pp = _check_p(p)
    _check_y(y, pp.size)  # a length clash names p, not the amplified copy
    yh = amplify(pp, L)
    return 1.0 - confusion_metric(soft_confusion(yh, y), metric, beta)


def anyloss_gradient(p, y, metric: str = "f1", L: float = DEFAULT_L, beta: float = 1.0) -> np.ndarray:
    """Gradient of :func:`anyloss` with respect to ``p``, eq. :eq:`any-grad`.

    :math:`\\partial\\mathcal L/\\partial p_i = -\\big(y_i M_{TP} + (1-y_i) M_{FP}\\big)\\,L\\hat y_i(1-\\hat y_i)`,
    with :math:`M_{TP}, M_{FP}` the partial derivatives of the metric in the soft TP and FP counts.

    Parameters
    ----------
    p, y, metric, L, beta
        As in :func:`anyloss`.

    Returns
    -------
    ndarray, shape (n,)

    Raises
    ------
    ValueError
        as :func:`anyloss`, and for ``gmean`` where the soft TP or TN count is exactly 0.

    Examples
    --------
    >>> g = anyloss_gradient([0.6, 0.4], [1, 0], metric="accuracy", L=4.0)
    >>> bool(g[0] < 0 < g[1])
    True
    """
    pp = _check_p(p)
    yy = _check_y(y, pp.size)
    metric, beta = _check_metric(metric, beta)
    L = check_real(L, "L", low=0.0, low_open=True)
    z = L * (pp - 0.5)
    yh = expit(z)
    dyh = L * expit(z) * expit(-z)  # L*A(1-A) without cancellation when A is near 1
    P = float(yy.sum())
    N = float(yy.size - P)
    _needs_both_classes(metric, P, N)
    m_tp, m_fp = _metric_partials(float(yy @ yh), float((1.0 - yy) @ yh), P, N, metric, beta)
    return -(yy * m_tp + (1.0 - yy) * m_fp) * dyh


def anyloss_torch(p, y, metric: str = "f1", L: float = DEFAULT_L, beta: float = 1.0):
    """AnyLoss as a differentiable PyTorch scalar (same value as :func:`anyloss`), eq. :eq:`any-loss`.

    Parameters
    ----------
    p : torch.Tensor, shape (n,) or (n, 1)
        Probabilities of the positive class (e.g. ``torch.sigmoid(logits)``).
    y : torch.Tensor, shape like ``p``
        Binary labels 0/1 (any numeric dtype).
    metric, L, beta
        As in :func:`anyloss`.

    Returns
    -------
    torch.Tensor
        Scalar, differentiable in ``p``.

    Raises
    ------
    ValueError
        on a shape mismatch, labels outside ``{0, 1}``, ``p`` outside ``[0, 1]``, or a metric
        undefined for ``y``.

    Examples
    --------
    >>> import torch
    >>> p = torch.tensor([0.9, 0.3, 0.2], dtype=torch.float64, requires_grad=True)
    >>> v = anyloss_torch(p, torch.tensor([1, 0, 0]), metric="balanced_accuracy")
    >>> v.backward(); round(v.item(), 6), bool(p.grad[0] < 0)
    (0.0, True)
    """
    torch = require_torch()
    if not isinstance(p, torch.Tensor) or not isinstance(y, torch.Tensor):
        raise TypeError("p and y must be torch tensors")
    metric, beta = _check_metric(metric, beta)
    L = check_real(L, "L", low=0.0, low_open=True)
    for name, t in (("p", p), ("y", y)):
        if not (t.ndim == 1 or (t.ndim == 2 and t.shape[1] == 1)):
            raise ValueError(f"{name} must have shape (n,) or (n, 1), got {tuple(t.shape)}")
    pp = p.reshape(-1)
    yy = y.reshape(-1).to(pp.dtype)
    if pp.numel() != yy.numel() or pp.numel() == 0:
        raise ValueError(f"p and y must have the same non-zero number of entries; got {pp.numel()} and {yy.numel()}")
    with torch.no_grad():
        if not torch.isfinite(pp).all() or (pp < 0).any() or (pp > 1).any():
            raise ValueError("p entries must be finite and lie in [0, 1]")
        if not ((yy == 0) | (yy == 1)).all():
            raise ValueError("y must hold binary labels in {0, 1}")
    P = float(yy.sum())
    N = float(yy.numel() - P)
    _needs_both_classes(metric, P, N)
    return _anyloss_torch_unchecked(torch, pp, yy, P, N, metric, L, beta)


def _anyloss_torch_unchecked(torch, p, y, P, N, metric, L, beta):
    # The computation of anyloss_torch for arguments validated once by the caller (a training loop
    # calls it hundreds of times on the same labels; the checks would double the cost of a step).
    yh = torch.sigmoid(L * (p - 0.5))
    tp = (y * yh).sum()
    fp = ((1 - y) * yh).sum()
    if metric == "gmean":  # torch.sqrt keeps the graph; _metric_value's max() would not
        return 1.0 - torch.sqrt(torch.clamp(tp / P * (N - fp) / N, min=0.0))
    return 1.0 - _metric_value(tp, fp, P, N, metric, beta)


def soft_metric_gap(p, y, metric: str = "f1", L: float = DEFAULT_L, beta: float = 1.0) -> SoftMetricGap:
    """Gap between the soft metric of :math:`A_L(p)` and the hard metric at threshold 1/2, with its bound.

    With :math:`e_i = |\\hat y_i - h_i| = \\sigma(-L|p_i - 1/2|)` (``h_i = 1`` iff ``p_i > 1/2``) and
    :math:`E_+ = \\sum_{y_i=1} e_i`, :math:`E_- = \\sum_{y_i=0} e_i`, Theorem :prf:ref:`any-thm-gap` bounds
    the gap by :math:`(E_++E_-)/n` (accuracy), :math:`((1+\\beta^2)E_+ + E_-)/(\\beta^2 P)` (F-beta),
    :math:`\\tfrac12(E_+/P + E_-/N)` (balanced accuracy) and :math:`\\sqrt{E_+/P + E_-/N}` (gmean).
    The hard prediction at exactly ``p = 1/2`` is 0; the bound holds for either choice. The F-beta bound
    is ``inf`` when ``1/beta**2`` exceeds the float range (``beta`` below about ``1e-154``).

    Parameters
    ----------
    p, y, metric, L, beta
        As in :func:`anyloss`.

    Returns
    -------
    SoftMetricGap

    Raises
    ------
    ValueError
        as :func:`anyloss`.

    Examples
    --------
    >>> g = soft_metric_gap([0.7, 0.45, 0.2, 0.9], [1, 0, 0, 1], metric="accuracy", L=20.0)
    >>> bool(g.gap <= g.bound), round(g.bound, 4)  # (s(-4) + s(-1) + s(-6) + s(-8)) / 4, s = logistic
    (True, 0.0724)
    """
    pp = _check_p(p)
    yy = _check_y(y, pp.size)
    metric, beta = _check_metric(metric, beta)
    L = check_real(L, "L", low=0.0, low_open=True)
    yh = expit(L * (pp - 0.5))
    h = (pp > 0.5).astype(np.float64)
    soft = confusion_metric(soft_confusion(yh, yy), metric, beta)
    hard = confusion_metric(soft_confusion(h, yy), metric, beta)
    e = expit(-L * np.abs(pp - 0.5))  # = |yh - h|, computed without cancellation
    e_pos, e_neg = float(e @ yy), float(e @ (1.0 - yy))
    P = float(yy.sum())
    N = float(yy.size - P)
    if metric == "accuracy":
        bound = (e_pos + e_neg) / (P + N)
    elif metric in ("f1", "fbeta"):
        # ((1 + b^2) E+ + E-) / (b^2 P) = E+/P + (E+ + E-) / (b^2 P), without forming b^2
        with np.errstate(over="ignore"):
            r = np.float64(1.0 / beta) ** 2
        bound = (e_pos + (r * (e_pos + e_neg) if e_pos + e_neg > 0 else 0.0)) / P
    elif metric == "balanced_accuracy":
        bound = 0.5 * (e_pos / P + e_neg / N)
    else:
        bound = float(np.sqrt(e_pos / P + e_neg / N))
    return SoftMetricGap(soft, hard, abs(soft - hard), float(bound), e_pos, e_neg)
