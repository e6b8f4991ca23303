"""Deep linear networks on unconstrained features: closed form, solver, kernels, thresholds, CE.

Independent references used here: SciPy L-BFGS on the full non-convex problem (the closed form is
derived separately), PyTorch autograd and central finite differences for gradients, brute-force
grid minimisation of the scalar problem, SymPy for the thresholds, and the collapse metrics of
``lossbook.collapse`` (written for the sibling chapter).
"""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import minimize

from lossbook.collapse import collapse_metrics
from lossbook.collapse._deep_linear_kernels import (
    LOSS_CODES,
    _value_and_grad_numba,
    _value_and_grad_numpy,
    n_params,
)
from lossbook.collapse.deep_linear import (
    _solve_x,
    construct_deep_linear_minimizer,
    deep_linear_ce_etf,
    deep_linear_decays_from_ufm,
    deep_linear_minimizer,
    deep_linear_objective,
    deep_linear_thresholds,
    fit_deep_linear,
    momentum_gd_deep_linear,
    ufm_decays_from_deep_linear,
)
from lossbook.collapse.ufm import ufm_minimizer, ufm_objective

COUNTS = [200, 100, 50, 50]
LAM = 5e-4


def _product(weights):
    w = weights[0]
    for layer in weights[1:]:
        w = layer @ w
    return w


def _torch_objective(weights, h, labels, lam_w, lam_h, bias=None, loss="mse"):
    """The objective written directly in PyTorch (independent of the Numba/NumPy code)."""
    ws = [torch.tensor(w, dtype=torch.float64, requires_grad=True) for w in weights]
    ht = torch.tensor(h, dtype=torch.float64, requires_grad=True)
    bt = None if bias is None else torch.tensor(bias, dtype=torch.float64, requires_grad=True)
    lam = np.broadcast_to(np.asarray(lam_w, dtype=float), (len(weights),))
    z = ht
    for w in ws:
        z = w @ z
    if bt is not None:
        z = z + bt[:, None]
    lab = torch.tensor(labels)
    n = h.shape[1]
    if loss == "mse":
        y = torch.nn.functional.one_hot(lab, z.shape[0]).T.to(torch.float64)
        f = 0.5 * ((z - y) ** 2).sum() / n
    else:
        f = torch.nn.functional.cross_entropy(z.T, lab, reduction="mean")
    for li, w in zip(lam, ws, strict=True):
        f = f + 0.5 * float(li) * (w**2).sum()
    f = f + 0.5 * lam_h * (ht**2).sum()
    f.backward()
    grads = [w.grad.numpy() for w in ws] + [ht.grad.numpy()] + ([] if bt is None else [bt.grad.numpy()])
    return float(f.detach()), grads


# ------------------------------------------------------------------ kernels


@pytest.mark.parametrize("depth", [1, 2, 3])
@pytest.mark.parametrize("loss", ["mse", "ce"])
@pytest.mark.parametrize("bias", [False, True])
def test_numba_kernel_equals_numpy_reference(depth, loss, bias):
    rng = np.random.default_rng(depth * 10 + bias)
    d, k, n = 5, 3, 11
    theta = rng.standard_normal(n_params(d, n, k, depth, bias))
    labels = rng.integers(0, k, n)
    lam = rng.uniform(0.01, 0.1, depth)
    f1, g1 = _value_and_grad_numba(theta, d, n, k, depth, labels, lam, 0.03, bias, LOSS_CODES[loss])
    f2, g2 = _value_and_grad_numpy(theta, d, n, k, depth, labels, lam, 0.03, bias, LOSS_CODES[loss])
    # same arithmetic in a different order: agreement to a few ulps of the O(1) values
    assert abs(f1 - f2) <= 1e-12 * max(1.0, abs(f1))
    np.testing.assert_allclose(g1, g2, rtol=1e-11, atol=1e-13)


