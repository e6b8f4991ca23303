"""Perturbation operator and spectrum: finite differences of the exact minimiser, autograd Hessians,
the O(beta^-2) order of the large-beta form, and the closed-form spectrum (numerically and by SymPy)."""

import numpy as np
import pytest
import sympy as sp
import torch

from lossbook.collapse import (
    class_indicator,
    hessian_blocks,
    intra_inter_energy,
    operator_block,
    perturbation_operator,
    perturbation_spectrum,
    solve_vicinity,
    ufm_minimizer,
)

SQ2 = float(np.sqrt(2.0))


def test_hessian_blocks_match_autograd():
    rng = np.random.default_rng(0)
    K, n, d, lam_w, lam_h, beta = 2, 2, 3, 0.4, 0.3, 7.0
    Y = class_indicator(K, n)
    N = K * n
    W, H, H0 = rng.normal(size=(K, d)), rng.normal(size=(d, N)), rng.normal(size=(d, N))
    Yt, H0t = torch.tensor(Y), torch.tensor(H0)

    def f(wv, hv):  # column-stacked vectors, as in the library
        Wm = wv.reshape(d, K).T
        Hm = hv.reshape(N, d).T
        return N * (((Wm @ Hm - Yt) ** 2).sum() / (2 * N) + lam_w * (Wm**2).sum() / (2 * K)
                    + lam_h * (Hm**2).sum() / (2 * N) + beta * ((Hm - H0t) ** 2).sum() / (2 * N))

    wv = torch.tensor(W.ravel(order="F"))
    hv = torch.tensor(H.ravel(order="F"))
    (hww, hwh), (hhw, hhh) = torch.autograd.functional.hessian(f, (wv, hv))
    b = hessian_blocks(W, H, Y, lam_w, lam_h, beta)
    np.testing.assert_allclose(b.hh, hhh.numpy(), atol=1e-12)
    np.testing.assert_allclose(b.ww, hww.numpy(), atol=1e-12)
    np.testing.assert_allclose(b.hw, hhw.numpy(), atol=1e-12)


@pytest.mark.claim("ncp_operator_fd")
@pytest.mark.parametrize("collapsed", [False, True])
def test_operator_matches_finite_differences_of_exact_minimiser(collapsed):
    K, n, d, lam_w, lam_h, beta = 3, 2, 4, SQ2, 0.3, 20.0
    rng = np.random.default_rng(1)
    Y = class_indicator(K, n)
    if collapsed:
        H0 = ufm_minimizer(K, n, d, lam_w, lam_h, seed=0).H
    else:
        H0 = ufm_minimizer(K, n, d, lam_w, lam_h, seed=0).H + 0.3 * rng.normal(size=(d, K * n))
    base = solve_vicinity(H0, Y, lam_w, lam_h, beta)
    F = perturbation_operator(base.W, base.H, Y, lam_w, lam_h, beta)
    eps = 1e-5
    for _ in range(3):
        V = rng.normal(size=H0.shape)
        V /= np.linalg.norm(V)
        hp = solve_vicinity(H0 + eps * V, Y, lam_w, lam_h, beta, H_init=base.H)
        hm = solve_vicinity(H0 - eps * V, Y, lam_w, lam_h, beta, H_init=base.H)
        assert max(hp.grad_norm, hm.grad_norm) < 1e-12
        fd = (hp.H - hm.H).ravel(order="F") / (2 * eps)
        pred = F @ V.ravel(order="F")
        # central differences: O(eps^2) truncation + O(1e-14 / eps) solver noise, both < 1e-8
        np.testing.assert_allclose(fd, pred, atol=1e-7 * np.linalg.norm(pred))


@pytest.mark.claim("ncp_large_beta_order")
def test_large_beta_form_error_decays_as_beta_minus_two():
    K, n, d, lam_w, lam_h = 4, 3, 6, SQ2, 0.3
    rng = np.random.default_rng(2)
    Y = class_indicator(K, n)
    H0 = ufm_minimizer(K, n, d, lam_w, lam_h, seed=1).H + 0.2 * rng.normal(size=(d, K * n))
    betas = np.array([50.0, 100.0, 200.0, 400.0])
    errs = []
    for beta in betas:
        s = solve_vicinity(H0, Y, lam_w, lam_h, beta)
        F = perturbation_operator(s.W, s.H, Y, lam_w, lam_h, beta)
        F5 = perturbation_operator(s.W, s.H, Y, lam_w, lam_h, beta, approx="large_beta")
        errs.append(np.linalg.norm(F - F5) / np.linalg.norm(F))
    slope = np.polyfit(np.log(betas), np.log(errs), 1)[0]
    assert abs(slope + 2) < 0.1


