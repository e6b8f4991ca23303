"""LDR-KL against independent oracles: SLSQP over the simplex, limits, torch cross-entropy, autograd."""

import numpy as np
import pytest
from scipy.optimize import minimize

from lossbook.ldr import aldr_kl_lambda, cs_loss, ldr_kl_loss, ldr_kl_loss_torch, ldr_worst_case_weights


def _primal(a, lam):
    """Direct maximisation of <p, a> - lam KL(p || u) over the simplex by SLSQP (generic solver)."""
    k = a.size

    def neg(p):
        p = np.clip(p, 1e-300, None)
        return -(p @ a - lam * np.sum(p * np.log(k * p)))

    best = None
    for start in (np.full(k, 1.0 / k), np.exp(a / lam - np.max(a / lam)) / np.exp(a / lam - np.max(a / lam)).sum()):
        res = minimize(neg, start, method="SLSQP", bounds=[(0.0, 1.0)] * k,
                       constraints=[{"type": "eq", "fun": lambda p: p.sum() - 1.0}],
                       options={"ftol": 1e-14, "maxiter": 500})
        if best is None or res.fun < best.fun:
            best = res
    return -best.fun, best.x


@pytest.mark.claim("ldr_closed")
def test_closed_form_matches_simplex_maximisation():
    rng = np.random.default_rng(0)
    worst = 0.0
    for _ in range(60):
        k = int(rng.integers(2, 8))
        lam = float(np.exp(rng.uniform(np.log(0.2), np.log(5.0))))
        c = float(rng.uniform(0, 2))
        f = rng.normal(size=(1, k))
        y = [int(rng.integers(k))]
        a = f[0] - f[0, y[0]] + c
        a[y[0]] = 0.0
        val, p = _primal(a, lam)
        closed = ldr_kl_loss(f, y, lam, c)[0]
        # the closed form is the maximum: SLSQP can only fall short of it (up to its ftol 1e-14 scaled)
        assert val <= closed + 1e-9
        worst = max(worst, closed - val)
        assert np.max(np.abs(p - ldr_worst_case_weights(f, y, lam, c)[0])) < 1e-4
    # SLSQP stops at ftol=1e-14 relative; a concave problem of this size is solved to ~1e-9
    assert worst < 1e-8


@pytest.mark.claim("ldr_limits")
def test_limits_hinge_and_linear():
    rng = np.random.default_rng(1)
    f = rng.normal(size=(20, 6))
    y = rng.integers(6, size=20)
    c = 0.7
    a = f - f[np.arange(20), y][:, None] + c
    a[np.arange(20), y] = 0.0
    for lam in (1e-2, 1e-3):
        gap = cs_loss(f, y, c) - ldr_kl_loss(f, y, lam, c)
        # sandwich: 0 <= max a - psi <= lam log K
        assert np.all(gap >= -1e-12) and np.all(gap <= lam * np.log(6) + 1e-12)
    lam = 1e4
    err = np.abs(ldr_kl_loss(f, y, lam, c) - a.mean(axis=1))
    # Hoeffding: psi - mean a <= (range a)^2 / (8 lam)
    assert np.all(err <= (a.max(1) - a.min(1)) ** 2 / (8 * lam) + 1e-9)


@pytest.mark.claim("ldr_symmetric")
def test_symmetric_limit_sum_over_labels():
    f = np.random.default_rng(2).normal(size=(1, 5))
    c = 0.3
    s = sum(ldr_kl_loss(f, [y], 1e6, c)[0] for y in range(5))
    # sum_y mean(a^(y)) = c (K-1); at lam = 1e6 the Hoeffding gap is below 5 * range^2 / 8e6
    assert abs(s - c * 4) < 5 * 5.0**2 / 8e6


@pytest.mark.parametrize("lam", [1e-3, 1.0, 1e3])
def test_extreme_logits_stable(lam):
    f = np.array([[1e4, -1e4, 0.0], [-1e4, 1e4, 3.0]])
    v = ldr_kl_loss(f, [0, 0], lam, 0.1)
    assert np.all(np.isfinite(v))
    a_max = np.array([0.0, 2e4 + 0.1])
    a_mean = np.array([(0 + (-2e4 + 0.1) + (-1e4 + 0.1)) / 3, (0 + 2e4 + 0.1 + 1e4 + 3.1) / 3])
    assert np.all(v <= a_max + 1e-9) and np.all(v >= a_mean - 1e-6)
    assert np.all(v >= a_max - lam * np.log(3) - 1e-9)


