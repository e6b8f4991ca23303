"""Refined regret for adversarial MDPs with linear function approximation.

Library behind the chapter ``book/feedback/adversarial-mdp-regret``: exactly linear layered MDPs
and adversarial loss schedules (:mod:`.env`), log-barrier and negative-entropy FTRL steps
(:mod:`.ftrl`), linear-Q and magnitude-reduced estimators (:mod:`.estimators`), policy-optimisation
learners with a Numba episode loop (:mod:`.learners`) and regret-exponent fits (:mod:`.experiments`).
"""

from .env import (
    LinearMDP,
    best_fixed_policy,
    loss_table,
    make_linear_mdp,
    make_loss_schedule,
    occupancy,
    policy_values,
    uniform_policy,
)
from .estimators import (
    EstimatorMeans,
    estimator_means,
    feature_covariance,
    magnitude_reduce,
    mgr_inverse,
    negative_estimate_probability,
    q_hat,
)
from .experiments import SlopeFit, fit_regret_slope, regret_grid, tune_constants
from .ftrl import log_barrier_ftrl_step, negative_entropy_ftrl_step
from .learners import (
    DilatedBonusBaseline,
    ExpWeightsPolicyOptimizer,
    LearningRates,
    LogBarrierPolicyOptimizer,
    MagnitudeReducedPolicyOptimizer,
    RegretRun,
    uniform_policy_regret,
)

__all__ = [
    "DilatedBonusBaseline",
    "EstimatorMeans",
    "ExpWeightsPolicyOptimizer",
    "LearningRates",
    "LinearMDP",
    "LogBarrierPolicyOptimizer",
    "MagnitudeReducedPolicyOptimizer",
    "RegretRun",
    "SlopeFit",
    "best_fixed_policy",
    "estimator_means",
    "feature_covariance",
    "fit_regret_slope",
    "log_barrier_ftrl_step",
    "loss_table",
    "magnitude_reduce",
    "make_linear_mdp",
    "make_loss_schedule",
    "mgr_inverse",
    "negative_entropy_ftrl_step",
    "negative_estimate_probability",
    "occupancy",
    "policy_values",
    "q_hat",
    "regret_grid",
    "tune_constants",
    "uniform_policy",
    "uniform_policy_regret",
]
