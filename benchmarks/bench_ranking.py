"""Exact AUC with ties: lossbook.ranking.roc_auc against scikit-learn's roc_auc_score."""

import numpy as np
from sklearn.metrics import roc_auc_score

from benchmarks.harness import Case
from lossbook.ranking import roc_auc


def _check(a, b):
    assert abs(a - b) < 1e-12  # scikit-learn's trapezoid sum rounds; see tests/ranking/test_auc.py


def _case(n, seed):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    s = np.round(rng.standard_normal(n) + y, 3)  # three decimals: many ties
    return Case("ranking.roc_auc (exact, ties 1/2)", "scikit-learn roc_auc_score", f"n = {n:.0e}, tied scores",
                lambda: roc_auc(y, s), lambda: roc_auc_score(y, s), _check, repeats=5, kind="external")


CASES = [_case(10**4, 0), _case(10**6, 1)]
