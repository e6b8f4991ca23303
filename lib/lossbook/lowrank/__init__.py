"""Low-rank and low-rank + sparse weight parametrisations (LOST).

Reference code for the chapter ``book/compression/lost-low-rank-sparse``: the best rank-r
approximation (Eckart--Young), LOST's split of a weight matrix into that approximation plus the
residual's strongest input channels, a random-support baseline, exact parameter/memory/FLOP counts,
the PyTorch layers, and the chapter's toy regression study.
"""

from .cost import LayerCost, lowrank_sparse_cost, rank_for_budget
from .decomposition import (
    LostDecomposition,
    LowRankApproximation,
    RandomSupportDecomposition,
    best_rank_approximation,
    lost_channel_scores,
    lost_decomposition,
    random_support_decomposition,
)
from .experiment import METHODS, ChannelStudy, OutlierTarget, channel_regression_study, outlier_channel_target
from .layers import lost_linear, random_support_linear

__all__ = [
    "METHODS",
    "ChannelStudy",
    "LayerCost",
    "LostDecomposition",
    "LowRankApproximation",
    "OutlierTarget",
    "RandomSupportDecomposition",
    "best_rank_approximation",
    "channel_regression_study",
    "lost_channel_scores",
    "lost_decomposition",
    "lost_linear",
    "lowrank_sparse_cost",
    "outlier_channel_target",
    "random_support_decomposition",
    "random_support_linear",
    "rank_for_budget",
]
