"""Federated training of the linear softmax model: FedAvg, FedProx and principal-gradient aggregation."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .._rng import SeedLike, spawn
from .._validate import MAX_LOOP, check_array, check_choice, check_int, check_labels, check_real
from .aggregate import fedavg_aggregate, principal_gradient_aggregate
from .decompose import _check_clients, loss_decomposition
from .model import MAX_ABS, _objective

__all__ = ["AGGREGATORS", "FederatedRun", "federated_train"]

#: ``"fedavg"``; ``"pga"`` (projection rule); ``"pga-code"`` (the official code's rule).
AGGREGATORS = ("fedavg", "pga", "pga-code")


class FederatedRun(NamedTuple):
    """Result of :func:`federated_train`.

    ``weights`` is the final global model ``(d + 1, C)``; ``test_accuracy[r]`` and ``global_loss[r]``
    are measured after round ``r`` (the accuracy is empty without a test set); ``local``, ``shift`` and
    ``aggregation[r]`` are the terms of :func:`loss_decomposition` in round ``r`` (empty unless
    ``decompose=True``).
    """

    weights: np.ndarray
    test_accuracy: np.ndarray
    global_loss: np.ndarray
    local: np.ndarray
    shift: np.ndarray
    aggregation: np.ndarray


def _local_sgd(W0, X, y, rng, epochs, lr, batch_size, margin, mu):
    """Minibatch SGD on the client objective; the gradient of :func:`softmax_regression_loss`, inlined."""
    W = W0.copy()
    n, C = y.size, W0.shape[1]
    Y = np.zeros((n, C))
    Y[np.arange(n), y] = 1.0
    with np.errstate(over="ignore", invalid="ignore"):
        for _ in range(epochs):
            order = rng.permutation(n)
            for s in range(0, n, batch_size):
                b = order[s:s + batch_size]
                Xb = X[b]
                Z = Xb @ W[:-1] + W[-1]
                Z -= Z.max(axis=1, keepdims=True)
                P = np.exp(Z)
                P /= P.sum(axis=1, keepdims=True)
                G = (P - Y[b]) / b.size
                if margin > 0.0:
                    sq = np.einsum("ij,ij->i", P, P)
                    G += (2.0 * margin / (1.0 + sq.sum())) * P * (P - sq[:, None])
                step = np.empty_like(W)
                step[:-1] = Xb.T @ G
                step[-1] = G.sum(axis=0)
                if mu > 0.0:
                    step += mu * (W - W0)
                W -= lr * step
    if not np.all(np.isfinite(W)):
        raise FloatingPointError("the local weights overflowed; lower lr or scale the features down")
    return W


def federated_train(X, y, clients, *, n_classes: int, rounds: int, local_epochs: int = 1, lr: float = 0.1,
                    batch_size: int = 32, aggregator: str = "fedavg", mu: float = 0.0, margin: float = 0.0,
                    kappa: float = 0.8, seed: SeedLike, X_test=None, y_test=None,
                    decompose: bool = False) -> FederatedRun:
    r"""Train a linear softmax model over clients for ``rounds`` communication rounds.

    Each round every client starts from the global model :math:`\bar w`, runs ``local_epochs`` epochs
    of plain minibatch SGD (no momentum, no weight decay) on
    :func:`softmax_regression_loss` with ``margin`` and the proximal term ``mu`` anchored at
    :math:`\bar w`, and returns :math:`g_k=w_k-\bar w`. The server sets :math:`\bar w\leftarrow\bar w+\Delta`
    with :math:`\Delta` from ``aggregator``, applied separately to the weight matrix and to the bias (one
    "layer" each, as the FedLD code aggregates per layer), with client weights :math:`p_k=n_k/n`. The
    principal-gradient aggregators use FedAvg in the first round, as the official code does. The
    model starts at zero.

    Batch order (so that a centralised run can be replayed): client ``k`` owns the ``k``-th generator of
    ``lossbook._rng.spawn(seed, m)``; each local epoch it draws ``permutation(n_k)`` of its samples (in
    the order given by ``clients[k]``) and visits consecutive batches of ``batch_size`` (the last may be
    shorter).

    FedAvg is ``aggregator="fedavg", mu=0, margin=0``; FedProx adds ``mu > 0``; the FedLD recipe of the
    official code is ``aggregator="pga-code", margin=0.1`` (without its momentum, weight decay, warm-up
    and update history).

    Parameters
    ----------
    X : array_like, shape (n, d)
    y : array_like of int, shape (n,)
    clients : sequence of m disjoint, non-empty index arrays
    n_classes : int
        Number of classes C, in ``[2, 10000]``.
    rounds : int
        Communication rounds, ``>= 1``.
    local_epochs : int, default 1
    lr : float, default 0.1
        SGD step, in ``(0, 100]``.
    batch_size : int, default 32
    aggregator : {"fedavg", "pga", "pga-code"}, default "fedavg"
    mu : float, default 0.0
        FedProx weight, in ``[0, 1e6]``.
    margin : float, default 0.0
        Margin-control weight λ, in ``[0, 1e6]``.
    kappa : float, default 0.8
        Fraction of principal directions kept by the PGA aggregators, in ``(0, 1]``.
    seed : int, SeedSequence or Generator
    X_test, y_test : array_like, optional
        A test set for the accuracy curve.
    decompose : bool, default False
        Record the terms of :func:`loss_decomposition` every round (costs m² loss evaluations a round).

    Returns
    -------
    FederatedRun

    Raises
    ------
    ValueError, TypeError
        For arguments out of range (each names the argument).
    FloatingPointError
        When SGD diverges and the weights overflow (``lr`` too large for the scale of ``X``).

    Examples
    --------
    >>> X = np.array([[0.0], [1.0], [2.0], [3.0]]); y = np.array([0, 0, 1, 1])
    >>> run = federated_train(X, y, [np.array([0, 2]), np.array([1, 3])], n_classes=2, rounds=20, lr=1.0,
    ...                       seed=0)
    >>> bool(run.global_loss[-1] < np.log(2))
    True
    """
    X = check_array(X, "X", ndim=2, min_size=1, max_abs=MAX_ABS)
    C = check_int(n_classes, "n_classes", low=2, high=10000)
    y = check_labels(y, "y", C)
    if y.shape != (X.shape[0],):
        raise ValueError(f"y must have one label per row of X (shape ({X.shape[0]},)), got shape {y.shape}")
    idx = _check_clients(clients, X.shape[0])
    rounds = check_int(rounds, "rounds", low=1, high=100000)
    local_epochs = check_int(local_epochs, "local_epochs", low=1, high=10000)
    lr = check_real(lr, "lr", low=0.0, high=100.0, low_open=True)
    batch_size = check_int(batch_size, "batch_size", low=1, high=10**7)
    aggregator = check_choice(aggregator, "aggregator", AGGREGATORS)
    mu = check_real(mu, "mu", low=0.0, high=1e6)
    margin = check_real(margin, "margin", low=0.0, high=1e6)
    kappa = check_real(kappa, "kappa", low=0.0, high=1.0, low_open=True)
    if not isinstance(decompose, bool | np.bool_):
        raise TypeError(f"decompose must be a bool, got {type(decompose).__name__}")
    n_steps = rounds * local_epochs * sum(-(-a.size // batch_size) for a in idx)
    if n_steps > MAX_LOOP:
        raise ValueError(f"rounds * local_epochs * batches = {n_steps} exceeds {MAX_LOOP} SGD steps")
    have_test = X_test is not None or y_test is not None
    if have_test:
        if X_test is None or y_test is None:
            raise ValueError("X_test and y_test must be given together")
        X_test = check_array(X_test, "X_test", ndim=2, min_size=1, max_abs=MAX_ABS)
        if X_test.shape[1] != X.shape[1]:
            raise ValueError(f"X_test must have {X.shape[1]} columns like X, got {X_test.shape[1]}")
        y_test = check_labels(y_test, "y_test", C)
        if y_test.shape != (X_test.shape[0],):
            raise ValueError(f"y_test must have one label per row of X_test (shape ({X_test.shape[0]},)), "
                             f"got shape {y_test.shape}")
    gens = spawn(seed, len(idx))
    n_k = np.array([a.size for a in idx], dtype=float)
    p = n_k / n_k.sum()
    data = [(X[a], y[a]) for a in idx]
    union = np.concatenate(idx)
    W = np.zeros((X.shape[1] + 1, C))
    acc, glob, loc, shf, agg = [], [], [], [], []
    for r in range(rounds):
        models = np.stack([_local_sgd(W, Xk, yk, g, local_epochs, lr, batch_size, margin, mu)
                           for (Xk, yk), g in zip(data, gens, strict=True)])
        new = np.empty_like(W)
        for block in (slice(0, -1), slice(-1, None)):  # the weight matrix, then the bias
            G = (models[:, block] - W[block]).reshape(len(idx), -1)
            if aggregator == "fedavg" or r == 0:
                step = fedavg_aggregate(G, p)
            else:
                step = principal_gradient_aggregate(G, kappa, weights=p,
                                                    rule="projection" if aggregator == "pga" else "code")
            new[block] = W[block] + step.reshape(W[block].shape)
        if not np.all(np.isfinite(new)):
            raise FloatingPointError(f"the weights overflowed in round {r}; lower lr")
        if decompose:
            dec = loss_decomposition(models, new, X, y, idx)
            glob.append(dec.global_loss)
            loc.append(dec.local)
            shf.append(dec.shift)
            agg.append(dec.aggregation)
        else:
            glob.append(_objective(new, X[union], y[union], 0.0, 0.0, None).value)
        W = new
        if have_test:
            acc.append(float(np.mean(np.argmax(X_test @ W[:-1] + W[-1], axis=1) == y_test)))
    arr = np.asarray
    return FederatedRun(W, arr(acc, dtype=float), arr(glob, dtype=float), arr(loc, dtype=float),
                        arr(shf, dtype=float), arr(agg, dtype=float))
