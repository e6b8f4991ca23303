"""Log-likelihood-difference moments, the boundary mass G(tau) and the logistic H-consistency bound."""

from __future__ import annotations

import math

import numpy as np

from .._rng import SeedLike, as_generator
from .._validate import check_array, check_int, check_real, check_size
from ..consistency import bound_gamma

__all__ = ["boundary_mass", "boundary_mass_chebyshev", "boundary_mass_pair_bound", "logistic_zero_one_bound",
           "loglik_diff_moments"]


def _model(means, variances, priors):
    means = check_array(means, "means", ndim=2, max_abs=1e100)
    variances = check_array(variances, "variances", ndim=1, low=1e-100, high=1e100)
    K, n = means.shape
    if K < 2:
        raise ValueError(f"means must have at least 2 rows (classes), got {K}")
    if n < 1:
        raise ValueError("means must have at least one column (feature)")
    if variances.shape[0] != n:
        raise ValueError(f"variances must have {n} entries (columns of means), got {variances.shape[0]}")
    priors = check_array(priors, "priors", ndim=1, low=0.0, low_open=True, high=1.0)
    if priors.shape[0] != K:
        raise ValueError(f"priors must have {K} entries (rows of means), got {priors.shape[0]}")
    if abs(priors.sum() - 1.0) > 1e-9:
        raise ValueError(f"priors must sum to 1, got {priors.sum()!r}")
    check_size(K**3 * n, "K^3 * n")
    return means, variances, priors


def loglik_diff_moments(means, variances, priors) -> tuple[np.ndarray, np.ndarray]:
    """Mean and variance, per feature, of ``l_{k1,k2}(x) = l_{k1}(x) - l_{k2}(x)`` given ``y = k``.

    For the naive-Bayes model ``x_i | y=k ~ N(mu_{k,i}, sigma_i^2)`` with the population decision
    functions ``l_k`` (eq. :eq:`dvg-nb`), ``l_{k1,k2}`` is affine in ``x``, hence Gaussian given ``y``
    with (:prf:ref:`dvg-lem-moments`, derived in the chapter)

    ``E = sum_i (mu_{k1,i} - mu_{k2,i})(2 mu_{k,i} - mu_{k1,i} - mu_{k2,i}) / (2 sigma_i^2) + log(pi_{k1}/pi_{k2})``,
    ``Var = sum_i (mu_{k1,i} - mu_{k2,i})^2 / sigma_i^2``.

    Parameters
    ----------
    means : array_like, shape (K, n)
        Class means, modulus at most 1e100.
    variances : array_like, shape (n,)
        Shared variances in ``[1e-100, 1e100]``.
    priors : array_like, shape (K,)
        Positive class priors summing to 1.

    Returns
    -------
    (beta, alpha) : tuple of numpy.ndarray, each (K, K, K)
        ``beta[k1, k2, k] = E[l_{k1,k2} | y=k] / n`` (signed; the paper's statistic is its modulus) and
        ``alpha[k1, k2, k] = Var[l_{k1,k2} | y=k] / n``.

    Raises
    ------
    ValueError
        If shapes disagree or values are out of range.

    Examples
    --------
    >>> import numpy as np
    >>> beta, alpha = loglik_diff_moments(np.array([[0.0], [2.0]]), np.array([1.0]), np.array([0.5, 0.5]))
    >>> float(beta[1, 0, 1]), float(alpha[1, 0, 1])
    (2.0, 4.0)
    """
    means, variances, priors = _model(means, variances, priors)
    K, n = means.shape
    scale = np.sqrt(variances)
    z = means / scale  # standardised means; products below stay in range
    d = z[:, None, :] - z[None, :, :]  # (k1, k2, i)
    s = z[:, None, :] + z[None, :, :]
    mean = 0.5 * np.einsum("abi,ci->abc", d, 2.0 * z) - 0.5 * np.einsum("abi,abi->ab", d, s)[:, :, None]
    logp = np.log(priors)
    mean = mean + (logp[:, None] - logp[None, :])[:, :, None]
    var = np.broadcast_to(np.einsum("abi,abi->ab", d, d)[:, :, None], (K, K, K))
    return mean / n, np.array(var) / n


