"""UFM closed form, vicinity solver, central-path flow: checks against independent references
(a generic optimiser on the full (W, H) problem, autograd, SymPy, and the theorem's monotone quantities)."""

import numpy as np
import pytest
import sympy as sp
import torch
from scipy.optimize import minimize

from lossbook.collapse import (
    central_path_field,
    central_path_flow,
    class_indicator,
    collapse_metrics,
    optimal_classifier,
    solve_vicinity,
    ufm_minimizer,
    ufm_objective,
)

SQ2 = float(np.sqrt(2.0))


def _full_objective_and_grad(x, K, d, n, lam_w, lam_h):
    """The UFM objective written out independently of the library, with its gradient."""
    N = K * n
    W = x[: K * d].reshape(K, d)
    H = x[K * d:].reshape(d, N)
    Y = np.kron(np.eye(K), np.ones((1, n)))
    R = W @ H - Y
    f = 0.5 * np.sum(R**2) / N + 0.5 * lam_w * np.sum(W**2) / K + 0.5 * lam_h * np.sum(H**2) / N
    gW = R @ H.T / N + lam_w * W / K
    gH = W.T @ R / N + lam_h * H / N
    return f, np.concatenate([gW.ravel(), gH.ravel()])


@pytest.mark.claim("ncp_ufm_closed_form")
@pytest.mark.parametrize("lam_w,lam_h", [(SQ2, 0.3), (0.5, 0.02), (2.0, 0.2)])
def test_closed_form_matches_generic_solver_from_random_starts(lam_w, lam_h):
    K, d, n = 4, 10, 10
    m = ufm_minimizer(K, n, d, lam_w, lam_h, seed=1)
    c = np.sqrt(lam_w * lam_h)
    # the closed form is stationary for the independently written objective (rounding-level gradient)
    f0, g0 = _full_objective_and_grad(np.concatenate([m.W.ravel(), m.H.ravel()]), K, d, n, lam_w, lam_h)
    assert np.max(np.abs(g0)) < 1e-12
    assert abs(f0 - (c - c**2 / 2)) < 1e-12
    rng = np.random.default_rng(0)
    for _ in range(3):
        x0 = rng.normal(size=K * d + d * K * n)
        res = minimize(_full_objective_and_grad, x0, args=(K, d, n, lam_w, lam_h), jac=True, method="L-BFGS-B",
                       options={"gtol": 1e-13, "ftol": 0.0, "maxiter": 50000})
        H = res.x[K * d:].reshape(d, K * n)
        W = res.x[: K * d].reshape(K, d)
        # objective agrees to optimiser precision (measured gaps ~1e-15)
        assert res.fun == pytest.approx(m.objective, abs=1e-10)
        means = H.reshape(d, K, n).mean(axis=2)
        # L-BFGS stops at gradient ~1e-13; the minimum is degenerate only along rotations, so the
        # invariant quantities agree to ~1e-8 relative (measured 4e-8): 1e-6 leaves a margin
        np.testing.assert_allclose(np.sum(means**2, axis=0), m.rho, rtol=1e-6)
        np.testing.assert_allclose(means.T @ means, m.rho * np.eye(K), atol=1e-6 * m.rho)
        np.testing.assert_allclose(W, np.sqrt(lam_h / lam_w) * means.T, atol=1e-6)
        # within-class spread ~1e-8 gives tr(Sigma_W) ~1e-16 against tr(Sigma_B) = O(rho)
        assert collapse_metrics(H, np.repeat(np.arange(K), n), W=W).nc1 < 1e-10


