"""Monte Carlo simulator of learning from aggregate responses (chapter ``book/feedback/aggregate-responses``).

Each replication draws the model of :ref:`agg-setup` at finite size: ``theta_0`` uniform on the
sphere of radius ``sqrt(r2)``, ``x_i ~ N(0, I_d)``, ``y_i = x_i^T theta_0 + eps_i``, a uniformly random
partition of the ``n = m k`` instances into ``m`` bags of size ``k``; it then fits
:eq:`agg-estimator` for every ``rho`` of a grid and records the squared error
``||theta_hat - theta_0||^2``. Because ``theta_hat`` is linear in the bag responses, the fit on the
noiseless bag means and the fit on the bag-mean noise give the bias and variance parts separately
(their cross term has mean zero); :func:`simulate_bag_risk` returns both per replication.

Engines. ``"numba"`` forms the bag sums with a one-pass kernel (:func:`~lossbook.aggregate.losses._bag_sums_numba`)
and solves all ``rho`` with Cholesky factorisations of ``U^T U + rho Z^T Z``;
``"numpy"`` is the plain reference (``np.add.at`` and ``np.linalg.solve`` per ``rho``). Both read
the same random stream, so they return the same numbers up to rounding (test).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from scipy.linalg import cho_factor, cho_solve

from .._rng import SeedLike, as_generator
from .._validate import ENGINES, check_array, check_choice, check_int, check_real, check_size
from .losses import _bag_sums_numba, _bag_sums_numpy
from .privacy import check_privacy

__all__ = ["BagSimulation", "DPSimulation", "laplace_bag_responses", "simulate_bag_risk", "simulate_dp_risk"]


class BagSimulation(NamedTuple):
    """Per-replication bias and variance parts of ``||theta_hat_rho - theta_0||^2``."""

    rhos: np.ndarray       #: the grid of ``rho``
    bias: np.ndarray       #: shape (reps, len(rhos)): ``||theta_hat(noiseless) - theta_0||^2``
    variance: np.ndarray   #: shape (reps, len(rhos)): ``||theta_hat(noise only)||^2``
    n: int                 #: instances per replication (``m k``)
    m: int                 #: bags per replication
    d: int                 #: features
    mean_theta_dot: np.ndarray  #: shape (reps, len(rhos)): ``theta_hat^T theta_0 / r2`` (noisy fit)


class DPSimulation(NamedTuple):
    """Per-replication squared error of the fit on privatised bag responses."""

    rhos: np.ndarray
    risk: np.ndarray   #: shape (reps, len(rhos))
    n: int
    m: int
    d: int


def _sizes(k, gamma, d):
    k = check_int(k, "k", low=1)
    gamma = check_real(gamma, "gamma", low=0.0, low_open=True)
    d = check_int(d, "d", low=1)
    with np.errstate(over="ignore"):
        m_real = d / (gamma * k)
    check_size(m_real * k * d, "n * d (n = m k, m = d / (gamma k))")  # also refuses m_real = inf
    m = max(1, int(round(m_real)))
    if gamma < 1.0:
        m = max(m, d // k + 1)  # a target d/n below 1 keeps n > d after rounding m
    check_size(m * k * d, "n * d (n = m k, m = d / (gamma k))")
    return k, gamma, d, m, m * k


MAX_MOMENT = 1e100  #: largest r2 and sigma2 the simulators accept (squares of the responses stay finite)


def _rho_grid(rhos):
    r = check_array(rhos, "rhos", ndim=(0, 1), low=0.0, high=1.0, min_size=1)
    return np.atleast_1d(r).astype(float)


def _draw(rng, n, d, m, k, r2, sigma2):
    """One replication's data; the order of draws is part of the engines' contract."""
    theta0 = rng.standard_normal(d)
    theta0 *= np.sqrt(r2) / np.linalg.norm(theta0)
    X = rng.standard_normal((n, d))
    eps = np.sqrt(sigma2) * rng.standard_normal(n)
    bags = np.empty(n, dtype=np.int64)
    bags[rng.permutation(n)] = np.arange(n) // k
    return theta0, X, eps, bags


def _solve_all(Gu, Gz, B, rhos, U, V, engine):
    """``(Gu + rho Gz)^{-1} B`` for every rho; the minimum-norm solution ``U^+ V`` where singular (rho = 0, m < d)."""
    out = []
    m, d = U.shape
    for rho in rhos:
        if rho == 0.0 and m < d:
            out.append(np.linalg.lstsq(U, V, rcond=None)[0])
        elif engine == "numba":
            out.append(cho_solve(cho_factor(Gu + rho * Gz, check_finite=False), B, check_finite=False))
        else:
            out.append(np.linalg.solve(Gu + rho * Gz, B))
    return out


def simulate_bag_risk(k, gamma, rhos, *, d=200, reps=10, seed: SeedLike, r2=1.0, sigma2=1.0,
                      engine="numba") -> BagSimulation:
    """Monte Carlo bias and variance of the interpolating estimator :eq:`agg-estimator`.

    The finite-size counterpart of :func:`~lossbook.aggregate.bag_regression_risk`: ``m`` is
    ``round(d/(gamma k))`` bags and ``n = m k`` instances, so the realised ``d/n`` is within
    rounding of ``gamma``.

    Parameters
    ----------
    k : int
        Bag size, ``k >= 1``.
    gamma : float
        Target ``d/n > 0``. For ``rho > 0`` and ``k > 1`` it must be below 1.
    rhos : float or array_like
        Grid of weights in ``[0, 1]``.
    d : int, optional
        Dimension (default 200).
    reps : int, optional
        Replications ``>= 1`` (default 10).
    seed : int, SeedSequence or Generator
        Randomness (required).
    r2, sigma2 : float, optional
        ``||theta_0||^2`` and noise variance, each in ``[0, 1e100]``.
    engine : {"numba", "numpy"}
        Fast path or plain NumPy reference; same numbers up to rounding.

    Returns
    -------
    BagSimulation

    Raises
    ------
    ValueError, TypeError
        If an argument is outside its range.

    Examples
    --------
    >>> sim = simulate_bag_risk(2, 0.25, [0.0, 1.0], d=20, reps=3, seed=0)
    >>> sim.bias.shape, sim.n, sim.m
    ((3, 2), 80, 40)
    >>> bool(sim.bias[0, 0] < 1e-20)          # bag-level least squares is unbiased when m > d
    True
    """
    grid = _rho_grid(rhos)
    reps = check_int(reps, "reps", low=1)
    r2 = check_real(r2, "r2", low=0.0, high=MAX_MOMENT)
    sigma2 = check_real(sigma2, "sigma2", low=0.0, high=MAX_MOMENT)
    engine = check_choice(engine, "engine", ENGINES)
    rng = as_generator(seed)
    k, gamma, d, m, n = _sizes(k, gamma, d)
    if k > 1 and np.any(grid > 0) and gamma >= 1.0:
        raise ValueError(f"gamma must lie in (0, 1) when some rho > 0 and k > 1, got {gamma!r}")
    kern = _bag_sums_numba if engine == "numba" else _bag_sums_numpy
    bias = np.empty((reps, grid.size))
    var = np.empty_like(bias)
    dots = np.empty_like(bias)
    for r in range(reps):
        theta0, X, eps, bags = _draw(rng, n, d, m, k, r2, sigma2)
        Sx, Se, _ = kern(X, eps, bags, m)
        U = Sx / np.sqrt(k)                     # sqrt(k) * bag mean
        vs = U @ theta0                         # noiseless v
        vn = Se / np.sqrt(k)                    # sqrt(k) * mean noise ~ N(0, sigma2)
        Gu = U.T @ U
        Gz = X.T @ X - Gu                       # within-bag scatter Z^T Z
        B = np.column_stack([U.T @ vs, U.T @ vn])
        V = np.column_stack([vs, vn])
        # k = 1: every within-bag deviation is 0 (Z = 0), so rho has no effect; solve as rho = 0 (minimum norm)
        for j, th in enumerate(_solve_all(Gu, Gz, B, grid if k > 1 else np.zeros_like(grid), U, V, engine)):
            bias[r, j] = np.sum((th[:, 0] - theta0) ** 2)
            var[r, j] = np.sum(th[:, 1] ** 2)
            dots[r, j] = (th[:, 0] + th[:, 1]) @ theta0 / r2 if r2 > 0 else 0.0
    return BagSimulation(grid, bias, var, n, m, d, dots)


def laplace_bag_responses(y, bags, *, epsilon, clip, seed: SeedLike):
    """Label-DP bag responses: clip labels to ``[-clip, clip]``, average per bag, add Laplace noise.

    The noise scale is ``2 clip / (k_a epsilon)`` for a bag of size ``k_a``: replacing one label changes
    the clipped bag mean by at most ``2 clip / k_a``, so each bag mean is ``epsilon``-DP with respect
    to any one label (:prf:ref:`agg-prop-dp`). Bags are disjoint, so the released vector is too.

    Parameters
    ----------
    y : array_like, shape (n,)
        Instance labels.
    bags : array_like of int, shape (n,)
    epsilon : float
        Privacy parameter ``> 0``.
    clip : float
        Clipping level ``C > 0``; ``clip / epsilon`` at most ``1e100``.
    seed : int, SeedSequence or Generator

    Returns
    -------
    ndarray, shape (m,)
        Privatised bag means.

    Raises
    ------
    ValueError, TypeError
        If an argument is outside its range.

    Examples
    --------
    >>> out = laplace_bag_responses([5.0, -5.0, 0.5, 0.5], [0, 0, 1, 1], epsilon=1e12, clip=1.0, seed=0)
    >>> out.round(6).tolist()       # clipped to +-1, so bag 0 averages to 0; almost no noise at huge epsilon
    [0.0, 0.5]
    """
    y = check_array(y, "y", ndim=1)
    epsilon, clip = check_privacy(epsilon, clip)
    from .losses import _check_bags

    bags, m = _check_bags(bags, y.shape[0])
    rng = as_generator(seed)
    yc = np.clip(y, -clip, clip) / clip  # in [-1, 1]: the bag sums cannot overflow
    cnt = np.bincount(bags, minlength=m).astype(float)
    mean = clip * (np.bincount(bags, weights=yc, minlength=m) / cnt)
    return mean + rng.laplace(0.0, 2.0 * (clip / epsilon) / cnt)


def simulate_dp_risk(k, gamma, rhos, *, epsilon, clip, d=200, reps=10, seed: SeedLike, r2=1.0, sigma2=1.0
                     ) -> DPSimulation:
    """Monte Carlo squared error of :eq:`agg-estimator` fitted to label-DP bag responses.

    Same data model as :func:`simulate_bag_risk`; the bag responses come from
    :func:`laplace_bag_responses` (clipping included, so the clipping bias that
    :func:`~lossbook.aggregate.dp_effective_noise` ignores is present here).

    Parameters
    ----------
    k : int
        Bag size ``>= 1``.
    gamma : float
        Target ``d/n`` in ``(0, 1)``.
    rhos : float or array_like
        Weights in ``[0, 1]``.
    epsilon, clip : float
        Privacy parameter and clipping level, both ``> 0``, with ``clip / epsilon <= 1e100``.
    d, reps : int, optional
        ``n d`` (``n = m k`` with ``m`` about ``d / (gamma k)``) at most ``1e8``.
    seed : int, SeedSequence or Generator
    r2, sigma2 : float, optional
        Each in ``[0, 1e100]``.

    Returns
    -------
    DPSimulation

    Raises
    ------
    ValueError, TypeError
        If an argument is outside its range.

    Examples
    --------
    >>> sim = simulate_dp_risk(2, 0.2, [0.5], epsilon=2.0, clip=3.0, d=10, reps=2, seed=1)
    >>> sim.risk.shape
    (2, 1)
    """
    gamma = check_real(gamma, "gamma", low=0.0, high=1.0, low_open=True, high_open=True)
    grid = _rho_grid(rhos)
    reps = check_int(reps, "reps", low=1)
    r2 = check_real(r2, "r2", low=0.0, high=MAX_MOMENT)
    sigma2 = check_real(sigma2, "sigma2", low=0.0, high=MAX_MOMENT)
    epsilon, clip = check_privacy(epsilon, clip)
    rng = as_generator(seed)
    k, gamma, d, m, n = _sizes(k, gamma, d)
    risk = np.empty((reps, grid.size))
    for r in range(reps):
        theta0, X, eps, bags = _draw(rng, n, d, m, k, r2, sigma2)
        ybar = laplace_bag_responses(X @ theta0 + eps, bags, epsilon=epsilon, clip=clip, seed=rng)
        Sx, _, _ = _bag_sums_numba(X, eps, bags, m)
        U = Sx / np.sqrt(k)
        v = np.sqrt(k) * ybar
        Gu = U.T @ U
        Gz = X.T @ X - Gu
        for j, th in enumerate(_solve_all(Gu, Gz, U.T @ v, grid, U, v, "numba")):
            risk[r, j] = np.sum((th - theta0) ** 2)
    return DPSimulation(grid, risk, n, m, d)
