"""Contracts of lossbook.collapse (see tests/contracts/contracts_dsl.py)."""


import numpy as np
from contracts_dsl import (
    RESULT,
    Array,
    Bad,
    Bool,
    Choice,
    Domain,
    Int,
    Labels,
    Maybe,
    Obj,
    OneOf,
    Real,
    Sampled,
    Seed,
    fn,
)
from hypothesis import strategies as st

from lossbook.collapse import construct_deep_linear_minimizer


class Opt(Maybe):
    """An optional argument whose default is ``None`` (so ``None`` is valid, not refused)."""

    def invalid(self, a, name):
        return [b for b in self.inner.invalid(a, name) if b.value is not None]


POS = Real(low=0.0, low_open=True)
NONNEG = Real(low=0.0)
#: documented magnitude limit of the unconstrained-features family (lossbook.collapse.ufm.MAX_MAGNITUDE)
BIG = 1e50
DECAY = Real(low=0.0, low_open=True, high=BIG)
DECAY0 = Real(low=0.0, high=BIG)


class OneHot(Array):
    """One-hot label matrices ``Y`` of shape (K, N), every class present (columns in any order)."""

    def __init__(self):
        super().__init__(shape=("K", "N"), low=0.0, high=1.0)

    def _matrix(self, K, N, order=None):
        Y = np.zeros((K, N))
        cols = np.arange(N) if order is None else np.asarray(order)
        Y[np.arange(N) % K, cols] = 1.0
        return Y

    def valid(self, draw, a):
        K, N = a["K"], a["N"]
        order = draw(st.permutations(range(N)))
        Y = self._matrix(K, N, order)
        kind = draw(st.sampled_from(["f64", "f32", "int", "list"]))
        return {"f64": Y, "f32": Y.astype(np.float32), "int": Y.astype(np.int64), "list": Y.tolist()}[kind]

    def _example(self, a):
        return self._matrix(a["K"], a["N"])

    def example(self, a, shape):
        return self._matrix(*shape) if shape[0] and shape[1] >= shape[0] else np.zeros(shape)

    def invalid(self, a, name):
        Y = self._example(a)
        twice, missing, nan, single = 2.0 * Y, Y.copy(), Y.copy(), Y[:1]
        missing[:, :] = 0.0
        missing[0, :] = 1.0
        nan[0, 0] = np.nan
        return [Bad(None, "None"), Bad("abc", "a string"), Bad(Y[None], "one dimension too many"),
                Bad(Y[0], "one dimension too few"), Bad(twice, "entries 2"), Bad(missing, "a missing class"),
                Bad(nan, "a NaN entry"), Bad(single, "one class"), Bad(Y + 1j, "complex entries")]


class AllLabels(Labels):
    """Labels in 0..K-1 in which every class occurs (N >= K)."""

    def valid(self, draw, a):
        N, K = a["N"], a["K"]
        y = np.array(draw(st.permutations(list(np.arange(N) % K))), dtype=np.int64)
        kind = draw(st.sampled_from(["i64", "i32", "list"]))
        return y.astype(np.int32) if kind == "i32" else (y.tolist() if kind == "list" else y)


class Layers(Domain):
    """``[W_1, ..., W_M]``: (d, d) hidden layers and a (K, d) last layer."""

    def _shapes(self, a):
        return [(a["d"], a["d"])] * (a["M"] - 1) + [(a["K"], a["d"])]

    def valid(self, draw, a):
        return [Array(shape=sh, typical=(-2.0, 2.0)).valid(draw, a) for sh in self._shapes(a)]

    def invalid(self, a, name):
        good = [np.ones(sh) for sh in self._shapes(a)]
        wrong, nan = list(good), list(good)
        wrong[0] = np.ones((good[0].shape[0] + 1, good[0].shape[1] + 1))
        nan[-1] = good[-1].copy()
        nan[-1][0, 0] = np.nan
        return [Bad(None, "None"), Bad([], "no layers"), Bad("abc", "a string"), Bad(wrong, "a wrong shape"),
                Bad(nan, "a NaN entry")]


# n >= 2 so that a one-hot Y with K + 2 classes exists (shape clashes in K then reach the W check)
UFM_DIMS = {"K": (2, 3), "n": (2, 3), "N": lambda a: a["K"] * a["n"], "d": (1, 3)}
LAB_DIMS = {"K": (2, 3), "extra": (0, 2), "N": lambda a: a["K"] + a["extra"], "d": (1, 3)}
H = Array(shape=("d", "N"), max_abs=BIG)
W = Array(shape=("K", "d"), max_abs=BIG)
Y = OneHot()
COUNTS_SMALL = Array(shape=("K",), dtype="int", low=1, typical=(1, 3))
COUNTS = OneOf(Array(shape=("K",), dtype="int", low=1, typical=(1, 6)),
               Sampled([[1e300, 1e300], [2.0**53, 1.0, 7.0], [1e15, 1.0]]), bad=([0, 1], [1.5, 2.0], [3]))
