"""Contracts of lossbook.datasets (see tests/contracts/contracts_dsl.py)."""

import numpy as np
from contracts_dsl import RESULT, Array, Bool, Const, Int, Labels, Real, Sampled, Seed, fn


def _iterate(f, kwargs):
    return [b for b in f(**kwargs)]  # a loader is lazy: the contract covers one epoch


SPECS = {
    "Dataset": RESULT,
    "NoisyLabels": RESULT,
    "Split": RESULT,
    "long_tailed_counts": fn(n_classes=Int(low=1, typical=(1, 8)), n_max=Int(low=1, typical=(1, 100)),
                             imbalance=Real(low=1.0, typical=(1.0, 100.0))),
    "gaussian_mixture_data": fn(
        class_counts=Sampled([[3, 2], [0, 5, 1], [1]], bad=([-1, 2], [0, 0], [1.5, 2], None, "3")),
        dim=Int(low=1, typical=(1, 5)), separation=Real(low=0.0, typical=(0.0, 10.0)),
        noise=Real(low=0.0, low_open=True, typical=(0.1, 3.0)), seed=Seed()),
    "flip_labels": fn(y=Labels(("n",), "K"), n_classes=Const(lambda a: a["K"], bad=(1, 1.5, None)),
                      rate=Real(0.0, 1.0), seed=Seed(), dims={"n": (0, 6), "K": (2, 4)}),
    "load_digits_split": fn(test_size=Real(0.0, 1.0, low_open=True, high_open=True, extremes=False,
                                           typical=(0.05, 0.95)),
                            standardize=Bool(), seed=Seed(), dtype=Sampled([np.float64, np.float32],
                                                                         bad=(np.int32, "float16", None)),
                            weight=0.3),
    "torch_loader": fn(X=Array(shape=("n", "d"), any_ndim=True, max_abs=3.4e38),
                       y=Array(shape=("n",), max_abs=3.4e38), batch_size=Int(low=1, typical=(1, 8)),
                       shuffle=Bool(), seed=Seed(), dims={"n": (1, 6), "d": (1, 3)}, call=_iterate),
}
