"""Seeded data sets for the book's experiments: nothing is downloaded.

* :func:`gaussian_mixture_data`: classes as isotropic Gaussians around well-separated means,
  with any class counts (balanced, imbalanced, long-tailed);
* :func:`long_tailed_counts`: class sizes that decay geometrically from ``n_max`` to
  ``n_max / imbalance`` (the profile used for long-tailed benchmarks);
* :func:`flip_labels`: label noise, uniform (to any *other* class) or class-dependent through a
  transition matrix, returning the realised flip rate, which differs from the nominal one;
* :func:`load_digits_split`: scikit-learn's bundled 8×8 digits (1797 images, shipped with the
  package), split by seed into train and test, optionally standardised with training statistics;
* :func:`torch_loader`: a PyTorch ``DataLoader`` whose shuffling is seeded.

Every function takes its randomness from an explicit ``seed`` (int, SeedSequence or Generator).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .._rng import as_generator
from .._validate import check_array, check_int, check_labels, check_real

__all__ = [
    "Dataset",
    "NoisyLabels",
    "Split",
    "flip_labels",
    "gaussian_mixture_data",
    "load_digits_split",
    "long_tailed_counts",
    "torch_loader",
]


class Dataset(NamedTuple):
    """Features ``X`` (n, d), integer labels ``y`` (n,) and the class means (K, d) they were drawn around."""

    X: np.ndarray
    y: np.ndarray
    means: np.ndarray


class NoisyLabels(NamedTuple):
    """Noisy labels, which entries were flipped, and the realised flip rate (fraction flipped)."""

    y: np.ndarray
    flipped: np.ndarray
    flip_rate: float


class Split(NamedTuple):
    """A train/test split."""

    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray


def long_tailed_counts(n_classes: int, n_max: int, imbalance: float) -> np.ndarray:
    """Class sizes ``n_k = floor(n_max * imbalance^(-k / (K - 1)))``, from ``n_max`` down to ``n_max / imbalance``.

    Parameters
    ----------
    n_classes : int
        ``K >= 1``.
    n_max : int
        Size of the largest class, ``>= 1``.
    imbalance : float
        Ratio largest/smallest, ``>= 1`` (1 gives balanced classes).

    Returns
    -------
    ndarray of int64, shape (K,)
        Non-increasing, every entry at least 1.

    Examples
    --------
    >>> long_tailed_counts(4, 1000, 100.0).tolist()
    [1000, 215, 46, 10]
    """
    k = check_int(n_classes, "n_classes", low=1, high=100_000)
    n_max = check_int(n_max, "n_max", low=1, high=10**9)
    imbalance = check_real(imbalance, "imbalance", low=1.0)
    if k == 1:
        return np.array([n_max], dtype=np.int64)
    expo = -np.arange(k) / (k - 1)
    # imbalance ** expo without overflow: exp(expo * log(imbalance))
    counts = np.floor(n_max * np.exp(expo * np.log(imbalance)) + 1e-9).astype(np.int64)
    return np.maximum(counts, 1)


def gaussian_mixture_data(class_counts, dim: int, *, separation: float = 3.0, noise: float = 1.0,
                          seed) -> Dataset:
    """Draw ``class_counts[k]`` points from ``N(mu_k, noise^2 I)`` for each class ``k``.

    The means are ``separation`` times random orthonormal directions when ``dim >= K`` (so every
    pair of means is ``separation * sqrt(2)`` apart), and ``separation`` times random unit vectors
    otherwise. Rows are shuffled.

    Parameters
    ----------
    class_counts : array_like of int, shape (K,)
        Points per class, each ``>= 0``, total ``>= 1`` and at most ``10**8``.
    dim : int
        Feature dimension ``d >= 1``.
    separation : float, default 3.0
        Norm of each class mean, ``>= 0``.
    noise : float, default 1.0
        Standard deviation of each coordinate, ``> 0``.
    seed : int, SeedSequence or Generator
        Randomness.

    Returns
    -------
    Dataset

    Examples
    --------
    >>> data = gaussian_mixture_data([50, 10], 5, seed=0)
    >>> data.X.shape, np.bincount(data.y).tolist()
    ((60, 5), [50, 10])
    """
    counts = check_array(class_counts, "class_counts", ndim=1, dtype=np.float64, low=0.0, min_size=1)
    if np.any(counts != np.round(counts)):
        raise ValueError("class_counts must hold whole numbers")
    counts = counts.astype(np.int64)
    total = int(counts.sum())
    if total < 1:
        raise ValueError("class_counts must add up to at least 1")
    d = check_int(dim, "dim", low=1, high=100_000)
    if total * d > 10**8:
        raise ValueError(f"class_counts and dim give {total} x {d} values; the limit is 1e8")
    separation = check_real(separation, "separation", low=0.0)
    noise = check_real(noise, "noise", low=0.0, low_open=True)
    rng = as_generator(seed)
    k = counts.size
    raw = rng.standard_normal((d, k))
    if d >= k:
        q, r = np.linalg.qr(raw)
        dirs = (q * np.sign(np.diag(r))).T  # orthonormal rows
    else:
        dirs = (raw / np.linalg.norm(raw, axis=0)).T
    means = separation * dirs
    y = np.repeat(np.arange(k), counts)
    X = means[y] + noise * rng.standard_normal((total, d))
    order = rng.permutation(total)
    return Dataset(X[order], y[order], means)


def flip_labels(y, n_classes: int, rate: float | None = None, *, transition=None, seed) -> NoisyLabels:
    """Corrupt labels: uniformly to another class with probability ``rate``, or through ``transition``.

    Exactly one of ``rate`` and ``transition`` is given. With ``rate``, each label is replaced, with
    probability ``rate``, by one of the *other* ``K - 1`` classes chosen uniformly (so the realised
    flip rate is about ``rate``). With ``transition`` (a row-stochastic K×K matrix), a label ``k``
    becomes ``j`` with probability ``transition[k, j]`` (class-dependent noise; the diagonal is the
    probability of keeping it). The realised rate is returned because it is what the experiment saw.

    Parameters
    ----------
    y : array_like of int, shape (n,)
        Clean labels in ``{0, ..., K-1}``.
    n_classes : int
        ``K >= 2``.
    rate : float, optional
        Flip probability in ``[0, 1]``.
    transition : array_like, shape (K, K), optional
        Row-stochastic transition matrix.
    seed : int, SeedSequence or Generator
        Randomness.

    Returns
    -------
    NoisyLabels

    Examples
    --------
    >>> noisy = flip_labels(np.zeros(1000, dtype=int), 3, 0.2, seed=0)
    >>> bool(abs(noisy.flip_rate - 0.2) < 0.04), bool(np.all(noisy.y[noisy.flipped] != 0))
    (True, True)
    """
    k = check_int(n_classes, "n_classes", low=2, high=1_000_000)
    y = check_labels(y, "y", k)
    if y.ndim != 1:
        raise ValueError(f"y must be one-dimensional, got shape {y.shape}")
    if (rate is None) == (transition is None):
        raise ValueError("give exactly one of rate and transition")
    rng = as_generator(seed)
    if rate is not None:
        rate = check_real(rate, "rate", low=0.0, high=1.0)
        flip = rng.random(y.size) < rate
        shift = rng.integers(1, k, size=y.size)  # 1..K-1: never the same class
        noisy = np.where(flip, (y + shift) % k, y)
    else:
        T = check_array(transition, "transition", ndim=2, low=0.0)
        if T.shape != (k, k):
            raise ValueError(f"transition must have shape ({k}, {k}) for n_classes={k}, got {T.shape}")
        if not np.allclose(T.sum(axis=1), 1.0, atol=1e-9):
            raise ValueError("transition must be row-stochastic (rows sum to 1)")
        cum = np.cumsum(T, axis=1)
        u = rng.random(y.size)
        noisy = np.minimum((u[:, None] > cum[y]).sum(axis=1), k - 1)
    flipped = noisy != y
    return NoisyLabels(noisy.astype(np.int64), flipped, float(flipped.mean()) if y.size else 0.0)


def load_digits_split(*, test_size: float = 0.3, standardize: bool = False, seed, dtype=np.float64) -> Split:
    """scikit-learn's bundled digits (8×8 images, 10 classes), split by seed, stratified.

    Pixels are scaled to ``[0, 1]``. With ``standardize``, each pixel is centred and scaled by its
    *training* mean and standard deviation (pixels constant in training keep scale 1).

    Parameters
    ----------
    test_size : float, default 0.3
        Fraction of the 1797 images held out, in ``(0, 1)``.
    standardize : bool, default False
        Standardise features with training statistics.
    seed : int, SeedSequence or Generator
        Randomness of the split.
    dtype : numpy dtype, default float64
        ``float32`` or ``float64``.

    Returns
    -------
    Split

    Examples
    --------
    >>> s = load_digits_split(seed=0)
    >>> s.X_train.shape, s.X_test.shape
    ((1257, 64), (540, 64))
    """
    test_size = check_real(test_size, "test_size", low=0.0, high=1.0, low_open=True, high_open=True)
    if not isinstance(standardize, bool | np.bool_):
        raise TypeError(f"standardize must be a bool, got {type(standardize).__name__}")
    try:
        ok = dtype is not None and np.dtype(dtype) in (np.float32, np.float64)
    except TypeError:
        ok = False
    if not ok:
        raise ValueError(f"dtype must be numpy.float32 or numpy.float64, got {dtype!r}")
    try:
        from sklearn.datasets import load_digits
        from sklearn.model_selection import train_test_split
    except ImportError as exc:
        raise ImportError("load_digits_split needs scikit-learn: pip install lossbook[notebooks]") from exc

    X, y = load_digits(return_X_y=True)
    rng = as_generator(seed)
    Xtr, Xte, ytr, yte = train_test_split(X / 16.0, y, test_size=test_size, stratify=y,
                                          random_state=int(rng.integers(0, 2**31 - 1)))
    if standardize:
        mu = Xtr.mean(axis=0)
        sd = Xtr.std(axis=0)
        sd[sd == 0] = 1.0
        Xtr, Xte = (Xtr - mu) / sd, (Xte - mu) / sd
    return Split(Xtr.astype(dtype), ytr.astype(np.int64), Xte.astype(dtype), yte.astype(np.int64))


def torch_loader(X, y, *, batch_size: int, shuffle: bool = True, seed):
    """A ``torch.utils.data.DataLoader`` over ``(X, y)`` with seeded shuffling (single process).

    Parameters
    ----------
    X : array_like, shape (n, ...)
        Features (converted to float32 tensors: entries of magnitude above 3.4e38 are refused).
    y : array_like, shape (n,)
        Targets (integer labels become int64 tensors, real targets float32).
    batch_size : int
        ``1 <= batch_size``.
    shuffle : bool, default True
        Reshuffle every epoch, in an order fixed by ``seed``.
    seed : int, SeedSequence or Generator
        Seeds the loader's own ``torch.Generator``.

    Returns
    -------
    torch.utils.data.DataLoader
    """
    from .._torch import require_torch

    torch = require_torch()
    X = check_array(X, "X", ndim=None, dtype=np.float32, min_size=1)
    try:
        y_arr = np.asarray(y)
    except (ValueError, TypeError) as exc:  # ragged nesting
        raise TypeError(f"y must be array-like: {exc}") from None
    if X.ndim < 1 or y_arr.ndim != 1 or X.shape[0] != y_arr.shape[0]:
        raise ValueError(f"X and y must have the same number of rows; got shapes {X.shape} and {y_arr.shape}")
    batch_size = check_int(batch_size, "batch_size", low=1)
    if not isinstance(shuffle, bool | np.bool_):
        raise TypeError(f"shuffle must be a bool, got {type(shuffle).__name__}")
    y_t = torch.as_tensor(y_arr.astype(np.int64) if y_arr.dtype.kind in "iub"
                          else check_array(y_arr, "y", ndim=1, dtype=np.float32))
    gen = torch.Generator()
    gen.manual_seed(int(as_generator(seed).integers(0, 2**62)))
    ds = torch.utils.data.TensorDataset(torch.as_tensor(X), y_t)
    return torch.utils.data.DataLoader(ds, batch_size=batch_size, shuffle=shuffle, generator=gen, num_workers=0)
