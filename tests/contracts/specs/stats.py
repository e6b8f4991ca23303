"""Contracts of lossbook.stats (see tests/contracts/contracts_dsl.py)."""

from contracts_dsl import RESULT, Array, Const, Int, Obj, Real, fn

from lossbook.stats import summarize_seeds

VALUES = Array(shape=("n",), typical=(-5.0, 5.0))
DIMS = {"n": (2, 8)}

SPECS = {
    "PairedDifference": RESULT,
    "SeedSummary": RESULT,
    "summarize_seeds": fn(values=VALUES, confidence=Real(0.0, 1.0, low_open=True, high_open=True), dims=DIMS,
                          may_inf=True),
    "paired_difference": fn(a=VALUES, b=VALUES, confidence=Real(0.0, 1.0, low_open=True, high_open=True),
                            dims=DIMS, may_inf=True),
    "format_mean_ci": fn(summary=Obj(lambda a: summarize_seeds([0.1, 0.2, 0.4])), digits=Int(0, 15, typical=(0, 6)),
                         unit=Const(" s", bad=(3, None))),
}