@pytest.mark.claim("ncp_spectrum")
@pytest.mark.parametrize("K,d,n,lam_w,lam_h", [(4, 10, 10, SQ2, 0.1), (4, 10, 10, SQ2, 0.5), (3, 10, 10, 0.5, 0.3),
                                                (5, 10, 6, 2.0, 0.05), (4, 12, 5, 0.1, 1.5)])
def test_closed_form_spectrum_matches_numerical_blocks(K, d, n, lam_w, lam_h):
    beta = 100.0
    m = ufm_minimizer(K, n, d, lam_w, lam_h, seed=3)
    F5 = perturbation_operator(m.W, m.H, m.Y, lam_w, lam_h, beta, approx="large_beta")
    spec = perturbation_spectrum(K, d, n, lam_w, lam_h, beta)
    for k in range(K):
        B = operator_block(F5, k, k, d, n)
        np.testing.assert_allclose(B, B.T, atol=1e-14)
        np.testing.assert_allclose(np.sort(np.linalg.eigvalsh(B))[::-1], spec.expanded(), atol=1e-10)
        sv = np.linalg.svd(operator_block(F5, k, (k + 1) % K, d, n), compute_uv=False)
        assert sv[0] == pytest.approx(spec.inter_class, rel=1e-10)
        assert sv[1] < 1e-12  # rank one
    sv = np.linalg.svd(operator_block(F5, 0, 0, d, n), compute_uv=False)
    assert beta >= np.sqrt(lam_h / lam_w)  # the theorem's hypothesis beta >= r holds on this grid
    assert sv[0] == pytest.approx(1.0, abs=1e-12) == pytest.approx(spec.sigma_max, abs=1e-12)
    assert sv[-1] == pytest.approx(1 - np.sqrt(lam_h / lam_w) / beta, abs=1e-12)
    assert sv[-1] == pytest.approx(spec.sigma_min, abs=1e-12)


@pytest.mark.claim("ncp_spectrum")
def test_extreme_singular_values_need_beta_at_least_r():
    # Boundary of the hypothesis beta >= r = sqrt(lam_H / lam_W): the reviewer's counterexample
    # lam_W = 0.01, lam_H = 0.5, beta = 5 (r = 7.07 > beta) satisfies "beta >> max(1, lam_H)" but the
    # eigenvalue 1 - r/beta = -0.414 is negative, so sigma_min is 0.414, not 1 - r/beta.
    K, d, n, lam_w, lam_h, beta = 3, 5, 3, 0.01, 0.5, 5.0
    r = np.sqrt(lam_h / lam_w)
    m = ufm_minimizer(K, n, d, lam_w, lam_h, seed=1)
    F5 = perturbation_operator(m.W, m.H, m.Y, lam_w, lam_h, beta, approx="large_beta")
    sv = np.linalg.svd(operator_block(F5, 0, 0, d, n), compute_uv=False)
    spec = perturbation_spectrum(K, d, n, lam_w, lam_h, beta)
    assert 1 - r / beta == pytest.approx(-0.41421356, abs=1e-8)
    assert sv.min() == pytest.approx(abs(1 - r / beta), abs=1e-10) == pytest.approx(spec.sigma_min, abs=1e-10)
    assert sv.min() != pytest.approx(1 - r / beta, abs=0.1)  # the unqualified formula is wrong here
    # just inside the hypothesis (beta = r) the formula holds: sigma_min = 0
    spec_r = perturbation_spectrum(K, d, n, lam_w, lam_h, r)
    assert spec_r.sigma_min == pytest.approx(0.0, abs=1e-12) and spec_r.sigma_max == pytest.approx(1.0)


