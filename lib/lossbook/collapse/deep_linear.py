"""Exact minimisers of deep linear networks on unconstrained features (MSE), and a generic solver.

The model (chapter ``book/collapse/nc-deep-linear``, equation :eq:`ncd-mse`): ``K`` classes with
counts ``n_k`` (``N = sum n_k``), unconstrained features ``H`` (``d x N``), a linear head
``W = W_M ... W_1`` of depth ``M`` and an optional unregularised last-layer bias ``b``,

    f = 1/(2N) ||W H + b 1^T - Y||_F^2 + sum_m lam_m/2 ||W_m||_F^2 + lam_h/2 ||H||_F^2 .

:func:`deep_linear_minimizer` gives the global minimiser in closed form (derived in the chapter,
theorem :prf:ref:`ncd-thm-gof`): the problem decouples into one scalar problem per class (per
eigen-direction of the centred label Gram matrix with a bias),

    psi_k(x) = n_k / (x^M + 1) + b_M x,   b_M = M N (N lam_h prod_m lam_m)^(1/M),   x >= 0,

with product singular values ``P_k^2 = N lam_h x_k^M``. :func:`fit_deep_linear` minimises the
full non-convex objective (MSE or cross-entropy) with SciPy's L-BFGS around a Numba
value-and-gradient kernel, so the closed form can be checked against a generic optimiser.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
from scipy.optimize import brentq, minimize, minimize_scalar

from .._rng import SeedLike, as_generator
from .._validate import ENGINES, check_array, check_choice, check_int, check_real
from ._deep_linear_kernels import (
    LOSS_CODES,
    _value_and_grad_numba,
    _value_and_grad_numpy,
    n_params,
    pack,
    unpack,
)

__all__ = [
    "DeepLinearCEETF",
    "DeepLinearFit",
    "DeepLinearMinimizer",
    "DeepLinearPoint",
    "construct_deep_linear_minimizer",
    "deep_linear_ce_etf",
    "deep_linear_minimizer",
    "deep_linear_objective",
    "deep_linear_thresholds",
    "fit_deep_linear",
    "momentum_gd_deep_linear",
    "deep_linear_decays_from_ufm",
    "ufm_decays_from_deep_linear",
]


class DeepLinearMinimizer(NamedTuple):
    """Closed-form global minimiser of the deep-linear MSE problem (see :func:`deep_linear_minimizer`)."""

    x: np.ndarray
    """Per-direction scalar solutions ``x_k >= 0`` of ``min psi_k`` (shape ``(K,)``)."""
    product_sq_singular_values: np.ndarray
    """``P_k^2 = N lam_h x_k^M``: squared singular values of ``W = W_M ... W_1`` (shape ``(K,)``)."""
    class_mean_norms: np.ndarray
    """``||hbar_k||``: norms of the class means of the features ``H`` (shape ``(K,)``)."""
    layer_singular_values: np.ndarray
    """``s[m, k]``: singular values of ``W_{m+1}`` in direction ``k`` (shape ``(M, K)``)."""
    layer_class_mean_norms: np.ndarray
    """Norms of the class means entering layer ``m + 1`` (row 0 is ``H`` itself; shape ``(M, K)``)."""
    objective: float
    """Optimal value ``f* = sum_k psi_k(x_k) / (2N)``."""
    collapsed: np.ndarray
    """Boolean mask: direction ``k`` has ``P_k = 0`` (minority collapse)."""
    directions: np.ndarray
    """``U`` (``K x K``): column ``k`` is the left singular vector of ``W`` for entry ``k``.
    The identity without bias; the eigenvectors of ``diag(n) - n n^T / N`` with bias."""
    bias: np.ndarray
    """Optimal last-layer bias (zeros when ``bias=False``)."""
    b_constant: float
    """``b_M = M N (N lam_h prod lam_m)^(1/M)``."""
    effective_counts: np.ndarray
    """``n_k`` (no bias) or the eigenvalues of ``diag(n) - n n^T / N`` (bias): the weights in ``psi``."""


class DeepLinearPoint(NamedTuple):
    """Explicit parameters ``(weights, H, bias)`` of a deep linear network."""

    weights: list
    """``[W_1, ..., W_M]``; ``W_m`` is ``d x d`` for ``m < M`` and ``W_M`` is ``K x d``."""
    features: np.ndarray
    """``H`` (``d x N``), columns ordered by class."""
    bias: np.ndarray
    """Last-layer bias (``K``)."""
    labels: np.ndarray
    """Class of each column of ``H``."""


class DeepLinearFit(NamedTuple):
    """Result of :func:`fit_deep_linear`."""

    weights: list
    """``[W_1, ..., W_M]`` at the solution."""
    features: np.ndarray
    """``H`` (``d x N``) at the solution."""
    bias: np.ndarray
    """Last-layer bias (zeros when ``bias=False``)."""
    labels: np.ndarray
    """Class of each column of ``H``."""
    objective: float
    """Objective value at the solution."""
    grad_norm: float
    """Euclidean norm of the gradient at the solution."""
    n_iter: int
    """L-BFGS iterations."""
    converged: bool
    """SciPy's success flag."""
    history: np.ndarray
    """Objective after each L-BFGS iteration (the first entry is the initial value)."""


class DeepLinearCEETF(NamedTuple):
    """Best simplex-ETF point of the deep-linear cross-entropy problem (see :func:`deep_linear_ce_etf`)."""

    t: float
    """Common value ``lam_m s_m^2 = n lam_h a^2`` at the optimum."""
    product_singular_value: float
    """``P``: the ``K - 1`` non-zero singular values of ``W``."""
    class_mean_scale: float
    """``a``: class means are ``a`` times the columns of an orthonormal simplex frame."""
    objective: float
    """Optimal value of the ETF-restricted objective."""


