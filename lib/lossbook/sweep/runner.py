"""The sweep runner: grid points, backends, Parquet parts, resuming (see :mod:`lossbook.sweep`)."""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import json
import math
import numbers
import os
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path

__all__ = [
    "BACKENDS",
    "PROVENANCE_COLUMNS",
    "SweepError",
    "git_commit",
    "grid_points",
    "load_sweep",
    "run_sweep",
    "study_key",
]

BACKENDS = ("serial", "processes", "dask")
#: Columns every row carries besides its parameters, seed and results.
PROVENANCE_COLUMNS = ("study", "function", "lossbook_version", "git_commit", "wall_time_s")
_RESERVED = frozenset(("seed", "error", *PROVENANCE_COLUMNS))


class SweepError(RuntimeError):
    """Some points of a sweep failed; every finished point is in the result file.

    Attributes
    ----------
    failed : list of tuple
        ``(point, seed, message)`` for each failed point.
    table : pandas.DataFrame
        The rows of the requested grid that did finish.
    """

    def __init__(self, message: str, failed: list, table):
        super().__init__(message)
        self.failed = failed
        self.table = table


# --------------------------------------------------------------------------------------------- grid
def _scalar(value, where: str):
    """A grid or result value as a plain Python scalar (bool, int, float, str)."""
    if isinstance(value, bool | str):
        return value
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        value = float(value)
        if not math.isfinite(value):
            raise ValueError(f"{where} must be finite, got {value!r}")
        return value
    if hasattr(value, "item") and getattr(value, "shape", None) == ():  # numpy 0-d
        return _scalar(value.item(), where)
    raise TypeError(f"{where} must be a bool, int, float or str, got {type(value).__name__}")


def _check_name(name, what: str) -> str:
    if not isinstance(name, str) or not name.isidentifier():
        raise ValueError(f"{what} names must be Python identifiers, got {name!r}")
    if name in _RESERVED:
        raise ValueError(f"{what} name {name!r} is reserved (reserved: {sorted(_RESERVED)})")
    return name


def _check_seeds(seeds) -> list[int]:
    if isinstance(seeds, str | bytes) or not isinstance(seeds, Sequence | range):
        raise TypeError(f"seeds must be a sequence of non-negative ints, got {type(seeds).__name__}")
    out = []
    for s in seeds:
        if isinstance(s, bool) or not isinstance(s, numbers.Integral) or int(s) < 0:
            raise ValueError(f"seeds must be non-negative ints, got {s!r}")
        out.append(int(s))
    if not out:
        raise ValueError("seeds must not be empty")
    if len(set(out)) != len(out):
        raise ValueError("seeds must be distinct")
    return out


