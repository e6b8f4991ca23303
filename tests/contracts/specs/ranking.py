"""Contracts of lossbook.ranking (see tests/contracts/contracts_dsl.py)."""

import numpy as np
from contracts_dsl import RESULT, Array, BinaryLabels, Choice, Int, Mapped, Obj, Real, Sampled, Seed, fn

from lossbook.ranking import offset_retrieval_task

N1 = {"n": (2, 6)}
QD = {"q": (1, 3), "d": (2, 5)}
SCORES1 = Array(shape=("n",), typical=(-30.0, 30.0))
SCORES_ANY = Array(shape=("n",), typical=(-30.0, 30.0), any_ndim=True)
Y1 = BinaryLabels(("n",), both="all")
SCORES2 = Array(shape=("q", "d"), typical=(-30.0, 30.0))
Y2_ROWS = BinaryLabels(("q", "d"), both="rows")
TAU = Real(low=0.0, low_open=True, typical=(1e-2, 10.0))
ENGINE = Choice("numba", "numpy")
OVERFLOW = {ValueError: "overflows"}  # documented: scores / tau beyond the float range
TRAIN_TAU = Real(low=1e-3, high=1e3, typical=(1e-2, 1.0))
LR = Real(low=0.0, low_open=True, high=10.0, typical=(1e-3, 0.1))
TASK_DIM = 2


def _task(a):
    return offset_retrieval_task(6, 4, 12, 3, dim=TASK_DIM, seed=0)


def _tensor(x):
    import torch

    return torch.as_tensor(np.asarray(x, dtype="float64"))


SPECS = {
    "MWLoss": RESULT,
    "OffsetRetrievalTask": RESULT,
    "RetrievalScores": RESULT,
    "ThresholdF1": RESULT,
    "roc_auc": fn(y_true=Y1, scores=SCORES1, engine=ENGINE, dims=N1, engines=True),
    "mann_whitney_u": fn(y_true=Y1, scores=SCORES1, engine=ENGINE, dims=N1, engines=True),
    # documented: any shape, "same number of entries"
    "best_f1_threshold": fn(y_true=BinaryLabels(("n",), both="pos"), scores=SCORES_ANY, dims=N1),
    "f1_at_threshold": fn(y_true=BinaryLabels(("n",), both=None), scores=SCORES_ANY, threshold=Real(allow_inf=True),
                          dims=N1),
    "reciprocal_ranks": fn(scores=SCORES2, labels=BinaryLabels(("q", "d"), both="rowpos"), dims=QD),
    "info_nce_loss": fn(scores=SCORES2, labels=Y2_ROWS, tau=TAU, dims=QD, may_raise=OVERFLOW),
    "info_nce_loss_torch": fn(scores=Mapped(SCORES2, _tensor, bad=(np.zeros((2, 3)), [[0.0, 1.0]])),
                              labels=Y2_ROWS, tau=TAU, dims=QD, may_raise=OVERFLOW),
    "mw_loss": fn(scores=SCORES1, labels=Y1, pooling=Sampled(["global"], bad=("none", None)), engine=ENGINE,
                  dims=N1, engines=True),
    "mw_loss_and_grad": fn(scores=SCORES2, labels=Y2_ROWS, pooling=Choice("global", "per_query"), engine=ENGINE,
                           dims=QD, engines=True),
    "mw_loss_torch": fn(scores=Mapped(SCORES1, _tensor, bad=(np.zeros(3), [0.0, 1.0])), labels=Y1, dims=N1),
    "offset_retrieval_task": fn(
        n_train=Int(1, typical=(1, 10)), n_test=Int(1, typical=(1, 10)), n_docs=Int(2, typical=(4, 20)),
        n_clusters=Int(2, lambda a: a["n_docs"], typical=(2, 4)), dim=Int(2, typical=(2, 4)),
        noise=Real(low=0.0, high=1e100, typical=(0.0, 2.0)), offset=Real(low=0.0, high=1e100, typical=(0.0, 2.0)),
        seed=Seed()),
    "evaluate_dual_encoder": fn(task=Obj(_task), A=Array(shape=("k", TASK_DIM), max_abs=1e100),
                                B=Array(shape=("k", TASK_DIM), max_abs=1e100), dims={"k": (1, 3)}, may_inf=True),
    "train_dual_encoder": fn(
        task=Obj(_task), loss=Choice("infonce", "mw"), steps=Int(1, typical=(1, 3)),
        batch_size=Int(2, typical=(2, 6)), lr=LR, tau=TRAIN_TAU, seed=Seed(), weight=0.3),
    "offset_study": fn(
        seeds=Sampled([[0], (0, 1)], bad=([], [-1], "ab")),
        lrs=Sampled([(0.01,), [0.003, 0.1]], bad=((), (0.0,), (-1.0,))),
        offset=Real(low=0.0, high=1e100, typical=(0.0, 2.0)), steps=Int(1, typical=(1, 2)),
        batch_size=Int(2, typical=(2, 4)), tau=TRAIN_TAU, weight=0.2),
}
