"""Dirichlet(α) label-skew split of a labelled data set into clients."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .._rng import SeedLike, as_generator
from .._validate import check_int, check_real

__all__ = ["ClientSplit", "dirichlet_label_split"]

#: Largest concentration accepted; beyond it the Dirichlet draw is uniform to float precision anyway.
ALPHA_MAX = 1e8
ALPHA_MIN = 1e-3


class ClientSplit(NamedTuple):
    """A partition of the sample indices into clients.

    ``indices[k]`` are the (sorted) indices held by client ``k``; ``counts[k, c]`` how many of them have
    class ``classes[c]``; ``proportions[c]`` the Dirichlet draw that split class ``c`` over the clients
    (of the accepted attempt); ``tries`` how many draws were needed to meet ``min_size``.
    """

    indices: tuple
    counts: np.ndarray
    proportions: np.ndarray
    classes: np.ndarray
    tries: int


def dirichlet_label_split(y, n_clients: int, alpha: float, *, seed: SeedLike, min_size: int = 1,
                          max_tries: int = 1000) -> ClientSplit:
    r"""Split samples over clients with Dirichlet(α) label skew.

    For every class :math:`c` with :math:`n_c` samples, draw :math:`q_c\sim\mathrm{Dir}(\alpha\mathbf 1_m)`,
    shuffle the class's samples and give client :math:`k` the block between the cut points
    :math:`\lfloor n_c\sum_{j<k}q_{cj}\rfloor` and :math:`\lfloor n_c\sum_{j\le k}q_{cj}\rfloor`
    (eq. :eq:`fedld-dirichlet`), so that client :math:`k` holds :math:`n_cq_{ck}` samples of class
    :math:`c` up to less than one. Small α gives each class to few clients; as α→∞ every client
    receives the class proportions of the whole set. The whole split is redrawn until every client
    holds at least ``min_size`` samples (the usual practice; it conditions the draw on that event).

    Parameters
    ----------
    y : array_like of int, shape (n,)
        Class labels (any integers; ``classes`` lists the distinct ones).
    n_clients : int
        Number of clients :math:`m`, in ``[1, 10000]``.
    alpha : float
        Dirichlet concentration, in ``[1e-3, 1e8]``.
    seed : int, SeedSequence or Generator
        Randomness of the draws and shuffles.
    min_size : int, default 1
        Smallest client size accepted, in ``[0, n // n_clients]``.
    max_tries : int, default 1000
        Redraws before giving up, in ``[1, 100000]``.

    Returns
    -------
    ClientSplit

    Raises
    ------
    ValueError
        For arguments out of range, or when ``max_tries`` draws all leave a client below ``min_size``.

    Examples
    --------
    >>> s = dirichlet_label_split([0, 0, 0, 1, 1, 1, 2, 2], 2, 1.0, seed=0)
    >>> sorted(np.concatenate(s.indices).tolist())
    [0, 1, 2, 3, 4, 5, 6, 7]
    >>> s.counts.sum(axis=0).tolist()
    [3, 3, 2]
    """
    yarr = np.asarray(y)
    if yarr.dtype.kind not in "iu":
        raise TypeError(f"y must hold integer class labels, got dtype={yarr.dtype}")
    if yarr.ndim != 1 or yarr.size == 0:
        raise ValueError(f"y must be a non-empty 1-D array of labels, got shape {yarr.shape}")
    m = check_int(n_clients, "n_clients", low=1, high=10000)
    alpha = check_real(alpha, "alpha", low=ALPHA_MIN, high=ALPHA_MAX)
    min_size = check_int(min_size, "min_size", low=0, high=yarr.size // m)
    max_tries = check_int(max_tries, "max_tries", low=1, high=100000)
    rng = as_generator(seed)
    classes, inverse = np.unique(yarr, return_inverse=True)
    members = [np.flatnonzero(inverse == c) for c in range(classes.size)]
    for attempt in range(1, max_tries + 1):
        q = rng.dirichlet(np.full(m, alpha), size=classes.size)
        # a Dirichlet draw with tiny alpha can underflow to all zeros in float64; renormalise what is left
        # and give a class whose draw vanished entirely to one client at random
        sums = q.sum(axis=1, keepdims=True)
        dead = sums[:, 0] <= 0
        if np.any(dead):
            q[dead] = np.eye(m)[rng.integers(0, m, size=int(dead.sum()))]
            sums = q.sum(axis=1, keepdims=True)
        q = q / sums
        counts = np.zeros((m, classes.size), dtype=np.int64)
        parts: list[list[np.ndarray]] = [[] for _ in range(m)]
        for c, idx in enumerate(members):
            idx = rng.permutation(idx)
            cuts = np.floor(np.cumsum(q[c]) * idx.size).astype(np.int64)
            cuts[-1] = idx.size  # the cumulative sum may round to just below 1
            cuts = np.maximum.accumulate(np.minimum(cuts, idx.size))
            start = 0
            for k in range(m):
                parts[k].append(idx[start:cuts[k]])
                counts[k, c] = cuts[k] - start
                start = cuts[k]
        if counts.sum(axis=1).min() >= min_size:
            indices = tuple(np.sort(np.concatenate(p)) for p in parts)
            return ClientSplit(indices, counts, q, classes, attempt)
    raise ValueError(f"no split with every client holding at least min_size={min_size} samples in "
                     f"max_tries={max_tries} draws; raise alpha, lower min_size or use fewer clients")
