"""Contracts of lossbook.consistency (see tests/contracts/contracts_dsl.py)."""

import numpy as np
from contracts_dsl import (
    CLASS,
    RESULT,
    Array,
    Bool,
    Choice,
    Const,
    Int,
    Labels,
    Mapped,
    Obj,
    OneOf,
    ProbVectors,
    Real,
    Sampled,
    Seed,
    fn,
)

from lossbook.consistency import make_mixture_task

TAU = Real(low=0.0, typical=(0.0, 3.0))
TAU_BELOW_2 = Real(low=0.0, high=2.0, high_open=True)
N = Int(low=2, typical=(2, 50), extra=(10**6, 2**63, 10**400))
MN = {"m": (1, 4), "n": (2, 5)}
SCORES = Array(shape=("m", "n"), typical=(-30.0, 30.0), any_ndim=True)  # documented shape (..., n)
TORCH_SCORES = Array(shape=("m", "n"), typical=(-30.0, 30.0))  # torch functions take (m, n)
PROBS = ProbVectors(("m", "n"), any_ndim=True)


def _tensor(x, dtype="float64"):
    import torch

    return torch.as_tensor(np.asarray(x, dtype=dtype))


def _labels_tensor(y):
    import torch

    y = np.asarray(y)
    return torch.as_tensor(y.astype(np.int64) if y.dtype.kind in "iu" else y)  # a bad float label stays float


SPECS = {
    "BoundCheck": RESULT,
    "LinearFit": RESULT,
    "MixtureTask": RESULT,
    "TightInstance": RESULT,
    "TrainingTrace": RESULT,
    "TransformSearch": RESULT,
    "phi_tau": fn(u=Array(low=0.0), tau=TAU, may_inf=True),
    "comp_sum_loss_all_labels": fn(scores=SCORES, tau=TAU, dims=MN, may_inf=True),
    "comp_sum_loss": fn(scores=SCORES, y=Labels(("m",), "n"), tau=TAU, dims={"m": (0, 4), "n": (2, 5)}, may_inf=True),
    "comp_sum_loss_torch": fn(
        scores=Mapped(TORCH_SCORES, _tensor, bad=(np.zeros((2, 3)), [[0.0, 1.0]])),
        y=Mapped(Labels(("m",), "n"), _labels_tensor, bad=(np.zeros(2, dtype=int),)),
        tau=TAU, reduction=Choice("none", "mean", "sum"), dims=MN, may_inf=True),
    "conditional_risk": fn(scores=SCORES, p=PROBS, tau=TAU, dims=MN, may_inf=True),
    "best_conditional_risk": fn(p=PROBS, tau=TAU, dims=MN),
    "best_conditional_softmax": fn(p=PROBS, tau=TAU, dims=MN),
    "zero_one_regret": fn(scores=SCORES, p=PROBS, dims=MN),
    "bound_T": fn(t=Array(low=0.0, high=1.0), tau=TAU, n=N),
    "bound_gamma": fn(s=Array(low=0.0), tau=TAU, n=N),
    "quadratic_coefficient": fn(tau=TAU, n=N),
    "sqrt_bound": fn(s=Array(low=0.0), tau=TAU_BELOW_2, n=N),
    "tight_instance": fn(
        tau=OneOf(Real(0.0, 1.0), Sampled([2.0]), bad=(1.5, 2.5)),
        n=Int(low=2, high=10**8, typical=(2, 20)),
        t=Real(0.0, lambda a: 1.0 if a["tau"] <= 1.0 else 1.0 / (a["n"] - 1)),
        eps=Real(low=0.0), depth=Real(low=0.0)),
    "transform_search": fn(
        t=Real(0.0, 1.0, high_open=True), tau=TAU, n=Int(low=2, high=100, typical=(2, 3)), seed=Seed(),
        maxiter=Int(low=1, high=10**5, typical=(1, 3)),
        max_gap=Real(low=0.0, low_open=True, high=700.0, typical=(1.0, 40.0)),
        weight=0.3, may_raise={RuntimeError: "infeasible"}),
    "box_best_conditional_risk": fn(bound=Real(low=0.0, low_open=True), tau=TAU, n=N, may_inf=True),
    "population_excess_risks": fn(scores=TORCH_SCORES, weights=ProbVectors(("m",)), P=ProbVectors(("m", "n")), tau=TAU,
                                  dims=MN, may_inf=True),
    "fit_linear_population": fn(
        X=Array(shape=("m", "d"), typical=(-3.0, 3.0), max_abs=1e100), weights=ProbVectors(("m",)),
        P=ProbVectors(("m", "n")), tau=TAU, seed=Seed(), restarts=Int(1, 1000, typical=(1, 2)),
        init_scale=Real(low=0.0, typical=(0.0, 1.0), high=10.0), maxiter=Int(1, 10**6, typical=(1, 50)),
        dims={"m": (1, 4), "n": (2, 4), "d": (1, 3)}, weight=0.5),
    "quadratic_posterior_example": fn(m=Int(low=2, high=10**7, typical=(2, 50)), sharpness=Real(low=0.0)),
    "make_mixture_task": fn(n=Int(low=2, typical=(2, 6)), d=Int(low=1, typical=(1, 5)), seed=Seed(),
                            separation=Real(low=0.0, low_open=True, high=1e100), imbalance=Real(low=1.0),
                            noise=Real(0.0, 1.0, high_open=True)),
    "train_comp_sum": fn(
        task=Obj(lambda a: make_mixture_task(3, 2, seed=0)), tau=TAU, model=Choice("linear", "mlp"),
        hidden=Int(1, 10**4, typical=(1, 8)), m_train=Int(1, 10**7, typical=(1, 50)),
        m_eval=Int(1, 10**7, typical=(1, 50)), steps=Int(0, 10**6, typical=(0, 5)),
        lr=Real(low=0.0, low_open=True, high=10.0, typical=(1e-3, 1.0)), log_every=Int(1, 10**6, typical=(1, 5)),
        threads=Int(1, 64, typical=(1, 1)), seed=Seed(), weight=0.3),
    "uniforms_per_draw": fn(n=N),
    # n * draws above the documented size limit is refused (tests/consistency/test_verify.py)
    "draw_instances": fn(n=Int(low=2, typical=(2, 20)), draws=Int(low=1, typical=(1, 50)), seed=Seed()),
    "verify_bound": fn(tau=Real(low=0.0, high=100.0, typical=(0.0, 3.0)),
                       n=Int(low=2, typical=(2, 20)), draws=Int(low=1, typical=(1, 200)),
                       seed=Seed(), engine=Choice("numba", "numpy"), engines=True),
}
_ = (CLASS, Bool, Const)  # available to future entries