@pytest.mark.parametrize("loss", ["mse", "ce"])
@pytest.mark.parametrize("bias", [False, True])
def test_gradient_matches_torch_autograd(loss, bias):
    rng = np.random.default_rng(7)
    d, k, n, depth = 4, 3, 9, 3
    weights = [rng.standard_normal((d, d)) for _ in range(depth - 1)] + [rng.standard_normal((k, d))]
    h = rng.standard_normal((d, n))
    labels = rng.integers(0, k, n)
    b = rng.standard_normal(k) if bias else None
    lam = [0.02, 0.05, 0.03]
    f, g = deep_linear_objective(weights, h, labels, lam, 0.04, b, loss=loss)
    ft, gt = _torch_objective(weights, h, labels, lam, 0.04, b, loss=loss)
    assert abs(f - ft) <= 1e-12 * max(1.0, abs(ft))
    for ours, ref in zip([*g.weights, g.features], gt[: depth + 1], strict=True):
        np.testing.assert_allclose(ours, ref, rtol=1e-10, atol=1e-12)
    if bias:
        np.testing.assert_allclose(g.bias, gt[-1], rtol=1e-10, atol=1e-12)


def test_gradient_matches_central_differences():
    rng = np.random.default_rng(3)
    d, k, n, depth = 3, 2, 5, 2
    theta = rng.standard_normal(n_params(d, n, k, depth, True))
    labels = rng.integers(0, k, n)
    lam = np.array([0.1, 0.2])
    for code in (0, 1):
        f, g = _value_and_grad_numba(theta, d, n, k, depth, labels, lam, 0.05, True, code)
        eps = 1e-6
        fd = np.array([
            (_value_and_grad_numba(theta + eps * e, d, n, k, depth, labels, lam, 0.05, True, code)[0]
             - _value_and_grad_numba(theta - eps * e, d, n, k, depth, labels, lam, 0.05, True, code)[0])
            / (2 * eps)
            for e in np.eye(theta.size)
        ])
        # central differences: truncation O(eps^2 f''') ~ 1e-12, rounding ~ 1e-16/eps ~ 1e-10
        np.testing.assert_allclose(g, fd, atol=1e-8)


# ------------------------------------------------------------------ closed form vs generic solver


@pytest.mark.claim("ncd_gof_closed_form")
@pytest.mark.parametrize("depth", [1, 2, 3])
def test_closed_form_matches_lbfgs_imbalanced(depth):
    sol = deep_linear_minimizer(COUNTS, depth, LAM, LAM)
    fit = fit_deep_linear(COUNTS, 16, depth, LAM, LAM, seed=depth)
    assert fit.grad_norm < 1e-8
    # L-BFGS stops at gradient ~1e-9; the objective is quadratic near the optimum, so the value
    # agrees to ~1e-12 and the spectrum to ~1e-7 relative (measured: about 1e-8)
    assert abs(fit.objective - sol.objective) < 1e-10
    w = _product(fit.weights)
    gram = w @ w.T
    np.testing.assert_allclose(np.diag(gram), sol.product_sq_singular_values, rtol=1e-6)
    off = gram - np.diag(np.diag(gram))
    assert np.abs(off).max() < 1e-6 * sol.product_sq_singular_values.max()
    hbar = np.stack([fit.features[:, fit.labels == c].mean(axis=1) for c in range(4)], axis=1)
    np.testing.assert_allclose(np.linalg.norm(hbar, axis=0), sol.class_mean_norms, rtol=1e-6)
    # GOF ordering: larger classes get longer classifiers
    assert np.all(np.diff(sol.product_sq_singular_values) <= 0)
    m = collapse_metrics(fit.features, fit.labels, W=w)
    assert m.nc1 < 1e-8


@pytest.mark.claim("ncd_first_order")
@pytest.mark.parametrize("bias", [False, True])
@pytest.mark.parametrize("depth", [1, 2, 3])
def test_constructed_minimizer_is_stationary_under_autograd(depth, bias):
    lam_w = [1e-3, 4e-4, 5e-4][:depth]
    pt = construct_deep_linear_minimizer(COUNTS, 6, depth, lam_w, LAM, bias=bias, seed=11)
    f, grads = _torch_objective(pt.weights, pt.features, pt.labels, lam_w, LAM, pt.bias if bias else None)
    sol = deep_linear_minimizer(COUNTS, depth, lam_w, LAM, bias=bias)
    assert abs(f - sol.objective) < 1e-12
    assert max(np.abs(g).max() for g in grads) < 1e-12


