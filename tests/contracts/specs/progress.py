"""Contracts of lossbook.progress (see tests/contracts/contracts_dsl.py)."""

from contracts_dsl import Bool, Const, Maybe, Sampled, fn


def _consume(f, kwargs):
    return list(f(**kwargs))  # a progress bar is an iterator: the contract covers iterating it


SPECS = {
    "progress": fn(iterable=Const(range(3), bad=(None, 3)), total=Sampled([None, 0, 3, 10**9], bad=(1.5, "3", -1)),
                   desc=Maybe(Const("work", bad=(3,))), leave=Bool(), call=_consume),
    "progress_enabled": fn(),
}
