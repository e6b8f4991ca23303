"""Learning from aggregate responses: bag-level vs instance-level loss (chapter ``book/feedback/aggregate-responses``).

The two square losses and the within-bag penalty that separates them, the interpolating estimator
``theta_hat_rho = (U^T U + rho Z^T Z)^{-1} U^T v``, its asymptotic bias and variance in the proportional
regime (:func:`bag_regression_risk`), a Monte Carlo simulator, and label differential privacy through
aggregation.
"""

from .losses import bag_loss, bag_means, fit_interpolating, instance_loss, within_bag_penalty
from .privacy import DPBagSizeCurve, dp_bag_size_curve, dp_effective_noise
from .simulate import BagSimulation, DPSimulation, laplace_bag_responses, simulate_bag_risk, simulate_dp_risk
from .theory import (
    BagRisk,
    OptimalRho,
    bag_regression_risk,
    fixed_point_t,
    instance_risk_closed_form,
    mp_resolvent_moments,
    optimal_rho,
)

__all__ = [
    "BagRisk",
    "BagSimulation",
    "DPBagSizeCurve",
    "DPSimulation",
    "OptimalRho",
    "bag_loss",
    "bag_means",
    "bag_regression_risk",
    "dp_bag_size_curve",
    "dp_effective_noise",
    "fit_interpolating",
    "fixed_point_t",
    "instance_loss",
    "instance_risk_closed_form",
    "laplace_bag_responses",
    "mp_resolvent_moments",
    "optimal_rho",
    "simulate_bag_risk",
    "simulate_dp_risk",
    "within_bag_penalty",
]
