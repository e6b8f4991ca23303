"""Contracts of lossbook.passk (see tests/contracts/contracts_dsl.py)."""

import numpy as np
from contracts_dsl import RESULT, Array, Int, Labels, Mapped, Obj, ProbVectors, Real, Sampled, Seed, fn

from lossbook.passk import make_teacher_task

BIG = (10**6, 2**62)
NK = {"m": (1, 4), "k": (2, 5)}
LOGITS = Array(shape=("m", "k"), typical=(-30.0, 30.0))
LABELS = Labels(("m",), "k")
N_BUDGET = Int(low=1, typical=(1, 64), extra=BIG)


def _tensor(x):
    import torch

    return torch.as_tensor(np.asarray(x, dtype="float64"))


def _labels_tensor(y):
    import torch

    y = np.asarray(y)
    return torch.as_tensor(y.astype(np.int64) if y.dtype.kind in "iu" else y)


SPECS = {
    "PassAtNTrace": RESULT,
    "TeacherTask": RESULT,
    "coverage_optimal_probs": fn(q=ProbVectors(("k",)), N=N_BUDGET, dims={"k": (1, 5)}),
    "expected_coverage": fn(probs=ProbVectors(("m", "k")), q=ProbVectors(("m", "k")), N=N_BUDGET,
                            dims={"m": (1, 3), "k": (1, 5)}),
    "log1mexp": fn(x=Array(high=0.0), may_inf=True),
    "make_teacher_task": fn(seed=Seed(), K=Int(2, typical=(2, 5)), d=Int(1, typical=(1, 5)),
                            n_train=Int(1, typical=(1, 20)), n_test=Int(1, typical=(1, 20)),
                            scale=Real(low=0.0, low_open=True, high=1e100, typical=(0.1, 10.0))),
    "pass_at_k": fn(n=Int(1, typical=(1, 200), extra=BIG), c=Int(0, lambda a: a["n"]),
                    k=Int(1, lambda a: a["n"])),
    "pass_at_k_plugin": fn(n=Int(1, typical=(1, 200), extra=BIG), c=Int(0, lambda a: a["n"]),
                           k=Int(1, lambda a: a["n"])),
    "pass_at_n": fn(p=Array(low=0.0, high=1.0), N=N_BUDGET),
    "pass_at_n_weight": fn(p=Array(low=0.0, high=1.0), N=N_BUDGET),
    "pass_at_n_loss": fn(logits=LOGITS, labels=LABELS, N=N_BUDGET, dims=NK),
    "pass_at_n_grad": fn(logits=LOGITS, labels=LABELS, N=N_BUDGET, dims=NK),
    "pass_at_n_loss_torch": fn(
        logits=Mapped(LOGITS, _tensor, bad=(np.zeros((2, 3)), [[0.0, 1.0]])),
        labels=Mapped(LABELS, _labels_tensor, bad=(np.zeros(2, dtype=int),)),
        N=N_BUDGET, dims=NK),
    "train_softmax_linear": fn(
        task=Obj(lambda a: make_teacher_task(seed=0, K=3, d=2, n_train=5, n_test=5)),
        N_loss=Int(1, typical=(1, 8), extra=BIG), steps=Int(1, typical=(1, 5)),
        lr=Real(low=0.0, low_open=True, typical=(1e-3, 1.0)), eval_every=Int(1, typical=(1, 5)),
        eval_N=Sampled([(1,), (1, 4), [2, 3]], bad=((), (0,), "ab")), weight=0.3),
}
