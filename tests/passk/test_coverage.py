"""pass@N coverage and loss: cross-entropy limit, gradient against autograd and finite differences,
extreme inputs against mpmath, the coverage-optimal distribution against a generic solver."""

from __future__ import annotations

import mpmath
import numpy as np
import pytest
import torch
from scipy.optimize import minimize

from lossbook.passk import (
    coverage_optimal_probs,
    expected_coverage,
    log1mexp,
    pass_at_n,
    pass_at_n_grad,
    pass_at_n_loss,
    pass_at_n_loss_torch,
    pass_at_n_weight,
)

EPS = np.finfo(float).eps


def random_logits(rng, n=40, K=6, scale=3.0):
    return rng.normal(scale=scale, size=(n, K)), rng.integers(0, K, size=n)


@pytest.mark.claim("pak_n1_is_ce")
def test_n_equal_one_is_cross_entropy():
    rng = np.random.default_rng(0)
    z, y = random_logits(rng)
    ce = torch.nn.functional.cross_entropy(torch.tensor(z), torch.tensor(y), reduction="none").numpy()
    # both evaluate logsumexp(z) - z_y, a difference of numbers of size |z|: the absolute error of
    # each is a few eps * max|z|
    np.testing.assert_allclose(pass_at_n_loss(z, y, 1), ce, rtol=0, atol=16 * EPS * np.abs(z).max())
    np.testing.assert_allclose(pass_at_n_grad(z, y, 1),
                               torch.softmax(torch.tensor(z), 1).numpy() - np.eye(z.shape[1])[y], atol=1e-15)


def naive_torch_loss(z, y, N):
    p = torch.softmax(z, dim=1)[torch.arange(len(y)), y]
    return -torch.log(1 - (1 - p) ** N)


@pytest.mark.claim("pak_gradient")
@pytest.mark.parametrize("N", [1, 2, 5, 32, 200])
def test_gradient_is_weighted_cross_entropy_gradient(N):
    # Theorem pak-thm-gradient. Oracle 1: autograd of the textbook formula -log(1-(1-p)^N) in float64
    # (accurate at these moderate logits). Oracle 2: F computed as N / sum_{i<N} (1-p)^(-i).
    rng = np.random.default_rng(N)
    z, y = random_logits(rng, scale=1.5)
    zt = torch.tensor(z, requires_grad=True)
    naive_torch_loss(zt, torch.tensor(y), N).sum().backward()
    g = pass_at_n_grad(z, y, N)
    np.testing.assert_allclose(g, zt.grad.numpy(), rtol=1e-9, atol=1e-13)
    p = torch.softmax(torch.tensor(z), 1).numpy()
    py = p[np.arange(len(y)), y]
    F = N / np.array([np.sum((1 - q) ** -np.arange(N, dtype=float)) for q in py])
    np.testing.assert_allclose(pass_at_n_weight(py, N), F, rtol=1e-11)
    np.testing.assert_allclose(g, F[:, None] * (p - np.eye(z.shape[1])[y]), rtol=1e-9, atol=1e-15)


@pytest.mark.claim("pak_gradient")
def test_gradient_matches_central_differences():
    # central differences with step h have error O(h^2 f''') + O(eps f / h): h = 1e-5 gives ~1e-10
    rng = np.random.default_rng(1)
    z, y = random_logits(rng, n=5, K=4, scale=2.0)
    g = pass_at_n_grad(z, y, 16)
    h = 1e-5
    for i in range(z.shape[0]):
        for j in range(z.shape[1]):
            zp, zm = z.copy(), z.copy()
            zp[i, j] += h
            zm[i, j] -= h
            fd = (pass_at_n_loss(zp, y, 16)[i] - pass_at_n_loss(zm, y, 16)[i]) / (2 * h)
            assert fd == pytest.approx(g[i, j], abs=1e-8)


