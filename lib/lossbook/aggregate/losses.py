"""Bag-level and instance-level square losses for aggregate responses, and the interpolating fit.

Chapter ``book/feedback/aggregate-responses``. The learner sees features ``x_i`` and, for each bag
``a``, only the mean response ``ybar_a``. The two losses of :eq:`agg-losses` and the within-bag
penalty of :eq:`agg-penalty` satisfy ``instance = bag + penalty`` exactly (:prf:ref:`agg-thm-identity`).
Bags may have different sizes; the bag loss weights bag ``a`` by its size ``k_a`` (for equal sizes this
is the plain mean over bags of :eq:`agg-losses`).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .._validate import ENGINES, check_array, check_choice, check_real

__all__ = ["bag_loss", "bag_means", "fit_interpolating", "instance_loss", "within_bag_penalty"]


@njit(cache=True)
def _bag_sums_numba(X, y, bags, m):
    """Per-bag sums of the rows of ``X``, of ``y`` and the bag sizes (one pass over the instances)."""
    n, d = X.shape
    Sx = np.zeros((m, d))
    Sy = np.zeros(m)
    cnt = np.zeros(m)
    for i in range(n):
        a = bags[i]
        cnt[a] += 1.0
        Sy[a] += y[i]
        for j in range(d):
            Sx[a, j] += X[i, j]
    return Sx, Sy, cnt


def _bag_sums_numpy(X, y, bags, m):
    """Reference for :func:`_bag_sums_numba` (unbuffered ``np.add.at``)."""
    Sx = np.zeros((m, X.shape[1]))
    np.add.at(Sx, bags, X)
    Sy = np.bincount(bags, weights=y, minlength=m).astype(float)
    cnt = np.bincount(bags, minlength=m).astype(float)
    return Sx, Sy, cnt


def _check_bags(bags, n: int) -> tuple[np.ndarray, int]:
    arr = np.asarray(bags)
    if arr.dtype.kind not in "iu":
        raise TypeError(f"bags must hold integer bag indices, got dtype={arr.dtype}")
    if arr.ndim != 1 or arr.shape[0] != n:
        raise ValueError(f"bags must be a 1-d array of length n = {n} (one index per row of X), got shape {arr.shape}")
    if n == 0:
        raise ValueError("X must have at least one row")
    if arr.min() < 0:
        raise ValueError(f"bags must be non-negative bag indices, smallest is {int(arr.min())}")
    arr = arr.astype(np.int64)
    m = int(arr.max()) + 1
    if np.unique(arr).size != m:
        raise ValueError(f"bags must use every index 0..{m - 1} (a bag without instances has no mean)")
    return arr, m


def _prepare(X, bags, y=None, *, y_name="y"):
    X = check_array(X, "X", ndim=2, min_size=1)
    bags, m = _check_bags(bags, X.shape[0])
    if y is None:
        y = np.zeros(X.shape[0])
    else:
        y = check_array(y, y_name, ndim=1)
    return X, bags, m, y


def bag_means(X, y, bags, *, engine="numba"):
    """Per-bag means of the features and the responses, and the bag sizes.

    Parameters
    ----------
    X : array_like, shape (n, d)
        Features, finite.
    y : array_like, shape (n,)
        Instance responses (hidden from the learner in the aggregate setting; the bag means are what it sees).
    bags : array_like of int, shape (n,)
        Bag index of every instance, using every value in ``0..m-1``.
    engine : {"numba", "numpy"}
        Numba kernel (one pass) or its NumPy reference (``np.add.at``); they agree to rounding (test).

    Returns
    -------
    (ndarray (m, d), ndarray (m,), ndarray (m,))
        ``xbar``, ``ybar`` and the bag sizes ``k_a`` (float).

    Raises
    ------
    ValueError, TypeError
        On non-finite or mis-shaped input, or bag indices that skip a value.

    Examples
    --------
    >>> xbar, ybar, size = bag_means([[1.0], [3.0], [5.0]], [1.0, 2.0, 6.0], [0, 0, 1])
    >>> xbar.ravel().tolist(), ybar.tolist(), size.tolist()
    ([2.0, 5.0], [1.5, 6.0], [2.0, 1.0])
    """
    y = check_array(y, "y", ndim=1)
    Xc = check_array(X, "X", ndim=2)
    if y.shape[0] != Xc.shape[0]:
        raise ValueError(f"y must have one entry per row of X ({Xc.shape[0]}), got {y.shape[0]}")
    X, bags, m, _ = _prepare(X, bags)
    engine = check_choice(engine, "engine", ENGINES)
    kern = _bag_sums_numba if engine == "numba" else _bag_sums_numpy
    Sx, Sy, cnt = kern(np.ascontiguousarray(X), y, bags, m)
    return Sx / cnt[:, None], Sy / cnt, cnt


def _bag_stats(X, bags, bag_response):
    X, bags, m, _ = _prepare(X, bags)
    ybar = check_array(bag_response, "bag_response", ndim=1)
    if ybar.shape[0] != m:
        raise ValueError(f"bag_response must have one entry per bag (m = {m}), got {ybar.shape[0]}")
    Sx, _, cnt = _bag_sums_numpy(X, np.zeros(X.shape[0]), bags, m)
    return X, bags, ybar, Sx / cnt[:, None], cnt


def _theta(theta, d: int) -> np.ndarray:
    theta = check_array(theta, "theta", ndim=1)
    if theta.shape[0] != d:
        raise ValueError(f"theta must have d = {d} entries (one per column of X), got {theta.shape[0]}")
    return theta


def _mean_square(r: np.ndarray, w, n: int) -> float:
    """``sum(w r^2) / n`` scaled by ``max |r|`` (no overflow of r^2 where the result fits); ``inf`` only when the
    true value exceeds the float range."""
    if r.size == 0:
        return 0.0
    if not np.all(np.isfinite(r)):
        return float("inf")
    top = float(np.max(np.abs(r)))
    if top == 0.0:
        return 0.0
    q = r / top
    inner = float(np.sum(q * q) if w is None else np.sum(w * q * q)) / n
    with np.errstate(over="ignore"):
        return float(top * (top * inner))


def bag_loss(theta, X, bag_response, bags) -> float:
    """Bag-level square loss :eq:`agg-losses`, ``(1/n) sum_a k_a (ybar_a - xbar_a^T theta)^2``.

    For equal bag sizes this is ``(1/m) sum_a (ybar_a - xbar_a^T theta)^2``.

    Parameters
    ----------
    theta : array_like, shape (d,)
    X : array_like, shape (n, d)
    bag_response : array_like, shape (m,)
        The observed bag means ``ybar_a``.
    bags : array_like of int, shape (n,)

    Returns
    -------
    float
        ``inf`` only when the true value exceeds the float range.

    Raises
    ------
    ValueError, TypeError
        On mis-shaped or non-finite input.

    Examples
    --------
    >>> bag_loss([1.0], [[1.0], [3.0]], [1.0], [0, 0])   # xbar = 2, ybar = 1: k (1 - 2)^2 / n = 1
    1.0
    """
    X, _, ybar, xbar, cnt = _bag_stats(X, bags, bag_response)
    theta = _theta(theta, X.shape[1])
    with np.errstate(over="ignore", invalid="ignore"):
        r = ybar - xbar @ theta
    return _mean_square(r, cnt, X.shape[0])


def instance_loss(theta, X, bag_response, bags) -> float:
    """Instance-level square loss :eq:`agg-losses`, ``(1/n) sum_i (ybar_{a(i)} - x_i^T theta)^2``.

    Every instance is paired with its bag's mean response.

    Parameters
    ----------
    theta : array_like, shape (d,)
    X : array_like, shape (n, d)
    bag_response : array_like, shape (m,)
    bags : array_like of int, shape (n,)

    Returns
    -------
    float
        ``inf`` only when the true value exceeds the float range.

    Raises
    ------
    ValueError, TypeError
        On mis-shaped or non-finite input.

    Examples
    --------
    >>> instance_loss([1.0], [[1.0], [3.0]], [1.0], [0, 0])   # ((1-1)^2 + (1-3)^2)/2
    2.0
    """
    X, bags, ybar, _, _ = _bag_stats(X, bags, bag_response)
    theta = _theta(theta, X.shape[1])
    with np.errstate(over="ignore", invalid="ignore"):
        r = ybar[bags] - X @ theta
    return _mean_square(r, None, r.shape[0])


def within_bag_penalty(theta, X, bags) -> float:
    """Within-bag penalty :eq:`agg-penalty`, ``(1/n) sum_i ((x_i - xbar_{a(i)})^T theta)^2``.

    The data-dependent ridge that the instance loss adds to the bag loss (:prf:ref:`agg-thm-identity`).

    Parameters
    ----------
    theta : array_like, shape (d,)
    X : array_like, shape (n, d)
    bags : array_like of int, shape (n,)

    Returns
    -------
    float
        ``inf`` only when the true value exceeds the float range.

    Raises
    ------
    ValueError, TypeError
        On mis-shaped or non-finite input.

    Examples
    --------
    >>> within_bag_penalty([1.0], [[1.0], [3.0]], [0, 0])     # deviations -1, +1
    1.0
    """
    X, bags, m, _ = _prepare(X, bags)
    theta = _theta(theta, X.shape[1])
    Sx, _, cnt = _bag_sums_numpy(X, np.zeros(X.shape[0]), bags, m)
    with np.errstate(over="ignore", invalid="ignore"):
        r = (X - (Sx / cnt[:, None])[bags]) @ theta
    return _mean_square(r, None, r.shape[0])


def fit_interpolating(X, bag_response, bags, rho) -> np.ndarray:
    """Minimiser of ``bag_loss + rho * within_bag_penalty`` (eq. :eq:`agg-estimator`).

    ``rho = 0`` is the bag-level estimator, ``rho = 1`` the instance-level one (by
    :prf:ref:`agg-thm-identity`). Solved as one least-squares problem on the stacked rows
    ``sqrt(k_a) xbar_a`` (targets ``sqrt(k_a) ybar_a``) and ``sqrt(rho) (x_i - xbar_{a(i)})``
    (targets 0), i.e. :eq:`agg-reduced` without forming normal equations; when the stacked matrix is
    rank deficient (``rho = 0`` with fewer bags than features) the minimum-norm solution is returned.

    Parameters
    ----------
    X : array_like, shape (n, d)
    bag_response : array_like, shape (m,)
        Observed bag means.
    bags : array_like of int, shape (n,)
    rho : float
        Weight of the within-bag penalty, ``0 <= rho <= 1`` (larger values are allowed by the
        algebra but have no aggregate-learning meaning and are refused).

    Returns
    -------
    ndarray, shape (d,)

    Raises
    ------
    ValueError, TypeError
        On mis-shaped or non-finite input or ``rho`` outside ``[0, 1]``.

    Examples
    --------
    >>> X = [[1.0], [3.0], [2.0], [2.0]]
    >>> fit_interpolating(X, [4.0, 4.0], [0, 0, 1, 1], 0.0).round(12).tolist()   # xbar = 2 in both bags
    [2.0]
    """
    X, bags, ybar, xbar, cnt = _bag_stats(X, bags, bag_response)
    rho = check_real(rho, "rho", low=0.0, high=1.0)
    w = np.sqrt(cnt)
    A = w[:, None] * xbar
    b = w * ybar
    if rho > 0.0:
        A = np.vstack([A, np.sqrt(rho) * (X - xbar[bags])])
        b = np.concatenate([b, np.zeros(X.shape[0])])
    return np.linalg.lstsq(A, b, rcond=None)[0]
