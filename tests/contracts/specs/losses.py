"""Contracts of lossbook.losses (see tests/contracts/contracts_dsl.py)."""

from contracts_dsl import Array, Choice, Int, fn

Z = Array(shape=("m", "k"), typical=(-50.0, 50.0), any_ndim=True)
DIMS = {"m": (1, 4), "k": (1, 5)}

SPECS = {
    "logsumexp": fn(z=Z, axis=Int(-2, 1), dims=DIMS),
    "log_softmax": fn(z=Z, axis=Int(-2, 1), dims=DIMS, may_inf=True),
    "softmax": fn(z=Z, axis=Int(-2, 1), dims=DIMS),
    "logsumexp_rows": fn(z=Array(shape=("m", "k"), typical=(-50.0, 50.0)), engine=Choice("numba", "numpy"),
                         dims={"m": (0, 4), "k": (1, 5)}, engines=True),
}