@pytest.mark.claim("ncd_layer_singular_values")
def test_layer_singular_values_and_intermediate_means_match_solver():
    lam_w = [1e-3, 4e-4, 6e-4]
    sol = deep_linear_minimizer(COUNTS, 3, lam_w, LAM)
    fit = fit_deep_linear(COUNTS, 16, 3, lam_w, LAM, seed=5)
    for m, w in enumerate(fit.weights):
        s = np.linalg.svd(w, compute_uv=False)[:4]
        np.testing.assert_allclose(np.sort(s), np.sort(sol.layer_singular_values[m]), rtol=1e-6)
    act = fit.features
    for m in range(3):
        means = np.stack([act[:, fit.labels == c].mean(axis=1) for c in range(4)], axis=1)
        np.testing.assert_allclose(np.linalg.norm(means, axis=0), sol.layer_class_mean_norms[m], rtol=1e-6)
        act = fit.weights[m] @ act
    # balancedness lam_{m+1} W_{m+1}^T W_{m+1} = lam_m W_m W_m^T at a critical point
    for m in range(2):
        lhs = lam_w[m + 1] * fit.weights[m + 1].T @ fit.weights[m + 1]
        rhs = lam_w[m] * fit.weights[m] @ fit.weights[m].T
        assert np.abs(lhs - rhs).max() < 1e-6 * np.abs(rhs).max()


@pytest.mark.claim("ncd_balanced_frames")
def test_balanced_gives_orthogonal_frame_without_bias_and_etf_with_bias():
    counts = [30] * 4
    sol = deep_linear_minimizer(counts, 2, LAM, LAM)
    assert np.ptp(sol.product_sq_singular_values) == 0
    fit = fit_deep_linear(counts, 8, 2, LAM, LAM, seed=1)
    m = collapse_metrics(fit.features, fit.labels, W=_product(fit.weights))
    # solver precision (gradient ~1e-9) bounds the distance to the frame at ~1e-7
    assert m.nc1 < 1e-8 and m.nc2_orthogonal < 1e-6 and m.nc3_orthogonal < 1e-6
    fitb = fit_deep_linear(counts, 8, 2, LAM, LAM, seed=2, bias=True)
    mb = collapse_metrics(fitb.features, fitb.labels, W=_product(fitb.weights))
    assert mb.nc1 < 1e-8 and mb.nc2_etf < 1e-6 and mb.nc3 < 1e-6
    np.testing.assert_allclose(fitb.bias, 0.25, atol=1e-7)
    solb = deep_linear_minimizer(counts, 2, LAM, LAM, bias=True)
    w = _product(fitb.weights)
    ev = np.sort(np.linalg.eigvalsh(w @ w.T))
    np.testing.assert_allclose(ev[1:], np.sort(solb.product_sq_singular_values)[1:], rtol=1e-6)
    # with bias the non-zero eigenvalues equal the bias-free P^2 (same scalar problem)
    np.testing.assert_allclose(solb.product_sq_singular_values[:3], sol.product_sq_singular_values[:3],
                               rtol=1e-12)


def test_imbalanced_with_bias_matches_solver():
    sol = deep_linear_minimizer(COUNTS, 2, LAM, LAM, bias=True)
    fit = fit_deep_linear(COUNTS, 16, 2, LAM, LAM, seed=3, bias=True)
    w = _product(fit.weights)
    np.testing.assert_allclose(np.sort(np.linalg.eigvalsh(w @ w.T))[1:],
                               np.sort(sol.product_sq_singular_values)[1:], rtol=1e-6)
    np.testing.assert_allclose(fit.bias, np.asarray(COUNTS) / 400, atol=1e-7)
    assert abs(fit.objective - sol.objective) < 1e-10
    act = fit.features
    for m in range(2):
        means = np.stack([act[:, fit.labels == c].mean(axis=1) for c in range(4)], axis=1)
        np.testing.assert_allclose(np.linalg.norm(means, axis=0), sol.layer_class_mean_norms[m], rtol=1e-6)
        act = fit.weights[m] @ act


# ------------------------------------------------------------------ thresholds and minority collapse


def _grid_argmin_psi(n, b, m):
    x = np.linspace(0.0, 20.0, 400_001)
    return x[np.argmin(n / (x**m + 1) + b * x)]


