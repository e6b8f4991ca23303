"""The trajectory-loss surrogate of SAF: a tempered KL between past and current outputs.

Equation :eq:`saf-traj` of the chapter ``book/compression/saf`` (the form used in the official SAF
code; the paper's text was not available to us): for current logits ``z`` and logits ``z_old``
recorded ``E`` epochs earlier for the same samples,

    L_traj = tau^2 * mean_i KL( softmax(z_old_i / tau) || softmax(z_i / tau) ),

whose gradient in ``z_i`` is ``tau * (softmax(z_i / tau) - softmax(z_old_i / tau)) / n``.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from lossbook._torch import require_torch
from lossbook._validate import check_array, check_real, check_size

__all__ = ["MAX_LOGIT", "TrajectoryKL", "trajectory_kl", "trajectory_kl_torch"]

#: documented limit on the magnitude of logits: tau^2 * KL then stays far inside the float range
MAX_LOGIT = 1e150
_TAU_LOW, _TAU_HIGH = 1e-6, 1e6


class TrajectoryKL(NamedTuple):
    """Value of the trajectory surrogate :eq:`saf-traj` and its gradient in the current logits."""

    value: float
    grad: np.ndarray  # (n, K): derivative of ``value`` in ``logits``


def _log_softmax(a: np.ndarray) -> np.ndarray:
    m = a.max(axis=1, keepdims=True)
    s = a - m
    return s - np.log(np.exp(s).sum(axis=1, keepdims=True))


def _check_inputs(logits, past_logits, tau):
    z = check_array(logits, "logits", ndim=2, max_abs=MAX_LOGIT)
    z_old = check_array(past_logits, "past_logits", ndim=2, max_abs=MAX_LOGIT)
    if z.shape != z_old.shape:
        raise ValueError(f"logits and past_logits must have the same shape, got {z.shape} and {z_old.shape}")
    if z.shape[0] < 1 or z.shape[1] < 1:
        raise ValueError(f"logits must have at least one row and one column, got shape {z.shape}")
    check_size(z.size, "logits")
    tau = check_real(tau, "tau", low=_TAU_LOW, high=_TAU_HIGH)
    return z, z_old, tau


def trajectory_kl(logits, past_logits, tau: float = 5.0) -> TrajectoryKL:
    r"""SAF's trajectory loss :eq:`saf-traj` per unit weight, with its gradient (NumPy).

    .. math:: L = \frac{\tau^2}{n}\sum_i \mathrm{KL}\big(\sigma(z^{old}_i/\tau)\,\|\,\sigma(z_i/\tau)\big)

    Formula as used in the official SAF code (the chapter says whose each formula is); the gradient
    :math:`\tau(\sigma(z_i/\tau) - \sigma(z^{old}_i/\tau))/n` is derived in the chapter.

    Parameters
    ----------
    logits : array_like, shape (n, K)
        Current outputs, finite, magnitude at most :data:`MAX_LOGIT`.
    past_logits : array_like, shape (n, K)
        Outputs recorded for the same samples some epochs earlier (same limits).
    tau : float, default 5.0
        Temperature in ``[1e-6, 1e6]`` (the official code's default is 5).

    Returns
    -------
    TrajectoryKL
        ``value`` (>= 0, zero when the two arrays are equal up to a per-row constant) and ``grad``.

    Raises
    ------
    ValueError
        if the shapes differ, an array is empty or non-finite or exceeds :data:`MAX_LOGIT`, or
        ``tau`` is out of range.

    Examples
    --------
    >>> import numpy as np
    >>> z = np.array([[1.0, 2.0, 0.5]])
    >>> trajectory_kl(z, z).value
    0.0
    >>> r = trajectory_kl(z, z + np.array([[0.0, 1.0, 0.0]]), tau=1.0)
    >>> bool(r.value > 0), r.grad.shape
    (True, (1, 3))
    """
    z, z_old, tau = _check_inputs(logits, past_logits, tau)
    n = z.shape[0]
    log_q = _log_softmax(z / tau)
    log_p = _log_softmax(z_old / tau)
    p = np.exp(log_p)
    # each term p (log p - log q) of a row sums to a KL >= 0; clip the rounding-level negatives
    kl_rows = np.maximum(np.sum(p * (log_p - log_q), axis=1), 0.0)
    value = float(tau**2 * kl_rows.mean())
    grad = tau * (np.exp(log_q) - p) / n
    return TrajectoryKL(value, grad)


def trajectory_kl_torch(logits, past_logits, tau: float = 5.0):
    r"""Differentiable PyTorch form of :func:`trajectory_kl` (value only; autograd gives the gradient).

    Parameters
    ----------
    logits : torch.Tensor, shape (n, K)
        Current outputs (may require grad); finite, magnitude at most :data:`MAX_LOGIT`.
    past_logits : torch.Tensor or array_like, shape (n, K)
        Recorded outputs; treated as constants (detached).
    tau : float, default 5.0
        Temperature in ``[1e-6, 1e6]``.

    Returns
    -------
    torch.Tensor
        A scalar tensor, :eq:`saf-traj` per unit weight.

    Raises
    ------
    TypeError
        if ``logits`` is not a floating torch tensor.
    ValueError
        as :func:`trajectory_kl`.

    Examples
    --------
    >>> import torch
    >>> z = torch.tensor([[0.0, 1.0], [2.0, -1.0]], dtype=torch.float64, requires_grad=True)
    >>> loss = trajectory_kl_torch(z, z.detach() + 1.0)  # a per-row shift leaves the softmax unchanged
    >>> abs(float(loss.detach())) < 1e-12
    True
    """
    torch = require_torch()
    if not isinstance(logits, torch.Tensor) or not logits.is_floating_point():
        raise TypeError(f"logits must be a floating-point torch.Tensor, got {type(logits).__name__}")
    if isinstance(past_logits, torch.Tensor):
        if past_logits.is_complex():
            raise TypeError("past_logits must be real, got a complex tensor")
        past = past_logits.detach().to(dtype=logits.dtype)
    else:
        past = torch.as_tensor(check_array(past_logits, "past_logits", ndim=2), dtype=logits.dtype)
    _check_inputs(logits.detach().cpu().numpy(), past.cpu().numpy(), tau)
    return _trajectory_kl_torch_unchecked(torch, logits, past, float(tau))


def _trajectory_kl_torch_unchecked(torch, logits, past, tau: float):
    """The training loop's fast path: inputs already checked (finite, same shape, ``|z| <= MAX_LOGIT``)."""
    log_q = torch.log_softmax(logits / tau, dim=1)
    log_p = torch.log_softmax(past / tau, dim=1)
    return tau**2 * (log_p.exp() * (log_p - log_q)).sum(dim=1).mean()
