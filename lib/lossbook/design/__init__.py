"""Bidirectional learning for offline design (chapter ``book/feedback/bib-sequence-design``).

Kernel ridge closed forms for the forward mapping (offline data to scores at the designs) and the
backward mapping (designs labelled with a high target to the offline scores), with the RBF kernel
(the infinite-width limit of a random-Fourier-feature network) or the finite random-feature kernel;
the bidirectional objective with mixing weight ``gamma`` and its gradient in the designs; the
hypergradient behind the adaptive ``gamma`` rule; and an Adam design optimiser.
"""

from .bidirectional import (
    BidirectionalLoss,
    DesignRun,
    bidirectional_loss,
    gamma_hypergradient,
    optimize_designs,
)
from .kernels import (
    FourierFeatures,
    KernelRidgePrediction,
    fourier_feature_map,
    kernel_ridge_predict,
    rbf_kernel,
    sample_fourier_features,
)
from .toy import ToyDesignData, toy_design_data, toy_score

__all__ = [
    "BidirectionalLoss",
    "DesignRun",
    "FourierFeatures",
    "KernelRidgePrediction",
    "ToyDesignData",
    "bidirectional_loss",
    "fourier_feature_map",
    "gamma_hypergradient",
    "kernel_ridge_predict",
    "optimize_designs",
    "rbf_kernel",
    "sample_fourier_features",
    "toy_design_data",
    "toy_score",
]