def test_torch_loss_agrees_with_numpy_and_its_autograd_with_the_closed_form():
    rng = np.random.default_rng(2)
    z, y = random_logits(rng, scale=20.0)  # p from about 1e-40 to 1 - 1e-40: every branch
    for N in (1, 3, 1000):
        zt = torch.tensor(z, requires_grad=True)
        lt = pass_at_n_loss_torch(zt, torch.tensor(y), N)
        np.testing.assert_allclose(lt.detach().numpy(), pass_at_n_loss(z, y, N), rtol=1e-12, atol=1e-300)
        lt.sum().backward()
        assert torch.isfinite(zt.grad).all()
        np.testing.assert_allclose(zt.grad.numpy(), pass_at_n_grad(z, y, N), rtol=1e-9, atol=1e-15)


@pytest.mark.claim("pak_extreme_inputs")
def test_loss_weight_and_coverage_are_accurate_at_extreme_probabilities():
    # p from 1e-30 to 1 - 1e-12 with N = 10^4, and beyond (logits +-1e4): against mpmath at 60 digits.
    # Two classes with logits (t, 0): p = sigmoid(t) exactly for the float t; the loss's condition
    # number is modest, and its evaluation chains a few operations each with error ~eps in the
    # logs, so 1e-12 relative is a safe bound (observed: below 1e-14).
    N = 10_000
    ts = np.concatenate([np.linspace(-69.0, 27.6, 60), [-745.0, -1e4, 30.0, 40.0, 1e4]])
    z = np.stack([ts, np.zeros_like(ts)], axis=1)
    y = np.zeros(ts.size, dtype=int)
    loss = pass_at_n_loss(z, y, N)
    grad = pass_at_n_grad(z, y, N)
    assert np.all(np.isfinite(loss)) and np.all(np.isfinite(grad))
    with mpmath.workdps(60):
        for t, got, g in zip(ts, loss, grad[:, 0], strict=True):
            p = 1 / (1 + mpmath.exp(-mpmath.mpf(float(t))))
            q = 1 / (1 + mpmath.exp(mpmath.mpf(float(t))))  # 1 - p without cancellation
            lq = mpmath.log1p(-p) if p < 0.5 else mpmath.log(q)  # log(1 - p), accurate either way
            x = N * lq
            exact = -(mpmath.log1p(-mpmath.exp(x)) if x < -1 else mpmath.log(-mpmath.expm1(x)))
            assert abs(got - float(exact)) <= 1e-12 * float(exact) + 1e-300
            F = N * p * mpmath.exp((N - 1) * lq) / -mpmath.expm1(N * lq)
            g_exact = -F * q
            assert abs(g - float(g_exact)) <= 1e-11 * abs(float(g_exact)) + 1e-300
    ps = np.logspace(-30, -1, 40)
    cov = pass_at_n(ps, N)
    with mpmath.workdps(60):
        for p, c in zip(ps, cov, strict=True):
            assert abs(c - float(1 - (1 - mpmath.mpf(float(p))) ** N)) <= 1e-13 * c


@pytest.mark.claim("pak_weight_shape")
def test_weight_is_one_at_zero_zero_at_one_and_decreasing():
    p = np.linspace(0.0, 1.0, 20001)
    assert np.all(pass_at_n_weight(p, 1) == 1.0)
    for N in (2, 3, 10, 100, 10_000):
        F = pass_at_n_weight(p, N)
        assert F[0] == 1.0 and F[-1] == 0.0
        assert pass_at_n_weight(1e-12, N) == pytest.approx(1.0, abs=N * 1e-12)  # F = 1 - (N-1)p/2 + ...
        assert np.all(np.diff(F) <= 0.0)
        assert np.all((F >= 0) & (F <= 1))
        # F <= N (1-p)^(N-1): the push is exponentially small once p >> 1/N. Near p = 1 this is an
        # equality, and exp of (N-1) log(1-p) <= 745 in size carries a relative error <= 745 eps
        bound = N * (1 - p) ** (N - 1)
        live = bound > 1e-290
        assert np.all(F[live] <= bound[live] * (1 + 1e-12))


