"""The sweep runner: identical tables on every backend, resuming after failures and crashes, clear errors."""

from __future__ import annotations

import pandas as pd
import pytest

from lossbook.sweep import PROVENANCE_COLUMNS, SweepError, grid_points, load_sweep, run_sweep, study_key
from lossbook.sweep._examples import noisy_point

GRID = {"x": [0.5, 1.0, 2.0], "mode": ["normal", "exp"]}
SEEDS = [0, 1, 2]
N_POINTS = 3 * 2 * 3


def _science(df: pd.DataFrame) -> pd.DataFrame:
    # everything but provenance (wall time differs between runs by design)
    return df.drop(columns=list(PROVENANCE_COLUMNS)).reset_index(drop=True)


def _calls(log) -> int:
    return len(log.read_text().splitlines()) if log.exists() else 0


@pytest.fixture(scope="module")
def serial_table():
    return run_sweep(noisy_point, GRID, SEEDS, backend="serial")


def test_table_is_the_direct_evaluation_in_grid_order(serial_table):
    # oracle: calling the function by hand at every (point, seed), in grid order
    expected = [{**pt, "seed": s, **noisy_point(**pt, seed=s)} for pt, s in grid_points(GRID, SEEDS)]
    pd.testing.assert_frame_equal(_science(serial_table), pd.DataFrame(expected), check_exact=True,
                                  check_dtype=False)
    assert set(serial_table["study"]) == {study_key(noisy_point)}
    assert (serial_table["wall_time_s"] > 0).all()


@pytest.mark.parametrize("backend", ["processes", "dask"])
def test_backends_give_the_serial_table_bit_for_bit(serial_table, backend, tmp_path):
    # the Dask case starts a LocalCluster of two processes on 127.0.0.1 and stops it
    got = run_sweep(noisy_point, GRID, SEEDS, backend=backend, n_workers=2, path=tmp_path / "r.parquet")
    pd.testing.assert_frame_equal(_science(got), _science(serial_table), check_exact=True)
    # and the stored file (rows in order of arrival) reads back to the same rows
    keys = ["x", "mode", "seed"]
    stored = _science(load_sweep(tmp_path / "r.parquet")).drop(columns="_row").sort_values(keys, ignore_index=True)
    pd.testing.assert_frame_equal(stored, _science(serial_table).sort_values(keys, ignore_index=True),
                                  check_exact=True)


def test_failed_point_loses_nothing_and_resume_runs_only_the_missing_point(serial_table, tmp_path):
    path, log, marker = tmp_path / "r.parquet", tmp_path / "calls.log", tmp_path / "fail"
    marker.touch()
    fixed = {"log": str(log), "fail_at": [1.0, 2], "marker": str(marker)}
    with pytest.raises(SweepError, match="injected failure") as err:
        run_sweep(noisy_point, GRID, SEEDS, fixed=fixed, path=path)
    assert len(err.value.failed) == 2  # x = 1.0, seed 2, for both modes
    assert len(load_sweep(path)) == N_POINTS - 2 and len(err.value.table) == N_POINTS - 2
    marker.unlink()
    before = _calls(log)
    table = run_sweep(noisy_point, GRID, SEEDS, fixed=fixed, path=path)
    assert _calls(log) - before == 2
    pd.testing.assert_frame_equal(_science(table), _science(serial_table), check_exact=True)
    # a complete file: running again evaluates nothing
    run_sweep(noisy_point, GRID, SEEDS, fixed=fixed, path=path)
    assert _calls(log) - before == 2


@pytest.mark.parametrize("backend", ["processes", "dask"])
def test_worker_crash_mid_sweep_keeps_finished_points_and_resume_completes(serial_table, backend, tmp_path):
    import dask
    import distributed  # noqa: F401 - loads its config first, so dask.config.set restores it on exit

    path, log, marker = tmp_path / "r.parquet", tmp_path / "calls.log", tmp_path / "crash"
    marker.touch()
    fixed = {"log": str(log), "fail_at": [2.0, 0], "marker": str(marker), "crash": True}  # both modes crash
    # Dask retries a task whose worker died; after `allowed-failures` deaths the point is given up
    with dask.config.set({"distributed.scheduler.allowed-failures": 2}), pytest.raises(SweepError):
        run_sweep(noisy_point, GRID, SEEDS, fixed=fixed, path=path, backend=backend, n_workers=2)
    kept = load_sweep(path)
    assert not len(kept) or (2.0, 0) not in set(zip(kept["x"], kept["seed"], strict=True))
    if backend == "dask":
        # the scheduler keeps going around a dead worker: only the crashing point (two modes) is lost
        assert len(kept) == N_POINTS - 2
    else:
        # a broken local pool stops the sweep; what reached the runner is on disk
        assert len(kept) < N_POINTS
    marker.unlink()
    before = _calls(log)
    table = run_sweep(noisy_point, GRID, SEEDS, fixed=fixed, path=path, backend=backend, n_workers=2)
    pd.testing.assert_frame_equal(_science(table), _science(serial_table), check_exact=True)
    # the resumed run evaluated exactly the points that were not stored
    assert _calls(log) - before == N_POINTS - len(kept)


