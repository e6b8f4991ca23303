"""Estimators: unbiasedness of the linear Q estimator, Lemma 2 (magnitude reduction), MGR bias."""

import itertools

import numpy as np
import pytest

from lossbook.regret import (
    estimator_means,
    feature_covariance,
    magnitude_reduce,
    make_linear_mdp,
    mgr_inverse,
    q_hat,
)

# ------------------------------------------------------------------------------------------
# Lemma 2: magnitude reduction
# ------------------------------------------------------------------------------------------


def _random_discrete(rng):
    n = int(rng.integers(2, 7))
    z = rng.normal(size=n) * 10 ** rng.uniform(-1, 2)
    if rng.random() < 0.5:                      # a rare, very negative atom
        z[0] = -10 ** rng.uniform(2, 6)
    p = rng.dirichlet(np.full(n, 0.5))
    if rng.random() < 0.5:
        p[0] = 10 ** rng.uniform(-6, -1)
        p /= p.sum()
    return z, p


@pytest.mark.claim("amdp_lemma2")
def test_lemma2_by_exact_enumeration_on_random_discrete_distributions():
    rng = np.random.default_rng(0)
    worst_ratio = 0.0
    for _ in range(20_000):
        z, p = _random_discrete(rng)
        zh = magnitude_reduce(z, p)
        EZ, EZ2 = p @ z, p @ z**2
        Eneg = p @ np.minimum(z, 0.0)
        scale = p @ np.abs(z)
        assert abs(p @ zh - EZ) <= 1e-12 * scale                     # same mean
        assert p @ zh**2 <= EZ2 * (1 + 1e-12)                        # sharper than the paper's 4 E Z^2
        assert np.all(zh >= Eneg - 1e-12 * scale)                    # lower end moved up to E[min(Z,0)]
        assert Eneg >= -np.sqrt(EZ2) * (1 + 1e-12)
        worst_ratio = max(worst_ratio, (p @ zh**2) / EZ2)
    assert worst_ratio <= 1.0 + 1e-12


def test_magnitude_reduction_with_simulated_expectation_is_unbiased_by_monte_carlo():
    # Z ~ 2 + Student-t(3): E Z = 2, Var Z = 3. E[min(Z,0)] is estimated from an independent
    # "simulator" sample of size m for every draw (the loss-free situation); since the correction
    # enters linearly, hat Z stays unbiased. Tolerance: 4 standard errors of the sample mean.
    rng = np.random.default_rng(1)
    N, m = 200_000, 8
    z = 2.0 + rng.standard_t(3, size=N)
    sim = 2.0 + rng.standard_t(3, size=(N, m))
    zh = np.maximum(z, 0.0) + np.minimum(sim, 0.0).mean(axis=1)
    se = zh.std(ddof=1) / np.sqrt(N)
    assert abs(zh.mean() - 2.0) <= 4 * se
    assert np.mean(zh**2) <= np.mean(z**2)


def test_magnitude_reduce_rejects_bad_inputs():
    with pytest.raises(ValueError, match="probs"):
        magnitude_reduce([1.0, 2.0], [0.5, 0.6])
    with pytest.raises(ValueError, match="probs"):
        magnitude_reduce([1.0, 2.0], [-0.5, 1.5])
    with pytest.raises(ValueError, match="same shape"):
        magnitude_reduce([1.0, 2.0, 3.0], [0.5, 0.5])
    with pytest.raises(ValueError, match="values"):
        magnitude_reduce([np.inf, 1.0], [0.5, 0.5])


# ------------------------------------------------------------------------------------------
# Linear Q estimator: exact enumeration over trajectories and Monte Carlo
# ------------------------------------------------------------------------------------------


def _tiny_instance(seed=0):
    mdp = make_linear_mdp(2, 3, 3, 3, alpha=1.0, seed=seed)
    rng = np.random.default_rng(seed + 100)
    pi = rng.dirichlet(np.ones(3), size=(2, 3))
    theta = rng.uniform(0, 1, size=(2, 3))
    ell = np.einsum("hsaj,hj->hsa", mdp.phi, theta)     # linear losses, so every Q^pi is linear
    return mdp, pi, ell


def _enumerate(mdp, pi):
    """All trajectories ((s1, a1), (s2, a2)) with probabilities, by brute force."""
    for s1, a1, s2, a2 in itertools.product(range(3), repeat=4):
        p = mdp.rho[s1] * pi[0, s1, a1] * mdp.P[0, s1, a1, s2] * pi[1, s2, a2]
        yield p, (s1, a1), (s2, a2)


