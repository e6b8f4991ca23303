"""lossbook.lowrank decompositions against SciPy's SVD, generic solvers and brute force."""

import itertools

import numpy as np
import pytest
import scipy.linalg

from lossbook.lowrank import (
    best_rank_approximation,
    lost_channel_scores,
    lost_decomposition,
    random_support_decomposition,
)

# Backward-stable SVD: singular values and the reconstruction err by a small multiple of
# eps * ||W||_2; 1e-10 relative leaves a margin of ~1e5 eps for the sizes used here.
RTOL = 1e-10


def _matrix(rng, m, n, decay=0.7):
    """A random matrix with geometrically decaying, distinct singular values (no ties in the SVD)."""
    U, _ = np.linalg.qr(rng.standard_normal((m, m)))
    V, _ = np.linalg.qr(rng.standard_normal((n, n)))
    s = 3.0 * decay ** np.arange(min(m, n))
    return (U[:, : s.size] * s) @ V[:, : s.size].T


@pytest.mark.claim("lost_eckart_young")
@pytest.mark.parametrize(("m", "n"), [(1, 1), (5, 3), (3, 7), (12, 12), (40, 25)])
def test_eckart_young_error_equals_scipy_tail_singular_values(m, n):
    rng = np.random.default_rng(m * 100 + n)
    W = rng.standard_normal((m, n))
    s = scipy.linalg.svd(W, compute_uv=False, lapack_driver="gesvd")  # a different LAPACK driver
    U, _, Vt = scipy.linalg.svd(W, lapack_driver="gesvd")
    for r in range(min(m, n) + 1):
        approx = best_rank_approximation(W, r)
        tail = np.sqrt(np.sum(s[r:] ** 2))
        assert approx.error == pytest.approx(tail, rel=RTOL, abs=RTOL * s[0])
        assert np.linalg.norm(W - approx.B @ approx.A) == pytest.approx(tail, rel=1e-8, abs=1e-12 * s[0])
        np.testing.assert_allclose(approx.singular_values, s, rtol=RTOL, atol=RTOL * s[0])
        assert np.linalg.matrix_rank(approx.B @ approx.A, tol=1e-9 * s[0]) == min(r, np.sum(s > 1e-9 * s[0]))


def _als_rank_r(W, r, rng, iters=400):
    """Rank-r fit by alternating least squares from a random start: a generic solver, no SVD."""
    A = rng.standard_normal((r, W.shape[1]))
    for _ in range(iters):
        B = np.linalg.lstsq(A.T, W.T, rcond=None)[0].T
        A = np.linalg.lstsq(B, W, rcond=None)[0]
    return np.linalg.norm(W - B @ A)


@pytest.mark.claim("lost_eckart_young")
def test_no_generic_rank_r_fit_beats_the_truncated_svd():
    rng = np.random.default_rng(0)
    for m, n, r in [(8, 6, 2), (10, 10, 3), (6, 9, 1)]:
        W = rng.standard_normal((m, n))
        best = best_rank_approximation(W, r).error
        for _ in range(5):
            # ALS can only stop at or above the global minimum; it reaches it here within rounding
            als = _als_rank_r(W, r, rng)
            assert als >= best * (1 - 1e-9)
        # random rank-r matrices are never better either
        for _ in range(200):
            L = rng.standard_normal((m, r)) @ rng.standard_normal((r, n))
            c = np.sum(L * W) / np.sum(L * L)  # best scaling of the random direction
            assert np.linalg.norm(W - c * L) >= best


@pytest.mark.claim("lost_orthogonal")
def test_lost_parts_are_orthogonal_and_error_is_tail_minus_kept_channels():
    rng = np.random.default_rng(1)
    for m, n, r, k in [(10, 8, 2, 3), (20, 30, 5, 4), (7, 7, 0, 2), (9, 6, 3, 0)]:
        W = rng.standard_normal((m, n))
        d = lost_decomposition(W, r, k)
        L = d.B @ d.A
        S_full = np.zeros((m, n))
        S_full[:, d.channels] = d.S
        s = scipy.linalg.svd(W, compute_uv=False)
        assert abs(np.sum(L * S_full)) <= 1e-10 * s[0] ** 2  # <L, S>_F = 0
        # the columns of S lie in the complement of the top-r left singular subspace
        U = scipy.linalg.svd(W)[0]
        assert np.linalg.norm(U[:, :r].T @ d.S) <= 1e-10 * s[0]
        tail2 = np.sum(s[r:] ** 2)
        kept2 = np.sum(d.scores[d.channels] ** 2)
        assert d.error**2 == pytest.approx(tail2 - kept2, rel=1e-9, abs=1e-12 * s[0] ** 2)
        assert np.linalg.norm(W - L - S_full) == pytest.approx(d.error, rel=1e-8, abs=1e-12 * s[0])
        assert d.error <= d.lowrank_error * (1 + 1e-12)
        # corollary: the kept channels carry at least the fraction k/n of the residual energy
        assert kept2 >= k / n * tail2 * (1 - 1e-12)


