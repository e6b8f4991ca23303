"""TrAct's closed form against an independent generic least-squares solve, its two forms, scale and limits."""

import numpy as np
import pytest
import scipy.linalg

from lossbook.firstlayer import tract_preactivation_change, tract_weight_grad


def _problem(b, n, m, seed, scale=1.0):
    rng = np.random.default_rng(seed)
    return scale * rng.standard_normal((b, n)), rng.standard_normal((b, m)) / b


def _ridge_lstsq_step(X, gz, lam, lr):
    """Weights change D solving min (1/b)||X (W + D)^T - (Z - lr b gz)||^2 + lam ||D||^2, by a generic solver.

    The ridge problem is an ordinary least-squares problem for the augmented system
    [X / sqrt(b); sqrt(lam) I] D^T = [-lr sqrt(b) gz; 0]; scipy's SVD-based lstsq solves it without
    using any of the normal-equation algebra that the library's closed form relies on.
    """
    b, n = X.shape
    A = np.vstack([X / np.sqrt(b), np.sqrt(lam) * np.eye(n)])
    B = np.vstack([-lr * np.sqrt(b) * gz, np.zeros((n, gz.shape[1]))])
    return scipy.linalg.lstsq(A, B)[0].T


@pytest.mark.claim("tract_ridge_realisation")
@pytest.mark.parametrize("b,n", [(5, 12), (40, 9), (16, 16), (1, 3)])
@pytest.mark.parametrize("lam", [1e-3, 0.1, 10.0])
def test_closed_form_is_the_ridge_solution(b, n, lam):
    X, gz = _problem(b, n, 4, seed=b * 100 + n)
    D = _ridge_lstsq_step(X, gz, lam, lr=0.7)
    G = tract_weight_grad(X, gz, lam)
    # both are backward-stable solves of a system with condition number <= (s_max^2 + lam b)/(lam b):
    # at lam = 1e-3 and these sizes that is < 1e5, so 1e-9 relative leaves a wide margin over eps * cond
    np.testing.assert_allclose(-0.7 * G, D, rtol=1e-9, atol=1e-9 * np.abs(D).max())


@pytest.mark.claim("tract_two_forms")
@pytest.mark.parametrize("b,n", [(3, 30), (30, 3), (20, 20)])
def test_primal_and_dual_forms_agree(b, n):
    X, gz = _problem(b, n, 5, seed=7 + b)
    P = tract_weight_grad(X, gz, 0.1, form="primal")
    Dd = tract_weight_grad(X, gz, 0.1, form="dual")
    np.testing.assert_allclose(P, Dd, rtol=1e-10, atol=1e-12 * np.abs(P).max())


def test_rank_deficient_inputs_stay_finite():
    X = np.zeros((6, 4))
    X[:, 0] = 1.0  # rank one; the Gram is singular, lam keeps the solve regular
    gz = np.ones((6, 2)) / 6
    G = tract_weight_grad(X, gz, 1e-8)
    assert np.all(np.isfinite(G))
    np.testing.assert_allclose(G[:, 1:], 0.0)
    # the only direction: G = gz^T X / (1 + lam) along column 0
    np.testing.assert_allclose(G[:, 0], gz.sum(0) / (1.0 + 1e-8), rtol=1e-12)


@pytest.mark.claim("tract_scale_equivalence")
@pytest.mark.parametrize("c", [1e-3, 0.2, 5.0, 300.0])
def test_input_scale_is_a_change_of_lambda(c):
    X, gz = _problem(12, 7, 3, seed=11)
    lhs = tract_preactivation_change(c * X, gz, 0.1)
    rhs = tract_preactivation_change(X, gz, 0.1 / c**2)
    # the (numerically) zero eigenvalues of the rank-7 Gram carry rounding of size eps ||X X^T / b||; divided by
    # the ridge they perturb the result by eps * c^2 ||X||^2 / (b lam) ~ 1e-9 at c = 300, hence 1e-7
    np.testing.assert_allclose(lhs, rhs, rtol=1e-7, atol=1e-10 * np.abs(rhs).max())
    # and ordinary GD's pre-activation change (-X X^T gz) scales by c^2: a change of lambda cannot mimic it
    gd = -(c * X) @ (c * X).T @ gz
    np.testing.assert_allclose(gd, c**2 * -(X @ X.T @ gz), rtol=1e-12)


@pytest.mark.claim("tract_limits")
def test_large_lambda_recovers_the_gradient_at_rate_one_over_lambda():
    X, gz = _problem(10, 6, 3, seed=3)
    plain = gz.T @ X
    errs = []
    for lam in (1e2, 1e3, 1e4):
        errs.append(np.linalg.norm(lam * tract_weight_grad(X, gz, lam) - plain) / np.linalg.norm(plain))
    # lam G = plain (I + S/lam)^{-1}: the error is ||S|| / lam to first order, so x10 in lam gives /10
    assert errs[0] < 0.05
    np.testing.assert_allclose(errs[0] / errs[1], 10.0, rtol=0.05)
    np.testing.assert_allclose(errs[1] / errs[2], 10.0, rtol=0.01)