# --------------------------------------------------------------------------------------------
# argument handling


def _check_counts(counts) -> np.ndarray:
    arr = check_array(counts, "counts", ndim=1, min_size=2)
    if np.any(arr != np.round(arr)):
        raise ValueError("counts must hold integer class sizes")
    if np.any(arr <= 0):
        raise ValueError(f"counts entries must lie in [1, inf); smallest is {arr.min()!r}")
    return arr


def _check_lams(lam_w, depth: int) -> np.ndarray:
    if np.ndim(lam_w) == 0:
        lam = check_real(lam_w, "lam_w", low=0.0, low_open=True)
        return np.full(depth, lam)
    arr = check_array(lam_w, "lam_w", ndim=1, low=0.0, low_open=True)
    if arr.size != depth:
        raise ValueError(f"lam_w must be a scalar or have depth={depth} entries, got {arr.size}")
    return arr.astype(np.float64)


def deep_linear_thresholds(depth: int) -> tuple[float, float]:
    """Global-optimality and root-existence thresholds ``(tau_M, rho_M)`` for ``b / n``.

    For ``r = b_M / n_k`` the scalar problem ``min_{x >= 0} psi(x)`` has its minimiser at ``x = 0``
    (the class collapses) iff ``r > tau_M``, ``tau_M = (M - 1)^((M-1)/M) / M`` (``tau_1 = 1``);
    a positive stationary point exists iff ``r <= rho_M = M phi(x_p)`` with
    ``phi(x) = x^(M-1) / (x^M + 1)^2`` and ``x_p^M = (M - 1)/(M + 1)`` (``rho_1 = 1``).
    For ``M >= 2``, ``tau_M < rho_M``: in the window ``[tau_M, rho_M)`` the largest stationary
    root is only a local minimiser (chapter, theorem :prf:ref:`ncd-thm-scalar`).

    Parameters
    ----------
    depth : int
        Number of linear layers ``M >= 1``.

    Returns
    -------
    tuple of float
        ``(tau_M, rho_M)``, computed in logarithms; ``rho_M ~ M/4`` is ``inf`` only for depths beyond
        the float range.

    Examples
    --------
    >>> tau, rho = deep_linear_thresholds(2)
    >>> round(tau, 6), round(rho, 6)
    (0.5, 0.649519)
    """
    m = check_int(depth, "depth", low=1)
    if m == 1:
        return 1.0, 1.0
    # in logarithms (math.log accepts integers of any size): tau = exp(((M-1)/M) log(M-1) - log M),
    # log xp = log1p(-2/(M+1))/M, rho = M xp^(M-1)/(xp^M + 1)^2
    lm, lm1 = math.log(m), math.log(m - 1)
    frac = (m - 1) / m  # exact integer division: fine for integers beyond the float range
    tau = math.exp(frac * lm1 - lm)
    log_xpm = math.log1p(-2 / (m + 1))  # log xp^M
    log_rho = lm + frac * log_xpm - 2.0 * math.log1p(math.exp(log_xpm))
    rho = math.exp(log_rho) if log_rho < 709.0 else math.inf  # rho ~ M/4
    return float(tau), float(rho)


def _psi(x, n, b, m):
    return n / (x**m + 1.0) + b * x


def _largest_log_root(log_r: float, m: int) -> float:
    """``log x`` of the largest positive root of ``r = M x^(M-1) / (x^M + 1)^2``, or ``nan`` if none.

    Solved for ``u = log x`` from ``log r`` so that no power of ``x`` or ratio ``b/n`` is ever formed:
    extreme decays or counts (``r`` from ``1e-600`` to ``1e600``) neither overflow nor lose the root.
    """
    if m == 1:  # r = 1/(x+1)^2: x = r^(-1/2) - 1 = r^(-1/2) (1 - r^(1/2))
        if log_r >= 0.0:
            return float("nan")
        return float(-0.5 * log_r + np.log(-np.expm1(0.5 * log_r)))
    log_m = np.log(m)

    def g(u):
        return log_m + (m - 1) * u - 2.0 * np.logaddexp(0.0, m * u) - log_r

    u_p = np.log((m - 1) / (m + 1)) / m  # the maximum of the right-hand side
    if g(u_p) < 0:
        return float("nan")
    # for large u, g ~ log M - (M + 1) u - log r: the root lies below that crossing plus a margin
    hi = max(u_p + 1.0, (log_m - log_r) / (m + 1) + 1.0)
    for _ in range(200):  # bounded: hi grows by at least 1 each time and g is decreasing
        if g(hi) < 0:
            break
        hi += max(1.0, abs(hi))
    return float(brentq(g, u_p, hi, xtol=1e-15, rtol=4 * np.finfo(float).eps, maxiter=500))


def _solve_log_x(log_r: float, m: int, root_rule: str) -> float:
    """``log`` of the minimiser of ``psi/n = 1/(x^M+1) + r x`` over ``x >= 0`` (``-inf`` for ``x = 0``)."""
    u = _largest_log_root(log_r, m)
    if np.isnan(u):
        return -np.inf
    if root_rule == "largest_root":
        return u
    # psi(root) < psi(0) = n  <=>  1/(x^M + 1) + r x < 1
    return u if np.exp(-np.logaddexp(0.0, m * u)) + np.exp(log_r + u) < 1.0 else -np.inf


def _largest_root(n: float, b: float, m: int) -> float:
    """Largest positive root of ``b/n = M x^(M-1) / (x^M + 1)^2`` or ``nan`` if there is none."""
    return float(np.exp(_largest_log_root(np.log(b) - np.log(n), m)))