def _brute_force_moments(mdp, pi):
    """Occupancy, covariance and E[L_h | s_h, a_h] (= Q) computed by enumeration, not by DP."""
    mu = np.zeros((2, 3))
    Sig = np.zeros((2, 3, 3))
    for p, (s1, _a1), (s2, _a2) in _enumerate(mdp, pi):
        mu[0, s1] += p
        mu[1, s2] += p
    for h in range(2):
        for s in range(3):
            for a in range(3):
                f = mdp.phi[h, s, a]
                Sig[h] += mu[h, s] * pi[h, s, a] * np.outer(f, f)
    return mu, Sig


def _q_by_enumeration(mdp, pi, ell):
    num = np.zeros((2, 3, 3))
    den = np.zeros((2, 3, 3))
    for p, (s1, a1), (s2, a2) in _enumerate(mdp, pi):
        L2 = ell[1, s2, a2]
        L1 = ell[0, s1, a1] + L2
        num[0, s1, a1] += p * L1
        den[0, s1, a1] += p
        num[1, s2, a2] += p * L2
        den[1, s2, a2] += p
    return num / den


@pytest.mark.claim("amdp_unbiased")
def test_linear_q_estimator_is_unbiased_by_exact_enumeration():
    mdp, pi, ell = _tiny_instance()
    _, Sig = _brute_force_moments(mdp, pi)
    np.testing.assert_allclose(feature_covariance(mdp, pi), Sig, atol=1e-14)
    Sinv = np.linalg.inv(Sig)
    Q = _q_by_enumeration(mdp, pi, ell)
    mean = np.zeros((2, 3, 3))
    for p, (s1, a1), (s2, a2) in _enumerate(mdp, pi):
        L2 = ell[1, s2, a2]
        L1 = ell[0, s1, a1] + L2
        mean[0] += p * q_hat(mdp, 0, Sinv[0], s1, a1, L1)
        mean[1] += p * q_hat(mdp, 1, Sinv[1], s2, a2, L2)
    assert np.max(np.abs(mean - Q)) <= 1e-12
    np.testing.assert_allclose(estimator_means(mdp, pi, ell).plain, Q, atol=1e-12)


def test_linear_q_estimator_is_unbiased_by_monte_carlo():
    mdp, pi, ell = _tiny_instance(seed=3)
    Q = _q_by_enumeration(mdp, pi, ell)
    Sinv = np.linalg.inv(feature_covariance(mdp, pi))
    rng = np.random.default_rng(5)
    N = 100_000
    s1 = rng.choice(3, size=N, p=mdp.rho)
    u = rng.random((N, 3))
    a1 = (u[:, [0]] > np.cumsum(pi[0, s1], axis=1)).sum(axis=1)
    s2 = (u[:, [1]] > np.cumsum(mdp.P[0, s1, a1], axis=1)).sum(axis=1)
    a2 = (u[:, [2]] > np.cumsum(pi[1, s2], axis=1)).sum(axis=1)
    L2 = ell[1, s2, a2]
    L1 = ell[0, s1, a1] + L2
    for h, (s, a, L) in enumerate([(s1, a1, L1), (s2, a2, L2)]):
        c = mdp.phi[h].reshape(-1, 3) @ Sinv[h] @ mdp.phi[h, s, a].T      # (9, N)
        est = c * L
        se = est.std(axis=1, ddof=1) / np.sqrt(N)
        # 18 comparisons at 4.5 standard errors: a false alarm has probability <= 18 x 6.8e-6 = 1.2e-4
        assert np.all(np.abs(est.mean(axis=1) - Q[h].ravel()) <= 4.5 * se)


def test_regularised_estimator_mean_matches_closed_form():
    # E hatQ = phi^T (gamma I + Sigma)^{-1} Sigma theta^pi (theta^pi exists because the MDP is linear)
    mdp, pi, ell = _tiny_instance(seed=1)
    Q = _q_by_enumeration(mdp, pi, ell)
    _, Sig = _brute_force_moments(mdp, pi)
    gamma = 0.05
    means = estimator_means(mdp, pi, ell, gamma=gamma)
    for h in range(2):
        F = mdp.phi[h].reshape(-1, 3)
        theta, *_ = np.linalg.lstsq(F, Q[h].ravel(), rcond=None)
        np.testing.assert_allclose(F @ theta, Q[h].ravel(), atol=1e-12)           # Q is linear
        pred = F @ np.linalg.solve(gamma * np.eye(3) + Sig[h], Sig[h] @ theta)
        np.testing.assert_allclose(means.plain[h].ravel(), pred, atol=1e-12)


