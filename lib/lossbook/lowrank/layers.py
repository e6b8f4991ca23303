"""PyTorch layers: low-rank + channel-sparse (LOST) and low-rank + random-support sparse.

Both are built from NumPy factors (e.g. from :func:`lossbook.lowrank.lost_decomposition`) by a
factory that imports PyTorch through :func:`lossbook._torch.require_torch`, so ``import
lossbook.lowrank`` does not need PyTorch.
"""

from __future__ import annotations

import functools

import numpy as np

from .._torch import require_torch
from .._validate import check_array, check_choice

__all__ = ["lost_linear", "random_support_linear"]

_DTYPES = ("float32", "float64")


@functools.cache
def _classes():
    torch = require_torch()

    class LostLinear(torch.nn.Module):
        """``y = B (A x) + S x_J`` (:eq:`lost-forward`); ``B``, ``A``, ``S`` trainable, ``J`` fixed."""

        def __init__(self, B, A, channels, S):
            super().__init__()
            self.B = torch.nn.Parameter(B)
            self.A = torch.nn.Parameter(A)
            self.S = torch.nn.Parameter(S)
            self.register_buffer("channels", channels)

        def forward(self, x):
            return (x @ self.A.T) @ self.B.T + x.index_select(-1, self.channels) @ self.S.T

        def effective_weight(self):
            """The dense ``(m, n)`` matrix ``B A + S P_J^T`` that the layer applies."""
            W = self.B @ self.A
            return W.index_add(1, self.channels, self.S)

    class RandomSupportLinear(torch.nn.Module):
        """``y = B (A x) + S x`` with ``S`` non-zero on a fixed entry set; its values are trainable."""

        def __init__(self, B, A, rows, cols, values):
            super().__init__()
            self.B = torch.nn.Parameter(B)
            self.A = torch.nn.Parameter(A)
            self.values = torch.nn.Parameter(values)
            self.register_buffer("rows", rows)
            self.register_buffer("cols", cols)
            self.shape = (B.shape[0], A.shape[1])

        def sparse_weight(self):
            S = torch.zeros(self.shape, dtype=self.values.dtype)
            return S.index_put((self.rows, self.cols), self.values)

        def forward(self, x):
            return (x @ self.A.T) @ self.B.T + x @ self.sparse_weight().T

        def effective_weight(self):
            """The dense ``(m, n)`` matrix ``B A + S`` that the layer applies."""
            return self.B @ self.A + self.sparse_weight()

    return LostLinear, RandomSupportLinear


#: Largest entry magnitude accepted, whatever the dtype (the float32 range).
MAX_ENTRY = float(np.finfo(np.float32).max)


def _factors(B, A):
    B = check_array(B, "B", ndim=2, max_abs=MAX_ENTRY)
    A = check_array(A, "A", ndim=2, max_abs=MAX_ENTRY)
    if B.shape[1] != A.shape[0]:
        raise ValueError(f"B with shape {B.shape} and A with shape {A.shape} do not chain: B.shape[1] must "
                         "equal A.shape[0] (the rank)")
    if B.shape[0] == 0 or A.shape[1] == 0:
        raise ValueError(f"B and A must give a layer with at least one input and one output, got B {B.shape}, "
                         f"A {A.shape}")
    return B, A


def _indices(x, name: str, high: int) -> np.ndarray:
    try:
        arr = np.asarray(x)
    except (ValueError, TypeError) as exc:
        raise TypeError(f"{name} must be an integer array: {exc}") from None
    if arr.dtype.kind == "b" or arr.dtype.kind not in "iu":
        raise TypeError(f"{name} must be an integer array, got dtype={arr.dtype}")
    if arr.ndim != 1:
        raise ValueError(f"{name} must have 1 dimension, got shape {arr.shape}")
    if arr.size and (arr.min() < 0 or arr.max() >= high):
        raise ValueError(f"{name} entries must lie in [0, {high - 1}]; got {arr.min()}..{arr.max()}")
    return arr.astype(np.int64)


