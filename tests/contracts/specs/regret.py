"""Contracts of lossbook.regret (see tests/contracts/contracts_dsl.py)."""

import functools

import numpy as np
from contracts_dsl import (
    CLASS,
    CONSTANT,
    RESULT,
    Array,
    Bad,
    Bool,
    Choice,
    Const,
    Domain,
    Int,
    Mapped,
    Obj,
    ProbVectors,
    Real,
    Sampled,
    Seed,
    fn,
)
from hypothesis import strategies as st

from lossbook.regret import (
    SLOPE_LEARNERS,
    LogBarrierPolicyOptimizer,
    make_linear_mdp,
    make_loss_schedule,
    slope_study,
)

H, S, A, D = 2, 3, 2, 3
SHAPE = (H, S, A)


@functools.cache
def _mdp_cached(h=H):
    return make_linear_mdp(h, S, A, D, seed=0)


@functools.cache
def _schedule_cached():
    return make_loss_schedule(_mdp_cached(), 30, seed=1)


@functools.cache
def _table_cached():
    return slope_study([5, 10], [0, 1], learners=("A1",))


MDP = Obj(lambda a: _mdp_cached())
MDP1 = Obj(lambda a: _mdp_cached(1))
SCHEDULE = Obj(lambda a: _schedule_cached(), bad=(None, "x", np.zeros((2, 2))))
PI = ProbVectors(SHAPE)
ELL = Array(shape=SHAPE, typical=(0.0, 1.0))  # any real losses (documented: no range)
ETA = Real(low=0.0, low_open=True, typical=(1e-3, 10.0))
CONSTS = {"c_eta": Real(low=0.0, low_open=True, typical=(0.1, 100.0)),
          "c_beta": Real(low=0.0, typical=(0.0, 1.0)),
          "c_gamma": Real(low=0.0, low_open=True, typical=(0.1, 10.0))}


class PSDSamples(Domain):
    """``(M, d, d)`` symmetric PSD samples ``phi phi^T`` (M may be 0)."""

    def valid(self, draw, a):
        M = draw(st.integers(0, 4))
        rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
        phi = rng.dirichlet(np.ones(D), size=M)
        return np.einsum("mi,mj->mij", phi, phi)

    def invalid(self, a, name):
        ns = np.zeros((1, D, D))
        ns[0, 0, 1] = 1.0
        neg = -np.eye(D)[None]
        nan = np.full((1, D, D), np.nan)
        return [Bad(None, "None"), Bad("x", "a string"), Bad(ns, "not symmetric"), Bad(neg, "not PSD"),
                Bad(nan, "NaN"), Bad(np.zeros((D, D)), "2-D")]


def _beta_max(a):
    s = a["samples"]
    top = max((np.linalg.norm(x, 2) for x in s), default=0.0)
    return 1.0 / (a["gamma"] + top) if a["gamma"] + top > 0 else None  # no contraction constraint


