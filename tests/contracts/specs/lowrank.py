"""Contracts of lossbook.lowrank (see tests/contracts/contracts_dsl.py)."""

import numpy as np
from contracts_dsl import CONSTANT, RESULT, Array, Choice, Const, Int, Real, Sampled, Seed, fn

MN = {"m": (1, 5), "n": (1, 5)}
#: documented limit lossbook.lowrank.decomposition.MAX_WEIGHT: squared norms stay in the float range
W = Array(shape=("m", "n"), max_abs=1e150)
RANK = Int(0, lambda a: min(a["m"], a["n"]))
#: the layers refuse entries beyond the float32 range whatever the dtype (documented)
F32 = 3.4028234663852886e38
SIDE = Int(1, 10**9, typical=(1, 6), extra=(10**9,))
SMALL_SIDE = Int(1, 2048, typical=(1, 6))


def _channels(a):
    return np.arange(a["n"])[::-1][: a["k"]].copy()  # distinct, in [0, n), not sorted


def _support(a):
    flat = np.arange(a["nnz"])
    return flat // a["n"], flat % a["n"]


SPECS = {
    "METHODS": CONSTANT,
    "ChannelStudy": RESULT,
    "LayerCost": RESULT,
    "LostDecomposition": RESULT,
    "LowRankApproximation": RESULT,
    "OutlierTarget": RESULT,
    "RandomSupportDecomposition": RESULT,
    "best_rank_approximation": fn(W=W, rank=RANK, dims=MN),
    "lost_channel_scores": fn(W=W, rank=RANK, dims=MN),
    "lost_decomposition": fn(W=W, rank=RANK, n_channels=Int(0, lambda a: a["n"]), dims=MN),
    "random_support_decomposition": fn(W=W, rank=RANK, n_entries=Int(0, lambda a: a["m"] * a["n"]), seed=Seed(),
                                       dims=MN),
    "lowrank_sparse_cost": fn(out_features=SIDE, in_features=SIDE,
                              rank=Int(0, lambda a: min(a["out_features"], a["in_features"]), typical=(0, 6)),
                              n_channels=Int(0, lambda a: a["in_features"], typical=(0, 6)),
                              batch_size=Int(1, 10**9, typical=(1, 8), extra=(10**9,)),
                              itemsize=Int(1, 16)),
    "rank_for_budget": fn(out_features=Int(1, 10**9, typical=(1, 6)), in_features=Int(1, 10**9, typical=(1, 6)),
                          n_channels=Int(0, lambda a: a["in_features"]),
                          budget=Int(lambda a: a["out_features"] * a["n_channels"], 10**30, typical=(0, 1000))),
    "lost_linear": fn(B=Array(shape=("m", "r"), max_abs=F32), A=Array(shape=("r", "n"), max_abs=F32),
                      channels=Const(_channels, bad=([0.5], None, "x", [[0]])),
                      S=Array(shape=("m", "k"), max_abs=F32), dtype=Choice("float32", "float64"),
                      dims={"m": (1, 4), "r": (0, 3), "n": (3, 5), "k": (0, 3)}),
    "random_support_linear": fn(B=Array(shape=("m", "r"), max_abs=F32), A=Array(shape=("r", "n"), max_abs=F32),
                                rows=Const(lambda a: _support(a)[0], bad=([0.5], None, [-1])),
                                cols=Const(lambda a: _support(a)[1], bad=([0.5], None, [-1])),
                                values=Array(shape=("nnz",), max_abs=F32), dtype=Choice("float32", "float64"),
                                dims={"m": (1, 4), "r": (0, 3), "n": (1, 4), "nnz": (0, 1)}),
    "outlier_channel_target": fn(out_features=SMALL_SIDE, in_features=SMALL_SIDE,
                                 rank=Int(0, lambda a: min(a["out_features"], a["in_features"])),
                                 n_outliers=Int(0, lambda a: a["in_features"]),
                                 outlier_scale=Real(0.0, 1e6, typical=(0.0, 3.0)), seed=Seed()),
    "channel_regression_study": fn(
        seeds=Sampled([[0], [1, 2], np.array([3])], bad=([-1], [[0]], [], None)),
        out_features=SMALL_SIDE, in_features=SMALL_SIDE,
        true_rank=Int(0, lambda a: min(a["out_features"], a["in_features"])),
        n_outliers=Int(0, lambda a: a["in_features"]),
        outlier_scale=Real(0.0, 1e6, typical=(0.0, 3.0)),
        rank=Int(0, lambda a: min(a["out_features"], a["in_features"])),
        n_channels=Int(0, lambda a: a["in_features"]),
        n_train=Int(1, 20000, typical=(1, 8)), n_test=Int(1, 20000, typical=(1, 8)),
        noise=Real(0.0, 1e3, typical=(0.0, 1.0)),
        warmup_steps=Int(1, 100000, typical=(1, 3)), steps=Int(1, 100000, typical=(1, 3)),
        lr=Real(0.0, 1.0, low_open=True, typical=(1e-3, 0.1)),
        weight=0.5, may_raise={FloatingPointError: "the loss became"}),
}