def grid_points(grid, seeds) -> list[tuple[dict, int]]:
    """Every ``(point, seed)`` of a sweep, in grid order (points outermost, seeds innermost).

    Parameters
    ----------
    grid : mapping of str to sequence, or sequence of mappings
        A mapping ``{name: values}`` means the Cartesian product of the value lists, the first name
        varying slowest; a sequence of mappings lists the points explicitly (all with the same names).
        Names are identifiers other than ``seed``, ``error`` and the provenance columns; values are
        bools, ints, finite floats or strings, distinct within each list.
    seeds : sequence of int
        Distinct non-negative seeds; every point is run once per seed.

    Returns
    -------
    list of (dict, int)

    Raises
    ------
    ValueError, TypeError
        For an empty grid or seed list, a bad name, a non-scalar or non-finite value, or repeats.

    Examples
    --------
    >>> for point, seed in grid_points({"K": [10, 100], "method": ["a"]}, [0, 1]):
    ...     print(point, seed)
    {'K': 10, 'method': 'a'} 0
    {'K': 10, 'method': 'a'} 1
    {'K': 100, 'method': 'a'} 0
    {'K': 100, 'method': 'a'} 1
    """
    seeds = _check_seeds(seeds)
    if isinstance(grid, Mapping):
        if not grid:
            raise ValueError("grid must name at least one parameter")
        axes = {}
        for name, values in grid.items():
            _check_name(name, "grid")
            if isinstance(values, str | bytes) or not isinstance(values, Sequence | range):
                raise TypeError(f"grid[{name!r}] must be a sequence of values, got {type(values).__name__}")
            vals = [_scalar(v, f"grid[{name!r}] values") for v in values]
            if not vals:
                raise ValueError(f"grid[{name!r}] must not be empty")
            if len({(type(v), v) for v in vals}) != len(vals):
                raise ValueError(f"grid[{name!r}] has repeated values")
            axes[name] = vals
        points = [dict(zip(axes, combo, strict=True)) for combo in itertools.product(*axes.values())]
    elif isinstance(grid, Sequence) and not isinstance(grid, str | bytes):
        if not grid:
            raise ValueError("grid must list at least one point")
        points = []
        for i, p in enumerate(grid):
            if not isinstance(p, Mapping) or not p:
                raise TypeError(f"grid[{i}] must be a non-empty mapping of parameter names to values")
            points.append({_check_name(k, "grid"): _scalar(v, f"grid[{i}][{k!r}]") for k, v in p.items()})
            if list(points[-1]) != list(points[0]):
                raise ValueError(f"grid[{i}] has names {list(points[-1])}, grid[0] has {list(points[0])}")
        if len({_point_id(p) for p in points}) != len(points):
            raise ValueError("grid lists a point twice")
    else:
        raise TypeError(f"grid must be a mapping of names to value lists or a list of points, "
                        f"got {type(grid).__name__}")
    return [(p, s) for p in points for s in seeds]


def _point_id(point: Mapping) -> str:
    return json.dumps([[k, type(v).__name__, v] for k, v in point.items()], sort_keys=False)


def _row_id(point: Mapping, seed: int) -> str:
    return hashlib.sha256(f"{_point_id(point)}|{seed}".encode()).hexdigest()[:24]


# --------------------------------------------------------------------------------------- provenance
def _func_name(func: Callable) -> str:
    if not callable(func):
        raise TypeError(f"func must be callable, got {type(func).__name__}")
    module, qual = getattr(func, "__module__", None), getattr(func, "__qualname__", None)
    if not module or not qual:
        raise TypeError("func must be a named function (it has no __module__/__qualname__)")
    return f"{module}.{qual}"


def _canonical(value, where: str):
    if isinstance(value, Mapping):
        return {str(k): _canonical(v, f"{where}[{k!r}]") for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_canonical(v, f"{where}[{i}]") for i, v in enumerate(value)]
    if value is None:
        return None
    return _scalar(value, where)


def study_key(func: Callable, fixed: Mapping | None = None) -> str:
    """Identifier of a study: a hash of the function's qualified name and its fixed arguments.

    Two sweeps with the same key compute the same thing (given the same code), so their rows can
    share a result file; a result file holding another key is refused by :func:`run_sweep`.

    Parameters
    ----------
    func : callable
        The point function (a named, module-level function).
    fixed : mapping, optional
        Keyword arguments passed to every call: JSON-like (scalars, lists, tuples, dicts).

    Returns
    -------
    str
        16 hexadecimal digits.

    Examples
    --------
    >>> study_key(math.hypot) == study_key(math.hypot, {})
    True
    >>> study_key(math.hypot, {"a": 1}) == study_key(math.hypot, {"a": 2})
    False
    """
    fixed = {} if fixed is None else fixed
    if not isinstance(fixed, Mapping):
        raise TypeError(f"fixed must be a mapping of keyword arguments, got {type(fixed).__name__}")
    text = json.dumps({"func": _func_name(func), "fixed": _canonical(dict(fixed), "fixed")}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def git_commit() -> str | None:
    """The commit of the lossbook source tree (``+dirty`` if it has uncommitted changes), or None.

    None when lossbook is not installed from a git checkout or git is unavailable, e.g. on a cluster
    worker that has only the installed package.

    Returns
    -------
    str or None
    """
    here = Path(__file__).resolve().parent.parent  # the lossbook package directory
    try:
        out = subprocess.run(["git", "-C", str(here), "rev-parse", "HEAD"], capture_output=True, text=True,
                             timeout=10, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(here), "status", "--porcelain", "--untracked-files=no", "--", "."],
                               capture_output=True, text=True, timeout=10, check=True).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return f"{out}+dirty" if dirty else out


