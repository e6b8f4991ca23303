"""Pooled-variance Gaussian naive Bayes and L2-penalised multinomial logistic regression.

Both are linear classifiers ``h(x) = argmax_k (W x + b)_k`` (the naive-Bayes one by the identity of
:prf:ref:`dvg-prop-linear`); they form the generative-discriminative pair compared in the chapter.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from scipy.optimize import minimize
from scipy.special import logsumexp

from .._validate import check_array, check_int, check_labels, check_real, check_same_length, check_size

__all__ = [
    "GaussianNBFit",
    "LogisticFit",
    "fit_gaussian_nb",
    "fit_logistic_regression",
    "linear_predict",
    "nb_decision_function",
    "nb_linear_form",
]

#: largest feature modulus accepted (squares and their sums over features stay far inside float64)
MAX_X_NB = 1e100
#: largest feature modulus accepted by the logistic fit (its curvature scales like x^2; L-BFGS's line
#: search in float64 is only reliable well inside 1e8)
MAX_X_LR = 1e8
#: largest number of classes
MAX_CLASSES = 10_000


class GaussianNBFit(NamedTuple):
    """Parameters of a pooled-variance Gaussian naive Bayes model."""

    priors: np.ndarray  #: (K,) class frequencies pi_k
    means: np.ndarray  #: (K, n) class means mu_{k,i}
    variances: np.ndarray  #: (n,) pooled variances sigma_i^2 (+ var_smoothing)


class LogisticFit(NamedTuple):
    """An L2-penalised multinomial logistic regression fit."""

    W: np.ndarray  #: (K, n) weights
    b: np.ndarray  #: (K,) intercepts, centred to sum 0
    objective: float  #: C * sum of the cross-entropies + ||W||^2 / 2 at the solution
    n_iter: int  #: L-BFGS iterations
    converged: bool  #: whether L-BFGS reported convergence


def _xy(X, y, n_classes, max_abs):
    K = check_int(n_classes, "n_classes", low=2, high=MAX_CLASSES)
    X = check_array(X, "X", ndim=2, max_abs=max_abs)
    y = check_labels(check_array(y, "y", ndim=1, dtype=np.float64), "y", K)
    check_same_length(("X", X), ("y", y))
    if X.shape[1] < 1:
        raise ValueError(f"X must have at least one feature column, got shape {X.shape}")
    counts = np.bincount(y, minlength=K)
    if np.any(counts == 0):
        missing = np.flatnonzero(counts == 0).tolist()
        raise ValueError(f"y must contain every class 0..{K - 1} at least once; missing {missing}")
    check_size(K * X.shape[1] + X.size, "n_classes * n + m * n")
    return X, y, K, counts


def fit_gaussian_nb(X, y, n_classes: int, var_smoothing: float = 1e-9) -> GaussianNBFit:
    """Fit Gaussian naive Bayes with one variance per feature shared by all classes.

    Maximum likelihood per class and feature: ``pi_k`` = class frequency, ``mu_{k,i}`` = class mean,
    and the pooled variance ``sigma_i^2 = sum_k pi_k Var_k(x_i) + var_smoothing`` (eq. :eq:`dvg-nb`;
    the estimator of the official code ``models/gaussnb.py`` as described in the paper notes, with its
    absolute smoothing 1e-9; scikit-learn's ``GaussianNB`` instead keeps one variance per class and
    smooths by ``1e-9 * max_i Var(x_i)``).

    Parameters
    ----------
    X : array_like, shape (m, n)
        Features, finite, modulus at most ``1e100``.
    y : array_like, shape (m,)
        Integer labels in ``0..n_classes-1``; every class must occur.
    n_classes : int
        ``K >= 2``.
    var_smoothing : float
        Added to every pooled variance, ``> 0`` (keeps a constant feature from dividing by zero).

    Returns
    -------
    GaussianNBFit

    Raises
    ------
    ValueError
        If a class is missing, shapes disagree or values are out of range.
    TypeError
        If ``y`` is not integer-valued.

    Examples
    --------
    >>> import numpy as np
    >>> fit = fit_gaussian_nb(np.array([[0.0], [2.0], [4.0], [6.0]]), np.array([0, 0, 1, 1]), 2)
    >>> fit.means.ravel().tolist(), float(fit.variances[0])
    ([1.0, 5.0], 1.000000001)
    """
    X, y, K, counts = _xy(X, y, n_classes, MAX_X_NB)
    eps = check_real(var_smoothing, "var_smoothing", low=0.0, low_open=True, high=1e100)
    m = X.shape[0]
    onehot = np.zeros((m, K))
    onehot[np.arange(m), y] = 1.0
    means = (onehot.T @ X) / counts[:, None]
    resid = X - means[y]
    variances = np.mean(resid * resid, axis=0) + eps  # sum_k pi_k Var_k = mean of squared residuals
    return GaussianNBFit(priors=counts / m, means=means, variances=variances)


def _check_nb_fit(fit) -> GaussianNBFit:
    if not isinstance(fit, GaussianNBFit):
        raise TypeError(f"fit must be a GaussianNBFit (from fit_gaussian_nb), got {type(fit).__name__}")
    return fit


def nb_decision_function(fit: GaussianNBFit, X) -> np.ndarray:
    """Naive-Bayes log joint ``log pi_k - sum_i (x_i - mu_{k,i})^2 / (2 sigma_i^2)`` (eq. :eq:`dvg-nb`).

    The class-independent normaliser ``-sum_i log(2 pi sigma_i^2)/2`` is omitted (it does not change
    the argmax or any difference between classes).

    Parameters
    ----------
    fit : GaussianNBFit
    X : array_like, shape (m, n)
        Features, modulus at most ``1e100``.

    Returns
    -------
    numpy.ndarray, shape (m, K)

    Raises
    ------
    ValueError
        If ``X`` has the wrong number of columns.

    Examples
    --------
    >>> import numpy as np
    >>> fit = fit_gaussian_nb(np.array([[0.0], [2.0], [4.0], [6.0]]), np.array([0, 0, 1, 1]), 2)
    >>> nb_decision_function(fit, np.array([[1.0]])).argmax(axis=1).tolist()
    [0]
    """
    fit = _check_nb_fit(fit)
    X = check_array(X, "X", ndim=2, max_abs=MAX_X_NB)
    if X.shape[1] != fit.means.shape[1]:
        raise ValueError(f"X must have {fit.means.shape[1]} columns (the fit's n), got {X.shape[1]}")
    check_size(X.shape[0] * fit.means.size, "m * K * n")
    # the definition itself (not the linear form, which the tests compare against it)
    diff = X[:, None, :] - fit.means[None, :, :]
    return np.log(fit.priors)[None, :] - 0.5 * np.sum(diff * diff / fit.variances, axis=2)


def nb_linear_form(fit: GaussianNBFit) -> tuple[np.ndarray, np.ndarray]:
    """Weights and intercepts of naive Bayes as a linear classifier (:prf:ref:`dvg-prop-linear`).

    ``w_{k,i} = mu_{k,i} / sigma_i^2`` and ``b_k = log pi_k - sum_i mu_{k,i}^2 / (2 sigma_i^2)``: the
    log joint minus the class-independent term ``-sum_i x_i^2 / (2 sigma_i^2)``.

    Parameters
    ----------
    fit : GaussianNBFit

    Returns
    -------
    (W, b) : tuple of numpy.ndarray, shapes (K, n) and (K,)

    Raises
    ------
    TypeError
        If ``fit`` is not a :class:`GaussianNBFit`.

    Examples
    --------
    >>> import numpy as np
    >>> fit = fit_gaussian_nb(np.array([[0.0], [2.0], [4.0], [6.0]]), np.array([0, 0, 1, 1]), 2)
    >>> W, b = nb_linear_form(fit)
    >>> np.round(W.ravel(), 6).tolist()
    [1.0, 5.0]
    """
    fit = _check_nb_fit(fit)
    W = fit.means / fit.variances[None, :]
    b = np.log(fit.priors) - 0.5 * np.sum(fit.means * W, axis=1)
    return W, b


def linear_predict(W, b, X) -> np.ndarray:
    """Predictions ``argmax_k (W x + b)_k`` of a linear classifier (ties go to the smallest k).

    Parameters
    ----------
    W : array_like, shape (K, n)
    b : array_like, shape (K,)
    X : array_like, shape (m, n)

    Returns
    -------
    numpy.ndarray of int64, shape (m,)

    Raises
    ------
    ValueError
        If shapes disagree or values are not finite.

    Examples
    --------
    >>> import numpy as np
    >>> linear_predict(np.array([[1.0], [-1.0]]), np.zeros(2), np.array([[2.0], [-3.0]])).tolist()
    [0, 1]
    """
    W = check_array(W, "W", ndim=2)
    b = check_array(b, "b", ndim=1)
    X = check_array(X, "X", ndim=2)
    if b.shape[0] != W.shape[0]:
        raise ValueError(f"b must have {W.shape[0]} entries (rows of W), got {b.shape[0]}")
    if X.shape[1] != W.shape[1]:
        raise ValueError(f"X must have {W.shape[1]} columns (columns of W), got {X.shape[1]}")
    if W.shape[0] < 1:
        raise ValueError("W must have at least one row (class)")
    check_size(X.shape[0] * W.size, "m * K * n")
    # scale each row so that products cannot overflow, then compare
    with np.errstate(over="ignore", invalid="ignore"):
        s = max(float(np.max(np.abs(W), initial=0.0)), float(np.max(np.abs(b), initial=0.0)), 1e-300)
        t = max(float(np.max(np.abs(X), initial=0.0)), 1.0)
        scores = (X / t) @ (W / s).T + (b / s) / t
    return np.argmax(scores, axis=1).astype(np.int64)


def _lr_objective(theta, X, Y, K, n, lam):
    W = theta[: K * n].reshape(K, n)
    b = theta[K * n:]
    Z = X @ W.T + b
    lse = logsumexp(Z, axis=1)
    m = X.shape[0]
    f = (np.sum(lse) - np.sum(Z * Y)) / m + 0.5 * lam * np.sum(W * W)
    P = np.exp(Z - lse[:, None])
    G = (P - Y) / m
    gW = G.T @ X + lam * W
    gb = G.sum(axis=0)
    return f, np.concatenate([gW.ravel(), gb])


def fit_logistic_regression(X, y, n_classes: int, C: float = 1.0, max_iter: int = 1000,
                            tol: float = 1e-8) -> LogisticFit:
    """Multinomial logistic regression: minimise ``C sum_j ell_log(W x_j + b, y_j) + ||W||_F^2 / 2``.

    This is scikit-learn's ``LogisticRegression(C=C, solver='lbfgs')`` objective (unpenalised
    intercept), the discriminative partner of eq. :eq:`dvg-lr`. Solved by SciPy's L-BFGS-B from zero
    on the objective divided by ``C m`` (same minimiser, better scaled) with the analytic gradient;
    log-sum-exp keeps large logits finite. The intercepts are centred to sum 0 (the softmax is
    invariant to a common shift, and the gradient of every intercept sums to 0 anyway).

    Parameters
    ----------
    X : array_like, shape (m, n)
        Features, modulus at most ``1e8``.
    y : array_like, shape (m,)
        Labels in ``0..n_classes-1``; every class must occur.
    n_classes : int
        ``K >= 2``.
    C : float
        Inverse penalty strength, in ``[1e-12, 1e12]``.
    max_iter : int
        L-BFGS iteration limit, ``1..100000``.
    tol : float
        Projected-gradient tolerance of L-BFGS on the scaled objective, in ``[0, 1)``.

    Returns
    -------
    LogisticFit

    Raises
    ------
    ValueError
        If a class is missing, shapes disagree or values are out of range.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.array([[-2.0], [-1.0], [1.0], [2.0]]); y = np.array([0, 0, 1, 1])
    >>> fit = fit_logistic_regression(X, y, 2, C=1.0)
    >>> linear_predict(fit.W, fit.b, X).tolist(), bool(fit.converged)
    ([0, 0, 1, 1], True)
    """
    X, y, K, _ = _xy(X, y, n_classes, MAX_X_LR)
    C = check_real(C, "C", low=1e-12, high=1e12)
    max_iter = check_int(max_iter, "max_iter", low=1, high=100_000)
    tol = check_real(tol, "tol", low=0.0, high=1.0, high_open=True)
    m, n = X.shape
    Y = np.zeros((m, K))
    Y[np.arange(m), y] = 1.0
    lam = 1.0 / (C * m)
    res = minimize(_lr_objective, np.zeros(K * (n + 1)), args=(X, Y, K, n, lam), jac=True, method="L-BFGS-B",
                   options={"maxiter": max_iter, "gtol": tol, "ftol": 0.0 if tol == 0 else tol * 1e-3})
    W = res.x[: K * n].reshape(K, n).copy()
    b = res.x[K * n:] - res.x[K * n:].mean()
    if not (np.all(np.isfinite(W)) and np.all(np.isfinite(b))):  # pragma: no cover - guarded by MAX_X_LR
        raise ValueError("the logistic fit diverged; rescale X (modulus well below 1e8)")
    return LogisticFit(W=W, b=b, objective=float(res.fun) * C * m, n_iter=int(res.nit), converged=bool(res.success))
