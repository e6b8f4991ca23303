"""Contracts of lossbook.aggregate (see tests/contracts/contracts_dsl.py)."""

import numpy as np
from contracts_dsl import RESULT, Array, Bad, Choice, Domain, Int, Real, Sampled, Seed, fn
from hypothesis import strategies as st

NMD = {"m": (1, 3), "n": lambda a: (a["m"], a["m"] + 4), "d": (1, 3)}
X = Array(shape=("n", "d"), typical=(-3.0, 3.0))
THETA = Array(shape=("d",), typical=(-3.0, 3.0))
YBAR = Array(shape=("m",), typical=(-3.0, 3.0))
K = Int(1, typical=(1, 6))
K2 = Int(2, typical=(2, 6))
GAMMA01 = Real(0.0, 1.0, low_open=True, high_open=True, typical=(0.05, 0.9))
GAMMA_POS = Real(low=0.0, low_open=True, typical=(0.05, 3.0))
GAMMA_RANGE = {ValueError: "gamma \\* k must differ from 1|gamma must lie in \\(0, 1\\) when"}  # documented
MOMENT = Real(low=0.0, high=1e100, typical=(0.0, 10.0))  # simulators: documented limit
RHO = Real(0.0, 1.0)
R2 = Real(low=0.0, typical=(0.0, 10.0))
EPS = Real(low=0.0, low_open=True, typical=(0.1, 10.0))
CLIP = Real(low=0.0, low_open=True, high=lambda a: min(1e100 * float(a["epsilon"]), 1.7e308), typical=(0.1, 10.0))
GAMMA_K = {ValueError: "gamma \\* k must differ from 1"}  # documented excluded point gamma k = 1


class Bags(Domain):
    """Bag indices of ``n`` instances using every value ``0..m-1`` (shuffled)."""

    def valid(self, draw, a):
        n, m = a["n"], a["m"]
        perm = np.array(draw(st.permutations(list(range(n)))), dtype=np.int64)
        bags = perm % m
        return bags.tolist() if draw(st.booleans()) else bags

    def invalid(self, a, name):
        n, m = a["n"], a["m"]
        base = np.arange(n) % m
        gap = base.copy()
        gap[gap == m - 1] = m  # index m - 1 unused
        neg = base.copy()
        neg[0] = -1
        return [Bad(None, "None"), Bad("b", "a string"), Bad(base + 0.5, "non-integer"), Bad(neg, "negative"),
                Bad(np.append(base, 0), "one too many", any_of=("X", "n")), Bad(base[None], "2-D")] + (
            [Bad(gap, "an unused bag index")] if m > 1 else [])


SPECS = {
    "BagRisk": RESULT,
    "BagSimulation": RESULT,
    "DPBagSizeCurve": RESULT,
    "DPSimulation": RESULT,
    "OptimalRho": RESULT,
    "bag_loss": fn(theta=THETA, X=X, bag_response=YBAR, bags=Bags(), dims=NMD, may_inf=True),
    "instance_loss": fn(theta=THETA, X=X, bag_response=YBAR, bags=Bags(), dims=NMD, may_inf=True),
    "within_bag_penalty": fn(theta=THETA, X=X, bags=Bags(), dims=NMD, may_inf=True),
    "bag_means": fn(X=X, y=Array(shape=("n",), typical=(-3.0, 3.0)), bags=Bags(),
                    engine=Choice("numba", "numpy"), dims=NMD, engines=True),
    "fit_interpolating": fn(X=X, bag_response=YBAR, bags=Bags(), rho=RHO, dims=NMD,
                            may_raise={ValueError: "singular"}),
    "mp_resolvent_moments": fn(t=Real(low=0.0, typical=(0.0, 10.0)), q=Real(low=0.0, low_open=True,
                                                                              typical=(0.05, 5.0))),
    "fixed_point_t": fn(k=K2, gamma=GAMMA01, rho=Real(0.0, 1.0, low_open=True)),
    "bag_regression_risk": fn(k=K, gamma=GAMMA_POS, rho=RHO, r2=R2, sigma2=R2, may_raise=GAMMA_RANGE),
    "instance_risk_closed_form": fn(k=K, gamma=GAMMA01, r2=R2, sigma2=R2),
    "optimal_rho": fn(k=K2, gamma=GAMMA01, r2=R2, sigma2=R2),
    "dp_effective_noise": fn(k=Real(low=1.0, typical=(1.0, 10.0)), epsilon=EPS, clip=CLIP, sigma2=R2, may_inf=True),
    "dp_bag_size_curve": fn(gamma=GAMMA01, epsilon=EPS, clip=CLIP,
                            ks=Sampled([[1, 2, 3], np.array([2, 5]), [4]], bad=([0], [1.5], "ks")), r2=R2,
                            sigma2=R2, may_raise=GAMMA_K),
    "laplace_bag_responses": fn(y=Array(shape=("n",), typical=(-3.0, 3.0)), bags=Bags(), epsilon=EPS, clip=CLIP,
                                seed=Seed(), dims=NMD),
    "simulate_bag_risk": fn(k=Int(1, typical=(1, 3)), gamma=GAMMA_POS, rhos=Sampled([0.0, [0.0, 0.5, 1.0]],
                                                                                         bad=([-0.5], [1.5])),
                            d=Int(1, typical=(2, 8)), reps=Int(1, typical=(1, 2)), seed=Seed(),
                            r2=MOMENT, sigma2=MOMENT, engine=Choice("numba", "numpy"), engines=True, weight=0.5,
                            may_raise={ValueError: "gamma must lie in|exceeds the limit"}),
    "simulate_dp_risk": fn(k=Int(1, typical=(1, 3)), gamma=GAMMA01, rhos=Sampled([0.0, [0.0, 1.0]],
                                                                                        bad=([-0.5], [1.5])),
                           epsilon=EPS, clip=CLIP, d=Int(1, typical=(2, 8)), reps=Int(1, typical=(1, 2)),
                           seed=Seed(), r2=MOMENT, sigma2=MOMENT, weight=0.5,
                           may_raise={ValueError: "exceeds the limit"}),
}