@pytest.mark.claim("amdp_plugin_bias")
def test_plugin_magnitude_reduction_bias_matches_enumeration():
    # The loss-free plug-in replaces E[min(hatQ,0)] by L_h E[min(c,0)]; its exact mean is computed
    # here by enumerating trajectories and compared with estimator_means; it is biased.
    mdp, pi, ell = _tiny_instance(seed=2)
    mu, Sig = _brute_force_moments(mdp, pi)
    gamma = 0.01
    Sp = np.linalg.inv(gamma * np.eye(3) + Sig)
    mean_plug = np.zeros((2, 3, 3))
    mean_orc = np.zeros((2, 3, 3))
    Q = _q_by_enumeration(mdp, pi, ell)
    for h in range(2):
        F = mdp.phi[h].reshape(-1, 3)
        C = F @ Sp[h] @ F.T
        w = (mu[h][:, None] * pi[h]).ravel()
        e_negc = np.minimum(C, 0) @ w
        e_negq = np.minimum(C, 0) @ (w * Q[h].ravel())
        for p, (s1, a1), (s2, a2) in _enumerate(mdp, pi):
            L2 = ell[1, s2, a2]
            L1 = ell[0, s1, a1] + L2
            s, a, L = (s1, a1, L1) if h == 0 else (s2, a2, L2)
            qh = C[:, s * 3 + a] * L
            mean_plug[h] += p * (np.maximum(qh, 0) + L * e_negc).reshape(3, 3)
            mean_orc[h] += p * (np.maximum(qh, 0) + e_negq).reshape(3, 3)
    means = estimator_means(mdp, pi, ell, gamma=gamma)
    np.testing.assert_allclose(means.mr_plugin, mean_plug, atol=1e-12)
    np.testing.assert_allclose(means.mr_oracle, mean_orc, atol=1e-12)
    np.testing.assert_allclose(mean_orc, means.plain, atol=1e-12)     # the oracle version keeps the mean
    assert np.max(np.abs(mean_plug - mean_orc)) > 1e-6                  # the plug-in does not


def test_estimator_means_rejects_singular_covariance_without_regularisation():
    # a deterministic policy on a one-state layer spans one feature direction, so Sigma_h has rank 1 < d
    mdp = make_linear_mdp(1, 1, 2, 3, seed=0)
    pi = np.array([[[1.0, 0.0]]])
    with pytest.raises(ValueError, match="gamma"):
        estimator_means(mdp, pi, np.zeros((1, 1, 2)))
    assert np.all(np.isfinite(estimator_means(mdp, pi, np.zeros((1, 1, 2)), gamma=0.1).plain))


def test_q_hat_rejects_bad_inputs():
    mdp = make_linear_mdp(1, 2, 2, 3, seed=0)
    with pytest.raises(ValueError, match="sigma_plus"):
        q_hat(mdp, 0, np.eye(2), 0, 0, 1.0)
    with pytest.raises(ValueError, match="state"):
        q_hat(mdp, 0, np.eye(3), 5, 0, 1.0)
    with pytest.raises(ValueError, match="h"):
        q_hat(mdp, 1, np.eye(3), 0, 0, 1.0)
    with pytest.raises(TypeError, match="mdp"):
        q_hat("mdp", 0, np.eye(3), 0, 0, 1.0)


# ------------------------------------------------------------------------------------------
# Matrix Geometric Resampling
# ------------------------------------------------------------------------------------------


def _mgr_mean(Sig, beta, gamma, M):
    d = Sig.shape[0]
    G = gamma * np.eye(d) + Sig
    return np.linalg.solve(G, np.eye(d) - np.linalg.matrix_power(np.eye(d) - beta * G, M + 1))


