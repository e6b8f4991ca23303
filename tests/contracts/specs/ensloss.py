"""Contracts of lossbook.ensloss (see tests/contracts/contracts_dsl.py)."""

import numpy as np
from contracts_dsl import (
    CONSTANT,
    RESULT,
    Array,
    BinaryLabels,
    Bool,
    Choice,
    Mapped,
    Real,
    Sampled,
    Seed,
    fn,
)

LAM = Real(low=0.0, high=1e3, typical=(0.0, 3.0))
CLIP = Sampled([None, -1.0, -0.25, -5e-324, -1e300], bad=(0.0, 1.0, float("nan"), float("-inf"), "-1"))
SHIFT = Real(low=0.0, high=1.0, typical=(0.0, 1e-3))
N = {"n": (1, 6)}
MARGINS = Array(shape=("n",), typical=(-5.0, 5.0))
G = Array(shape=("n",), typical=(-2.0, 0.5))
# documented refusals of valid-looking input: values beyond the float range
OVERFLOW = {ValueError: "overflow"}


def _tensor(x):
    import torch

    arr = np.asarray(x)  # keep complex and other wrong dtypes visible to the function
    return torch.as_tensor(arr.astype("float64") if arr.dtype.kind in "biuf" else arr)


def _pm1(v):
    arr = np.asarray(v)  # 0/1 labels to -1/+1; wrong dtypes (complex, strings) pass through unchanged
    return 2.0 * arr.astype("float64") - 1.0 if arr.dtype.kind in "biuf" else arr


SPECS = {
    "LOSSES": CONSTANT,
    "DerivativeCheck": RESULT,
    "LabelNoiseStudy": RESULT,
    "StepResult": RESULT,
    "box_cox_inverse": fn(u=Array(typical=(-5.0, 5.0)), lam=LAM, may_raise=OVERFLOW),
    "ensloss_derivatives": fn(margins=MARGINS, seed=Seed(), lam=LAM, clip=CLIP, tail=Bool(), shift=SHIFT, dims=N,
                              may_raise=OVERFLOW),
    "check_cc_derivative": fn(margins=MARGINS, g=G, dims=N),
    "implied_loss": fn(margins=Array(shape=("n",), typical=(-5.0, 5.0), max_abs=1e300),
                       g=Array(shape=("n",), typical=(-2.0, 0.5), max_abs=1e300),
                       z=Array(typical=(-10.0, 10.0), max_abs=1e300, any_ndim=True),  # any shape
                       offset=Real(low=-1e300, high=1e300, typical=(-1.0, 1.0)),
                       dims=N, may_raise=OVERFLOW),
    "limit_derivative": fn(quantile=Array(low=0.0, high=1.0, low_open=True, high_open=True, typical=(0.01, 0.99)),
                           lam=LAM, clip=CLIP, may_raise={ValueError: "overflows"}),
    "ensloss_surrogate": fn(margins=MARGINS, g=G, dims=N, may_raise=OVERFLOW),
    "ensloss_step": fn(w=Array(shape=("d",), typical=(-2.0, 2.0)), X=Array(shape=("n", "d"), typical=(-3.0, 3.0)),
                       y=Mapped(BinaryLabels(("n",), both=None), _pm1,
                                bad=([0.5],)),
                       lr=Real(low=0.0, low_open=True, high=1e6, typical=(1e-3, 1.0)), seed=Seed(), lam=LAM,
                       clip=CLIP, tail=Bool(), shift=SHIFT, dims={"n": (1, 5), "d": (1, 4)}, may_raise=OVERFLOW),
    "ensloss_surrogate_torch": fn(margins=Mapped(MARGINS, _tensor), g=Mapped(G, _tensor), dims=N, may_raise=OVERFLOW),
    "ensloss_loss_torch": fn(seed=Seed(), lam=LAM, clip=CLIP, tail=Bool(), shift=SHIFT),
    "margin_loss_torch": fn(name=Choice("bce", "hinge", "exponential")),
    "label_noise_study": fn(seeds=Sampled([[0], [1, 2]], bad=([], [-1], [0.5])),
                            n_train=Sampled([10, 12], bad=(9, 10**6 + 1, 10.5)),
                            n_test=Sampled([10, 20], bad=(9, 10**6 + 1)),
                            dim=Sampled([2, 3], bad=(1, 10**4 + 1)),
                            separation=Real(low=0.0, low_open=True, high=1e6, typical=(0.5, 3.0)),
                            flip_rate=Real(low=0.0, high=0.5, high_open=True, typical=(0.0, 0.4)),
                            hidden=Sampled([1, 4], bad=(0, 10**4 + 1)), epochs=Sampled([1, 2], bad=(0, 10**5 + 1)),
                            lr=Real(low=0.0, low_open=True, high=1.0, typical=(1e-3, 0.1)), weight=0.3,
                            may_raise={FloatingPointError: "loss|overflow|non-finite"}),
}
