"""The chapter's experiment: a one-hidden-layer MLP on digits trained by SGD, SAM and SAF.

The network's weights live in one flat float64 vector, so the same loss function serves training,
SAM's perturbation and the Hessian of :mod:`lossbook.sharpness.hessian`. Every gradient evaluation
(one forward and one backward pass over a mini-batch) is counted, so the cost comparison does not rest
on wall time alone. Defaults were set once for this toy problem (digits, 30 epochs); they are not tuned
per method.
"""

from __future__ import annotations

import time
from typing import NamedTuple

import numpy as np

from lossbook._rng import as_generator
from lossbook._torch import require_torch
from lossbook._validate import check_array, check_choice, check_int, check_labels, check_real, check_size

from .hessian import top_hessian_eigenvalue
from .surrogate import MAX_LOGIT, _trajectory_kl_torch_unchecked

__all__ = ["METHODS", "FlatMLP", "SharpnessRun", "SharpnessStudy", "flat_mlp", "sharpness_study",
           "train_sharpness_run"]

#: the three training rules compared in the chapter
METHODS = ("sgd", "sam", "saf")


class FlatMLP(NamedTuple):
    """A tanh MLP ``d -> hidden -> K`` whose weights are one flat vector."""

    loss_fn: object  # theta (torch, 1-D float64) -> mean cross-entropy on (X, y)
    logits_fn: object  # (theta, X torch) -> logits
    params: np.ndarray  # initial flat weights
    sizes: tuple  # (d, hidden, K)


class SharpnessRun(NamedTuple):
    """One training run of :func:`train_sharpness_run`."""

    lambda_max: float  # top eigenvalue of the final training-loss Hessian (power iteration)
    test_accuracy: float
    train_loss: float  # final mean cross-entropy on the training set
    grad_evals_per_epoch: float  # counted mini-batch forward+backward passes
    seconds_per_epoch: float  # median over epochs of the training loop's wall time (no evaluation)
    hvp_count: int  # Hessian-vector products used for lambda_max


class SharpnessStudy(NamedTuple):
    """Runs over methods and seeds; arrays have shape (len(methods), len(seeds))."""

    methods: tuple
    seeds: np.ndarray
    lambda_max: np.ndarray
    test_accuracy: np.ndarray
    train_loss: np.ndarray
    grad_evals_per_epoch: np.ndarray
    seconds_per_epoch: np.ndarray


class _LogitBank:
    """Ring buffer of per-sample logits for the last ``delay + 1`` epochs, indexed by sample id.

    ``push(epoch, idx, z)`` stores the logits of samples ``idx`` seen in ``epoch``; ``past(epoch, idx)`` returns
    those stored for the same samples in ``epoch - delay`` (the batch order may differ between epochs).
    """

    def __init__(self, torch, n_samples, n_classes, delay):
        self.delay = delay
        self.store = torch.zeros(delay + 1, n_samples, n_classes, dtype=torch.float64)

    def push(self, epoch, idx, z):
        self.store[epoch % (self.delay + 1), idx] = z

    def past(self, epoch, idx):
        return self.store[(epoch - self.delay) % (self.delay + 1), idx]


def _logits(theta, X, sizes):
    d, h, k = sizes
    i = 0
    W1 = theta[i:i + h * d].reshape(h, d)
    i += h * d
    b1 = theta[i:i + h]
    i += h
    W2 = theta[i:i + k * h].reshape(k, h)
    i += k * h
    b2 = theta[i:i + k]
    return (X @ W1.T + b1).tanh() @ W2.T + b2


def _init(sizes, rng):
    d, h, k = sizes
    return np.concatenate([rng.standard_normal(h * d) / np.sqrt(d), np.zeros(h),
                           rng.standard_normal(k * h) / np.sqrt(h), np.zeros(k)])


