"""Contracts of lossbook.design (see tests/contracts/contracts_dsl.py)."""

from contracts_dsl import RESULT, Array, Const, Int, Real, Sampled, Seed, fn

from lossbook.design import sample_fourier_features

NMD = {"n": (1, 4), "m": (1, 3), "d": (1, 3)}
XN = Array(shape=("n", "d"), max_abs=1e100)  # documented limit on inputs
XM = Array(shape=("m", "d"), max_abs=1e100)
YN = Array(shape=("n",), max_abs=1e30)  # documented limit on scores
GRAD = Array(shape=("m", "d"), max_abs=1e100)
RIDGE = Real(1e-12, 1e12, typical=(1e-6, 1.0))
BANDWIDTH = Real(1e-6, 1e6, typical=(0.3, 3.0))
TARGET = Real(-1e30, 1e30, typical=(-10.0, 10.0))


def _features(a):
    return sample_fourier_features(a["d"], 4, seed=0)


FEATS = Sampled([None, _features], bad=("rbf", 3))
KERNEL = dict(ridge=RIDGE, bandwidth=BANDWIDTH, features=FEATS)

SPECS = {
    "BidirectionalLoss": RESULT,
    "DesignRun": RESULT,
    "FourierFeatures": RESULT,
    "KernelRidgePrediction": RESULT,
    "ToyDesignData": RESULT,
    "rbf_kernel": fn(A=XN, B=XM, bandwidth=BANDWIDTH, dims=NMD),
    "sample_fourier_features": fn(dim=Int(1, typical=(1, 4)), n_features=Int(1, 10**6, typical=(1, 6)),
                                  bandwidth=BANDWIDTH, seed=Seed()),
    "fourier_feature_map": fn(X=XN, features=Const(_features, bad=(None, "features")), dims=NMD),
    "kernel_ridge_predict": fn(X_train=XN, y_train=YN, X_query=XM, dims=NMD, **KERNEL),
    "bidirectional_loss": fn(designs=XM, X_offline=XN, y_offline=YN, gamma=Real(0.0, 1.0), target=TARGET,
                             dims=NMD, **KERNEL),
    "gamma_hypergradient": fn(proxy_gradient=GRAD, forward_gradient=GRAD, backward_gradient=GRAD,
                              step_size=Real(0.0, 1e6, low_open=True, typical=(1e-3, 1.0)), dims=NMD),
    "optimize_designs": fn(initial_designs=XM, X_offline=XN, y_offline=YN,
                           gamma=Sampled([0.0, 0.5, 1.0, "adaptive"], bad=(-0.1, 1.5, "fast")),
                           steps=Int(1, 10**5, typical=(1, 4)),
                           learning_rate=Real(0.0, 1e3, low_open=True, typical=(1e-3, 0.5)), target=TARGET,
                           proxy_features=FEATS, proxy_ridge=RIDGE,
                           gamma_learning_rate=Real(0.0, 1.0, low_open=True, typical=(1e-3, 0.5)),
                           dims=NMD, weight=0.5, **KERNEL),
    "toy_score": fn(X=XN, center=Array(shape=("d",), max_abs=1e100), bump=Real(0.0, 1e6, typical=(0.0, 3.0)),
                    frequency=Real(0.0, 1e6, typical=(0.0, 3.0)), dims=NMD),
    "toy_design_data": fn(n_samples=Int(2, 10**6, typical=(2, 12)), dim=Int(1, 10**4, typical=(1, 3)),
                          keep=Real(0.0, 1.0, low_open=True, typical=(0.2, 1.0)),
                          n_designs=Int(1, typical=(1, 3)), center=Real(-1e3, 1e3, typical=(-2.0, 2.0)),
                          seed=Seed(),
                          may_raise={ValueError: "must be at least 2|n_designs must be at most"}),
}
