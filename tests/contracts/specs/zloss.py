"""Contracts of lossbook.zloss (see tests/contracts/contracts_dsl.py)."""

import numpy as np
from contracts_dsl import CONSTANT, RESULT, Array, Labels, Mapped, Obj, Real, Sampled, fn

from lossbook.zloss import A_MAX, A_MIN, B_MAX, spherical_cache

MD = {"m": (1, 4), "D": (2, 6)}
OUTPUTS = Array(shape=("m", "D"), typical=(-30.0, 30.0))
LABELS = Labels(("m",), "D")
A = Real(low=A_MIN, high=A_MAX, typical=(0.1, 10.0))
B = Real(low=-B_MAX, high=B_MAX, typical=(-5.0, 5.0))
# documented refusals of valid-looking input: a constant row (sigma = 0), a spread lost to underflow,
# a gradient beyond the float range
DEGENERATE = {ValueError: "constant|underflows|overflows"}


def _tensor(x):
    import torch

    return torch.as_tensor(np.asarray(x, dtype="float64"))


def _labels_tensor(y):
    import torch

    y = np.asarray(y)
    return torch.as_tensor(y.astype(np.int64) if y.dtype.kind in "iu" else y)


def _cache(a):
    return spherical_cache(np.random.default_rng(a["D"] + 10 * a["d"]).normal(size=(a["D"], a["d"])))


SPECS = {
    "A_MAX": CONSTANT,
    "A_MIN": CONSTANT,
    "B_MAX": CONSTANT,
    "SphericalCache": RESULT,
    "SphericalZLoss": RESULT,
    "TopKResult": RESULT,
    "z_loss": fn(outputs=OUTPUTS, labels=LABELS, a=A, b=B, dims=MD, may_raise=DEGENERATE),
    "z_loss_grad": fn(outputs=OUTPUTS, labels=LABELS, a=A, b=B, dims=MD, may_raise=DEGENERATE),
    "z_scores": fn(outputs=OUTPUTS, dims=MD, may_raise=DEGENERATE),
    "z_loss_torch": fn(
        outputs=Mapped(OUTPUTS, _tensor, bad=(np.zeros((2, 3)), [[0.0, 1.0]])),
        labels=Mapped(LABELS, _labels_tensor, bad=(np.zeros(2, dtype=int),)),
        a=A, b=B, dims=MD, may_raise={ValueError: "zero standard deviation"}),
    "spherical_cache": fn(weights=Array(shape=("D", "d")), dims={"D": (2, 6), "d": (1, 4)},
                          may_raise={ValueError: "all zero"}),
    "z_loss_spherical": fn(hidden=Array(shape=("m", "d"), typical=(-3.0, 3.0)), labels=LABELS, cache=Obj(_cache),
                           a=A, b=B, dims={"m": (1, 4), "D": (2, 6), "d": (1, 4)},
                           may_raise={ValueError: "cancellation|overflows"}),
    "topk_study": fn(
        seeds=Sampled([[0], [1, 2]], bad=([], [-1], [0.5])),
        zloss_params=Sampled([((1.0, 0.0),), ((0.1, 10.0), (A_MAX, -B_MAX))], bad=(((0.0, 0.0),), ())),
        n_classes=Sampled([6, 8], bad=(5, 1001, 6.5)), dim=Sampled([1, 3], bad=(0, 1001)),
        per_class=Sampled([1, 2], bad=(0, 1001)), separation=Real(low=0.0, low_open=True, high=100.0),
        epochs=Sampled([1, 2], bad=(0, 10001)), lr=Real(low=0.0, low_open=True, high=10.0, typical=(1e-3, 0.1)),
        weight=0.3, may_raise={FloatingPointError: "loss became", ValueError: "zero standard deviation"}),
}
