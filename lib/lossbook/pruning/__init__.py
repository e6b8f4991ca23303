"""Dynamic filter pruning with self-supervised gates (FTWT).

Reference code for the chapter ``book/compression/ftwt-dynamic-pruning``: heat-based mask targets
(mass and uniform rules), exact MAC counts of gated convolutions, FTWT's mask loss, and a small gated
CNN for digits with the chapter's study.
"""

from .flops import ConvShape, gated_conv_macs, network_macs
from .gated import DIGIT_SHAPES, FTWTStudy, GatedRun, ftwt_study, gated_digits_cnn, mask_bce_loss, run_ftwt
from .masks import MASS_TOL, filter_heat, mass_target_mask, uniform_target_mask

__all__ = [
    "DIGIT_SHAPES",
    "MASS_TOL",
    "ConvShape",
    "FTWTStudy",
    "GatedRun",
    "filter_heat",
    "ftwt_study",
    "gated_conv_macs",
    "gated_digits_cnn",
    "mask_bce_loss",
    "mass_target_mask",
    "network_macs",
    "run_ftwt",
    "uniform_target_mask",
]
