"""One deterministic CPU training loop for the book's small PyTorch models.

:func:`train` fixes everything that could make two runs differ: the seed of PyTorch's generator
(initialisation is the caller's, inside :func:`seeded`; the minibatch order is drawn here from
``seed``), ``torch.use_deterministic_algorithms(True)``, and the number of intra-op threads (a
float sum computed by 1 thread and by 2 can differ in the last bit). The previous global state is
restored on exit. Two calls with the same model initialisation, data and ``seed`` return
bit-identical histories (tested). A progress bar shows only in an interactive notebook
(:mod:`lossbook.progress`).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from typing import NamedTuple

import numpy as np

from .._rng import as_generator
from .._torch import require_torch
from .._validate import check_array, check_choice, check_int, check_real
from ..progress import progress

__all__ = ["TrainingHistory", "accuracy", "seeded", "train"]


class TrainingHistory(NamedTuple):
    """Per-epoch record of a run: mean training loss, evaluated metrics and cumulative wall time (s)."""

    epoch: np.ndarray
    train_loss: np.ndarray
    metrics: dict[str, np.ndarray]
    wall_time: np.ndarray


@contextlib.contextmanager
def seeded(seed: int, threads: int = 1):
    """Context manager: seed PyTorch, turn on deterministic algorithms and fix the thread count.

    Build the model inside it so its initialisation is reproducible::

        with seeded(3):
            model = torch.nn.Linear(4, 2)

    Parameters
    ----------
    seed : int
        Non-negative integer for ``torch.manual_seed``.
    threads : int, default 1
        Intra-op threads while inside (restored afterwards).
    """
    torch = require_torch()
    seed = check_int(seed, "seed", low=0, high=2**63 - 1)
    threads = check_int(threads, "threads", low=1, high=1024)
    old_threads = torch.get_num_threads()
    old_det = torch.are_deterministic_algorithms_enabled()
    old_state = torch.random.get_rng_state()
    try:
        torch.set_num_threads(threads)
        torch.use_deterministic_algorithms(True)
        torch.manual_seed(seed)
        yield
    finally:
        torch.set_num_threads(old_threads)
        torch.use_deterministic_algorithms(old_det)
        torch.random.set_rng_state(old_state)


def _check_targets(y) -> np.ndarray:
    """Targets as an array: integer labels kept as integers, real targets finite."""
    try:
        y_np = np.asarray(y)
    except (ValueError, TypeError) as exc:  # ragged nesting
        raise TypeError(f"y must be array-like: {exc}") from None
    if y_np.dtype.kind not in "biuf":
        raise TypeError(f"y must be numeric, got dtype={y_np.dtype}")
    if y_np.ndim < 1 or y_np.size == 0:
        raise ValueError(f"y must hold one target per row of X, got shape {y_np.shape}")
    if y_np.dtype.kind == "f":
        check_array(y_np, "y", dtype=np.float32)
    return y_np


def accuracy(model, X, y) -> float:
    """Fraction of rows of ``X`` whose arg-max output equals ``y`` (evaluated without gradients).

    Parameters
    ----------
    model : torch.nn.Module
        Maps a float32 tensor of shape (n, ...) to scores (n, K).
    X : array_like or Tensor, shape (n, ...)
    y : array_like or Tensor of int, shape (n,)

    Returns
    -------
    float
    """
    torch = require_torch()
    if not isinstance(model, torch.nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    if not isinstance(X, torch.Tensor):
        X = torch.as_tensor(check_array(X, "X", dtype=np.float32, min_size=1))
    if not isinstance(y, torch.Tensor):
        y_np = _check_targets(y)
        if y_np.dtype.kind == "f":
            raise TypeError(f"y must hold integer class labels, got dtype={y_np.dtype}")
        y = torch.as_tensor(y_np.astype(np.int64))
    if X.ndim < 1 or y.ndim != 1 or X.shape[0] != y.shape[0]:
        raise ValueError(f"X and y must have the same number of rows; got {X.shape[0]} and {y.shape[0]}")
    was_training = model.training
    model.eval()
    with torch.no_grad():
        out = model(X)
        if out.ndim == 2 and (int(y.min()) < 0 or int(y.max()) >= out.shape[1]):
            model.train(was_training)
            raise ValueError(f"y labels must lie in [0, {out.shape[1] - 1}] for a model with {out.shape[1]} "
                             f"outputs; got [{int(y.min())}, {int(y.max())}]")
        acc = float((out.argmax(dim=1) == y).float().mean())
    model.train(was_training)
    return acc


def train(model, loss_fn: Callable, X, y, *, epochs: int, lr: float, seed, batch_size: int | None = None,
          optimizer: str = "sgd", momentum: float = 0.0, weight_decay: float = 0.0, threads: int = 1,
          evaluate: Callable | None = None, desc: str | None = None) -> TrainingHistory:
    """Train ``model`` on ``(X, y)`` by minibatch or full-batch gradient descent, deterministically.

    Parameters
    ----------
    model : torch.nn.Module
        Modified in place.
    loss_fn : callable
        ``loss_fn(outputs, targets) -> scalar tensor`` (e.g. ``torch.nn.functional.cross_entropy``).
    X : array_like or Tensor, shape (n, ...)
        Inputs (float32).
    y : array_like or Tensor, shape (n, ...)
        Targets (integer labels are int64, anything else float32).
    epochs : int
        Passes over the data, ``>= 1``.
    lr : float
        Learning rate, in ``(0, 1e30]`` (PyTorch applies it to float32 parameters).
    seed : int, SeedSequence or Generator
        Fixes the minibatch order (and PyTorch's generator during training, e.g. for dropout).
    batch_size : int, optional
        Minibatch size; ``None`` (default) is full batch.
    optimizer : {"sgd", "adam"}, default "sgd"
        ``torch.optim.SGD`` (with ``momentum``) or ``torch.optim.Adam``.
    momentum : float, default 0
        SGD momentum in ``[0, 1)``.
    weight_decay : float, default 0
        L2 penalty coefficient in ``[0, 1e30]`` (the optimiser's own).
    threads : int, default 1
        Intra-op threads during training (restored afterwards).
    evaluate : callable, optional
        ``evaluate(model) -> dict[str, float]`` called after every epoch (in eval mode, no gradients).
    desc : str, optional
        Label of the progress bar (shown only in an interactive notebook).

    Returns
    -------
    TrainingHistory

    Raises
    ------
    FloatingPointError
        If the loss becomes NaN or infinite (too large a learning rate, or data the model overflows on);
        training stops at that step instead of returning non-finite parameters.
    ValueError, TypeError
        For a bad argument (the message names it).

    Examples
    --------
    >>> import torch
    >>> from lossbook.training import seeded, train
    >>> X = np.random.default_rng(0).normal(size=(64, 3)); y = (X[:, 0] > 0).astype(int)
    >>> with seeded(0):
    ...     net = torch.nn.Linear(3, 2)
    >>> h = train(net, torch.nn.functional.cross_entropy, X, y, epochs=20, lr=0.5, seed=0)
    >>> bool(h.train_loss[-1] < h.train_loss[0])
    True
    """
    torch = require_torch()
    if not isinstance(model, torch.nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    if not callable(loss_fn):
        raise TypeError("loss_fn must be callable")
    epochs = check_int(epochs, "epochs", low=1, high=10**7)
    lr = check_real(lr, "lr", low=0.0, low_open=True, high=1e30)
    optimizer = check_choice(optimizer, "optimizer", ("sgd", "adam"))
    momentum = check_real(momentum, "momentum", low=0.0, high=1.0, high_open=True)
    weight_decay = check_real(weight_decay, "weight_decay", low=0.0, high=1e30)
    threads = check_int(threads, "threads", low=1, high=1024)
    if evaluate is not None and not callable(evaluate):
        raise TypeError("evaluate must be callable or None")
    Xt = X if isinstance(X, torch.Tensor) else torch.as_tensor(check_array(X, "X", dtype=np.float32, min_size=1))
    if Xt.ndim < 1:
        raise ValueError(f"X must have one row per example, got shape {tuple(Xt.shape)}")
    y_np = y.numpy() if isinstance(y, torch.Tensor) else _check_targets(y)
    yt = y if isinstance(y, torch.Tensor) else torch.as_tensor(
        y_np.astype(np.int64) if y_np.dtype.kind in "iub" else y_np.astype(np.float32))
    n = Xt.shape[0]
    if n < 1 or yt.shape[0] != n:
        raise ValueError(f"X and y must have the same number of rows (>= 1); got {Xt.shape[0]} and {yt.shape[0]}")
    if not torch.isfinite(Xt).all():
        raise ValueError("X must contain only finite values")
    batch_size = n if batch_size is None else check_int(batch_size, "batch_size", low=1)
    rng = as_generator(seed)
    torch_seed = int(rng.integers(0, 2**62))
    params = [p for p in model.parameters() if p.requires_grad]
    if not params:
        raise ValueError("model has no trainable parameters")
    opt = (torch.optim.SGD(params, lr=lr, momentum=momentum, weight_decay=weight_decay) if optimizer == "sgd"
           else torch.optim.Adam(params, lr=lr, weight_decay=weight_decay))
    losses, metrics, walls = [], {}, []
    t0 = time.perf_counter()
    with seeded(torch_seed, threads):
        for _ in progress(range(epochs), desc=desc):
            model.train()
            order = rng.permutation(n) if batch_size < n else np.arange(n)
            total, count = 0.0, 0
            for start in range(0, n, batch_size):
                idx = torch.as_tensor(order[start:start + batch_size])
                opt.zero_grad(set_to_none=True)
                loss = loss_fn(model(Xt[idx]), yt[idx])
                if not torch.isfinite(loss):
                    raise FloatingPointError(f"the loss became {float(loss.detach())} at epoch {len(losses) + 1}; "
                                             "lower lr or check the data")
                loss.backward()
                opt.step()
                total += float(loss.detach()) * idx.numel()
                count += idx.numel()
            losses.append(total / count)
            if evaluate is not None:
                model.eval()
                with torch.no_grad():
                    for key, value in evaluate(model).items():
                        metrics.setdefault(key, []).append(float(value))
            walls.append(time.perf_counter() - t0)
    return TrainingHistory(np.arange(1, epochs + 1), np.asarray(losses),
                           {k: np.asarray(v) for k, v in metrics.items()}, np.asarray(walls))
