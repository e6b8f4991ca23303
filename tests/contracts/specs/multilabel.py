"""Contracts of lossbook.multilabel (see tests/contracts/contracts_dsl.py)."""

import numpy as np
from contracts_dsl import CONSTANT, RESULT, Array, BinaryLabels, Const, Int, Real, Sampled, Seed, fn

LOGITS = Array(shape=("B", "L"), max_abs=1e300)
FREQ = Array(shape=("L",), low=1.0, max_abs=1e300)
DIMS = {"B": (1, 4), "L": (1, 4)}


def _bin(a, key="B"):
    rng = np.random.default_rng(a["B"] * 10 + a["L"])
    y = (rng.random((a["B"], a["L"])) < 0.5).astype(int)
    return y


def _both(a):
    y = _bin(a)
    y[0, :] = 1
    if a["B"] > 1:
        y[1, :] = 0
    else:
        y[0, 0] = 0
    return y


ATT_DIMS = {"B": (1, 3), "S": (1, 4), "d": (1, 3), "k": (1, 3), "L": (1, 3)}

SPECS = {
    "LOSSES": CONSTANT,
    "CodewiseStudy": RESULT,
    "TriggerData": RESULT,
    "ldam_margins": fn(freq=FREQ, C=Real(0.0, 1e6), dims={"L": (1, 5)}),
    "ldam_bce_loss": fn(logits=LOGITS, y=BinaryLabels(("B", "L"), both=None), freq=FREQ, C=Real(0.0, 1e6), dims=DIMS),
    "ldam_bce_grad": fn(logits=LOGITS, y=BinaryLabels(("B", "L"), both=None), freq=FREQ, C=Real(0.0, 1e6), dims=DIMS),
    "ldam_threshold": fn(margin=Array(shape=("n",), low=0.0, finite=False), dims={"n": (0, 4)}),
    "codewise_attention": fn(H=Array(shape=("B", "S", "d"), max_abs=1e100),
                             mask=Const(lambda a: np.ones((a["B"], a["S"]), bool),
                                        bad=(None, "x", np.zeros((1, 1), bool), np.ones((9, 9), bool))),
                             W1=Array(shape=("k", "d"), max_abs=1e100), U=Array(shape=("L", "k"), max_abs=1e100),
                             dims=ATT_DIMS),
    "token_contributions": fn(alpha=Array(shape=("B", "L", "S"), low=0.0, high=1.0),
                              H=Array(shape=("B", "S", "d"), max_abs=1e100), w=Array(shape=("L", "d"), max_abs=1e100),
                              dims=ATT_DIMS, may_raise={ValueError: "overflowed"}),
    "multilabel_f1": fn(y_true=Const(_bin, bad=(None, "x", [[2]], [1, 0])),
                        y_pred=Const(lambda a: 1 - _bin(a), bad=(None, [[0.5]], np.zeros((9, 9)))), dims=DIMS),
    "per_code_f1": fn(y_true=Const(_bin, bad=(None, "x", [[2]], [1, 0])),
                      y_pred=Const(lambda a: 1 - _bin(a), bad=(None, [[0.5]], np.zeros((9, 9)))), dims=DIMS),
    "multilabel_auc": fn(y_true=Const(_both, bad=(None, "x", [[2]], np.ones((2, 2)))),
                         scores=Array(shape=("B", "L")), dims={"B": (2, 4), "L": (1, 4)}),
    "trigger_documents": fn(n_docs=Int(1, 10**6, typical=(1, 5)), n_codes=Int(1, 1000, typical=(1, 4)),
                            n_triggers=Sampled([1, 2], bad=(0, 101, 1.5)),
                            vocab=Int(lambda a: a["n_codes"] * a["n_triggers"] + 1, 10**6, typical=(9, 40)),
                            length=Int(lambda a: a["n_codes"], 10**4, typical=(4, 8)), zipf=Real(0.0, 10.0),
                            max_rate=Real(0.0, 1.0, low_open=True), seed=Seed(), weight=0.5,
                            may_raise={ValueError: "at most 1e8"}),
    "codewise_study": fn(seeds=Sampled([[0]], bad=([-1], [], None)), n_train=Sampled([16, 64], bad=(0, 1.5)),
                         n_test=Sampled([64], bad=(0,)), epochs=Sampled([0, 1], bad=(-1, 1001)),
                         C=Real(0.0, 1e6), lr=Real(0.0, 1.0, low_open=True, typical=(1e-4, 1e-2)),
                         d=Sampled([8], bad=(3, 0, 1.5)), batch_size=Sampled([16], bad=(0, 10**6)), weight=0.2,
                         may_raise={ValueError: "both labels"}),
}