# -------------------------------------------------------------------------------------------- point
def _run_point(func, point: dict, fixed: dict, seed: int) -> dict:
    """Evaluate one point; never raises (a failure comes back as ``{"error": message}``)."""
    t0 = time.perf_counter()
    try:
        out = func(**point, **fixed, seed=seed)
        if isinstance(out, Mapping):
            res = {}
            for k, v in out.items():
                _check_name(k, "result")
                if k in point:
                    raise ValueError(f"result name {k!r} repeats a grid parameter")
                res[k] = _scalar(v, f"result {k!r}") if not (isinstance(v, float) and not math.isfinite(v)) else v
        else:
            res = {"value": _scalar(out, "result") if not (isinstance(out, float) and not math.isfinite(out)) else out}
    except Exception as exc:  # noqa: BLE001 - reported to the parent, which raises SweepError
        return {"error": f"{type(exc).__name__}: {exc}"}
    return {"result": res, "wall_time_s": time.perf_counter() - t0}


# ------------------------------------------------------------------------------------------ storage
def _parts_dir(path: Path) -> Path:
    return path.with_name(path.name + ".parts")


def _check_path(path) -> Path | None:
    if path is None:
        return None
    if not isinstance(path, str | os.PathLike):
        raise TypeError(f"path must be a str or os.PathLike, got {type(path).__name__}")
    p = Path(path)
    if p.suffix != ".parquet":
        raise ValueError(f"path must end in .parquet, got {str(p)!r}")
    return p


def load_sweep(path):
    """Every row stored for a sweep: the result file plus any parts of an unfinished run.

    Parameters
    ----------
    path : str or os.PathLike
        The ``.parquet`` result file given to :func:`run_sweep`.

    Returns
    -------
    pandas.DataFrame
        Empty (no columns) if nothing is stored yet.
    """
    import pandas as pd

    if path is None:
        raise TypeError("path must be a str or os.PathLike, got None")
    p = _check_path(path)
    frames = []
    if p.exists():
        frames.append(pd.read_parquet(p))
    parts = _parts_dir(p)
    if parts.is_dir():
        frames += [pd.read_parquet(f) for f in sorted(parts.glob("*.parquet"))]
    frames = [f for f in frames if len(f)]
    if not frames:
        return pd.DataFrame()
    df = pd.concat(frames, ignore_index=True)
    keys = [c for c in df.columns if c not in PROVENANCE_COLUMNS and c != "_row"]
    if "_row" in df:
        df = df.drop_duplicates("_row", keep="first")
    return df.reset_index(drop=True)[[*keys, *[c for c in df.columns if c not in keys]]]


def _write_atomic(df, target: Path) -> None:
    tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex}.tmp")
    df.to_parquet(tmp, index=False)
    os.replace(tmp, target)


# ----------------------------------------------------------------------------------------- backends
def _iter_serial(func, todo, fixed) -> Iterator[tuple[int, dict]]:
    for i, (point, seed) in todo:
        yield i, _run_point(func, point, fixed, seed)


def _iter_processes(func, todo, fixed, n_workers) -> Iterator[tuple[int, dict]]:
    from joblib import Parallel, delayed

    par = Parallel(n_jobs=n_workers, backend="loky", return_as="generator_unordered")
    yield from par(delayed(_indexed)(func, i, point, fixed, seed) for i, (point, seed) in todo)


def _indexed(func, i, point, fixed, seed):
    return i, _run_point(func, point, fixed, seed)


