"""The regret-slope study as a sweep: learners x horizons x seeds on one fixed instance.

The chapter (:doc:`/book/feedback/adversarial-mdp-regret`) runs this study at ``K <= 10^5`` with 10
seeds, where the fitted exponents of the learners cannot be told apart. The same study at scale (``K``
up to ``10^7``, dozens of seeds; hours of CPU) runs through :mod:`lossbook.sweep` on any of its
backends, from the command line::

    python -m lossbook.regret.cli --k-max 1e7 --seeds 40 --out sweeps/regret-slope.parquet
    LOSSBOOK_SWEEP_ADDRESS=tcp://scheduler:8786 python -m lossbook.regret.cli ...   # a Dask cluster

(``make sweep-regret`` is the first line). ``--estimate`` prints the measured cost per episode and the
extrapolated CPU time of the grid without running it.
"""

from __future__ import annotations

import argparse
import math
import time
from collections.abc import Mapping, Sequence

import numpy as np

from .._validate import check_int, check_real
from .env import make_linear_mdp, make_loss_schedule
from .experiments import fit_regret_slope
from .learners import (
    DilatedBonusBaseline,
    ExpWeightsPolicyOptimizer,
    LogBarrierPolicyOptimizer,
    MagnitudeReducedPolicyOptimizer,
)

__all__ = [
    "SLOPE_INSTANCE",
    "SLOPE_LEARNERS",
    "default_constants",
    "estimate_cost",
    "horizon_grid",
    "make_learner",
    "regret_matrix",
    "slope_study",
    "slope_study_point",
]

#: The learners of the study: log-barrier (A1), magnitude-reduced with the exact and the plug-in
#: correction (A2), the exponential-weights ablation (EW) and the K^(2/3) baseline (B1).
SLOPE_LEARNERS = ("A1", "A2-oracle", "A2-plugin", "EW", "B1")
#: The chapter's instance: ``make_linear_mdp(1, 6, 4, 5, seed=0)`` and the switching adversary of seed 1.
SLOPE_INSTANCE = {"H": 1, "S": 6, "A": 4, "d": 5, "mdp_seed": 0, "schedule": "switch", "schedule_seed": 1}

_CLASSES = {
    "A1": (LogBarrierPolicyOptimizer, {}),
    "A2-oracle": (MagnitudeReducedPolicyOptimizer, {"mode": "oracle"}),
    "A2-plugin": (MagnitudeReducedPolicyOptimizer, {"mode": "plugin"}),
    "EW": (ExpWeightsPolicyOptimizer, {}),
    "B1": (DilatedBonusBaseline, {}),
}


def default_constants() -> dict[str, list[float]]:
    """``{learner: [c_eta, c_beta, c_gamma]}`` from the learners' defaults (the chapter's tuning).

    Returns
    -------
    dict

    Examples
    --------
    >>> default_constants()["A1"]
    [64.0, 0.0, 1.0]
    """
    out = {}
    for name, (cls, kw) in _CLASSES.items():
        learner = cls(**kw)
        out[name] = [float(learner.c_eta), float(learner.c_beta), float(learner.c_gamma)]
    return out


def make_learner(name: str, constants: Mapping | None = None):
    """The learner ``name`` of :data:`SLOPE_LEARNERS` with ``constants[name] = [c_eta, c_beta, c_gamma]``.

    Parameters
    ----------
    name : str
        One of :data:`SLOPE_LEARNERS`.
    constants : mapping, optional
        Per-learner constants; default :func:`default_constants`.

    Returns
    -------
    learner
        An instance with ``run(mdp, schedule, K, seed=...)``.

    Examples
    --------
    >>> make_learner("A2-plugin").mode
    'plugin'
    """
    return _make_learner(name, constants, "name")


