"""Contracts of lossbook.confusion (see tests/contracts/contracts_dsl.py)."""

import numpy as np
from contracts_dsl import CONSTANT, RESULT, Array, BinaryLabels, Choice, Int, Mapped, Real, Sampled, fn

from lossbook.confusion import ConfusionCounts

N = {"n": (1, 6)}
N2 = {"n": (2, 6)}  # both classes need two labels
P = Array(shape=("n",), low=0.0, high=1.0, typical=(0.0, 1.0))
Y = BinaryLabels(("n",), both=None)
# f1/fbeta need a positive, gmean/balanced accuracy both classes
Y_BOTH = BinaryLabels(("n",), both="all", refuse=False)
METRIC = Choice("accuracy", "f1", "fbeta", "gmean", "balanced_accuracy")
L = Real(low=0.0, low_open=True, typical=(1.0, 100.0))
BETA = Real(low=0.0, low_open=True, typical=(0.1, 10.0))


def _metric_beta():
    # beta != 1 is only allowed with fbeta (documented); draw beta = 1 for the other metrics
    return {"metric": METRIC, "beta": BETA}


def _counts(x):
    x = np.asarray(x, dtype=float)
    return ConfusionCounts(*map(float, x)) if x.shape == (4,) else x


def _tensor(x):
    import torch

    return torch.as_tensor(np.asarray(x, dtype="float64"))


def _only_fbeta_has_beta(f, kw):
    # metric="f1" fixes beta = 1 (documented): a valid beta drawn for it is replaced; an invalid one is kept
    b = kw.get("beta")
    if kw.get("metric", "f1") == "f1" and isinstance(b, float | np.floating) and np.isfinite(b) and b > 0:
        kw = dict(kw, beta=1.0)
    return f(**kw)


SPECS = {
    "LOSSES": CONSTANT,
    "METRICS": CONSTANT,
    "ConfusionCounts": RESULT,
    "ImbalanceStudy": RESULT,
    "SoftMetricGap": RESULT,
    "amplify": fn(p=Array(low=0.0, high=1.0, typical=(0.0, 1.0)), L=L),
    "soft_confusion": fn(y_hat=P, y=Y, dims=N),
    "confusion_metric": fn(counts=Mapped(Array(shape=(4,), low=0.0, typical=(0.0, 100.0)), _counts,
                                         bad=(None, (1.0, 2.0, 3.0), "abc")),
                           metric=METRIC, beta=BETA, call=_only_fbeta_has_beta,
                           may_raise={ValueError: "all be zero|both classes|at least one positive"}),
    "anyloss": fn(p=P, y=Y_BOTH, metric=METRIC, L=L, beta=BETA, dims=N2, call=_only_fbeta_has_beta),
    "anyloss_gradient": fn(p=P, y=Y_BOTH, metric=METRIC, L=L, beta=BETA, dims=N2, call=_only_fbeta_has_beta),
    "soft_metric_gap": fn(p=P, y=Y_BOTH, metric=METRIC, L=L, beta=BETA, dims=N2, call=_only_fbeta_has_beta,
                          may_inf=True),
    "anyloss_torch": fn(p=Mapped(P, _tensor, bad=(np.zeros(3), [0.5, 0.5])), y=Mapped(Y_BOTH, _tensor, bad=()),
                        metric=METRIC, L=L, beta=BETA, dims=N2, call=_only_fbeta_has_beta),
    "imbalance_study": fn(
        seeds=Sampled([[0], (0, 1)], bad=([], [-1], "ab")), n_train=Int(50, typical=(50, 60)),
        n_test=Int(50, typical=(50, 60)), pos_fraction=Real(0.0, 0.5, low_open=True, typical=(0.05, 0.5)),
        separation=Real(low=0.0, low_open=True, high=1e6, typical=(0.5, 3.0)), epochs=Int(1, typical=(1, 3)),
        lr=Real(low=0.0, low_open=True, high=10.0, typical=(1e-3, 0.1)), L=L, weight=0.2,
        may_raise={ValueError: "no positives"}),
}
_ = _metric_beta
