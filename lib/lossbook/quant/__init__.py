"""Quantisation as loss-aware bit allocation (chapter *BAQ — bit allocation as a convex program*).

``alloc``: water-filling and exact integer allocation for the model ``sum_j C_j 2^(-2 b_j)``;
``gptq``: GPTQ with per-column bit-widths and its exact loss decomposition; ``baq``: the pipeline.
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
from .gptq import GPTQResult, gptq_quantize, hessian_from_inputs, inverse_hessian_factor, layer_loss, rtn_quantize

__all__ = [
    "BAQResult",
    "GPTQResult",
    "KKTResiduals",
    "MLPQuantResult",
    "WaterfillResult",
    "analytic_sensitivity",
    "baq_quantize",
    "closed_form_interior",
    "expected_loss",
    "gm_am_gain",
    "gptq_quantize",
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
    "waterfill_bits",
]
