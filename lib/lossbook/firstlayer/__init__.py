"""First-layer training: TrAct's ridge-realised pre-activation step.

Reference code for the chapter ``book/compression/tract``: the closed-form weight update in its
primal and dual (Woodbury) forms, the pre-activation change it makes, a PyTorch layer that uses it
as its weight gradient, and the chapter's digits-with-random-contrast experiment.
"""

from .core import FORMS, MAX_ENTRY, tract_preactivation_change, tract_weight_grad
from .experiment import (
    METHODS,
    ContrastSplit,
    ContrastStudy,
    MLPRun,
    TunedStudy,
    apply_contrast,
    contrast_digits,
    contrast_interval,
    contrast_study,
    epochs_to_accuracy,
    image_patches,
    train_first_layer_mlp,
    tuned_contrast_study,
)
from .layers import tract_linear

__all__ = [
    "FORMS",
    "MAX_ENTRY",
    "METHODS",
    "ContrastSplit",
    "ContrastStudy",
    "MLPRun",
    "TunedStudy",
    "apply_contrast",
    "contrast_digits",
    "contrast_interval",
    "contrast_study",
    "epochs_to_accuracy",
    "image_patches",
    "tract_linear",
    "tract_preactivation_change",
    "tract_weight_grad",
    "train_first_layer_mlp",
    "tuned_contrast_study",
]
