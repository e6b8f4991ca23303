"""Contracts of lossbook.unlearning (see tests/contracts/contracts_dsl.py)."""

import math

import numpy as np
from contracts_dsl import CONSTANT, RESULT, Array, Mapped, ProbVectors, Real, Sampled, fn

from lossbook.unlearning import CRITIC_MAX_ABS, DIVERGENCES

DIV = Sampled(list(DIVERGENCES), bad=("Hellinger", "kl", None, 3))
# the domain of the conjugate: all reals (KL, Pearson), [-1/2, 1/2] (TV), below log 2 (JS)
_JS_TOP = float(np.nextafter(math.log(2.0), 0.0))


def _low(a):
    return None


def _high(a):
    return {"TV": 0.5, "JS": _JS_TOP}.get(a["divergence"])


K = {"k": (1, 5)}
NM = {"n": (1, 4), "m": (1, 4)}
PBAR_E = Array(shape=("n",), low=0.0, high=1.0, typical=(0.0, 1.0))
PBAR_F = Array(shape=("m",), low=0.0, high=1.0, typical=(0.0, 1.0))


def _tensor(x):
    import torch

    return torch.as_tensor(np.asarray(x, dtype="float64"))


SPECS = {
    "CRITIC_MAX_ABS": CONSTANT,
    "DIVERGENCES": CONSTANT,
    "METHODS": CONSTANT,
    "FlatWeights": RESULT,
    "UnlearningStudy": RESULT,
    "activation": fn(divergence=DIV, v=Array()),
    "conjugate": fn(divergence=DIV, t=Array(low=_low, high=_high), may_inf=True),
    "f_generator": fn(divergence=DIV, u=Array(low=0.0), may_inf=True),
    "f_divergence": fn(divergence=DIV, p=ProbVectors(("k",)), q=ProbVectors(("k",)), dims=K, may_inf=True),
    "optimal_critic": fn(divergence=DIV, p=ProbVectors(("k",)), q=ProbVectors(("k",)), dims=K, may_inf=True),
    "variational_bound": fn(divergence=DIV, p=ProbVectors(("k",)), q=ProbVectors(("k",)),
                            critic=Array(shape=("k",), low=_low, high=_high, max_abs=CRITIC_MAX_ABS),
                            dims=K, may_inf=True),
    "flat_loss": fn(pbar_template=PBAR_E, pbar_forget=PBAR_F, divergence=DIV, dims=NM),
    "flat_weights": fn(pbar_template=PBAR_E, pbar_forget=PBAR_F, divergence=DIV, dims=NM),
    "flat_loss_torch": fn(pbar_template=Mapped(PBAR_E, _tensor, bad=([0.5], np.array([0.5]))),
                          pbar_forget=Mapped(PBAR_F, _tensor, bad=([0.5], np.array([0.5]))),
                          divergence=DIV, dims=NM),
    "unlearning_study": fn(
        methods=Sampled([("GA",), ("FLAT-TV", "GA"), ["FLAT-JS"]], bad=((), ("SGD",), "GA", (3,))),
        seeds=Sampled([(0,), (1, 2)], bad=((), (-1,), (0.5,), 3)),
        n_retain=Sampled([1, 3], bad=(0, 10**5 + 1, 1.5)), n_forget=Sampled([1, 2], bad=(0, 10**5 + 1)),
        n_refuse=Sampled([0, 2], bad=(-1, 10**5 + 1)), answer_len=Sampled([1, 3], bad=(0, 11)),
        vocab=Sampled([5, 8], bad=(1, 10001)), width=Sampled([2, 4], bad=(0, 1025)),
        hidden=Sampled([2, 4], bad=(0, 1025)), pretrain_steps=Sampled([1, 3], bad=(0, 100001)),
        pretrain_lr=Real(low=0.0, low_open=True, high=10.0, typical=(1e-3, 0.1)),
        steps=Sampled([1, 4], bad=(0, 100001)), lr=Real(low=0.0, low_open=True, high=10.0, typical=(1e-3, 0.1)),
        eval_every=Sampled([1], bad=(0, 5)), weight=0.3),
}
