"""Naive Bayes and logistic regression against scikit-learn (the oracle of issue 14, item 2)."""

import numpy as np
import pytest
from scipy.optimize import check_grad
from sklearn.linear_model import LogisticRegression
from sklearn.naive_bayes import GaussianNB

from lossbook.generative import (
    GaussianNBFit,
    fit_gaussian_nb,
    fit_logistic_regression,
    linear_predict,
    nb_decision_function,
    nb_linear_form,
    sample_mixture,
)
from lossbook.generative.models import _lr_objective


def _data(seed, m=120, n=7, K=3):
    rng = np.random.default_rng(seed)
    y = np.concatenate([np.arange(K), rng.integers(0, K, m - K)])
    X = rng.normal(size=(m, n)) * rng.uniform(0.5, 3.0, n) + 1.5 * y[:, None] * rng.normal(size=n)
    return X, y


@pytest.mark.claim("dvg_sklearn_nb")
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_nb_parameters_match_scikit_learn_gaussian_nb(seed):
    X, y = _data(seed)
    fit = fit_gaussian_nb(X, y, 3)
    sk = GaussianNB(var_smoothing=0.0).fit(X, y)  # per-class variances, no smoothing
    # means and priors: same maximum-likelihood estimates (1e-12: a few roundings of a mean of 40 numbers)
    np.testing.assert_allclose(fit.means, sk.theta_, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(fit.priors, sk.class_prior_, rtol=1e-12)
    # the pooled variance is the prior-weighted average of scikit-learn's per-class variances
    pooled = sk.class_prior_ @ sk.var_ + 1e-9
    np.testing.assert_allclose(fit.variances, pooled, rtol=1e-10)


@pytest.mark.claim("dvg_sklearn_nb")
def test_nb_decision_matches_scikit_learn_joint_log_likelihood_with_pooled_variances():
    X, y = _data(3)
    fit = fit_gaussian_nb(X, y, 3)
    sk = GaussianNB(var_smoothing=0.0).fit(X, y)
    sk.var_ = np.tile(fit.variances, (3, 1))  # scikit-learn's own scoring code on the pooled model
    Xt, _ = _data(4, m=200)
    ours = nb_decision_function(fit, Xt)
    theirs = sk.predict_joint_log_proba(Xt)
    # equal up to a per-row constant (the normaliser); values are O(100), so 1e-9 absolute is ~1e-11 relative
    np.testing.assert_allclose(ours - ours[:, :1], theirs - theirs[:, :1], atol=1e-9)
    assert np.array_equal(ours.argmax(1), sk.predict(Xt))


@pytest.mark.claim("dvg_linear")
@pytest.mark.parametrize("seed", [5, 6])
def test_nb_linear_form_reproduces_the_log_posterior_differences(seed):
    X, y = _data(seed, K=4)
    fit = fit_gaussian_nb(X, y, 4)
    W, b = nb_linear_form(fit)
    Xt, _ = _data(seed + 10, m=300, K=4)
    d = nb_decision_function(fit, Xt)
    lin = Xt @ W.T + b
    scale = np.abs(d).max()
    # an algebraic identity: only rounding separates them (relative 1e-12 of the largest value)
    np.testing.assert_allclose(lin - lin[:, :1], d - d[:, :1], atol=1e-12 * scale)
    assert np.array_equal(linear_predict(W, b, Xt), d.argmax(1))


def test_nb_linear_form_fails_with_per_class_variances():
    # the identity needs the shared variance: with per-class variances the x_i^2 terms do not cancel
    X, y = _data(7)
    fit = fit_gaussian_nb(X, y, 3)
    assert isinstance(fit, GaussianNBFit)
    W, b = nb_linear_form(fit)
    sk = GaussianNB(var_smoothing=0.0).fit(X, y)  # quadratic (per-class variance) model
    Xt, _ = _data(8, m=500)
    q = sk.predict_joint_log_proba(Xt)
    lin = Xt @ W.T + b
    assert np.max(np.abs((q - q[:, :1]) - (lin - lin[:, :1]))) > 1e-3


@pytest.mark.claim("dvg_sklearn_lr")
@pytest.mark.parametrize(("seed", "C"), [(0, 1.0), (1, 0.1), (2, 10.0)])
def test_logistic_regression_matches_scikit_learn_lbfgs(seed, C):
    X, y = _data(seed, m=150, n=5)
    ours = fit_logistic_regression(X, y, 3, C=C, tol=1e-10, max_iter=5000)
    sk = LogisticRegression(C=C, solver="lbfgs", tol=1e-12, max_iter=10000).fit(X, y)
    K, n = 3, 5
    # same objective: ours is at least as low as scikit-learn's solution evaluated by our formula
    theta_sk = np.concatenate([sk.coef_.ravel(), sk.intercept_ - sk.intercept_.mean()])
    Y = np.eye(K)[y]
    f_sk = _lr_objective(theta_sk, X, Y, K, n, 1.0 / (C * len(y)))[0] * C * len(y)
    assert ours.objective <= f_sk * (1 + 1e-9)
    # strongly convex objective (penalty curvature 1/(C m) per scaled unit): parameters agree; 1e-4 is the
    # agreement both solvers reach at these tolerances (measured: below 1e-6)
    np.testing.assert_allclose(ours.W, sk.coef_, atol=1e-4 * max(1.0, np.abs(sk.coef_).max()))
    np.testing.assert_allclose(ours.b, sk.intercept_ - sk.intercept_.mean(),
                               atol=1e-4 * max(1.0, np.abs(sk.intercept_).max()))
    assert np.array_equal(linear_predict(ours.W, ours.b, X), sk.predict(X))


def test_logistic_objective_gradient_matches_finite_differences():
    X, y = _data(9, m=40, n=4)
    K, n = 3, 4
    Y = np.eye(K)[y]
    theta = np.random.default_rng(0).normal(size=K * (n + 1))
    err = check_grad(lambda t: _lr_objective(t, X, Y, K, n, 0.05)[0],
                     lambda t: _lr_objective(t, X, Y, K, n, 0.05)[1], theta)
    assert err < 1e-5  # central-difference error of check_grad's step 1.5e-8 on O(1) curvature


def test_logistic_regression_stays_finite_on_separable_data_and_large_features():
    X, y = sample_mixture(3, 2, 20, seed=1, signal=50.0)  # linearly separable
    fit = fit_logistic_regression(X * 1e6, y, 2, C=1e6)
    assert np.all(np.isfinite(fit.W)) and np.all(np.isfinite(fit.b))
    assert np.array_equal(linear_predict(fit.W, fit.b, X * 1e6), y)


@pytest.mark.parametrize(("call", "word"), [
    (lambda: fit_gaussian_nb(np.zeros((4, 2)), [0, 0, 0, 0], 2), "y"),
    (lambda: fit_gaussian_nb(np.zeros((4, 2)), [0, 1, 0], 2), "y"),
    (lambda: fit_gaussian_nb(np.zeros((4, 2)), [0, 1, 0, 1], 1), "n_classes"),
    (lambda: fit_gaussian_nb(np.full((2, 1), np.nan), [0, 1], 2), "X"),
    (lambda: fit_logistic_regression(np.zeros((2, 1)), [0, 1], 2, C=0.0), "C"),
    (lambda: fit_logistic_regression(np.full((2, 1), 1e9), [0, 1], 2), "X"),
    (lambda: linear_predict(np.zeros((2, 3)), np.zeros(2), np.zeros((1, 2))), "X"),
])
def test_bad_input_names_the_argument(call, word):
    with pytest.raises((ValueError, TypeError), match=word):
        call()
