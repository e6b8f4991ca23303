"""Collapse metrics: zero on exact frames, invariances, finiteness, and agreement with direct loops."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lossbook.collapse import (
    collapse_metrics,
    orthonormal_frame,
    random_rotation,
    sigma_b,
    sigma_w,
    simplex_etf,
)


def _collapsed(means, n):
    K = means.shape[1]
    return np.repeat(means, n, axis=1), np.repeat(np.arange(K), n)


@pytest.mark.parametrize("K,d", [(2, 1), (3, 2), (4, 4), (5, 9)])
def test_simplex_etf_gram_matches_definition(K, d):
    M = simplex_etf(K, d, scale=2.5, seed=3)
    G = M.T @ M
    expected = 2.5**2 * np.where(np.eye(K) == 1, 1.0, -1.0 / (K - 1))
    np.testing.assert_allclose(G, expected, atol=1e-12)
    np.testing.assert_allclose(M.sum(axis=1), 0.0, atol=1e-12)


def test_metrics_zero_on_exact_etf_and_frame():
    K, d, n = 4, 7, 5
    M = simplex_etf(K, d, scale=3.0, seed=0)
    H, y = _collapsed(M + 1.7 * np.ones((d, 1)), n)  # shifted: global mean non-zero
    m = collapse_metrics(H, y, W=M.T)
    assert m.nc1 < 1e-12 and m.nc1_trace < 1e-12
    assert m.nc2_etf < 1e-12
    assert m.nc3 < 1e-12
    R = orthonormal_frame(K, d, seed=1) * 2.0
    H, y = _collapsed(R, n)
    m = collapse_metrics(H, y, W=R.T)
    assert m.nc2_orthogonal < 1e-12 and m.nc3_orthogonal < 1e-12 and m.nc1 < 1e-12
    # an orthogonal frame is an ETF after centring (tolerance: rounding of O(1) quantities)
    assert m.nc2_etf < 1e-12 and m.nc3 < 1e-12


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), scale=st.floats(1e-3, 1e3))
def test_metrics_invariant_to_rotation_and_scale(seed, scale):
    rng = np.random.default_rng(seed)
    K, d, n = 3, 5, 4
    H = rng.normal(size=(d, K * n)) + rng.normal(size=(d, 1))
    y = np.repeat(np.arange(K), n)
    W = rng.normal(size=(K, d))
    Q = random_rotation(d, seed=seed)
    a = collapse_metrics(H, y, W=W)
    b = collapse_metrics(scale * Q @ H, y, W=W @ Q.T / scale)
    for f in ("nc1", "nc1_trace", "nc2_etf", "nc2_orthogonal", "nc3", "nc3_orthogonal"):
        # all quantities are O(1) ratios of O(1) matrices: rounding error ~1e-13
        np.testing.assert_allclose(getattr(b, f), getattr(a, f), rtol=1e-9, err_msg=f)


def test_covariances_match_explicit_sums():
    rng = np.random.default_rng(5)
    d, y = 3, np.array([0, 0, 1, 1, 1, 2, 2])
    H = rng.normal(size=(d, y.size))
    K, N = 3, y.size
    means = [H[:, y == k].mean(axis=1) for k in range(K)]
    Sw = sum(np.outer(H[:, i] - means[y[i]], H[:, i] - means[y[i]]) for i in range(N)) / N
    hG = H.mean(axis=1)
    Sb = sum(np.outer(m - hG, m - hG) for m in means) / K
    np.testing.assert_allclose(sigma_w(H, y), Sw, atol=1e-14)
    np.testing.assert_allclose(sigma_b(H, y), Sb, atol=1e-14)
    m = collapse_metrics(H, y)
    np.testing.assert_allclose(m.nc1, np.trace(Sw @ np.linalg.pinv(Sb)) / K, rtol=1e-10)
    np.testing.assert_allclose(m.nc1_trace, np.trace(Sw) / np.trace(Sb), rtol=1e-12)


def test_nc1_finite_when_sigma_b_rank_deficient_and_degenerate_conventions():
    rng = np.random.default_rng(2)
    K, d, n = 3, 10, 4
    M = simplex_etf(K, d)
    H, y = _collapsed(M, n)
    H = H + 1e-3 * rng.normal(size=H.shape)  # Sigma_B has rank K-1 < d
    m = collapse_metrics(H, y)
    assert np.isfinite(m.nc1) and m.nc1 > 0
    # two classes with (nearly) coincident means stay finite
    H0 = rng.normal(size=(d, 1)) + np.zeros((d, K * n))
    H0[:, ::2] += 1e-2
    H0[:, 1::2] -= 1e-2
    y0 = np.array([0, 1] * (K * n // 2))
    m0 = collapse_metrics(H0, y0)
    assert np.isfinite(m0.nc1)
    H1 = np.ones((d, 6))
    m1 = collapse_metrics(H1, [0, 0, 1, 1, 2, 2])  # everything collapsed to one point
    assert m1.nc1_trace == 0.0 and m1.nc1 == 0.0
    np.testing.assert_allclose(m1.nc2_etf, 1.0)


def test_invalid_inputs_are_rejected():
    H = np.zeros((3, 4))
    with pytest.raises(ValueError, match="labels"):
        collapse_metrics(H, [0, 1, 1])
    with pytest.raises(ValueError, match="empty"):
        collapse_metrics(H, [0, 0, 2, 2])
    with pytest.raises(ValueError, match="W must have shape"):
        collapse_metrics(H, [0, 0, 1, 1], W=np.zeros((3, 3)))
    with pytest.raises(ValueError, match="finite"):
        collapse_metrics(np.full((3, 4), np.nan), [0, 0, 1, 1])
    with pytest.raises(ValueError, match=r"^d must lie in"):  # names the parameter, not just any "d"
        simplex_etf(5, 3)
    with pytest.raises(ValueError, match="global_mean"):
        collapse_metrics(H, [0, 0, 1, 1], global_mean="median")
