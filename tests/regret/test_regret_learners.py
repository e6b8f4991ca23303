"""Learners: the Numba episode loop against the NumPy reference, sublinear regret, slope fits."""

import itertools

import numpy as np
import pytest
from scipy.stats import linregress

from lossbook.regret import (
    DilatedBonusBaseline,
    LogBarrierPolicyOptimizer,
    MagnitudeReducedPolicyOptimizer,
    fit_regret_slope,
    magnitude_reduce,
    make_linear_mdp,
    make_loss_schedule,
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


@pytest.mark.claim("amdp_sublinear")
def test_learners_have_sublinear_regret_while_uniform_is_linear():
    mdp = make_linear_mdp(1, 6, 4, 5, seed=0)
    Ks = [1000, 3000, 10_000]
    theta = make_loss_schedule(mdp, max(Ks), "switch", seed=1)
    # the chapter's tuned H = 1 constants (checked by test_chapter_slope_protocol_at_reduced_size)
    for learner in [LogBarrierPolicyOptimizer(64.0, 0.0, 1.0), MagnitudeReducedPolicyOptimizer(4.0, 0.0, 1.0),
                    DilatedBonusBaseline(256.0, 0.0, 1.0)]:
        fit = fit_regret_slope(Ks, regret_grid(learner, mdp, theta, Ks, range(3)), n_boot=200)
        assert fit.slope < 0.75, (learner, fit)
    uni = np.array([[uniform_policy_regret(mdp, theta, K)] for K in Ks])
    assert fit_regret_slope(Ks, uni, n_boot=20).slope == pytest.approx(1.0, abs=1e-9)


def test_slope_fit_matches_scipy_linregress_and_local_slopes():
    rng = np.random.default_rng(0)
    K = np.array([1e3, 3e3, 1e4, 3e4, 1e5])
    R = 3.0 * K[:, None] ** 0.6 * rng.lognormal(0, 0.05, size=(5, 8))
    fit = fit_regret_slope(K, R, seed=1)
    ref = linregress(np.log(K), np.log(R.mean(axis=1)))
    assert fit.slope == pytest.approx(ref.slope, rel=1e-12)
    np.testing.assert_allclose(fit.local_slopes, np.diff(np.log(R.mean(axis=1))) / np.diff(np.log(K)))
    assert fit.ci_low <= fit.slope <= fit.ci_high
    # log correction removes sqrt(log K) exactly
    Rl = np.sqrt(K * np.log(K))[:, None] * np.ones((1, 3))
    assert fit_regret_slope(K, Rl, log_correct=True).slope == pytest.approx(0.5, abs=1e-12)


def test_bootstrap_interval_covers_the_true_slope_at_about_the_nominal_rate():
    # 200 synthetic data sets with slope 0.6 and lognormal seed noise; a 90% interval should cover
    # in roughly 90% of them (binomial sd 2.1%; the percentile bootstrap with 6 seeds undercovers a
    # little, so we accept >= 75%).
    rng = np.random.default_rng(4)
    K = np.array([1e3, 1e4, 1e5])
    hits = 0
    for i in range(200):
        R = K[:, None] ** 0.6 * rng.lognormal(0, 0.2, size=(3, 6))
        f = fit_regret_slope(K, R, n_boot=300, level=0.9, seed=i)
        hits += f.ci_low <= 0.6 <= f.ci_high
    assert hits >= 150


def test_invalid_arguments_raise_named_errors():
    mdp = make_linear_mdp(1, 3, 2, 2, seed=0)
    theta = make_loss_schedule(mdp, 10, seed=0)
    with pytest.raises(ValueError, match="c_eta"):
        LogBarrierPolicyOptimizer(c_eta=0.0)
    with pytest.raises(ValueError, match="mode"):
        MagnitudeReducedPolicyOptimizer(mode="psychic")
    with pytest.raises(ValueError, match="K = 20"):
        LogBarrierPolicyOptimizer().run(mdp, theta, 20, seed=0)
    with pytest.raises(ValueError, match="schedule"):
        LogBarrierPolicyOptimizer().run(mdp, theta[:, :, :1], 5, seed=0)
    with pytest.raises(ValueError, match="schedule"):
        LogBarrierPolicyOptimizer().run(mdp, theta + 2.0, 5, seed=0)
    with pytest.raises(ValueError, match="engine"):
        LogBarrierPolicyOptimizer().run(mdp, theta, 5, seed=0, engine="gpu")
    with pytest.raises(ValueError, match="regrets"):
        fit_regret_slope([1, 2, 3], np.ones((2, 2)))
    with pytest.raises(ValueError, match="positive"):
        fit_regret_slope([1, 2], np.array([[1.0], [-1.0]]))
    # positive mean, but resamples of the seeds can have a negative mean: no silent clamping
    with pytest.raises(ValueError, match="bootstrap"):
        fit_regret_slope([10, 100], np.array([[5.0, -4.0], [10.0, 12.0]]), n_boot=200)


# ------------------------------------------------------------------------------------------
# The chapter's slope experiment, reproduced with fewer seeds and K points
# ------------------------------------------------------------------------------------------


# The chapter's tuning grids (H = 1: four held-out seeds; H = 3: two) and the constants they pick.
ETA_GRID, BETA_GRID, TUNE_SEEDS = [0.25, 1, 4, 16, 64, 256, 1024], [0.0, 0.01, 0.1], [1000, 1001, 1002, 1003]
ETA_GRID3, BETA_GRID3, TUNE_SEEDS3 = [1, 4, 16, 64, 256], [0.0, 0.01, 0.1], [1000, 1001]


def _interior(value, grid):
    return min(grid) < value < max(grid)


@pytest.mark.claim("amdp_slope_a1")
@pytest.mark.claim("amdp_slope_a2")
@pytest.mark.claim("amdp_slope_b1")
@pytest.mark.claim("amdp_visibility")
def test_chapter_slope_protocol_at_reduced_size():
    # Same instance, tuning grid, tuning horizon and tuning seeds as the chapter (so the same frozen
    # constants); evaluation on 4 seeds and K in {1e3, 1e4, 1e5} instead of 10 seeds and five K.
    # Asserts what the claims say: A1's exponent is below 1/2 (95% upper limit < 1/2), A2's at or
    # below 1/2 (upper < 0.6); the tuned baseline, whose bonus the tuning switches off (c_beta = 0)
    # with an interior c_eta, has an exponent whose upper limit is < 1/4, the flattest slope and the
    # lowest regret at K = 1e5 (the bounds' ordering reversed on this instance).
    mdp = make_linear_mdp(1, 6, 4, 5, seed=0)
    Ks = [1000, 10_000, 100_000]
    theta = make_loss_schedule(mdp, max(Ks), "switch", seed=1)
    tune = dict(c_eta_grid=ETA_GRID, c_beta_grid=BETA_GRID, seeds=TUNE_SEEDS)
    a1, _ = tune_constants(LogBarrierPolicyOptimizer, mdp, theta, 10_000, **tune)
    a2, _ = tune_constants(MagnitudeReducedPolicyOptimizer, mdp, theta, 10_000, **tune)
    b1, _ = tune_constants(DilatedBonusBaseline, mdp, theta, 10_000, **tune)
    for L in (a1, a2, b1):
        assert _interior(L.c_eta, ETA_GRID), L
    assert b1.c_beta == 0.0
    fits = {n: fit_regret_slope(Ks, regret_grid(L, mdp, theta, Ks, range(4)), n_boot=500)
            for n, L in [("a1", a1), ("a2", a2), ("b1", b1)]}
    # Thresholds are those of the chapter's verdicts and claims. Measured at this reduced size:
    # A1 0.33 [0.25, 0.45], A2 0.38 [0.32, 0.45], B1 -0.03 [-0.16, 0.17]; regret at 1e5 136, 136, 33.
    assert fits["a1"].slope < 0.5 and fits["a1"].ci_high < 0.5           # amdp_slope_a1
    assert fits["a2"].slope <= 0.5 and fits["a2"].ci_high < 0.6          # amdp_slope_a2
    assert fits["b1"].ci_high < 0.25                                     # amdp_slope_b1
    assert fits["b1"].slope < min(fits["a1"].slope, fits["a2"].slope)    # amdp_visibility: reversed
    assert fits["b1"].mean_regret[-1] < min(fits["a1"].mean_regret[-1], fits["a2"].mean_regret[-1])


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