@pytest.mark.claim("ncp_ufm_closed_form")
def test_strong_regularisation_gives_zero_minimiser():
    K, d, n, lam_w, lam_h = 3, 4, 3, 2.0, 0.8  # c = sqrt(1.6) > 1
    m = ufm_minimizer(K, n, d, lam_w, lam_h)
    assert m.collapsed_to_zero and m.objective == 0.5 and not np.any(m.H)
    rng = np.random.default_rng(3)
    res = minimize(_full_objective_and_grad, rng.normal(size=K * d + d * K * n), args=(K, d, n, lam_w, lam_h),
                   jac=True, method="L-BFGS-B", options={"gtol": 1e-12, "ftol": 0.0})
    assert res.fun == pytest.approx(0.5, abs=1e-9)
    assert np.max(np.abs(res.x)) < 1e-4  # L-BFGS converges linearly to the strict minimum at 0


@pytest.mark.claim("ncp_ufm_closed_form")
def test_scalar_reduction_stationary_and_value_symbolically():
    u, v, lw, lh = sp.symbols("u v lambda_W lambda_H", positive=True)
    g = (u * v - 1) ** 2 + lw * u**2 + lh * v**2
    c = sp.sqrt(lw * lh)
    rho = (1 - c) * sp.sqrt(lw / lh)
    sub = {v: sp.sqrt(rho), u: sp.sqrt(lh / lw) * sp.sqrt(rho)}
    assert sp.simplify(sp.diff(g, u).subs(sub)) == 0
    assert sp.simplify(sp.diff(g, v).subs(sub)) == 0
    assert sp.simplify(g.subs(sub) / 2 - (c - c**2 / 2)) == 0


@pytest.mark.claim("ncp_ufm_closed_form")
@pytest.mark.parametrize("lam_w,lam_h", [(0.5, 0.2), (2.0, 0.8)])
def test_uniqueness_proof_steps_reduction_and_prox_solved_by_cvxpy(lam_w, lam_h):
    # the two steps that make the minimiser unique (chapter, proof of ncp-thm-ufm):
    # (1) N f(W, H) >= phi(WH) = ||WH - Y||^2 / 2 + c sqrt(n) ||WH||_* on random points, with equality
    #     at the closed form; (2) phi has the unique minimiser (1 - c)_+ Y, checked with CVXPY
    import cvxpy as cp

    K, n, d = 3, 2, 4
    N, c = K * n, np.sqrt(lam_w * lam_h)
    Y = class_indicator(K, n)

    def phi(Z):
        return 0.5 * np.sum((Z - Y) ** 2) + c * np.sqrt(n) * np.linalg.svd(Z, compute_uv=False).sum()

    rng = np.random.default_rng(5)
    for _ in range(100):
        W, H = rng.normal(size=(K, d)), rng.normal(size=(d, N))
        assert N * ufm_objective(W, H, Y, lam_w, lam_h) >= phi(W @ H) - 1e-12
    m = ufm_minimizer(K, n, d, lam_w, lam_h, seed=0)
    Z0 = max(1.0 - c, 0.0) * Y
    assert N * m.objective == pytest.approx(phi(Z0), abs=1e-12)
    np.testing.assert_allclose(m.W @ m.H, Z0, atol=1e-14)
    Zv = cp.Variable((K, N))
    cp.Problem(cp.Minimize(0.5 * cp.sum_squares(Zv - Y) + c * np.sqrt(n) * cp.normNuc(Zv))).solve(
        solver=cp.SCS, eps=1e-9, max_iters=200000)
    # SCS stops at relative residual 1e-9 (measured deviation 2e-15 for both regimes); 1e-6 is a
    # margin, far below the O(0.1) gap to any other candidate such as Y or 0
    np.testing.assert_allclose(Zv.value, Z0, atol=1e-6)


@pytest.mark.claim("ncp_vicinity_unique")
def test_vicinity_minimiser_at_collapsed_h0_is_h_star():
    K, d, n, lam_w, lam_h, beta = 3, 6, 4, SQ2, 0.3, 5.0
    m = ufm_minimizer(K, n, d, lam_w, lam_h, seed=2)
    rng = np.random.default_rng(4)
    for _ in range(3):
        s = solve_vicinity(m.H, m.Y, lam_w, lam_h, beta, H_init=rng.normal(size=m.H.shape))
        assert s.grad_norm < 1e-10
        # the Jacobian of the residual at H* is beta*I + X with X >= 0 (X is N times the Hessian of the
        # reduced loss at its minimiser), so to first order the distance to H* is at most
        # grad_norm * sqrt(dN) / beta < 2e-10 here; 1e-8 relative leaves room for the nonlinearity
        np.testing.assert_allclose(s.H, m.H, atol=1e-8 * np.abs(m.H).max())