@pytest.mark.claim("ncd_threshold_symbolic")
def test_thresholds_symbolically():
    x, r = sp.symbols("x r", positive=True)
    for m in (2, 3, 4, 6):
        tau, rho = deep_linear_thresholds(m)
        # psi(x) = psi(0) and psi'(x) = 0 (n = 1, b = r): x^M = M - 1, r = tau_M
        xs = sp.Integer(m - 1) ** sp.Rational(1, m)
        r_star = sp.simplify(m * xs ** (m - 1) / (xs**m + 1) ** 2)
        assert sp.simplify(1 / (xs**m + 1) + r_star * xs - 1) == 0
        assert abs(float(r_star) - tau) < 1e-14
        # root existence: maximum of M x^(M-1)/(x^M+1)^2
        phi = m * x ** (m - 1) / (x**m + 1) ** 2
        crit = [c for c in sp.solve(sp.diff(phi, x), x) if c.is_positive]
        assert abs(float(max(phi.subs(x, c) for c in crit)) - rho) < 1e-13
        assert tau < rho
    assert deep_linear_thresholds(2)[1] == pytest.approx(float(3 * sp.sqrt(3) / 8), abs=1e-15)


@pytest.mark.claim("ncd_minority_threshold")
@pytest.mark.parametrize("depth", [1, 2, 3, 5])
def test_minority_collapse_threshold_against_grid_search(depth):
    tau, _ = deep_linear_thresholds(depth)
    n_big, lam = 200, 2e-3
    for factor, collapses in ((0.97, False), (1.03, True)):
        # choose the minority count so that b / n_minority = factor * tau
        sol0 = deep_linear_minimizer([n_big, 100], depth, lam, lam)
        b = sol0.b_constant  # depends only on N, so fix N and move mass between two classes
        n_min = b / (factor * tau)
        x_grid = _grid_argmin_psi(n_min, b, depth)
        assert (x_grid == 0.0) == collapses
        # the library's scalar solver takes the same decision
        assert (_solve_x(n_min, b, depth, "global") == 0.0) == collapses
    # and the closed form on integer counts: the collapsed mask is exactly b/n_k > tau_M
    for n_last in range(1, 200):
        sol = deep_linear_minimizer([n_big, 100, n_last], depth, lam, lam)
        np.testing.assert_array_equal(sol.collapsed, sol.b_constant / np.array([n_big, 100, n_last]) > tau)
    # end to end on the full problem (M = 1, setting where N^2 lam_w lam_h = 75)
    if depth == 1:
        lam1 = np.sqrt(75.0) / 400.0
        sol = deep_linear_minimizer(COUNTS, 1, lam1, lam1)
        np.testing.assert_array_equal(sol.collapsed, [False, False, True, True])
        # reference values from independent SciPy runs (paper notes, test T4), reported to 10 / 6 digits
        assert sol.objective == pytest.approx(0.4601925688, abs=1e-10)
        np.testing.assert_allclose(sol.product_sq_singular_values, [5.48188, 1.33975, 0, 0], atol=1e-5)
        fit = fit_deep_linear(COUNTS, 8, 1, lam1, lam1, seed=0)
        w = fit.weights[0]
        np.testing.assert_allclose(np.linalg.norm(w, axis=1) ** 2, sol.product_sq_singular_values, atol=1e-9)
        assert abs(fit.objective - sol.objective) < 1e-12


def test_collapse_metrics_finite_and_nc1_zero_with_minority_collapse():
    lam1 = np.sqrt(75.0) / 400.0  # M = 1: the two classes of 50 collapse to zero (b/n = 1.5 > 1)
    for depth, lam in ((1, lam1), (2, 0.01469433)):
        sol = deep_linear_minimizer(COUNTS, depth, lam, lam)
        assert sol.collapsed[2:].all() and not sol.collapsed[:2].any()
        pt = construct_deep_linear_minimizer(COUNTS, 6, depth, lam, lam, seed=4)
        m = collapse_metrics(pt.features, pt.labels, W=_product(pt.weights))
        assert all(np.isfinite(v) for v in m)
        # exactly collapsed features: within-class scatter is rounding (class means of equal columns)
        assert m.nc1 < 1e-12 and m.nc1_trace < 1e-24


