"""The Gaussian mixture of the official simulation, its analytic Bayes error, and learning curves."""

from __future__ import annotations

import contextlib
from typing import NamedTuple

import numpy as np
from scipy.special import ndtr

from .._rng import SeedLike, as_generator
from .._validate import check_array, check_int, check_real, check_size
from .models import fit_gaussian_nb, fit_logistic_regression, linear_predict, nb_linear_form

__all__ = ["LearningCurves", "learning_curves", "mixture_bayes_error", "mixture_params", "sample_mixture",
           "samples_to_reach"]

#: class-mean exponent limit: class k >= 1 has mean 2^(k-1), so K - 2 <= 60 keeps it exact
MAX_MIXTURE_CLASSES = 62
#: feature-dimension limit of the mixture helpers
MAX_FEATURES = 10**5


def _check_mixture(n, n_classes, signal):
    n = check_int(n, "n", low=1, high=MAX_FEATURES)
    K = check_int(n_classes, "n_classes", low=2, high=MAX_MIXTURE_CLASSES)
    signal = check_real(signal, "signal", low=0.0, low_open=True, high=1e100)
    return n, K, signal


def mixture_params(n: int, n_classes: int, signal: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """Class means and diagonal variances of the official generator's "easy" mode (eq. :eq:`dvg-mixture`).

    Class 0 has mean ``-signal * 1_n`` and class ``k >= 1`` has mean ``signal * 2^(k-1) 1_n``; the
    covariance is diagonal with variance ``n`` on the first ``floor(n/2)`` coordinates and 1 on the rest
    (``data/generate_data.py`` of the official repository; ``signal = 1`` is the repository's design,
    ``signal < 1`` shrinks every mean, as in the chapter's negative control).

    Parameters
    ----------
    n : int
        Feature dimension, ``1..1e5``.
    n_classes : int
        ``K`` in ``2..62``.
    signal : float
        Scale of the means, ``> 0``.

    Returns
    -------
    (means, variances) : tuple of numpy.ndarray, shapes (K, n) and (n,)

    Raises
    ------
    ValueError
        If an argument is out of range.

    Examples
    --------
    >>> means, var = mixture_params(4, 3)
    >>> means[:, 0].tolist(), var.tolist()
    ([-1.0, 1.0, 2.0], [4.0, 4.0, 1.0, 1.0])
    """
    n, K, signal = _check_mixture(n, n_classes, signal)
    check_size(K * n, "n_classes * n", limit=10**7)
    levels = np.array([-1.0] + [2.0 ** (k - 1) for k in range(1, K)]) * signal
    means = np.repeat(levels[:, None], n, axis=1)
    variances = np.ones(n)
    variances[: n // 2] = float(n)
    return means, variances


def mixture_bayes_error(n: int, n_classes: int, signal: float = 1.0) -> float:
    """Bayes error of the mixture of :func:`mixture_params` with equal class priors (:prf:ref:`dvg-prop-bayes`).

    The means are collinear (multiples of ``1_n``) and the covariance is shared, so the Bayes rule
    depends on ``x`` only through ``s = 1^T Sigma^{-1} x / sqrt(d)``, ``d = 1^T Sigma^{-1} 1``, which
    is ``N(c_k sqrt(d), 1)`` given class ``k`` (``c_k`` the mean levels). With sorted centres
    ``a_1 < ... < a_K`` the error is ``(1/K) sum_k [Phi(-(a_k - a_{k-1})/2) + Phi(-(a_{k+1} - a_k)/2)]``
    (missing neighbours contribute 0). Derived in the chapter; the repository hard-codes a table instead.

    Parameters
    ----------
    n : int
        Feature dimension, ``1..1e5``.
    n_classes : int
        ``K`` in ``2..62``.
    signal : float
        Scale of the means, ``> 0``.

    Returns
    -------
    float
        Bayes error in ``[0, 1 - 1/K]``.

    Raises
    ------
    ValueError
        If an argument is out of range.

    Examples
    --------
    >>> round(mixture_bayes_error(2, 2), 4)     # Phi(-sqrt(6)/2)
    0.1103
    """
    n, K, signal = _check_mixture(n, n_classes, signal)
    d = (n // 2) / n + (n - n // 2)
    levels = np.sort(np.array([-1.0] + [2.0 ** (k - 1) for k in range(1, K)]))
    gaps = np.diff(levels) * signal * np.sqrt(d)  # distances between neighbouring centres
    tail = ndtr(-gaps / 2.0)
    return float(2.0 * np.sum(tail) / K)


def sample_mixture(n: int, n_classes: int, m: int, seed: SeedLike,
                   signal: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """Draw ``m`` balanced samples of the mixture of :func:`mixture_params`.

    Class ``k`` gets ``m // K`` samples, plus one for the first ``m % K`` classes; rows are ordered by
    class (the fits do not depend on the order).

    Parameters
    ----------
    n : int
        Feature dimension, ``1..1e5``.
    n_classes : int
        ``K`` in ``2..62``.
    m : int
        Number of samples, ``0..1e8 / n``.
    seed : int, SeedSequence or Generator
    signal : float
        Scale of the means, ``> 0``.

    Returns
    -------
    (X, y) : tuple of numpy.ndarray, shapes (m, n) and (m,)

    Raises
    ------
    ValueError
        If an argument is out of range or the sample would exceed 1e8 entries.

    Examples
    --------
    >>> X, y = sample_mixture(5, 3, 7, seed=0)
    >>> X.shape, y.tolist()
    ((7, 5), [0, 0, 0, 1, 1, 2, 2])
    """
    n, K, signal = _check_mixture(n, n_classes, signal)
    m = check_int(m, "m", low=0)
    check_size(m * n, "m * n")
    rng = as_generator(seed)
    means, variances = mixture_params(n, K, signal)
    counts = np.full(K, m // K)
    counts[: m % K] += 1
    y = np.repeat(np.arange(K), counts)
    X = means[y] + rng.standard_normal((m, n)) * np.sqrt(variances)
    return X, y


class LearningCurves(NamedTuple):
    """Test errors of naive Bayes and logistic regression over sample sizes and repeats."""

    m_grid: np.ndarray  #: (M,) training-set sizes
    nb_error: np.ndarray  #: (R, M) naive-Bayes test error per repeat and size
    lr_error: np.ndarray  #: (R, M) logistic-regression test error per repeat and size
    bayes_error: float  #: analytic Bayes error of the mixture
    lr_converged: float  #: fraction of logistic fits for which L-BFGS reported convergence


def learning_curves(n: int, n_classes: int, m_grid, repeats: int, test_size: int, seed: SeedLike,
                    signal: float = 1.0, C: float = 1.0, blas_threads: int | None = 1) -> LearningCurves:
    """Learning curves of pooled-variance naive Bayes and logistic regression on the mixture.

    For each repeat, one test set of ``test_size`` balanced points; for each ``m`` a fresh balanced
    training set of size ``m`` (the official script subsamples a fixed pool and redraws sets that miss
    a class; balanced fresh draws have the same role and never miss one). Logistic regression uses
    ``C`` (1 in the official script); both models are evaluated as linear classifiers.

    Parameters
    ----------
    n : int
        Feature dimension, ``1..1e5``.
    n_classes : int
        ``K`` in ``2..10`` (larger K puts class means beyond the logistic fit's feature range).
    m_grid : array_like of int
        Training sizes, each ``>= 2 K`` (two samples per class), at most 1e6.
    repeats : int
        ``1..1000``.
    test_size : int
        ``K..1e6``.
    seed : int, SeedSequence or Generator
    signal : float
        Scale of the class means (:func:`mixture_params`), in ``(0, 1e4]`` (features stay far below the
        logistic fit's limit of 1e8).
    C : float
        Inverse L2 penalty of the logistic regression, in ``[1e-12, 1e12]``.
    blas_threads : int or None
        BLAS threads during the fits, ``1..1024``, or None to leave the process setting alone. The many
        small L-BFGS fits run fastest single-threaded: on a shared 2-core machine a multithreaded BLAS made
        this function about ten times slower (measured on the chapter's grid). Applied with
        ``threadpoolctl`` (installed with scikit-learn); ignored when it is missing.

    Returns
    -------
    LearningCurves

    Raises
    ------
    ValueError
        If an argument is out of range or the work would exceed 1e8 sample entries.

    Examples
    --------
    >>> lc = learning_curves(4, 2, [4, 8], repeats=2, test_size=100, seed=0)
    >>> lc.nb_error.shape, 0.0 <= lc.bayes_error < 0.5
    ((2, 2), True)
    """
    n, K, signal = _check_mixture(n, n_classes, signal)
    K = check_int(K, "n_classes", low=2, high=10)
    signal = check_real(signal, "signal", low=0.0, low_open=True, high=1e4)
    grid = check_array(m_grid, "m_grid", ndim=1, dtype=np.int64, low=2 * K, high=10**6, min_size=1)
    repeats = check_int(repeats, "repeats", low=1, high=1000)
    test_size = check_int(test_size, "test_size", low=K, high=10**6)
    C = check_real(C, "C", low=1e-12, high=1e12)
    if blas_threads is not None:
        blas_threads = check_int(blas_threads, "blas_threads", low=1, high=1024)
    check_size(repeats * (int(grid.sum()) + test_size) * n, "repeats * (sum(m_grid) + test_size) * n")
    with _blas_limit(blas_threads):
        return _learning_curves(n, K, grid, repeats, test_size, as_generator(seed), signal, C)


@contextlib.contextmanager
def _blas_limit(threads):
    if threads is None:
        yield
        return
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - scikit-learn brings threadpoolctl
        yield
        return
    with threadpool_limits(limits=threads, user_api="blas"):
        yield


def _learning_curves(n, K, grid, repeats, test_size, rng, signal, C):
    nb = np.empty((repeats, grid.size))
    lr = np.empty((repeats, grid.size))
    converged = 0
    for r in range(repeats):
        Xt, yt = sample_mixture(n, K, test_size, rng, signal)
        for j, m in enumerate(grid):
            X, y = sample_mixture(n, K, int(m), rng, signal)
            W, b = nb_linear_form(fit_gaussian_nb(X, y, K))
            nb[r, j] = np.mean(linear_predict(W, b, Xt) != yt)
            fit = fit_logistic_regression(X, y, K, C=C, tol=1e-6)
            converged += fit.converged
            lr[r, j] = np.mean(linear_predict(fit.W, fit.b, Xt) != yt)
    return LearningCurves(grid, nb, lr, mixture_bayes_error(n, K, signal), converged / (repeats * grid.size))


def samples_to_reach(m_grid, errors, target: float) -> int | None:
    """Smallest ``m`` in ``m_grid`` whose error (averaged over repeats) is at most ``target``.

    Parameters
    ----------
    m_grid : array_like of int, shape (M,)
        Increasing sample sizes.
    errors : array_like, shape (M,) or (R, M)
        Errors in ``[0, 1]``; a 2-D array is averaged over its first axis.
    target : float
        Error level in ``[0, 1]``.

    Returns
    -------
    int or None
        ``m*``, or None when no grid point reaches the target (the value is censored by the grid).

    Raises
    ------
    ValueError
        If shapes disagree or the grid is not increasing.

    Examples
    --------
    >>> samples_to_reach([10, 20, 40], [0.3, 0.1, 0.04], 0.05)
    40
    >>> samples_to_reach([10, 20], [[0.3, 0.2], [0.1, 0.2]], 0.1) is None
    True
    """
    grid = check_array(m_grid, "m_grid", ndim=1, dtype=np.int64, low=0, min_size=1)
    err = check_array(errors, "errors", ndim=(1, 2), low=0.0, high=1.0)
    target = check_real(target, "target", low=0.0, high=1.0)
    if np.any(np.diff(grid) <= 0):
        raise ValueError("m_grid must be strictly increasing")
    mean = err.mean(axis=0) if err.ndim == 2 else err
    if err.ndim == 2 and err.shape[0] == 0:
        raise ValueError("errors must have at least one repeat (row)")
    if mean.shape[0] != grid.shape[0]:
        raise ValueError(f"errors must have {grid.shape[0]} columns (the length of m_grid), got {mean.shape[0]}")
    hit = np.flatnonzero(mean <= target)
    return int(grid[hit[0]]) if hit.size else None
