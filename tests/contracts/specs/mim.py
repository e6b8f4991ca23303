"""Contracts of lossbook.mim (see tests/contracts/contracts_dsl.py)."""

import numpy as np
from contracts_dsl import CONSTANT, RESULT, Array, Const, Int, Real, Sampled, Seed, fn

DIMS = {"N": (0, 3), "L": (1, 5)}
SCORES = Array(shape=("N", "L"), max_abs=5e299)


def _valid(a):
    return np.random.default_rng(a["N"] * 7 + a["L"]).random((a["N"], a["L"])) < 0.7


def _tensors(kind):
    def build(a):
        import torch

        g = torch.Generator().manual_seed(1)
        if kind == "valid":
            return torch.rand(3, 4, generator=g) < 0.7
        return torch.randn(3, 4, generator=g, dtype=torch.float64)
    return build


SPECS = {
    "CENTRAL_PATCHES": CONSTANT,
    "MaskingStudy": RESULT,
    "pairwise_rank_loss": fn(scores=SCORES, targets=Array(shape=("N", "L")),
                             valid=Sampled([None, _valid], bad=(np.ones((9, 9), bool), "x", np.ones((1, 1)))),
                             dims=DIMS),
    "pairwise_rank_loss_grad": fn(scores=SCORES, targets=Array(shape=("N", "L")),
                                  valid=Sampled([None, _valid], bad=(np.ones((9, 9), bool), "x", np.ones((1, 1)))),
                                  dims=DIMS),
    "pairwise_rank_loss_torch": fn(scores=Const(_tensors("s"), bad=(None, "x", np.zeros((3, 4)))),
                                   targets=Const(_tensors("t"), bad=(None, np.zeros((3, 4)))),
                                   valid=Sampled([None, _tensors("valid")], bad=("x", np.ones((3, 4), bool)))),
    "n_masked": fn(n_patches=Int(1, 10**7, typical=(1, 200)), mask_ratio=Real(0.0, 1.0)),
    "hpm_mask": fn(scores=Array(shape=("N", "L")), mask_ratio=Real(0.0, 1.0), alpha=Real(0.0, 1.0), seed=Seed(),
                   dims=DIMS),
    "expected_hard_coverage": fn(n_patches=Int(1, 10**7, typical=(1, 50)), n_hard=Int(0, lambda a: a["n_patches"]),
                                 mask_ratio=Real(0.0, 1.0), alpha=Real(0.0, 1.0),
                                 may_raise={ValueError: "masks no patch"}),
    "digit_patches": fn(X=Array(shape=("N", 64)), dims={"N": (0, 3)}),
    "masking_study": fn(seeds=Sampled([[0]], bad=([-1], [], None)), epochs=Sampled([1], bad=(0, 1001, 1.5)),
                        mask_ratio=Sampled([0.25, 0.75], bad=(0.0, 1.0, -0.5)),
                        alpha_max=Real(0.0, 1.0), lr=Real(0.0, 1.0, low_open=True, typical=(1e-4, 1e-2)),
                        ema=Real(0.0, 1.0, high_open=True), batch_size=Sampled([256, 1257], bad=(0, 1258)),
                        weight=0.1),
}