def _solve_x(n: float, b: float, m: int, root_rule: str) -> float:
    """Minimiser of ``psi`` over ``x >= 0`` (``root_rule="global"``) or the largest root."""
    if n <= 0:
        return 0.0
    return float(np.exp(_solve_log_x(np.log(b) - np.log(n), m, root_rule)))


def deep_linear_minimizer(
    counts: Sequence[int] | np.ndarray,
    depth: int,
    lam_w: float | Sequence[float],
    lam_h: float,
    bias: bool = False,
    *,
    root_rule: str = "global",
) -> DeepLinearMinimizer:
    r"""Closed-form global minimiser of the regularised deep-linear MSE problem.

    Implements the chapter's theorem :prf:ref:`ncd-thm-gof` (the "general orthogonal frame"; balanced
    counts give an orthogonal frame without bias and a simplex ETF with bias). Each class
    (each eigen-direction of :math:`C = \operatorname{diag}(n) - nn^\top/N` with a bias) solves
    :math:`\min_{x\ge0}\psi_k(x) = n_k/(x^M+1) + b_M x` (equation :eq:`ncd-psi`), and

    .. math::

        P_k^2 = N\lambda_H x_k^M,\quad
        \|\bar h_k\|^2 = \frac{P_k^2}{(P_k^2+N\lambda_H)^2}\ (\text{no bias}),\quad
        s_{m,k}^2 = \frac{t_k}{\lambda_{W_m}},\ t_k = \big(P_k^2\textstyle\prod_m\lambda_{W_m}\big)^{1/M}.

    Parameters
    ----------
    counts : array_like of int, shape (K,)
        Class sizes ``n_k >= 1``, ``K >= 2``.
    depth : int
        Number of linear layers ``M >= 1``.
    lam_w : float or array_like, shape (M,)
        Weight decay of each layer (``> 0``); a scalar applies to every layer.
    lam_h : float
        Weight decay of the features (``> 0``).
    bias : bool
        Add an unregularised last-layer bias.
    root_rule : {"global", "largest_root"}
        ``"global"`` compares the largest stationary root of ``psi`` with ``x = 0`` and keeps the
        smaller value (the true minimiser). ``"largest_root"`` returns the largest root whenever
        one exists, as the authors' official script does; in the window
        ``tau_M <= b/n < rho_M`` (``M >= 2``) that point is not the global minimiser.

    Returns
    -------
    DeepLinearMinimizer
        Computed in logarithms (the scalar problems are solved for ``log x`` from ``log(b_M/n_k)``), so
        decays from ``5e-324`` to ``1e308`` and counts up to ``1e300`` give finite singular values,
        norms and objective; only ``x`` and ``b_constant`` are ``inf`` where their true values exceed
        the float range.

    Examples
    --------
    >>> sol = deep_linear_minimizer([200, 100, 50, 50], depth=1, lam_w=5e-4, lam_h=5e-4)
    >>> np.round(sol.product_sq_singular_values, 4)
    array([13.9421,  9.8   ,  6.8711,  6.8711])
    >>> round(sol.objective, 10)
    0.0189421356
    """
    n = _check_counts(counts)
    m = check_int(depth, "depth", low=1)
    lam = _check_lams(lam_w, m)
    lh = check_real(lam_h, "lam_h", low=0.0, low_open=True)
    if not isinstance(bias, bool | np.bool_):
        raise TypeError(f"bias must be a bool, got {type(bias).__name__}")
    if root_rule not in ("global", "largest_root"):
        raise ValueError(f"root_rule must be 'global' or 'largest_root', got {root_rule!r}")
    k = n.size
    # everything in logs or relative to N: counts up to 1e300 and decays from 5e-324 to 1e308 stay finite
    big_n = float(np.sum(n / n.max())) * float(n.max())
    log_n, log_lh, log_lam = np.log(big_n), np.log(lh), np.log(lam)
    # b_M = M N (N lam_h prod lam)^(1/M)
    log_b = float(np.log(m) + log_n + (log_n + log_lh + np.sum(log_lam)) / m)
    with np.errstate(over="ignore"):
        b_const = float(np.exp(log_b))

    if bias:
        frac = n / big_n
        c = np.diag(frac) - np.outer(frac, frac)  # (diag(n) - n n^T / N) / N
        gam, u = np.linalg.eigh(c)
        gam = np.clip(gam, 0.0, None)
        order = np.argsort(-gam, kind="stable")
        gam, u = gam[order] * big_n, u[:, order]
        b0 = frac
    else:
        gam, u = n.copy(), np.eye(k)
        b0 = np.zeros(k)

    with np.errstate(divide="ignore"):
        log_gam = np.log(gam)
    log_x = np.array([_solve_log_x(log_b - lg, m, root_rule) if g > 0 else -np.inf
                      for g, lg in zip(gam, log_gam, strict=True)])
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):  # discarded branches of np.where
        x = np.exp(log_x)
        log_p2 = log_n + log_lh + m * log_x
        p2 = np.exp(log_p2)
        # psi = gam / (x^M + 1) + b x, summed and divided by 2N
        psi = np.where(gam > 0, np.exp(log_gam - np.logaddexp(0.0, m * log_x)) if gam.size else gam, 0.0)
        psi = psi + np.where(np.isfinite(log_x), np.exp(log_b + log_x), 0.0)
        objective = float(np.sum(psi / (2.0 * big_n)))
        # balanced factorisation: lam_m s_m^2 = t for every layer, prod s_m = P
        log_t = (log_p2 + np.sum(log_lam)) / m
        log_s2 = log_t[None, :] - log_lam[:, None]  # (M, K)
        s = np.where(np.isfinite(log_x)[None, :], np.exp(0.5 * log_s2), 0.0)
        # class means at layer m: r_k^T U diag(prod_{j<m} s_j^2 * P^2/(P^2 + N lam_h)^2) U^T r_k,
        # with P^2/(P^2 + N lam_h)^2 = x^M/(x^M + 1)^2 / (N lam_h)
        log_base = m * log_x - 2.0 * np.logaddexp(0.0, m * log_x) - log_n - log_lh
        r = np.eye(k) - b0[:, None]  # column k is e_k - b0
        coords = u.T @ r  # (K directions, K classes)
        layer_norms = np.empty((m, k))
        log_cum = np.zeros(k)
        for layer in range(m):
            g = np.exp(log_base + log_cum)
            terms = np.where(coords != 0.0, coords**2 * g[:, None], 0.0)
            layer_norms[layer] = np.sqrt(np.sum(terms, axis=0))
            log_cum = log_cum + log_s2[layer]
    return DeepLinearMinimizer(
        x=x,
        product_sq_singular_values=p2,
        class_mean_norms=layer_norms[0].copy(),
        layer_singular_values=s,
        layer_class_mean_norms=layer_norms,
        objective=objective,
        collapsed=~np.isfinite(log_x),
        directions=u,
        bias=b0,
        b_constant=b_const,
        effective_counts=gam,
    )