def flat_mlp(X, y, hidden: int = 16, *, seed=0) -> FlatMLP:
    """A tanh MLP on ``(X, y)`` with flat weights, its cross-entropy and a random initialisation.

    Parameters
    ----------
    X : array_like, shape (n, d)
        Features (finite, magnitude at most 1e6).
    y : array_like of int, shape (n,)
        Labels in ``{0, ..., K-1}``, with ``K = max(y) + 1 >= 2``.
    hidden : int, default 16
        Hidden width in ``[1, 4096]``.
    seed : int, SeedSequence or Generator, default 0
        Initialisation (weights N(0, 1/fan_in), biases 0).

    Returns
    -------
    FlatMLP

    Raises
    ------
    ValueError
        if a shape or value is out of range.

    Examples
    --------
    >>> import numpy as np
    >>> m = flat_mlp(np.eye(3), [0, 1, 1], hidden=2)
    >>> m.sizes, m.params.shape
    ((3, 2, 2), (14,))
    """
    torch = require_torch()
    X = check_array(X, "X", ndim=2, min_size=1, max_abs=1e6)
    yv = check_array(y, "y", ndim=1, dtype=np.float64)
    if yv.size != X.shape[0]:
        raise ValueError(f"y must have one label per row of X ({X.shape[0]}), got {yv.size}")
    k = int(max(np.max(yv), 1)) + 1 if yv.size else 2
    y = check_labels(y, "y", k)
    hidden = check_int(hidden, "hidden", low=1, high=4096)
    sizes = (X.shape[1], hidden, k)
    check_size(X.shape[0] * max(X.shape[1], hidden, k), "X")
    Xt, yt = torch.as_tensor(X), torch.as_tensor(y)
    params = _init(sizes, as_generator(seed))

    def loss_fn(theta):
        return torch.nn.functional.cross_entropy(_logits(theta, Xt, sizes), yt)

    def logits_fn(theta, Xq):
        return _logits(theta, Xq, sizes)

    return FlatMLP(loss_fn, logits_fn, params, sizes)


