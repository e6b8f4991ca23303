"""Contracts of lossbook.training (see tests/contracts/contracts_dsl.py)."""

from contracts_dsl import RESULT, Array, Choice, Int, Labels, Obj, Real, Sampled, Seed, fn


def _linear(a):
    import torch

    torch.manual_seed(0)
    return torch.nn.Linear(a["d"], 3)


def _cross_entropy(a):
    import torch

    return torch.nn.functional.cross_entropy


def _enter(f, kwargs):
    with f(**kwargs):
        return None  # the context manager's effect is checked in tests/toolkit


class Targets(Labels):
    """train() takes any targets its loss_fn accepts (real ones, labels that are not output indices, as in
    metric learning), so only non-numeric or non-finite targets are invalid there."""

    def invalid(self, a, name):
        return [b for b in super().invalid(a, name) if b.why not in (
            "a non-integer label", "a label equal to the number of classes", "a negative label")]


X = Array(shape=("n", "d"), max_abs=3.4e38, any_ndim=True)  # shape (n, ...): the model decides what it accepts
Y = Labels(("n",), 3)
DIMS = {"n": (1, 6), "d": (1, 3)}

SPECS = {
    "TrainingHistory": RESULT,
    "accuracy": fn(model=Obj(_linear), X=X, y=Y, dims=DIMS),
    "seeded": fn(seed=Int(low=0, typical=(0, 5)), threads=Int(low=1, typical=(1, 2)), call=_enter),
    "train": fn(model=Obj(_linear), loss_fn=Obj(_cross_entropy), X=X, y=Targets(("n",), 3),
                epochs=Int(1, 10**7, typical=(1, 3)),
                lr=Real(low=0.0, low_open=True, high=1e30, typical=(1e-3, 1.0)), seed=Seed(),
                batch_size=Sampled([None, 1, 2, 4, 10**9], bad=(0, 1.5, "2")), optimizer=Choice("sgd", "adam"),
                momentum=Real(0.0, 1.0, high_open=True), weight_decay=Real(low=0.0, high=1e30, typical=(0.0, 0.1)),
                threads=Int(1, 1024, typical=(1, 2)), dims=DIMS, weight=0.5,
                may_raise={FloatingPointError: "the loss became"}),
}
