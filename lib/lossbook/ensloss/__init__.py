"""EnsLoss: a new convex calibrated loss at every step, by sampling its derivative (``book/consistency/ensloss``).

The derivative sampler of the official code, a checker of the convexity and calibration conditions,
the loss a set of derivative values implies, the sampler's large-batch limit, the doubly stochastic
gradient step of a linear model (NumPy), the stop-gradient surrogate and loss callables (PyTorch),
and the chapter's label-noise experiment.
"""

from .derivatives import (
    DerivativeCheck,
    StepResult,
    box_cox_inverse,
    check_cc_derivative,
    ensloss_derivatives,
    ensloss_step,
    ensloss_surrogate,
    implied_loss,
    limit_derivative,
)
from .experiment import LOSSES, LabelNoiseStudy, label_noise_study
from .torch_losses import ensloss_loss_torch, ensloss_surrogate_torch, margin_loss_torch

__all__ = [
    "LOSSES",
    "DerivativeCheck",
    "LabelNoiseStudy",
    "StepResult",
    "box_cox_inverse",
    "check_cc_derivative",
    "ensloss_derivatives",
    "ensloss_loss_torch",
    "ensloss_step",
    "ensloss_surrogate",
    "ensloss_surrogate_torch",
    "implied_loss",
    "label_noise_study",
    "limit_derivative",
    "margin_loss_torch",
]
