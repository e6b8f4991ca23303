"""Bidirectional objective: gradients, endpoints, hypergradient, optimiser, against independent computations."""

import numpy as np
import pytest
from sklearn.kernel_ridge import KernelRidge

from lossbook.design import (
    bidirectional_loss,
    gamma_hypergradient,
    kernel_ridge_predict,
    optimize_designs,
    sample_fourier_features,
)

FEATS = {"rbf": None, "features-dual": sample_fourier_features(3, 80, bandwidth=1.3, seed=4),
         "features-primal": sample_fourier_features(3, 25, bandwidth=1.3, seed=4)}


def _problem(seed=0, nl=40, nh=5):
    rng = np.random.default_rng(seed)
    Xl = rng.standard_normal((nl, 3))
    yl = np.cos(Xl[:, 0]) - 0.5 * Xl[:, 1] ** 2
    yl = (yl - yl.mean()) / yl.std()
    Xh = Xl[np.argsort(yl)[-nh:]] + 0.3 * rng.standard_normal((nh, 3))
    return Xh, Xl, yl


@pytest.mark.claim("bib_gradient")
@pytest.mark.parametrize("kernel", list(FEATS))
@pytest.mark.parametrize("gamma", [0.0, 0.3, 1.0])
def test_design_gradient_matches_finite_differences(kernel, gamma):
    Xh, Xl, yl = _problem()
    kw = dict(gamma=gamma, target=3.0, ridge=1e-2, bandwidth=1.3, features=FEATS[kernel])
    out = bidirectional_loss(Xh, Xl, yl, **kw)
    h = 1e-6
    fd = np.zeros_like(Xh)
    for i in range(Xh.shape[0]):
        for j in range(3):
            P, M = Xh.copy(), Xh.copy()
            P[i, j] += h
            M[i, j] -= h
            fd[i, j] = (bidirectional_loss(P, Xl, yl, **kw).value - bidirectional_loss(M, Xl, yl, **kw).value) / (2 * h)
    # central differences: truncation O(h^2), rounding ~ 1e-16 L / h; measured agreement ~1e-9 relative
    assert np.allclose(out.gradient, fd, rtol=1e-6, atol=1e-6 * np.max(np.abs(fd)))


@pytest.mark.claim("bib_endpoints")
@pytest.mark.parametrize("kernel", list(FEATS))
def test_gamma_one_is_forward_only(kernel):
    Xh, Xl, yl = _problem(1)
    t, beta = 4.0, 1e-3
    out = bidirectional_loss(Xh, Xl, yl, gamma=1.0, target=t, ridge=beta, bandwidth=1.3, features=FEATS[kernel])
    # forward only: gradient descent of the mean squared gap between the offline model's prediction and t
    p = kernel_ridge_predict(Xl, yl, Xh, ridge=beta, bandwidth=1.3, features=FEATS[kernel])
    assert out.value == out.forward
    assert np.isclose(out.forward, np.mean((p.mean - t) ** 2), rtol=1e-12)
    assert np.allclose(out.gradient, 2 / len(Xh) * (p.mean - t)[:, None] * p.gradient, rtol=1e-12, atol=0)


@pytest.mark.claim("bib_endpoints")
def test_gamma_zero_is_backward_only_and_matches_scikit_learn():
    Xh, Xl, yl = _problem(2)
    t, beta, s = 4.0, 1e-3, 1.3
    out = bidirectional_loss(Xh, Xl, yl, gamma=0.0, target=t, ridge=beta, bandwidth=s)
    # backward mapping: kernel ridge fitted on (designs, t) predicts the offline scores
    ref = KernelRidge(alpha=beta, kernel="rbf", gamma=1 / (2 * s**2)).fit(Xh, np.full(len(Xh), t)).predict(Xl)
    assert out.value == out.backward
    assert np.isclose(out.backward, np.mean((ref - yl) ** 2), rtol=1e-9)
    assert np.array_equal(out.gradient, out.backward_gradient)


def test_objective_is_the_gamma_mixture():
    Xh, Xl, yl = _problem(3)
    a = bidirectional_loss(Xh, Xl, yl, gamma=0.25, ridge=1e-3)
    assert np.isclose(a.value, 0.25 * a.forward + 0.75 * a.backward, rtol=1e-14)
    assert np.allclose(a.gradient, 0.25 * a.forward_gradient + 0.75 * a.backward_gradient, rtol=1e-14)