def _orthonormal_columns(rng: np.random.Generator, d: int, k: int) -> np.ndarray:
    q, r = np.linalg.qr(rng.standard_normal((d, k)))
    return q * np.sign(np.diag(r))


def construct_deep_linear_minimizer(
    counts: Sequence[int] | np.ndarray,
    d: int,
    depth: int,
    lam_w: float | Sequence[float],
    lam_h: float,
    bias: bool = False,
    *,
    seed: SeedLike,
    root_rule: str = "global",
) -> DeepLinearPoint:
    """Explicit weights and features attaining :func:`deep_linear_minimizer` (random frames).

    ``W_m = Q_{m+1} diag(s_m) Q_m^T`` with random orthonormal ``Q_m`` (``d x K``), ``W_M = U
    diag(s_M) Q_M^T`` and ``H = Q_1 diag(P / (P^2 + N lam_h)) U^T (Y - b 1^T)``: the feature
    matrix is the ridge solution for the product ``W`` (chapter, lemma :prf:ref:`ncd-lem-ridge`).

    Parameters
    ----------
    counts, depth, lam_w, lam_h, bias, root_rule
        As in :func:`deep_linear_minimizer`.
    d : int
        Width of every hidden layer and of the features, ``d >= K``.
    seed : int, SeedSequence or Generator
        Randomness for the orthonormal frames.

    Returns
    -------
    DeepLinearPoint

    Examples
    --------
    >>> pt = construct_deep_linear_minimizer([3, 2], d=4, depth=2, lam_w=0.01, lam_h=0.01, seed=0)
    >>> [w.shape for w in pt.weights], pt.features.shape
    ([(4, 4), (2, 4)], (4, 5))
    """
    sol = deep_linear_minimizer(counts, depth, lam_w, lam_h, bias, root_rule=root_rule)
    n = np.asarray(counts, dtype=np.float64)
    k = n.size
    dd = check_int(d, "d", low=k)
    rng = as_generator(seed)
    m = sol.layer_singular_values.shape[0]
    lh = float(lam_h)
    qs = [_orthonormal_columns(rng, dd, k) for _ in range(m)]
    weights = []
    for layer in range(m):
        left = sol.directions if layer == m - 1 else qs[layer + 1]
        weights.append(left @ np.diag(sol.layer_singular_values[layer]) @ qs[layer].T)
    labels = np.repeat(np.arange(k), n.astype(np.int64))
    y = np.zeros((k, labels.size))
    y[labels, np.arange(labels.size)] = 1.0
    big_n = float(n.sum())
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        # p / (p^2 + N lam_h) with p^2 = N lam_h x^M: x^(M/2) / (sqrt(N lam_h) (x^M + 1)), in logs
        log_x = np.log(sol.x)
        log_ratio = 0.5 * m * log_x - 0.5 * (np.log(big_n) + np.log(lh)) - np.logaddexp(0.0, m * log_x)
        ratio = np.where(sol.x > 0, np.exp(np.where(np.isinf(log_x), -np.inf, log_ratio)), 0.0)
    h = qs[0] @ np.diag(ratio) @ sol.directions.T @ (y - sol.bias[:, None])
    return DeepLinearPoint(weights=weights, features=h, bias=sol.bias.copy(), labels=labels)


# --------------------------------------------------------------------------------------------
# generic solver


def _norm(g: np.ndarray) -> float:
    """Euclidean norm without overflow of the squares (finite for every finite ``g`` below ~1e308)."""
    big = float(np.max(np.abs(g))) if g.size else 0.0
    return big * float(np.linalg.norm(g / big)) if big > 0 else 0.0


def _labels_from_counts(n: np.ndarray) -> np.ndarray:
    return np.repeat(np.arange(n.size), n.astype(np.int64))