def train_sharpness_run(method: str, seed: int, *, epochs: int = 30, hidden: int = 32, lr: float = 0.05,
                        momentum: float = 0.9, batch_size: int = 64, rho: float = 0.05, lam: float = 0.3,
                        tau: float = 5.0, delay: int = 2, start_epoch: int = 5, power_iters: int = 100,
                        threads: int = 1) -> SharpnessRun:
    """Train the digits MLP with SGD, SAM or SAF and measure sharpness, accuracy and cost.

    All three use SGD with heavy-ball momentum on mini-batches in the same seeded order.
    ``"sam"`` steps along the gradient at :math:`w+\\rho g/\\lVert g\\rVert` (two gradient evaluations per
    step, :eq:`saf-sam`); ``"saf"`` adds ``lam`` times the trajectory loss :eq:`saf-traj` against the
    logits each sample had ``delay`` epochs earlier, from epoch ``start_epoch`` on (one gradient
    evaluation per step; the recorded logits come from the forward pass the step makes anyway).

    Parameters
    ----------
    method : {"sgd", "sam", "saf"}
    seed : int
        Data split (70/30, standardised), initialisation and batch order, in ``[0, 2**31)``.
    epochs : int, default 30
        In ``[1, 10000]``.
    hidden : int, default 32
        Hidden width in ``[1, 4096]``.
    lr : float, default 0.05
        Learning rate in ``(0, 10]``.
    momentum : float, default 0.9
        In ``[0, 1)``.
    batch_size : int, default 64
        In ``[1, 100000]``.
    rho : float, default 0.05
        SAM radius in ``[0, 100]`` (used by ``"sam"``).
    lam, tau : float, default 0.3 and 5.0
        SAF weight in ``[0, 100]`` and temperature in ``[1e-6, 1e6]`` (the values of the official README and
        example script).
    delay : int, default 2
        Epochs between the recorded and the current logits, in ``[1, 100]``.
    start_epoch : int, default 5
        First epoch (0-based) with the trajectory term, in ``[0, 10000]``; at least ``delay``.
    power_iters : int, default 100
        Steps of the power iteration for ``lambda_max`` (tolerance 1e-4), in ``[1, 10000]``.
    threads : int, default 1
        PyTorch intra-op threads during the run (restored afterwards).

    Returns
    -------
    SharpnessRun

    Raises
    ------
    ValueError
        if an argument is out of range.
    FloatingPointError
        if training diverges: non-finite loss or logits, logits beyond ``MAX_LOGIT``, or a non-finite
        Hessian at the final weights (learning rate or ``rho`` too large).

    Examples
    --------
    >>> r = train_sharpness_run("saf", 0, epochs=4, start_epoch=2, power_iters=5)
    >>> r.grad_evals_per_epoch
    20.0
    """
    torch = require_torch()
    method = check_choice(method, "method", METHODS)
    seed = check_int(seed, "seed", low=0, high=2**31 - 1)
    epochs = check_int(epochs, "epochs", low=1, high=10_000)
    hidden = check_int(hidden, "hidden", low=1, high=4096)
    lr = check_real(lr, "lr", low=0.0, high=10.0, low_open=True)
    momentum = check_real(momentum, "momentum", low=0.0, high=1.0, high_open=True)
    batch_size = check_int(batch_size, "batch_size", low=1, high=100_000)
    rho = check_real(rho, "rho", low=0.0, high=100.0)
    lam = check_real(lam, "lam", low=0.0, high=100.0)
    tau = check_real(tau, "tau", low=1e-6, high=1e6)
    delay = check_int(delay, "delay", low=1, high=100)
    start_epoch = check_int(start_epoch, "start_epoch", low=0, high=10_000)
    if start_epoch < delay:
        raise ValueError(f"start_epoch must be at least delay ({delay}) so that recorded logits exist, "
                         f"got {start_epoch}")
    power_iters = check_int(power_iters, "power_iters", low=1, high=10_000)
    threads = check_int(threads, "threads", low=1, high=1024)

    from lossbook.datasets import load_digits_split

    split = load_digits_split(seed=seed, standardize=True)
    old_threads = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        return _train(torch, split, method, seed, epochs, hidden, lr, momentum, batch_size, rho, lam, tau,
                      delay, start_epoch, power_iters)
    finally:
        torch.set_num_threads(old_threads)


