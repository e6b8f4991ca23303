"""Learners: the Numba episode loop against the NumPy reference, sublinear regret, slope fits."""

import itertools

import numpy as np
import pytest

from lossbook.regret import (
    DilatedBonusBaseline,
    ExpWeightsPolicyOptimizer,
    LogBarrierPolicyOptimizer,
    MagnitudeReducedPolicyOptimizer,
    feature_covariance,
    fit_regret_slope,
    loss_table,
    magnitude_reduce,
    make_linear_mdp,
    make_loss_schedule,
    negative_estimate_probability,
    occupancy,
    q_hat,
    regret_grid,
    tune_constants,
    uniform_policy_regret,
)

LEARNERS = [
    LogBarrierPolicyOptimizer(),
    MagnitudeReducedPolicyOptimizer(mode="oracle"),
    MagnitudeReducedPolicyOptimizer(mode="plugin"),
    DilatedBonusBaseline(),
    ExpWeightsPolicyOptimizer(),
]


@pytest.mark.parametrize("H,S", [(1, 6), (3, 4)])
@pytest.mark.parametrize("learner", LEARNERS, ids=repr)
def test_numba_episode_loop_equals_numpy_reference(learner, H, S):
    # Same uniforms, same algorithm. Over 60 episodes the two engines agree to ~1e-12; longer runs
    # drift apart because the regularised covariance becomes ill-conditioned (gamma ~ 1/K) and
    # amplifies rounding differences between LAPACK and the kernel's Gauss-Jordan inverse
    # (measured: 1e-15 after 20 episodes, 1e-8 after 200 at H=3), so 60 episodes and 1e-9.
    mdp = make_linear_mdp(H, S, 3, 4, seed=11)
    theta = make_loss_schedule(mdp, 60, "switch", block=5, seed=12)
    a = learner.run(mdp, theta, 60, seed=13)
    b = learner.run(mdp, theta, 60, seed=13, engine="numpy")
    np.testing.assert_allclose(a.expected_losses, b.expected_losses, atol=1e-9)
    np.testing.assert_allclose(a.observed_losses, b.observed_losses, atol=1e-9)
    np.testing.assert_allclose(a.final_policy, b.final_policy, atol=1e-9)
    assert a.pseudo_regret == pytest.approx(b.pseudo_regret, abs=1e-7)


def test_pseudo_regret_terms_match_independent_computations():
    mdp = make_linear_mdp(2, 3, 3, 3, seed=0)
    theta = make_loss_schedule(mdp, 200, seed=0)
    run = LogBarrierPolicyOptimizer().run(mdp, theta, 200, seed=0)
    ells = np.einsum("hsaj,khj->khsa", mdp.phi, theta)
    # comparator: brute force over all 3^6 deterministic policies, each valued by the forward
    # occupancy (not the backward DP used by best_fixed_policy)
    best = np.inf
    for choice in itertools.product(range(3), repeat=6):
        pi = np.zeros((2, 3, 3))
        pi[[0, 0, 0, 1, 1, 1], [0, 1, 2, 0, 1, 2], choice] = 1.0
        best = min(best, float(np.sum(occupancy(mdp, pi)[:, :, None] * pi * ells.sum(axis=0))))
    assert run.comparator_loss == pytest.approx(best, abs=1e-9)
    # episode 1 plays the uniform policy (all cumulative estimates are zero), so its expected loss
    # is the uniform policy's value, computed here by the forward occupancy
    unif = np.full((2, 3, 3), 1.0 / 3.0)
    v1 = float(np.sum(occupancy(mdp, unif)[:, :, None] * unif * ells[0]))
    assert run.expected_losses[0] == pytest.approx(v1, abs=1e-12)
    assert run.pseudo_regret == pytest.approx(run.expected_losses.sum() - best, abs=1e-9)
    # realised episode losses scatter around the expected ones (H=2, losses in [0,1] => sd <= 2)
    diff = run.observed_losses - run.expected_losses
    assert abs(diff.mean()) <= 4 * 2 / np.sqrt(200)


def test_uniform_policy_regret_is_exactly_linear():
    mdp = make_linear_mdp(1, 6, 4, 5, seed=0)
    Ks = [1000, 3000, 10_000]
    theta = make_loss_schedule(mdp, max(Ks), "switch", seed=1)
    uni = np.array([[uniform_policy_regret(mdp, theta, K)] for K in Ks])
    assert fit_regret_slope(Ks, uni, n_boot=20).slope == pytest.approx(1.0, abs=1e-9)


