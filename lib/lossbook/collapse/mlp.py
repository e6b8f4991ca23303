"""A small PyTorch experiment: an MLP trained past zero training error with MSE and split weight decay,
with the collapse metrics of its last hidden layer recorded along training.

PyTorch is imported inside the functions, so ``import lossbook.collapse`` stays light.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .._rng import SeedLike, as_generator
from .._validate import check_array, check_int, check_labels, check_real
from .metrics import collapse_metrics

__all__ = ["CollapseTrace", "gaussian_mixture", "train_mlp_collapse"]


class CollapseTrace(NamedTuple):
    """Metrics recorded every ``record_every`` epochs of :func:`train_mlp_collapse`."""

    epoch: np.ndarray
    loss: np.ndarray
    train_error: np.ndarray
    nc1: np.ndarray
    nc1_trace: np.ndarray
    nc2_etf: np.ndarray
    nc3: np.ndarray


def gaussian_mixture(K: int, n: int, p: int, *, separation: float = 1.0, seed: SeedLike):
    """``n`` points per class from ``N(mu_k, I_p)`` with ``mu_k ~ N(0, separation^2 I_p)``; rows are samples.

    Examples
    --------
    >>> X, y = gaussian_mixture(3, 5, 2, seed=0)
    >>> X.shape, np.bincount(y).tolist()
    ((15, 2), [5, 5, 5])
    """
    K = check_int(K, "K", low=2)
    n = check_int(n, "n", low=1)
    p = check_int(p, "p", low=1)
    separation = check_real(separation, "separation", low=0.0)
    rng = as_generator(seed)
    mu = separation * rng.standard_normal((K, p))
    X = np.repeat(mu, n, axis=0) + rng.standard_normal((K * n, p))
    return X, np.repeat(np.arange(K), n)


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
    r"""Train ``depth`` ReLU layers + a bias-free linear classifier with MSE to one-hot targets.

    Full-batch SGD with momentum; weight decay ``wd_features`` on the hidden layers (the analogue of
    :math:`\lambda_H`, which penalises the features) and ``wd_classifier`` on the classifier
    (:math:`\lambda_W`), as in the weight-decay ablation of Tirer, Huang & Niles-Weed (2023, Sec. 5).
    Runs on CPU with one thread; ``seed`` fixes the initialisation.

    Examples
    --------
    >>> X, y = gaussian_mixture(3, 10, 4, seed=0)
    >>> tr = train_mlp_collapse(X, y, epochs=20, record_every=10, seed=0)
    >>> tr.epoch.tolist()
    [0, 10, 20]
    """
    import torch

    X = check_array(X, "X", ndim=2, min_size=1)
    K = int(np.max(y)) + 1 if np.size(y) else 0
    y = check_labels(y, "y", max(K, 2))
    if y.shape[0] != X.shape[0]:
        raise ValueError(f"y must have one label per row of X ({X.shape[0]}), got {y.shape[0]}")
    width = check_int(width, "width", low=1)
    depth = check_int(depth, "depth", low=1)
    wd_features = check_real(wd_features, "wd_features", low=0.0)
    wd_classifier = check_real(wd_classifier, "wd_classifier", low=0.0)
    lr = check_real(lr, "lr", low=0.0, low_open=True)
    momentum = check_real(momentum, "momentum", low=0.0, high=1.0, high_open=True)
    epochs = check_int(epochs, "epochs", low=1)
    record_every = check_int(record_every, "record_every", low=1)
    torch_seed = int(as_generator(seed).integers(0, 2**31 - 1))

    torch.set_num_threads(1)
    torch.manual_seed(torch_seed)
    layers, fan_in = [], X.shape[1]
    for _ in range(depth):
        layers += [torch.nn.Linear(fan_in, width, dtype=torch.float64), torch.nn.ReLU()]
        fan_in = width
    feat = torch.nn.Sequential(*layers)
    fc = torch.nn.Linear(width, K, bias=False, dtype=torch.float64)
    opt = torch.optim.SGD([{"params": feat.parameters(), "weight_decay": wd_features},
                           {"params": fc.parameters(), "weight_decay": wd_classifier}], lr=lr, momentum=momentum)
    Xt = torch.as_tensor(X)
    yt = torch.as_tensor(y)
    target = torch.nn.functional.one_hot(yt, K).double()
    rec: list[tuple] = []
    for ep in range(epochs + 1):
        H = feat(Xt)
        out = fc(H)
        loss = 0.5 * ((out - target) ** 2).sum(dim=1).mean()
        if not torch.isfinite(loss):
            raise FloatingPointError(f"training diverged at epoch {ep}; lower lr (got {lr})")
        if ep % record_every == 0 or ep == epochs:
            with torch.no_grad():
                m = collapse_metrics(H.numpy().T, y, W=fc.weight.numpy(), n_classes=K)
                err = float((out.argmax(dim=1) != yt).double().mean())
            rec.append((ep, float(loss.detach()), err, m.nc1, m.nc1_trace, m.nc2_etf, m.nc3))
        if ep < epochs:
            opt.zero_grad()
            loss.backward()
            opt.step()
    cols = list(zip(*rec, strict=True))
    return CollapseTrace(np.array(cols[0], dtype=np.int64), *(np.array(c, dtype=float) for c in cols[1:]))
