"""A PyTorch linear layer whose weight gradient is TrAct's, :eq:`tract-grad`.

Built by a factory that imports PyTorch through :func:`lossbook._torch.require_torch`, so
``import lossbook.firstlayer`` does not need PyTorch. The forward pass is an ordinary linear map;
only the backward pass differs: the weight receives :func:`~lossbook.firstlayer.tract_weight_grad`
of the layer's input and output gradient instead of ``grad_out^T x``, the input and bias gradients
are the ordinary ones. Use it as the first layer only (the derivation assumes the inputs are data).
"""

from __future__ import annotations

import functools

import numpy as np

from .._torch import require_torch
from .._validate import check_int, check_real
from .core import MAX_LAM

__all__ = ["tract_linear"]

#: Largest layer side accepted.
MAX_SIDE = 2**20
#: Largest weight count accepted (a first layer is small; this bounds the allocation).
MAX_WEIGHTS = 10**7


@functools.cache
def _classes():
    torch = require_torch()

    def _tract_grad(x, g, lam):
        b, n = x.shape
        if b < n:
            gram = x @ x.T / b
            evals, evecs = torch.linalg.eigh(gram)
            inv_g = evecs @ ((evecs.T @ g) / (evals.clamp_min(0) + lam)[:, None])
            return inv_g.T @ x
        gram = x.T @ x / b
        evals, evecs = torch.linalg.eigh(gram)
        rhs = x.T @ g
        return (evecs @ ((evecs.T @ rhs) / (evals.clamp_min(0) + lam)[:, None])).T

    class _TrActFunction(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x, weight, bias, lam):
            ctx.save_for_backward(x, weight)
            ctx.lam = lam
            out = x @ weight.T
            return out if bias is None else out + bias

        @staticmethod
        def backward(ctx, grad_out):
            x, weight = ctx.saved_tensors
            gx = grad_out @ weight if ctx.needs_input_grad[0] else None
            gw = _tract_grad(x, grad_out, ctx.lam) if ctx.needs_input_grad[1] else None
            gb = grad_out.sum(0) if ctx.needs_input_grad[2] else None
            return gx, gw, gb, None

    class TrActLinear(torch.nn.Linear):
        """``torch.nn.Linear`` with TrAct's weight gradient (ridge weight ``lam``)."""

        def __init__(self, in_features, out_features, lam, bias=True, dtype=None):
            super().__init__(in_features, out_features, bias=bias, dtype=dtype)
            self.lam = lam

        def forward(self, x):
            shape = x.shape
            flat = x.reshape(-1, shape[-1])
            out = _TrActFunction.apply(flat, self.weight, self.bias, self.lam)
            return out.reshape(*shape[:-1], out.shape[-1])

        def extra_repr(self):
            return super().extra_repr() + f", lam={self.lam}"

    return TrActLinear


def tract_linear(in_features: int, out_features: int, lam: float = 0.1, *, bias: bool = True, dtype=None):
    r"""Build a ``torch.nn.Linear`` whose weight gradient is TrAct's :math:`\tilde G`, :eq:`tract-grad`.

    Parameters
    ----------
    in_features, out_features : int
        Layer sizes, in ``[1, 2**20]``, with ``in_features * out_features <= 1e7``.
    lam : float, default 0.1
        Ridge weight, in ``(0, 1e100]``; the default is the paper's, chosen for inputs standardised
        per channel (see :func:`~lossbook.firstlayer.tract_weight_grad`).
    bias : bool, default True
        Whether the layer has a bias (its gradient is the ordinary one).
    dtype : torch.dtype, optional
        Parameter dtype (PyTorch's default when omitted).

    Returns
    -------
    torch.nn.Linear
        A subclass instance; inputs of any leading shape are flattened to ``(b, n)`` rows for the
        update, as for a patch embedding.

    Examples
    --------
    >>> import torch
    >>> layer = tract_linear(3, 2, lam=0.1)
    >>> layer(torch.ones(4, 3)).shape
    torch.Size([4, 2])
    """
    cls = _classes()
    in_features = check_int(in_features, "in_features", low=1, high=MAX_SIDE)
    out_features = check_int(out_features, "out_features", low=1, high=MAX_SIDE)
    if in_features * out_features > MAX_WEIGHTS:
        raise ValueError(f"in_features * out_features must be at most {MAX_WEIGHTS} (a first layer), got "
                         f"{in_features} * {out_features}")
    lam = check_real(lam, "lam", low=0.0, high=MAX_LAM, low_open=True)
    if not isinstance(bias, bool | np.bool_):
        raise TypeError(f"bias must be a bool, got {type(bias).__name__}")
    return cls(in_features, out_features, lam, bias=bool(bias), dtype=dtype)
