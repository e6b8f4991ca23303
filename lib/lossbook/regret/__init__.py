"""Refined regret for adversarial MDPs with linear function approximation.

Library behind the chapter ``book/feedback/adversarial-mdp-regret``: exactly linear layered MDPs
and adversarial loss schedules (:mod:`.env`), log-barrier and negative-entropy FTRL steps
(:mod:`.ftrl`), linear-Q and magnitude-reduced estimators (:mod:`.estimators`), policy-optimisation
learners with a Numba episode loop (:mod:`.learners`), regret-exponent fits (:mod:`.experiments`)
and the regret-slope study as a sweep (:mod:`.study`).
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
from .study import (
    SLOPE_INSTANCE,
    SLOPE_LEARNERS,
    default_constants,
    estimate_cost,
    horizon_grid,
    make_learner,
    regret_matrix,
    slope_study,
    slope_study_point,
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
    "SLOPE_INSTANCE",
    "SLOPE_LEARNERS",
    "SlopeFit",
    "best_fixed_policy",
    "default_constants",
    "estimate_cost",
    "estimator_means",
    "feature_covariance",
    "fit_regret_slope",
    "horizon_grid",
    "log_barrier_ftrl_step",
    "loss_table",
    "magnitude_reduce",
    "make_learner",
    "make_linear_mdp",
    "make_loss_schedule",
    "mgr_inverse",
    "negative_entropy_ftrl_step",
    "negative_estimate_probability",
    "occupancy",
    "policy_values",
    "q_hat",
    "regret_grid",
    "regret_matrix",
    "slope_study",
    "slope_study_point",
    "tune_constants",
    "uniform_policy",
    "uniform_policy_regret",
]
