"""FTWT's self-supervised mask targets: which filters of a layer "fire" for each input.

A filter's *heat* for one input is the largest absolute value of its output map. The "mass" rule
keeps, per input, the hottest filters whose normalised heats add up to at most ``r`` (plus a tolerance
of ``1e-5``, the official code's); the "uniform" rule drops a fixed number of the coolest filters.
Both are pure NumPy (:eq:`ftwt-mass`).
"""

from __future__ import annotations

import numpy as np

from .._validate import check_array, check_real

__all__ = ["MASS_TOL", "filter_heat", "mass_target_mask", "uniform_target_mask"]

#: Tolerance of the mass rule (the official code's ``delta``): a cumulative mass up to ``r + MASS_TOL`` is kept,
#: and at ``r = 1`` filters whose normalised heat is at most ``MASS_TOL`` are dropped.
MASS_TOL = 1e-5


def filter_heat(activations) -> np.ndarray:
    """Heat of every filter for every input: the largest absolute value of its output map.

    Parameters
    ----------
    activations : array_like, shape (B, C, H, W) or (B, C)
        A layer's outputs (after normalisation, non-linearity and any residual addition). A 2-D
        input is a layer with 1 x 1 maps.

    Returns
    -------
    numpy.ndarray, shape (B, C)

    Examples
    --------
    >>> filter_heat(np.array([[[[1.0, -3.0]], [[0.5, 0.2]]]]))
    array([[3. , 0.5]])
    """
    a = check_array(activations, "activations", ndim=(2, 4))
    if a.ndim == 2:
        return np.abs(a)
    if a.shape[2] * a.shape[3] == 0:
        raise ValueError(f"activations must have non-empty maps (H, W >= 1), got shape {a.shape}")
    return np.abs(a).max(axis=(2, 3))


def _heats(heat):
    h = check_array(heat, "heat", ndim=2, low=0.0, max_abs=1e300)
    if h.shape[1] == 0:
        raise ValueError("heat must have at least one filter (C >= 1)")
    return h


def mass_target_mask(heat, r: float) -> np.ndarray:
    r"""FTWT's "mass" target: per input, keep the hottest filters holding at most a fraction ``r`` of the heat.

    With the heats of one input normalised to sum to 1 and sorted in decreasing order
    (:math:`\bar h_{(1)}\ge\bar h_{(2)}\ge\dots`), filter :math:`(j)` is kept iff
    :math:`\sum_{i\le j}\bar h_{(i)}\le r+\delta` with :math:`\delta` = :data:`MASS_TOL` (:eq:`ftwt-mass`); the
    filter whose cumulative mass crosses ``r + delta`` and all cooler ones are dropped. At ``r = 1`` this keeps
    every filter whose normalised heat exceeds ``delta`` (the official code's special case; with
    ``r = 1`` the cumulative rule would keep all of them up to rounding). Ties are broken by filter index
    (the earlier filter counts as hotter). An input whose heats are all zero keeps **no** filter (nothing
    fires; the official code divides 0 by 0 there and keeps them all, see the chapter).

    Parameters
    ----------
    heat : array_like, shape (B, C)
        Non-negative heats (:func:`filter_heat`), at most 1e300.
    r : float
        Kept heat fraction, in ``[0, 1]``.

    Returns
    -------
    numpy.ndarray of bool, shape (B, C)

    Examples
    --------
    >>> mass_target_mask([[4.0, 3.0, 2.0, 1.0]], 0.7)    # masses 0.4, 0.7, 0.9, 1.0
    array([[ True,  True, False, False]])
    """
    h = _heats(heat)
    r = check_real(r, "r", low=0.0, high=1.0)
    total = h.sum(axis=1, keepdims=True)
    alive = total[:, 0] > 0
    norm = np.divide(h, total, out=np.zeros_like(h), where=total > 0)
    if r == 1.0:
        keep = norm > MASS_TOL
    else:
        order = np.argsort(-norm, axis=1, kind="stable")
        cum = np.cumsum(np.take_along_axis(norm, order, axis=1), axis=1)
        keep_sorted = cum - r <= MASS_TOL
        keep = np.zeros_like(keep_sorted)
        np.put_along_axis(keep, order, keep_sorted, axis=1)
    keep[~alive] = False
    return keep


def uniform_target_mask(heat, ratio: float) -> np.ndarray:
    """FTWT's "uniform" target: per input, drop the ``floor(ratio * C)`` coolest filters and every cold one.

    A filter is *cold* when its heat is at most :data:`MASS_TOL` (the official code drops those whatever
    the ratio). Ties are broken by filter index (the earlier filter counts as cooler).

    Parameters
    ----------
    heat : array_like, shape (B, C)
        Non-negative heats, at most 1e300.
    ratio : float
        Fraction of filters to drop, in ``[0, 1]``.

    Returns
    -------
    numpy.ndarray of bool, shape (B, C)

    Examples
    --------
    >>> uniform_target_mask([[4.0, 0.0, 2.0, 1.0]], 0.25)
    array([[ True, False,  True,  True]])
    """
    h = _heats(heat)
    ratio = check_real(ratio, "ratio", low=0.0, high=1.0)
    n_drop = int(np.floor(ratio * h.shape[1]))
    keep = h > MASS_TOL
    if n_drop:
        order = np.argsort(h, axis=1, kind="stable")  # coolest first
        rows = np.arange(h.shape[0])[:, None]
        keep[rows, order[:, :n_drop]] = False
    return keep