def deep_linear_objective(
    weights: Sequence[np.ndarray],
    features: np.ndarray,
    labels: np.ndarray,
    lam_w: float | Sequence[float],
    lam_h: float,
    bias: np.ndarray | None = None,
    *,
    loss: str = "mse",
    engine: str = "numba",
) -> tuple[float, DeepLinearPoint]:
    """Objective and gradient of the deep-linear problem at explicit parameters.

    ``f = (1/N) sum_i loss(W_M ... W_1 h_i + b, y_i) + sum_m lam_m/2 ||W_m||^2 + lam_h/2 ||H||^2``
    with ``loss`` the half squared error to the one-hot target (``"mse"``, chapter equation
    :eq:`ncd-mse`) or the cross-entropy (``"ce"``, equation :eq:`ncd-ce`).

    **Units of the decays.** The penalties here are ``lam/2 ||W||^2`` and ``lam_h/2 ||H||^2``, while
    :func:`lossbook.collapse.ufm_objective` uses ``lam_w/(2K) ||W||^2`` and ``lam_h/(2N) ||H||^2``. For
    ``M = 1`` the two problems coincide when the UFM decays are ``K`` and ``N`` times these:
    :func:`ufm_decays_from_deep_linear` converts, :func:`deep_linear_decays_from_ufm` goes back.

    Parameters
    ----------
    weights : sequence of arrays
        ``[W_1, ..., W_M]``: square ``d x d`` hidden layers and a ``K x d`` last layer.
    features : array, shape (d, N)
    labels : array of int, shape (N,)
    lam_w, lam_h : float
        Weight decays (``> 0``; ``lam_w`` may be a length-``M`` sequence).
    bias : array, shape (K,), optional
        Last-layer bias; ``None`` means no bias (its gradient is then not returned).
    loss : {"mse", "ce"}
    engine : {"numba", "numpy"}
        The Numba kernel or its NumPy reference.

    Returns
    -------
    tuple
        ``(f, grad)`` where ``grad`` is a :class:`DeepLinearPoint` of gradients.

    Raises
    ------
    OverflowError
        If the objective or its gradient overflows float64 (entries so large that the product of
        the ``M + 1`` factors exceeds the float range).

    Examples
    --------
    >>> pt = construct_deep_linear_minimizer([3, 2], d=3, depth=2, lam_w=0.01, lam_h=0.01, seed=1)
    >>> f, g = deep_linear_objective(pt.weights, pt.features, pt.labels, 0.01, 0.01)
    >>> bool(np.linalg.norm(g.features) < 1e-10)
    True
    """
    if loss not in LOSS_CODES:
        raise ValueError(f"loss must be 'mse' or 'ce', got {loss!r}")
    check_choice(engine, "engine", ENGINES)
    if isinstance(weights, str | bytes | np.ndarray) or not hasattr(weights, "__iter__"):
        raise TypeError(f"weights must be a sequence of 2-D arrays [W_1, ..., W_M], got {type(weights).__name__}")
    ws = [check_array(w, f"weights[{i}]", ndim=2) for i, w in enumerate(weights)]
    if not ws:
        raise ValueError("weights must hold at least one layer")
    m = len(ws)
    h = check_array(features, "features", ndim=2)
    d, big_n = h.shape
    k = ws[-1].shape[0]
    for i, w in enumerate(ws[:-1]):
        if w.shape != (d, d):
            raise ValueError(f"weights[{i}] must have shape ({d}, {d}), got {w.shape}")
    if ws[-1].shape[1] != d:
        raise ValueError(f"weights[{m - 1}] must have {d} columns, got {ws[-1].shape[1]}")
    lab = np.asarray(labels)
    if lab.shape != (big_n,) or lab.dtype.kind not in "iu":
        raise ValueError(f"labels must be an integer array of shape ({big_n},), one per column of features")
    lab = lab.astype(np.int64)
    if lab.min() < 0 or lab.max() >= k:
        raise ValueError(f"labels must lie in [0, {k - 1}]")
    lam = _check_lams(lam_w, m)
    lh = check_real(lam_h, "lam_h", low=0.0, low_open=True)
    has_bias = bias is not None
    b = check_array(bias, "bias", ndim=1) if has_bias else np.zeros(k)
    if b.shape != (k,):
        # a wrong length would shift the packed layout the kernel reads without bounds checks
        raise ValueError(f"bias must have shape (K,) = ({k},), got {b.shape}")
    hidden = np.array(ws[:-1]).reshape(m - 1, d, d)
    theta = pack(h, hidden, ws[-1], b, has_bias)
    kern = _value_and_grad_numba if engine == "numba" else _value_and_grad_numpy
    with np.errstate(all="ignore"):  # overflow is refused just below, with the same error for both engines
        f, g = kern(theta, d, big_n, k, m, lab, lam, lh, has_bias, LOSS_CODES[loss])
    if not (np.isfinite(f) and np.all(np.isfinite(g))):
        raise OverflowError("the objective or its gradient overflows float64 at these parameters (products of "
                            f"{m + 1} factors of entries up to {max(np.max(np.abs(theta)), lam.max(), lh):.3g}); "
                            "rescale weights, features or decays")
    gh, ghid, glast, gb = unpack(g, d, big_n, k, m, has_bias)
    grad = DeepLinearPoint(weights=[*list(ghid.copy()), glast.copy()], features=gh.copy(),
                           bias=gb.copy(), labels=lab)
    return float(f), grad


