"""The chapter's label-noise experiment: a small MLP trained with BCE, hinge, exponential loss and EnsLoss."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .._rng import as_generator
from .._torch import require_torch
from .._validate import check_int, check_real
from ..progress import progress
from .torch_losses import MARGIN_LOSSES, ensloss_loss_torch, margin_loss_torch

__all__ = ["LOSSES", "LabelNoiseStudy", "label_noise_study"]

#: the losses compared, in the order of the chapter's tables
LOSSES = (*MARGIN_LOSSES, "ensloss")


class LabelNoiseStudy(NamedTuple):
    """Per-seed test-accuracy curves of each loss (``test_accuracy[loss]`` has shape (seeds, epochs)).

    ``train_accuracy_noisy[loss]``: final accuracy on the noisy training labels (memorisation);
    ``flip_rates``: the realised flip rate of each seed.
    """

    seeds: tuple
    epochs: np.ndarray
    test_accuracy: dict
    train_accuracy_noisy: dict
    flip_rates: np.ndarray


def label_noise_study(seeds, *, n_train: int = 200, n_test: int = 2000, dim: int = 20,
                      separation: float = 1.5, flip_rate: float = 0.2, hidden: int = 128,
                      epochs: int = 300, lr: float = 2e-3) -> LabelNoiseStudy:
    """Train one MLP per loss and seed on data with flipped training labels; record test accuracy per epoch.

    Each seed draws two Gaussian classes (:func:`lossbook.datasets.gaussian_mixture_data`, ``dim``
    dimensions, means of norm ``separation`` along orthonormal directions, unit noise; balanced),
    flips each training label with probability ``flip_rate`` (:func:`lossbook.datasets.flip_labels`;
    test labels stay clean), and trains ``Linear(dim, hidden) - ReLU - Linear(hidden, 1)`` from the
    same initialisation with each of :data:`LOSSES`, full batch with Adam for ``epochs`` steps.
    The defaults were set once, on seeds 0-1, so that every loss first peaks and then memorises the
    noisy labels within 300 steps; they are the same for every loss (not tuned per loss) and are not
    calibrated for other data.

    Parameters
    ----------
    seeds : sequence of int
        At least one non-negative seed.
    n_train, n_test : int
        Sizes of the training and test sets, each in ``[10, 10**6]``.
    dim : int, default 20
        Input dimension in ``[2, 10**4]``.
    separation : float, default 1.5
        Norm of each class mean, ``> 0``.
    flip_rate : float, default 0.2
        Label-flip probability in ``[0, 0.5)``.
    hidden : int, default 128
        Hidden width in ``[1, 10**4]``.
    epochs : int, default 300
        Full-batch Adam steps in ``[1, 10**5]``.
    lr : float, default 2e-3
        Adam learning rate in ``(0, 1]``.

    Returns
    -------
    LabelNoiseStudy

    Raises
    ------
    ValueError, TypeError
        For a bad argument (the message names it). ``FloatingPointError`` if a loss overflows.

    Examples
    --------
    >>> s = label_noise_study([0], n_train=40, n_test=100, hidden=8, epochs=3)
    >>> s.test_accuracy["ensloss"].shape
    (1, 3)
    """
    torch = require_torch()
    from lossbook.datasets import flip_labels, gaussian_mixture_data
    from lossbook.training import seeded, train

    seeds = tuple(check_int(s, "seeds", low=0) for s in seeds)
    if not seeds:
        raise ValueError("seeds must contain at least one seed")
    n_train = check_int(n_train, "n_train", low=10, high=10**6)
    n_test = check_int(n_test, "n_test", low=10, high=10**6)
    dim = check_int(dim, "dim", low=2, high=10**4)
    separation = check_real(separation, "separation", low=0.0, low_open=True, high=1e6)
    flip_rate = check_real(flip_rate, "flip_rate", low=0.0, high=0.5, high_open=True)
    hidden = check_int(hidden, "hidden", low=1, high=10**4)
    epochs = check_int(epochs, "epochs", low=1, high=10**5)
    lr = check_real(lr, "lr", low=0.0, low_open=True, high=1.0)

    curves = {k: [] for k in LOSSES}
    memorised = {k: [] for k in LOSSES}
    rates = []
    for seed in progress(seeds, desc="seeds"):
        rng = as_generator(seed)
        half = (n_train + n_test) // 2
        data = gaussian_mixture_data([half, n_train + n_test - half], dim, separation=separation, seed=rng)
        Xtr, ytr = data.X[:n_train], data.y[:n_train]
        Xte, yte = data.X[n_train:], data.y[n_train:]
        noisy = flip_labels(ytr, 2, flip_rate, seed=rng)
        rates.append(noisy.flip_rate)
        init_seed = int(rng.integers(0, 2**31))
        train_seed = int(rng.integers(0, 2**31))
        Xte_t = torch.as_tensor(Xte, dtype=torch.float32)
        yte_t = torch.as_tensor(yte)

        def test_accuracy(model, Xte_t=Xte_t, yte_t=yte_t):
            return {"acc": float(((model(Xte_t).reshape(-1) > 0).long() == yte_t).float().mean())}

        for name in LOSSES:
            with seeded(init_seed):
                model = torch.nn.Sequential(torch.nn.Linear(dim, hidden), torch.nn.ReLU(),
                                            torch.nn.Linear(hidden, 1))
            loss = ensloss_loss_torch(train_seed) if name == "ensloss" else margin_loss_torch(name)
            hist = train(model, loss, Xtr, noisy.y, epochs=epochs, lr=lr, seed=train_seed, optimizer="adam",
                         evaluate=test_accuracy)
            curves[name].append(hist.metrics["acc"])
            with torch.no_grad():
                pred = (model(torch.as_tensor(Xtr, dtype=torch.float32)).reshape(-1) > 0).long().numpy()
            memorised[name].append(float(np.mean(pred == noisy.y)))
    return LabelNoiseStudy(seeds, np.arange(1, epochs + 1), {k: np.asarray(v) for k, v in curves.items()},
                           {k: np.asarray(v) for k, v in memorised.items()}, np.asarray(rates))