def test_default_constants_are_the_chapters_tuned_ones():
    # learners.py states that its defaults are what the chapter's H = 1 tuning chose
    assert (LogBarrierPolicyOptimizer().c_eta, LogBarrierPolicyOptimizer().c_beta) == (64.0, 0.0)
    assert (MagnitudeReducedPolicyOptimizer().c_eta, MagnitudeReducedPolicyOptimizer().c_beta) == (4.0, 0.0)
    assert (DilatedBonusBaseline().c_eta, DilatedBonusBaseline().c_beta) == (256.0, 0.0)
    assert (ExpWeightsPolicyOptimizer().c_eta, ExpWeightsPolicyOptimizer().c_beta) == (4.0, 0.0)


@pytest.mark.claim("amdp_bound_h1")
def test_the_three_inequalities_of_the_h1_bound_on_random_instances():
    # stability: E_s sum_a pi E[hatQ^2] <= tr(S+ S S+ S) <= d (equality tr = d at gamma = 0);
    # bias: |gamma phi^T S+ theta| <= gamma ||theta|| / lambda_min;
    # magnitude-reduced floor: E min(hatQ, 0) >= -1/sqrt(gamma). All by exact enumeration.
    rng = np.random.default_rng(9)
    for _ in range(30):
        mdp = make_linear_mdp(1, int(rng.integers(2, 6)), int(rng.integers(2, 5)), int(rng.integers(2, 5)),
                              seed=int(rng.integers(10**6)))
        pol = rng.dirichlet(np.ones(mdp.A), size=(1, mdp.S))
        th = rng.random(mdp.d)
        ell = mdp.phi @ th
        Sig = feature_covariance(mdp, pol)[0]
        lam0 = np.linalg.eigvalsh(Sig).min()
        w = (mdp.rho[:, None] * pol[0]).ravel()
        F = mdp.phi[0].reshape(-1, mdp.d)
        for g in (0.0, 1e-3, 0.1):
            Sp = np.linalg.inv(g * np.eye(mdp.d) + Sig)
            vals = (F @ Sp @ F.T) * ell[0].ravel()[None, :]
            stab = w @ (vals**2 @ w)
            tr = np.trace(Sp @ Sig @ Sp @ Sig)
            assert stab <= tr + 1e-9 and tr <= mdp.d + 1e-9
            if g == 0.0:
                assert tr == pytest.approx(mdp.d, rel=1e-9)
            assert np.max(np.abs(g * F @ Sp @ th)) <= g * np.linalg.norm(th) / lam0 + 1e-12
            if g > 0:
                assert np.min(np.minimum(vals, 0.0) @ w) >= -1.0 / np.sqrt(g)


# The chapter's slope experiment, reproduced with fewer seeds and K points
# ------------------------------------------------------------------------------------------


# The chapter's tuning grids (H = 1: four held-out seeds; H = 3: two) and the constants they pick.
ETA_GRID, BETA_GRID, TUNE_SEEDS = [0.25, 1, 4, 16, 64, 256, 1024], [0.0, 0.01, 0.1], [1000, 1001, 1002, 1003]
ETA_GRID3, BETA_GRID3, TUNE_SEEDS3 = [1, 4, 16, 64, 256], [0.0, 0.01, 0.1], [1000, 1001]


def _interior(value, grid):
    return min(grid) < value < max(grid)


