"""PyTorch side of EnsLoss: the stop-gradient surrogate and a loss callable for a training loop."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .._rng import as_generator
from .._torch import require_torch
from .derivatives import _sample, _sampler_args

__all__ = ["ensloss_loss_torch", "ensloss_surrogate_torch", "margin_loss_torch"]

MARGIN_LOSSES = ("bce", "hinge", "exponential")


def _as_tensor(torch, x, name):
    if not isinstance(x, torch.Tensor):
        from .._validate import check_array

        x = torch.as_tensor(check_array(x, name, ndim=1))
    if x.ndim != 1:
        raise ValueError(f"{name} must have 1 dimension, got shape {tuple(x.shape)}")
    if not x.dtype.is_floating_point:
        raise TypeError(f"{name} must be a floating-point tensor, got {x.dtype}")
    if not bool(torch.isfinite(x).all()):
        raise ValueError(f"{name} must contain only finite values (found NaN or inf)")
    return x


def ensloss_surrogate_torch(margins, g):
    """Surrogate ``mean_i(sg(g_i) z_i)`` whose autograd gradient in ``z_i`` is ``g_i / n``, :eq:`ens-surrogate`.

    ``g`` is detached, so no gradient flows through the sampled derivatives (through ``margins``
    only).

    Parameters
    ----------
    margins : Tensor or array_like, shape (n,)
        Finite margins (usually with ``requires_grad``).
    g : Tensor or array_like, shape (n,)
        Finite derivative values.

    Returns
    -------
    torch.Tensor
        A scalar.

    Raises
    ------
    ValueError, TypeError
        For a bad argument (the message names it), or a surrogate beyond the float range.

    Examples
    --------
    >>> import torch
    >>> z = torch.tensor([1.0, -2.0], dtype=torch.float64, requires_grad=True)
    >>> ensloss_surrogate_torch(z, [-0.5, -1.0]).backward()
    >>> z.grad
    tensor([-0.2500, -0.5000], dtype=torch.float64)
    """
    torch = require_torch()
    z = _as_tensor(torch, margins, "margins")
    gt = _as_tensor(torch, g, "g").detach().to(device=z.device, dtype=z.dtype)
    if gt.shape != z.shape:
        raise ValueError(f"g must have the same shape as margins {tuple(z.shape)}, got {tuple(gt.shape)}")
    if z.numel() == 0:
        raise ValueError("margins must have at least 1 entry")
    out = ((gt / z.numel()) * z).sum()
    if not bool(torch.isfinite(out)):
        raise ValueError("margins: the surrogate g * margins overflows the float range")
    return out


def _margins(torch, outputs, targets):
    """Margins ``(2 t - 1) f`` of a one-output model for targets ``t`` in {0, 1}."""
    f = outputs.reshape(-1)
    t = targets.reshape(-1).to(f.dtype)
    return (2.0 * t - 1.0) * f


def ensloss_loss_torch(seed, lam: float = 0.0, clip: float | None = -1.0, tail: bool = True,
                       shift: float = 1e-6) -> Callable:
    """A loss ``loss(outputs, targets)`` that draws a new convex calibrated loss at every call, :eq:`ens-sampler`.

    For a model with one output ``f`` and targets ``t`` in ``{0, 1}``, the margins are
    ``z = (2t - 1) f``; each call draws derivatives with :func:`ensloss_derivatives` (from one NumPy
    generator made from ``seed`` and advanced call by call, so a training run is reproducible) and
    returns :func:`ensloss_surrogate_torch`. It plugs into :func:`lossbook.training.train`.

    Parameters
    ----------
    seed : int, SeedSequence or Generator
        Seeds the sequence of sampled losses.
    lam, clip, tail, shift
        As in :func:`ensloss_derivatives`.

    Returns
    -------
    callable
        ``loss(outputs, targets) -> scalar tensor``.

    Raises
    ------
    ValueError, TypeError
        For a bad argument (the message names it).

    Examples
    --------
    >>> import torch
    >>> loss = ensloss_loss_torch(seed=0)
    >>> out = torch.tensor([[0.5], [-0.2], [1.5]], requires_grad=True)
    >>> loss(out, torch.tensor([1, 1, 0])).backward()
    >>> bool(out.grad[0, 0] < 0 and out.grad[2, 0] > 0)   # pushes each margin up
    True
    """
    torch = require_torch()
    lam, clip, tail, shift = _sampler_args(lam, clip, tail, shift)
    rng = as_generator(seed)

    def loss(outputs, targets):
        z = _margins(torch, outputs, targets)
        z_np = z.detach().cpu().numpy().astype(np.float64)
        if z_np.size == 0 or not np.all(np.isfinite(z_np)):
            raise ValueError("outputs must give at least one finite margin")
        g = torch.as_tensor(_sample(z_np, rng, lam, clip, tail, shift), dtype=z.dtype)
        return ((g / z.numel()) * z).sum()

    return loss


def margin_loss_torch(name: str) -> Callable:
    """A fixed margin loss ``loss(outputs, targets)`` for one-output models: BCE, hinge or exponential.

    ``bce``: ``log(1 + exp(-z))`` (``softplus``, stable); ``hinge``: ``max(0, 1 - z)``;
    ``exponential``: ``exp(-z)``; averaged over the batch, with ``z = (2t - 1) f`` as in
    :func:`ensloss_loss_torch`. The exponential loss overflows float32 for margins below about -88,
    which the training loop reports as a non-finite loss.

    Parameters
    ----------
    name : {"bce", "hinge", "exponential"}

    Returns
    -------
    callable

    Raises
    ------
    ValueError
        For an unknown ``name``.

    Examples
    --------
    >>> import torch
    >>> float(margin_loss_torch("hinge")(torch.tensor([0.5, 2.0]), torch.tensor([1, 1])))
    0.25
    """
    torch = require_torch()
    from .._validate import check_choice

    name = check_choice(name, "name", MARGIN_LOSSES)
    fns = {"bce": lambda z: torch.nn.functional.softplus(-z),
           "hinge": lambda z: torch.relu(1.0 - z),
           "exponential": lambda z: torch.exp(-z)}
    phi = fns[name]

    def loss(outputs, targets):
        return phi(_margins(torch, outputs, targets)).mean()

    return loss
