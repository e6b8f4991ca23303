"""A plain PyTorch GPTQ, written here as the peer a practitioner would otherwise run, and kept as a test oracle.

It follows the published algorithm (Frantar et al. 2023, arXiv:2210.17323) the way it is usually written for PyTorch:
weights ``W`` of shape ``(m, n)`` (outputs x inputs), Hessian ``H`` of shape ``(n, n)``; dead inputs (``H_jj = 0``) get
``H_jj = 1`` and a zero weight column; damping ``lambda = damp * mean(diag H)``; the upper Cholesky factor ``U`` of
``H_lambda^{-1}`` from ``cholesky`` -> ``cholesky_inverse`` -> ``cholesky(upper=True)``; columns processed in blocks of
``block_size`` with the error of each column fed back inside its block at once and to the later blocks lazily, one
matrix product per block; an asymmetric min-max quantiser per output row whose range contains 0, fitted on the original
weights. It has no input checks, no grouping and no per-column bits beyond a levels vector.
"""

from __future__ import annotations

import torch

__all__ = ["torch_gptq"]


def torch_gptq(W: torch.Tensor, H: torch.Tensor, levels: torch.Tensor, *, damp: float = 0.01,
               block_size: int = 128) -> tuple[torch.Tensor, torch.Tensor]:
    """Quantise ``W`` with ``levels[j]`` grid points in column ``j``; returns ``(Q, column_loss)`` in W's dtype.

    ``column_loss[j] = sum_i e_ij^2 / (2 U_jj^2)``, the quantity :func:`lossbook.quant.gptq_quantize` returns.
    """
    W = W.clone()
    H = H.to(W.dtype).clone()
    m, n = W.shape
    dead = torch.diagonal(H) == 0
    H[dead, dead] = 1.0
    W[:, dead] = 0.0
    lam = damp * torch.mean(torch.diagonal(H))
    H.diagonal().add_(lam)
    U = torch.linalg.cholesky(torch.cholesky_inverse(torch.linalg.cholesky(H)), upper=True)

    lo = torch.clamp(W.min(dim=1).values, max=0.0)
    hi = torch.clamp(W.max(dim=1).values, min=0.0)
    flat = (lo == 0) & (hi == 0)
    lo[flat], hi[flat] = -1.0, 1.0
    Q = torch.zeros_like(W)
    loss = torch.zeros(n, dtype=W.dtype)
    for i1 in range(0, n, block_size):
        i2 = min(i1 + block_size, n)
        W1 = W[:, i1:i2].clone()
        E1 = torch.zeros_like(W1)
        U1 = U[i1:i2, i1:i2]
        for k in range(i2 - i1):
            w = W1[:, k]
            top = int(levels[i1 + k]) - 1
            if top < 1:
                q = torch.zeros_like(w)
            else:
                step = (hi - lo) / top
                zero = torch.round(-lo / step)
                q = step * (torch.clamp(torch.round(w / step) + zero, 0, top) - zero)
            Q[:, i1 + k] = q
            err = (w - q) / U1[k, k]
            loss[i1 + k] = 0.5 * torch.dot(err, err)
            W1[:, k:] -= torch.outer(err, U1[k, k:])
            E1[:, k] = err
        W[:, i2:] -= E1 @ U[i1:i2, i2:]
    return Q, loss
