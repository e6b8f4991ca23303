"""Issue #12 regressions in lossbook.quant: the silent NaN results reported for hostile inputs."""

from __future__ import annotations

import numpy as np
import pytest

from lossbook.quant import layer_loss, relu_mlp_forward, rtn_quantize


@pytest.mark.parametrize("bits", [1, 2, 3])
def test_rtn_is_scale_equivariant_by_powers_of_two_up_to_the_float_range(bits):
    # rounding commutes with scaling by 2^k, so Q(2^k W) = 2^k Q(W) exactly, including k near +-1000
    # where the old code formed xmax - xmin = inf (1.7e308) or a zero step (subnormals) and returned NaN
    W = np.random.default_rng(0).uniform(-1.0, 1.0, (4, 6))
    Q = rtn_quantize(W, bits)
    for k in (1000, 1023, -1020, -1070):
        Wk = np.ldexp(W, k)
        Qk = rtn_quantize(Wk, bits)
        assert np.all(np.isfinite(Qk))
        if k > -1020:  # normal numbers: exact
            np.testing.assert_array_equal(Qk, np.ldexp(Q, k))
        else:  # subnormal results keep only the bits the format has
            np.testing.assert_allclose(Qk, np.ldexp(Q, k), rtol=0, atol=np.ldexp(1.0, -1074) * 2)


def test_rtn_at_the_largest_floats():
    W = np.array([[1.7e308, -1.7e308, 0.0]])
    Q = rtn_quantize(W, 1)
    assert np.all(np.isfinite(Q))
    np.testing.assert_allclose(Q / 1.7e308, rtn_quantize(W / 1.7e308, 1), rtol=1e-15)


def test_layer_loss_refuses_zero_samples_and_keeps_tiny_and_huge_values():
    with pytest.raises(ValueError, match="X"):
        layer_loss([[1.0]], [[0.0]], np.zeros((1, 0)))
    # one column of 1000 carries D = 1e155: D^2 = 1e310 overflowed, but the mean 1e307 is representable
    X = np.zeros((1, 1000))
    X[0, 0] = 1.0
    assert layer_loss([[1e155]], [[0.0]], X) == pytest.approx(1e307, rel=1e-14)
    assert layer_loss([[1e-170]], [[0.0]], [[1.0]]) == pytest.approx(1e-340, rel=1e-3)  # subnormal result


def test_relu_mlp_refuses_non_finite_or_complex_weights_and_names_them():
    X = np.ones((2, 2))
    with pytest.raises(ValueError, match=r"weights\[0\]"):
        relu_mlp_forward([np.array([[np.nan, 0.0]])], [np.zeros(1)], X)
    with pytest.raises(ValueError, match=r"biases\[0\]"):
        relu_mlp_forward([np.ones((1, 2))], [np.array([np.inf])], X)
    with pytest.raises(TypeError, match=r"weights\[0\]"):
        relu_mlp_forward([np.ones((1, 2)) * 1j], [np.zeros(1)], X)
    with pytest.raises(ValueError, match=r"weights\[1\]"):
        relu_mlp_forward([np.ones((3, 2)), np.ones((1, 2))], [np.zeros(3), np.zeros(1)], X)
    with pytest.raises(FloatingPointError, match="overflowed"):
        relu_mlp_forward([np.full((1, 2), 1e300)], [np.zeros(1)], np.full((1, 2), 1e300))
