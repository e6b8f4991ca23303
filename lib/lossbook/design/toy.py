"""A synthetic offline design problem for the chapter's experiment."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .._rng import SeedLike, as_generator
from .._validate import check_array, check_int, check_real, check_size
from .kernels import MAX_ABS_X

__all__ = ["ToyDesignData", "toy_design_data", "toy_score"]


class ToyDesignData(NamedTuple):
    """Offline data and starting designs of :func:`toy_design_data`."""

    X_offline: np.ndarray  #: kept samples, shape (n_offline, d)
    y_offline: np.ndarray  #: their standardised scores, shape (n_offline,)
    initial_designs: np.ndarray  #: the best offline samples, shape (n_designs, d)
    center: np.ndarray  #: centre of the quadratic part of the score, shape (d,)
    y_mean: float  #: mean of the raw kept scores (standardisation)
    y_std: float  #: standard deviation of the raw kept scores


def toy_score(X, center, *, bump: float = 2.0, frequency: float = 2.0) -> np.ndarray:
    r"""True score :math:`f(x) = -\lVert x-c\rVert^2 + b\sum_k \sin(\omega x_k)` of the toy problem.

    A smooth bowl with ripples: its maximiser is near ``center`` and offline samples far from the
    centre see only the low-scoring slope.

    Parameters
    ----------
    X : array_like, shape (n, d)
        Points, entries of modulus at most ``1e100``.
    center : array_like, shape (d,)
        :math:`c`, entries of modulus at most ``1e100``.
    bump : float, default 2.0
        Ripple amplitude :math:`b` in ``[0, 1e6]``.
    frequency : float, default 2.0
        Ripple frequency :math:`\omega` in ``[0, 1e6]``.

    Returns
    -------
    ndarray, shape (n,)

    Raises
    ------
    ValueError, TypeError
        On malformed inputs.

    Examples
    --------
    >>> float(toy_score([[0.0, 0.0]], [0.0, 0.0])[0])
    0.0
    """
    Xa = check_array(X, "X", ndim=2, max_abs=MAX_ABS_X)
    c = check_array(center, "center", ndim=1, max_abs=MAX_ABS_X)
    if Xa.shape[1] != c.shape[0]:
        raise ValueError(f"X has {Xa.shape[1]} columns but center has {c.shape[0]} entries")
    b = check_real(bump, "bump", low=0.0, high=1e6)
    w = check_real(frequency, "frequency", low=0.0, high=1e6)
    sq = np.sum((Xa - c) ** 2, axis=1)  # at most 4e200 d: finite under the documented limit
    return -sq + b * np.sum(np.sin(w * Xa), axis=1)


def toy_design_data(n_samples: int = 1000, dim: int = 8, *, keep: float = 0.5, n_designs: int = 64,
                    center: float = 1.0, seed: SeedLike = 0) -> ToyDesignData:
    """Offline data for the toy design problem: the worst ``keep`` fraction of Gaussian samples.

    ``n_samples`` points are drawn from :math:`\\mathcal N(0, I_d)` and scored by :func:`toy_score` with
    centre ``center * (1, ..., 1)``; only the lowest-scoring fraction ``keep`` is kept (as the BIB
    protocol keeps the bottom of TFBind8), scores are standardised, and the ``n_designs`` best kept
    points are the starting designs.

    Parameters
    ----------
    n_samples : int, default 1000
        In ``[2, 10**6]``.
    dim : int, default 8
        In ``[1, 10**4]``.
    keep : float, default 0.5
        Fraction kept, in ``(0, 1]``; at least two points must be kept.
    n_designs : int, default 64
        At least 1 and at most the number of kept points.
    center : float, default 1.0
        Every coordinate of the score's centre, in ``[-1e3, 1e3]``.
    seed : int, SeedSequence or Generator, default 0

    Returns
    -------
    ToyDesignData

    Raises
    ------
    ValueError, TypeError
        On out-of-range arguments.

    Examples
    --------
    >>> data = toy_design_data(100, 3, n_designs=5, seed=0)
    >>> data.X_offline.shape, data.initial_designs.shape
    ((50, 3), (5, 3))
    """
    n = check_int(n_samples, "n_samples", low=2, high=10**6)
    d = check_int(dim, "dim", low=1, high=10**4)
    check_size(n * d, "n_samples * dim")
    frac = check_real(keep, "keep", low=0.0, high=1.0, low_open=True)
    k = check_int(n_designs, "n_designs", low=1)
    c0 = check_real(center, "center", low=-1e3, high=1e3)
    rng = as_generator(seed)
    m = int(np.floor(frac * n))
    if m < 2:
        raise ValueError(f"keep * n_samples must be at least 2, got keep={frac}, n_samples={n}")
    if k > m:
        raise ValueError(f"n_designs must be at most the number of kept points ({m}), got {k}")
    c = np.full(d, c0)
    X = rng.standard_normal((n, d))
    y = toy_score(X, c)
    order = np.argsort(y, kind="stable")[:m]
    X, y = X[order], y[order]
    mu, sd = float(y.mean()), float(y.std())
    sd = sd if sd > 0 else 1.0
    ys = (y - mu) / sd
    top = np.argsort(ys, kind="stable")[-k:]
    return ToyDesignData(X, ys, X[top].copy(), c, mu, sd)
