"""Contracts of lossbook.ldr (see tests/contracts/contracts_dsl.py)."""

import numpy as np
from contracts_dsl import Array, Int, Labels, Mapped, Real, fn

MN = {"m": (1, 4), "n": (2, 5)}
SCORES = Array(shape=("m", "n"), typical=(-30.0, 30.0))
LABELS = Labels(("m",), "n")
LAM = Real(low=0.0, low_open=True, typical=(1e-3, 1e3))
MARGIN = Real(low=0.0, typical=(0.0, 2.0))
OVERFLOW = {ValueError: "overflows"}  # documented: scores / lam beyond the float range


def _tensor(x):
    import torch

    return torch.as_tensor(np.asarray(x, dtype="float64"))


def _labels_tensor(y):
    import torch

    y = np.asarray(y)
    return torch.as_tensor(y.astype(np.int64) if y.dtype.kind in "iu" else y)


SPECS = {
    "ldr_kl_loss": fn(scores=SCORES, labels=LABELS, lam=LAM, margin=MARGIN, dims=MN, may_raise=OVERFLOW),
    "ldr_worst_case_weights": fn(scores=SCORES, labels=LABELS, lam=LAM, margin=MARGIN, dims=MN, may_raise=OVERFLOW),
    "cs_loss": fn(scores=SCORES, labels=LABELS, margin=MARGIN, dims=MN, may_raise=OVERFLOW),
    "aldr_kl_lambda": fn(scores=SCORES, labels=LABELS, lam0=LAM,
                         alpha=Real(low=1.0, low_open=True, high=1e6, typical=(1.01, 10.0)), margin=MARGIN,
                         iters=Int(1, 10**6, typical=(1, 20)), tol=Real(low=0.0, typical=(0.0, 1e-6)),
                         dims=MN, may_raise=OVERFLOW),
    "ldr_kl_loss_torch": fn(
        scores=Mapped(SCORES, _tensor, bad=(np.zeros((2, 3)), [[0.0, 1.0]])),
        labels=Mapped(LABELS, _labels_tensor, bad=(np.zeros(2, dtype=int),)),
        lam=LAM, margin=MARGIN, dims=MN, may_raise=OVERFLOW),
}
