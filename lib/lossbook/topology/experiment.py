"""Synthetic vessel masks and a toy segmentation fit: Dice against Dice + Betti matching.

Chapter ``book/physics/betti-matching``. :func:`vessel_mask` draws a few smooth random curves of width about two
pixels (crossings make loops). :func:`fit_segmentation` fits a free logit image (one logit per pixel, no network)
by plain gradient descent from a blurred, noisy version of the target, for a fixed small number of steps: the
step budget plays the part of a network's limited fit, since a free logit image run to convergence reaches the
target under Dice alone. Defaults (60 steps, rate 300, noise 2, weight 0.01) were set by a small pilot on
32 x 32 masks, described in the chapter.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from scipy.ndimage import gaussian_filter

from .._rng import as_generator
from .._torch import require_torch
from .._validate import check_choice, check_int, check_real
from .matching import _check_mask, betti_matching_error, betti_matching_loss, betti_number_error

__all__ = ["SegmentationFit", "fit_segmentation", "vessel_mask"]


def vessel_mask(size=32, n_curves=3, *, seed=None):
    """A binary mask of ``n_curves`` smooth random curves crossing a square image.

    Parameters
    ----------
    size : int, default 32
        Side of the square image, 8 to 512.
    n_curves : int, default 3
        Number of curves, 1 to 20.
    seed : int or numpy.random.Generator
        Randomness.

    Returns
    -------
    ndarray of float, shape (size, size)
        The mask (entries 0 and 1).

    Raises
    ------
    ValueError
        If ``size`` or ``n_curves`` is out of range, or ``seed`` is missing.

    Examples
    --------
    >>> m = vessel_mask(32, 3, seed=0)
    >>> m.shape, set(np.unique(m).tolist()) <= {0.0, 1.0}
    ((32, 32), True)
    """
    size = check_int(size, "size", low=8, high=512)
    n_curves = check_int(n_curves, "n_curves", low=1, high=20)
    rng = as_generator(seed)
    yy, xx = np.mgrid[0:size, 0:size] + 0.5
    mask = np.zeros((size, size), dtype=bool)
    steps = 6 * size
    for _ in range(n_curves):
        side = rng.integers(4)
        s = rng.uniform(0.15, 0.85) * size
        start = [(s, 0.0), (s, float(size)), (0.0, s), (float(size), s)][side]
        heading = [np.pi / 2, -np.pi / 2, 0.0, np.pi][side] + rng.normal(0, 0.3)
        turn = 0.0
        pos = np.array(start, dtype=float)  # (x, y)
        for _ in range(steps):
            turn = 0.9 * turn + rng.normal(0, 0.02)
            heading += turn
            pos = pos + 0.5 * np.array([np.cos(heading), np.sin(heading)])
            if not (-1 <= pos[0] <= size + 1 and -1 <= pos[1] <= size + 1):
                break
            i0, j0 = max(int(pos[1]) - 2, 0), max(int(pos[0]) - 2, 0)
            win = (slice(i0, i0 + 5), slice(j0, j0 + 5))
            mask[win] |= (xx[win] - pos[0]) ** 2 + (yy[win] - pos[1]) ** 2 <= 1.0
    return mask.astype(float)


class SegmentationFit(NamedTuple):
    """Result of :func:`fit_segmentation`.

    Attributes
    ----------
    prob : ndarray
        Final foreground probabilities.
    dice : float
        Dice coefficient of the thresholded prediction (0.5) with the target.
    betti_error, matching_error : ndarray of int, shape (2,)
        Betti-number and Betti-matching errors (dimensions 0, 1) of the thresholded prediction.
    """

    prob: np.ndarray
    dice: float
    betti_error: np.ndarray
    matching_error: np.ndarray


def fit_segmentation(target, *, loss="dice", alpha=0.01, steps=60, lr=300.0, noise=2.0, seed=None):
    """Fit a free logit image to a binary target with Dice or Dice + ``alpha`` Betti matching.

    Parameters
    ----------
    target : array_like, shape (h, w)
        Binary target mask.
    loss : {"dice", "dice+bm"}
        Soft Dice loss, or soft Dice plus ``alpha`` times :func:`betti_matching_loss` (superlevel filtration
        of the probabilities, matching recomputed at every step).
    alpha : float, default 0.01
        Weight of the Betti-matching term, in [0, 1000].
    steps : int, default 60
        Gradient-descent steps, 0 to 5000.
    lr : float, default 300
        Step size in (0, 1e4] (large because the soft Dice gradient of one pixel is of order 1 / number of pixels).
    noise : float, default 2.0
        Standard deviation (0 to 100) of the Gaussian noise added to the initial logits ``4 (blur(target) - 1/2)``.
    seed : int or numpy.random.Generator
        Randomness of the initialisation (the same seed gives the same start for both losses).

    Returns
    -------
    SegmentationFit

    Raises
    ------
    ValueError
        If the target is not binary or a parameter is out of range.

    Examples
    --------
    >>> t = vessel_mask(16, 2, seed=1)
    >>> fit = fit_segmentation(t, steps=5, seed=0)
    >>> fit.prob.shape
    (16, 16)
    """
    torch = require_torch()
    g = _check_mask(target, "target")
    loss = check_choice(loss, "loss", ("dice", "dice+bm"))
    alpha = check_real(alpha, "alpha", low=0.0, high=1e3)
    steps = check_int(steps, "steps", low=0, high=5000)
    lr = check_real(lr, "lr", low=0.0, high=1e4, low_open=True)
    noise = check_real(noise, "noise", low=0.0, high=100.0)
    rng = as_generator(seed)
    start = 4.0 * (gaussian_filter(g, 1.0) - 0.5) + noise * rng.normal(size=g.shape)
    theta = torch.tensor(start, dtype=torch.float64, requires_grad=True)
    gt = torch.tensor(g, dtype=torch.float64)
    opt = torch.optim.SGD([theta], lr=lr)
    for _ in range(steps):
        opt.zero_grad()
        p = torch.sigmoid(theta)
        obj = 1.0 - (2.0 * (p * gt).sum() + 1.0) / (p.sum() + gt.sum() + 1.0)
        if loss == "dice+bm":
            obj = obj + alpha * betti_matching_loss(p, gt, superlevel=True)
        obj.backward()
        opt.step()
    with torch.no_grad():
        prob = torch.sigmoid(theta).numpy()
    pred = (prob > 0.5).astype(float)
    denom = float(pred.sum() + g.sum())
    dice = 2.0 * float((pred * g).sum()) / denom if denom > 0 else 1.0
    return SegmentationFit(prob, dice, betti_number_error(pred, g), betti_matching_error(pred, g))
