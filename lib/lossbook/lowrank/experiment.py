"""The chapter's toy regression: a rank-r target plus heavy input channels, fitted at equal budget.

Three parametrisations with exactly the same number of parameters are initialised from the same
dense warm-up and trained with full-batch Adam: low rank only (rank raised to fill the budget), low
rank + a random-support sparse part (SLTrain-style), and LOST (low rank + the input channels that
the warm-up's residual ranks highest, :prf:ref:`lost-thm-channels`).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .._rng import SeedLike, as_generator
from .._torch import require_torch
from .._validate import check_array, check_int, check_real
from .cost import rank_for_budget
from .decomposition import best_rank_approximation, lost_decomposition, random_support_decomposition
from .layers import lost_linear, random_support_linear

__all__ = ["METHODS", "ChannelStudy", "OutlierTarget", "channel_regression_study", "outlier_channel_target"]

#: the three parametrisations compared, in the order of the study's arrays
METHODS = ("low rank", "low rank + random sparse", "LOST channels")

#: Largest layer side and sample count of the study (a toy: it trains dense layers in full batch).
MAX_SIDE = 2048
MAX_SAMPLES = 20000
MAX_STEPS = 100000


class OutlierTarget(NamedTuple):
    """A target ``W = L + C``: ``L`` of rank ``rank`` plus ``C`` non-zero on the columns ``outliers``."""

    W: np.ndarray  #: (m, n)
    outliers: np.ndarray  #: (n_outliers,) ascending input channels carrying C
    lowrank_part: np.ndarray  #: (m, n) the rank-``rank`` part L


class ChannelStudy(NamedTuple):
    """Per-seed results of :func:`channel_regression_study` (rows follow :data:`METHODS`)."""

    seeds: np.ndarray  #: (s,)
    test_mse: np.ndarray  #: (3, s) noiseless test mean squared error per output after training
    init_mse: np.ndarray  #: (3, s) the same at initialisation (from the warm-up's decomposition)
    parameters: np.ndarray  #: (3,) trainable parameters of each parametrisation
    channel_hits: np.ndarray  #: (s,) outlier channels among LOST's selected channels
    ranks: np.ndarray  #: (3,) rank of each parametrisation


def outlier_channel_target(out_features: int, in_features: int, rank: int, n_outliers: int, outlier_scale: float,
                           seed: SeedLike) -> OutlierTarget:
    """Draw ``W = G_1 G_2 / sqrt(n) + C``: a rank-``rank`` part plus heavy input channels.

    ``G_1`` (m, r) and ``G_2`` (r, n) have standard normal entries, so each entry of the low-rank part
    has variance ``r / n``; ``C`` has ``n_outliers`` non-zero columns, drawn uniformly among the ``n``,
    with normal entries of standard deviation ``outlier_scale`` (mimicking the outlier features of
    large language models; the scale is the chapter's choice, not the paper's).

    Parameters
    ----------
    out_features, in_features : int
        ``m`` and ``n`` in ``[1, 2048]``.
    rank : int
        ``r`` in ``[0, min(m, n)]``.
    n_outliers : int
        In ``[0, n]``.
    outlier_scale : float
        Standard deviation of the outlier entries, in ``[0, 1e6]``.
    seed : int, SeedSequence or Generator

    Returns
    -------
    OutlierTarget

    Raises
    ------
    ValueError
        If an argument is out of range.
    TypeError
        If an argument has the wrong type.

    Examples
    --------
    >>> t = outlier_channel_target(16, 12, 2, 3, 1.0, seed=0)
    >>> t.W.shape, t.outliers.size, int(np.linalg.matrix_rank(t.lowrank_part))
    ((16, 12), 3, 2)
    """
    m = check_int(out_features, "out_features", low=1, high=MAX_SIDE)
    n = check_int(in_features, "in_features", low=1, high=MAX_SIDE)
    r = check_int(rank, "rank", low=0, high=min(m, n))
    k = check_int(n_outliers, "n_outliers", low=0, high=n)
    scale = check_real(outlier_scale, "outlier_scale", low=0.0, high=1e6)
    rng = as_generator(seed)
    L = rng.standard_normal((m, r)) @ rng.standard_normal((r, n)) / np.sqrt(n)
    outliers = np.sort(rng.choice(n, size=k, replace=False)).astype(np.int64)
    W = L.copy()
    W[:, outliers] += scale * rng.standard_normal((m, k))
    return OutlierTarget(W, outliers, L)


def channel_regression_study(seeds, *, out_features: int = 128, in_features: int = 128, true_rank: int = 8,
                             n_outliers: int = 6, outlier_scale: float = 1.0, rank: int = 8, n_channels: int = 6,
                             n_train: int = 512, n_test: int = 2048, noise: float = 0.1, warmup_steps: int = 50,
                             steps: int = 300, lr: float = 0.01) -> ChannelStudy:
    """Fit a linear map to ``y = W x + noise`` with three parametrisations of equal parameter count.

    For each seed: draw the target with :func:`outlier_channel_target`, inputs ``x ~ N(0, I_n)``
    (``n_train`` for training, ``n_test`` noiseless for testing), train a dense bias-free layer for
    ``warmup_steps`` full-batch Adam steps, then initialise each parametrisation from that warm-up
    weight and train it ``steps`` further steps at rate ``lr``:

    * low rank only: :func:`best_rank_approximation` at the largest rank within LOST's budget
      ``rank (m + n) + m n_channels`` (:func:`rank_for_budget`);
    * low rank + random sparse: rank ``rank`` plus the residual on ``m n_channels`` random entries
      (:func:`random_support_decomposition`), support fixed;
    * LOST: :func:`lost_decomposition` with ``rank`` and ``n_channels``, channels fixed.

    With isotropic inputs the noiseless test error per output is ``||W_fit - W||_F^2 / m`` up to
    sampling error, so it measures how close each class gets to the target. The defaults (a 128x128
    layer, outlier scale 1, 512 samples, Adam at 0.01) are the chapter's single setting, chosen so that
    five seeds train in a few seconds on one CPU thread; they are not tuned per method.

    Parameters
    ----------
    seeds : array_like of int, shape (s,)
        Non-negative seeds, at least one.
    out_features, in_features : int
        ``m``, ``n`` in ``[1, 2048]``.
    true_rank, n_outliers, outlier_scale :
        The target's parameters (see :func:`outlier_channel_target`).
    rank : int
        Rank of the low-rank + sparse parametrisations, in ``[0, min(m, n)]``.
    n_channels : int
        LOST's channels ``k`` in ``[0, n]``; the random support has ``m k`` entries.
    n_train, n_test : int
        Sample counts in ``[1, 20000]``.
    noise : float
        Standard deviation of the training noise, in ``[0, 1e3]``.
    warmup_steps, steps : int
        Adam steps, in ``[1, 100000]``.
    lr : float
        Adam learning rate, in ``(0, 1]``.

    Returns
    -------
    ChannelStudy

    Raises
    ------
    ValueError
        If an argument is out of range.
    FloatingPointError
        If training diverges (raised by :func:`lossbook.training.train`).
    TypeError
        If an argument has the wrong type.

    Examples
    --------
    >>> st = channel_regression_study([0], out_features=16, in_features=16, true_rank=2, n_outliers=2,
    ...                               rank=2, n_channels=2, n_train=64, n_test=64, steps=20)
    >>> st.parameters.tolist()
    [96, 96, 96]
    """
    torch = require_torch()
    from ..training import seeded, train

    seeds = check_array(seeds, "seeds", ndim=1, dtype=np.int64, low=0, min_size=1)
    m = check_int(out_features, "out_features", low=1, high=MAX_SIDE)
    n = check_int(in_features, "in_features", low=1, high=MAX_SIDE)
    check_int(true_rank, "true_rank", low=0, high=min(m, n))
    check_int(n_outliers, "n_outliers", low=0, high=n)
    r = check_int(rank, "rank", low=0, high=min(m, n))
    k = check_int(n_channels, "n_channels", low=0, high=n)
    n_train = check_int(n_train, "n_train", low=1, high=MAX_SAMPLES)
    n_test = check_int(n_test, "n_test", low=1, high=MAX_SAMPLES)
    noise = check_real(noise, "noise", low=0.0, high=1e3)
    warmup_steps = check_int(warmup_steps, "warmup_steps", low=1, high=MAX_STEPS)
    steps = check_int(steps, "steps", low=1, high=MAX_STEPS)
    lr = check_real(lr, "lr", low=0.0, low_open=True, high=1.0)
    budget = r * (m + n) + m * k
    r_low = rank_for_budget(m, n, budget)
    params = np.array([r_low * (m + n), budget, budget])

    def mse(out, target):
        return torch.mean((out - target) ** 2)

    test_mse = np.empty((3, seeds.size))
    init_mse = np.empty((3, seeds.size))
    hits = np.empty(seeds.size, dtype=np.int64)
    for i, seed in enumerate(seeds):
        rng = as_generator(int(seed))
        target = outlier_channel_target(m, n, true_rank, n_outliers, outlier_scale, seed=rng)
        X = rng.standard_normal((n_train, n))
        Y = X @ target.W.T + noise * rng.standard_normal((n_train, m))
        X_test = torch.tensor(rng.standard_normal((n_test, n)), dtype=torch.float32)
        Y_test = X_test @ torch.tensor(target.W.T, dtype=torch.float32)
        with seeded(int(seed)):
            dense = torch.nn.Linear(n, m, bias=False)
        train(dense, mse, X, Y, epochs=warmup_steps, lr=lr, seed=int(seed), optimizer="adam")
        W0 = dense.weight.detach().double().numpy()
        low = best_rank_approximation(W0, r_low)
        rnd = random_support_decomposition(W0, r, m * k, seed=rng)
        lost = lost_decomposition(W0, r, k)
        hits[i] = np.intersect1d(lost.channels, target.outliers).size
        models = (lost_linear(low.B, low.A, np.zeros(0, dtype=np.int64), np.zeros((m, 0))),
                  random_support_linear(rnd.B, rnd.A, rnd.rows, rnd.cols, rnd.values),
                  lost_linear(lost.B, lost.A, lost.channels, lost.S))
        for j, model in enumerate(models):
            with torch.no_grad():
                init_mse[j, i] = float(mse(model(X_test), Y_test))
            train(model, mse, X, Y, epochs=steps, lr=lr, seed=int(seed), optimizer="adam")
            with torch.no_grad():
                test_mse[j, i] = float(mse(model(X_test), Y_test))
    return ChannelStudy(seeds, test_mse, init_mse, params, hits, np.array([r_low, r, r]))
