"""pass@N coverage, the pass@N loss, its gradient weight, and the coverage-optimal distribution.

Chapter :doc:`/book/consistency/pass-at-n-confidence`. A model that gives probability ``p`` to the
correct answer solves the problem within ``N`` independent samples with probability
``1 - (1-p)^N`` (eq. :eq:`pak-coverage`). The pass@N loss is ``-log(1 - (1-p)^N)``
(eq. :eq:`pak-loss`); its gradient with respect to the logits is ``F(N, p)`` times the
cross-entropy gradient (eq. :eq:`pak-weight`, :prf:ref:`pak-thm-gradient`). Everything is computed
from ``log p`` and ``log(1 - p)`` with ``log1mexp(x) = log(1 - e^x)``, so ``N`` in the tens of
thousands and probabilities down to 1e-300 or within 1e-16 of 1 stay finite.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import brentq

from .._torch import require_torch
from .._validate import check_array, check_int, check_labels, check_probability_vectors

__all__ = [
    "coverage_optimal_probs",
    "expected_coverage",
    "log1mexp",
    "pass_at_n",
    "pass_at_n_grad",
    "pass_at_n_loss",
    "pass_at_n_loss_torch",
    "pass_at_n_weight",
]

_LN2 = float(np.log(2.0))
#: below this value of log(N p) the loss is -log(N p) to relative accuracy 1e-17 (the next term of
#: -log(1-(1-p)^N) is (N-1)p/2 < e^-37 / 2), and exp(log p) may underflow, so that branch is used.
_TINY_LOG_NP = -37.0


def log1mexp(x) -> np.ndarray:
    """``log(1 - exp(x))`` for ``x <= 0``, accurate on the whole half-line.

    Uses ``log(-expm1(x))`` for ``x > -log 2`` and ``log1p(-exp(x))`` below, the split that keeps
    both branches accurate (Mächler's note on computing ``log(1 - e^{-a})``).

    Parameters
    ----------
    x : array_like
        Reals in ``[-inf, 0]``; ``-inf`` gives ``0`` and ``0`` gives ``-inf``.

    Returns
    -------
    numpy.ndarray

    Raises
    ------
    ValueError
        if an entry is positive or NaN.

    Examples
    --------
    >>> float(log1mexp(-1e-20))        # log(1e-20)
    -46.051701859880914
    >>> float(log1mexp(-50.0))         # -exp(-50)
    -1.9287498479639178e-22
    """
    x = check_array(x, "x", finite=False)
    if np.any(np.isnan(x)) or np.any(x > 0):
        raise ValueError("x must lie in [-inf, 0] (log1mexp is log(1 - e^x))")
    return _log1mexp(x)


def _log1mexp(x: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", over="ignore"):
        near = x > -_LN2
        out = np.empty_like(x)
        out[near] = np.log(-np.expm1(x[near]))
        out[~near] = np.log1p(-np.exp(x[~near]))
    return out


def _check_N(N) -> int:
    return check_int(N, "N", low=1)


def pass_at_n(p, N: int) -> np.ndarray:
    """pass@N coverage ``1 - (1 - p)^N`` of a problem solved by one sample with probability ``p``.

    Eq. :eq:`pak-coverage`, evaluated as ``-expm1(N log1p(-p))`` (exact to rounding for tiny ``p``).

    Parameters
    ----------
    p : array_like
        Success probabilities in ``[0, 1]``.
    N : int
        Number of samples, ``N >= 1``.

    Returns
    -------
    numpy.ndarray
        Coverage in ``[0, 1]``, same shape as ``p``.

    Raises
    ------
    TypeError
        if ``N`` is not an integer.
    ValueError
        if ``p`` leaves ``[0, 1]`` or ``N < 1``.

    Examples
    --------
    >>> float(pass_at_n(0.5, 3))
    0.875
    >>> f"{float(pass_at_n(1e-20, 1000)):.12e}"    # N p; 1 - (1 - p)**N would give 0
    '1.000000000000e-17'
    """
    N = _check_N(N)
    p = check_array(p, "p", low=0.0, high=1.0)
    with np.errstate(divide="ignore"):
        return -np.expm1(N * np.log1p(-p))


def pass_at_n_weight(p, N: int) -> np.ndarray:
    """Weight ``F(N, p) = N p (1-p)^(N-1) / (1 - (1-p)^N)`` of the pass@N gradient (eq. :eq:`pak-weight`).

    The gradient of the pass@N loss is ``F`` times the cross-entropy gradient
    (:prf:ref:`pak-thm-gradient`); ``F(1, p) = 1``, ``F(N, 0) = 1`` (the limit), ``F(N, 1) = 0``
    for ``N >= 2``, and ``F`` decreases in ``p``.

    Parameters
    ----------
    p : array_like
        Probabilities of the correct answer, in ``[0, 1]``.
    N : int
        Number of samples, ``N >= 1``.

    Returns
    -------
    numpy.ndarray
        ``F`` in ``[0, 1]``, same shape as ``p``.

    Raises
    ------
    TypeError, ValueError
        as :func:`pass_at_n`.

    Examples
    --------
    >>> float(pass_at_n_weight(0.5, 2))     # 2 * 0.5 * 0.5 / 0.75
    0.6666666666666666
    >>> float(pass_at_n_weight(0.3, 1))
    1.0
    """
    N = _check_N(N)
    p = check_array(p, "p", low=0.0, high=1.0)
    if N == 1:
        return np.ones_like(p)
    with np.errstate(divide="ignore", invalid="ignore"):
        lp = np.log(p)
        l1p = np.log1p(-p)
        log_f = np.log(N) + lp + (N - 1) * l1p - _log1mexp(N * l1p)
    out = np.atleast_1d(np.exp(log_f))
    out[np.atleast_1d(p == 0.0)] = 1.0  # the limit p -> 0: F = N / sum_{i<N} (1-p)^(-i) -> 1
    out[np.atleast_1d(p == 1.0)] = 0.0
    return out.reshape(p.shape)


def _softmax_parts(logits: np.ndarray, labels: np.ndarray):
    """``log p_y``, ``log(1 - p_y)`` and the softmax, from one shifted exponential.

    With ``e = exp(z - max z)`` and ``S = sum(e)``: ``log p_y = z_y - max z - log S``, and
    ``1 - p_y`` is the sum of the *other* entries of ``e`` over ``S`` -- a sum of positive terms, so
    accurate even when ``p_y`` rounds to 1. For ``p_y < 1/2`` the form ``log1mexp(log p_y)`` is used
    instead, which keeps relative accuracy when ``p_y`` is tiny.
    """
    rows = np.arange(labels.size)
    shifted = logits - logits.max(axis=1, keepdims=True)
    e = np.exp(shifted)
    total = e.sum(axis=1)
    lp = shifted[rows, labels] - np.log(total)
    e_y = e[rows, labels].copy()
    e[rows, labels] = 0.0
    with np.errstate(divide="ignore"):
        l1p_direct = np.log(e.sum(axis=1) / total)
    e[rows, labels] = e_y
    small = lp < -_LN2
    l1p = np.where(small, _log1mexp(np.minimum(lp, -_LN2)), l1p_direct)
    return lp, l1p, e / total[:, None]


def _loss_and_grad(logits: np.ndarray, labels: np.ndarray, N: int, grad: bool):
    lp, l1p, soft = _softmax_parts(logits, labels)
    log_n = np.log(N)
    tiny = lp + log_n < _TINY_LOG_NP
    with np.errstate(invalid="ignore"):
        loss = np.where(tiny, -(lp + log_n), -_log1mexp(np.where(tiny, -1.0, N * l1p)))
    if not grad:
        return loss, None
    rows = np.arange(labels.size)
    soft[rows, labels] = -np.exp(l1p)  # p_y - 1, without cancellation
    if N == 1:
        return loss, soft
    with np.errstate(invalid="ignore"):
        # log F = log N + log p + (N-1) log(1-p) - log(1-(1-p)^N)   (eq. pak-weight)
        weight = np.exp(np.where(np.isneginf(l1p), -np.inf, log_n + lp + (N - 1) * l1p + loss))
    return loss, weight[:, None] * soft


def _check_logits_labels(logits, labels):
    logits = check_array(logits, "logits", ndim=2)
    if logits.shape[1] < 2:
        raise ValueError(f"logits must have at least 2 columns (classes), got shape {logits.shape}")
    labels = check_labels(labels, "labels", logits.shape[1])
    if labels.ndim != 1 or labels.size != logits.shape[0]:
        raise ValueError(f"labels must have shape ({logits.shape[0]},) to match logits {logits.shape}, "
                         f"got {labels.shape}")
    return logits, labels


def pass_at_n_loss(logits, labels, N: int) -> np.ndarray:
    """Per-example pass@N loss ``-log(1 - (1 - p_y)^N)`` with ``p = softmax(logits)`` (eq. :eq:`pak-loss`).

    ``N = 1`` is cross-entropy exactly. Computed as ``-log1mexp(N log(1 - p_y))``, with
    ``log(1 - p_y)`` taken from the log-softmax of the other classes when ``p_y >= 1/2`` and from
    ``log1mexp(log p_y)`` otherwise, and ``-log(N p_y)`` when ``N p_y < e^-37``; finite for logits
    of any finite size. The chapter attributes this form, unverified, to Chen et al. (2025),
    "Rethinking fine-tuning when scaling test-time compute".

    Parameters
    ----------
    logits : array_like, shape (n, K)
        Finite scores, ``K >= 2``.
    labels : array_like of int, shape (n,)
        Correct class of each row, in ``[0, K-1]``.
    N : int
        The pass@N budget the loss targets, ``N >= 1``.

    Returns
    -------
    numpy.ndarray, shape (n,)
        Non-negative losses.

    Raises
    ------
    TypeError
        if ``labels`` are not integers or ``N`` is not an integer.
    ValueError
        if shapes disagree, ``logits`` is not finite, a label is out of range or ``N < 1``.

    Examples
    --------
    >>> z = [[2.0, 0.0, 0.0]]
    >>> bool(np.isclose(pass_at_n_loss(z, [0], 1)[0], -np.log(np.exp(2) / (np.exp(2) + 2))))
    True
    >>> float(pass_at_n_loss([[0.0, 0.0]], [1], 2)[0])     # p = 1/2: -log(3/4)
    0.2876820724517809
    """
    logits, labels = _check_logits_labels(logits, labels)
    return _loss_and_grad(logits, labels, _check_N(N), grad=False)[0]


def pass_at_n_grad(logits, labels, N: int) -> np.ndarray:
    """Gradient of each example's pass@N loss with respect to its logits: ``F(N, p_y) (p - e_y)``.

    :prf:ref:`pak-thm-gradient`: the cross-entropy gradient ``softmax(z) - e_y`` scaled by the
    weight ``F`` of eq. :eq:`pak-weight` (see :func:`pass_at_n_weight`).

    Parameters
    ----------
    logits, labels, N
        As in :func:`pass_at_n_loss`.

    Returns
    -------
    numpy.ndarray, shape (n, K)
        Row ``i`` is the gradient of ``pass_at_n_loss(logits, labels, N)[i]`` with respect to
        ``logits[i]``.

    Raises
    ------
    TypeError, ValueError
        as :func:`pass_at_n_loss`.

    Examples
    --------
    >>> pass_at_n_grad([[0.0, 0.0]], [1], 2).round(6)      # F(2, 1/2) = 2/3 times (1/2, -1/2)
    array([[ 0.333333, -0.333333]])
    """
    logits, labels = _check_logits_labels(logits, labels)
    return _loss_and_grad(logits, labels, _check_N(N), grad=True)[1]


def pass_at_n_loss_torch(logits, labels, N: int):
    """PyTorch version of :func:`pass_at_n_loss` (same stable branches), differentiable by autograd.

    Parameters
    ----------
    logits : torch.Tensor, shape (n, K)
        Floating-point scores, ``K >= 2``.
    labels : torch.Tensor of int64, shape (n,)
        Correct classes.
    N : int
        ``N >= 1``.

    Returns
    -------
    torch.Tensor, shape (n,)
        Per-example losses (eq. :eq:`pak-loss`).

    Raises
    ------
    TypeError, ValueError
        as :func:`pass_at_n_loss`.

    Examples
    --------
    >>> import torch
    >>> z = torch.zeros(1, 2, dtype=torch.float64)
    >>> round(float(pass_at_n_loss_torch(z, torch.tensor([1]), 2)[0]), 12)
    0.287682072452
    """
    torch = require_torch()
    if not isinstance(logits, torch.Tensor) or not logits.is_floating_point():
        raise TypeError("logits must be a floating-point torch.Tensor")
    if logits.ndim != 2 or logits.shape[1] < 2:
        raise ValueError(f"logits must have shape (n, K) with K >= 2, got {tuple(logits.shape)}")
    if not bool(torch.isfinite(logits).all()):
        raise ValueError("logits must contain only finite values (found NaN or inf)")
    if not isinstance(labels, torch.Tensor) or labels.dtype not in (torch.int64, torch.int32):
        raise TypeError("labels must be an integer torch.Tensor")
    if labels.shape != (logits.shape[0],):
        raise ValueError(f"labels must have shape ({logits.shape[0]},) to match logits {tuple(logits.shape)}, "
                         f"got {tuple(labels.shape)}")
    if labels.numel() and (int(labels.min()) < 0 or int(labels.max()) >= logits.shape[1]):
        raise ValueError(f"labels must lie in [0, {logits.shape[1] - 1}]")
    N = _check_N(N)

    def l1me(x):  # log(1 - e^x), both branches clamped so the unused one has finite gradients
        near = x > -_LN2
        a = torch.log(-torch.expm1(torch.clamp(x, min=-_LN2, max=-1e-300)))
        b = torch.log1p(-torch.exp(torch.clamp(x, max=-_LN2)))
        return torch.where(near, a, b)

    labels = labels.long()
    lse = torch.logsumexp(logits, dim=1)
    lp = logits.gather(1, labels[:, None])[:, 0] - lse
    mask = torch.nn.functional.one_hot(labels, logits.shape[1]).bool()
    l1p_direct = torch.logsumexp(logits.masked_fill(mask, -torch.inf), dim=1) - lse
    l1p = torch.where(lp < -_LN2, l1me(torch.clamp(lp, max=-_LN2)), l1p_direct)
    log_n = float(np.log(N))
    tiny = lp + log_n < _TINY_LOG_NP
    return torch.where(tiny, -(lp + log_n), -l1me(torch.where(tiny, torch.full_like(l1p, -1.0), N * l1p)))


def expected_coverage(probs, q, N: int) -> np.ndarray:
    """Expected pass@N of a sampling distribution ``p`` when the correct answer is drawn from ``q``.

    ``C_N(p; q) = sum_j q_j [1 - (1 - p_j)^N]`` (eq. :eq:`pak-expected-coverage`), row by row.

    Parameters
    ----------
    probs : array_like, shape (n, K) or (K,)
        The model's answer distributions (rows on the simplex).
    q : array_like, same shape
        Distributions of the correct answer.
    N : int
        ``N >= 1``.

    Returns
    -------
    numpy.ndarray, shape (n,) or ()
        Coverages in ``[0, 1]``.

    Raises
    ------
    TypeError, ValueError
        if ``N`` is not an integer ``>= 1``, rows are not distributions or shapes differ.

    Examples
    --------
    >>> float(expected_coverage([1.0, 0.0], [0.6, 0.4], 5))    # a confident model: pass@N = q_1
    0.6
    """
    N = _check_N(N)
    p = check_probability_vectors(probs, "probs")
    qq = check_probability_vectors(q, "q")
    if p.shape != qq.shape:
        raise ValueError(f"probs and q must have the same shape, got {p.shape} and {qq.shape}")
    p = np.clip(p, 0.0, 1.0)  # rows may sum to 1 only within the checker's tolerance
    with np.errstate(divide="ignore"):
        return np.sum(qq * -np.expm1(N * np.log1p(-p)), axis=-1)


def coverage_optimal_probs(q, N: int) -> np.ndarray:
    """The distribution ``p`` that maximises the expected pass@N ``sum_j q_j [1 - (1-p_j)^N]``.

    :prf:ref:`pak-thm-optimum`: for ``N >= 2`` and at least two possible answers,
    ``p_j = [1 - (lam / (N q_j))^(1/(N-1))]_+`` (eq. :eq:`pak-optimum`) with the multiplier
    ``lam`` that makes ``p`` sum to one, found by Brent's method on ``log lam``. For ``N = 1`` all
    mass goes to the first most likely answer, and a ``q`` with a single positive entry gets all
    mass there.

    Parameters
    ----------
    q : array_like, shape (K,)
        Distribution of the correct answer.
    N : int
        ``N >= 1``.

    Returns
    -------
    numpy.ndarray, shape (K,)
        The maximiser (unique for ``N >= 2``).

    Raises
    ------
    TypeError, ValueError
        if ``q`` is not a distribution or ``N`` is not an integer ``>= 1``.

    Examples
    --------
    >>> coverage_optimal_probs([0.5, 0.5], 7).round(12)
    array([0.5, 0.5])
    >>> coverage_optimal_probs([0.7, 0.3], 1)
    array([1., 0.])
    """
    N = _check_N(N)
    q = check_probability_vectors(q, "q")
    if q.ndim != 1:
        raise ValueError(f"q must be one distribution (1 dimension), got shape {q.shape}")
    if N == 1 or np.count_nonzero(q) == 1:  # linear objective, or a sure answer: all mass on it
        out = np.zeros_like(q)
        out[int(np.argmax(q))] = 1.0
        return out
    with np.errstate(divide="ignore"):
        log_nq = np.log(N * q)

    def probs_at(log_lam: float) -> np.ndarray:
        # p_j = 1 - exp((log lam - log(N q_j)) / (N-1)) where positive   (eq. pak-optimum)
        return np.where(log_nq > log_lam, -np.expm1(np.minimum(log_lam - log_nq, 0.0) / (N - 1)), 0.0)

    hi = float(np.max(log_nq))  # at lam = N max q every p_j is 0
    lo = hi - 1.0
    while probs_at(lo).sum() < 1.0:  # the sum tends to the support size >= 1 as lam -> 0
        lo = hi - 2.0 * (hi - lo)
    log_lam = brentq(lambda t: probs_at(t).sum() - 1.0, lo, hi, xtol=1e-15, rtol=1e-15, maxiter=500)
    p = probs_at(log_lam)
    return p / p.sum()