@pytest.mark.claim("ncd_largest_root_window")
def test_largest_root_rule_is_not_global_in_the_window():
    # lam with b_2 / n = 0.57 for n = 50: b / n = (0.1425, 0.285, 0.57, 0.57); 0.57 is in [0.5, 0.6495)
    lam = ((0.57 * 50 / (2 * 400)) ** 2 / 400) ** (1 / 3)
    glob = deep_linear_minimizer(COUNTS, 2, lam, lam)
    rule = deep_linear_minimizer(COUNTS, 2, lam, lam, root_rule="largest_root")
    # reference values from independent SciPy L-BFGS runs on the full problem (paper notes, test T5),
    # reported to 10 digits
    assert glob.objective == pytest.approx(0.3379212687, abs=1e-9)
    assert rule.objective == pytest.approx(0.3460515077, abs=1e-9)
    np.testing.assert_allclose(rule.product_sq_singular_values[2:], 4.311533, atol=1e-6)
    r = glob.b_constant / np.asarray(COUNTS)
    tau, rho = deep_linear_thresholds(2)
    assert np.all((r[2:] >= tau) & (r[2:] < rho))
    assert glob.collapsed[2:].all() and not rule.collapsed.any()
    # evaluate both explicit points with the independent torch objective
    f_glob = _torch_objective(*construct_deep_linear_minimizer(COUNTS, 6, 2, lam, lam, seed=0)[:2],
                              glob_labels := np.repeat(np.arange(4), COUNTS), lam, lam)[0]
    pt = construct_deep_linear_minimizer(COUNTS, 6, 2, lam, lam, seed=0, root_rule="largest_root")
    f_rule, g_rule = _torch_objective(pt.weights, pt.features, glob_labels, lam, lam)
    assert f_rule - f_glob > 5e-3  # measured gap: 0.00813
    assert max(np.abs(g).max() for g in g_rule) < 1e-12  # the rule's point is a critical point
    # and a genuine local minimum: L-BFGS from a large random start stops there
    fit = fit_deep_linear(COUNTS, 8, 2, lam, lam, seed=1, init_scale=1.0)
    assert abs(fit.objective - rule.objective) < 1e-9
    # the window is empty for M = 1
    assert deep_linear_thresholds(1) == (1.0, 1.0)


@pytest.mark.parametrize("depth", [2, 3, 4])
def test_scalar_solution_is_the_grid_minimum(depth):
    for r in (0.1, 0.3, 0.45, 0.52, 0.6, 0.8):
        n = 100.0
        b = r * n
        x = _solve_x(n, b, depth, "global")
        xg = _grid_argmin_psi(n, b, depth)
        assert abs(x - xg) < 1e-4  # grid spacing 5e-5


# ------------------------------------------------------------------ cross-entropy


@pytest.mark.claim("ncd_ce_etf_small")
@pytest.mark.parametrize(("k", "n", "depth", "lam"), [(4, 20, 1, 5e-3), (4, 20, 2, 5e-3), (3, 20, 3, 2e-3)])
def test_ce_etf_value_matches_full_solver(k, n, depth, lam):
    etf = deep_linear_ce_etf(k, n, depth, lam, lam)
    best = min(fit_deep_linear([n] * k, 6, depth, lam, lam, "ce", seed=s, init_scale=0.5).objective
               for s in range(3))
    # L-BFGS stops at gradient ~1e-12 and the 1-D ETF minimisation at xatol 1e-13: both values are
    # accurate to ~1e-15 near a non-degenerate minimum (measured |gap| 2e-16), so 1e-9 is a loose bound
    assert abs(best - etf.objective) < 1e-9


@pytest.mark.claim("ncd_ce_counterexample")
@pytest.mark.parametrize(("k", "n", "depth", "lam"), [(4, 20, 3, 2e-3), (5, 10, 2, 2e-3), (6, 10, 2, 2e-3)])
def test_ce_simplex_etf_is_not_global_for_some_k_and_depth(k, n, depth, lam):
    etf = deep_linear_ce_etf(k, n, depth, lam, lam)
    fit = min((fit_deep_linear([n] * k, 8, depth, lam, lam, "ce", seed=s, init_scale=0.5) for s in range(3)),
              key=lambda f: f.objective)
    # the objective is recomputed independently in PyTorch
    f_t = _torch_objective(fit.weights, fit.features, fit.labels, lam, lam, loss="ce")[0]
    assert f_t < etf.objective - 5e-4  # measured gaps: 0.0056, 0.0011, 0.0076
    w = _product(fit.weights)
    sv = np.linalg.svd(w, compute_uv=False)
    assert np.sum(sv > 1e-3 * sv[0]) < k - 1  # lower rank than a simplex ETF


