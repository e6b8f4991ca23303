"""The Z-loss of de Brébisson & Vincent (chapter ``book/consistency/z-loss``).

The loss standardises each output row (population mean and standard deviation) and applies a
scaled softplus to the target's z-score. It is invariant to shifts and positive rescalings of the
outputs, and for a linear output layer it can be evaluated, with its gradient in the hidden layer,
in ``O(d^2)`` per example independently of the number of classes (the spherical family).
"""

from .loss import A_MAX, A_MIN, B_MAX, z_loss, z_loss_grad, z_loss_torch, z_scores
from .spherical import SphericalCache, SphericalZLoss, spherical_cache, z_loss_spherical
from .study import TopKResult, topk_study

__all__ = [
    "A_MAX",
    "A_MIN",
    "B_MAX",
    "SphericalCache",
    "SphericalZLoss",
    "TopKResult",
    "spherical_cache",
    "topk_study",
    "z_loss",
    "z_loss_grad",
    "z_loss_spherical",
    "z_loss_torch",
    "z_scores",
]