def fit_deep_linear(
    counts: Sequence[int] | np.ndarray,
    d: int,
    depth: int,
    lam_w: float | Sequence[float],
    lam_h: float,
    loss: str = "mse",
    *,
    seed: SeedLike,
    bias: bool = False,
    init_scale: float = 0.1,
    gtol: float = 1e-12,
    maxiter: int = 20000,
    init: DeepLinearPoint | None = None,
) -> DeepLinearFit:
    """Minimise the full deep-linear objective with L-BFGS around a Numba value-and-gradient kernel.

    The objective is :func:`deep_linear_objective` (chapter equations :eq:`ncd-mse`/:eq:`ncd-ce`);
    every parameter (features, all layers, bias) is free. The problem is non-convex: the result
    is a stationary point reached from the seeded start, not certified global. Compare with
    :func:`deep_linear_minimizer` (MSE) or :func:`deep_linear_ce_etf` (CE).

    Parameters
    ----------
    counts : array_like of int, shape (K,)
        Class sizes ``n_k >= 1``.
    d : int
        Width of the features and of every hidden layer, ``d >= K`` (the closed form needs ``K``
        orthogonal directions in every layer).
    depth : int
        Number of linear layers ``M >= 1``.
    lam_w : float or array_like, shape (M,)
        Weight decays of the layers (``> 0``).
    lam_h : float
        Weight decay of the features (``> 0``).
    loss : {"mse", "ce"}
    seed : int, SeedSequence or Generator
        Randomness of the initial point (i.i.d. normal entries of standard deviation ``init_scale``).
    bias : bool
        Add an unregularised last-layer bias (initialised at zero).
    init_scale : float
        Standard deviation of the initial entries (``> 0``).
    gtol : float
        L-BFGS projected-gradient tolerance (``> 0``).
    maxiter : int
        Maximum number of L-BFGS iterations (``>= 1``).
    init : DeepLinearPoint, optional
        Start from these parameters instead of a random point (``seed`` is then unused).

    Returns
    -------
    DeepLinearFit

    Raises
    ------
    FloatingPointError
        If the objective or its gradient becomes non-finite (the start or a step overflows: lower
        ``init_scale`` or the decays).

    Notes
    -----
    The kernel's matrix products go through SciPy's BLAS. For the small matrices of typical runs,
    BLAS threads only contend on a busy machine; set ``OPENBLAS_NUM_THREADS=1`` (before NumPy is
    imported) or use ``threadpoolctl`` when running many fits side by side.

    Examples
    --------
    >>> fit = fit_deep_linear([20, 10], d=3, depth=2, lam_w=1e-3, lam_h=1e-3, seed=0)
    >>> ref = deep_linear_minimizer([20, 10], depth=2, lam_w=1e-3, lam_h=1e-3)
    >>> bool(abs(fit.objective - ref.objective) < 1e-9)
    True
    """
    n = _check_counts(counts)
    k = n.size
    dd = check_int(d, "d", low=k)
    m = check_int(depth, "depth", low=1)
    lam = _check_lams(lam_w, m)
    lh = check_real(lam_h, "lam_h", low=0.0, low_open=True)
    if loss not in LOSS_CODES:
        raise ValueError(f"loss must be 'mse' or 'ce', got {loss!r}")
    if not isinstance(bias, bool | np.bool_):
        raise TypeError(f"bias must be a bool, got {type(bias).__name__}")
    scale = check_real(init_scale, "init_scale", low=0.0, low_open=True)
    tol = check_real(gtol, "gtol", low=0.0, low_open=True)
    iters = check_int(maxiter, "maxiter", low=1)
    labels = _labels_from_counts(n)
    big_n = labels.size
    npar = n_params(dd, big_n, k, m, bool(bias))
    rng = as_generator(seed)  # validated even when init is given
    if init is None:
        with np.errstate(over="ignore", invalid="ignore"):
            theta0 = scale * rng.standard_normal(npar)
        if not np.all(np.isfinite(theta0)):
            raise FloatingPointError(f"the initial point is non-finite (init_scale={scale!r}); lower init_scale")
        if bias:
            theta0[-k:] = 0.0
    else:
        if not all(hasattr(init, a) for a in ("weights", "features", "bias")) or isinstance(init, str | bytes):
            raise TypeError(f"init must be a DeepLinearPoint (weights, features, bias) or None, "
                            f"got {type(init).__name__}")
        try:
            shapes = [np.shape(w) for w in init.weights]
        except TypeError:
            raise TypeError("init.weights must be a sequence of arrays") from None
        expected = [(dd, dd)] * (m - 1) + [(k, dd)]
        b_init = np.shape(init.bias)
        if shapes != expected or np.shape(init.features) != (dd, big_n) or b_init != (k,):
            raise ValueError(f"init must hold weights of shapes {expected}, features of shape ({dd}, {big_n}) "
                             f"and a bias of shape ({k},); got {shapes}, {np.shape(init.features)}, {b_init}")
        hidden = np.array(init.weights[:-1], dtype=float).reshape(m - 1, dd, dd)
        theta0 = pack(init.features, hidden, init.weights[-1], init.bias, bool(bias))
        if not np.all(np.isfinite(theta0)):
            raise ValueError("init must hold finite values")
    code = LOSS_CODES[loss]
    b_flag = bool(bias)

    def fun(theta):
        return _value_and_grad_numba(theta, dd, big_n, k, m, labels, lam, lh, b_flag, code)

    history = [float(fun(theta0)[0])]
    if not np.isfinite(history[0]):
        raise FloatingPointError("objective is non-finite at the initial point; lower init_scale or the decays")

    def callback(intermediate_result):
        history.append(float(intermediate_result.fun))

    res = minimize(fun, theta0, jac=True, method="L-BFGS-B", callback=callback,
                   options={"gtol": tol, "ftol": 0.0, "maxiter": iters, "maxcor": 50,
                            "maxfun": 4 * iters})
    f, g = fun(res.x)
    if not (np.isfinite(f) and np.all(np.isfinite(g)) and np.isfinite(_norm(g))):
        raise FloatingPointError("objective or gradient (norm) became non-finite; lower init_scale or the decays")
    h, hidden, last, b = unpack(res.x.copy(), dd, big_n, k, m, b_flag)
    return DeepLinearFit(
        weights=[*list(hidden), last],
        features=h,
        bias=b.copy() if b_flag else np.zeros(k),
        labels=labels,
        objective=float(f),
        grad_norm=_norm(g),
        n_iter=int(res.nit),
        converged=bool(res.success),
        history=np.array(history),
    )