@pytest.fixture(scope="module")
def h1_protocol():
    # Same instance, tuning grids, tuning horizon and tuning seeds as the chapter (so the same frozen constants);
    # evaluation on 4 seeds and K in {1e3, 1e4, 1e5} instead of 10 seeds and five K.
    mdp = make_linear_mdp(1, 6, 4, 5, seed=0)
    Ks = [1000, 10_000, 100_000]
    theta = make_loss_schedule(mdp, max(Ks), "switch", seed=1)
    no_bonus = dict(c_eta_grid=ETA_GRID, c_beta_grid=[0.0], seeds=TUNE_SEEDS)
    learners = {
        "a1": tune_constants(LogBarrierPolicyOptimizer, mdp, theta, 10_000, **no_bonus)[0],
        "a2": tune_constants(MagnitudeReducedPolicyOptimizer, mdp, theta, 10_000, **no_bonus)[0],
        "ew": tune_constants(ExpWeightsPolicyOptimizer, mdp, theta, 10_000, **no_bonus)[0],
        "b1": tune_constants(DilatedBonusBaseline, mdp, theta, 10_000, c_eta_grid=ETA_GRID, c_beta_grid=BETA_GRID,
                             seeds=TUNE_SEEDS)[0],
    }
    grids = {n: regret_grid(L, mdp, theta, Ks, range(4)) for n, L in learners.items()}
    fits = {n: fit_regret_slope(Ks, R, n_boot=500) for n, R in grids.items()}
    return mdp, theta, learners, grids, fits


@pytest.mark.claim("amdp_slope_h1")
def test_every_learner_has_an_exponent_below_one_half_on_the_h1_instance(h1_protocol):
    # The claim is about the fitted exponents (the chapter reports their 10-seed intervals). With 4 seeds the
    # intervals are wider: measured point estimates 0.33-0.41 (B1 about 0), upper limits up to 0.53 (EW).
    _, _, learners, _, fits = h1_protocol
    for n, L in learners.items():
        assert _interior(L.c_eta, ETA_GRID), L
        assert fits[n].slope < 0.5 and fits[n].ci_high < 0.6, (n, fits[n])


@pytest.mark.claim("amdp_visibility")
def test_the_k23_baseline_has_the_lowest_regret_on_the_h1_instance(h1_protocol):
    _, _, learners, _, fits = h1_protocol
    assert learners["b1"].c_beta == 0.0  # the tuning switches the bonus off at H = 1
    assert fits["b1"].slope < min(fits["a1"].slope, fits["a2"].slope)
    assert fits["b1"].mean_regret[-1] < min(fits["a1"].mean_regret[-1], fits["a2"].mean_regret[-1])


@pytest.mark.claim("amdp_ablation")
def test_the_ablation_has_more_regret_than_both_new_methods(h1_protocol):
    # measured at full size: EW/A1 = 1.24, EW/A2 = 1.25 at K = 1e5
    _, _, _, grids, _ = h1_protocol
    assert grids["ew"][-1].mean() > max(grids["a1"][-1].mean(), grids["a2"][-1].mean())


@pytest.mark.claim("amdp_binding_claim")
def test_the_exponential_weights_condition_binds_at_larger_learning_rates(h1_protocol):
    mdp, theta, learners, _, _ = h1_protocol
    K = 10_000

    def p(L):
        r = L.rates(K)
        return negative_estimate_probability(mdp, L.run(mdp, theta, K, seed=0).final_policy,
                                             loss_table(mdp, theta[K - 1]), r.eta, r.gamma)

    p_tuned = p(learners["ew"])
    p_large = max(p(ExpWeightsPolicyOptimizer(c, 0.0, 1.0)) for c in (64.0, 256.0))
    assert p_large > 0.2 and p_tuned < 0.1  # measured 0.46 and 0.03


@pytest.mark.claim("amdp_slope_h3")
def test_three_layer_slope_protocol_at_reduced_size():
    # The chapter's H = 3 slope experiment (same instance, switching schedule, tuning grid and seeds,
    # K grid) with 4 evaluation seeds instead of 10. Measured at this size: A1 0.54 [0.47, 0.61],
    # B1 0.55 [0.51, 0.60]; regret at 1e5 1868 and 2672.
    mdp = make_linear_mdp(3, 5, 4, 6, seed=3)
    Ks = [1000, 10_000, 100_000]
    theta = make_loss_schedule(mdp, max(Ks), "switch", block=50, seed=4)
    tune = dict(c_eta_grid=ETA_GRID3, c_beta_grid=BETA_GRID3, seeds=TUNE_SEEDS3)
    a1, _ = tune_constants(LogBarrierPolicyOptimizer, mdp, theta, 10_000, **tune)
    b1, _ = tune_constants(DilatedBonusBaseline, mdp, theta, 10_000, **tune)
    assert _interior(a1.c_eta, ETA_GRID3) and _interior(b1.c_eta, ETA_GRID3)
    fa, fb = (fit_regret_slope(Ks, regret_grid(L, mdp, theta, Ks, range(4)), n_boot=500) for L in (a1, b1))
    assert fa.slope > 0.4 and fb.slope > 0.4                             # both exponents in (0.4, 2/3) ...
    assert fa.ci_high < 2.0 / 3.0 and fb.ci_high < 2.0 / 3.0
    assert fb.ci_low <= fa.ci_high and fa.ci_low <= fb.ci_high           # ... with overlapping intervals
    assert fa.mean_regret[-1] < fb.mean_regret[-1]                       # A1 lower regret at K = 1e5


