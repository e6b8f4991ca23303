"""Sharpness of the training loss and two ways to seek flat minima: SAM and SAF.

Reference code for the chapter ``book/compression/saf``: SAF's trajectory-loss surrogate (a tempered KL
between current outputs and outputs recorded some epochs earlier), SAM's perturbed loss, the top
eigenvalue of the training-loss Hessian by power iteration on Hessian-vector products (PyTorch double
backward) with a dense ``eigvalsh`` reference, and the chapter's digits experiment.
"""

from .experiment import (
    METHODS,
    FlatMLP,
    SharpnessRun,
    SharpnessStudy,
    flat_mlp,
    sharpness_study,
    train_sharpness_run,
)
from .hessian import (
    MAX_DENSE_PARAMS,
    HessianEigen,
    dense_hessian,
    dense_top_eigenvalue,
    hessian_vector_product,
    top_hessian_eigenvalue,
)
from .sam import SamPerturbation, sam_perturbed_loss
from .surrogate import MAX_LOGIT, TrajectoryKL, trajectory_kl, trajectory_kl_torch

__all__ = [
    "MAX_DENSE_PARAMS",
    "MAX_LOGIT",
    "METHODS",
    "FlatMLP",
    "HessianEigen",
    "SamPerturbation",
    "SharpnessRun",
    "SharpnessStudy",
    "TrajectoryKL",
    "dense_hessian",
    "dense_top_eigenvalue",
    "flat_mlp",
    "hessian_vector_product",
    "sam_perturbed_loss",
    "sharpness_study",
    "top_hessian_eigenvalue",
    "train_sharpness_run",
    "trajectory_kl",
    "trajectory_kl_torch",
]
