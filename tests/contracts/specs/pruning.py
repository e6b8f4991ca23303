"""Contracts of lossbook.pruning (see tests/contracts/contracts_dsl.py)."""

import numpy as np
from contracts_dsl import CLASS, CONSTANT, RESULT, Array, Const, Int, Obj, Real, Sampled, Seed, fn

from lossbook.pruning import ConvShape

SIDE = Int(1, 2**20, typical=(1, 9))
HEAT = Array(shape=("B", "C"), low=0.0, max_abs=1e300)
HEAT_DIMS = {"B": (0, 4), "C": (1, 5)}
COUNT_BAD = (-1, 1.5, None, "x", 2**20 + 1, float("nan"), [[-2]])


def _torch_lists(a, shape=(3, 4), kind="z"):
    import torch

    g = torch.Generator().manual_seed(0)
    if kind == "z":
        return [torch.randn(shape, generator=g, dtype=torch.float64)]
    return [(torch.rand(shape, generator=g) < 0.5).double()]


def _masks(a):
    rng = np.random.default_rng(a.get("B", 2))
    return [rng.random((a.get("B", 2), 3)) < 0.5, rng.random((a.get("B", 2), 2)) < 0.5]


SPECS = {
    "DIGIT_SHAPES": CONSTANT,
    "MASS_TOL": CONSTANT,
    "FTWTStudy": RESULT,
    "GatedRun": RESULT,
    "ConvShape": CLASS(fn(out_h=SIDE, out_w=SIDE, k_h=SIDE, k_w=SIDE)),
    "filter_heat": fn(activations=Array(shape=("B", "C", "H", "W")), dims={"B": (0, 3), "C": (0, 3), "H": (1, 3),
                                                                             "W": (1, 3)}),
    "mass_target_mask": fn(heat=HEAT, r=Real(0.0, 1.0), dims=HEAT_DIMS),
    "uniform_target_mask": fn(heat=HEAT, ratio=Real(0.0, 1.0), dims=HEAT_DIMS),
    "gated_conv_macs": fn(kept_in=Sampled([0, 3, 2**20, [1, 2, 3], np.array([4])], bad=COUNT_BAD),
                          kept_out=Sampled([0, 5, 2**20, [2], np.array([7])], bad=COUNT_BAD),
                          shape=Obj(lambda a: ConvShape(8, 8, 3, 3), bad=((8, 8, 3, 3), None, "x")),
                          ),
    "network_macs": fn(masks=Const(_masks, bad=(None, "x", [], [np.ones((2, 3))], [np.ones((2, 3, 1), bool)])),
                       in_channels=SIDE,
                       shapes=Const(lambda a: [ConvShape(4, 4, 3, 3), ConvShape(2, 2, 1, 1)],
                                    bad=(None, [], [ConvShape(4, 4, 3, 3)], "xy")),
                       dims={"B": (0, 4)}),
    "mask_bce_loss": fn(logits=Const(lambda a: _torch_lists(a), bad=(None, [], "x", [np.zeros((3, 4))])),
                        targets=Const(lambda a: _torch_lists(a, kind="t"), bad=(None, [], "x")),
                        lam=Real(0.0, 1e6)),
    "gated_digits_cnn": fn(),
    "run_ftwt": fn(r_values=Sampled([[1.0], [0.0, 0.5]], bad=([1.5], [], None, [[0.5]])), seed=Seed(),
                   pretrain_epochs=Int(0, 1000, typical=(0, 1)), gate_epochs=Int(0, 1000, typical=(0, 1)),
                   lr=Real(0.0, 1.0, low_open=True, typical=(1e-4, 1e-2)), mask_lam=Real(0.0, 1e6),
                   batch_size=Sampled([256, 1257], bad=(0, 1258, 1.5)), weight=0.3),
    "ftwt_study": fn(r_values=Sampled([[1.0]], bad=([1.5], None)), seeds=Sampled([[0]], bad=([-1], [], None)),
                     pretrain_epochs=Sampled([0, 1]), gate_epochs=Sampled([0, 1])),
}
