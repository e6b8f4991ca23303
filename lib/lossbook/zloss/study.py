"""Top-k accuracy of a linear classifier trained with log-softmax cross-entropy or the Z-loss."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .._rng import as_generator
from .._torch import require_torch
from .._validate import check_int, check_real
from .loss import _check_ab, z_loss_torch

__all__ = ["TopKResult", "topk_study"]


class TopKResult(NamedTuple):
    """Test accuracies of one trained model: ``top1`` and ``top5`` (fractions), and the method label."""

    method: str
    seed: int
    top1: float
    top5: float


def _topk(scores, y, k):
    idx = np.argpartition(-scores, k - 1, axis=1)[:, :k]
    return float(np.mean(np.any(idx == y[:, None], axis=1)))


def topk_study(seeds, *, zloss_params=((1.0, 0.0),), n_classes=100, dim=20, per_class=40, separation=3.0,
               epochs=100, lr=0.05):
    """Train a linear classifier with cross-entropy and with the Z-loss on the same data, per seed.

    Data: ``lossbook.datasets.gaussian_mixture_data`` with ``n_classes`` classes of ``2 per_class``
    points in ``dim`` dimensions (unit noise), split in half into training and test sets. Model:
    ``torch.nn.Linear(dim, n_classes)`` initialised identically for every method of a seed,
    trained full batch with Adam (``lr``, ``epochs``) on one thread. The defaults were chosen by hand
    for the chapter's toy setting only (100 classes in 20 dimensions, top-1 accuracy well below 1
    so that top-5 differs from it); they are not tuned per method.

    Parameters
    ----------
    seeds : sequence of int
        One data set and one initialisation per seed (1 to 100 seeds).
    zloss_params : sequence of (a, b)
        Z-loss settings to train besides cross-entropy (1 to 10 pairs, each as in
        :func:`lossbook.zloss.z_loss`).
    n_classes : int
        ``D``, from 6 to 1000.
    dim : int
        Input dimension, 1 to 1000.
    per_class : int
        Training points per class (as many test points), 1 to 1000.
    separation : float
        Norm of the class means, in ``(0, 100]``.
    epochs : int
        Full-batch Adam steps, 1 to 10000.
    lr : float
        Adam learning rate, in ``(0, 10]``.

    Returns
    -------
    dict[str, list[TopKResult]]
        Keys ``"softmax"`` and ``"z(a=..., b=...)"``, each a list over ``seeds``.

    Raises
    ------
    ValueError, TypeError
        for a bad argument (the message names it); FloatingPointError if training diverges.

    Examples
    --------
    >>> res = topk_study([0], n_classes=10, dim=5, per_class=10, epochs=5)
    >>> sorted(res), len(res["softmax"])
    (['softmax', 'z(a=1, b=0)'], 1)
    """
    torch = require_torch()
    from ..datasets import gaussian_mixture_data
    from ..training import seeded, train

    seeds = [check_int(s, "seeds", low=0) for s in seeds]
    if not 1 <= len(seeds) <= 100:
        raise ValueError(f"seeds must hold 1 to 100 seeds, got {len(seeds)}")
    params = []
    for p in zloss_params:
        try:
            params.append(tuple(_check_ab(*p)))
        except (TypeError, ValueError) as exc:
            raise type(exc)(f"zloss_params must hold (a, b) pairs: {exc}") from None
    if not 1 <= len(params) <= 10:
        raise ValueError(f"zloss_params must hold 1 to 10 (a, b) pairs, got {len(params)}")
    K = check_int(n_classes, "n_classes", low=6, high=1000)
    dim = check_int(dim, "dim", low=1, high=1000)
    m = check_int(per_class, "per_class", low=1, high=1000)
    separation = check_real(separation, "separation", low=0.0, low_open=True, high=100.0)
    epochs = check_int(epochs, "epochs", low=1, high=10_000)
    lr = check_real(lr, "lr", low=0.0, low_open=True, high=10.0)

    def ce(out, y):
        return torch.nn.functional.cross_entropy(out, y)

    def zl(a, b):
        return lambda out, y: z_loss_torch(out, y, a, b).mean()

    methods = [("softmax", ce)] + [(f"z(a={a:g}, b={b:g})", zl(a, b)) for a, b in params]
    results = {name: [] for name, _ in methods}
    for seed in seeds:
        rng = as_generator(seed)
        data = gaussian_mixture_data([2 * m] * K, dim, separation=separation, seed=rng)
        half = K * m
        X_tr, y_tr, X_te, y_te = data.X[:half], data.y[:half], data.X[half:], data.y[half:]
        init_seed = int(rng.integers(0, 2**31))
        Xt = torch.as_tensor(X_te, dtype=torch.float32)
        for name, loss_fn in methods:
            with seeded(init_seed):
                model = torch.nn.Linear(dim, K)
            train(model, loss_fn, X_tr, y_tr, epochs=epochs, lr=lr, seed=init_seed, optimizer="adam")
            with torch.no_grad():
                scores = model(Xt).double().numpy()
            results[name].append(TopKResult(name, seed, _topk(scores, y_te, 1), _topk(scores, y_te, 5)))
    return results