def test_ce_etf_point_is_critical_for_full_problem():
    k, n, depth, lam = 4, 20, 3, 2e-3
    etf = deep_linear_ce_etf(k, n, depth, lam, lam)
    rng = np.random.default_rng(0)
    d = 6
    e = np.linalg.qr(np.eye(k) - 1.0 / k)[0][:, : k - 1]  # orthonormal basis of 1^perp
    qs = [np.linalg.qr(rng.standard_normal((d, k - 1)))[0] for _ in range(depth)]
    s = etf.product_singular_value ** (1.0 / depth)
    weights = [s * qs[m + 1] @ qs[m].T for m in range(depth - 1)] + [s * e @ qs[-1].T]
    labels = np.repeat(np.arange(k), n)
    h = etf.class_mean_scale * qs[0] @ e.T[:, labels]
    f, grads = _torch_objective(weights, h, labels, lam, lam, loss="ce")
    assert abs(f - etf.objective) < 1e-12
    assert max(np.abs(g).max() for g in grads) < 1e-8


# ------------------------------------------------------------------ argument checks


def test_invalid_arguments_raise_named_errors():
    with pytest.raises(ValueError, match="counts"):
        deep_linear_minimizer([10, 0], 2, 1e-3, 1e-3)
    with pytest.raises(ValueError, match="lam_w"):
        deep_linear_minimizer([10, 5], 2, -1e-3, 1e-3)
    with pytest.raises(ValueError, match="lam_h"):
        deep_linear_minimizer([10, 5], 2, 1e-3, 0.0)
    with pytest.raises(ValueError, match="depth"):
        deep_linear_minimizer([10, 5], 0, 1e-3, 1e-3)
    with pytest.raises(ValueError, match="lam_w"):
        deep_linear_minimizer([10, 5], 2, [1e-3], 1e-3)
    with pytest.raises(ValueError, match=r"^d must lie in"):  # names the parameter, not just any "d"
        fit_deep_linear([10, 5, 5], 2, 2, 1e-3, 1e-3, seed=0)
    with pytest.raises(ValueError, match="loss"):
        fit_deep_linear([10, 5], 3, 2, 1e-3, 1e-3, "hinge", seed=0)
    with pytest.raises(TypeError, match="seed"):
        fit_deep_linear([10, 5], 3, 2, 1e-3, 1e-3, seed=None)
    with pytest.raises(ValueError, match="root_rule"):
        deep_linear_minimizer([10, 5], 2, 1e-3, 1e-3, root_rule="largest")
    pt = construct_deep_linear_minimizer([3, 2], d=3, depth=2, lam_w=0.01, lam_h=0.01, seed=0)
    for bad in (np.zeros(1), np.zeros(3)):  # a wrong length would shift the kernel's packed layout
        with pytest.raises(ValueError, match="bias"):
            deep_linear_objective(pt.weights, pt.features, pt.labels, 0.01, 0.01, bad)
    with pytest.raises(ValueError, match="init"):
        fit_deep_linear([3, 2], 3, 2, 0.01, 0.01, seed=0, init=pt._replace(weights=[pt.weights[1], pt.weights[0]]))


# ------------------------------------------------------------------ monotonicity of the closed form


@given(
    counts=st.lists(st.integers(1, 400), min_size=2, max_size=5),
    depth=st.integers(1, 4),
    log_lam=st.floats(-5.0, -1.5),
)
@settings(max_examples=60, deadline=None)
def test_lengths_grow_with_class_size_and_shrink_with_weight_decay(counts, depth, log_lam):
    lam = 10.0**log_lam
    sol = deep_linear_minimizer(counts, depth, lam, lam)
    order = np.argsort(counts, kind="stable")
    p2 = sol.product_sq_singular_values[order]
    # n_i > n_j  =>  P_i >= P_j (sorted by count, P^2 must be non-decreasing)
    assert np.all(np.diff(p2) >= -1e-12 * max(1.0, p2.max()))
    # raising one layer's decay (lam_h fixed) cannot lengthen any class
    bigger = np.full(depth, lam)
    bigger[0] *= 1.1
    sol2 = deep_linear_minimizer(counts, depth, bigger, lam)
    assert np.all(sol2.product_sq_singular_values <= sol.product_sq_singular_values * (1 + 1e-12) + 1e-300)


