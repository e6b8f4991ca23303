"""PyTorch form of :func:`~lossbook.mim.pairwise_rank_loss` (for training)."""

from __future__ import annotations

from .._torch import require_torch

__all__ = ["pairwise_rank_loss_torch"]


def pairwise_rank_loss_torch(scores, targets, valid=None):
    """:func:`~lossbook.mim.pairwise_rank_loss` on tensors, differentiable in ``scores``.

    Parameters
    ----------
    scores, targets : torch.Tensor, shape (N, L)
        ``targets`` should be detached (HPM trains the predictor, not the reconstruction, with it).
    valid : torch.Tensor of bool, shape (N, L), optional

    Returns
    -------
    torch.Tensor
        A scalar; exactly 0 (with zero gradient) when no pair has different targets.

    Examples
    --------
    >>> import torch
    >>> round(float(pairwise_rank_loss_torch(torch.zeros(1, 2), torch.tensor([[1.0, 2.0]]))), 6)
    0.693147
    """
    torch = require_torch()
    if not isinstance(scores, torch.Tensor) or not isinstance(targets, torch.Tensor):
        raise TypeError("scores and targets must be tensors")
    if scores.ndim != 2 or targets.shape != scores.shape:
        raise ValueError(f"scores and targets must have the same (N, L) shape, got {tuple(scores.shape)} and "
                         f"{tuple(targets.shape)}")
    if valid is None:
        valid = torch.ones_like(scores, dtype=torch.bool)
    elif not isinstance(valid, torch.Tensor) or valid.dtype != torch.bool or valid.shape != scores.shape:
        raise ValueError("valid must be a boolean tensor with the shape of scores")
    pair_ok = valid[:, None, :] & valid[:, :, None]
    pos = (targets[:, None, :] > targets[:, :, None]) & pair_ok
    diff = scores[:, None, :] - scores[:, :, None]
    count = pos.sum()
    if int(count) == 0:
        return (scores * 0).sum()
    return torch.nn.functional.softplus(-diff[pos]).sum() / count
