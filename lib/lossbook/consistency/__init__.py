"""H-consistency of comp-sum losses (chapter ``book/consistency/comp-sum-h-consistency``).

The comp-sum family ``ell^tau`` (sum-exponential, logistic, generalized cross-entropy, MAE), its
conditional risks, the bound functions ``T_tau`` / ``Gamma_tau`` relating surrogate and zero-one
calibration gaps, tight instances, minimizability gaps and a Numba search that checks the bound
on random distributions.
"""

from .bounds import (
    TightInstance,
    TransformSearch,
    bound_gamma,
    bound_T,
    quadratic_coefficient,
    sqrt_bound,
    tight_instance,
    transform_search,
)
from .comp_sum import (
    best_conditional_risk,
    best_conditional_softmax,
    comp_sum_loss,
    comp_sum_loss_all_labels,
    comp_sum_loss_torch,
    conditional_risk,
    phi_tau,
    zero_one_regret,
)
from .experiment import MixtureTask, TrainingTrace, make_mixture_task, train_comp_sum
from .gaps import (
    LinearFit,
    box_best_conditional_risk,
    fit_linear_population,
    population_excess_risks,
    quadratic_posterior_example,
)
from .verify import BoundCheck, draw_instances, uniforms_per_draw, verify_bound

__all__ = [
    "BoundCheck",
    "LinearFit",
    "MixtureTask",
    "TightInstance",
    "TrainingTrace",
    "TransformSearch",
    "best_conditional_risk",
    "best_conditional_softmax",
    "bound_T",
    "bound_gamma",
    "box_best_conditional_risk",
    "comp_sum_loss",
    "comp_sum_loss_all_labels",
    "comp_sum_loss_torch",
    "conditional_risk",
    "draw_instances",
    "fit_linear_population",
    "make_mixture_task",
    "phi_tau",
    "population_excess_risks",
    "quadratic_posterior_example",
    "quadratic_coefficient",
    "sqrt_bound",
    "tight_instance",
    "train_comp_sum",
    "transform_search",
    "uniforms_per_draw",
    "verify_bound",
    "zero_one_regret",
]