def _iter_dask(func, todo, fixed, address, n_workers) -> Iterator[tuple[int, dict]]:
    from dask.distributed import Client, LocalCluster, as_completed

    with contextlib.ExitStack() as stack:
        if address:
            client = stack.enter_context(Client(address))
        else:
            import dask

            # points are long: queue them on the scheduler (saturation 1), so a worker that dies holds only
            # the point it was running and Dask's retry accounting blames no innocent point
            with dask.config.set({"distributed.scheduler.worker-saturation": 1.0}):
                cluster = stack.enter_context(LocalCluster(n_workers=n_workers, threads_per_worker=1,
                                                           processes=True, host="127.0.0.1", dashboard_address=None))
            client = stack.enter_context(Client(cluster))
        futures = {client.submit(_run_point, func, point, fixed, seed, pure=False): i for i, (point, seed) in todo}
        for fut in as_completed(futures):
            i = futures[fut]
            try:
                yield i, fut.result()
            except Exception as exc:  # noqa: BLE001 - e.g. KilledWorker: the point is lost, the others go on
                yield i, {"error": f"{type(exc).__name__}: {exc}"}


def _resolve(backend, address, n_workers) -> tuple[str, str | None, int]:
    address = address if address is not None else (os.environ.get("LOSSBOOK_SWEEP_ADDRESS") or None)
    if backend is None:
        backend = os.environ.get("LOSSBOOK_SWEEP_BACKEND") or ("dask" if address else "serial")
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS} (or set LOSSBOOK_SWEEP_BACKEND), got {backend!r}")
    if address is not None and (not isinstance(address, str) or backend != "dask"):
        raise ValueError(f"address is a Dask scheduler address (a str) and needs backend='dask', got {address!r}")
    if n_workers is None:
        env = os.environ.get("LOSSBOOK_SWEEP_WORKERS")
        n_workers = int(env) if env else (os.cpu_count() or 1)
    if isinstance(n_workers, bool) or not isinstance(n_workers, numbers.Integral) or n_workers < 1:
        raise ValueError(f"n_workers must be an int >= 1, got {n_workers!r}")
    return backend, address, int(n_workers)