def _make_learner(name, constants, arg: str):
    """:func:`make_learner`, with errors naming the caller's argument ``arg`` (``learners``, ``learner``)."""
    if not isinstance(name, str) or name not in _CLASSES:
        raise ValueError(f"{arg} must be one of {SLOPE_LEARNERS}, got {name!r}")
    constants = default_constants() if constants is None else constants
    if not isinstance(constants, Mapping) or name not in constants:
        raise ValueError(f"constants must map {name!r} to [c_eta, c_beta, c_gamma]")
    c = constants[name]
    if isinstance(c, str | bytes) or not hasattr(c, "__len__") or len(c) != 3:
        raise ValueError(f"constants[{name!r}] must be [c_eta, c_beta, c_gamma], got {c!r}")
    c_eta = check_real(c[0], f"constants[{name!r}][0] (c_eta)", low=0.0, low_open=True)
    c_beta = check_real(c[1], f"constants[{name!r}][1] (c_beta)", low=0.0)
    c_gamma = check_real(c[2], f"constants[{name!r}][2] (c_gamma)", low=0.0, low_open=True)
    cls, kw = _CLASSES[name]
    return cls(c_eta, c_beta, c_gamma, **kw)


def _instance(instance: Mapping | None):
    inst = dict(SLOPE_INSTANCE if instance is None else instance)
    missing = set(SLOPE_INSTANCE) - set(inst)
    if missing:
        raise ValueError(f"instance lacks {sorted(missing)} (keys of SLOPE_INSTANCE)")
    mdp = make_linear_mdp(inst["H"], inst["S"], inst["A"], inst["d"], seed=inst["mdp_seed"])
    return mdp, inst


def slope_study_point(learner: str, K: int, seed: int, *, constants: Mapping | None = None,
                      instance: Mapping | None = None) -> dict:
    """One point of the study: the pseudo-regret of ``learner`` after ``K`` episodes, trajectories seeded ``seed``.

    The loss schedule is generated for exactly ``K`` episodes; its first ``K`` rows do not depend on its
    length, so a point computes the same number as :func:`~lossbook.regret.regret_grid` on the longer
    schedule of the chapter (a test checks it).

    Parameters
    ----------
    learner : str
        One of :data:`SLOPE_LEARNERS`.
    K : int
        Number of episodes, ``>= 1``; the learning rates are tuned for it.
    seed : int
        Trajectory seed.
    constants : mapping, optional
        ``{learner: [c_eta, c_beta, c_gamma]}``, default :func:`default_constants`.
    instance : mapping, optional
        Keys of :data:`SLOPE_INSTANCE`, default that instance.

    Returns
    -------
    dict
        ``pseudo_regret`` and ``comparator_loss`` (expected loss units).

    Examples
    --------
    >>> out = slope_study_point("A1", 200, 0)
    >>> sorted(out), out["pseudo_regret"] > 0
    (['comparator_loss', 'pseudo_regret'], True)
    """
    K = check_int(K, "K", low=1)
    algo = _make_learner(learner, constants, "learner")
    mdp, inst = _instance(instance)
    theta = make_loss_schedule(mdp, K, inst["schedule"], seed=inst["schedule_seed"])
    run = algo.run(mdp, theta, K, seed=seed)
    return {"pseudo_regret": float(run.pseudo_regret), "comparator_loss": float(run.comparator_loss)}


def _check_horizons(K_values) -> list[int]:
    if isinstance(K_values, str | bytes) or not hasattr(K_values, "__len__") or len(K_values) == 0:
        raise TypeError(f"K_values must be a non-empty sequence of ints, got {K_values!r}")
    return [check_int(K, "K_values[i]", low=1) for K in K_values]