def momentum_gd_deep_linear(
    counts: Sequence[int] | np.ndarray,
    d: int,
    depth: int,
    lam_w: float | Sequence[float],
    lam_h: float,
    *,
    lr: float = 0.1,
    momentum: float = 0.9,
    steps: int = 30_000,
    seed: SeedLike,
    init_scale: float = 0.1,
    loss: str = "mse",
    bias: bool = False,
    gtol: float = 1e-12,
    record_every: int = 100,
) -> DeepLinearFit:
    """Full-batch gradient descent with heavy-ball momentum on the deep-linear objective.

    The optimiser of the authors' synthetic experiments (as read in their scripts: features and
    weights initialised i.i.d. ``N(0, init_scale^2)``, learning rate 0.1, momentum 0.9, 30 000
    iterations): ``v <- momentum v + grad f``, ``theta <- theta - lr v``, the update of PyTorch's
    ``SGD`` without dampening. It stops early once ``||grad f|| < gtol``. Unlike
    :func:`fit_deep_linear` (L-BFGS), it shows where the *training dynamics* go from a given start.

    Parameters
    ----------
    counts, d, depth, lam_w, lam_h, loss, bias
        As in :func:`fit_deep_linear`.
    lr : float, default 0.1
        Step size, ``> 0``.
    momentum : float, default 0.9
        In ``[0, 1)``.
    steps : int, default 30000
        Maximum number of steps, ``1 <= steps <= 10**7``.
    seed : int, SeedSequence or Generator
        Randomness of the initial point.
    init_scale : float, default 0.1
        Standard deviation of the initial entries (``> 0``).
    gtol : float, default 1e-12
        Stop when the gradient norm falls below this (``> 0``).
    record_every : int, default 100
        Record the objective every this many steps in ``history``.

    Returns
    -------
    DeepLinearFit
        ``n_iter`` is the number of steps taken; ``converged`` is whether ``gtol`` was reached.

    Raises
    ------
    FloatingPointError
        If the iterates diverge (lower ``lr``).

    Examples
    --------
    >>> fit = momentum_gd_deep_linear([20, 10], 4, 1, 1e-2, 1e-2, steps=3000, seed=0)
    >>> ref = deep_linear_minimizer([20, 10], 1, 1e-2, 1e-2)
    >>> bool(abs(fit.objective - ref.objective) < 1e-9)
    True
    """
    n = _check_counts(counts)
    k = n.size
    dd = check_int(d, "d", low=k)
    m = check_int(depth, "depth", low=1)
    lam = _check_lams(lam_w, m)
    lh = check_real(lam_h, "lam_h", low=0.0, low_open=True)
    if loss not in LOSS_CODES:
        raise ValueError(f"loss must be 'mse' or 'ce', got {loss!r}")
    if not isinstance(bias, bool | np.bool_):
        raise TypeError(f"bias must be a bool, got {type(bias).__name__}")
    step = check_real(lr, "lr", low=0.0, low_open=True)
    mom = check_real(momentum, "momentum", low=0.0, high=1.0, high_open=True)
    n_steps = check_int(steps, "steps", low=1, high=10**7)
    scale = check_real(init_scale, "init_scale", low=0.0, low_open=True)
    tol = check_real(gtol, "gtol", low=0.0, low_open=True)
    every = check_int(record_every, "record_every", low=1)
    labels = _labels_from_counts(n)
    big_n = labels.size
    b_flag = bool(bias)
    rng = as_generator(seed)
    with np.errstate(over="ignore", invalid="ignore"):
        theta = scale * rng.standard_normal(n_params(dd, big_n, k, m, b_flag))
    if b_flag:
        theta[-k:] = 0.0
    vel = np.zeros_like(theta)
    code = LOSS_CODES[loss]
    history, it, converged = [], 0, False
    for it in range(1, n_steps + 1):
        f, g = _value_and_grad_numba(theta, dd, big_n, k, m, labels, lam, lh, b_flag, code)
        if not np.isfinite(f):
            raise FloatingPointError(f"gradient descent diverged at step {it}; lower lr (got {step})")
        if (it - 1) % every == 0:
            history.append(float(f))
        if np.linalg.norm(g) < tol:
            converged = True
            break
        with np.errstate(over="ignore", invalid="ignore"):
            vel = mom * vel + g
            theta = theta - step * vel
    f, g = _value_and_grad_numba(theta, dd, big_n, k, m, labels, lam, lh, b_flag, code)
    if not (np.isfinite(f) and np.all(np.isfinite(g)) and np.isfinite(_norm(g))):
        raise FloatingPointError(f"gradient descent diverged after step {it} (non-finite objective); lower lr "
                                 f"(got {step}) or the decays")
    h, hidden, last, b = unpack(theta.copy(), dd, big_n, k, m, b_flag)
    return DeepLinearFit(weights=[*list(hidden), last], features=h, bias=b.copy() if b_flag else np.zeros(k),
                         labels=labels, objective=float(f), grad_norm=_norm(g), n_iter=it,
                         converged=converged, history=np.array(history))


def ufm_decays_from_deep_linear(lam_w: float, lam_h: float, n_classes: int, n_samples: int) -> tuple[float, float]:
    """UFM decays ``(K lam_w, N lam_h)`` that make the ``M = 1`` deep-linear problem the UFM of the previous chapter.

    :func:`deep_linear_objective` penalises ``lam_w/2 ||W||^2 + lam_h/2 ||H||^2``;
    :func:`lossbook.collapse.ufm_objective` penalises ``lam_w/(2K) ||W||^2 + lam_h/(2N) ||H||^2``. Both
    have the data term ``||WH - Y||^2/(2N)``, so the objectives are equal under this conversion.

    Parameters
    ----------
    lam_w, lam_h : float
        Deep-linear decays, ``> 0``.
    n_classes, n_samples : int
        ``K >= 2`` and ``N >= K``.

    Returns
    -------
    tuple of float
        ``inf`` only where ``K lam_w`` or ``N lam_h`` exceeds the float range.

    Examples
    --------
    >>> ufm_decays_from_deep_linear(0.01, 0.002, 4, 400)
    (0.04, 0.8)
    """
    lam_w = check_real(lam_w, "lam_w", low=0.0, low_open=True)
    lam_h = check_real(lam_h, "lam_h", low=0.0, low_open=True)
    k = check_int(n_classes, "n_classes", low=2)
    n = check_int(n_samples, "n_samples", low=k)
    with np.errstate(over="ignore"):
        return float(np.float64(k) * lam_w), float(np.float64(n) * lam_h)


