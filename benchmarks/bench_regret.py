"""Episode loop of the adversarial-MDP learners: the Numba kernel against the NumPy reference.

Both engines run the same algorithm on the same pre-drawn uniforms. Episodes per second are
K / median time; the harness prints the medians and their ratio. The check compares the first
60 episodes to 1e-9, the window and tolerance measured and justified in
tests/regret/test_regret_learners.py (longer runs drift apart through rounding amplified by the
ill-conditioned covariance: DilatedBonus at H=3 differed by 4.9e-7 at episode 90 once BLAS ran on one
thread).
"""

import numpy as np

from benchmarks.harness import Case
from lossbook.regret import (
    DilatedBonusBaseline,
    LogBarrierPolicyOptimizer,
    MagnitudeReducedPolicyOptimizer,
    make_linear_mdp,
    make_loss_schedule,
)


def _check(a, b):
    np.testing.assert_allclose(a.expected_losses[:60], b.expected_losses[:60], atol=1e-9)


def _case(name, learner, H, S, K):
    mdp = make_linear_mdp(H, S, 4, 5, seed=0)
    theta = make_loss_schedule(mdp, K, "switch", seed=1)
    return Case(f"regret.{name} numba H={H}", "NumPy reference loop", f"K={K} S={S} A=4 d=5",
                lambda: learner.run(mdp, theta, K, seed=2),
                lambda: learner.run(mdp, theta, K, seed=2, engine="numpy"), _check, repeats=3, kind="own reference")


CASES = [
    _case("LogBarrier", LogBarrierPolicyOptimizer(), 1, 6, 1000),
    _case("LogBarrier", LogBarrierPolicyOptimizer(), 3, 5, 300),
    _case("MagRed(oracle)", MagnitudeReducedPolicyOptimizer(), 1, 6, 1000),
    _case("DilatedBonus", DilatedBonusBaseline(), 3, 5, 300),
]
