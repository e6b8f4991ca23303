"""Contracts of lossbook.generative (see tests/contracts/contracts_dsl.py)."""

import numpy as np
from contracts_dsl import RESULT, Array, Const, Int, Obj, Real, Sampled, Seed, fn

from lossbook.generative import fit_gaussian_nb

DIMS = {"m": (4, 6), "n": (1, 3), "k": (2, 3)}
LIMIT = {ValueError: "exceeds the limit"}  # documented size limit (check_size)


def _labels(a):
    return np.arange(a["m"]) % a["k"]  # every class present (the fits require it)


LABELS = Const(_labels, bad=(None, "y", np.zeros(2, dtype=int), np.array([0.5, 1.0, 0.0, 1.0])))
N_CLASSES = Const(lambda a: a["k"], bad=(1, 1.5, None))


def _nb_fit(a):
    rng = np.random.default_rng(0)
    return fit_gaussian_nb(rng.normal(size=(6, a["n"])), np.arange(6) % 2, 2)


def _model(a):
    return {"means": Array(shape=("k", "n"), max_abs=1e100, typical=(-3.0, 3.0)),
            "variances": Array(shape=("n",), low=1e-100, high=1e100, typical=(0.1, 10.0)),
            "priors": Const(lambda a: np.full(a["k"], 1.0 / a["k"]), bad=(np.array([0.5, 0.6]), None))}


MODEL = _model(None)
SIGNAL = Real(low=0.0, low_open=True, high=1e100, typical=(0.1, 3.0))

SPECS = {
    "GaussianNBFit": RESULT,
    "LearningCurves": RESULT,
    "LogisticFit": RESULT,
    "fit_gaussian_nb": fn(X=Array(shape=("m", "n"), max_abs=1e100), y=LABELS, n_classes=N_CLASSES,
                          var_smoothing=Real(low=0.0, low_open=True, high=1e100, typical=(1e-9, 1.0)), dims=DIMS),
    "fit_logistic_regression": fn(X=Array(shape=("m", "n"), max_abs=1e8), y=LABELS, n_classes=N_CLASSES,
                                  C=Real(low=1e-12, high=1e12, typical=(0.01, 100.0)),
                                  max_iter=Int(1, 100_000, typical=(1, 200)),
                                  tol=Real(low=0.0, high=1.0, high_open=True, typical=(1e-8, 1e-2)), dims=DIMS),
    "nb_decision_function": fn(fit=Obj(_nb_fit), X=Array(shape=("m", "n"), max_abs=1e100), dims=DIMS),
    "nb_linear_form": fn(fit=Obj(_nb_fit), dims=DIMS),
    "linear_predict": fn(W=Array(shape=("k", "n")), b=Array(shape=("k",)), X=Array(shape=("m", "n")), dims=DIMS),
    "mixture_params": fn(n=Int(1, 10**5, typical=(1, 20)), n_classes=Int(2, 62, typical=(2, 5)), signal=SIGNAL),
    "mixture_bayes_error": fn(n=Int(1, 10**5, typical=(1, 20)), n_classes=Int(2, 62, typical=(2, 5)), signal=SIGNAL),
    "sample_mixture": fn(n=Int(1, 10**5, typical=(1, 20)), n_classes=Int(2, 62, typical=(2, 5)),
                         m=Int(low=0, typical=(0, 30)), seed=Seed(), signal=SIGNAL, may_raise=LIMIT),
    "learning_curves": fn(n=Int(1, 10**5, typical=(1, 4)), n_classes=Int(2, 10, typical=(2, 3)),
                          m_grid=Const(lambda a: [2 * a["n_classes"], 3 * a["n_classes"]], bad=([1], [[6]], None)),
                          repeats=Int(1, 1000, typical=(1, 2)),
                          test_size=Int(lambda a: a["n_classes"], 10**6, typical=(10, 30)), seed=Seed(),
                          signal=Real(low=0.0, low_open=True, high=1e4, typical=(0.1, 3.0)),
                          C=Real(low=1e-12, high=1e12, typical=(0.1, 10.0)),
                          blas_threads=Sampled([None, 1, 2], bad=(0, 1.5, "1")), may_raise=LIMIT),
    "samples_to_reach": fn(m_grid=Const(lambda a: 10 * np.arange(1, a["M"] + 1), bad=([10, 5], None)),
                           # errors: (M,) or (R, M)
                           errors=Array(shape=("r", "M"), low=0.0, high=1.0, typical=(0.0, 1.0), any_ndim=True),
                           target=Real(low=0.0, high=1.0, typical=(0.0, 1.0)), dims={"r": (1, 3), "M": (1, 4)}),
    "loglik_diff_moments": fn(**MODEL, dims={"k": (2, 3), "n": (1, 4)}),
    "boundary_mass": fn(**MODEL, tau=Array(low=0.0, typical=(0.0, 2.0)), m=Int(low=1, typical=(1, 200)), seed=Seed(),
                        dims={"k": (2, 3), "n": (1, 4)}, may_raise=LIMIT),
    "boundary_mass_pair_bound": fn(**MODEL, tau=Array(low=0.0, typical=(0.0, 2.0)), dims={"k": (2, 3), "n": (1, 4)}),
    "boundary_mass_chebyshev": fn(tau=Array(low=0.0, typical=(0.0, 2.0)),
                                  beta0=Real(low=0.0, low_open=True, typical=(0.1, 3.0)),
                                  alpha0=Real(low=0.0, typical=(0.0, 3.0)),
                                  n=Int(low=1, typical=(1, 1000), extra=(10**400,)),
                                  n_classes=Int(low=2, typical=(2, 10), extra=(10**400,))),
    "logistic_zero_one_bound": fn(excess_log=Array(low=0.0), n_classes=Int(low=2, typical=(2, 10)),
                                  M_log=Real(low=0.0), M_01=Real(low=0.0, high=1.0)),
}
