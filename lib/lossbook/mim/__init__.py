"""Masked image modelling with hard-patch mining (HPM).

Reference code for the chapter ``book/feedback/hpm-hard-patches``: the pairwise ranking loss for
predicting per-patch reconstruction difficulty (NumPy and PyTorch), MAE's masked-patch count, the
easy-to-hard mask and its expected coverage of hard patches, and the chapter's MLP-MAE study on digits.
"""

from .experiment import CENTRAL_PATCHES, MaskingStudy, digit_patches, masking_study
from .ranking import expected_hard_coverage, hpm_mask, n_masked, pairwise_rank_loss, pairwise_rank_loss_grad
from .torch_loss import pairwise_rank_loss_torch

__all__ = [
    "CENTRAL_PATCHES",
    "MaskingStudy",
    "digit_patches",
    "expected_hard_coverage",
    "hpm_mask",
    "masking_study",
    "n_masked",
    "pairwise_rank_loss",
    "pairwise_rank_loss_grad",
    "pairwise_rank_loss_torch",
]
