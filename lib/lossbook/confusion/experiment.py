"""The chapter's imbalanced-data experiment: logistic regression trained with BCE or AnyLoss, over seeds."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from lossbook._rng import as_generator
from lossbook._torch import require_torch
from lossbook._validate import check_int, check_real
from lossbook.confusion.soft_metrics import (
    DEFAULT_L,
    _anyloss_torch_unchecked,
    anyloss_torch,
    confusion_metric,
    soft_confusion,
)
from lossbook.datasets import gaussian_mixture_data
from lossbook.progress import progress

__all__ = ["LOSSES", "ImbalanceStudy", "imbalance_study"]

#: Training losses compared by :func:`imbalance_study`.
LOSSES = ("bce", "anyloss_f1", "anyloss_bacc")
_EVAL = ("accuracy", "f1", "balanced_accuracy", "gmean")


class ImbalanceStudy(NamedTuple):
    """Test metrics at threshold 1/2: ``results[loss][metric]`` is one value per seed (in ``seeds`` order).

    ``recall`` and ``predicted_positive`` (fraction of test points predicted positive; 0 or 1 means the
    model collapsed to one class) are included; ``pos_fraction_train`` is the realised positive
    fraction of each training set.
    """

    seeds: tuple
    results: dict
    pos_fraction_train: np.ndarray


def imbalance_study(seeds, *, n_train: int = 2000, n_test: int = 20000, pos_fraction: float = 0.05,
                    separation: float = 2.0, epochs: int = 300, lr: float = 0.05,
                    L: float = DEFAULT_L) -> ImbalanceStudy:
    """Train a logistic regression with BCE, AnyLoss-F1 and AnyLoss-BAcc on the same data, per seed.

    The data are two isotropic Gaussian classes in two dimensions (unit noise, means ``separation``
    times orthonormal directions, so ``separation * sqrt(2)`` apart) with a fraction ``pos_fraction``
    of positives; each seed draws new means, a training and a test set. The model
    ``torch.nn.Linear(2, 1)`` is trained full batch with Adam for ``epochs`` steps from the same
    initialisation for all three losses, and evaluated on the test set at threshold 1/2. The defaults
    ``lr=0.05, epochs=300`` were set on seeds 0-9 at ``separation=2.0``: with 150 steps two AnyLoss-F1
    runs were still predicting every point positive and BCE's F1 was still rising. They are the same for
    every loss (not tuned per loss) and are not calibrated for other data.

    Parameters
    ----------
    seeds : sequence of int
        At least one non-negative seed.
    n_train, n_test : int
        Sizes of the training and test sets, each ``>= 50``.
    pos_fraction : float, default 0.05
        Fraction of positives, in ``(0, 0.5]``.
    separation : float, default 2.0
        Norm of each class mean, in ``(0, 1e6]``.
    epochs : int, default 300
        Full-batch Adam steps, ``>= 1``.
    lr : float, default 0.05
        Adam learning rate, in ``(0, 10]``.
    L : float, default 73
        Amplification of AnyLoss.

    Returns
    -------
    ImbalanceStudy

    Raises
    ------
    ValueError
        for out-of-range sizes, fractions or seeds, or when a seed's random split leaves the training or
        the test set without positives ("a split has no positives": raise ``pos_fraction`` or the sizes).

    Examples
    --------
    >>> s = imbalance_study([0], n_train=400, n_test=1000, epochs=20)
    >>> sorted(s.results), len(s.results["bce"]["f1"])
    (['anyloss_bacc', 'anyloss_f1', 'bce'], 1)
    """
    torch = require_torch()
    from lossbook.training import seeded, train

    seeds = tuple(check_int(s, "seeds", low=0) for s in seeds)
    if not seeds:
        raise ValueError("seeds must contain at least one seed")
    n_train = check_int(n_train, "n_train", low=50, high=10**7)
    n_test = check_int(n_test, "n_test", low=50, high=10**7)
    pos_fraction = check_real(pos_fraction, "pos_fraction", low=0.0, high=0.5, low_open=True)
    separation = check_real(separation, "separation", low=0.0, low_open=True, high=1e6)
    epochs = check_int(epochs, "epochs", low=1, high=10**6)
    lr = check_real(lr, "lr", low=0.0, low_open=True, high=10.0)
    L = check_real(L, "L", low=0.0, low_open=True)

    def bce(out, t):
        return torch.nn.functional.binary_cross_entropy_with_logits(out.reshape(-1), t.to(out.dtype))

    def make_anyloss(metric, ytr):
        # validated once here (labels binary, both classes present), then the unchecked core per step
        yt = torch.as_tensor(ytr, dtype=torch.float32)
        anyloss_torch(torch.full_like(yt, 0.5), yt, metric, L)
        P = float(ytr.sum())
        N = float(ytr.size - P)
        return lambda out, t: _anyloss_torch_unchecked(torch, torch.sigmoid(out).reshape(-1),
                                                       t.to(out.dtype), P, N, metric, L, 1.0)

    results = {k: {m: [] for m in (*_EVAL, "recall", "predicted_positive")} for k in LOSSES}
    fractions = []
    for seed in progress(seeds, desc="seeds"):
        rng = as_generator(seed)
        n = n_train + n_test
        n_pos = int(round(pos_fraction * n))
        data = gaussian_mixture_data([n - n_pos, n_pos], 2, separation=separation, noise=1.0, seed=rng)
        Xtr, ytr = data.X[:n_train], data.y[:n_train]
        Xte, yte = data.X[n_train:], data.y[n_train:]
        if ytr.sum() == 0 or yte.sum() == 0:
            raise ValueError("a split has no positives; increase n_train/n_test or pos_fraction")
        fractions.append(float(ytr.mean()))
        init_seed = int(rng.integers(0, 2**31))
        train_seed = int(rng.integers(0, 2**31))
        loss_fns = {"bce": bce, "anyloss_f1": make_anyloss("f1", ytr),
                    "anyloss_bacc": make_anyloss("balanced_accuracy", ytr)}
        for name in LOSSES:
            with seeded(init_seed):
                model = torch.nn.Linear(2, 1)
            train(model, loss_fns[name], Xtr, ytr, epochs=epochs, lr=lr, seed=train_seed, optimizer="adam")
            with torch.no_grad():
                logits = model(torch.as_tensor(Xte, dtype=torch.float32)).reshape(-1).numpy()
            counts = soft_confusion((logits > 0).astype(np.float64), yte)
            for m in _EVAL:
                results[name][m].append(confusion_metric(counts, m))
            results[name]["recall"].append(counts.tp / (counts.tp + counts.fn))
            results[name]["predicted_positive"].append((counts.tp + counts.fp) / yte.size)
    results = {k: {m: np.asarray(v) for m, v in d.items()} for k, d in results.items()}
    return ImbalanceStudy(seeds, results, np.asarray(fractions))
