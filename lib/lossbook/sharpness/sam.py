"""SAM's perturbed loss: the loss at the worst first-order point of a ball of radius rho.

Sharpness-aware minimisation (Foret et al., 2021) replaces :math:`L(w)` by
:math:`\\max_{\\lVert\\epsilon\\rVert\\le\\rho} L(w+\\epsilon)` and approximates the maximiser by
:math:`\\hat\\epsilon = \\rho\\, g/\\lVert g\\rVert` with :math:`g = \\nabla L(w)`; its update uses the
gradient at :math:`w+\\hat\\epsilon`, so one step costs two gradient evaluations. Chapter
``book/compression/saf``, :eq:`saf-sam` and :eq:`saf-sam-first-order`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import numpy as np

from lossbook._torch import require_torch
from lossbook._validate import check_real

from .hessian import _check_loss_fn, _params, _scalar_loss

__all__ = ["SamPerturbation", "sam_perturbed_loss"]


class SamPerturbation(NamedTuple):
    """Result of :func:`sam_perturbed_loss`."""

    loss: float  # L(w)
    perturbed_loss: float  # L(w + eps)
    grad_norm: float  # |g|
    first_order: float  # L(w) + rho |g|, the first-order value of perturbed_loss
    epsilon: np.ndarray  # rho g / |g| (zero when g = 0)
    perturbed_grad: np.ndarray  # gradient at w + eps: the direction of SAM's step
    gradient_evaluations: int  # 2 (one at w, one at w + eps)


def sam_perturbed_loss(loss_fn: Callable, params, rho: float = 0.05) -> SamPerturbation:
    """SAM's perturbed loss :eq:`saf-sam` and the gradient SAM steps along.

    Parameters
    ----------
    loss_fn : callable
        Scalar loss of a 1-D float64 torch tensor, differentiable by autograd.
    params : array_like or torch.Tensor, shape (n,)
        Current weights (finite).
    rho : float, default 0.05
        Radius of the ball, in ``[0, 1e6]``.

    Returns
    -------
    SamPerturbation
        ``perturbed_loss - first_order`` is :math:`O(\\rho^2)` (:eq:`saf-sam-first-order`).

    Raises
    ------
    TypeError
        if ``loss_fn`` is not callable or does not return a scalar tensor.
    ValueError
        if ``rho`` is out of range, ``params`` is not a finite vector, or a loss or gradient is non-finite.

    Examples
    --------
    >>> f = lambda w: (w ** 2).sum()
    >>> r = sam_perturbed_loss(f, [3.0, 4.0], rho=0.5)
    >>> r.loss, r.grad_norm, r.first_order, round(r.perturbed_loss, 10)
    (25.0, 10.0, 30.0, 30.25)
    """
    torch = require_torch()
    _check_loss_fn(loss_fn)
    w0 = _params(params)
    rho = check_real(rho, "rho", low=0.0, high=1e6)

    def value_and_grad(w_np):
        w = w_np.clone().requires_grad_(True)
        loss = _scalar_loss(loss_fn, w)
        (g,) = torch.autograd.grad(loss, w, allow_unused=True)
        g = torch.zeros_like(w) if g is None else g
        if not torch.isfinite(g).all():
            raise ValueError("the gradient of loss_fn is non-finite at params")
        return float(loss.detach()), g.detach().numpy()

    loss, g = value_and_grad(w0)
    gmax = float(np.max(np.abs(g)))
    # scale before squaring so the norm cannot overflow
    grad_norm = gmax * float(np.linalg.norm(g / gmax)) if gmax > 0 else 0.0
    eps = rho * (g / gmax) / (grad_norm / gmax) if grad_norm > 0 else np.zeros_like(g)
    perturbed = w0 + torch.as_tensor(eps, dtype=torch.float64)
    if not torch.isfinite(perturbed).all():
        raise ValueError("params + rho g/|g| overflows the float range")
    p_loss, p_grad = value_and_grad(perturbed)
    first = loss + rho * grad_norm
    if not np.isfinite(first):
        raise ValueError("L(params) + rho |g| overflows the float range")
    return SamPerturbation(loss, p_loss, grad_norm, first, eps, p_grad, 2)