def deep_linear_decays_from_ufm(lam_w: float, lam_h: float, n_classes: int, n_samples: int) -> tuple[float, float]:
    """Inverse of :func:`ufm_decays_from_deep_linear`: ``(lam_w / K, lam_h / N)``.

    Parameters
    ----------
    lam_w, lam_h : float
        UFM decays, ``> 0``.
    n_classes, n_samples : int
        ``K >= 2`` and ``N >= K``.

    Returns
    -------
    tuple of float

    Examples
    --------
    >>> deep_linear_decays_from_ufm(0.04, 0.8, 4, 400)
    (0.01, 0.002)
    """
    lam_w = check_real(lam_w, "lam_w", low=0.0, low_open=True)
    lam_h = check_real(lam_h, "lam_h", low=0.0, low_open=True)
    k = check_int(n_classes, "n_classes", low=2)
    n = check_int(n_samples, "n_samples", low=k)
    return float(lam_w / k), float(lam_h / n)


# --------------------------------------------------------------------------------------------
# cross-entropy: the simplex-ETF family


def deep_linear_ce_etf(
    n_classes: int,
    n_per_class: int,
    depth: int,
    lam_w: float | Sequence[float],
    lam_h: float,
) -> DeepLinearCEETF:
    r"""Best point of the balanced deep-linear cross-entropy problem among simplex-ETF configurations.

    On the family ``W = P E V^T``, ``Hbar = a V E^T`` (``E`` an orthonormal basis of
    :math:`\mathbf 1^\perp`) with balanced layers, the objective reduces to (chapter, equation
    :eq:`ncd-ce-etf`, derived here)

    .. math::

        F(t) = \log\!\Big(1 + (K-1)\exp\!\big(-t^{(M+1)/2}/\sqrt{n\lambda_H\textstyle\prod_m\lambda_{W_m}}\big)\Big)
        + \frac{(K-1)(M+1)}{2}\,t,\qquad t\ge0,

    minimised here by a log-spaced grid followed by bounded refinement; ``t = 0`` (``F = log K``)
    is always a candidate. Whether this value is the global optimum of the full problem is a
    separate question (it is not for some ``(K, M)``; see the chapter).

    Parameters
    ----------
    n_classes : int
        ``K >= 2``.
    n_per_class : int
        ``n >= 1`` samples per class.
    depth : int
        ``M >= 1``.
    lam_w : float or array_like, shape (M,)
        Layer weight decays (``> 0``).
    lam_h : float
        Feature weight decay (``> 0``).

    Returns
    -------
    DeepLinearCEETF
        Computed in logarithms; ``product_singular_value`` and ``class_mean_scale`` are ``inf`` only
        where their true values exceed the float range (extreme decays).

    Examples
    --------
    >>> etf = deep_linear_ce_etf(4, 20, 1, 5e-3, 5e-3)
    >>> round(etf.objective, 8)
    0.31972199
    """
    k = check_int(n_classes, "n_classes", low=2)
    n = check_int(n_per_class, "n_per_class", low=1)
    m = check_int(depth, "depth", low=1)
    lam = _check_lams(lam_w, m)
    lh = check_real(lam_h, "lam_h", low=0.0, low_open=True)
    # log of sqrt(n lam_h prod lam): the product itself under- or overflows for extreme decays
    log_scale = 0.5 * (math.log(n) + math.log(lh) + float(np.sum(np.log(lam))))
    alpha = 0.5 * (m + 1)
    beta = 0.5 * (k - 1) * (m + 1)

    def f_of_logt(s):
        with np.errstate(over="ignore"):
            z = np.exp(alpha * s - log_scale)  # t^alpha / scale
            return float(np.logaddexp(0.0, np.log(k - 1.0) - z) + beta * np.exp(s))

    # the optimum has beta t <= log K (else t = 0 is better), so t lies below log(K)/beta
    grid = np.linspace(np.log(np.log(k) / beta) - 40.0, np.log(np.log(k) / beta), 4001)
    vals = np.array([f_of_logt(s) for s in grid])
    i = int(np.argmin(vals))
    lo, hi = grid[max(i - 1, 0)], grid[min(i + 1, grid.size - 1)]
    res = minimize_scalar(f_of_logt, bounds=(lo, hi), method="bounded",
                          options={"xatol": 1e-13, "maxiter": 500})
    best_s, best_f = (res.x, res.fun) if res.fun <= vals[i] else (grid[i], vals[i])
    if np.log(k) <= best_f:
        return DeepLinearCEETF(t=0.0, product_singular_value=0.0, class_mean_scale=0.0,
                               objective=float(np.log(k)))
    t = float(np.exp(best_s))
    with np.errstate(over="ignore"):
        p = float(np.exp(0.5 * m * best_s - 0.5 * float(np.sum(np.log(lam)))))
        a = float(np.exp(0.5 * (best_s - math.log(n) - math.log(lh))))
    return DeepLinearCEETF(t=t, product_singular_value=p, class_mean_scale=a, objective=float(best_f))
