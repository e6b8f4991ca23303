"""Unlearning with only forget data: f-divergence bounds and the FLAT loss (chapter ``book/feedback/flat-unlearning``).

The variational (Fenchel) lower bound of an f-divergence for KL, TV, JS and Pearson chi-square
(generators, conjugates, activations, the optimal critic, exact divergences on a finite set), the
FLAT loss with its bounded loss-adjustment weights, and a tiny conditional language model on which
gradient ascent and FLAT unlearn a set of facts.
"""

from .divergence import (
    CRITIC_MAX_ABS,
    DIVERGENCES,
    activation,
    conjugate,
    f_divergence,
    f_generator,
    optimal_critic,
    variational_bound,
)
from .flat import FlatWeights, flat_loss, flat_loss_torch, flat_weights
from .study import METHODS, UnlearningStudy, unlearning_study

__all__ = [
    "CRITIC_MAX_ABS",
    "DIVERGENCES",
    "METHODS",
    "FlatWeights",
    "UnlearningStudy",
    "activation",
    "conjugate",
    "f_divergence",
    "f_generator",
    "flat_loss",
    "flat_loss_torch",
    "flat_weights",
    "optimal_critic",
    "unlearning_study",
    "variational_bound",
]
