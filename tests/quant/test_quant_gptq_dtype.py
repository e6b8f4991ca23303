"""GPTQ in float32 and float64, the compiled kernel against its NumPy reference, and the PyTorch GPTQ peer.

The peer (``benchmarks/gptq_torch.py``) is written independently of :func:`lossbook.quant.gptq_quantize`: a
different route to the factor ``U`` (Cholesky, ``cholesky_inverse``, Cholesky), PyTorch arithmetic, no tiles and
no Numba. It is also the benchmark peer of issue #19.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from lossbook.quant import gptq_quantize, hessian_from_inputs, layer_loss, synthetic_layer

torch = pytest.importorskip("torch")
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from benchmarks.gptq_torch import torch_gptq  # noqa: E402

LAYERS = [(24, 40, 600, 11), (130, 200, 800, 3), (256, 256, 1024, 1)]  # m not a multiple of the 64-row tile


def _layer(m, n, N, seed, dead=False):
    W, X = synthetic_layer(m, n, N, 1.0, seed=seed)
    if dead:
        X[:3] = 0.0  # three inputs never fire: H_jj = 0
    return W, X, hessian_from_inputs(X)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("group_size", [None, 48])
def test_compiled_kernel_is_bit_identical_to_its_numpy_reference(dtype, group_size):
    W, _, H = _layer(130, 200, 800, 3, dead=True)
    bits = np.random.default_rng(0).integers(1, 5, size=200).astype(float)
    a = gptq_quantize(W, H, bits, dtype=dtype, group_size=group_size, block_size=64)
    b = gptq_quantize(W, H, bits, dtype=dtype, group_size=group_size, block_size=64, engine="numpy")
    assert a.Q.dtype == np.dtype(dtype) and a.U_diag.dtype == np.float64
    np.testing.assert_array_equal(a.Q, b.Q)
    np.testing.assert_array_equal(a.column_loss, b.column_loss)
    np.testing.assert_array_equal(a.saturated, b.saturated)


@pytest.mark.parametrize("m,n,N,seed", LAYERS)
def test_float64_equals_the_pytorch_peer(m, n, N, seed):
    W, _, H = _layer(m, n, N, seed, dead=True)
    bits = np.random.default_rng(seed).integers(1, 5, size=n)
    res = gptq_quantize(W, H, bits.astype(float), block_size=32)
    Q, loss = torch_gptq(torch.tensor(W), torch.tensor(H), torch.tensor(2**bits), block_size=32)
    # Same grid points: a rounding flip would move an entry by a whole step. The two factorisations of H
    # differ in rounding only, so the losses agree to a few hundred ulps at most.
    np.testing.assert_array_equal(res.Q, Q.numpy())
    np.testing.assert_allclose(res.column_loss, loss.numpy(), rtol=1e-10, atol=0)


@pytest.mark.claim("baq_gptq_float32")
@pytest.mark.parametrize("m,n,N,seed", LAYERS)
def test_float32_agrees_with_the_pytorch_peer_in_float32(m, n, N, seed):
    W, _, H = _layer(m, n, N, seed)
    res = gptq_quantize(W, H, 3, dtype="float32")
    Q, loss = torch_gptq(torch.tensor(W, dtype=torch.float32), torch.tensor(H, dtype=torch.float32),
                         torch.full((n,), 8))
    # In float32 an entry within round-off of a rounding boundary can go either way on the two routes;
    # such an entry moves by one grid step. Measured: at most 0.1% of entries on these layers.
    step = (np.maximum(W.max(axis=1), 0) - np.minimum(W.min(axis=1), 0)) / 7
    moved = np.abs(res.Q - Q.numpy()) > 0.5 * step[:, None]
    assert moved.mean() <= 2e-3
    assert res.column_loss.sum() == pytest.approx(float(loss.sum()), rel=1e-3)


@pytest.mark.claim("baq_gptq_float32")
@pytest.mark.parametrize("m,n,N,seed", LAYERS)
def test_float32_layer_loss_and_decomposition(m, n, N, seed):
    W, X, H = _layer(m, n, N, seed)
    bits = np.random.default_rng(0).integers(1, 5, size=n).astype(float)
    r64 = gptq_quantize(W, H, bits)
    r32 = gptq_quantize(W, H, bits, dtype="float32")
    Q32 = r32.Q.astype(np.float64)
    # Layer loss of the float32 result relative to float64. Measured: |rel| <= 4e-8 (about one float32
    # ulp, 6e-8); the bound 1e-6 (16 ulps) leaves room for a few flipped roundings, each changing the loss
    # by O(1/(m n)) of itself.
    assert layer_loss(W, Q32, X) == pytest.approx(layer_loss(W, r64.Q, X), rel=1e-6)
    # The exact column-loss decomposition still holds, to float32 rounding (measured <= 4e-8).
    direct = layer_loss(W, Q32, X) + r32.damping / 2 * np.sum((W - Q32) ** 2)
    assert r32.column_loss.sum() == pytest.approx(direct, rel=1e-6)
    assert r32.column_loss.dtype == np.float64


@pytest.mark.parametrize("bad", ["float16", "int64", np.float16, 3, None])
def test_dtype_is_validated(bad):
    W, _, H = _layer(24, 40, 600, 11)
    with pytest.raises((ValueError, TypeError), match="dtype"):
        gptq_quantize(W, H, 3, dtype=bad)


def test_dtype_accepts_numpy_types():
    W, _, H = _layer(24, 40, 600, 11)
    a = gptq_quantize(W, H, 3, dtype=np.float32)
    b = gptq_quantize(W, H, 3, dtype="float32")
    np.testing.assert_array_equal(a.Q, b.Q)


@pytest.mark.parametrize("scale", [1e-150, 1e-40, 1e40, 1e150])
def test_float32_works_at_any_float64_scale_of_H(scale):
    # H outside the float32 range (below 1e-38 or above 3e38) is normalised before the cast: the result is the
    # result at scale 1 (GPTQ is invariant to scaling H), and the column losses scale with H.
    W, _, H = _layer(24, 40, 600, 11)
    ref = gptq_quantize(W, H, 3, dtype="float32")
    res = gptq_quantize(W, H * scale, 3, dtype="float32")
    np.testing.assert_array_equal(res.Q, ref.Q)
    np.testing.assert_allclose(res.column_loss, ref.column_loss * scale, rtol=1e-6)
