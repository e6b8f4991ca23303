"""Regret-exponent fits: global log-log slope with a seed bootstrap, and local slopes."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .._rng import SeedLike, as_generator
from .._validate import check_array, check_int, check_real
from .env import LinearMDP

__all__ = ["SlopeFit", "fit_regret_slope", "regret_grid", "tune_constants"]


class SlopeFit(NamedTuple):
    """Fitted regret exponent.

    Attributes
    ----------
    slope : float
        OLS slope of ``log(mean regret)`` on ``log K`` (:doc:`/book/feedback/adversarial-mdp-regret`).
    ci_low, ci_high : float
        Percentile bootstrap interval (seeds resampled with replacement within each ``K``).
    local_slopes : ndarray, shape (n_K - 1,)
        ``log(R_{i+1}/R_i) / log(K_{i+1}/K_i)`` between neighbouring ``K`` on the mean regrets.
    mean_regret : ndarray, shape (n_K,)
    """

    slope: float
    ci_low: float
    ci_high: float
    local_slopes: np.ndarray
    mean_regret: np.ndarray


def _ols_slope(x, Y):
    # Y: (..., n_K); slope of each row on x
    xc = x - x.mean()
    return (Y - Y.mean(axis=-1, keepdims=True)) @ xc / (xc @ xc)


def fit_regret_slope(
    K_values,
    regrets,
    *,
    n_boot: int = 2000,
    level: float = 0.95,
    log_correct: bool = False,
    seed: SeedLike = 0,
) -> SlopeFit:
    """Fit ``R(K) ~ K^alpha`` on the mean over seeds, with a bootstrap CI and local slopes.

    Parameters
    ----------
    K_values : array_like, shape (n_K,)
        Distinct horizons, > 0, at least two.
    regrets : array_like, shape (n_K, n_seeds)
        Regret of each seed at each ``K``; the mean over seeds must be > 0 at every ``K``.
    n_boot : int
        Bootstrap replicates (>= 10).
    level : float
        Confidence level in (0, 1).
    log_correct : bool
        Fit ``log(R / sqrt(log K))`` instead of ``log R`` (removes the ``sqrt(log K)`` of a
        ``sqrt(K log K)`` rate).
    seed : int, SeedSequence or Generator
        Randomness of the bootstrap.

    Returns
    -------
    SlopeFit
        Slope, its bootstrap interval, the local slopes and the mean regret at each ``K``.

    Raises
    ------
    ValueError
        If a bootstrap resample has a non-positive mean regret at some ``K`` (possible when some
        seeds have negative pseudo-regret), since its logarithm is undefined.

    Examples
    --------
    >>> K = np.array([1e3, 1e4, 1e5])
    >>> fit = fit_regret_slope(K, np.sqrt(K)[:, None] * [[1.0, 1.0]])
    >>> round(fit.slope, 12), fit.local_slopes.round(12).tolist()
    (0.5, [0.5, 0.5])
    """
    K = check_array(K_values, "K_values", ndim=1, low=0.0, low_open=True, min_size=2)
    R = check_array(regrets, "regrets", ndim=2)
    if R.shape[0] != K.shape[0]:
        raise ValueError(f"regrets must have shape (n_K, n_seeds) with n_K = {K.shape[0]}, got {R.shape}")
    if R.shape[1] < 1:
        raise ValueError("regrets must hold at least one seed per K")
    if len(np.unique(K)) != K.shape[0]:
        raise ValueError("K_values must be distinct")
    n_boot = check_int(n_boot, "n_boot", low=10)
    level = check_real(level, "level", low=0.0, high=1.0, low_open=True)
    if level >= 1.0:
        raise ValueError(f"level must lie in (0, 1), got {level}")
    mean = R.mean(axis=1)
    if np.any(mean <= 0):
        raise ValueError("regrets must have a positive mean over seeds at every K (to take logs)")
    if not isinstance(log_correct, bool | np.bool_):
        raise TypeError(f"log_correct must be a bool, got {type(log_correct).__name__}")
    x = np.log(K)
    corr = 0.5 * np.log(np.log(K)) if log_correct else 0.0
    if log_correct and np.any(K <= 1):
        raise ValueError("log_correct needs K_values > 1")
    slope = float(_ols_slope(x, np.log(mean) - corr))
    rng = as_generator(seed)
    n_seeds = R.shape[1]
    idx = rng.integers(0, n_seeds, size=(n_boot, K.shape[0], n_seeds))
    boot_means = np.take_along_axis(R[None], idx, axis=2).mean(axis=2)   # (n_boot, n_K)
    if np.any(boot_means <= 0):
        # Clamping would put log(tiny) ~ -708 into the fit and silently distort the interval.
        raise ValueError("regrets: some bootstrap resamples have a non-positive mean regret at some K (negative "
                         "per-seed regrets), so log R is undefined there; use more seeds or larger K")
    boot = _ols_slope(x, np.log(boot_means) - corr)
    alpha = (1.0 - level) / 2.0
    lo, hi = np.quantile(boot, [alpha, 1.0 - alpha])
    local = np.diff(np.log(mean)) / np.diff(x)
    return SlopeFit(slope, float(lo), float(hi), local, mean)


def regret_grid(learner, mdp: LinearMDP, schedule, K_values, seeds) -> np.ndarray:
    """Pseudo-regret of ``learner`` for every horizon in ``K_values`` and every seed, shape (n_K, n_seeds).

    Each ``K`` is a separate run with rates tuned for that horizon (fixed-horizon tuning, as in
    the theorems); the instance ``(mdp, schedule)`` is fixed and only the trajectories' seeds vary.

    Parameters
    ----------
    learner : object
        Any learner with a ``run(mdp, schedule, K, seed=...)`` method returning a :class:`RegretRun`.
    mdp : LinearMDP
        The environment.
    schedule : array_like, shape (K_total, H, d)
        Loss parameters, ``K_total >= max(K_values)``.
    K_values : sequence of int
        Horizons, each ``>= 1``.
    seeds : sequence of int
        Trajectory seeds (one run per seed and horizon).

    Returns
    -------
    ndarray, shape (n_K, n_seeds)
        ``RegretRun.pseudo_regret`` of every run.

    Examples
    --------
    >>> from lossbook.regret import make_linear_mdp, make_loss_schedule, LogBarrierPolicyOptimizer
    >>> mdp = make_linear_mdp(1, 3, 3, 3, seed=0)
    >>> theta = make_loss_schedule(mdp, 200, seed=0)
    >>> regret_grid(LogBarrierPolicyOptimizer(), mdp, theta, [100, 200], [0, 1, 2]).shape
    (2, 3)
    """
    if not hasattr(learner, "run"):
        raise TypeError(f"learner must have a run(mdp, schedule, K, *, seed) method, got {type(learner).__name__}")
    Ks = [check_int(K, "K_values[i]", low=1) for K in np.atleast_1d(K_values).tolist()]
    if isinstance(seeds, str | bytes) or not hasattr(seeds, "__iter__"):
        raise TypeError(f"seeds must be a sequence of non-negative ints, got {seeds!r}")
    seed_list = [check_int(s, "seeds[i]", low=0) for s in seeds]
    if not seed_list or not Ks:
        raise ValueError("K_values and seeds must be non-empty")
    K_total = np.shape(schedule)[0] if np.ndim(schedule) == 3 else None
    if K_total is not None and max(Ks) > K_total:
        raise ValueError(f"K_values must not exceed the schedule's {K_total} episodes, got max {max(Ks)}")
    return np.array([[learner.run(mdp, schedule, K, seed=s).pseudo_regret for s in seed_list] for K in Ks])


def tune_constants(learner_cls: type, mdp: LinearMDP, schedule, K0: int, *, c_eta_grid, c_beta_grid, seeds,
                   c_gamma: float = 1.0, **kwargs) -> tuple[object, dict]:
    """Pick ``(c_eta, c_beta)`` minimising the mean regret at the single horizon ``K0`` on ``seeds``.

    The chosen constants are then frozen and only the theoretical K-exponents change with ``K``;
    retuning at every ``K`` would bend the measured slope. Use tuning seeds disjoint from the
    evaluation seeds.

    Parameters
    ----------
    learner_cls : type
        A learner class taking ``(c_eta, c_beta, c_gamma, **kwargs)``.
    mdp : LinearMDP
        The environment.
    schedule : array_like, shape (K_total, H, d)
        Loss parameters, ``K_total >= K0``.
    K0 : int
        The tuning horizon, ``>= 1``.
    c_eta_grid, c_beta_grid : sequence of float
        Candidate constants (``c_eta > 0``, ``c_beta >= 0``).
    seeds : sequence of int
        Tuning seeds.
    c_gamma : float, default 1
        Fixed regulariser constant, ``> 0``.
    **kwargs
        Passed to ``learner_cls`` (e.g. ``mode="plugin"``).

    Returns
    -------
    learner
        ``learner_cls(c_eta, c_beta, c_gamma, **kwargs)`` with the best pair.
    table : dict
        ``{(c_eta, c_beta): mean regret at K0}`` over the grid.

    Examples
    --------
    >>> from lossbook.regret import make_linear_mdp, make_loss_schedule, LogBarrierPolicyOptimizer
    >>> mdp = make_linear_mdp(1, 3, 3, 3, seed=0)
    >>> theta = make_loss_schedule(mdp, 200, seed=0)
    >>> best, table = tune_constants(LogBarrierPolicyOptimizer, mdp, theta, 200, c_eta_grid=[4, 16],
    ...                              c_beta_grid=[0.1], seeds=[7])
    >>> len(table)
    2
    """
    if not callable(learner_cls):
        raise TypeError(f"learner_cls must be a learner class, got {type(learner_cls).__name__}")
    K0 = check_int(K0, "K0", low=1)
    for grid, nm, lo_open in ((c_eta_grid, "c_eta_grid", True), (c_beta_grid, "c_beta_grid", False)):
        if isinstance(grid, str | bytes) or not hasattr(grid, "__iter__"):
            raise TypeError(f"{nm} must be a sequence of floats, got {grid!r}")
        for v in grid:
            check_real(v, f"{nm}[i]", low=0.0, low_open=lo_open)
    if np.ndim(schedule) == 3 and K0 > np.shape(schedule)[0]:
        raise ValueError(f"K0 must not exceed the schedule's {np.shape(schedule)[0]} episodes, got {K0}")
    table = {}
    for ce in c_eta_grid:
        for cb in c_beta_grid:
            L = learner_cls(ce, cb, c_gamma, **kwargs)
            table[(float(ce), float(cb))] = float(regret_grid(L, mdp, schedule, [K0], seeds).mean())
    if not table:
        raise ValueError("c_eta_grid and c_beta_grid must be non-empty")
    ce, cb = min(table, key=table.get)
    return learner_cls(ce, cb, c_gamma, **kwargs), table