@pytest.mark.claim("amdp_bonus_search")
def test_tuning_switches_the_bonus_off_on_the_searched_instances():
    for alpha, H, seed, kind in [(0.05, 3, 3, "switch"), (0.05, 2, 5, "switch"), (0.1, 3, 7, "drift"),
                                 (0.05, 3, 11, "stationary")]:
        mdp = make_linear_mdp(H, 5, 4, 6, alpha=alpha, seed=seed)
        theta = make_loss_schedule(mdp, 3_000, kind, seed=4)
        best, _ = tune_constants(DilatedBonusBaseline, mdp, theta, 3_000, c_eta_grid=[4, 16, 64, 256],
                                 c_beta_grid=[0.0, 0.03, 0.1, 0.3, 1.0], seeds=[1000, 1001])
        assert best.c_beta == 0.0, (alpha, H, seed, kind, best)


@pytest.mark.claim("amdp_h3_schedules")
def test_three_layer_instance_beats_uniform_under_three_adversaries():
    # The chapter's H = 3 sanity check (same instance and schedules; A1 and B1 at the constants the
    # chapter's H = 3 tuning picks, checked by the test above; A2 at its H = 1 constants), with one
    # seed instead of three: every learner's regret is below half of the uniform policy's.
    mdp = make_linear_mdp(3, 5, 4, 6, seed=3)
    K = 10_000
    learners = [LogBarrierPolicyOptimizer(16.0, 0.01, 1.0), MagnitudeReducedPolicyOptimizer(4.0, 0.0, 1.0),
                MagnitudeReducedPolicyOptimizer(4.0, 0.0, 1.0, mode="plugin"), DilatedBonusBaseline(16.0, 0.0, 1.0)]
    for kind in ("switch", "drift", "stationary"):
        theta = make_loss_schedule(mdp, K, kind, block=50 if kind == "switch" else 2000, seed=4)
        uni = uniform_policy_regret(mdp, theta, K)
        for L in learners:
            assert L.run(mdp, theta, K, seed=0).pseudo_regret < 0.5 * uni, (kind, L)


@pytest.mark.parametrize("engine", ["numba", "numpy"])
@pytest.mark.parametrize("mode", ["oracle", "plugin"])
def test_first_update_equals_magnitude_reduced_estimate_built_from_public_pieces(mode, engine):
    # One episode at H = 1 (no dilation): the learner's cumulative estimate after episode 1 must be
    # magnitude_reduce applied to the exact distribution of hatQ(s, a) (values c(s,a; s',a') ell(s',a')
    # with probabilities rho(s') pi(a'|s')), taken at the sampled pair, minus beta ||phi||^2_{Sigma^-1}.
    # The learner computes the expectation through min(hatQ,0) = L min(c,0) instead, so this pins
    # that shortcut to Lemma 2's generic transform. Exponential weights exposes C up to a row shift.
    mdp = make_linear_mdp(1, 4, 3, 3, alpha=1.0, seed=21)
    theta = make_loss_schedule(mdp, 1, "stationary", seed=22)
    learner = MagnitudeReducedPolicyOptimizer(c_eta=0.5, c_beta=0.2, c_gamma=0.3, mode=mode)
    run = learner.run(mdp, theta, 1, seed=23, engine=engine)
    eta, beta, gamma = run.rates
    ell = np.einsum("saj,j->sa", mdp.phi[0], theta[0, 0])
    pi = np.full((4, 3), 1.0 / 3.0)
    w = (mdp.rho[:, None] * pi).ravel()
    F = mdp.phi[0].reshape(-1, 3)
    Sinv = np.linalg.inv(gamma * np.eye(3) + F.T @ (w[:, None] * F))
    c = F @ Sinv @ F.T                                                   # c[(s,a), (s',a')]
    u = np.random.default_rng(23).random((1, 1, 2))                      # the run's uniforms
    s = int(np.searchsorted(np.cumsum(mdp.rho), u[0, 0, 0], side="right"))
    a = int(np.searchsorted(np.cumsum(pi[s]), u[0, 0, 1], side="right"))
    r = s * 3 + a
    L = ell[s, a]
    assert run.observed_losses[0] == pytest.approx(L, abs=1e-15)
    est = np.empty(12)
    for i in range(12):
        if mode == "oracle":
            est[i] = magnitude_reduce(c[i] * ell.ravel(), w)[r]
        else:   # loss-free: E[min(c, 0)] from the state-action distribution, times the observed L
            est[i] = max(c[i, r] * L, 0.0) + L * float(w @ np.minimum(c[i], 0.0))
    C = (est - beta * np.einsum("ri,ij,rj->r", F, Sinv, F)).reshape(4, 3)
    expected = np.exp(-eta * (C - C.min(axis=1, keepdims=True)))
    np.testing.assert_allclose(run.final_policy[0], expected / expected.sum(axis=1, keepdims=True), atol=1e-12)


