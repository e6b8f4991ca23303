"""Linear softmax model, its cross-entropy, the margin-control regulariser and the proximal term."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .._validate import check_array, check_choice, check_labels, check_real, check_size

__all__ = ["LossGrad", "margin_control_loss", "softmax_regression_loss"]

#: Largest modulus of a logit, weight or feature accepted (products stay far inside float64).
MAX_ABS = 1e100


class LossGrad(NamedTuple):
    """A loss value and its gradient with respect to the argument named in the function."""

    value: float
    grad: np.ndarray


def _check_labels(y, n: int, n_classes: int, rows: str) -> np.ndarray:
    arr = check_labels(y, "y", n_classes)
    if arr.shape != (n,):
        raise ValueError(f"y must have one label per row of {rows} (shape ({n},)), got shape {arr.shape}")
    return arr


def _log_softmax(Z: np.ndarray) -> np.ndarray:
    """Row-wise log-softmax by the shifted log-sum-exp (exact for any finite logits)."""
    S = Z - Z.max(axis=1, keepdims=True)
    return S - np.log(np.exp(S).sum(axis=1, keepdims=True))


def _ce_margin(Z: np.ndarray, y: np.ndarray, lam: float, reduction: str) -> tuple[float, np.ndarray]:
    n = Z.shape[0]
    logp = _log_softmax(Z)
    P = np.exp(logp)
    value = float(-np.mean(logp[np.arange(n), y]))
    G = P.copy()
    G[np.arange(n), y] -= 1.0
    G /= n
    if lam > 0.0:
        sq = np.sum(P * P, axis=1)  # ||p_i||^2 in [1/C, 1]
        dsq = 2.0 * P * (P - sq[:, None])  # d||p_i||^2 / dz_i (eq. fedld-margin-grad)
        if reduction == "batch":
            S = float(np.sum(sq))
            value += lam * float(np.log1p(S))
            G += lam / (1.0 + S) * dsq
        else:
            value += lam * float(np.mean(np.log1p(sq)))
            G += lam / n * dsq / (1.0 + sq[:, None])
    return value, G


def margin_control_loss(logits, y, *, lam: float = 0.1, reduction: str = "batch") -> LossGrad:
    r"""Cross-entropy plus the margin-control (confidence) penalty of the FedLD code, with its gradient.

    With :math:`P` the row-wise softmax of the ``(n, C)`` logits,

    .. math:: \ell=\frac1n\sum_i-\log P_{iy_i}+\lambda\log\bigl(1+\lVert P\rVert_F^2\bigr)

    for ``reduction="batch"`` (eq. :eq:`fedld-margin`, as in the official code, where the norm is taken
    over the whole batch), or :math:`\lambda\frac1n\sum_i\log(1+\lVert p_i\rVert^2)` in place of the
    last term for ``reduction="sample"``. Since :math:`\lVert p_i\rVert^2\in[1/C,1]`, the penalty is
    smallest at uniform outputs and largest at one-hot outputs: it discourages over-confident clients.
    ``lam = 0.1`` is the official code's default, tuned there on medical images.

    Parameters
    ----------
    logits : array_like, shape (n, C)
        Finite scores, ``n >= 1``, ``C >= 2``, modulus at most ``1e100``.
    y : array_like of int, shape (n,)
        Labels in ``[0, C - 1]``.
    lam : float, default 0.1
        Weight λ of the penalty, in ``[0, 1e6]``.
    reduction : {"batch", "sample"}, default "batch"
        Where the logarithm is taken (see above).

    Returns
    -------
    LossGrad
        ``value`` and ``grad`` (with respect to the logits, shape ``(n, C)``; eq. :eq:`fedld-margin-grad`).

    Examples
    --------
    >>> out = margin_control_loss(np.zeros((4, 10)), [0, 1, 2, 3], lam=0.1)
    >>> bool(abs(out.value - (np.log(10) + 0.1 * np.log1p(0.4))) < 1e-12)
    True
    """
    Z = check_array(logits, "logits", ndim=2, min_size=1, max_abs=MAX_ABS)
    if Z.shape[1] < 2:
        raise ValueError(f"logits must have at least 2 columns (classes), got shape {Z.shape}")
    y = _check_labels(y, Z.shape[0], Z.shape[1], "logits")
    lam = check_real(lam, "lam", low=0.0, high=1e6)
    reduction = check_choice(reduction, "reduction", ("batch", "sample"))
    value, G = _ce_margin(Z, y, lam, reduction)
    return LossGrad(value, G)


def softmax_regression_loss(W, X, y, *, margin: float = 0.0, mu: float = 0.0, anchor=None) -> LossGrad:
    r"""Local objective of one client for the linear softmax model, with its gradient.

    The model has weights ``W[:-1]`` (shape ``(d, C)``) and bias ``W[-1]``; logits are
    :math:`Z=XW_{:d}+\mathbf 1W_{d}`. The objective is the mean cross-entropy, plus
    ``margin`` times the batch margin-control penalty of :func:`margin_control_loss`, plus the FedProx
    proximal term :math:`\frac\mu2\lVert W-W_{\mathrm{anchor}}\rVert_F^2` (eq. :eq:`fedld-prox`).

    Parameters
    ----------
    W : array_like, shape (d + 1, C)
        Weights and bias, ``C >= 2``.
    X : array_like, shape (n, d)
        Features, ``n >= 1``.
    y : array_like of int, shape (n,)
        Labels in ``[0, C - 1]``.
    margin : float, default 0.0
        Weight λ of the margin-control penalty, in ``[0, 1e6]``.
    mu : float, default 0.0
        Proximal weight μ, in ``[0, 1e6]``; needs ``anchor`` when positive.
    anchor : array_like, shape (d + 1, C), optional
        The global model the proximal term pulls towards.

    Returns
    -------
    LossGrad
        ``value`` and ``grad`` with respect to ``W`` (shape ``(d + 1, C)``).

    Raises
    ------
    ValueError, TypeError
        For bad arguments (each names the argument; entries beyond ``1e100`` in modulus are refused).
    FloatingPointError
        If the objective overflows (not reachable within the accepted magnitudes for moderate sizes).

    Examples
    --------
    >>> W = np.zeros((3, 2))
    >>> out = softmax_regression_loss(W, np.ones((4, 2)), [0, 1, 0, 1])
    >>> bool(abs(out.value - np.log(2)) < 1e-12), out.grad.shape
    (True, (3, 2))
    """
    W = check_array(W, "W", ndim=2, max_abs=MAX_ABS)
    X = check_array(X, "X", ndim=2, min_size=1, max_abs=MAX_ABS)
    if W.shape[1] < 2 or W.shape[0] != X.shape[1] + 1:
        raise ValueError(f"W must have shape (d + 1, C) with C >= 2 and d = X.shape[1] = {X.shape[1]}, "
                         f"got {W.shape}")
    check_size(X.shape[0] * W.shape[1], "X rows times classes")
    y = _check_labels(y, X.shape[0], W.shape[1], "X")
    margin = check_real(margin, "margin", low=0.0, high=1e6)
    mu = check_real(mu, "mu", low=0.0, high=1e6)
    if anchor is not None:
        anchor = check_array(anchor, "anchor", ndim=2, max_abs=MAX_ABS)
        if anchor.shape != W.shape:
            raise ValueError(f"anchor must have the shape of W {W.shape}, got {anchor.shape}")
    elif mu > 0.0:
        raise ValueError("anchor is required when mu > 0 (the proximal term pulls towards it)")
    return _objective(W, X, y, margin, mu, anchor)


def _objective(W, X, y, margin, mu, anchor) -> LossGrad:
    Z = X @ W[:-1] + W[-1]
    value, G = _ce_margin(Z, y, margin, "batch")
    grad = np.empty_like(W)
    grad[:-1] = X.T @ G
    grad[-1] = G.sum(axis=0)
    if mu > 0.0:
        D = W - anchor
        value += 0.5 * mu * float(np.sum(D * D))
        grad += mu * D
    if not (np.isfinite(value) and np.all(np.isfinite(grad))):
        raise FloatingPointError("the objective overflowed; scale the features or weights down")
    return LossGrad(value, grad)