def horizon_grid(k_min: float = 1e3, k_max: float = 1e7) -> list[int]:
    """Horizons ``1, 3`` times powers of ten from ``k_min`` to ``k_max`` (the chapter's grid pattern).

    Parameters
    ----------
    k_min, k_max : float
        Bounds, ``1 <= k_min <= k_max``.

    Returns
    -------
    list of int

    Examples
    --------
    >>> horizon_grid(1e3, 1e5)
    [1000, 3000, 10000, 30000, 100000]
    """
    k_min = check_real(k_min, "k_min", low=1.0)
    k_max = check_real(k_max, "k_max", low=1.0)
    if not (math.isfinite(k_min) and math.isfinite(k_max) and 1 <= k_min <= k_max):
        raise ValueError(f"k_min and k_max need 1 <= k_min <= k_max (finite), got k_min={k_min!r}, k_max={k_max!r}")
    out = []
    for j in range(int(math.floor(math.log10(k_min))), int(math.floor(math.log10(k_max))) + 1):
        out += [m * 10**j for m in (1, 3) if k_min <= m * 10**j <= k_max]
    return out


def slope_study(K_values: Sequence[int], seeds: Sequence[int], *, learners: Sequence[str] = SLOPE_LEARNERS,
                constants: Mapping | None = None, instance: Mapping | None = None, **sweep_kwargs):
    """Run the study through :func:`lossbook.sweep.run_sweep` (grid ``learner x K``, then ``seeds``).

    Parameters
    ----------
    K_values : sequence of int
        Horizons.
    seeds : sequence of int
        Trajectory seeds.
    learners : sequence of str
        Subset of :data:`SLOPE_LEARNERS`.
    constants, instance : mapping, optional
        As in :func:`slope_study_point`; they are part of the study key (so a result file made with
        other constants or another instance is refused).
    **sweep_kwargs
        ``path``, ``backend``, ``address``, ``n_workers``, ``desc`` of :func:`~lossbook.sweep.run_sweep`.

    Returns
    -------
    pandas.DataFrame
        Columns ``learner, K, seed, pseudo_regret, comparator_loss`` and the provenance columns.
    """
    from lossbook.sweep import run_sweep

    K_values = _check_horizons(K_values)
    for name in learners:
        _make_learner(name, constants, "learners")  # validates names and constants before any work
    fixed = {"constants": {k: list(map(float, v)) for k, v in (constants or default_constants()).items()},
             "instance": dict(SLOPE_INSTANCE if instance is None else instance)}
    return run_sweep(slope_study_point, {"learner": list(learners), "K": [int(k) for k in K_values]}, seeds,
                     fixed=fixed, **sweep_kwargs)


def regret_matrix(table, learner: str, K_values: Sequence[int], seeds: Sequence[int]) -> np.ndarray:
    """Pseudo-regrets of one learner from a study table, shape ``(len(K_values), len(seeds))``.

    Parameters
    ----------
    table : pandas.DataFrame
        Output of :func:`slope_study` or :func:`lossbook.sweep.load_sweep`.
    learner : str
        The learner.
    K_values, seeds : sequence of int
        Rows and columns of the result; every pair must be in ``table``.

    Returns
    -------
    ndarray
        Ready for :func:`~lossbook.regret.fit_regret_slope`.
    """
    if not hasattr(table, "columns") or not {"learner", "K", "seed", "pseudo_regret"} <= set(table.columns):
        raise TypeError("table must be a pandas DataFrame with columns learner, K, seed, pseudo_regret "
                        f"(from slope_study or load_sweep), got {type(table).__name__}")
    sub = table[table["learner"] == learner].set_index(["K", "seed"])["pseudo_regret"]
    out = np.empty((len(K_values), len(seeds)))
    for i, K in enumerate(K_values):
        for j, s in enumerate(seeds):
            if (K, s) not in sub.index:
                raise ValueError(f"table has no row for learner={learner!r}, K_values entry {K}, seeds entry {s}")
            out[i, j] = sub.loc[(K, s)]
    return out


