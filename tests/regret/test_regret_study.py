"""The regret-slope study as a sweep: same numbers as the chapter's direct runs, CLI, clear errors."""

from __future__ import annotations

import numpy as np
import pytest

from lossbook.regret import (
    SLOPE_LEARNERS,
    default_constants,
    horizon_grid,
    make_learner,
    make_linear_mdp,
    make_loss_schedule,
    regret_grid,
    regret_matrix,
    slope_study,
    slope_study_point,
)
from lossbook.regret.study import main


@pytest.mark.parametrize("name", SLOPE_LEARNERS)
def test_point_equals_the_direct_run_on_the_chapters_longer_schedule(name):
    # the point builds a schedule of exactly K rows; the chapter runs on a longer one (prefix property)
    mdp = make_linear_mdp(1, 6, 4, 5, seed=0)
    theta = make_loss_schedule(mdp, 5_000, "switch", seed=1)
    direct = regret_grid(make_learner(name), mdp, theta, [700], [3])[0, 0]
    assert slope_study_point(name, 700, 3)["pseudo_regret"] == direct


def test_defaults_are_the_learners_defaults_and_constants_reach_the_learner():
    c = default_constants()
    assert set(c) == set(SLOPE_LEARNERS) and c["B1"] == [256.0, 0.0, 1.0]
    c["A1"] = [2.0, 0.5, 3.0]
    lb = make_learner("A1", c)
    assert (lb.c_eta, lb.c_beta, lb.c_gamma) == (2.0, 0.5, 3.0)
    # other constants change the numbers (the point is not ignoring them)
    assert slope_study_point("A1", 500, 0, constants=c) != slope_study_point("A1", 500, 0)


def test_study_table_and_matrix(tmp_path):
    table = slope_study([300, 1000], [0, 1], learners=["A1", "EW"], path=tmp_path / "s.parquet")
    assert list(table.columns[:5]) == ["learner", "K", "seed", "pseudo_regret", "comparator_loss"]
    R = regret_matrix(table, "EW", [300, 1000], [0, 1])
    assert R[1, 1] == slope_study_point("EW", 1000, 1)["pseudo_regret"]
    with pytest.raises(ValueError, match="no row"):
        regret_matrix(table, "EW", [300, 3000], [0, 1])
    # another instance is another study: its rows cannot land in this file
    other = {"H": 1, "S": 6, "A": 4, "d": 5, "mdp_seed": 1, "schedule": "switch", "schedule_seed": 1}
    with pytest.raises(ValueError, match="another study"):
        slope_study([300], [0], learners=["A1"], instance=other, path=tmp_path / "s.parquet")


def test_horizon_grid_and_bad_arguments():
    assert horizon_grid(1e3, 1e7) == [1000, 3000, 10_000, 30_000, 100_000, 300_000, 1_000_000, 3_000_000,
                                      10_000_000]
    assert horizon_grid(2e3, 2e3) == []
    with pytest.raises(ValueError, match="k_min"):
        horizon_grid(10, 1)
    with pytest.raises(ValueError, match="name must be one of"):
        make_learner("A3")
    with pytest.raises(ValueError, match=r"\[c_eta, c_beta, c_gamma\]"):
        make_learner("A1", {"A1": [1.0]})
    with pytest.raises(ValueError, match="K"):
        slope_study_point("A1", 0, 0)
    with pytest.raises(ValueError, match="instance lacks"):
        slope_study_point("A1", 10, 0, instance={"H": 1})


def test_command_line_runs_a_slice_and_estimates(tmp_path, capsys):
    out = tmp_path / "r.parquet"
    assert main(["--k-max", "3e3", "--seeds", "2", "--learners", "A1,B1", "--out", str(out), "--estimate"]) == 0
    assert not out.exists()
    assert main(["--k-max", "3e3", "--seeds", "2", "--learners", "A1,B1", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "core-hours" in text and "slope" in text and out.exists()
    import pandas as pd

    df = pd.read_parquet(out)
    assert len(df) == 2 * 2 * 2 and np.isfinite(df["pseudo_regret"]).all()