SPECS = {
    "EstimatorMeans": RESULT,
    "LearningRates": RESULT,
    "LinearMDP": RESULT,
    "RegretRun": RESULT,
    "SlopeFit": RESULT,
    "SLOPE_INSTANCE": CONSTANT,
    "SLOPE_LEARNERS": CONSTANT,
    "DilatedBonusBaseline": CLASS(fn(**CONSTS)),
    "ExpWeightsPolicyOptimizer": CLASS(fn(**CONSTS)),
    "LogBarrierPolicyOptimizer": CLASS(fn(**CONSTS)),
    "MagnitudeReducedPolicyOptimizer": CLASS(fn(**CONSTS, mode=Choice("oracle", "plugin"))),
    "default_constants": fn(),
    "uniform_policy": fn(mdp=MDP),
    "occupancy": fn(mdp=MDP, pi=PI),
    "feature_covariance": fn(mdp=MDP, pi=PI),
    "policy_values": fn(mdp=MDP, pi=PI, ell=ELL, may_inf=True),
    "best_fixed_policy": fn(mdp=MDP, ell_cum=Array(shape=SHAPE, typical=(0.0, 30.0))),
    "estimator_means": fn(mdp=MDP, pi=PI, ell=ELL, gamma=Real(low=0.0, typical=(0.0, 1.0)),
                          may_raise={ValueError: "singular"}),
    "negative_estimate_probability": fn(mdp=MDP1, pi=ProbVectors((1, S, A)),
                                        ell=Array(shape=(1, S, A), low=0.0, high=1.0, typical=(0.0, 1.0)),
                                        eta=ETA, gamma=Real(low=0.0, typical=(0.0, 1.0)),
                                        may_raise={ValueError: "singular"}),
    "loss_table": fn(mdp=MDP, theta_k=Array(shape=(H, D), typical=(-1.0, 1.0))),
    "q_hat": fn(mdp=MDP, h=Int(0, H - 1), sigma_plus=Array(shape=(D, D), typical=(-3.0, 3.0)),
                state=Int(0, S - 1), action=Int(0, A - 1), loss_to_go=Real(typical=(0.0, 5.0))),
    "magnitude_reduce": fn(values=Array(shape=("n",), typical=(-3.0, 3.0)), probs=ProbVectors(("n",)),
                           dims={"n": (1, 5)}),
    "log_barrier_ftrl_step": fn(cumulative_loss=Array(shape=("m", "a"), typical=(-30.0, 30.0), any_ndim=True),
                                eta=ETA, engine=Choice("numba", "numpy"), dims={"m": (1, 3), "a": (2, 4)},
                                engines=True),
    "negative_entropy_ftrl_step": fn(cumulative_loss=Array(shape=("m", "a"), typical=(-30.0, 30.0), any_ndim=True),
                                     eta=ETA, dims={"m": (1, 3), "a": (2, 4)}),
    "mgr_inverse": fn(samples=PSDSamples(), gamma=Real(low=0.0, typical=(0.0, 2.0)),
                      beta=Real(low=0.0, low_open=True, high=_beta_max, typical=(1e-3, 0.5))),
    "make_linear_mdp": fn(H=Int(1, typical=(1, 3)), S=Int(1, typical=(1, 4)), A=Int(2, typical=(2, 4)),
                          d=Int(1, typical=(1, 4)), alpha=Real(low=0.0, low_open=True, typical=(0.05, 3.0)),
                          seed=Seed()),
    "make_loss_schedule": fn(mdp=MDP, K=Int(1, typical=(1, 20)), kind=Choice("switch", "drift", "stationary"),
                             block=Int(1, typical=(1, 10)), amp=Real(0.0, 1.0), seed=Seed()),
    "uniform_policy_regret": fn(mdp=MDP, schedule=SCHEDULE, K=Int(1, 30, typical=(1, 30))),
    "horizon_grid": fn(k_min=Real(low=1.0, typical=(1.0, 1e4)),
                       k_max=Real(lambda a: a["k_min"], typical=(1.0, 1e6))),
    "fit_regret_slope": fn(K_values=Sampled([[10, 100, 1000], np.array([5.0, 50.0, 500.0])],
                                            bad=([10, 10, 100], [-1, 2, 3])),
                           # regrets of any sign, positive mean per K (documented): |x| + 1e-3 of a drawn array
                           regrets=Mapped(Array(shape=(lambda a: len(a["K_values"]), "s"), typical=(0.1, 100.0)),
                                          lambda x: np.abs(np.asarray(x, dtype=float)) + 1e-3,
                                          bad=(np.full((3, 2), -1.0),)),
                           n_boot=Int(10, typical=(10, 30)), level=Real(0.0, 1.0, low_open=True, high_open=True),
                           log_correct=Bool(), seed=Seed(), dims={"s": (1, 4)}),
    "make_learner": fn(name=Choice(*SLOPE_LEARNERS),
                       constants=Sampled([None, lambda a: {a["name"]: [1.0, 0.0, 1.0]}],
                                         bad=("c", {n: [-1.0, 0.0, 1.0] for n in SLOPE_LEARNERS}))),
    "regret_grid": fn(learner=Obj(lambda a: LogBarrierPolicyOptimizer()), mdp=MDP, schedule=SCHEDULE,
                      K_values=Sampled([[5, 10], (3,)], bad=([0], [31], "K")),
                      seeds=Sampled([[0], (0, 1)], bad=([-1], "s")), weight=0.5),
    "regret_matrix": fn(table=Obj(lambda a: _table_cached()), learner=Sampled(["A1"], bad=("Z", None)),
                        K_values=Sampled([[5, 10], [10]], bad=([7],)), seeds=Sampled([[0, 1], [1]], bad=([5],))),
    "slope_study_point": fn(learner=Choice(*SLOPE_LEARNERS), K=Int(1, typical=(1, 20)),
                            seed=Int(0, typical=(0, 3)), constants=Sampled([None]), instance=Sampled([None]),
                            weight=0.5),
    "slope_study": fn(K_values=Sampled([[5, 10]], bad=([0], "K")), seeds=Sampled([[0]], bad=([-1],)),
                      learners=Sampled([("A1",), ["EW", "B1"]], bad=(("Z",),)), weight=0.3),
    "estimate_cost": fn(K_values=Sampled([[10, 100], (1000,)], bad=([0], "K")), n_seeds=Int(1, typical=(1, 5)),
                        learners=Sampled([("A1",), list(SLOPE_LEARNERS)], bad=(("Z",),)),
                        constants=Sampled([None])),
    "tune_constants": fn(learner_cls=Const(lambda a: LogBarrierPolicyOptimizer, bad=(None, 3)), mdp=MDP,
                         schedule=SCHEDULE, K0=Int(1, 30, typical=(1, 10)),
                         c_eta_grid=Sampled([[1.0, 4.0], (8.0,)], bad=([0.0], [-1.0])),
                         c_beta_grid=Sampled([[0.0], (0.0, 0.5)], bad=([-1.0],)),
                         seeds=Sampled([[0], (0, 1)], bad=([-1],)),
                         c_gamma=Real(low=0.0, low_open=True, typical=(0.1, 10.0)), weight=0.3),
}
