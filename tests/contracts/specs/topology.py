"""Contracts of lossbook.topology (see tests/contracts/contracts_dsl.py)."""

import numpy as np
from contracts_dsl import RESULT, Array, BinaryLabels, Bool, Choice, Int, Mapped, Real, Sampled, Seed, fn

HW = {"h": (1, 7), "w": (1, 7)}
IMG = Array(shape=("h", "w"))
MASK = BinaryLabels(shape=("h", "w"), both=None)
LOSS_IMG = Array(shape=("h", "w"), max_abs=1e150, typical=(0.0, 1.0))


def _tensor(x):
    import torch

    return torch.as_tensor(np.asarray(x, dtype="float64"))


SPECS = {
    "BettiMatching": RESULT,
    "SegmentationFit": RESULT,
    "cubical_barcode": fn(image=IMG, dim=Sampled([0, 1], bad=(2, -1, 0.5, None, True)), superlevel=Bool(),
                          dims=HW, may_inf=True),
    "persistence_pairs": fn(image=IMG, superlevel=Bool(), dims=HW),
    "betti_numbers": fn(mask=MASK, dims=HW),
    "betti_matching": fn(pred=IMG, target=IMG, superlevel=Bool(), dims=HW),
    "betti_matching_loss": fn(pred=Mapped(LOSS_IMG, _tensor, bad=(np.zeros((2, 2)), [[0.0, 1.0]])),
                              target=LOSS_IMG, superlevel=Bool(),
                              matching=Sampled([None], bad=("m", 3)), dims=HW),
    "betti_matching_error": fn(pred_mask=MASK, target_mask=MASK, dims=HW),
    "betti_number_error": fn(pred_mask=MASK, target_mask=MASK, dims=HW),
    "vessel_mask": fn(size=Int(8, 512, typical=(8, 40)), n_curves=Int(1, 20, typical=(1, 4)), seed=Seed()),
    "fit_segmentation": fn(target=MASK, loss=Choice("dice", "dice+bm"), alpha=Real(0.0, 1e3, typical=(0.0, 1.0)),
                           steps=Int(0, 5000, typical=(0, 3)), lr=Real(low=0.0, low_open=True, high=1e4,
                                                                      typical=(0.1, 300.0)),
                           noise=Real(0.0, 100.0, typical=(0.0, 3.0)), seed=Seed(), dims=HW, weight=0.5),
}