def _train(torch, split, method, seed, epochs, hidden, lr, momentum, batch_size, rho, lam, tau, delay,
           start_epoch, power_iters):
    rng = as_generator(seed)
    Xtr, ytr = torch.as_tensor(split.X_train), torch.as_tensor(split.y_train)
    n, k = Xtr.shape[0], 10
    model = flat_mlp(split.X_train, split.y_train, hidden, seed=rng)
    sizes = model.sizes
    theta = torch.as_tensor(model.params.copy())
    buf = torch.zeros_like(theta)
    bank = _LogitBank(torch, n, k, delay)
    ce = torch.nn.functional.cross_entropy
    evals = 0
    epoch_seconds = []

    def grad(th, xb, yb, past=None):
        """One counted gradient evaluation: cross-entropy, plus the trajectory term when ``past`` is given."""
        nonlocal evals
        evals += 1
        th = th.clone().requires_grad_(True)
        z = _logits(th, xb, sizes)
        if not bool(torch.isfinite(z).all()) or float(z.detach().abs().max()) > MAX_LOGIT:
            raise FloatingPointError("the logits diverged (non-finite or beyond MAX_LOGIT); lower lr")
        loss = ce(z, yb)
        if past is not None:
            # z was checked above and past holds earlier checked logits: skip the public wrapper's NumPy checks,
            # which would otherwise dominate SAF's wall time on a network this small
            loss = loss + lam * _trajectory_kl_torch_unchecked(torch, z, past, tau)
        if not torch.isfinite(loss):
            raise FloatingPointError(f"the loss became non-finite ({float(loss)}); lower lr")
        (g,) = torch.autograd.grad(loss, th)
        return g, z.detach()

    for epoch in range(epochs):
        order = torch.as_tensor(rng.permutation(n))
        t0 = time.perf_counter()
        for start in range(0, n, batch_size):
            idx = order[start:start + batch_size]
            xb, yb = Xtr[idx], ytr[idx]
            if method == "sam":
                g, _ = grad(theta, xb, yb)
                gn = torch.linalg.vector_norm(g)
                eps = rho * g / gn if gn > 0 else torch.zeros_like(g)
                g, _ = grad(theta + eps, xb, yb)
            elif method == "saf":
                past = bank.past(epoch, idx) if epoch >= start_epoch else None
                g, z = grad(theta, xb, yb, past)
                bank.push(epoch, idx, z)  # this epoch's logits, read again `delay` epochs later
            else:
                g, _ = grad(theta, xb, yb)
            buf = momentum * buf + g
            theta = theta - lr * buf
        epoch_seconds.append(time.perf_counter() - t0)

    with torch.no_grad():
        train_loss = float(model.loss_fn(theta))
        pred = _logits(theta, torch.as_tensor(split.X_test), sizes).argmax(dim=1).numpy()
    if not np.isfinite(train_loss):
        raise FloatingPointError(f"the loss became non-finite ({train_loss}); lower lr")
    try:
        eig = top_hessian_eigenvalue(model.loss_fn, theta, max_iter=power_iters, tol=1e-4, seed=rng)
    except ValueError as exc:  # weights so large that the Hessian overflows: a diverged run
        raise FloatingPointError(f"the loss Hessian is non-finite at the final weights: {exc}") from None
    return SharpnessRun(eig.eigenvalue, float(np.mean(pred == split.y_test)), train_loss, evals / epochs,
                        float(np.median(epoch_seconds)), eig.hvp_count)


def sharpness_study(seeds, methods=METHODS, **kwargs) -> SharpnessStudy:
    """:func:`train_sharpness_run` for every method and seed (same seeds for every method: paired).

    Parameters
    ----------
    seeds : sequence of int
        At least one seed, each in ``[0, 2**31)``; at most 1000.
    methods : sequence of str, default METHODS
        Subset of :data:`METHODS`.
    **kwargs
        Passed to :func:`train_sharpness_run`.

    Returns
    -------
    SharpnessStudy

    Raises
    ------
    ValueError
        if ``seeds`` or ``methods`` is empty or holds a bad value.
    TypeError
        if ``methods`` is not a sequence of names.
    FloatingPointError
        if a run diverges (see :func:`train_sharpness_run`).

    Examples
    --------
    >>> s = sharpness_study([0], methods=("sgd",), epochs=1, start_epoch=2, power_iters=3)
    >>> s.lambda_max.shape
    (1, 1)
    """
    seeds_f = check_array(seeds, "seeds", ndim=1, min_size=1)
    if (seeds_f.size > 1000 or np.any(seeds_f < 0) or np.any(seeds_f > 2**31 - 1)
            or np.any(seeds_f != np.round(seeds_f))):
        raise ValueError("seeds must hold between 1 and 1000 integers in [0, 2**31)")
    seeds_arr = seeds_f.astype(np.int64)
    if isinstance(methods, str) or not hasattr(methods, "__iter__"):
        raise TypeError(f"methods must be a sequence of method names, got {type(methods).__name__}")
    methods = tuple(methods)
    if not methods:
        raise ValueError("methods must name at least one method")
    for m in methods:
        check_choice(m, "methods", METHODS)
    out = np.empty((5, len(methods), seeds_arr.size))
    for i, m in enumerate(methods):
        for j, s in enumerate(seeds_arr):
            r = train_sharpness_run(m, int(s), **kwargs)
            out[:, i, j] = (r.lambda_max, r.test_accuracy, r.train_loss, r.grad_evals_per_epoch,
                            r.seconds_per_epoch)
    return SharpnessStudy(methods, seeds_arr, *out)
