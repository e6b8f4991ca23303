"""pass@k estimation and pass@N-aware training (chapter ``book/consistency/pass-at-n-confidence``).

The unbiased pass@k estimator from ``n`` samples in a stable product form, pass@N coverage, the
pass@N loss ``-log(1 - (1 - p)^N)`` with its reweighted cross-entropy gradient, the
coverage-optimal answer distribution, and the softmax-linear toy with ambiguous labels.
"""

from .coverage import (
    coverage_optimal_probs,
    expected_coverage,
    log1mexp,
    pass_at_n,
    pass_at_n_grad,
    pass_at_n_loss,
    pass_at_n_loss_torch,
    pass_at_n_weight,
)
from .estimator import pass_at_k, pass_at_k_plugin
from .experiment import PassAtNTrace, TeacherTask, make_teacher_task, train_softmax_linear

__all__ = [
    "PassAtNTrace",
    "TeacherTask",
    "coverage_optimal_probs",
    "expected_coverage",
    "log1mexp",
    "make_teacher_task",
    "pass_at_k",
    "pass_at_k_plugin",
    "pass_at_n",
    "pass_at_n_grad",
    "pass_at_n_loss",
    "pass_at_n_loss_torch",
    "pass_at_n_weight",
    "train_softmax_linear",
]
