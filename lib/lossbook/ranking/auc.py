"""Exact area under the ROC curve as a Mann–Whitney statistic, ties counted one half.

With positives ``p`` and negatives ``n``, ``AUC = U / (n_pos n_neg)`` where
``U = #{(p, n): s_p > s_n} + 1/2 #{(p, n): s_p = s_n}`` (:eq:`mw-auc`). Sorting the scores of each class
once makes ``U`` a single merge of two sorted lists, so the cost is ``O(n log n)`` for the two sorts
and ``O(n)`` for the count (:prf:ref:`mw-thm-rank`).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .._validate import ENGINES, check_array, check_choice

__all__ = ["mann_whitney_u", "roc_auc"]


def _binary_labels(y_true, name: str = "y_true") -> np.ndarray:
    """Return ``y_true`` as a boolean array, accepting bool or numbers equal to 0 or 1 only."""
    try:
        arr = np.asarray(y_true)
    except (ValueError, TypeError) as exc:
        raise TypeError(f"{name} must be array-like: {exc}") from None
    if arr.dtype == bool:
        return arr
    if arr.dtype.kind not in "iuf":
        raise TypeError(f"{name} must hold binary labels (bool, or numbers 0 and 1), got dtype={arr.dtype}")
    if arr.size and not np.all((arr == 0) | (arr == 1)):
        bad = arr[(arr != 0) & (arr != 1)].ravel()[0]
        raise ValueError(f"{name} must hold binary labels 0 or 1 only, found {bad!r}")
    return arr == 1


def _split_scores(y_true, scores) -> tuple[np.ndarray, np.ndarray]:
    s = check_array(scores, "scores", ndim=1, min_size=2)
    y = _binary_labels(y_true)
    if y.shape != s.shape:
        raise ValueError(f"y_true must have the shape of scores {s.shape}, got {y.shape}")
    pos, neg = s[y], s[~y]
    if pos.size == 0 or neg.size == 0:
        raise ValueError("y_true must contain both classes (at least one 1 and one 0); the AUC is undefined otherwise")
    return pos, neg


@njit(cache=True)
def _u_sorted_numba(pos, neg):
    """U statistic of two *sorted* arrays by one merge: for each positive, negatives below + half the ties."""
    u = 0.0
    n_neg = neg.size
    below = 0  # negatives strictly below the current positive
    upto = 0  # negatives <= the current positive
    for i in range(pos.size):
        p = pos[i]
        while below < n_neg and neg[below] < p:
            below += 1
        if upto < below:
            upto = below
        while upto < n_neg and neg[upto] <= p:
            upto += 1
        u += below + 0.5 * (upto - below)
    return u


def _u_numpy(pos, neg):
    """Reference: the same count with binary search of every positive among the sorted negatives."""
    neg = np.sort(neg)
    lo = np.searchsorted(neg, pos, side="left")
    hi = np.searchsorted(neg, pos, side="right")
    return float(lo.sum()) + 0.5 * float((hi - lo).sum())


def _u_statistic(y_true, scores, engine: str) -> tuple[float, int]:
    """``U`` and the number of pairs ``n_pos * n_neg``, after validating every argument."""
    check_choice(engine, "engine", ENGINES)
    pos, neg = _split_scores(y_true, scores)
    if engine == "numpy":
        return _u_numpy(pos, neg), pos.size * neg.size
    # np.sort of values (no index array) is the fastest sort NumPy has; the merge is O(n)
    return float(_u_sorted_numba(np.sort(pos), np.sort(neg))), pos.size * neg.size


def mann_whitney_u(y_true, scores, *, engine: str = "numba") -> float:
    """Mann–Whitney U of the positives' scores against the negatives', ties counted one half.

    Implements the numerator of :eq:`mw-auc`.

    Parameters
    ----------
    y_true : array_like of bool or {0, 1}, shape (n,)
        Labels; both classes must occur.
    scores : array_like of float, shape (n,)
        Finite scores, higher meaning "more positive".
    engine : {"numba", "numpy"}, default "numba"
        The sorted merge (Numba) or the binary-search reference (NumPy); they agree exactly.

    Returns
    -------
    float
        ``U`` in ``[0, n_pos n_neg]``; a multiple of 1/2.

    Raises
    ------
    ValueError
        if the shapes differ, a label is not 0/1, a class is missing or a score is not finite.
    TypeError
        if the inputs are not numeric arrays.

    Examples
    --------
    >>> mann_whitney_u([1, 0, 1, 0], [0.9, 0.1, 0.5, 0.5])
    3.5
    """
    return _u_statistic(y_true, scores, engine)[0]


def roc_auc(y_true, scores, *, engine: str = "numba") -> float:
    """Exact area under the ROC curve, ties counted one half: ``U / (n_pos n_neg)``, :eq:`mw-auc`.

    Equal to scikit-learn's ``roc_auc_score(y_true, scores)`` for binary labels (whose trapezoidal
    ROC curve counts a tie as half a pair), computed by two value sorts and one merge
    (:prf:ref:`mw-thm-rank`); see :doc:`/book/consistency/mw-auc-loss`.

    Parameters
    ----------
    y_true, scores, engine
        As in :func:`mann_whitney_u` (binary labels with both classes, finite scores of the same shape).

    Returns
    -------
    float
        AUC in ``[0, 1]``.

    Raises
    ------
    ValueError, TypeError
        As :func:`mann_whitney_u`, naming the offending argument.

    Examples
    --------
    >>> roc_auc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
    0.75
    >>> roc_auc([0, 1], [0.3, 0.3])  # a tie counts one half
    0.5
    """
    u, n_pairs = _u_statistic(y_true, scores, engine)
    return u / n_pairs
