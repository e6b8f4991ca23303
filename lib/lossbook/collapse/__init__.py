"""Neural collapse: metrics, simplex ETFs, the unconstrained-features model and its perturbation.

Chapters: *Perturbation analysis of neural collapse* (``book/collapse/nc-perturbation``) and
*Neural collapse in deep linear networks* (``book/collapse/nc-deep-linear``).
"""

from .deep_linear import (
    DeepLinearCEETF,
    DeepLinearFit,
    DeepLinearMinimizer,
    DeepLinearPoint,
    construct_deep_linear_minimizer,
    deep_linear_ce_etf,
    deep_linear_decays_from_ufm,
    deep_linear_minimizer,
    deep_linear_objective,
    deep_linear_thresholds,
    fit_deep_linear,
    momentum_gd_deep_linear,
    ufm_decays_from_deep_linear,
)
from .etf import orthonormal_frame, random_rotation, simplex_etf
from .flow import CentralPath, central_path_flow
from .metrics import CollapseMetrics, class_means, collapse_metrics, sigma_b, sigma_w
from .mlp import CollapseTrace, gaussian_mixture, train_mlp_collapse, train_mlp_collapse_grid
from .perturbation import (
    EnergySplit,
    HessianBlocks,
    PerturbationSpectrum,
    hessian_blocks,
    intra_inter_energy,
    operator_block,
    perturbation_operator,
    perturbation_spectrum,
)
from .ufm import (
    UFMMinimizer,
    VicinitySolution,
    central_path_field,
    class_indicator,
    optimal_classifier,
    solve_vicinity,
    ufm_minimizer,
    ufm_objective,
)

__all__ = [
    "CentralPath",
    "CollapseMetrics",
    "CollapseTrace",
    "HessianBlocks",
    "EnergySplit",
    "PerturbationSpectrum",
    "intra_inter_energy",
    "UFMMinimizer",
    "VicinitySolution",
    "central_path_field",
    "central_path_flow",
    "class_indicator",
    "gaussian_mixture",
    "hessian_blocks",
    "operator_block",
    "optimal_classifier",
    "perturbation_operator",
    "perturbation_spectrum",
    "solve_vicinity",
    "ufm_minimizer",
    "train_mlp_collapse",
    "train_mlp_collapse_grid",
    "ufm_objective",
    "class_means",
    "collapse_metrics",
    "orthonormal_frame",
    "random_rotation",
    "sigma_b",
    "sigma_w",
    "simplex_etf",
    "DeepLinearCEETF",
    "DeepLinearFit",
    "DeepLinearMinimizer",
    "DeepLinearPoint",
    "construct_deep_linear_minimizer",
    "deep_linear_ce_etf",
    "deep_linear_minimizer",
    "deep_linear_objective",
    "deep_linear_thresholds",
    "deep_linear_decays_from_ufm",
    "fit_deep_linear",
    "momentum_gd_deep_linear",
    "ufm_decays_from_deep_linear",
]