def test_ce_etf_reduction_matches_direct_minimisation_over_layer_scales():
    # minimise the ETF-restricted objective over every layer scale s_m and the feature scale a
    # directly (no AM-GM reduction to one variable), from several starts
    k, n, depth = 4, 20, 3
    lams = np.array([2e-3, 5e-3, 1e-3])
    lam_h = 3e-3

    def obj(z):
        s, a = np.exp(z[:depth]), np.exp(z[depth])
        q = np.prod(s) * a
        return float(np.logaddexp(0.0, np.log(k - 1.0) - q) + 0.5 * (k - 1) * (lams @ s**2 + n * lam_h * a**2))

    rng = np.random.default_rng(0)
    best = min(minimize(obj, rng.normal(0.5, 0.5, depth + 1), method="BFGS", options={"gtol": 1e-12}).fun
               for _ in range(8))
    best = min(best, np.log(k))  # the origin (t = 0) is the other candidate
    etf = deep_linear_ce_etf(k, n, depth, lams, lam_h)
    assert abs(etf.objective - best) < 1e-9


def test_m1_deep_linear_is_the_ufm_after_converting_the_decays():
    # the previous chapter's UFM (lam_W/(2K), lam_H/(2N)) and this chapter's M = 1 problem (lam/2) are the
    # same problem under lam_W = K lam, lam_H = N lam_H; their closed-form minimisers must agree
    K, n, d, lam, lam_h = 4, 25, 6, 0.004, 0.0002
    N = K * n
    lw_u, lh_u = ufm_decays_from_deep_linear(lam, lam_h, K, N)
    assert deep_linear_decays_from_ufm(lw_u, lh_u, K, N) == pytest.approx((lam, lam_h), rel=1e-15)
    ufm = ufm_minimizer(K, n, d, lw_u, lh_u, seed=0)
    deep = deep_linear_minimizer([n] * K, 1, lam, lam_h)
    assert ufm.objective == pytest.approx(deep.objective, rel=1e-12)
    # same classifier: W W^T = diag(P_k^2) in the deep chapter; the UFM's W has squared row norms P_k^2 too
    np.testing.assert_allclose(np.sum(ufm.W**2, axis=1), deep.product_sq_singular_values, rtol=1e-10)
    # and the objectives themselves agree at arbitrary points under the conversion
    rng = np.random.default_rng(1)
    W, H = rng.normal(size=(K, d)), rng.normal(size=(d, N))
    f_deep, _ = deep_linear_objective([W], H, np.repeat(np.arange(K), n), lam, lam_h)
    assert ufm_objective(W, H, ufm.Y, lw_u, lh_u) == pytest.approx(f_deep, rel=1e-12)


@pytest.mark.claim("ncd_gd_window")
def test_momentum_gd_with_the_papers_protocol_misses_the_global_minimiser_in_the_window():
    # the window setting of the chapter: n = (200, 100, 50, 50), M = 2, lam = 0.01469433; the global rule keeps
    # classes 1-2 and collapses 3-4. Small initialisation (0.1, the official scripts') stops at a stationary
    # point that also collapses class 2: objective above f*, gradient at rounding level.
    counts, lam = np.array([200, 100, 50, 50]), 0.01469433
    glob = deep_linear_minimizer(counts, 2, lam, lam)
    rule = deep_linear_minimizer(counts, 2, lam, lam, root_rule="largest_root")
    fit = momentum_gd_deep_linear(counts, 32, 2, lam, lam, steps=4000, seed=5, init_scale=0.1)
    assert fit.grad_norm < 1e-10
    keep_first_only = np.sum(counts / (np.array([rule.x[0], 0, 0, 0]) ** 2 + 1)
                             + glob.b_constant * np.array([rule.x[0], 0, 0, 0])) / (2 * counts.sum())
    assert fit.objective == pytest.approx(keep_first_only, abs=1e-12)  # the scalar problems' (1,0,0,0) value
    assert fit.objective > glob.objective + 1e-2


def test_momentum_gd_reaches_the_optimum_where_the_problem_is_benign():
    fit = momentum_gd_deep_linear([30, 20], 4, 1, 1e-2, 1e-2, steps=5000, seed=1)
    assert fit.converged and fit.objective == pytest.approx(deep_linear_minimizer([30, 20], 1, 1e-2, 1e-2).objective,
                                                            abs=1e-12)
    with pytest.raises(ValueError, match="lr"):
        momentum_gd_deep_linear([3, 3], 2, 1, 1e-2, 1e-2, lr=0.0, seed=0)