def boundary_mass(means, variances, priors, tau, m: int, seed: SeedLike) -> np.ndarray:
    """Monte Carlo estimate of the boundary mass ``G(tau)`` (eq. :eq:`dvg-G`).

    ``G(tau) = P[h_inf(x) = y and min_{k != y} l_{y,k}(x) <= tau n]``, where ``l`` are the population
    naive-Bayes decision functions of the model and ``h_inf`` their argmax: the mass of correctly
    classified points within a margin ``tau n`` of another class. Vectorised over ``tau``.

    Parameters
    ----------
    means, variances, priors
        As in :func:`loglik_diff_moments`.
    tau : array_like
        Margins per feature, ``>= 0``.
    m : int
        Monte Carlo sample size, ``1..1e8 / (K n)``; the standard error is at most ``0.5 / sqrt(m)``.
    seed : int, SeedSequence or Generator

    Returns
    -------
    numpy.ndarray
        ``G`` at each ``tau`` (same shape as ``tau``), non-decreasing in ``tau``.

    Raises
    ------
    ValueError
        If an argument is out of range.

    Examples
    --------
    >>> import numpy as np
    >>> g = boundary_mass(np.array([[0.0], [2.0]]), np.array([1.0]), np.array([0.5, 0.5]), [0.0, 1e9], 1000, seed=0)
    >>> float(g[0]), bool(0.8 < g[1] < 0.88)      # G(inf) = accuracy = Phi(1) = 0.84
    (0.0, True)
    """
    means, variances, priors = _model(means, variances, priors)
    tau = check_array(tau, "tau", low=0.0)
    m = check_int(m, "m", low=1)
    K, n = means.shape
    check_size(m * K * n, "m * K * n")
    rng = as_generator(seed)
    y = rng.choice(K, size=m, p=priors / priors.sum())
    scale = np.sqrt(variances)
    z = rng.standard_normal((m, n)) + means[y] / scale  # standardised features
    mz = means / scale
    ll = np.log(priors)[None, :] - 0.5 * np.sum((z[:, None, :] - mz[None, :, :]) ** 2, axis=2)
    own = ll[np.arange(m), y]
    others = ll.copy()
    others[np.arange(m), y] = -np.inf
    gap = own - others.max(axis=1)  # min_{k != y} l_{y,k}
    correct = gap > 0
    with np.errstate(over="ignore"):  # tau n beyond the float range is +inf: every margin is within it
        limit = tau.reshape(-1, 1) * n
    return np.mean(correct[None, :] & (gap[None, :] <= limit), axis=1).reshape(tau.shape)


def boundary_mass_pair_bound(means, variances, priors, tau) -> np.ndarray:
    """Pairwise Chebyshev bound on ``G(tau)``, the first inequality of eq. :eq:`dvg-cheb`.

    ``sum_y pi_y sum_{k != y} alpha_{y,k,y} / ((|beta_{y,k,y}| - tau)^2 n)``, with the moments of
    :func:`loglik_diff_moments`, clipped to 1; it is 1 (vacuous) once ``tau >= min |beta_{y,k,y}|``. It is
    the bound the proof of :prf:ref:`dvg-thm-G` obtains before replacing every pair's moments by the
    worst constants ``alpha0, beta0`` (:func:`boundary_mass_chebyshev`), and it is much smaller when the
    pairs differ (on the paper's mixture by a factor of about 25).

    Parameters
    ----------
    means, variances, priors
        As in :func:`loglik_diff_moments`.
    tau : array_like
        Margins per feature, ``>= 0``.

    Returns
    -------
    numpy.ndarray
        The bound at each ``tau``, in ``[0, 1]``.

    Raises
    ------
    ValueError
        If an argument is out of range.

    Examples
    --------
    >>> import numpy as np
    >>> b = boundary_mass_pair_bound(np.array([[0.0], [2.0]]), np.array([1.0]), np.array([0.5, 0.5]), [0.0, 1.0])
    >>> [round(float(v), 12) for v in b]          # alpha = 4, |beta| = 2: 4 / 2^2 = 1, then vacuous
    [1.0, 1.0]
    """
    means, variances, priors = _model(means, variances, priors)
    tau = check_array(tau, "tau", low=0.0)
    K, n = means.shape
    beta, alpha = loglik_diff_moments(means, variances, priors)
    idx = [(y, k) for y in range(K) for k in range(K) if k != y]
    b = np.array([abs(beta[y, k, y]) for y, k in idx])
    a = np.array([alpha[y, k, y] for y, k in idx])
    w = np.array([priors[y] for y, _ in idx])
    t = tau.reshape(-1, 1)
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        terms = np.where(t < b, w * a / ((b - t) ** 2 * n), np.inf)
        total = terms.sum(axis=1)
    return np.minimum(np.where(np.isfinite(total), total, 1.0), 1.0).reshape(tau.shape)