def test_a_file_of_another_study_is_refused(tmp_path):
    path = tmp_path / "r.parquet"
    run_sweep(noisy_point, {"x": [1.0], "mode": ["exp"]}, [0], path=path)
    with pytest.raises(ValueError, match="another study"):
        run_sweep(noisy_point, {"x": [1.0], "mode": ["exp"]}, [0], path=path, fixed={"log": None})


def test_a_grid_extended_later_reuses_stored_points(tmp_path):
    path, log = tmp_path / "r.parquet", tmp_path / "calls.log"
    run_sweep(noisy_point, {"x": [1.0], "mode": ["exp"]}, [0, 1], path=path, fixed={"log": str(log)})
    table = run_sweep(noisy_point, {"x": [1.0, 2.0], "mode": ["exp"]}, [0, 1], path=path, fixed={"log": str(log)})
    assert _calls(log) == 4 and len(table) == 4 and list(table["x"]) == [1.0, 1.0, 2.0, 2.0]


@pytest.mark.parametrize(
    ("grid", "seeds", "exc", "match"),
    [
        ({}, [0], ValueError, "at least one parameter"),
        ({"x": []}, [0], ValueError, "must not be empty"),
        ({"x": [1, 1]}, [0], ValueError, "repeated"),
        ({"x": [float("nan")]}, [0], ValueError, "finite"),
        ({"x": [[1, 2]]}, [0], TypeError, "bool, int, float or str"),
        ({"x": "abc"}, [0], TypeError, "sequence of values"),
        ({"seed": [1]}, [0], ValueError, "reserved"),
        ({"study": [1]}, [0], ValueError, "reserved"),
        ({"not a name": [1]}, [0], ValueError, "identifiers"),
        ({"x": [1]}, [], ValueError, "seeds must not be empty"),
        ({"x": [1]}, [0, 0], ValueError, "distinct"),
        ({"x": [1]}, [-1], ValueError, "non-negative"),
        ({"x": [1]}, [True], ValueError, "non-negative ints"),
        ({"x": [1]}, 3, TypeError, "sequence"),
        ([{"x": 1}, {"y": 2}], [0], ValueError, "names"),
        ([{"x": 1}, {"x": 1}], [0], ValueError, "twice"),
        (42, [0], TypeError, "mapping"),
    ],
)
def test_bad_grids_get_clear_errors(grid, seeds, exc, match):
    with pytest.raises(exc, match=match):
        grid_points(grid, seeds)


def test_bad_runner_arguments_get_clear_errors(tmp_path, monkeypatch):
    def local(x, seed):
        return x

    g = {"x": [1]}
    with pytest.raises(ValueError, match="backend must be one of"):
        run_sweep(noisy_point, g, [0], backend="gpu")
    with pytest.raises(ValueError, match="needs backend='dask'"):
        run_sweep(noisy_point, g, [0], backend="serial", address="tcp://127.0.0.1:1")
    with pytest.raises(ValueError, match="n_workers"):
        run_sweep(noisy_point, g, [0], backend="processes", n_workers=0)
    with pytest.raises(ValueError, match="module level"):
        run_sweep(local, g, [0], backend="processes")
    with pytest.raises(ValueError, match=r"\.parquet"):
        run_sweep(noisy_point, g, [0], path=tmp_path / "r.csv")
    with pytest.raises(ValueError, match="also a grid parameter"):
        run_sweep(noisy_point, {"x": [1.0], "mode": ["exp"]}, [0], fixed={"mode": "exp"})
    with pytest.raises(TypeError, match="callable"):
        run_sweep(3, g, [0])
    monkeypatch.setenv("LOSSBOOK_SWEEP_BACKEND", "nope")
    with pytest.raises(ValueError, match="LOSSBOOK_SWEEP_BACKEND"):
        run_sweep(noisy_point, g, [0])


def test_a_result_that_repeats_a_parameter_is_a_failed_point():
    def clash(x, seed):
        return {"x": x}

    with pytest.raises(SweepError, match="repeats a grid parameter"):
        run_sweep(clash, {"x": [1]}, [0])