@pytest.mark.claim("ldr_ce")
def test_torch_matches_cross_entropy_and_numpy():
    torch = pytest.importorskip("torch")
    g = torch.Generator().manual_seed(0)
    z = torch.randn(8, 5, generator=g, dtype=torch.float64)
    y = torch.randint(0, 5, (8,), generator=g)
    for lam in (0.1, 1.0, 10.0):
        ce = torch.nn.functional.cross_entropy(z / lam, y, reduction="none")
        ours = ldr_kl_loss_torch(z, y, lam, 0.0)
        assert torch.allclose(ours, lam * ce - lam * np.log(5), atol=1e-12)
        assert np.allclose(ours.numpy(), ldr_kl_loss(z.numpy(), y.numpy(), lam, 0.3 * 0), atol=1e-12)
        assert np.allclose(ldr_kl_loss_torch(z, y, lam, 0.3).numpy(), ldr_kl_loss(z.numpy(), y.numpy(), lam, 0.3),
                           atol=1e-12)


@pytest.mark.claim("ldr_grad")
def test_torch_gradcheck_and_gradient_is_weights():
    torch = pytest.importorskip("torch")
    z = torch.randn(4, 4, dtype=torch.float64, requires_grad=True)
    y = torch.tensor([0, 1, 2, 3])
    assert torch.autograd.gradcheck(lambda s: ldr_kl_loss_torch(s, y, 0.5, 0.2), (z,))
    # envelope theorem: d psi / d f_k = p*_k for k != y, and -(1 - p*_y) for k = y
    ldr_kl_loss_torch(z, y, 0.5, 0.2).sum().backward()
    p = ldr_worst_case_weights(z.detach().numpy(), y.numpy(), 0.5, 0.2)
    expect = p.copy()
    expect[np.arange(4), y.numpy()] -= 1.0
    assert np.allclose(z.grad.numpy(), expect, atol=1e-12)


@pytest.mark.claim("ldr_aldr")
def test_aldr_lambda_is_joint_maximiser():
    rng = np.random.default_rng(3)
    f = rng.normal(scale=2.0, size=(5, 10))
    y = rng.integers(10, size=5)
    lam0, alpha, c = 1.0, 2.0, 0.1
    lam = aldr_kl_lambda(f, y, lam0, alpha, c)
    assert np.all(lam >= lam0 * (1 - 1 / alpha) - 1e-12) and np.all(lam <= lam0)
    grid = np.linspace(lam0 * (1 - 1 / alpha), lam0, 4001)
    for i in range(5):
        obj = [ldr_kl_loss(f[i:i + 1], [y[i]], t, c)[0] - alpha * np.log(10) / (2 * lam0) * (t - lam0) ** 2
               for t in grid]
        # grid spacing 1.25e-4; the objective is smooth, so the argmax is within one spacing
        assert abs(grid[int(np.argmax(obj))] - lam[i]) < 2.5e-4


def test_validation_names_arguments():
    f = np.zeros((2, 3))
    with pytest.raises(ValueError, match="lam"):
        ldr_kl_loss(f, [0, 1], 0.0)
    with pytest.raises(ValueError, match="margin"):
        ldr_kl_loss(f, [0, 1], 1.0, margin=-1.0)
    with pytest.raises(ValueError, match="labels"):
        ldr_kl_loss(f, [0, 3], 1.0)
    with pytest.raises(TypeError, match="labels"):
        ldr_kl_loss(f, [0.5, 1], 1.0)
    with pytest.raises(ValueError, match="scores"):
        ldr_kl_loss([[np.nan, 0.0, 0.0]], [0], 1.0)
    with pytest.raises(ValueError, match="scores"):
        ldr_kl_loss(np.zeros((2, 1)), [0, 0], 1.0)
    with pytest.raises(ValueError, match="alpha"):
        aldr_kl_lambda(f, [0, 1], 1.0, 1.0)
    with pytest.raises(ValueError, match="overflows"):
        ldr_kl_loss([[1e300, -1e300]], [1], 1e-10)


@pytest.mark.claim("ldr_domain")
def test_normalised_domain_breaks_top3():
    """On {f >= 0, sum f = K} with lam = 10, c = 0.1 the conditional minimiser ties classes 3-5 (top-3 fails)."""
    q = np.array([0.35, 0.30, 0.20, 0.10, 0.05])
    k = q.size

    def risk(f, lam):
        return float(sum(q[y] * ldr_kl_loss(f[None, :], [y], lam, 0.1)[0] for y in range(k)))

    rng = np.random.default_rng(0)
    for lam, top3_ok in ((10.0, False), (1.0, True)):
        best = None
        for _ in range(10):
            res = minimize(risk, rng.dirichlet(np.ones(k)) * k, args=(lam,), method="SLSQP",
                           bounds=[(0.0, k)] * k, constraints=[{"type": "eq", "fun": lambda f: f.sum() - k}],
                           options={"ftol": 1e-13, "maxiter": 500})
            if best is None or res.fun < best.fun:
                best = res
        f = best.x
        # top-3 preserved iff the three largest scores strictly exceed the rest (gap above solver accuracy 1e-4)
        gap = np.sort(f)[-3] - np.sort(f)[-4]
        assert (gap > 1e-4 and set(np.argsort(-f)[:3]) == {0, 1, 2}) == top3_ok
        assert f[0] > f[1] + 1e-4  # top-1 preserved in both