LAMS = OneOf(POS, Array(shape=(lambda a: a["depth"],), low=0.0, low_open=True, typical=(1e-3, 3.0)),
             bad=([0.1] * 7,))
DEPTH = Int(low=1, typical=(1, 4))
SMALL_LAMS = OneOf(Real(low=0.0, low_open=True, typical=(1e-3, 0.1)),
                   Array(shape=(lambda a: a["depth"],), low=0.0, low_open=True, typical=(1e-3, 0.1)),
                   bad=([0.1] * 7,))
SIZE = Int(low=lambda a: len(a["counts"]), typical=(2, 4))


def _inverse_lam_w(a):
    """The bound lam_h < 1/lam_w in float64 (no bound where 1/lam_w overflows)."""
    with np.errstate(over="ignore", divide="ignore"):
        return float(np.float64(1.0) / np.float64(float(a["lam_w"])))


def _init(a):
    return construct_deep_linear_minimizer(a["counts"], a["d"], a["depth"], 0.1, 0.1, seed=0)


SPECS = {
    "CentralPath": RESULT,
    "CollapseMetrics": RESULT,
    "CollapseTrace": RESULT,
    "HessianBlocks": RESULT,
    "EnergySplit": RESULT,
    "PerturbationSpectrum": RESULT,
    "UFMMinimizer": RESULT,
    "VicinitySolution": RESULT,
    "DeepLinearCEETF": RESULT,
    "DeepLinearFit": RESULT,
    "DeepLinearMinimizer": RESULT,
    "DeepLinearPoint": RESULT,
    # --- metrics
    "class_means": fn(H=Array(shape=("d", "N")), labels=AllLabels(("N",), "K"),
                      n_classes=Maybe(Sampled([lambda a: a["K"]], bad=(1, 1.5, "3"))),
                      global_mean=Choice("weighted", "uniform"), dims=LAB_DIMS),
    "sigma_w": fn(H=Array(shape=("d", "N")), labels=AllLabels(("N",), "K"),
                  n_classes=Maybe(Sampled([lambda a: a["K"]], bad=(1, 1.5))), dims=LAB_DIMS, may_inf=True),
    "sigma_b": fn(H=Array(shape=("d", "N")), labels=AllLabels(("N",), "K"),
                  n_classes=Maybe(Sampled([lambda a: a["K"]], bad=(1, 1.5))),
                  global_mean=Choice("weighted", "uniform"), dims=LAB_DIMS, may_inf=True),
    "collapse_metrics": fn(H=Array(shape=("d", "N")), labels=AllLabels(("N",), "K"),
                           W=Opt(Array(shape=("K", "d"))),
                           n_classes=Maybe(Sampled([lambda a: a["K"]], bad=(1, 1.5))),
                           global_mean=Choice("weighted", "uniform"),
                           rcond=Maybe(Real(0.0, 1.0, low_open=True, high_open=True)), dims=LAB_DIMS, may_inf=True),
    # --- frames
    "simplex_etf": fn(K=Int(low=2, typical=(2, 6)), d=Opt(Int(low=lambda a: a["K"] - 1, typical=(2, 8))),
                      scale=Maybe(POS), seed=Maybe(Seed(optional=True))),
    "orthonormal_frame": fn(K=Int(low=1, typical=(1, 5)), d=Opt(Int(low=lambda a: a["K"], typical=(1, 8))),
                            seed=Maybe(Seed(optional=True))),
    "random_rotation": fn(d=Int(low=1, typical=(1, 6)), seed=Seed()),
    # --- unconstrained features
    "class_indicator": fn(K=Int(low=1, typical=(1, 5)), n=Int(low=1, typical=(1, 5))),
    "ufm_objective": fn(W=W, H=H, Y=Y, lam_w=DECAY0, lam_h=DECAY0, beta=Maybe(Sampled([0.0])), dims=UFM_DIMS),
    "ufm_minimizer": fn(K=Int(low=2, typical=(2, 4)), n=Int(low=1, typical=(1, 3)),
                        d=Int(low=lambda a: a["K"], typical=(2, 5)), lam_w=DECAY, lam_h=DECAY,
                        seed=Maybe(Seed(optional=True))),
    "optimal_classifier": fn(H=H, Y=Y, lam_w=DECAY, dims=UFM_DIMS,
                             may_raise={ValueError: "singular"}),
    "central_path_field": fn(H=H, Y=Y, lam_w=DECAY, lam_h=DECAY0, dims=UFM_DIMS,
                             may_raise={ValueError: "singular"}),
    "solve_vicinity": fn(H0=H, Y=Y, lam_w=DECAY, lam_h=DECAY0, beta=DECAY,
                         gtol=Maybe(Real(low=0.0, low_open=True, typical=(1e-12, 1e-3))),
                         newton_steps=Maybe(Int(low=0, typical=(0, 3))), dims=UFM_DIMS, weight=0.5,
                         may_raise={ValueError: "singular"}),
    "central_path_flow": fn(H0=H, Y=Y, lam_w=DECAY, lam_h=DECAY0,
                            T=Real(low=0.0, low_open=True, typical=(0.01, 2.0)),
                            dt=Real(low=0.0, low_open=True, high=lambda a: a["T"], typical=(0.01, 1.0)),
                            record_every=Maybe(Int(low=1, typical=(1, 5))), engine=Choice("numba", "numpy"),
                            dims=UFM_DIMS, engines=True, weight=0.5,
                            may_raise={ValueError: "exceeds the limit|class means equal|singular|stability",
                                       FloatingPointError: "diverged"}),
    # --- perturbation
    "hessian_blocks": fn(W=W, H=H, Y=Y, lam_w=DECAY, lam_h=DECAY0, beta=DECAY0, dims=UFM_DIMS),
    "perturbation_operator": fn(W=W, H=H, Y=Y, lam_w=DECAY, lam_h=DECAY0, beta=DECAY,
                                approx=Choice("exact", "large_beta"), dims=UFM_DIMS,
                                may_raise={ValueError: "singular|overflows"}),
    "operator_block": fn(d=Int(low=1, typical=(1, 3)), n=Int(low=1, typical=(1, 3)),
                         F=Array(shape=(lambda a: a["K"] * a["d"] * a["n"],) * 2),
                         k=Int(low=0, high=lambda a: a["K"] - 1), l=Int(low=0, high=lambda a: a["K"] - 1),
                         dims={"K": (1, 3)}),
    "intra_inter_energy": fn(K=Int(low=2, typical=(2, 3)), d=Int(low=1, typical=(1, 2)),
                             n=Int(low=1, typical=(1, 2)),
                             F=Array(shape=(lambda a: a["K"] * a["d"] * a["n"],) * 2),
                             n_draws=Maybe(Int(low=1, high=10**5, typical=(1, 20))), seed=Seed(), may_inf=True),
    "perturbation_spectrum": fn(K=Int(low=2, typical=(2, 5)), d=Int(low=lambda a: a["K"] + 1, typical=(3, 10)),
                                n=Int(low=1, typical=(1, 10)), lam_w=POS,
                                lam_h=Real(low=0.0, low_open=True, high=_inverse_lam_w, high_open=True),
                                beta=POS, may_inf=True),
    # --- deep linear
    "deep_linear_thresholds": fn(depth=Int(low=1, typical=(1, 30), extra=(10**6, 2**63, 10**400)),
                                 may_inf=True),
    "deep_linear_minimizer": fn(counts=COUNTS, depth=DEPTH, lam_w=LAMS, lam_h=POS, bias=Maybe(Bool()),
                                root_rule=Maybe(Choice("global", "largest_root")), dims={"K": (2, 4)},
                                may_inf=True),
    "construct_deep_linear_minimizer": fn(counts=COUNTS_SMALL, d=SIZE, depth=DEPTH, lam_w=LAMS, lam_h=POS,
                                          bias=Maybe(Bool()), seed=Seed(),
                                          root_rule=Maybe(Choice("global", "largest_root")), dims={"K": (2, 3)}),
    "deep_linear_objective": fn(weights=Layers(), features=Array(shape=("d", "N")),
                                labels=Labels(("N",), "K"),
                                lam_w=OneOf(POS, Array(shape=("M",), low=0.0, low_open=True, typical=(1e-3, 3.0)),
                                            bad=([0.1] * 7,)),
                                lam_h=POS, bias=Opt(Array(shape=("K",))),
                                loss=Choice("mse", "ce"), engine=Choice("numba", "numpy"),
                                dims={"K": (2, 3), "d": (1, 3), "M": (1, 3), "N": (1, 4)}, engines=True,
                                may_raise={OverflowError: "overflow"}),
    "fit_deep_linear": fn(counts=COUNTS_SMALL, d=SIZE, depth=Int(low=1, typical=(1, 2)),
                          lam_w=SMALL_LAMS,
                          lam_h=Real(low=0.0, low_open=True, typical=(1e-3, 0.1)), loss=Choice("mse", "ce"),
                          seed=Seed(), bias=Maybe(Bool()),
                          init_scale=Maybe(Real(low=0.0, low_open=True, typical=(0.01, 1.0))),
                          gtol=Maybe(Real(low=0.0, low_open=True, typical=(1e-10, 1e-3))),
                          maxiter=Int(low=1, typical=(1, 10)), init=Opt(Obj(_init, bad=("zeros", 3, object()))),
                          dims={"K": (2, 3)}, weight=0.4, may_raise={FloatingPointError: "non-finite"}),
    "momentum_gd_deep_linear": fn(counts=COUNTS_SMALL, d=SIZE, depth=Int(low=1, typical=(1, 2)),
                                  lam_w=SMALL_LAMS,
                                  lam_h=Real(low=0.0, low_open=True, typical=(1e-3, 0.1)),
                                  lr=Maybe(Real(low=0.0, low_open=True, typical=(1e-3, 0.5))),
                                  momentum=Maybe(Real(0.0, 1.0, high_open=True)),
                                  steps=Int(low=1, high=10**7, typical=(1, 10)), seed=Seed(),
                                  init_scale=Maybe(Real(low=0.0, low_open=True, typical=(0.01, 1.0))),
                                  loss=Maybe(Choice("mse", "ce")), bias=Maybe(Bool()),
                                  gtol=Maybe(Real(low=0.0, low_open=True, typical=(1e-10, 1e-3))),
                                  record_every=Maybe(Int(low=1, typical=(1, 5))), dims={"K": (2, 3)}, weight=0.4,
                                  may_raise={FloatingPointError: "diverged|non-finite"}),
    "ufm_decays_from_deep_linear": fn(lam_w=POS, lam_h=POS, n_classes=Int(low=2, typical=(2, 10)),
                                      n_samples=Int(low=lambda a: a["n_classes"], typical=(2, 100)), may_inf=True),
    "deep_linear_decays_from_ufm": fn(lam_w=POS, lam_h=POS, n_classes=Int(low=2, typical=(2, 10)),
                                      n_samples=Int(low=lambda a: a["n_classes"], typical=(2, 100))),
    "deep_linear_ce_etf": fn(n_classes=Int(low=2, typical=(2, 10), extra=(10**6,)),
                             n_per_class=Int(low=1, typical=(1, 100), extra=(10**9, 2**63)), depth=DEPTH,
                             lam_w=LAMS, lam_h=POS, may_inf=True),
    # --- a small PyTorch experiment
    "gaussian_mixture": fn(K=Int(low=2, typical=(2, 4)), n=Int(low=1, typical=(1, 5)), p=Int(low=1, typical=(1, 4)),
                           separation=Maybe(Real(low=0.0, high=1e300)), seed=Seed()),
    "train_mlp_collapse": fn(X=Array(shape=("N", "p")), y=AllLabels(("N",), "K"),
                             width=Maybe(Int(low=1, typical=(1, 4))), depth=Maybe(Int(low=1, typical=(1, 2))),
                             wd_features=Maybe(Real(low=0.0, typical=(0.0, 0.1))),
                             wd_classifier=Maybe(Real(low=0.0, typical=(0.0, 0.1))),
                             lr=Maybe(Real(low=0.0, low_open=True, typical=(1e-3, 0.1))),
                             momentum=Maybe(Real(0.0, 1.0, high_open=True)), epochs=Int(low=1, typical=(1, 3)),
                             record_every=Int(low=1, typical=(1, 3)), seed=Seed(),
                             dims={"K": (2, 3), "extra": (0, 2), "N": lambda a: a["K"] + a["extra"], "p": (1, 3)},
                             weight=0.3, may_raise={FloatingPointError: "diverged"}),
    "train_mlp_collapse_grid": fn(X=Array(shape=("N", "p")), y=AllLabels(("N",), "K"),
                                  weight_decays=Sampled([[(1e-3, 1e-3)], [(0.0, 1e-3), (1e-2, 0.0)]],
                                                        bad=([], [(1.0,)], [(-1.0, 0.0)], "abc", None)),
                                  width=Maybe(Int(low=1, typical=(1, 4))), depth=Maybe(Int(low=1, typical=(1, 2))),
                                  lr=Maybe(Real(low=0.0, low_open=True, typical=(1e-3, 0.1))),
                                  momentum=Maybe(Real(0.0, 1.0, high_open=True)), epochs=Int(low=1, typical=(1, 3)),
                                  record_every=Int(low=1, typical=(1, 3)), seed=Seed(),
                                  dims={"K": (2, 3), "extra": (0, 2), "N": lambda a: a["K"] + a["extra"],
                                        "p": (1, 3)},
                                  weight=0.3, may_raise={FloatingPointError: "diverged"}),
}