@pytest.mark.claim("ncp_spectrum_sympy")
def test_spectrum_symbolically_on_small_case():
    """K=2, d=3, n=2: Hessian of N*f by SymPy differentiation, Schur complement, characteristic polynomial."""
    K, d, n = 2, 3, 2
    N = K * n
    c, r, beta = sp.symbols("c r beta", positive=True)
    lam_h, lam_w = c * r, c / r
    w = sp.Matrix(K, d, sp.symbols(f"w0:{K * d}"))
    h = sp.Matrix(d, N, sp.symbols(f"h0:{d * N}"))
    h0 = sp.Matrix(d, N, sp.symbols(f"g0:{d * N}"))
    Y = sp.Matrix(np.kron(np.eye(K), np.ones((1, n))).astype(int))

    def sq(M):
        return sum(x**2 for x in M)

    f = (sq(w * h - Y) + lam_h * sq(h) + beta * sq(h - h0)) / 2 + N * lam_w * sq(w) / (2 * K)
    wv = [w[k, i] for i in range(d) for k in range(K)]  # column-stacked
    hv = [h[i, j] for j in range(N) for i in range(d)]
    rho = (1 - c) / r  # (1-c) sqrt(lam_w/lam_h)
    point = {}
    for k in range(K):
        for i in range(d):
            point[w[k, i]] = r * sp.sqrt(rho) if i == k else 0  # W* = sqrt(lam_h/lam_w) sqrt(rho) R^T
        for j in range(n):
            for i in range(d):
                point[h[i, k * n + j]] = sp.sqrt(rho) if i == k else 0
    hess = sp.hessian(f, wv + hv).subs(point)
    A_ww = hess[: K * d, : K * d]
    A_hw = hess[K * d:, : K * d]
    A_hh = hess[K * d:, K * d:]
    # beta*(I - F5) = A_hh - beta I - A_hw A_ww^{-1} A_hw^T, independent of beta
    X = sp.simplify(A_hh - beta * sp.eye(d * N) - A_hw * A_ww.inv() * A_hw.T)
    assert all(sp.simplify(sp.diff(x, beta)) == 0 for x in X)
    x = sp.symbols("x")
    blk = X[: d * n, : d * n]
    charpoly = sp.factor(blk.charpoly(x).as_expr())
    mus = [(0, d - K), (lam_h, (d - K) * (n - 1)), (r, K * (n - 1)), (2 * lam_h * (1 - c), K - 1),
           (4 * lam_h * (1 - c), 1)]
    expected = sp.Mul(*[(x - mu) ** m for mu, m in mus])
    assert sp.simplify(sp.expand(charpoly - expected)) == 0
    off = X[: d * n, d * n:]
    assert off.rank(simplify=True) == 1
    # its nonzero singular value equals 2 lam_h (1-c): the only nonzero eigenvalue of off^T off
    ev = [e for e in (off.T * off).eigenvals() if sp.simplify(e) != 0]
    assert len(ev) == 1 and sp.simplify(ev[0] - (2 * lam_h * (1 - c)) ** 2) == 0


def test_invalid_arguments_raise():
    with pytest.raises(ValueError, match=r"^d must lie in"):  # names the parameter, not just any "d"
        perturbation_spectrum(4, 4, 3, 0.5, 0.5, 100.0)
    with pytest.raises(ValueError, match="lam_w \\* lam_h"):
        perturbation_spectrum(3, 5, 3, 2.0, 0.6, 100.0)
    with pytest.raises(ValueError, match="beta"):
        perturbation_spectrum(3, 5, 3, 0.5, 0.5, 0.0)
    m = ufm_minimizer(2, 2, 3, 0.5, 0.5)
    with pytest.raises(ValueError, match="approx"):
        perturbation_operator(m.W, m.H, m.Y, 0.5, 0.5, 10.0, approx="second_order")
    with pytest.raises(ValueError, match="W must have shape"):
        perturbation_operator(m.W.T, m.H, m.Y, 0.5, 0.5, 10.0)


def test_newton_jacobian_is_the_exact_reduced_hessian():
    # the Jacobian solve_vicinity uses for its Newton steps, against central finite differences of
    # the residual G(H) + beta (H - H0) built from the public field (independent of the Hessian code),
    # at a random, non-stationary H so that the residual term E of A_HW is exercised too
    from lossbook.collapse import central_path_field
    from lossbook.collapse.perturbation import _reduced_hessian
    from lossbook.collapse.ufm import optimal_classifier

    rng = np.random.default_rng(11)
    K, n, d, lam_w, lam_h, beta = 3, 2, 4, 0.6, 0.25, 3.0
    Y = class_indicator(K, n)
    N = K * n
    H, H0 = rng.normal(size=(d, N)), rng.normal(size=(d, N))

    def resid(h):
        Hm = h.reshape(d, N, order="F")
        return (central_path_field(Hm, Y, lam_w, lam_h) + beta * (Hm - H0)).ravel(order="F")

    h, eps = H.ravel(order="F"), 1e-5
    J_fd = np.column_stack([(resid(h + eps * e) - resid(h - eps * e)) / (2 * eps) for e in np.eye(d * N)])
    J = _reduced_hessian(optimal_classifier(H, Y, lam_w), H, Y, lam_w, lam_h, beta)
    # central differences: truncation O(eps^2) ~ 1e-10 and rounding O(1e-16/eps) ~ 1e-11 on O(1)
    # entries (measured max deviation 7e-11 against max |J| = 3.4); 1e-8 relative is a margin that
    # still catches any wrong Hessian term, which would be O(1)
    np.testing.assert_allclose(J, J_fd, atol=1e-8 * max(1.0, np.abs(J_fd).max()))


