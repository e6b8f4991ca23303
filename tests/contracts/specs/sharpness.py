"""Contracts of lossbook.sharpness (see tests/contracts/contracts_dsl.py)."""

import numpy as np
from contracts_dsl import CONSTANT, RESULT, Array, Choice, Const, Int, Mapped, Real, Sampled, Seed, fn

#: documented limit lossbook.sharpness.MAX_LOGIT
MAX_LOGIT = 1e150
NK = {"n": (1, 4), "k": (1, 4)}
LOGITS = Array(shape=("n", "k"), max_abs=MAX_LOGIT)
TAU = Real(1e-6, 1e6, typical=(0.5, 10.0))
P = {"p": (1, 5)}
PARAMS = Array(shape=("p",))


def _bounded_loss(w):
    # smooth and bounded with a bounded Hessian, so every finite point is a valid point
    import torch

    return torch.cos(w).sum() + (torch.tanh(w) ** 2).sum()


LOSS = Const(lambda a: _bounded_loss, bad=(None, 3, "loss"))


def _tensor(x):
    import torch

    arr = np.asarray(x)  # keep wrong dtypes (complex, strings) visible to the function
    return torch.as_tensor(arr.astype("float64") if arr.dtype.kind in "biuf" else arr)


def _labels(a):
    return np.arange(a["n"]) % 3


DIVERGED = {FloatingPointError: "diverged|non-finite"}
RUN_ARGS = {
    "epochs": Sampled([1, 3], bad=(0, 10_001)),
    "hidden": Sampled([1, 8], bad=(0, 4097)),
    "lr": Real(0.0, 10.0, low_open=True, typical=(1e-3, 0.1)),
    "momentum": Real(0.0, 1.0, high_open=True, typical=(0.0, 0.9)),
    "batch_size": Sampled([64, 5000], bad=(0, 100_001)),
    "rho": Real(0.0, 100.0, typical=(0.0, 0.2)),
    "lam": Real(0.0, 100.0, typical=(0.0, 1.0)),
    "tau": TAU,
    "delay": Sampled([1, 2], bad=(0, 101)),
    "start_epoch": Sampled([2, 3], bad=(-1, 10_001)),
    "power_iters": Sampled([1, 5], bad=(0, 10_001)),
}

SPECS = {
    "MAX_DENSE_PARAMS": CONSTANT,
    "MAX_LOGIT": CONSTANT,
    "METHODS": CONSTANT,
    "FlatMLP": RESULT,
    "HessianEigen": RESULT,
    "SamPerturbation": RESULT,
    "SharpnessRun": RESULT,
    "SharpnessStudy": RESULT,
    "TrajectoryKL": RESULT,
    "trajectory_kl": fn(logits=LOGITS, past_logits=LOGITS, tau=TAU, dims=NK),
    "trajectory_kl_torch": fn(logits=Mapped(LOGITS, _tensor), past_logits=Mapped(LOGITS, _tensor), tau=TAU,
                              dims=NK),
    "hessian_vector_product": fn(loss_fn=LOSS, params=PARAMS, vector=Array(shape=("p",)), dims=P,
                                 may_raise={ValueError: "overflowed"}),
    "dense_hessian": fn(loss_fn=LOSS, params=PARAMS, dims=P),
    "dense_top_eigenvalue": fn(loss_fn=LOSS, params=PARAMS, dims=P),
    "top_hessian_eigenvalue": fn(loss_fn=LOSS, params=PARAMS, max_iter=Int(1, 10_000, typical=(1, 50)),
                                 tol=Real(0.0, 1.0, high_open=True, typical=(1e-8, 1e-2)), seed=Seed(), dims=P),
    "sam_perturbed_loss": fn(loss_fn=LOSS, params=PARAMS, rho=Real(0.0, 1e6, typical=(0.0, 1.0)), dims=P),
    "flat_mlp": fn(X=Array(shape=("n", "d"), max_abs=1e6), y=Const(_labels, bad=(None, "y", [0.5], [-1])),
                   hidden=Int(1, 4096, typical=(1, 8)), seed=Seed(), dims={"n": (1, 5), "d": (1, 4)}),
    "train_sharpness_run": fn(method=Choice("sgd", "sam", "saf"), seed=Sampled([0, 1], bad=(-1, 1.5, None)),
                              **RUN_ARGS, weight=0.3, may_raise=DIVERGED),
    "sharpness_study": fn(seeds=Sampled([[0], np.array([1])], bad=([], [-1], [0.5], None)),
                          methods=Sampled([("sgd",), ("saf", "sam")], bad=((), ("adam",), "sgd", None)),
                          epochs=Sampled([1, 2], bad=(0,)), start_epoch=Sampled([2], bad=(1,)),
                          power_iters=Sampled([2], bad=(0,)), weight=0.2, may_raise=DIVERGED),
}
