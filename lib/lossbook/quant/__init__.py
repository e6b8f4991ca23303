"""Quantisation as loss-aware bit allocation (chapter *BAQ — bit allocation as a convex program*).

``alloc``: water-filling and exact integer allocation for the model ``sum_j C_j 2^(-2 b_j)``;
``gptq``: GPTQ with per-column bit-widths and its exact loss decomposition; ``baq``: the pipeline;
``elastic`` (chapter *EQ-Net*): closed-form quantisation MSE for uniform/Gaussian/Laplace weights, the
weight-distribution (kurtosis) regulariser and the subnet distillation loss.
"""

from .alloc import (
    KKTResiduals,
    WaterfillResult,
    closed_form_interior,
    expected_loss,
    gm_am_gain,
    integer_bits,
    kkt_residuals,
    official_levels,
    waterfill_bits,
)
from .baq import (
    BAQResult,
    MLPQuantResult,
    analytic_sensitivity,
    baq_quantize,
    quantize_relu_mlp,
    relu_mlp_forward,
    synthetic_layer,
)
from .elastic import (
    LAWS,
    MAX_CLIP_RATIO,
    QuantizerMSE,
    gpg_loss,
    grid_quantization_mse,
    uniform_quantizer_mse,
    wdr_loss,
)
from .gptq import GPTQResult, gptq_quantize, hessian_from_inputs, inverse_hessian_factor, layer_loss, rtn_quantize

__all__ = [
    "BAQResult",
    "GPTQResult",
    "KKTResiduals",
    "LAWS",
    "MAX_CLIP_RATIO",
    "MLPQuantResult",
    "QuantizerMSE",
    "WaterfillResult",
    "analytic_sensitivity",
    "baq_quantize",
    "closed_form_interior",
    "expected_loss",
    "gm_am_gain",
    "gpg_loss",
    "gptq_quantize",
    "grid_quantization_mse",
    "hessian_from_inputs",
    "integer_bits",
    "inverse_hessian_factor",
    "kkt_residuals",
    "layer_loss",
    "official_levels",
    "quantize_relu_mlp",
    "relu_mlp_forward",
    "rtn_quantize",
    "synthetic_layer",
    "uniform_quantizer_mse",
    "waterfill_bits",
    "wdr_loss",
]