@pytest.mark.claim("lost_channels")
@pytest.mark.parametrize("k", [1, 2, 3, 4])
def test_top_norm_channels_are_optimal_among_all_subsets_brute_force(k):
    rng = np.random.default_rng(10 + k)
    W = rng.standard_normal((10, 8))
    W[:, [1, 6]] *= 3.0  # two heavy channels
    r = 2
    d = lost_decomposition(W, r, k)
    L = d.B @ d.A
    R = W - L
    errors = {}
    for J in itertools.combinations(range(8), k):
        # the best S on columns J (any values) solves a least-squares problem per column; with the
        # identity as design matrix it is R[:, J], found here by the generic solver
        cols = list(J)
        S = np.linalg.lstsq(np.eye(10), R[:, cols], rcond=None)[0]
        E = R.copy()
        E[:, cols] -= S
        errors[J] = np.linalg.norm(E)
    best_J = min(errors, key=errors.get)
    assert errors[tuple(d.channels)] == pytest.approx(errors[best_J], rel=1e-12)
    assert d.error == pytest.approx(errors[best_J], rel=1e-9)


@pytest.mark.claim("lost_not_joint")
def test_sequential_split_is_not_jointly_optimal():
    # the outlier column takes the rank-1 part, so the channel goes to the leftover: error 1;
    # putting the outlier in S and the rest in the rank-1 part is exact
    W = np.array([[5.0, 0.0, 0.0], [0.0, 1.0, 1.0]])
    d = lost_decomposition(W, 1, 1)
    assert d.error == pytest.approx(1.0, rel=1e-12)
    rest = W.copy()
    rest[:, 0] = 0.0
    assert best_rank_approximation(rest, 1).error < 1e-12


@pytest.mark.claim("lost_random_gain")
def test_random_support_captures_k_over_n_of_the_residual_in_expectation():
    rng = np.random.default_rng(3)
    m, n, r, k = 12, 10, 2, 3
    W = rng.standard_normal((m, n))
    W[:, 4] *= 4.0
    lost = lost_decomposition(W, r, k)
    tail2 = lost.lowrank_error**2
    gains = np.array([tail2 - random_support_decomposition(W, r, m * k, seed=s).error ** 2 for s in range(4000)])
    expected = k / n * tail2
    se = gains.std(ddof=1) / np.sqrt(gains.size)
    assert abs(gains.mean() - expected) < 5 * se  # 5 standard errors: false alarm below 1e-6
    assert tail2 - lost.error**2 >= expected  # LOST's gain is at least the random expectation


def test_boundaries_of_rank_and_channels():
    rng = np.random.default_rng(4)
    W = rng.standard_normal((6, 4))
    col_norms = np.linalg.norm(W, axis=0)
    np.testing.assert_allclose(lost_channel_scores(W, 0), col_norms, rtol=1e-12)  # rank 0: R = W
    assert best_rank_approximation(W, 0).error == pytest.approx(np.linalg.norm(W), rel=1e-12)
    assert best_rank_approximation(W, 4).error < 1e-12 * np.linalg.norm(W)  # full rank: exact
    assert lost_decomposition(W, 1, 4).error < 1e-12 * np.linalg.norm(W)  # all channels: exact
    d0 = lost_decomposition(W, 2, 0)
    assert d0.channels.size == 0 and d0.S.shape == (6, 0) and d0.error == pytest.approx(d0.lowrank_error)
    # tied scores: the lower index wins
    T = np.eye(3)
    assert lost_decomposition(T, 0, 2).channels.tolist() == [0, 1]


@pytest.mark.parametrize("scale", [2.0**-1070, 1e-300, 1e-20, 1e20, 1e149])
def test_scale_equivariance_at_extreme_magnitudes(scale):
    rng = np.random.default_rng(5)
    W = _matrix(rng, 7, 5)
    ref = lost_decomposition(W, 2, 2)
    d = lost_decomposition(W * scale, 2, 2)
    assert np.all(np.isfinite(d.B)) and np.all(np.isfinite(d.A)) and np.all(np.isfinite(d.S))
    assert d.channels.tolist() == ref.channels.tolist()
    # scaling by a normal number is nearly exact; subnormal entries (2**-1070 * W, at most 4 significant
    # bits for |W| < 3) are rounded to relative error up to 2**-4 each, hence the loose 0.2
    rtol = 1e-10 if scale >= 1e-300 else 0.2
    assert d.error / scale == pytest.approx(ref.error, rel=rtol)
    assert d.lowrank_error / scale == pytest.approx(ref.lowrank_error, rel=rtol)


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda W: best_rank_approximation(W, 5), "rank"),
        (lambda W: best_rank_approximation(W, -1), "rank"),
        (lambda W: best_rank_approximation(W, 1.0), "rank"),
        (lambda W: lost_decomposition(W, 1, 5), "n_channels"),
        (lambda W: lost_decomposition(np.full((3, 4), np.nan), 1, 1), "W"),
        (lambda W: lost_decomposition(np.full((3, 4), 1e151), 1, 1), "W"),
        (lambda W: lost_decomposition(np.zeros((0, 4)), 0, 0), "W"),
        (lambda W: lost_decomposition(np.zeros(4), 0, 0), "W"),
        (lambda W: random_support_decomposition(W, 1, 13, seed=0), "n_entries"),
        (lambda W: random_support_decomposition(W, 1, 2, seed=-1), "seed"),
    ],
)
def test_bad_input_names_the_argument(call, match):
    W = np.ones((3, 4))
    with pytest.raises((ValueError, TypeError), match=match):
        call(W)
