"""Exact parameter, memory and FLOP counts of a low-rank + channel-sparse linear layer.

The layer computes ``y = B (A x) + S x_J`` (:eq:`lost-forward`) with ``B`` (m, r), ``A`` (r, n) and
``S`` (m, k). Counts follow :eq:`lost-params` and :eq:`lost-flops` of the chapter
``book/compression/lost-low-rank-sparse``.
"""

from __future__ import annotations

from typing import NamedTuple

from .._validate import check_int

__all__ = ["LayerCost", "lowrank_sparse_cost", "rank_for_budget"]

#: Largest layer side accepted by the counts (counts are exact Python integers, but sizes beyond any
#: real layer are refused rather than silently accepted).
MAX_SIDE = 10**9


class LayerCost(NamedTuple):
    """Exact counts for one low-rank + channel-sparse layer and the dense layer it replaces."""

    parameters: int  #: r (m + n) + m k
    dense_parameters: int  #: m n
    parameter_bytes: int  #: parameters * itemsize
    index_bytes: int  #: k * 8 (the int64 channel indices J)
    gradient_bytes: int  #: parameters * itemsize (one gradient per parameter)
    adam_bytes: int  #: 2 * parameters * itemsize (Adam's two moment estimates)
    training_bytes: int  #: parameter + index + gradient + Adam bytes
    dense_training_bytes: int  #: 4 * m n * itemsize (weights, gradients, two moments)
    forward_flops: int  #: 2 b (r n + m r + m k): the three matrix products, 2 FLOPs per multiply-add
    dense_forward_flops: int  #: 2 b m n


def lowrank_sparse_cost(out_features: int, in_features: int, rank: int, n_channels: int, *, batch_size: int = 1,
                        itemsize: int = 4) -> LayerCost:
    """Count parameters, memory and forward FLOPs of ``y = B(Ax) + S x_J`` exactly (:eq:`lost-params`).

    FLOPs follow the convention of :mod:`torch.utils.flop_counter`: a matrix product of shapes
    (b, p) and (p, q) costs ``2 b p q``; the gather ``x_J`` and the final addition of the two parts
    (``b m`` additions) are not counted, so the count is comparable with PyTorch's counter
    (:eq:`lost-flops`). Memory counts tensors that persist during training with Adam; activations
    are not included (they depend on the autograd graph and the batch).

    Parameters
    ----------
    out_features : int
        ``m`` in ``[1, 1e9]``.
    in_features : int
        ``n`` in ``[1, 1e9]``.
    rank : int
        ``r`` in ``[0, min(m, n)]``.
    n_channels : int
        ``k`` in ``[0, n]``.
    batch_size : int, default 1
        ``b`` in ``[1, 1e9]``, for the FLOP counts.
    itemsize : int, default 4
        Bytes per parameter, in ``[1, 16]`` (4 for float32).

    Returns
    -------
    LayerCost

    Raises
    ------
    ValueError
        If a size is out of range.
    TypeError
        If a size is not an integer.

    Examples
    --------
    >>> c = lowrank_sparse_cost(128, 128, 8, 6)
    >>> c.parameters, c.dense_parameters, c.forward_flops
    (2816, 16384, 5632)
    """
    m = check_int(out_features, "out_features", low=1, high=MAX_SIDE)
    n = check_int(in_features, "in_features", low=1, high=MAX_SIDE)
    r = check_int(rank, "rank", low=0, high=min(m, n))
    k = check_int(n_channels, "n_channels", low=0, high=n)
    b = check_int(batch_size, "batch_size", low=1, high=MAX_SIDE)
    itemsize = check_int(itemsize, "itemsize", low=1, high=16)
    p = r * (m + n) + m * k
    p_bytes = p * itemsize
    index_bytes = 8 * k
    return LayerCost(
        parameters=p,
        dense_parameters=m * n,
        parameter_bytes=p_bytes,
        index_bytes=index_bytes,
        gradient_bytes=p_bytes,
        adam_bytes=2 * p_bytes,
        training_bytes=4 * p_bytes + index_bytes,
        dense_training_bytes=4 * m * n * itemsize,
        forward_flops=2 * b * (r * n + m * r + m * k),
        dense_forward_flops=2 * b * m * n,
    )


def rank_for_budget(out_features: int, in_features: int, budget: int, n_channels: int = 0) -> int:
    """Largest rank ``r <= min(m, n)`` with ``r (m + n) + m k <= budget`` (equal-parameter comparisons).

    Parameters
    ----------
    out_features, in_features : int
        ``m`` and ``n`` in ``[1, 1e9]``.
    budget : int
        Parameter budget, at least ``m k`` (the sparse part alone), at most ``1e30``.
    n_channels : int, default 0
        ``k`` in ``[0, n]``.

    Returns
    -------
    int

    Raises
    ------
    ValueError
        If a size is out of range or the budget cannot hold the ``k`` channels.
    TypeError
        If an argument is not an integer.

    Examples
    --------
    >>> rank_for_budget(128, 128, 2816)  # the budget of rank 8 plus 6 channels
    11
    """
    m = check_int(out_features, "out_features", low=1, high=MAX_SIDE)
    n = check_int(in_features, "in_features", low=1, high=MAX_SIDE)
    k = check_int(n_channels, "n_channels", low=0, high=n)
    budget = check_int(budget, "budget", low=m * k, high=10**30)
    return min((budget - m * k) // (m + n), m, n)
