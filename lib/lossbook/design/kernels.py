"""Kernels and kernel ridge regression for offline design (chapter ``book/feedback/bib-sequence-design``).

Two kernels are offered. The Gaussian (RBF) kernel :eq:`bib-rbf` is the infinite-width limit of a
network with random Fourier features and a trained linear head; the *finite* random-feature kernel
``phi(x)^T phi(z)`` of :func:`fourier_feature_map` is that network at finite width. Every function
takes the kernel as ``features=None`` (RBF of bandwidth ``bandwidth``) or ``features=FourierFeatures``
(the finite-feature kernel; ``bandwidth`` is then ignored).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .._rng import SeedLike, as_generator
from .._validate import check_array, check_int, check_real, check_size

__all__ = [
    "FourierFeatures",
    "KernelRidgePrediction",
    "fourier_feature_map",
    "kernel_ridge_predict",
    "rbf_kernel",
    "sample_fourier_features",
]

#: documented limit on the modulus of designs and inputs (keeps squared distances finite)
MAX_ABS_X = 1e100
#: documented limit on the modulus of scores and targets (keeps squared residuals finite)
MAX_ABS_Y = 1e30
#: accepted range of the RBF bandwidth / random-feature scale
BANDWIDTH_RANGE = (1e-6, 1e6)
#: accepted range of the ridge (absolute, added to the kernel matrix)
RIDGE_RANGE = (1e-12, 1e12)
#: largest number of random features
MAX_FEATURES = 10**6


class FourierFeatures(NamedTuple):
    """Random Fourier features ``phi(x) = sqrt(2/D) cos(omega x + phase)``."""

    omega: np.ndarray  #: frequencies, shape (D, d)
    phase: np.ndarray  #: phases in [0, 2 pi), shape (D,)


class KernelRidgePrediction(NamedTuple):
    """Kernel ridge prediction at query points and its gradient with respect to them."""

    mean: np.ndarray  #: predictions, shape (q,)
    gradient: np.ndarray  #: d prediction_i / d x_i, shape (q, d)


def _check_x(X, name: str, d: int | None = None, other: str = "the other inputs") -> np.ndarray:
    arr = check_array(X, name, ndim=2, max_abs=MAX_ABS_X)
    if arr.shape[1] < 1:
        raise ValueError(f"{name} must have at least one column (dimension), got shape {arr.shape}")
    if d is not None and arr.shape[1] != d:
        raise ValueError(f"{name} has {arr.shape[1]} columns but {other} has {d}")
    return arr


def _check_features(features, d: int | None, name: str = "features") -> FourierFeatures | None:
    if features is None:
        return None
    if not isinstance(features, FourierFeatures):
        raise TypeError(f"{name} must be None or a FourierFeatures (from sample_fourier_features), "
                        f"got {type(features).__name__}")
    omega = check_array(features.omega, f"{name}.omega", ndim=2, max_abs=1e12)
    phase = check_array(features.phase, f"{name}.phase", ndim=1, max_abs=1e12)
    if omega.shape[0] < 1 or omega.shape[0] != phase.shape[0]:
        raise ValueError(f"{name}: omega has {omega.shape[0]} rows and phase {phase.shape[0]} entries; "
                         "they must agree and be at least 1")
    if d is not None and omega.shape[1] != d:
        raise ValueError(f"{name}.omega has {omega.shape[1]} columns but the inputs have dimension {d}")
    return FourierFeatures(omega, phase)


class _Kernel:
    """The kernel of the chapter, RBF or finite random features, with the gradient it needs."""

    def __init__(self, bandwidth: float, features: FourierFeatures | None):
        self.bandwidth = bandwidth
        self.features = features

    _cached: tuple | None = None
    _last: tuple | None = None

    def _trig(self, X):
        """``sqrt(2/D) (cos, sin)`` of ``X omega^T + phase``; the offline data and the last input are cached."""
        for c in (self._cached, self._last):
            if c is not None and c[0] is X:
                return c[1], c[2]
        om, ph = self.features
        Z = X @ om.T + ph
        c = np.sqrt(2.0 / om.shape[0])
        out = (c * np.cos(Z), c * np.sin(Z))
        self._last = (X, *out)
        return out

    def phi(self, X):
        return self._trig(X)[0]

    def cache(self, X):
        """Remember the features of ``X`` (the offline data, used at every step)."""
        if self.features is not None:
            self._cached = None
            self._cached = (X, *self._trig(X))

    def gram(self, A, B):
        if self.features is not None:
            return self.phi(A) @ self.phi(B).T
        check_size(A.shape[0] * B.shape[0] * A.shape[1], "inputs", what="pairwise differences")
        diff = A[:, None, :] / self.bandwidth - B[None, :, :] / self.bandwidth
        with np.errstate(over="ignore"):
            sq = np.einsum("ijk,ijk->ij", diff, diff)
        return np.exp(-0.5 * sq)

    def feature_grad(self, X, V):
        """Row m: the gradient of ``phi(x_m)^T v_m`` in ``x_m`` (features only), shape (n, d)."""
        return -(self._trig(X)[1] * V) @ self.features.omega

    def weighted_grad(self, X, Z, W):
        """Row m: sum_j W[m, j] grad_1 k(x_m, z_j), shape (n, d)."""
        if self.features is not None:
            return self.feature_grad(X, W @ self.phi(Z))
        diff = X[:, None, :] / self.bandwidth - Z[None, :, :] / self.bandwidth
        with np.errstate(over="ignore"):
            K = np.exp(-0.5 * np.einsum("ijk,ijk->ij", diff, diff))
        # grad_1 k = -k (x - z) / s^2, formed as ((x - z) / s) / s so that k > 0 keeps it finite
        WK = W * K
        return -np.einsum("ij,ijk->ik", WK, diff) / self.bandwidth


def _kernel(bandwidth, features, d, name="features") -> _Kernel:
    bw = check_real(bandwidth, "bandwidth", low=BANDWIDTH_RANGE[0], high=BANDWIDTH_RANGE[1])
    return _Kernel(bw, _check_features(features, d, name))


def sample_fourier_features(dim: int, n_features: int, *, bandwidth: float = 1.0,
                            seed: SeedLike = 0) -> FourierFeatures:
    r"""Draw random Fourier features whose kernel approximates the RBF kernel :eq:`bib-rbf`.

    ``omega`` has i.i.d. :math:`\mathcal N(0, 1/s^2)` entries and ``phase`` is uniform on
    :math:`[0, 2\pi)`, so that :math:`\mathbb E\,\phi(x)^\top\phi(z) = \exp(-\lVert x-z\rVert^2/(2s^2))`
    (Rahimi and Recht's construction; the Monte Carlo error of the kernel is :math:`O(D^{-1/2})`,
    :prf:ref:`bib-thm-rff`).

    Parameters
    ----------
    dim : int
        Input dimension ``d >= 1``.
    n_features : int
        Number of features ``D`` in ``[1, 10**6]``; ``dim * n_features <= 10**8``.
    bandwidth : float, default 1.0
        Kernel bandwidth ``s`` in ``[1e-6, 1e6]``.
    seed : int, SeedSequence or Generator, default 0

    Returns
    -------
    FourierFeatures

    Raises
    ------
    ValueError
        If a size or the bandwidth is out of range.

    Examples
    --------
    >>> f = sample_fourier_features(3, 5, seed=1)
    >>> f.omega.shape, f.phase.shape
    ((5, 3), (5,))
    """
    d = check_int(dim, "dim", low=1)
    D = check_int(n_features, "n_features", low=1, high=MAX_FEATURES)
    check_size(d * D, "dim * n_features")
    bw = check_real(bandwidth, "bandwidth", low=BANDWIDTH_RANGE[0], high=BANDWIDTH_RANGE[1])
    rng = as_generator(seed)
    omega = rng.standard_normal((D, d)) / bw
    phase = rng.uniform(0.0, 2.0 * np.pi, size=D)
    return FourierFeatures(omega, phase)


def fourier_feature_map(X, features: FourierFeatures) -> np.ndarray:
    r"""The feature matrix :math:`\Phi` with rows :math:`\phi(x_i)=\sqrt{2/D}\cos(\Omega x_i+b)`.

    Parameters
    ----------
    X : array_like, shape (n, d)
        Inputs, entries of modulus at most ``1e100``.
    features : FourierFeatures
        From :func:`sample_fourier_features` (``omega`` of shape (D, d)).

    Returns
    -------
    ndarray, shape (n, D)
        :math:`\Phi`; :math:`\Phi_A\Phi_B^\top` is the finite-feature kernel of the chapter.

    Raises
    ------
    ValueError, TypeError
        If ``X`` or ``features`` is malformed or their dimensions disagree.

    Examples
    --------
    >>> f = sample_fourier_features(2, 4, seed=0)
    >>> fourier_feature_map(np.zeros((3, 2)), f).shape
    (3, 4)
    """
    if not isinstance(features, FourierFeatures):
        raise TypeError(f"features must be a FourierFeatures, got {type(features).__name__}")
    feats = _check_features(features, None)
    Xa = _check_x(X, "X", feats.omega.shape[1], "features.omega")
    check_size(Xa.shape[0] * feats.omega.shape[0], "X rows * n_features")
    return _Kernel(1.0, feats).phi(Xa)


def rbf_kernel(A, B, *, bandwidth: float = 1.0) -> np.ndarray:
    r"""Gaussian kernel matrix :math:`K_{ij}=\exp(-\lVert a_i-b_j\rVert^2/(2s^2))`, :eq:`bib-rbf`.

    Parameters
    ----------
    A : array_like, shape (n, d)
    B : array_like, shape (m, d)
        Inputs, entries of modulus at most ``1e100``.
    bandwidth : float, default 1.0
        ``s`` in ``[1e-6, 1e6]``.

    Returns
    -------
    ndarray, shape (n, m)

    Raises
    ------
    ValueError, TypeError
        On malformed inputs or a bandwidth out of range.

    Examples
    --------
    >>> float(rbf_kernel([[0.0]], [[1.0]])[0, 0]) == float(np.exp(-0.5))
    True
    """
    Aa = _check_x(A, "A")
    Ba = _check_x(B, "B", Aa.shape[1], "A")
    return _kernel(bandwidth, None, Aa.shape[1]).gram(Aa, Ba)


def _ridge_fit(kern: _Kernel, X, y, ridge):
    """Dual weights ``alpha = (K + ridge I)^{-1} y`` or, for features with D < n, primal weights.

    Returns ``("dual", alpha)`` or ``("primal", w)``; both give the same predictions by the
    push-through identity :eq:`bib-pushthrough`.
    """
    n = X.shape[0]
    if kern.features is not None and kern.features.omega.shape[0] < n:
        P = kern.phi(X)
        G = P.T @ P
        G[np.diag_indices_from(G)] += ridge
        return "primal", np.linalg.solve(G, P.T @ y)
    K = kern.gram(X, X)
    K[np.diag_indices_from(K)] += ridge
    return "dual", np.linalg.solve(K, y)


def _ridge_eval(kern: _Kernel, X, fit, Q):
    kind, w = fit
    if kind == "primal":
        mean = kern.phi(Q) @ w
        grad = kern.feature_grad(Q, np.broadcast_to(w, (Q.shape[0], w.shape[0])))
        return mean, grad
    mean = kern.gram(Q, X) @ w
    grad = kern.weighted_grad(Q, X, np.broadcast_to(w, (Q.shape[0], w.shape[0])))
    return mean, grad


def kernel_ridge_predict(X_train, y_train, X_query, *, ridge: float = 1e-6, bandwidth: float = 1.0,
                         features: FourierFeatures | None = None) -> KernelRidgePrediction:
    r"""Kernel ridge regression :math:`f(x)=k(x,X)(K+\beta I)^{-1}y` and its input gradient, :eq:`bib-forward`.

    This is the forward mapping of the chapter: the closed-form prediction of an infinitely wide
    (RBF) or finite random-feature network with a trained linear head. With ``features`` and fewer
    features than training points the primal form of :prf:ref:`bib-thm-pushthrough` is used; the
    result is the same.

    Parameters
    ----------
    X_train : array_like, shape (n, d)
    y_train : array_like, shape (n,)
        Training inputs and scores (modulus at most ``1e100`` and ``1e30``).
    X_query : array_like, shape (q, d)
    ridge : float, default 1e-6
        :math:`\beta` in ``[1e-12, 1e12]``, added to the kernel matrix. (The official BIB code uses
        ``1e-6 tr(K)/n``, which equals ``1e-6`` for the RBF kernel, whose diagonal is 1.)
    bandwidth : float, default 1.0
        RBF bandwidth in ``[1e-6, 1e6]`` (ignored with ``features``).
    features : FourierFeatures or None
        The finite random-feature kernel instead of the RBF kernel.

    Returns
    -------
    KernelRidgePrediction
        ``mean`` (q,) and ``gradient`` (q, d), row i the gradient of the prediction at query i.

    Raises
    ------
    ValueError, TypeError
        On malformed inputs, disagreeing shapes or out-of-range parameters.

    Examples
    --------
    >>> X = np.array([[0.0], [1.0], [2.0]]); y = np.array([0.0, 1.0, 0.0])
    >>> p = kernel_ridge_predict(X, y, X, ridge=1e-9)
    >>> bool(np.allclose(p.mean, y, atol=1e-6))
    True
    """
    Xt = _check_x(X_train, "X_train")
    d = Xt.shape[1]
    yt = check_array(y_train, "y_train", ndim=1, max_abs=MAX_ABS_Y)
    if yt.shape[0] != Xt.shape[0]:
        raise ValueError(f"y_train has {yt.shape[0]} entries but X_train has {Xt.shape[0]} rows")
    if Xt.shape[0] < 1:
        raise ValueError("X_train must have at least one row")
    Xq = _check_x(X_query, "X_query", d, "X_train")
    beta = check_real(ridge, "ridge", low=RIDGE_RANGE[0], high=RIDGE_RANGE[1])
    kern = _kernel(bandwidth, features, d)
    check_size(Xt.shape[0] ** 2, "X_train rows squared")
    check_size((Xt.shape[0] + Xq.shape[0]) * max(Xt.shape[0], Xq.shape[0]) * d, "inputs",
               what="pairwise differences")
    fit = _ridge_fit(kern, Xt, yt, beta)
    mean, grad = _ridge_eval(kern, Xt, fit, Xq)
    return KernelRidgePrediction(mean, grad)
