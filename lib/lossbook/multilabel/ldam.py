"""Label-distribution-aware margins (LDAM) for multi-label classification, in NumPy.

Code ``l`` seen ``n_l`` times in training gets the margin ``Delta_l = C n_l^{-1/4}`` (:eq:`ticd-margin`);
the multi-label loss subtracts it from the logit of the positive labels only and applies the
binary cross-entropy with logits (:eq:`ticd-ldam`). Inference uses the raw logits.
"""

from __future__ import annotations

import numpy as np

from .._validate import check_array, check_real

__all__ = ["ldam_bce_grad", "ldam_bce_loss", "ldam_margins", "ldam_threshold"]

#: Largest |logit| and margin scale accepted (softplus of a larger argument is the argument itself).
MAX_LOGIT = 1e300


def ldam_margins(freq, C: float = 3.0) -> np.ndarray:
    r"""Per-code margins :math:`\Delta_l = C\,n_l^{-1/4}`, :eq:`ticd-margin`.

    Parameters
    ----------
    freq : array_like, shape (L,)
        Training counts of the codes, each at least 1 (a code never seen has no finite margin:
        drop it or floor its count, and say which).
    C : float, default 3.0
        Margin scale (the official code's 3), in ``[0, 1e6]``.

    Returns
    -------
    numpy.ndarray, shape (L,)

    Examples
    --------
    >>> ldam_margins([1, 16, 81])
    array([3. , 1.5, 1. ])
    """
    n = check_array(freq, "freq", ndim=1, low=1.0, max_abs=1e300, min_size=1)
    C = check_real(C, "C", low=0.0, high=1e6)
    return C * n ** -0.25


def _inputs(logits, y, freq, C):
    z = check_array(logits, "logits", ndim=2, max_abs=MAX_LOGIT)
    yy = np.asarray(y)
    if yy.dtype.kind not in "biuf" or yy.shape != z.shape or not np.all((yy == 0) | (yy == 1)):
        raise ValueError(f"y must be a 0/1 array with the shape of logits {z.shape}")
    d = ldam_margins(freq, C)
    if d.size != z.shape[1]:
        raise ValueError(f"freq must have one count per code (logits has {z.shape[1]} columns), got {d.size}")
    return z, yy.astype(float), d


def _softplus(x):
    return np.logaddexp(0.0, x)


def ldam_bce_loss(logits, y, freq, C: float = 3.0) -> float:
    r"""Mean LDAM binary cross-entropy, :eq:`ticd-ldam`: BCE with logits of :math:`z - y\odot\Delta` against ``y``.

    Per entry this is :math:`\mathrm{softplus}(\Delta_l - z)` for a positive label and
    :math:`\mathrm{softplus}(z)` for a negative one (computed with ``logaddexp``); the mean is over all
    ``B * L`` entries, as PyTorch's ``BCEWithLogitsLoss`` does by default.

    Parameters
    ----------
    logits : array_like, shape (B, L)
        Scores, magnitude at most 1e300.
    y : array_like, shape (B, L)
        0/1 labels.
    freq : array_like, shape (L,)
        Training counts (:func:`ldam_margins`).
    C : float, default 3.0
        Margin scale; ``C = 0`` is plain BCE.

    Returns
    -------
    float

    Examples
    --------
    >>> round(ldam_bce_loss([[0.0, 0.0]], [[1, 0]], [1, 1], C=0.0), 6)   # log 2
    0.693147
    """
    z, yy, d = _inputs(logits, y, freq, C)
    if z.size == 0:
        raise ValueError("logits must have at least one entry")
    per = np.where(yy == 1, _softplus(d - z), _softplus(z))
    return float(per.mean())


def ldam_bce_grad(logits, y, freq, C: float = 3.0) -> np.ndarray:
    r"""Gradient of :func:`ldam_bce_loss` with respect to the logits.

    :math:`(\sigma(z-\Delta_l)-1)/(BL)` for a positive label and :math:`\sigma(z)/(BL)` for a negative one:
    the margin changes only the positives' gradient (:prf:ref:`ticd-prop-population`).

    Examples
    --------
    >>> ldam_bce_grad([[0.0, 0.0]], [[1, 0]], [1, 1], C=0.0)
    array([[-0.25,  0.25]])
    """
    z, yy, d = _inputs(logits, y, freq, C)
    if z.size == 0:
        raise ValueError("logits must have at least one entry")
    sig = lambda x: np.exp(-np.logaddexp(0.0, -x))  # noqa: E731 - a stable logistic
    g = np.where(yy == 1, sig(z - d) - 1.0, sig(z))
    return g / z.size


def ldam_threshold(margin) -> np.ndarray:
    r"""Probability threshold of the population LDAM classifier, :eq:`ticd-threshold`.

    For a code with margin :math:`\Delta`, the score minimising the conditional LDAM risk is positive iff
    :math:`P(y=1\mid x) > (1+e^\Delta)/(1+3e^\Delta)` (:prf:ref:`ticd-prop-population`): 1/2 at
    :math:`\Delta=0`, decreasing to 1/3 as :math:`\Delta\to\infty`.

    Parameters
    ----------
    margin : array_like, shape (n,)
        Margins, each in ``[0, inf)`` (``inf`` gives 1/3).

    Returns
    -------
    numpy.ndarray

    Examples
    --------
    >>> ldam_threshold([0.0, np.inf]).round(6)
    array([0.5     , 0.333333])
    """
    d = check_array(margin, "margin", ndim=1, low=0.0, finite=False)
    if np.any(np.isnan(d)):
        raise ValueError("margin must not contain NaN")
    u = np.exp(-d)  # (1 + e^D) / (1 + 3 e^D) = (u + 1) / (u + 3), stable for large D
    return (u + 1.0) / (u + 3.0)