@pytest.mark.parametrize("learner", [LogBarrierPolicyOptimizer(4.0, 0.3, 0.5), DilatedBonusBaseline(0.5, 0.3, 0.5)],
                         ids=repr)
def test_first_update_equals_qhat_minus_dilated_bonus_at_two_layers(learner):
    # After one episode at H = 2 the cumulative estimate is hatQ (eq. amdp-qhat, via q_hat and the
    # brute-force covariance) minus the dilated bonus of eq. (amdp-dilated), written out here.
    # The policy reveals C up to a per-state shift: 1/x_a = eta (C_a - min C) + mu for the
    # log-barrier, log x_a = -eta C_a + const for exponential weights.
    mdp = make_linear_mdp(2, 3, 3, 3, alpha=1.0, seed=31)
    theta = make_loss_schedule(mdp, 1, "stationary", seed=32)
    run = learner.run(mdp, theta, 1, seed=33)
    eta, beta, gamma = run.rates
    ell = np.einsum("hsaj,hj->hsa", mdp.phi, theta[0])
    pi = np.full((2, 3, 3), 1.0 / 3.0)
    u = np.random.default_rng(33).random((1, 2, 2))
    s1 = int(np.searchsorted(np.cumsum(mdp.rho), u[0, 0, 0], side="right"))
    a1 = int(np.searchsorted(np.cumsum(pi[0, s1]), u[0, 0, 1], side="right"))
    s2 = int(np.searchsorted(np.cumsum(mdp.P[0, s1, a1]), u[0, 1, 0], side="right"))
    a2 = int(np.searchsorted(np.cumsum(pi[1, s2]), u[0, 1, 1], side="right"))
    L = [ell[0, s1, a1] + ell[1, s2, a2], ell[1, s2, a2]]
    mu2 = np.einsum("s,sa,sat->t", mdp.rho, pi[0], mdp.P[0])
    C = np.empty((2, 3, 3))
    b = np.empty((2, 3, 3))
    for h, (mu_h, s, a) in enumerate([(mdp.rho, s1, a1), (mu2, s2, a2)]):
        Sig = sum(mu_h[x] * pi[h, x, y] * np.outer(mdp.phi[h, x, y], mdp.phi[h, x, y])
                  for x in range(3) for y in range(3))
        Sp = np.linalg.inv(gamma * np.eye(3) + Sig)
        C[h] = q_hat(mdp, h, Sp, s, a, L[h])
        b[h] = beta * np.einsum("sai,ij,saj->sa", mdp.phi[h], Sp, mdp.phi[h])
    B = b.copy()
    B[0] += 1.5 * np.einsum("sat,t->sa", mdp.P[0], np.sum(pi[1] * b[1], axis=1))   # 1 + 1/H = 1.5
    C -= B
    x = run.final_policy
    if isinstance(learner, LogBarrierPolicyOptimizer):
        recovered = (1.0 / x) / eta
    else:
        recovered = -np.log(x) / eta
    # measured error 7e-16 on differences of size ~0.3; 1e-12 leaves room for other BLAS builds
    np.testing.assert_allclose(recovered - recovered[..., :1], C - C[..., :1], atol=1e-12)