def test_envelope_gradient_matches_autograd_of_reduced_loss():
    rng = np.random.default_rng(7)
    K, n, d, lam_w, lam_h = 3, 3, 4, 0.7, 0.2
    Y = class_indicator(K, n)
    H = rng.normal(size=(d, K * n))
    Ht = torch.tensor(H, requires_grad=True, dtype=torch.float64)
    Yt = torch.tensor(Y)
    N = K * n
    A = Ht @ Ht.T + n * lam_w * torch.eye(d, dtype=torch.float64)
    Wt = torch.linalg.solve(A, Ht @ Yt.T).T  # W*(H), differentiated through
    L = ((Wt @ Ht - Yt) ** 2).sum() / (2 * N) + lam_w * (Wt**2).sum() / (2 * K) + lam_h * (Ht**2).sum() / (2 * N)
    L.backward()
    np.testing.assert_allclose(central_path_field(H, Y, lam_w, lam_h) / N, Ht.grad.numpy(), rtol=1e-10, atol=1e-13)


def test_within_class_part_obeys_linear_ode():
    rng = np.random.default_rng(8)
    K, n, d, lam_w, lam_h = 3, 4, 5, 0.3, 0.1
    Y = class_indicator(K, n)
    H = rng.normal(size=(d, K * n)) + 1.0
    P = np.kron(np.eye(K), np.eye(n) - np.ones((n, n)) / n)
    W = optimal_classifier(H, Y, lam_w)
    np.testing.assert_allclose(Y @ P, 0.0, atol=1e-15)
    np.testing.assert_allclose(central_path_field(H, Y, lam_w, lam_h) @ P, (W.T @ W + lam_h * np.eye(d)) @ H @ P,
                               atol=1e-12)


FLOW_SETTINGS = [(0.05, 0.0), (0.05, 0.02), (0.5, 0.3)]


@pytest.mark.claim("ncp_nc1_monotone")
@pytest.mark.parametrize("lam_w,lam_h", FLOW_SETTINGS)
def test_nc1_and_weighted_traces_monotone_along_integrated_flow(lam_w, lam_h):
    K, n, d = 4, 10, 10
    rng = np.random.default_rng(11)
    H0 = rng.normal(size=(d, K * n)) + 2.0  # non-zero global mean
    path = central_path_flow(H0, class_indicator(K, n), lam_w, lam_h, T=20.0, dt=1e-3)
    w = np.exp(2 * lam_h * path.t)
    # strict decrease of NC1~ at every step; the weighted traces are monotone up to rounding (1e-12 relative)
    assert np.all(np.diff(path.nc1_trace) < 0)
    a = w * path.trace_sigma_w
    b = w * path.trace_sigma_b
    assert np.all(np.diff(a) <= 1e-12 * a[:-1])
    assert np.all(np.diff(b) >= -1e-12 * b[:-1])
    assert path.nc1_trace[-1] < path.nc1_trace[0]