@pytest.mark.claim("bib_hypergrad")
@pytest.mark.parametrize("gamma", [0.2, 0.7])
def test_hypergradient_matches_finite_difference_in_gamma(gamma):
    Xh, Xl, yl = _problem(4)
    proxy = sample_fourier_features(3, 50, bandwidth=1.0, seed=9)
    out = bidirectional_loss(Xh, Xl, yl, gamma=gamma, target=3.0, ridge=1e-2, bandwidth=1.3)
    eta = 0.05

    def F(g):  # mean proxy score after one gradient step with mixing weight g
        look = Xh - eta * (g * out.forward_gradient + (1 - g) * out.backward_gradient)
        return kernel_ridge_predict(Xl, yl, look, ridge=1e-3, features=proxy).mean.mean()

    look = Xh - eta * out.gradient
    dF = kernel_ridge_predict(Xl, yl, look, ridge=1e-3, features=proxy).gradient / len(Xh)
    ours = gamma_hypergradient(dF, out.forward_gradient, out.backward_gradient, step_size=eta)
    h = 1e-5
    fd = (F(gamma + h) - F(gamma - h)) / (2 * h)
    assert np.isclose(ours, fd, rtol=1e-6, atol=1e-9)


def _adam(grad_fn, X, lr, steps):
    m = v = 0.0
    for k in range(1, steps + 1):
        g = grad_fn(X)
        m = 0.9 * m + 0.1 * g
        v = 0.999 * v + 0.001 * g * g
        X = X - lr * (m / (1 - 0.9**k)) / (np.sqrt(v / (1 - 0.999**k)) + 1e-8)
    return X


@pytest.mark.claim("bib_endpoints")
def test_optimiser_with_gamma_one_is_forward_only_adam():
    Xh, Xl, yl = _problem(5)
    feats = FEATS["features-dual"]
    run = optimize_designs(Xh, Xl, yl, gamma=1.0, steps=30, learning_rate=0.05, target=3.0, ridge=1e-3,
                           features=feats)

    def grad(X):
        p = kernel_ridge_predict(Xl, yl, X, ridge=1e-3, features=feats)
        return 2 / len(X) * (p.mean - 3.0)[:, None] * p.gradient

    ref = _adam(grad, Xh, 0.05, 30)
    assert np.allclose(run.designs, ref, rtol=1e-8, atol=1e-10)
    assert np.all(run.gamma == 1.0)


def test_adaptive_gamma_stays_in_unit_interval_and_moves():
    Xh, Xl, yl = _problem(6)
    run = optimize_designs(Xh, Xl, yl, gamma="adaptive", steps=40, ridge=1e-3,
                           features=FEATS["features-dual"], proxy_features=FEATS["features-primal"])
    assert np.all((run.gamma >= 0) & (run.gamma <= 1))
    assert np.ptp(run.gamma) > 0
    assert np.all(np.isfinite(run.forward_loss)) and np.all(np.isfinite(run.backward_loss))


def test_forward_loss_decreases_under_forward_only_descent():
    Xh, Xl, yl = _problem(7)
    run = optimize_designs(Xh, Xl, yl, gamma=1.0, steps=60, learning_rate=0.02, target=2.0, ridge=1e-3)
    assert run.forward_loss[-1] < run.forward_loss[0]


@pytest.mark.parametrize("kwargs, name", [
    (dict(gamma=1.5), "gamma"),
    (dict(gamma="fast"), "gamma"),
    (dict(steps=0), "steps"),
    (dict(learning_rate=0.0), "learning_rate"),
    (dict(target=float("nan")), "target"),
    (dict(proxy_ridge=-1.0), "proxy_ridge"),
])
def test_optimiser_bad_arguments_are_named(kwargs, name):
    Xh, Xl, yl = _problem()
    with pytest.raises((ValueError, TypeError), match=name):
        optimize_designs(Xh, Xl, yl, **kwargs)


def test_shape_clashes_are_named():
    Xh, Xl, yl = _problem()
    with pytest.raises(ValueError, match="designs"):
        bidirectional_loss(Xh[:, :2], Xl, yl)
    with pytest.raises(ValueError, match="y_offline"):
        bidirectional_loss(Xh, Xl, yl[:-1])
    with pytest.raises(ValueError, match="backward_gradient"):
        gamma_hypergradient(np.zeros((2, 2)), np.zeros((2, 2)), np.zeros((3, 2)), step_size=1.0)
