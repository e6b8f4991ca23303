"""A small PyTorch experiment: train comp-sum losses on a Gaussian mixture with known posterior.

The data are a Gaussian mixture (identity covariance, unequal class priors) whose labels are
flipped to a uniformly random class with probability ``noise``; the conditional distribution
``p(y | x)`` is known in closed form, so the zero-one and surrogate excess risks (over the Bayes
risks) can be computed exactly in ``y`` and averaged over fresh inputs. Because the pointwise bound
``T_tau(Delta C_{0-1}) <= Delta C_tau`` holds for every score vector, Jensen's inequality gives
``E[Delta C_{0-1}] <= Gamma_tau(E[Delta C_tau])`` for the empirical distribution of the evaluation
inputs exactly (eq. :eq:`csh-bayes-bound`): a hard check, with no Monte Carlo slack.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .._rng import SeedLike, as_generator
from .._torch import require_torch
from .._validate import check_array, check_int, check_real, check_size
from ..losses import softmax
from .gaps import population_excess_risks

__all__ = ["MixtureTask", "TrainingTrace", "make_mixture_task", "train_comp_sum"]


class MixtureTask(NamedTuple):
    """A Gaussian-mixture classification task with symmetric label noise."""

    means: np.ndarray    #: (n, d) class means
    priors: np.ndarray   #: (n,) class priors
    noise: float         #: probability that a label is replaced by a uniform random class

    def posterior(self, X) -> np.ndarray:
        """``p(y | x) = (1 - noise) softmax_y(mu_y . x - |mu_y|^2 / 2 + log prior_y) + noise / n``."""
        X = check_array(X, "X", ndim=2)
        logits = X @ self.means.T - 0.5 * np.sum(self.means**2, axis=1) + np.log(self.priors)
        n = self.means.shape[0]
        return (1.0 - self.noise) * softmax(logits, axis=1) + self.noise / n

    def sample(self, m: int, *, seed: SeedLike) -> tuple[np.ndarray, np.ndarray]:
        """Draw ``m`` pairs ``(x, y)``; returns ``X`` of shape (m, d) and noisy labels ``y``."""
        m = check_int(m, "m", low=1)
        rng = as_generator(seed)
        n, d = self.means.shape
        clean = rng.choice(n, size=m, p=self.priors)
        X = self.means[clean] + rng.standard_normal((m, d))
        flip = rng.random(m) < self.noise
        y = np.where(flip, rng.integers(0, n, size=m), clean)
        return X, y


def make_mixture_task(n: int, d: int, *, seed: SeedLike, separation: float = 1.0, imbalance: float = 4.0,
                      noise: float = 0.2) -> MixtureTask:
    """Gaussian mixture with ``n`` classes in ``d`` dimensions.

    Means ``mu_k ~ N(0, separation^2 I_d)``; priors decay geometrically so that the largest is
    ``imbalance`` times the smallest; labels are flipped with probability ``noise``.

    Parameters
    ----------
    n : int
        Number of classes, ``>= 2``.
    d : int
        Input dimension, ``>= 1``.
    seed : int, SeedSequence or Generator
        Source of the class means (required).
    separation : float
        Standard deviation of the mean coordinates, in ``(0, 1e100]`` (larger scales overflow the
        squared distances of the posterior).
    imbalance : float
        Ratio of the largest to the smallest prior, ``>= 1``.
    noise : float
        Label-flip probability in ``[0, 1)``.

    Returns
    -------
    MixtureTask

    Examples
    --------
    >>> task = make_mixture_task(3, 2, seed=0)
    >>> P = task.posterior(task.sample(5, seed=1)[0])
    >>> P.shape, bool(np.allclose(P.sum(axis=1), 1.0))
    ((5, 3), True)
    """
    n = check_int(n, "n", low=2)
    d = check_int(d, "d", low=1)
    check_size(n * d, "n * d")
    separation = check_real(separation, "separation", low=0.0, low_open=True, high=1e100)
    imbalance = check_real(imbalance, "imbalance", low=1.0)
    noise = check_real(noise, "noise", low=0.0, high=1.0, high_open=True)
    rng = as_generator(seed)
    means = separation * rng.standard_normal((n, d))
    priors = imbalance ** (-np.arange(n) / max(n - 1, 1))
    return MixtureTask(means, priors / priors.sum(), noise)


class TrainingTrace(NamedTuple):
    """Excess risks logged along one training run (evaluated on fresh inputs)."""

    steps: np.ndarray               #: logged optimisation steps
    zero_one_excess: np.ndarray     #: E_x[max p - p_{argmax h}]
    surrogate_excess: np.ndarray    #: E_x[C_tau(h, x) - C*_tau(p(.|x))]


def train_comp_sum(task: MixtureTask, tau: float, *, model: str = "linear", hidden: int = 32, m_train: int = 2000,
                   m_eval: int = 5000, steps: int = 300, lr: float = 0.05, log_every: int = 25,
                   threads: int = 1, seed: SeedLike) -> TrainingTrace:
    """Train a linear model or a one-hidden-layer MLP on ``task`` with the comp-sum loss ``ell^tau``.

    Full-batch Adam on ``m_train`` noisy samples (PyTorch, CPU, float64); every ``log_every``
    steps the zero-one and surrogate excess risks over the Bayes risks are computed on ``m_eval``
    fresh inputs with the exact posterior (eq. :eq:`csh-bayes-bound`). PyTorch runs on ``threads``
    intra-op threads during the call (default 1: the models are tiny and more threads only
    contend); the previous setting is restored afterwards.

    Parameters
    ----------
    task : MixtureTask
        The data distribution (from :func:`make_mixture_task`).
    tau : float
        ``tau >= 0``.
    model : {"linear", "mlp"}
        Linear scores or one hidden tanh layer of ``hidden`` units.
    hidden : int
        Hidden width, ``>= 1``. At most ``10**4`` (larger values are refused up front).
    m_train, m_eval : int
        Training and evaluation sample sizes, in ``[1, 10**7]``.
    steps : int
        Adam steps, in ``[0, 10**6]``.
    lr : float
        Adam learning rate, in ``(0, 10]``.
    log_every : int
        Evaluation period in steps, in ``[1, 10**6]``.
    threads : int
        PyTorch intra-op threads during the call, in ``[1, 64]``.
    seed : int, SeedSequence or Generator
        Source of the samples and of the initialisation (required).

    Returns
    -------
    TrainingTrace
        Logged steps and the zero-one and surrogate excess risks at each.

    Examples
    --------
    >>> task = make_mixture_task(3, 2, seed=0)
    >>> tr = train_comp_sum(task, 1.0, steps=20, log_every=10, m_train=200, m_eval=500, seed=0)
    >>> tr.steps.tolist()
    [0, 10, 20]
    """
    torch = require_torch()

    if not isinstance(task, MixtureTask):
        raise TypeError(f"task must be a MixtureTask (see make_mixture_task), got {type(task).__name__}")
    tau = check_real(tau, "tau", low=0.0)
    if model not in ("linear", "mlp"):
        raise ValueError(f"model must be 'linear' or 'mlp', got {model!r}")
    hidden = check_int(hidden, "hidden", low=1, high=10**4)
    m_train = check_int(m_train, "m_train", low=1, high=10**7)
    m_eval = check_int(m_eval, "m_eval", low=1, high=10**7)
    steps = check_int(steps, "steps", low=0, high=10**6)
    lr = check_real(lr, "lr", low=0.0, low_open=True, high=10.0)
    log_every = check_int(log_every, "log_every", low=1, high=10**6)
    threads = check_int(threads, "threads", low=1, high=64)
    rng = as_generator(seed)
    previous_threads = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        return _train(task, tau, model, hidden, m_train, m_eval, steps, lr, log_every, rng)
    finally:
        torch.set_num_threads(previous_threads)


def _train(task, tau, model, hidden, m_train, m_eval, steps, lr, log_every, rng):
    torch = require_torch()

    from .comp_sum import comp_sum_loss_torch

    X, y = task.sample(m_train, seed=rng)
    X_eval, _ = task.sample(m_eval, seed=rng)
    P_eval = task.posterior(X_eval)
    w_eval = np.full(m_eval, 1.0 / m_eval)
    n, d = task.means.shape
    torch.manual_seed(int(rng.integers(0, 2**31 - 1)))
    if model == "linear":
        net = torch.nn.Linear(d, n).double()
    else:
        net = torch.nn.Sequential(torch.nn.Linear(d, hidden), torch.nn.Tanh(), torch.nn.Linear(hidden, n)).double()
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y.astype(np.int64))
    Xe = torch.from_numpy(X_eval)
    logged, z01, zs = [], [], []
    for step in range(steps + 1):
        if step % log_every == 0:
            with torch.no_grad():
                scores = net(Xe).numpy()
            a, b = population_excess_risks(scores, w_eval, P_eval, tau)
            logged.append(step)
            z01.append(a)
            zs.append(b)
        if step == steps:
            break
        opt.zero_grad()
        loss = comp_sum_loss_torch(net(Xt), yt, tau, reduction="mean")
        loss.backward()
        opt.step()
    return TrainingTrace(np.array(logged), np.array(z01), np.array(zs))
