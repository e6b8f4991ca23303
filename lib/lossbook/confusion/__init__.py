"""Confusion-matrix metrics as losses (AnyLoss): amplified sigmoid, soft confusion matrix, gap bound.

Chapter: ``book/consistency/anyloss.md``.
"""

from lossbook.confusion.experiment import LOSSES, ImbalanceStudy, imbalance_study
from lossbook.confusion.soft_metrics import (
    METRICS,
    ConfusionCounts,
    SoftMetricGap,
    amplify,
    anyloss,
    anyloss_gradient,
    anyloss_torch,
    confusion_metric,
    soft_confusion,
    soft_metric_gap,
)

__all__ = [
    "LOSSES",
    "METRICS",
    "ConfusionCounts",
    "ImbalanceStudy",
    "SoftMetricGap",
    "amplify",
    "anyloss",
    "anyloss_gradient",
    "anyloss_torch",
    "confusion_metric",
    "imbalance_study",
    "soft_confusion",
    "soft_metric_gap",
]
