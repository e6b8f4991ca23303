"""Contracts of lossbook.sweep (see tests/contracts/contracts_dsl.py)."""

import tempfile
from pathlib import Path

from contracts_dsl import CLASS, CONSTANT, Const, Maybe, Sampled, fn

from lossbook.sweep._examples import demo_point

GRIDS = Sampled([{"x": [1, 2]}, {"x": [0.5], "flag": [True, False]}, [{"x": 1}, {"x": 3}], {"x": ["a", "b"]}],
                bad=({}, {"seed": [1]}, {"x": [1, 1]}, {"x": [float("nan")]}, {"x": [[1]]}, {"1x": [1]}, None, 3))
NUMERIC_GRIDS = Sampled([{"x": [1, 2]}, [{"x": 1}, {"x": 3}], {"x": [0.5, -2.0]}],
                        bad=({}, {"seed": [1]}, {"x": [1, 1]}, {"x": [float("nan")]}, None, 3))
SEEDS = Sampled([[0], [0, 1, 2], (5, 7)], bad=([], [0, 0], [-1], [1.5], None, 5))


def _new_path(a):
    return str(Path(tempfile.mkdtemp(prefix="lossbook-contract-")) / "sweep.parquet")


SPECS = {
    "BACKENDS": CONSTANT,
    "PROVENANCE_COLUMNS": CONSTANT,
    "SweepError": CLASS(),
    "git_commit": fn(),
    "grid_points": fn(grid=GRIDS, seeds=SEEDS),
    "study_key": fn(func=Const(lambda a: demo_point, bad=(None, 3, "demo_point")),
                    fixed=Maybe(Sampled([None, {"scale": 2}, {"scale": 1, "tag": "t"}], bad=(3, "x")))),
    "load_sweep": fn(path=Const(_new_path, bad=(None, 3))),
    "run_sweep": fn(func=Const(lambda a: demo_point, bad=(None, 3)), grid=NUMERIC_GRIDS, seeds=SEEDS,
                    fixed=Const({"scale": 10}, bad=(3, "x")), backend=Sampled(["serial", None], bad=("gpu", 3)),
                    path=Maybe(Const(_new_path, bad=(3,))), weight=0.5),
}
