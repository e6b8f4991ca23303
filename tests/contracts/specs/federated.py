"""Contracts of lossbook.federated (see tests/contracts/contracts_dsl.py)."""

import numpy as np
from contracts_dsl import CONSTANT, RESULT, Array, Choice, Int, Labels, Obj, Real, Sampled, Seed, fn

MAX_ABS = 1e100
NDC = {"n": (1, 6), "d": (1, 3), "C": (2, 4)}
X = Array(shape=("n", "d"), max_abs=MAX_ABS)
W = Array(shape=(lambda a: a["d"] + 1, "C"), max_abs=MAX_ABS)
Y = Labels(("n",), "C")
WEIGHT = Real(low=0.0, high=1e6, typical=(0.0, 2.0))


def _weights(a):
    return np.random.default_rng(a["m"]).dirichlet(np.ones(a["m"]))


WEIGHTS = Sampled([None, _weights, lambda a: np.full(a["m"], 1.0 / a["m"])],
                  bad=(np.array([2.0, -1.0]), "w", np.ones((1, 1))))
UPDATES = Array(shape=("m", "k"), max_abs=MAX_ABS)
MK = {"m": (1, 5), "k": (1, 6)}


def _clients(a):
    """``m`` = min(n, 3) disjoint, non-empty blocks of a permutation of the samples."""
    n = a["n"]
    perm = np.random.default_rng(n).permutation(n)
    return [np.sort(b) for b in np.array_split(perm, min(n, 3))]


def _models(a):
    return np.random.default_rng(a["d"]).normal(size=(min(a["n"], 3), a["d"] + 1, a["C"]))


CLIENTS = Obj(_clients, bad=(None, "clients", [np.array([0.5])], [np.array([], dtype=int)]))
SPLIT_Y = Sampled([lambda a: np.arange(a["n"]) % a["C"], lambda a: (np.arange(a["n"]) % a["C"]).tolist()],
                  bad=(None, "y", [0.5, 1.0], np.zeros((2, 2), dtype=int)))

ANCHOR = Sampled([None, lambda a: np.ones((a["d"] + 1, a["C"]))], bad=("a", np.zeros((1, 1)), np.full((2, 2), np.nan)))

SPECS = {
    "AGGREGATORS": CONSTANT,
    "ClientSplit": RESULT,
    "FederatedRun": RESULT,
    "LossDecomposition": RESULT,
    "LossGrad": RESULT,
    "dirichlet_label_split": fn(
        y=SPLIT_Y, n_clients=Int(1, 10000, typical=(1, 4)), alpha=Real(1e-3, 1e8, typical=(0.01, 100.0)),
        seed=Seed(), min_size=Int(0, lambda a: a["n"] // int(a["n_clients"]), typical=(0, 1)),
        max_tries=Int(1, 100000, typical=(1, 20)), dims={"n": (1, 12), "C": (2, 4)},
        may_raise={ValueError: "no split with every client"}),
    "margin_control_loss": fn(logits=Array(shape=("n", "C"), max_abs=MAX_ABS), y=Y, lam=WEIGHT,
                              reduction=Choice("batch", "sample"), dims=NDC),
    "softmax_regression_loss": fn(W=W, X=X, y=Y, margin=WEIGHT, mu=WEIGHT, anchor=ANCHOR, dims=NDC,
                                  may_raise={ValueError: "anchor is required when mu > 0"}),
    "fedavg_aggregate": fn(updates=UPDATES, weights=WEIGHTS, dims=MK),
    "principal_gradient_aggregate": fn(updates=UPDATES, kappa=Real(0.0, 1.0, low_open=True), weights=WEIGHTS,
                                       rule=Choice("projection", "code"), eps=Real(0.0, 1.0, high_open=True),
                                       dims=MK),
    "loss_decomposition": fn(client_models=Obj(_models, bad=(None, "m", np.zeros((1, 1)))), global_model=W, X=X,
                             y=Y, clients=CLIENTS, dims=NDC),
    "federated_train": fn(
        X=X, y=Y, clients=CLIENTS, n_classes=Sampled([lambda a: a["C"]], bad=(1, 2.5, None)),
        rounds=Int(1, 100000, typical=(1, 2)), local_epochs=Int(1, 10000, typical=(1, 2)),
        lr=Real(0.0, 100.0, low_open=True, typical=(1e-3, 1.0)), batch_size=Int(1, 10**7, typical=(1, 4)),
        aggregator=Choice("fedavg", "pga", "pga-code"), mu=WEIGHT, margin=WEIGHT,
        kappa=Real(0.0, 1.0, low_open=True), seed=Seed(), dims=NDC, weight=0.5,
        may_raise={FloatingPointError: "overflowed"}),
}
