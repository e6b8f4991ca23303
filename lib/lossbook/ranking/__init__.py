"""Ranking: exact AUC, the Mann–Whitney (pairwise logistic) loss, InfoNCE, and retrieval metrics.

Modules: :mod:`.auc` (the AUC as a Mann–Whitney statistic, ties counted one half, by sorting),
:mod:`.losses` (the MW loss with its gradient, InfoNCE, and their PyTorch forms), :mod:`.retrieval`
(reciprocal ranks, single-threshold F1, a task with per-query offsets and a linear dual encoder).
The chapter is :doc:`/book/consistency/mw-auc-loss`.
"""

from .auc import mann_whitney_u, roc_auc
from .losses import MWLoss, info_nce_loss, info_nce_loss_torch, mw_loss, mw_loss_and_grad, mw_loss_torch
from .retrieval import (
    OffsetRetrievalTask,
    RetrievalScores,
    ThresholdF1,
    best_f1_threshold,
    evaluate_dual_encoder,
    f1_at_threshold,
    offset_retrieval_task,
    offset_study,
    reciprocal_ranks,
    train_dual_encoder,
)

__all__ = [
    "MWLoss",
    "OffsetRetrievalTask",
    "RetrievalScores",
    "ThresholdF1",
    "best_f1_threshold",
    "evaluate_dual_encoder",
    "f1_at_threshold",
    "info_nce_loss",
    "info_nce_loss_torch",
    "mann_whitney_u",
    "mw_loss",
    "mw_loss_and_grad",
    "mw_loss_torch",
    "offset_retrieval_task",
    "offset_study",
    "reciprocal_ranks",
    "roc_auc",
    "train_dual_encoder",
]
