"""Stable softmax family: extreme inputs, a peer library, and the Numba kernel against NumPy."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy.special import log_softmax as scipy_log_softmax
from scipy.special import logsumexp as scipy_logsumexp

from lossbook.losses import log_softmax, logsumexp, logsumexp_rows, softmax


@pytest.mark.claim("intro_lse_overflow")
def test_logsumexp_extreme_inputs():
    # exp(1000) overflows float64; the exact value is 1000 + log(2 + exp(-2000)) = 1000 + log 2 in float64.
    assert logsumexp([1000.0, 1000.0, -1000.0]) == pytest.approx(1000.0 + np.log(2.0), rel=1e-15)
    assert logsumexp([-1000.0, -1000.0]) == pytest.approx(-1000.0 + np.log(2.0), rel=1e-15)
    np.testing.assert_array_equal(softmax([1e308, -1e308]), [1.0, 0.0])


finite = st.floats(-700, 700, allow_nan=False, allow_infinity=False)


@settings(max_examples=60, deadline=None)
@given(arrays(np.float64, st.tuples(st.integers(1, 6), st.integers(1, 7)), elements=finite))
def test_matches_scipy_and_numba_matches_numpy(z):
    ref = scipy_logsumexp(z, axis=1)
    # both sides compute the same shifted sum; differences are a few ulps of max|z|+log k
    tol = 4 * np.finfo(float).eps * (np.abs(z).max() + np.log(z.shape[1]) + 1)
    np.testing.assert_allclose(logsumexp(z, axis=1), ref, rtol=0, atol=tol)
    np.testing.assert_allclose(logsumexp_rows(z, engine="numba"), logsumexp_rows(z, engine="numpy"), rtol=0, atol=tol)
    np.testing.assert_allclose(log_softmax(z, axis=1), scipy_log_softmax(z, axis=1), rtol=0, atol=2 * tol)
    np.testing.assert_allclose(softmax(z, axis=1).sum(axis=1), 1.0, rtol=0, atol=1e-12)


def test_bad_input():
    with pytest.raises(ValueError, match="z must contain only finite"):
        logsumexp([np.nan, 1.0])
    with pytest.raises(ValueError, match="z must have 2 dimension"):
        logsumexp_rows([1.0, 2.0])
    with pytest.raises(ValueError, match="engine"):
        logsumexp_rows([[1.0]], engine="gpu")