def boundary_mass_chebyshev(tau, beta0: float, alpha0: float, n: int, n_classes: int) -> np.ndarray:
    """Chebyshev bound ``min(1, (K-1) alpha0 / ((beta0 - tau)^2 n))`` on ``G(tau)`` for ``tau < beta0``.

    :prf:ref:`dvg-thm-G` (derived in the chapter; the paper's statement is not confirmed): if every
    ``|E[l_{k,k'} | y=k]| >= beta0 n`` and every ``Var[l_{k,k'} | y=k] <= alpha0 n``, then
    ``G(tau)`` is at most this value. For ``tau >= beta0`` the bound is 1 (vacuous).

    Parameters
    ----------
    tau : array_like
        ``>= 0``.
    beta0 : float
        ``> 0``.
    alpha0 : float
        ``>= 0``.
    n : int
        ``>= 1``.
    n_classes : int
        ``K >= 2``.

    Returns
    -------
    numpy.ndarray
        The bound, in ``[0, 1]``.

    Raises
    ------
    ValueError
        If an argument is out of range.

    Examples
    --------
    >>> round(float(boundary_mass_chebyshev(0.0, 1.0, 2.0, 100, 3)), 12)     # 2 * 2 / 100
    0.04
    """
    tau = check_array(tau, "tau", low=0.0)
    beta0 = check_real(beta0, "beta0", low=0.0, low_open=True)
    alpha0 = check_real(alpha0, "alpha0", low=0.0)
    n = check_int(n, "n", low=1)
    K = check_int(n_classes, "n_classes", low=2)
    gap = np.where(tau < beta0, (beta0 - tau) / beta0, 1.0)  # relative gap, avoids underflow of its square
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        # (K-1) alpha0 / (beta0^2 gap^2 n), formed in logs
        log_b = (math.log(K - 1) + (math.log(alpha0) if alpha0 > 0 else -np.inf)
                 - 2.0 * math.log(beta0) - 2.0 * np.log(gap) - math.log(n))
        out = np.where(tau < beta0, np.exp(np.minimum(log_b, 0.0)), 1.0)
    return out


def logistic_zero_one_bound(excess_log, n_classes: int, M_log: float = 0.0, M_01: float = 0.0) -> np.ndarray:
    """Zero-one excess-error bound of the logistic loss: ``Gamma_1(excess_log + M_log) - M_01``.

    The ``tau = 1`` case of the comp-sum H-consistency bound of chapter
    ``book/consistency/comp-sum-h-consistency`` (:func:`lossbook.consistency.bound_gamma`, reused here):
    for symmetric complete hypothesis sets,
    ``R_01(h) - R*_01(H) + M_01 <= Gamma_1(R_log(h) - R*_log(H) + M_log)``
    with ``Gamma_1 = T_1^{-1}`` and ``T_1(t) >= t^2 / 2``, so ``Gamma_1(s) <= sqrt(2 s)``
    (eq. :eq:`dvg-hcons`).

    Parameters
    ----------
    excess_log : array_like
        Logistic excess risks ``R_log(h) - R*_log(H)``, ``>= 0``.
    n_classes : int
        ``K >= 2`` (``Gamma_1`` does not depend on it; kept for the general ``tau`` signature).
    M_log, M_01 : float
        Minimizability gaps of the logistic and zero-one losses, ``>= 0`` (0 when the best-in-class
        hypothesis is Bayes optimal pointwise).

    Returns
    -------
    numpy.ndarray
        Upper bound on ``R_01(h) - R*_01(H)``.

    Raises
    ------
    ValueError
        If an argument is out of range.

    Examples
    --------
    >>> round(float(logistic_zero_one_bound(0.02, 3)), 4)       # Gamma_1(0.02) <= sqrt(0.04) = 0.2
    0.1993
    """
    s = check_array(excess_log, "excess_log", low=0.0)
    K = check_int(n_classes, "n_classes", low=2)
    M_log = check_real(M_log, "M_log", low=0.0)
    M_01 = check_real(M_01, "M_01", low=0.0, high=1.0)
    with np.errstate(over="ignore"):
        total = s + M_log
    total = np.where(np.isfinite(total), total, np.finfo(np.float64).max)
    return bound_gamma(total, 1.0, K) - M_01
