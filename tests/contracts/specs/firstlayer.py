"""Contracts of lossbook.firstlayer (see tests/contracts/contracts_dsl.py)."""

import numpy as np
from contracts_dsl import CONSTANT, RESULT, Array, Bool, Choice, Const, Int, Real, Sampled, Seed, fn

#: documented limit lossbook.firstlayer.MAX_ENTRY
BIG = 1e100
LAM = Real(0.0, 1e100, low_open=True, typical=(1e-3, 10.0))
GRAD = {"X": Array(shape=("b", "n"), max_abs=BIG), "grad_z": Array(shape=("b", "m"), max_abs=BIG)}
DIMS = {"b": (1, 5), "n": (1, 5), "m": (1, 3)}
#: a ridge weight far below the Gram's rounding can turn that rounding into an overflow; the function refuses
OVERFLOW = {ValueError: "overflowed"}


def _images(a, n=6):
    rng = np.random.default_rng(a.get("N", n))
    return rng.uniform(0, 1, size=(a.get("N", n), 4))  # 2 x 2 images


def _labels(a, n=6):
    return np.arange(a.get("N", n)) % 2


TEST_SIZE = Real(0.0, 1.0, low_open=True, high_open=True, extremes=False, typical=(0.05, 0.95))

SPECS = {
    "FORMS": CONSTANT,
    "MAX_ENTRY": CONSTANT,
    "METHODS": CONSTANT,
    "ContrastSplit": RESULT,
    "ContrastStudy": RESULT,
    "MLPRun": RESULT,
    "TunedStudy": RESULT,
    "tract_weight_grad": fn(**GRAD, lam=LAM, form=Choice("auto", "primal", "dual"), dims=DIMS, may_raise=OVERFLOW),
    "tract_preactivation_change": fn(**GRAD, lam=LAM, lr=Real(0.0, 1e100, typical=(0.0, 2.0)), dims=DIMS,
                                     may_raise=OVERFLOW),
    "tract_linear": fn(in_features=Int(1, 2**20, typical=(1, 6)), out_features=Int(1, 2**20, typical=(1, 6)),
                       lam=LAM, bias=Bool()),
    "contrast_interval": fn(spread=Real(0.0, 1.0)),
    "apply_contrast": fn(X=Array(shape=("N", "n"), max_abs=BIG), low=Real(0.0, 1e6, low_open=True),
                         high=Real(lambda a: a["low"], 1e6), seed=Seed(), dims={"N": (0, 4), "n": (0, 3)}),
    "contrast_digits": fn(spread=Real(0.0, 1.0), seed=Seed(), test_size=TEST_SIZE, standardize=Bool(), weight=0.3),
    "image_patches": fn(X=Sampled([lambda a: np.ones((2, 4)), lambda a: np.arange(18.0).reshape(2, 9)],
                                  bad=(np.ones((2, 5)), np.ones(4), "x", None)),
                        patch=Sampled([1], bad=(0, 1.5, None))),
    "epochs_to_accuracy": fn(epoch=Const(lambda a: np.arange(a["T"]) / 2.0, bad=([[0.0]], None, "x")),
                             test_accuracy=Array(shape=("T",), low=0.0, high=1.0), target=Real(0.0, 1.0),
                             dims={"T": (1, 5)}, may_inf=True),
    "train_first_layer_mlp": fn(
        X_train=Const(_images, bad=(np.ones((6, 5)), np.full((6, 4), np.nan), None, "x")),
        y_train=Const(_labels, bad=(np.zeros(6, int), np.arange(5), np.full(6, -1), np.zeros(6), None)),
        X_test=Const(lambda a: _images(a, 3), bad=(np.ones((3, 9)), None)),
        y_test=Const(lambda a: _labels(a, 3), bad=(np.full(3, 7), np.zeros(3), None)),
        method=Choice("sgd", "tract"), lr=Real(0.0, 100.0, low_open=True, typical=(1e-3, 1.0)),
        epochs=Int(0, 10000, typical=(0, 2)), seed=Seed(),
        patch=Sampled([1, 2], bad=(0, 3, 1.5, None)), hidden=Int(1, 4096, typical=(1, 4)),
        batch_size=Int(1, 6, typical=(1, 6)), lam=LAM, evals_per_epoch=Int(1, 64, typical=(1, 3)),
        weight=0.5, may_raise={ValueError: "diverged"}),
    "contrast_study": fn(spreads=Sampled([[0.0], [1.0]], bad=([1.5], [], None)),
                         lr=Sampled([1e-300, 0.1, 100.0, [0.3], np.array([0.2])],
                                    bad=(0.0, -1.0, 101.0, True, None, "x", [0.1, 0.2], float("nan"))),
                         epochs=Int(1, 10000, typical=(1, 1)), seeds=Sampled([[0]], bad=([-1], [], [0.5], None)),
                         target=Real(0.0, 1.0), standardize=Bool(), patch=Sampled([4, 8], bad=(3, 0)),
                         hidden=Int(1, 4096, typical=(1, 4)), batch_size=Sampled([64, 256], bad=(0, 1.5)),
                         lam=LAM, evals_per_epoch=Int(1, 64, typical=(1, 2)),
                         weight=0.2, may_inf=True, may_raise={ValueError: "diverged"}),
    "tuned_contrast_study": fn(spreads=Sampled([[0.0], [0.0, 1.0]], bad=([1.5], [], None)),
                               lr_grid=Sampled([[0.3], [1e-300, 0.3]], bad=([0.0], [], [101.0], None, "x")),
                               tune_seeds=Sampled([[1]], bad=([-1], [], None)),
                               eval_seeds=Sampled([[0]], bad=([-1], [], None)),
                               epochs=Int(1, 10000, typical=(1, 1)), target=Real(0.0, 1.0), standardize=Bool(),
                               patch=Sampled([4, 8], bad=(3, 0)), hidden=Int(1, 4096, typical=(1, 4)),
                               batch_size=Sampled([256], bad=(0, 1.5)), lam=LAM,
                               evals_per_epoch=Int(1, 64, typical=(1, 2)),
                               weight=0.2, may_inf=True, may_raise={ValueError: "diverged"}),
}
