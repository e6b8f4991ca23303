"""A small PyTorch experiment: an MLP trained past zero training error with MSE and split weight decay,
with the collapse metrics of its last hidden layer recorded along training.

PyTorch is imported inside the functions, so ``import lossbook.collapse`` stays light. Several
weight-decay settings are trained side by side as one batch of independent networks (batched
matrix products), which costs little more than one network: for networks this small the time per
step is interpreter and dispatch overhead, not arithmetic.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .._rng import SeedLike, as_generator
from .._torch import require_torch
from .._validate import check_array, check_int, check_labels, check_real, check_size
from .metrics import collapse_metrics

__all__ = ["CollapseTrace", "gaussian_mixture", "train_mlp_collapse", "train_mlp_collapse_grid"]


class CollapseTrace(NamedTuple):
    """Metrics recorded every ``record_every`` epochs of :func:`train_mlp_collapse`."""

    epoch: np.ndarray
    loss: np.ndarray
    train_error: np.ndarray
    nc1: np.ndarray
    nc1_trace: np.ndarray
    nc2_etf: np.ndarray
    nc3: np.ndarray


def gaussian_mixture(
    K: int, n: int, p: int, *, separation: float = 1.0, seed: SeedLike
) -> tuple[np.ndarray, np.ndarray]:
    """``n`` points per class from ``N(mu_k, I_p)`` with ``mu_k ~ N(0, separation^2 I_p)``; rows are samples.

    Parameters
    ----------
    K, n, p : int
        Classes (``>= 2``), points per class (``>= 1``), dimension (``>= 1``).
    separation : float
        Standard deviation of the class centres, in ``[0, 1e300]`` (so the points stay finite).
    seed : int, SeedSequence or Generator
        Randomness of centres and points.

    Returns
    -------
    X : ndarray, shape (K n, p)
    y : ndarray of int, shape (K n,)
        Labels, ordered by class.

    Examples
    --------
    >>> X, y = gaussian_mixture(3, 5, 2, seed=0)
    >>> X.shape, np.bincount(y).tolist()
    ((15, 2), [5, 5, 5])
    """
    K = check_int(K, "K", low=2)
    n = check_int(n, "n", low=1)
    p = check_int(p, "p", low=1)
    check_size(K * n * p, "K * n * p")
    separation = check_real(separation, "separation", low=0.0, high=1e300)
    rng = as_generator(seed)
    mu = separation * rng.standard_normal((K, p))
    X = np.repeat(mu, n, axis=0) + rng.standard_normal((K * n, p))
    return X, np.repeat(np.arange(K), n)


def train_mlp_collapse_grid(
    X,
    y,
    weight_decays,
    *,
    width: int = 32,
    depth: int = 3,
    lr: float = 0.05,
    momentum: float = 0.9,
    epochs: int = 1500,
    record_every: int = 50,
    seed: SeedLike,
) -> list[CollapseTrace]:
    r"""Train one MLP per weight-decay setting, from the same initialisation, and record collapse metrics.

    Each network is ``depth`` ReLU layers of width ``width`` (their output is the feature matrix
    :math:`H`) followed by a bias-free linear classifier :math:`W`, trained on the half squared
    error to one-hot targets, averaged over samples, by full-batch SGD with momentum (heavy ball,
    no dampening; PyTorch's ``SGD`` update). Setting ``(wd_features, wd_classifier)`` adds
    ``wd_features * p`` to the gradient of every hidden-layer parameter (the analogue of
    :math:`\lambda_H`, which penalises the features) and ``wd_classifier * W`` to the classifier's
    (:math:`\lambda_W`), as in the weight-decay ablation of Tirer, Huang & Niles-Weed (2023, Sec. 5).
    All settings start from the same seeded initialisation and are trained as one batch of
    independent networks. Runs on CPU, float64, one thread; PyTorch's thread count and global
    random state are restored afterwards.

    Parameters
    ----------
    X : array_like, shape (N, p)
        Inputs, one sample per row.
    y : array_like of int, shape (N,)
        Labels in ``0..K-1``, ``K >= 2``, every class present.
    weight_decays : sequence of (float, float)
        ``(wd_features, wd_classifier)`` pairs, each ``>= 0``; at least one.
    width, depth : int
        Hidden width and number of hidden ReLU layers (``>= 1``).
    lr : float
        Learning rate, ``> 0``.
    momentum : float
        Momentum in ``[0, 1)``.
    epochs : int
        Number of full-batch steps, ``>= 1``.
    record_every : int
        Record the metrics every this many steps (and after the last one), ``>= 1``.
    seed : int, SeedSequence or Generator
        Fixes the initialisation.

    Returns
    -------
    list of CollapseTrace
        One trace per setting, in the order of ``weight_decays``.

    Raises
    ------
    FloatingPointError
        If training diverges (a non-finite loss: lower ``lr``, the weight decays or the input scale).

    Examples
    --------
    >>> X, y = gaussian_mixture(3, 10, 4, seed=0)
    >>> traces = train_mlp_collapse_grid(X, y, [(1e-3, 1e-3), (0.0, 1e-3)], epochs=20, record_every=10, seed=0)
    >>> len(traces), traces[0].epoch.tolist()
    (2, [0, 10, 20])
    """
    torch = require_torch()

    X = check_array(X, "X", ndim=2, min_size=1)
    y = check_labels(y, "y", np.iinfo(np.int64).max)
    if y.shape[0] != X.shape[0]:
        raise ValueError(f"y must have one label per row of X ({X.shape[0]}), got {y.shape[0]}")
    K = int(y.max()) + 1
    if K < 2:
        raise ValueError(f"y must contain at least 2 classes (labels 0..K-1), got K = {K}")
    if np.any(np.bincount(y, minlength=K) == 0):
        raise ValueError("y must contain every class in 0..max(y) at least once")
    try:
        wds = np.asarray(weight_decays, dtype=float)
    except (TypeError, ValueError):
        raise TypeError(f"weight_decays must be a sequence of (wd_features, wd_classifier) pairs of floats, "
                        f"got {type(weight_decays).__name__}") from None
    if wds.ndim != 2 or wds.shape[1] != 2 or wds.shape[0] < 1:
        raise ValueError(f"weight_decays must be a non-empty sequence of (wd_features, wd_classifier) pairs, "
                         f"got shape {wds.shape}")
    for i, (a, b) in enumerate(wds):
        check_real(a, f"weight_decays[{i}][0] (wd_features)", low=0.0)
        check_real(b, f"weight_decays[{i}][1] (wd_classifier)", low=0.0)
    width = check_int(width, "width", low=1)
    depth = check_int(depth, "depth", low=1)
    lr = check_real(lr, "lr", low=0.0, low_open=True)
    momentum = check_real(momentum, "momentum", low=0.0, high=1.0, high_open=True)
    epochs = check_int(epochs, "epochs", low=1)
    record_every = check_int(record_every, "record_every", low=1)
    torch_seed = int(as_generator(seed).integers(0, 2**31 - 1))
    S = wds.shape[0]

    prev_threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(torch_seed)
            layers, fan_in = [], X.shape[1]
            for _ in range(depth):  # PyTorch's default Linear initialisation, shared by all settings
                layers.append(torch.nn.Linear(fan_in, width, dtype=torch.float64))
                fan_in = width
            fc0 = torch.nn.Linear(width, K, bias=False, dtype=torch.float64)
        # one copy of every parameter per setting: weights (S, out, in), biases (S, 1, out)
        Ws = [lin.weight.detach().expand(S, -1, -1).clone().requires_grad_(True) for lin in layers]
        bs = [lin.bias.detach().expand(S, 1, -1).clone().requires_grad_(True) for lin in layers]
        fc = fc0.weight.detach().expand(S, -1, -1).clone().requires_grad_(True)
        wd_f = torch.as_tensor(wds[:, 0]).view(S, 1, 1)
        wd_c = torch.as_tensor(wds[:, 1]).view(S, 1, 1)
        groups = [(p, wd_f) for p in [*Ws, *bs]] + [(fc, wd_c)]
        bufs: list = [None] * len(groups)
        Xt = torch.as_tensor(X).expand(S, -1, -1)
        yt = torch.as_tensor(y)
        target = torch.nn.functional.one_hot(yt, K).double()
        rec: list[list[tuple]] = [[] for _ in range(S)]
        for ep in range(epochs + 1):
            A = Xt
            for W_, b_ in zip(Ws, bs, strict=True):
                A = torch.relu(torch.baddbmm(b_, A, W_.transpose(1, 2)))
            out = torch.bmm(A, fc.transpose(1, 2))
            losses = 0.5 * ((out - target) ** 2).sum(dim=2).mean(dim=1)  # (S,): each network's own loss
            if not bool(torch.isfinite(losses).all()):
                raise FloatingPointError(f"training diverged at epoch {ep}; lower lr (got {lr})")
            if ep % record_every == 0 or ep == epochs:
                with torch.no_grad():
                    pred = out.argmax(dim=2)
                    for s in range(S):
                        m = collapse_metrics(A[s].numpy().T, y, W=fc[s].numpy(), n_classes=K)
                        err = float((pred[s] != yt).double().mean())
                        rec[s].append((ep, float(losses[s]), err, m.nc1, m.nc1_trace, m.nc2_etf, m.nc3))
            if ep == epochs:
                break
            for p, _ in groups:
                p.grad = None
            losses.sum().backward()  # the networks share no parameters: each gets its own gradient
            with torch.no_grad():
                for i, (p, wd) in enumerate(groups):
                    d_p = p.grad + wd * p
                    if momentum > 0:
                        bufs[i] = d_p.clone() if bufs[i] is None else bufs[i].mul_(momentum).add_(d_p)
                        d_p = bufs[i]
                    p.sub_(lr * d_p)
    finally:
        torch.set_num_threads(prev_threads)
    traces = []
    for r in rec:
        cols = list(zip(*r, strict=True))
        traces.append(CollapseTrace(np.array(cols[0], dtype=np.int64), *(np.array(c, dtype=float) for c in cols[1:])))
    return traces


def train_mlp_collapse(
    X,
    y,
    *,
    width: int = 32,
    depth: int = 3,
    wd_features: float = 1e-3,
    wd_classifier: float = 1e-3,
    lr: float = 0.05,
    momentum: float = 0.9,
    epochs: int = 1500,
    record_every: int = 50,
    seed: SeedLike,
) -> CollapseTrace:
    r"""Train one MLP with weight decays ``(wd_features, wd_classifier)``; see :func:`train_mlp_collapse_grid`.

    Raises
    ------
    FloatingPointError
        If training diverges (a non-finite loss: lower ``lr``, the weight decays or the input scale).

    Examples
    --------
    >>> X, y = gaussian_mixture(3, 10, 4, seed=0)
    >>> tr = train_mlp_collapse(X, y, epochs=20, record_every=10, seed=0)
    >>> tr.epoch.tolist()
    [0, 10, 20]
    """
    wd_features = check_real(wd_features, "wd_features", low=0.0)
    wd_classifier = check_real(wd_classifier, "wd_classifier", low=0.0)
    return train_mlp_collapse_grid(X, y, [(wd_features, wd_classifier)], width=width, depth=depth, lr=lr,
                                   momentum=momentum, epochs=epochs, record_every=record_every, seed=seed)[0]