def test_log1mexp_matches_mpmath():
    xs = -np.logspace(-300, 3, 200)
    with mpmath.workdps(50):
        exact = np.array([float(mpmath.log(-mpmath.expm1(mpmath.mpf(float(x))))) for x in xs])
    np.testing.assert_allclose(log1mexp(xs), exact, rtol=4 * EPS)
    assert log1mexp(0.0) == -np.inf and log1mexp(-np.inf) == 0.0


def generic_optimum(q, N, x0):
    cons = ({"type": "eq", "fun": lambda p: p.sum() - 1.0, "jac": lambda p: np.ones_like(p)},)
    res = minimize(lambda p: -np.sum(q * (1 - (1 - p) ** N)), x0, jac=lambda p: -N * q * (1 - p) ** (N - 1),
                   bounds=[(0.0, 1.0)] * q.size, constraints=cons, method="SLSQP",
                   options={"ftol": 1e-15, "maxiter": 1000})
    return res.x


@pytest.mark.claim("pak_optimum")
def test_coverage_optimum_matches_generic_solver_and_kkt():
    rng = np.random.default_rng(3)
    for trial in range(30):
        K = int(rng.integers(2, 9))
        q = rng.dirichlet(np.full(K, [0.3, 1.0, 4.0][trial % 3]))
        for N in (2, 4, 32):
            p = coverage_optimal_probs(q, N)
            assert p.sum() == pytest.approx(1.0, abs=1e-12) and np.all(p >= 0)
            # KKT: N q_j (1-p_j)^(N-1) equals one multiplier on the support and is <= it off it
            grad = N * q * (1 - p) ** (N - 1)
            lam = grad[p > 0].max()
            np.testing.assert_allclose(grad[p > 0], lam, rtol=1e-9)
            assert np.all(grad[p == 0] <= lam * (1 + 1e-12))
            best = expected_coverage(p, q, N)
            for x0 in (q, np.full(K, 1.0 / K)):
                other = generic_optimum(q, N, x0)
                other = np.clip(other, 0, 1) / np.clip(other, 0, 1).sum()
                # SLSQP stops at ~1e-10 of the optimum; it never beats the closed form by more
                assert expected_coverage(other, q, N) <= best + 1e-10


def test_coverage_optimum_at_the_boundary_of_its_hypotheses():
    # one possible answer (outside the theorem): all mass on it; N = 1: argmax; tiny second answer
    assert np.array_equal(coverage_optimal_probs([0.0, 1.0, 0.0], 5), [0.0, 1.0, 0.0])
    assert np.array_equal(coverage_optimal_probs([0.2, 0.5, 0.3], 1), [0.0, 1.0, 0.0])
    # two answers: equal marginal gains give (1-p_1)/(1-p_2) = (q_2/q_1)^(1/(N-1)), i.e. p_2 = r/(1+r),
    # even for a very unlikely second answer
    for q2, N in ((1e-12, 10), (0.3, 2), (0.01, 1000)):
        r = (q2 / (1 - q2)) ** (1 / (N - 1))
        assert coverage_optimal_probs([1 - q2, q2], N)[1] == pytest.approx(r / (1 + r), rel=1e-10)
    p = coverage_optimal_probs([0.5, 0.5 - 1e-9, 1e-9], 10**6)
    assert p.sum() == pytest.approx(1.0, abs=1e-12) and np.all(p > 0)  # huge N spreads to every answer


@pytest.mark.claim("pak_optimum_entropy")
def test_optimum_entropy_grows_with_N_on_random_instances():
    # evidence, not proof (the chapter states it as a conjecture): 500 random q, N from 1 to 4096
    rng = np.random.default_rng(4)
    Ns = (1, 2, 3, 4, 8, 16, 64, 256, 4096)
    for trial in range(500):
        K = int(rng.integers(2, 12))
        q = rng.dirichlet(np.full(K, [0.2, 1.0, 5.0][trial % 3]))
        H = []
        for N in Ns:
            p = coverage_optimal_probs(q, N)
            p = p[p > 0]
            H.append(-np.sum(p * np.log(p)))
        assert np.all(np.diff(H) >= -1e-12)


