"""Generative vs discriminative linear classifiers (chapter ``book/consistency/disc-vs-gen``).

Pooled-variance Gaussian naive Bayes and its linear form, L2-penalised multinomial logistic
regression by L-BFGS, the Gaussian mixture of the official simulation with its analytic Bayes
error, the moments of the naive-Bayes log-likelihood differences, the boundary mass ``G(tau)`` and
its Chebyshev bound, the logistic H-consistency bound (tau = 1, from :mod:`lossbook.consistency`)
and learning curves with the sample size ``m*`` at which each classifier reaches a target error.
"""

from .models import (
    GaussianNBFit,
    LogisticFit,
    fit_gaussian_nb,
    fit_logistic_regression,
    linear_predict,
    nb_decision_function,
    nb_linear_form,
)
from .sim import (
    LearningCurves,
    learning_curves,
    mixture_bayes_error,
    mixture_params,
    sample_mixture,
    samples_to_reach,
)
from .theory import (
    boundary_mass,
    boundary_mass_chebyshev,
    boundary_mass_pair_bound,
    logistic_zero_one_bound,
    loglik_diff_moments,
)

__all__ = [
    "GaussianNBFit",
    "LearningCurves",
    "LogisticFit",
    "boundary_mass",
    "boundary_mass_chebyshev",
    "boundary_mass_pair_bound",
    "fit_gaussian_nb",
    "fit_logistic_regression",
    "learning_curves",
    "linear_predict",
    "logistic_zero_one_bound",
    "loglik_diff_moments",
    "mixture_bayes_error",
    "mixture_params",
    "nb_decision_function",
    "nb_linear_form",
    "sample_mixture",
    "samples_to_reach",
]