@pytest.mark.claim("amdp_mgr_bias")
def test_mgr_mean_and_geometric_bias():
    rng = np.random.default_rng(7)
    d = 3
    X = rng.dirichlet(np.full(d, 0.5), size=12)           # support of the feature distribution
    w = rng.dirichlet(np.ones(12))
    Sig = np.einsum("n,ni,nj->ij", w, X, X)
    gamma, beta, M, R = 0.05, 0.5, 20, 4000
    draws = np.array([mgr_inverse(np.einsum("ni,nj->nij", X[idx], X[idx]), beta, gamma)
                      for idx in rng.choice(12, size=(R, M), p=w)])
    pred = _mgr_mean(Sig, beta, gamma, M)
    se = draws.std(axis=0, ddof=1) / np.sqrt(R)
    # 9 entries at 5 standard errors (R = 4000, so the CLT applies): false alarm <= 9 x 5.7e-7
    assert np.all(np.abs(draws.mean(axis=0) - pred) <= 5 * se + 1e-12)
    assert np.all(np.linalg.norm(draws, 2, axis=(1, 2)) <= beta * (M + 1) * (1 + 1e-12))
    # Bias of the mean: the eigen-direction of lambda_min decays as (1 - beta(gamma + lambda_min))^(M+1)
    lam_min = np.linalg.eigvalsh(Sig)[0]
    target = np.linalg.inv(gamma * np.eye(d) + Sig)
    for m in (10, 40, 160):
        bias = np.linalg.norm(_mgr_mean(Sig, beta, gamma, m) - target, 2)
        np.testing.assert_allclose(bias, (1 - beta * (gamma + lam_min)) ** (m + 1) / (gamma + lam_min), rtol=1e-9)
        # with deterministic samples equal to Sigma, mgr_inverse returns that mean exactly
        np.testing.assert_allclose(mgr_inverse(np.repeat(Sig[None], m, axis=0), beta, gamma),
                                   _mgr_mean(Sig, beta, gamma, m), atol=1e-12)


def test_mgr_rejects_too_large_step():
    with pytest.raises(ValueError, match="beta"):
        mgr_inverse(np.repeat(np.eye(2)[None] * 3.0, 4, axis=0), 0.5, 0.0)


def test_magnitude_reduced_qhat_is_bounded_below_by_h_over_sqrt_gamma_on_the_testbed():
    # Lemma 2 (iii) applied to hatQ (chapter, after Lemma amdp-lemma-mr): E hatQ(s,a)^2 <= H^2 / gamma
    # because ||phi|| <= 1, so the reduced estimate is >= -H / sqrt(gamma), while the raw estimate
    # can reach far below. Exact distribution of hatQ at H = 1 (L = ell of the sampled pair), for a
    # nearly deterministic policy (thin coverage) and gamma = 1e-4.
    mdp = make_linear_mdp(1, 5, 4, 5, seed=8)
    rng = np.random.default_rng(9)
    gamma = 1e-4
    worst_raw, worst_red = 0.0, 0.0
    for _ in range(20):
        pi = rng.dirichlet(np.full(4, 0.05), size=(1, 5))
        pi = np.clip(pi, 1e-6, None)
        pi /= pi.sum(axis=-1, keepdims=True)
        ell = np.einsum("saj,j->sa", mdp.phi[0], rng.uniform(size=5))
        w = (mdp.rho[:, None] * pi[0]).ravel()
        F = mdp.phi[0].reshape(-1, 5)
        c = F @ np.linalg.inv(gamma * np.eye(5) + F.T @ (w[:, None] * F)) @ F.T
        for i in range(F.shape[0]):
            z = c[i] * ell.ravel()
            worst_raw = min(worst_raw, z.min())
            zr = magnitude_reduce(z, w)
            worst_red = min(worst_red, zr.min())
            assert zr.min() >= -1.0 / np.sqrt(gamma) * (1 + 1e-9)
    # measured: raw minimum -600, reduced minimum -3.7, bound -100
    assert worst_raw < -1.0 / np.sqrt(gamma)    # the reduction is what brings it inside the bound


def test_mgr_inverse_refuses_non_symmetric_and_indefinite_samples():
    # issue #12: both were accepted and returned values of order 1e18
    from lossbook.regret import mgr_inverse

    with pytest.raises(ValueError, match="symmetric"):
        mgr_inverse(np.array([[[1.0, 0.5], [0.0, 1.0]]]), beta=0.5, gamma=0.0)
    with pytest.raises(ValueError, match="positive semi-definite"):
        mgr_inverse(np.array([[[1.0, 0.0], [0.0, -0.5]]]), beta=0.5, gamma=0.0)
    # the boundary of the hypothesis: a PSD sample with a zero eigenvalue is accepted
    out = mgr_inverse(np.array([[[1.0, 0.0], [0.0, 0.0]]] * 3), beta=0.5, gamma=0.0)
    assert np.all(np.isfinite(out))
