"""Testbed: linear MDP construction, exact DP values, and the comparator against brute force."""

import itertools

import numpy as np
import pytest

from lossbook.regret import (
    best_fixed_policy,
    loss_table,
    make_linear_mdp,
    make_loss_schedule,
    occupancy,
    policy_values,
)


def _value_by_trajectory_enumeration(mdp, pi, ell):
    """Expected episode loss by summing over every trajectory (no recursion)."""
    H, S, A = mdp.H, mdp.S, mdp.A
    total = 0.0
    for traj in itertools.product(range(S), range(A), repeat=H):
        states, actions = traj[0::2], traj[1::2]
        p = mdp.rho[states[0]]
        for h in range(H):
            p *= pi[h, states[h], actions[h]]
            if h < H - 1:
                p *= mdp.P[h, states[h], actions[h], states[h + 1]]
        total += p * sum(ell[h, states[h], actions[h]] for h in range(H))
    return total


@pytest.mark.parametrize("H,S,A", [(1, 3, 3), (2, 2, 2), (3, 2, 2)])
def test_best_fixed_policy_matches_brute_force_over_deterministic_policies(H, S, A):
    mdp = make_linear_mdp(H, S, A, 3, seed=H)
    ell = np.random.default_rng(H).uniform(0, 5, size=(H, S, A))
    pi_star, v_star = best_fixed_policy(mdp, ell)
    values = []
    for choice in itertools.product(range(A), repeat=H * S):
        pi = np.zeros((H, S, A))
        pi[np.repeat(np.arange(H), S), np.tile(np.arange(S), H), choice] = 1.0
        values.append(_value_by_trajectory_enumeration(mdp, pi, ell))
    assert v_star == pytest.approx(min(values), abs=1e-12)
    assert _value_by_trajectory_enumeration(mdp, pi_star, ell) == pytest.approx(v_star, abs=1e-12)
    # no randomised policy does better
    rng = np.random.default_rng(0)
    for _ in range(50):
        pi = rng.dirichlet(np.ones(A), size=(H, S))
        assert _value_by_trajectory_enumeration(mdp, pi, ell) >= v_star - 1e-12


def test_policy_values_match_trajectory_enumeration():
    mdp = make_linear_mdp(3, 3, 2, 4, seed=5)
    rng = np.random.default_rng(5)
    pi = rng.dirichlet(np.ones(2), size=(3, 3))
    ell = rng.uniform(size=(3, 3, 2))
    V, _ = policy_values(mdp, pi, ell)
    assert mdp.rho @ V[0] == pytest.approx(_value_by_trajectory_enumeration(mdp, pi, ell), abs=1e-12)
    mu = occupancy(mdp, pi)
    assert float(np.sum(mu[:, :, None] * pi * ell)) == pytest.approx(mdp.rho @ V[0], abs=1e-12)


def test_every_q_function_is_linear_in_the_features():
    # Soft state aggregation makes the MDP linear, so Q^pi = phi^T theta^pi for any policy when the
    # losses are linear; least squares on the S*A >= d feature rows must leave no residual.
    mdp = make_linear_mdp(3, 6, 4, 5, seed=1)
    theta = make_loss_schedule(mdp, 10, "drift", block=7, seed=2)
    rng = np.random.default_rng(3)
    for k in range(10):
        pi = rng.dirichlet(np.full(4, 0.3), size=(3, 6))
        _, Q = policy_values(mdp, pi, loss_table(mdp, theta[k]))
        for h in range(3):
            F = mdp.phi[h].reshape(-1, 5)
            coef, *_ = np.linalg.lstsq(F, Q[h].ravel(), rcond=None)
            assert np.max(np.abs(F @ coef - Q[h].ravel())) <= 1e-12


@pytest.mark.parametrize("kind", ["switch", "drift", "stationary"])
def test_loss_schedules_stay_in_the_unit_interval(kind):
    mdp = make_linear_mdp(2, 4, 3, 5, seed=0)
    theta = make_loss_schedule(mdp, 500, kind, seed=1)
    assert theta.shape == (500, 2, 5)
    assert theta.min() >= 0 and theta.max() <= 1
    ell = np.stack([loss_table(mdp, t) for t in theta[:20]])
    assert ell.min() >= 0 and ell.max() <= 1 + 1e-12
    if kind == "stationary":
        assert np.ptp(theta, axis=0).max() == 0
    if kind == "switch":
        assert not np.allclose(theta[0], theta[50])
        np.testing.assert_array_equal(theta[0], theta[100])


def test_invalid_arguments_raise_named_errors():
    with pytest.raises(ValueError, match="A"):
        make_linear_mdp(1, 3, 1, 2, seed=0)
    with pytest.raises(ValueError, match="H"):
        make_linear_mdp(0, 3, 2, 2, seed=0)
    with pytest.raises(TypeError, match="seed"):
        make_linear_mdp(1, 3, 2, 2, seed=None)
    mdp = make_linear_mdp(1, 3, 2, 2, seed=0)
    with pytest.raises(ValueError, match="kind"):
        make_loss_schedule(mdp, 10, "chaotic", seed=0)
    with pytest.raises(ValueError, match="pi"):
        policy_values(mdp, np.full((1, 3, 2), 0.7), np.zeros((1, 3, 2)))
    with pytest.raises(ValueError, match="ell"):
        policy_values(mdp, np.full((1, 3, 2), 0.5), np.zeros((1, 3, 3)))
    with pytest.raises(ValueError, match="theta_k"):
        loss_table(mdp, np.zeros((2, 2)))