@pytest.mark.claim("tract_limits")
def test_small_lambda_is_a_gradient_step_on_the_preactivations():
    # b < n, X of full row rank: the step on Z tends to -lr * b * grad_z, every sample moved by its own gradient
    X, gz = _problem(6, 15, 2, seed=5)
    b = X.shape[0]
    sigma_min = np.linalg.svd(X @ X.T / b, compute_uv=False).min()
    for lam in (1e-2, 1e-4, 1e-6):
        dz = tract_preactivation_change(X, gz, lam, lr=1.0)
        err = np.linalg.norm(dz + b * gz) / np.linalg.norm(b * gz)
        assert err <= lam / (sigma_min + lam) * 1.0001  # the bound of the limit theorem
    # b > n: the limit is the projection of -b grad_z on the column space of X (a proper subspace)
    X, gz = _problem(20, 4, 2, seed=6)
    P = X @ np.linalg.pinv(X)
    lam = 1e-6
    dz = tract_preactivation_change(X, gz, lam)
    evals = np.linalg.eigvalsh(X @ X.T / 20)
    # each kept direction is shrunk by e / (e + lam): the relative error is at most lam / min(nonzero e); the
    # 16 zero eigenvalues come out of eigh as rounding of size eps ||A|| and leak e / lam each
    bound = lam / evals[-4:].min() + 16 * np.finfo(float).eps * evals[-1] / lam
    assert np.linalg.norm(dz + 20 * P @ gz) <= 1.01 * bound * np.linalg.norm(20 * P @ gz) + 1e-12
    assert np.linalg.norm(dz + 20 * gz) > 0.1 * np.linalg.norm(20 * gz)  # not the full gradient


@pytest.mark.claim("tract_per_image_contrast")
def test_per_image_contrast_leaves_the_small_lambda_step_unchanged_when_b_le_n():
    X, gz = _problem(8, 20, 3, seed=9)
    C = np.diag(np.random.default_rng(1).uniform(0.2, 3.0, 8))
    a = tract_preactivation_change(C @ X, gz, 1e-8)
    bb = tract_preactivation_change(X, gz, 1e-8)
    np.testing.assert_allclose(a, bb, rtol=1e-5, atol=1e-7)
    # ordinary GD: sample i's own term scales with c_i^2 (the diagonal of (CX)(CX)^T), so the two differ
    gd_c = -(C @ X) @ (C @ X).T @ gz
    gd = -X @ X.T @ gz
    assert np.linalg.norm(gd_c - gd) > 0.5 * np.linalg.norm(gd)


def test_bad_inputs_raise_naming_the_argument():
    X, gz = _problem(4, 3, 2, seed=0)
    with pytest.raises(ValueError, match="lam"):
        tract_weight_grad(X, gz, 0.0)
    with pytest.raises(ValueError, match="rows"):
        tract_weight_grad(X, gz[:3], 0.1)
    with pytest.raises(ValueError, match="X"):
        tract_weight_grad(np.full((4, 3), np.nan), gz)
    with pytest.raises(ValueError, match="form"):
        tract_weight_grad(X, gz, form="svd")
    with pytest.raises(TypeError, match="grad_z"):
        tract_weight_grad(X, gz.astype(complex))
    with pytest.raises(ValueError, match="MAX_ENTRY|magnitude"):
        tract_weight_grad(np.full((2, 2), 1e101), np.ones((2, 2)))


@pytest.mark.claim("tract_whitening")
def test_tract_is_gradient_descent_on_ridge_whitened_inputs():
    rng = np.random.default_rng(4)
    for b, n in [(40, 5), (6, 11)]:
        X = rng.standard_normal((b, n)) @ rng.standard_normal((n, n))
        gz = rng.standard_normal((b, 3)) / b
        w, V = np.linalg.eigh(X.T @ X / b + 0.1 * np.eye(n))
        Xw = X @ V @ np.diag(w**-0.5) @ V.T  # X (S + lam I)^{-1/2} by an independent eigendecomposition
        np.testing.assert_allclose(tract_preactivation_change(X, gz, 0.1, lr=0.7), -0.7 * Xw @ Xw.T @ gz,
                                   rtol=1e-9, atol=1e-12)
    Q = np.linalg.qr(rng.standard_normal((40, 5)))[0] * np.sqrt(40)  # white: Q^T Q / b = I
    g = rng.standard_normal((40, 3)) / 40
    np.testing.assert_allclose(tract_weight_grad(Q, g, 0.1), g.T @ Q / 1.1, rtol=1e-12, atol=1e-14)