def test_rk4_matches_scipy_ode_solver_and_numpy_reference():
    from scipy.integrate import solve_ivp

    K, n, d, lam_w, lam_h = 3, 3, 4, 0.2, 0.05
    rng = np.random.default_rng(12)
    Y = class_indicator(K, n)
    H0 = rng.normal(size=(d, K * n))
    a = central_path_flow(H0, Y, lam_w, lam_h, T=1.0, dt=1e-2, engine="numba")
    b = central_path_flow(H0, Y, lam_w, lam_h, T=1.0, dt=1e-2, engine="numpy")
    np.testing.assert_allclose(a.H, b.H, rtol=1e-12, atol=1e-13)  # same arithmetic, different kernels
    np.testing.assert_allclose(a.nc1_trace, b.nc1_trace, rtol=1e-12)
    sol = solve_ivp(lambda t, h: -central_path_field(h.reshape(d, -1), Y, lam_w, lam_h).ravel(), (0, 1.0),
                    H0.ravel(), method="DOP853", rtol=1e-12, atol=1e-12)
    # RK4 global error O(dt^4) = 1e-8 times the field's derivatives (O(1) here)
    np.testing.assert_allclose(a.H, sol.y[:, -1].reshape(d, -1), atol=1e-7)


@pytest.mark.claim("ncp_one_step")
def test_vicinity_solution_is_one_implicit_step_with_beta_squared_error():
    K, n, d, lam_w, lam_h = 3, 3, 5, 0.3, 0.1
    rng = np.random.default_rng(13)
    Y = class_indicator(K, n)
    H0 = rng.normal(size=(d, K * n)) + 1.0
    G0 = central_path_field(H0, Y, lam_w, lam_h)
    nc0 = collapse_metrics(H0, np.repeat(np.arange(K), n)).nc1_trace
    errs = []
    betas = np.array([10.0, 100.0, 1000.0])
    for beta in betas:
        s = solve_vicinity(H0, Y, lam_w, lam_h, beta)
        assert s.grad_norm < 1e-11
        errs.append(np.linalg.norm(s.H - (H0 - G0 / beta)))
        assert collapse_metrics(s.H, np.repeat(np.arange(K), n)).nc1_trace < nc0
    slope = np.polyfit(np.log(betas), np.log(errs), 1)[0]
    assert abs(slope + 2) < 0.1


@pytest.mark.claim("ncp_layerwise")
@pytest.mark.parametrize("beta", [1.0, 4.0])
def test_stacked_vicinity_minimisers_lower_nc1_at_every_layer(beta):
    K, n, d, lam_w, lam_h = 3, 4, 6, 0.1, 0.01
    Y = class_indicator(K, n)
    y = np.repeat(np.arange(K), n)
    H = np.random.default_rng(22).normal(size=(d, K * n)) + 1.0  # not the chapter's draw
    prev = collapse_metrics(H, y).nc1_trace
    for _ in range(6):
        s = solve_vicinity(H, Y, lam_w, lam_h, beta, H_init=H)
        assert s.grad_norm < 1e-11  # certified stationary point of the vicinity step
        cur = collapse_metrics(s.H, y).nc1_trace
        assert cur < prev
        H, prev = s.H, cur


def test_invalid_arguments_raise():
    with pytest.raises(ValueError, match=r"^d must lie in"):  # names the parameter, not just any "d"
        ufm_minimizer(4, 2, 3, 0.5, 0.5)
    with pytest.raises(ValueError, match="lam_w"):
        ufm_minimizer(4, 2, 5, -0.5, 0.5)
    with pytest.raises(ValueError, match="lam_h"):
        ufm_minimizer(4, 2, 5, 0.5, 0.0)
    Y = class_indicator(2, 2)
    with pytest.raises(ValueError, match="dt"):
        central_path_flow(np.ones((3, 4)), Y, 0.1, 0.1, T=1.0, dt=2.0)
    with pytest.raises(ValueError, match="one-hot"):
        central_path_flow(np.ones((3, 4)), 2 * Y, 0.1, 0.1, T=1.0, dt=0.1)
    with pytest.raises(ValueError, match="columns"):
        ufm_objective(np.zeros((2, 3)), np.ones((3, 5)), Y, 0.1, 0.1)
    with pytest.raises(ValueError, match="engine"):
        central_path_flow(np.arange(12.0).reshape(3, 4), Y, 0.1, 0.1, T=1.0, dt=0.1, engine="torch")
