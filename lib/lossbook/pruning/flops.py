"""Exact multiply-accumulate counts of gated convolution layers (:eq:`ftwt-macs`).

A gated layer computes only the output channels its mask keeps, and only from the input channels the
previous layer kept, so for one input it costs ``H_out * W_out * k_h * k_w * kept_in * kept_out`` MACs
(dense convolutions, ``groups = 1``; bias and non-linearity not counted, as in the official code).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .._validate import check_array, check_int

__all__ = ["ConvShape", "gated_conv_macs", "network_macs"]


class ConvShape(tuple):
    """``(out_h, out_w, k_h, k_w)`` of a dense convolution layer (a plain tuple with names)."""

    __slots__ = ()

    def __new__(cls, out_h: int, out_w: int, k_h: int, k_w: int):
        vals = [check_int(v, n, low=1, high=2**20) for v, n in
                ((out_h, "out_h"), (out_w, "out_w"), (k_h, "k_h"), (k_w, "k_w"))]
        return super().__new__(cls, vals)

    @property
    def per_channel_pair(self) -> int:
        """MACs per (kept input, kept output) channel pair: ``out_h * out_w * k_h * k_w``."""
        return self[0] * self[1] * self[2] * self[3]


def gated_conv_macs(kept_in, kept_out, shape: ConvShape) -> np.ndarray:
    """MACs of one gated convolution per input: ``kept_in * kept_out * out_h * out_w * k_h * k_w``.

    Parameters
    ----------
    kept_in, kept_out : array_like of int, broadcastable
        Numbers of kept input and output channels per input, each in ``[0, 2**20]``.
    shape : ConvShape
        The layer's output size and kernel size.

    Returns
    -------
    numpy.ndarray of float64
        The MAC count(s), exact while below 2**53.

    Examples
    --------
    >>> gated_conv_macs([16, 8], 32, ConvShape(8, 8, 3, 3)).tolist()
    [294912.0, 147456.0]
    """
    if not isinstance(shape, ConvShape):
        raise TypeError(f"shape must be a ConvShape, got {type(shape).__name__}")
    kin = check_array(kept_in, "kept_in", low=0, high=2**20)
    kout = check_array(kept_out, "kept_out", low=0, high=2**20)
    if np.any(kin != np.round(kin)) or np.any(kout != np.round(kout)):
        raise ValueError("kept_in and kept_out must be whole numbers of channels")
    try:
        return kin * kout * float(shape.per_channel_pair)
    except ValueError:
        raise ValueError(f"kept_in with shape {kin.shape} and kept_out with shape {kout.shape} do not "
                         "broadcast") from None


def network_macs(masks: Sequence, in_channels: int, shapes: Sequence[ConvShape]) -> np.ndarray:
    """MACs per input of a chain of gated convolutions (:eq:`ftwt-macs`), summed over the layers.

    Layer ``l`` keeps the channels ``masks[l]`` and reads the channels layer ``l - 1`` kept (the first
    layer reads all ``in_channels``). A layer that is not gated is passed an all-true mask.

    Parameters
    ----------
    masks : sequence of array_like of bool, each shape (B, C_l)
        Kept output channels per input and layer, at least one layer, same B throughout.
    in_channels : int
        Channels of the network's input, in ``[1, 2**20]``.
    shapes : sequence of ConvShape
        One per layer.

    Returns
    -------
    numpy.ndarray, shape (B,)

    Examples
    --------
    >>> m1 = np.array([[True, False], [True, True]]); m2 = np.array([[True, True, False]] * 2)
    >>> network_macs([m1, m2], 1, [ConvShape(4, 4, 3, 3), ConvShape(4, 4, 3, 3)]).tolist()
    [432.0, 864.0]
    """
    in_channels = check_int(in_channels, "in_channels", low=1, high=2**20)
    if isinstance(masks, np.ndarray | str) or not isinstance(masks, Sequence) or len(masks) == 0:
        raise TypeError("masks must be a non-empty list of (B, C_l) boolean arrays")
    arrays = []
    for i, m in enumerate(masks):
        m = np.asarray(m)
        if m.dtype != bool or m.ndim != 2:
            raise TypeError(f"masks[{i}] must be a 2-D boolean array, got dtype={m.dtype}, shape {m.shape}")
        arrays.append(m)
    if isinstance(shapes, str) or not isinstance(shapes, Sequence) or len(shapes) != len(masks):
        raise ValueError(f"shapes must be a list with one ConvShape per mask ({len(masks)}), got {shapes!r}")
    total = None
    kept_in = None
    for i, (m, s) in enumerate(zip(arrays, shapes, strict=True)):
        if not isinstance(s, ConvShape):
            raise TypeError(f"shapes[{i}] must be a ConvShape, got {type(s).__name__}")
        if total is None:
            total = np.zeros(m.shape[0])
            kept_in = np.full(m.shape[0], float(in_channels))
        elif m.shape[0] != total.size:
            raise ValueError(f"masks[{i}] has {m.shape[0]} rows, masks[0] has {total.size}")
        kept_out = m.sum(axis=1).astype(float)
        total = total + gated_conv_macs(kept_in, kept_out, s)
        kept_in = kept_out
    return total