def lost_linear(B, A, channels, S, *, dtype: str = "float32"):
    """Build the LOST layer ``y = B (A x) + S x_J`` (:eq:`lost-forward`) as a ``torch.nn.Module``.

    The module has trainable parameters ``B`` (m, r), ``A`` (r, n), ``S`` (m, k), the channel indices
    as a buffer, and a method ``effective_weight()`` returning the dense matrix ``B A + S P_J^T``.
    Its parameter count is :eq:`lost-params` and its forward FLOPs :eq:`lost-flops`.

    Parameters
    ----------
    B : array_like, shape (m, r)
        Finite entries of magnitude at most 3.4e38 (the float32 range, whatever ``dtype``), as for
        ``A`` and ``S``.
    A : array_like, shape (r, n)
    channels : array_like of int, shape (k,)
        Distinct input channels in ``[0, n)``.
    S : array_like, shape (m, k)
        Weights of the kept channels.
    dtype : {"float32", "float64"}, default "float32"

    Returns
    -------
    torch.nn.Module

    Raises
    ------
    ValueError
        If shapes disagree, a channel is out of range or repeated, an entry is not finite or
        exceeds 3.4e38 in magnitude.
    TypeError
        If an argument is not numeric, or ``channels`` is not an integer array.

    Examples
    --------
    >>> import torch
    >>> layer = lost_linear(np.ones((3, 1)), np.ones((1, 4)), [0, 2], np.zeros((3, 2)), dtype="float64")
    >>> sum(p.numel() for p in layer.parameters())  # r (m + n) + m k = 7 + 6
    13
    >>> layer(torch.ones(2, 4, dtype=torch.float64)).shape
    torch.Size([2, 3])
    """
    torch = require_torch()
    dtype = check_choice(dtype, "dtype", _DTYPES)
    B, A = _factors(B, A)
    m, n = B.shape[0], A.shape[1]
    channels = _indices(channels, "channels", n)
    if np.unique(channels).size != channels.size:
        raise ValueError("channels must be distinct")
    S = check_array(S, "S", ndim=2, max_abs=MAX_ENTRY)
    if S.shape != (m, channels.size):
        raise ValueError(f"S must have shape (m, k) = {(m, channels.size)} to match B and channels, got {S.shape}")
    tdtype = getattr(torch, dtype)
    LostLinear, _ = _classes()
    return LostLinear(torch.tensor(B, dtype=tdtype), torch.tensor(A, dtype=tdtype),
                      torch.tensor(channels, dtype=torch.int64), torch.tensor(S, dtype=tdtype))


def random_support_linear(B, A, rows, cols, values, *, dtype: str = "float32"):
    """Build ``y = B (A x) + S x`` with ``S`` supported on the entries ``(rows, cols)`` (SLTrain-style).

    The baseline layer of the chapter's comparison; only the ``values`` on the fixed support are
    trainable.

    Parameters
    ----------
    B : array_like, shape (m, r)
        Finite entries of magnitude at most 3.4e38 (the float32 range, whatever ``dtype``), as for
        ``A`` and ``values``.
    A : array_like, shape (r, n)
    rows, cols : array_like of int, shape (nnz,)
        Support of ``S``: distinct pairs with rows in ``[0, m)`` and cols in ``[0, n)``.
    values : array_like, shape (nnz,)
    dtype : {"float32", "float64"}, default "float32"

    Returns
    -------
    torch.nn.Module
        Trainable ``B``, ``A``, ``values``; ``effective_weight()`` gives the dense matrix.

    Raises
    ------
    ValueError
        If shapes or lengths disagree, an index is out of range, a pair repeats, or an entry is not finite.
    TypeError
        If an argument has the wrong type.

    Examples
    --------
    >>> layer = random_support_linear(np.ones((3, 1)), np.ones((1, 4)), [0, 2], [1, 3], [0.5, -0.5])
    >>> sum(p.numel() for p in layer.parameters())  # r (m + n) + nnz
    9
    """
    torch = require_torch()
    dtype = check_choice(dtype, "dtype", _DTYPES)
    B, A = _factors(B, A)
    m, n = B.shape[0], A.shape[1]
    rows = _indices(rows, "rows", m)
    cols = _indices(cols, "cols", n)
    values = check_array(values, "values", ndim=1, max_abs=MAX_ENTRY)
    if not rows.size == cols.size == values.size:
        raise ValueError(f"rows, cols and values must have the same length, got {rows.size}, {cols.size}, "
                         f"{values.size}")
    if np.unique(rows * n + cols).size != rows.size:
        raise ValueError("rows and cols must not repeat an entry (each (row, col) pair at most once)")
    tdtype = getattr(torch, dtype)
    _, RandomSupportLinear = _classes()
    return RandomSupportLinear(torch.tensor(B, dtype=tdtype), torch.tensor(A, dtype=tdtype),
                               torch.tensor(rows, dtype=torch.int64), torch.tensor(cols, dtype=torch.int64),
                               torch.tensor(values, dtype=tdtype))