# ---------------------------------------------------------------------------------------------- CLI
def estimate_cost(K_values: Sequence[int], n_seeds: int, learners: Sequence[str] = SLOPE_LEARNERS,
                  constants: Mapping | None = None) -> tuple[dict, float]:
    """Measured seconds per episode of each learner, and the extrapolated CPU seconds of a grid.

    Each learner runs 20 000 episodes once (after a short run that compiles its kernel) on this
    machine; the cost of a point is linear in ``K``, so the grid costs
    ``sum(per_episode) * sum(K_values) * n_seeds`` seconds on one core.

    Parameters
    ----------
    K_values : sequence of int
        Horizons of the grid.
    n_seeds : int
        Seeds per point, ``>= 1``.
    learners : sequence of str
        Subset of :data:`SLOPE_LEARNERS`.
    constants : mapping, optional
        As in :func:`slope_study_point`.

    Returns
    -------
    per_episode : dict
        ``{learner: seconds per episode}``.
    total : float
        Extrapolated CPU seconds.
    """
    n_seeds = check_int(n_seeds, "n_seeds", low=1)
    K_values = _check_horizons(K_values)
    for name in learners:
        _make_learner(name, constants, "learners")  # validates names and constants before any timing
    per_episode = {}
    for name in learners:
        slope_study_point(name, 2_000, 0, constants=constants)  # compiles the kernel
        t0 = time.perf_counter()
        slope_study_point(name, 20_000, 0, constants=constants)
        per_episode[name] = (time.perf_counter() - t0) / 20_000
    total = sum(per_episode.values()) * sum(K_values) * n_seeds
    return per_episode, total


def main(argv: Sequence[str] | None = None) -> int:
    """Command line of the study (``python -m lossbook.regret.cli --help``)."""
    ap = argparse.ArgumentParser(prog="python -m lossbook.regret.cli", description=__doc__.split("\n\n")[0])
    ap.add_argument("--k-min", type=float, default=1e3)
    ap.add_argument("--k-max", type=float, default=1e7)
    ap.add_argument("--seeds", type=int, default=40, help="seeds 0 .. N-1 (default 40)")
    ap.add_argument("--learners", default=",".join(SLOPE_LEARNERS))
    ap.add_argument("--out", default="sweeps/regret-slope.parquet")
    ap.add_argument("--backend", choices=("serial", "processes", "dask"), default=None)
    ap.add_argument("--address", default=None, help="Dask scheduler address (implies --backend dask)")
    ap.add_argument("--workers", type=int, default=None)
    ap.add_argument("--estimate", action="store_true", help="print the extrapolated cost and exit")
    a = ap.parse_args(argv)
    K_values, seeds = horizon_grid(a.k_min, a.k_max), list(range(a.seeds))
    learners = [s.strip() for s in a.learners.split(",") if s.strip()]
    per_ep, total = estimate_cost(K_values, len(seeds), learners)
    n_points, n_episodes = len(K_values) * len(seeds) * len(learners), sum(K_values) * len(seeds) * len(learners)
    print(f"grid: K = {K_values}, {len(seeds)} seeds, learners {learners}: {n_points} points, "
          f"{n_episodes:.3g} episodes")
    print("measured cost per episode: " + ", ".join(f"{k} {v * 1e6:.2f} us" for k, v in per_ep.items()))
    print(f"extrapolated CPU time: {total / 3600:.2f} core-hours "
          f"(largest point: {max(K_values) * max(per_ep.values()) / 60:.1f} min, "
          f"memory per worker ~{0.15 + max(K_values) * 100 / 2**30:.2f} GiB)")  # measured: 0.23 GiB RSS at K = 1e6
    if a.estimate:
        return 0
    from pathlib import Path

    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    table = slope_study(K_values, seeds, learners=learners, path=a.out, backend=a.backend, address=a.address,
                        n_workers=a.workers, desc="regret-slope study")
    print(f"done in {time.perf_counter() - t0:.0f} s wall, {table['wall_time_s'].sum():.0f} s of point time; "
          f"{len(table)} rows in {a.out}")
    for name in learners:
        fit = fit_regret_slope(K_values, regret_matrix(table, name, K_values, seeds), seed=0)
        print(f"  {name:10s} slope {fit.slope:.3f} [{fit.ci_low:.3f}, {fit.ci_high:.3f}]")
    return 0
