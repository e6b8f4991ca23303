"""Confusion-matrix metrics on hard predictions: lossbook.confusion against scikit-learn (the tool a user calls)."""

import numpy as np
from sklearn.metrics import balanced_accuracy_score, f1_score

from benchmarks.harness import Case
from lossbook.confusion import confusion_metric, soft_confusion

_rng = np.random.default_rng(0)
_Y = (_rng.random(1_000_000) < 0.05).astype(np.int64)
_H = (_rng.random(1_000_000) < 0.08).astype(np.int64)


def _check(a, b):
    assert abs(a - b) <= 1e-12


CASES = [
    Case("confusion_metric (F1, hard predictions)", "scikit-learn f1_score", "n = 1e6",
         lambda: confusion_metric(soft_confusion(_H, _Y), "f1"), lambda: f1_score(_Y, _H), _check,
         repeats=5, kind="external", dtype="int64"),
    Case("confusion_metric (balanced accuracy, hard)",
         "scikit-learn balanced_accuracy_score", "n = 1e6",
         lambda: confusion_metric(soft_confusion(_H, _Y), "balanced_accuracy"),
         lambda: balanced_accuracy_score(_Y, _H), _check, repeats=5, kind="external", dtype="int64"),
]