@pytest.mark.claim("pak_confidence_cap")
def test_confident_model_has_coverage_capped():
    # Theorem pak-thm-cap on random instances; for K = 2 at p = (1 - eps, eps) the gap to the bound
    # is exactly q_a eps^N (the chance that all N samples miss the confident answer), so it is tight
    rng = np.random.default_rng(5)
    for _ in range(2000):
        K = int(rng.integers(2, 10))
        q = rng.dirichlet(np.ones(K))
        a = int(rng.integers(K))
        eps = 10 ** rng.uniform(-6, -0.5)
        rest = rng.dirichlet(np.ones(K - 1)) * eps * rng.uniform(0, 1)
        p = np.insert(rest, a, 1.0 - rest.sum())
        N = int(rng.integers(1, 2000))
        bound = q[a] + (1 - q[a]) * -np.expm1(N * np.log1p(-eps))
        assert expected_coverage(p, q, N) <= bound + 1e-12
    # the ends of eps in [0, 1]: a one-hot model scores exactly q_a; eps = 1 gives the trivial bound 1
    q = rng.dirichlet(np.ones(5))
    assert expected_coverage(np.eye(5)[2], q, 50) == pytest.approx(q[2], rel=1e-15)
    assert q[2] + (1 - q[2]) * float(pass_at_n(1.0, 50)) == pytest.approx(1.0)
    q = np.array([0.3, 0.7])
    for eps in (1e-4, 0.1):
        for N in (1, 7, 100):
            bound = q[0] + q[1] * -np.expm1(N * np.log1p(-eps))
            got = expected_coverage(np.array([1 - eps, eps]), q, N)
            assert got == pytest.approx(bound - q[0] * eps**N, rel=1e-12)


@pytest.mark.parametrize("call, exc, word", [
    (lambda: pass_at_n_loss([[0.0, 1.0]], [0], 0), ValueError, "N"),
    (lambda: pass_at_n_loss([[0.0, 1.0]], [0], 2.0), TypeError, "N"),
    (lambda: pass_at_n_loss([[0.0, np.nan]], [0], 2), ValueError, "logits"),
    (lambda: pass_at_n_loss([[0.0], [1.0]], [0, 0], 2), ValueError, "logits"),
    (lambda: pass_at_n_loss([[0.0, 1.0]], [2], 2), ValueError, "labels"),
    (lambda: pass_at_n_loss([[0.0, 1.0]], [0, 1], 2), ValueError, "labels"),
    (lambda: pass_at_n_loss([[0.0, 1.0]], [0.5], 2), TypeError, "labels"),
    (lambda: pass_at_n_grad([0.0, 1.0], [0], 2), ValueError, "logits"),
    (lambda: pass_at_n([0.5, 1.5], 3), ValueError, "p"),
    (lambda: pass_at_n_weight([-0.1], 3), ValueError, "p"),
    (lambda: log1mexp([0.1]), ValueError, "x"),
    (lambda: log1mexp([np.nan]), ValueError, "x"),
    (lambda: expected_coverage([0.5, 0.5], [0.2, 0.7], 3), ValueError, "q"),
    (lambda: expected_coverage([0.5, 0.5], [0.2, 0.3, 0.5], 3), ValueError, "shape"),
    (lambda: coverage_optimal_probs([[0.5, 0.5]], 3), ValueError, "q"),
    (lambda: coverage_optimal_probs([0.5, 0.5], 0), ValueError, "N"),
    (lambda: pass_at_n_loss_torch(np.zeros((1, 2)), torch.tensor([0]), 2), TypeError, "logits"),
    (lambda: pass_at_n_loss_torch(torch.zeros(1, 2), [0], 2), TypeError, "labels"),
    (lambda: pass_at_n_loss_torch(torch.zeros(1, 2), torch.tensor([3]), 2), ValueError, "labels"),
    (lambda: pass_at_n_loss_torch(torch.full((1, 2), torch.inf), torch.tensor([0]), 2), ValueError, "logits"),
])
def test_bad_arguments_are_named(call, exc, word):
    with pytest.raises(exc, match=word):
        call()
