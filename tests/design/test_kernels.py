"""Kernel ridge closed forms against explicit finite-feature ridge solves (scikit-learn)."""

import numpy as np
import pytest
from sklearn.kernel_ridge import KernelRidge
from sklearn.linear_model import Ridge

from lossbook.design import fourier_feature_map, kernel_ridge_predict, rbf_kernel, sample_fourier_features


def _data(n, d=3, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    y = np.sin(2 * X[:, 0]) + X[:, 1] ** 2 - X[:, 2]
    Q = rng.standard_normal((7, d)) * 1.5
    return X, y, Q


@pytest.mark.claim("bib_pushthrough")
@pytest.mark.parametrize("n", [30, 120])  # n < D uses the dual solve, n > D the primal one
def test_feature_kernel_closed_form_equals_explicit_ridge_solve(n):
    X, y, Q = _data(n)
    feats = sample_fourier_features(3, 60, bandwidth=1.5, seed=3)
    beta = 1e-3
    ours = kernel_ridge_predict(X, y, Q, ridge=beta, features=feats).mean
    # independent: scikit-learn's primal ridge on the explicit feature matrix, no intercept
    P, PQ = fourier_feature_map(X, feats), fourier_feature_map(Q, feats)
    ref = Ridge(alpha=beta, fit_intercept=False, solver="cholesky").fit(P, y).predict(PQ)
    # both are exact solves of the same system; condition number <= (||P||^2 + beta) / beta ~ 1e5,
    # so agreement to 1e-9 relative leaves a wide margin over rounding (1e5 * 1e-16)
    assert np.allclose(ours, ref, rtol=1e-9, atol=1e-9 * np.max(np.abs(ref)))


def test_rbf_closed_form_equals_scikit_learn_kernel_ridge():
    X, y, Q = _data(50)
    s, beta = 1.3, 1e-4
    ours = kernel_ridge_predict(X, y, Q, ridge=beta, bandwidth=s).mean
    ref = KernelRidge(alpha=beta, kernel="rbf", gamma=1 / (2 * s**2)).fit(X, y).predict(Q)
    assert np.allclose(ours, ref, rtol=1e-8, atol=1e-8)
    K = rbf_kernel(X, Q, bandwidth=s)
    assert np.allclose(K, np.exp(-((X[:, None] - Q[None]) ** 2).sum(-1) / (2 * s**2)), rtol=1e-14)


@pytest.mark.claim("bib_rff_limit")
def test_rbf_closed_form_is_the_wide_random_feature_limit():
    """The RBF prediction is the infinite-width limit: error within its Monte Carlo bound, rate D^-1/2."""
    X, y, Q = _data(40)
    s, beta = 1.5, 0.1
    exact = kernel_ridge_predict(X, y, Q, ridge=beta, bandwidth=s).mean
    Ds = np.array([256, 1024, 4096, 16384])
    errs = np.zeros((5, Ds.size))
    XQ = np.vstack([X, Q])
    Kex = rbf_kernel(XQ, XQ, bandwidth=s)
    for r in range(5):
        for j, D in enumerate(Ds):
            feats = sample_fourier_features(3, int(D), bandwidth=s, seed=100 * r + j)
            P = fourier_feature_map(XQ, feats)
            ridge = Ridge(alpha=beta, fit_intercept=False, solver="cholesky").fit(P[:40], y)
            approx = ridge.predict(P[40:])
            errs[r, j] = np.max(np.abs(approx - exact))
            # a-posteriori perturbation bound with the realised kernel error E = P P^T - K:
            # f_D - f = E_q alpha_D - K_q (K + beta)^{-1} E alpha_D, alpha_D = (K_D + beta)^{-1} y
            E = P @ P.T - Kex
            KD = P[:40] @ P[:40].T + beta * np.eye(40)
            aD = np.linalg.solve(KD, y)
            Kq = Kex[40:, :40]
            bound = (np.linalg.norm(E[40:, :40], axis=1) * np.linalg.norm(aD)
                     + np.linalg.norm(Kq, axis=1) / beta * np.linalg.norm(E[:40, :40], 2) * np.linalg.norm(aD))
            assert np.all(np.abs(approx - exact) <= bound * (1 + 1e-9))
    # each kernel entry is a mean of D bounded terms, so its error is O(D^-1/2); the prediction inherits
    # the rate. Fitted slope of log(mean error) against log D, over 5 independent draws per D:
    slope = np.polyfit(np.log(Ds), np.log(errs.mean(0)), 1)[0]
    assert -0.75 < slope < -0.3
    # a prior tolerance at the largest D: the entry error has standard deviation <= sqrt(2/D) (each term
    # cos(w.(x-z)) + cos(w.(x+z)+2b) lies in [-2, 2]); the prediction error is at most ~ (1 + ||K_q||/beta)
    # ||alpha|| n times that; we allow 5 standard deviations
    a = np.linalg.solve(Kex[:40, :40] + beta * np.eye(40), y)
    tol = 5 * np.sqrt(2 / Ds[-1]) * 40 * np.linalg.norm(a) * (1 + np.sqrt(40) / beta)
    assert errs[:, -1].max() < tol


def test_prediction_gradient_matches_finite_differences():
    X, y, Q = _data(40)
    for feats in (None, sample_fourier_features(3, 20, seed=1), sample_fourier_features(3, 80, seed=1)):
        p = kernel_ridge_predict(X, y, Q, ridge=1e-2, bandwidth=1.2, features=feats)
        h = 1e-6
        fd = np.zeros_like(Q)
        for j in range(3):
            e = np.zeros(3)
            e[j] = h
            fd[:, j] = (kernel_ridge_predict(X, y, Q + e, ridge=1e-2, bandwidth=1.2, features=feats).mean
                        - kernel_ridge_predict(X, y, Q - e, ridge=1e-2, bandwidth=1.2, features=feats).mean) / (2 * h)
        # central differences: truncation O(h^2) ~ 1e-12, rounding ~ 1e-16 |f| / h ~ 1e-10 |f|
        assert np.allclose(p.gradient, fd, rtol=1e-6, atol=1e-7 * np.max(np.abs(fd)))


def test_feature_kernel_converges_to_rbf_kernel_entrywise():
    rng = np.random.default_rng(5)
    A = rng.standard_normal((6, 4))
    feats = sample_fourier_features(4, 200_000, bandwidth=0.8, seed=2)
    P = fourier_feature_map(A, feats)
    K = rbf_kernel(A, A, bandwidth=0.8)
    # entry error standard deviation <= sqrt(2 / D) = 3.2e-3; allow 5 of them
    assert np.max(np.abs(P @ P.T - K)) < 5 * np.sqrt(2 / 200_000)


@pytest.mark.parametrize("kwargs, name", [
    (dict(ridge=0.0), "ridge"),
    (dict(bandwidth=-1.0), "bandwidth"),
    (dict(features="rbf"), "features"),
])
def test_bad_arguments_are_named(kwargs, name):
    X, y, Q = _data(10)
    with pytest.raises((ValueError, TypeError), match=name):
        kernel_ridge_predict(X, y, Q, **kwargs)


def test_shape_clashes_are_named():
    X, y, Q = _data(10)
    with pytest.raises(ValueError, match="y_train"):
        kernel_ridge_predict(X, y[:-1], Q)
    with pytest.raises(ValueError, match="X_query"):
        kernel_ridge_predict(X, y, Q[:, :2])
    with pytest.raises(ValueError, match="features"):
        kernel_ridge_predict(X, y, Q, features=sample_fourier_features(2, 5, seed=0))