def test_vicinity_newton_polish_agrees_with_independent_root_finder():
    # solve_vicinity (L-BFGS + exact-Jacobian Newton) against SciPy's hybrid root finder (its own
    # finite-difference Jacobian) started from the L-BFGS point without polishing
    from scipy.optimize import root

    from lossbook.collapse import central_path_field

    rng = np.random.default_rng(12)
    K, n, d, lam_w, lam_h, beta = 3, 3, 5, SQ2, 0.3, 4.0
    m = ufm_minimizer(K, n, d, lam_w, lam_h, seed=0)
    H0 = m.H + 0.3 * rng.normal(size=m.H.shape)
    s = solve_vicinity(H0, m.Y, lam_w, lam_h, beta)
    s0 = solve_vicinity(H0, m.Y, lam_w, lam_h, beta, gtol=1e-6, newton_steps=0)
    sh = H0.shape

    def resid(h):
        Hm = h.reshape(sh, order="F")
        return (central_path_field(Hm, m.Y, lam_w, lam_h) + beta * (Hm - H0)).ravel(order="F")

    r = root(resid, s0.H.ravel(order="F"), method="hybr", options={"xtol": 1e-14})
    assert r.success and np.max(np.abs(resid(r.x))) < 1e-10
    assert s.grad_norm < 1e-12
    # both are roots of the same equation to ~1e-15; the residual Jacobian there has smallest
    # eigenvalue ~4 (measured), so the roots agree to ~1e-15 (measured 3e-17), while the unpolished
    # L-BFGS point is 2e-8 away (measured): 1e-10 separates the two with margin
    assert np.max(np.abs(s0.H - s.H)) > 1e-10
    np.testing.assert_allclose(s.H, r.x.reshape(sh, order="F"), atol=1e-10)


@pytest.mark.claim("ncp_energy_split")
def test_responses_are_intra_class_by_energy_within_the_spectral_bound():
    K, d, n, lam_w, lam_h, beta = 4, 10, 10, SQ2, 0.3, 100.0
    m = ufm_minimizer(K, n, d, lam_w, lam_h, seed=0)
    F = perturbation_operator(m.W, m.H, m.Y, lam_w, lam_h, beta)
    share = intra_inter_energy(F, K, d, n, n_draws=200, seed=7)
    spec = perturbation_spectrum(K, d, n, lam_w, lam_h, beta)
    assert share.inter_share <= (K - 1) * spec.inter_class**2 / spec.sigma_min**2 * (1 + 1e-3)
    # independent value: for standard Gaussian dH0, E||inter||^2 / E||intra||^2 is a ratio of Frobenius norms
    mblk = d * n
    fro_inter = sum(np.sum(F[k * mblk:(k + 1) * mblk, l * mblk:(l + 1) * mblk] ** 2)
                    for k in range(K) for l in range(K) if l != k)
    fro_intra = sum(np.sum(F[k * mblk:(k + 1) * mblk, k * mblk:(k + 1) * mblk] ** 2) for k in range(K))
    # 200 draws in 400 dimensions: the per-draw ratio concentrates; 5% covers the Monte Carlo error (measured ~1%)
    assert share.inter_share == pytest.approx(fro_inter / fro_intra, rel=0.05)
    assert share.intra_gain == pytest.approx(fro_intra / F.shape[0], rel=0.05)


def test_energy_split_detects_inter_class_coupling():
    # an operator that moves every class by the sum over classes is far from intra-class
    F = np.kron(np.ones((3, 3)), np.eye(4))
    share = intra_inter_energy(F, 3, 2, 2, n_draws=500, seed=1)
    assert share.inter_share == pytest.approx(2.0, rel=0.1)  # two equal inter terms vs one intra term
    with pytest.raises(ValueError, match="F must have shape"):
        intra_inter_energy(F, 2, 2, 2, seed=0)