# -------------------------------------------------------------------------------------------- sweep
def run_sweep(func: Callable, grid, seeds, *, fixed: Mapping | None = None, path=None, backend: str | None = None,
              address: str | None = None, n_workers: int | None = None, desc: str | None = None):
    """Evaluate ``func(**point, **fixed, seed=seed)`` over a grid and seeds; return a tidy table.

    Parameters
    ----------
    func : callable
        A pure, named, module-level function (the process and Dask backends pickle it by name). It
        returns a mapping of result names to scalars, or one scalar (stored as ``value``).
    grid, seeds
        The points and seeds, as in :func:`grid_points`.
    fixed : mapping, optional
        Keyword arguments shared by every point (JSON-like); part of the :func:`study_key`.
    path : str or os.PathLike, optional
        ``.parquet`` result file. Finished points are written to ``<path>.parts/`` as they arrive and
        merged into ``path`` at the end; points already stored are skipped (resume). Rows of other
        grid points already in the file are kept. A file holding another study is refused.
    backend : {"serial", "processes", "dask"}, optional
        Default: ``LOSSBOOK_SWEEP_BACKEND``, else ``"dask"`` if an address is given, else ``"serial"``.
    address : str, optional
        Dask scheduler address (default ``LOSSBOOK_SWEEP_ADDRESS``); without one the Dask backend starts
        a ``LocalCluster`` of ``n_workers`` single-threaded processes on 127.0.0.1 and stops it after.
    n_workers : int, optional
        Processes of the local backends (default ``LOSSBOOK_SWEEP_WORKERS``, else ``os.cpu_count()``).
    desc : str, optional
        Label of the progress bar (shown only interactively, see :mod:`lossbook.progress`).

    Returns
    -------
    pandas.DataFrame
        One row per (point, seed) of this grid in grid order: the parameters, ``seed``, the results,
        then the provenance columns :data:`PROVENANCE_COLUMNS` (``study`` key, ``function``,
        ``lossbook_version``, ``git_commit`` of the process that ran the sweep, ``wall_time_s`` of
        the point on its worker). Everything but the provenance is identical across backends.

    Raises
    ------
    SweepError
        If some points failed (their messages are in ``.failed``); every other point is stored.
    ValueError, TypeError
        For a bad grid, seeds, backend, path, or a result file of another study.

    Examples
    --------
    >>> from lossbook.sweep._examples import demo_point
    >>> df = run_sweep(demo_point, {"x": [1, 2]}, [0, 1], fixed={"scale": 10})
    >>> df[["x", "seed", "value"]].values.tolist()
    [[1, 0, 10], [1, 1, 11], [2, 0, 20], [2, 1, 21]]
    """
    import pandas as pd

    import lossbook
    from lossbook.progress import progress

    items = grid_points(grid, seeds)
    if fixed is not None and not isinstance(fixed, Mapping):
        raise TypeError(f"fixed must be a mapping of keyword arguments, got {type(fixed).__name__}")
    fixed = {} if fixed is None else dict(fixed)
    key = study_key(func, fixed)
    for name in fixed:
        _check_name(name, "fixed")
        if name in items[0][0]:
            raise ValueError(f"fixed argument {name!r} is also a grid parameter")
    backend, address, n_workers = _resolve(backend, address, n_workers)
    if backend != "serial" and "<locals>" in _func_name(func):
        raise ValueError(f"backend {backend!r} pickles func by name: define {_func_name(func)} at module level")
    p = _check_path(path)

    stored = load_sweep(p) if p is not None else pd.DataFrame()
    if len(stored):
        other = sorted(set(stored["study"]) - {key})
        if other:
            raise ValueError(f"{p} holds rows of another study ({other[0]}), not of {key}: use another path")
    done = set(stored["_row"]) if len(stored) else set()
    row_ids = [_row_id(pt, s) for pt, s in items]
    todo = [(i, items[i]) for i in range(len(items)) if row_ids[i] not in done]

    prov = {"study": key, "function": _func_name(func), "lossbook_version": lossbook.__version__,
            "git_commit": git_commit() or ""}
    if p is not None:
        _parts_dir(p).mkdir(parents=True, exist_ok=True)
    new_rows: dict[int, dict] = {}
    failed = []
    if todo:
        if backend == "serial":
            stream = _iter_serial(func, todo, fixed)
        elif backend == "processes":
            stream = _iter_processes(func, todo, fixed, n_workers)
        else:
            stream = _iter_dask(func, todo, fixed, address, n_workers)
        try:
            for i, out in progress(stream, total=len(todo), desc=desc or "sweep"):
                point, seed = items[i]
                if "error" in out:
                    failed.append((point, seed, out["error"]))
                    continue
                row = {**point, "seed": seed, **out["result"], **prov, "wall_time_s": out["wall_time_s"],
                       "_row": row_ids[i]}
                new_rows[i] = row
                if p is not None:
                    _write_atomic(pd.DataFrame([row]), _parts_dir(p) / f"{row_ids[i]}.parquet")
        except Exception as exc:  # a crashed worker pool: finished points are on disk
            lost = [items[i] for i, _ in todo if i not in new_rows and all(items[i] != (f[0], f[1]) for f in failed)]
            failed += [(pt, s, f"{type(exc).__name__}: {exc}") for pt, s in lost]

    if p is not None:
        merged = load_sweep(p)
        if len(merged):
            _write_atomic(merged, p)
        parts = _parts_dir(p)
        for f in parts.glob("*.parquet"):
            f.unlink()
        with contextlib.suppress(OSError):
            parts.rmdir()
        stored = merged
    else:
        stored = pd.DataFrame(list(new_rows.values()))

    table = _in_grid_order(stored, row_ids)
    if failed:
        first = failed[0]
        raise SweepError(f"{len(failed)} of {len(items)} points failed; first: {first[0]} seed {first[1]}: "
                         f"{first[2]} (finished points are stored; run again to resume)", failed, table)
    return table


def _in_grid_order(df, row_ids: list[str]):
    import pandas as pd

    if not len(df):
        return pd.DataFrame()
    order = {r: i for i, r in enumerate(row_ids)}
    df = df[df["_row"].isin(order)].copy()
    df["_order"] = df["_row"].map(order)
    df = df.sort_values("_order", kind="stable").drop(columns=["_order", "_row"])
    return df.reset_index(drop=True)
