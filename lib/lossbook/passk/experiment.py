"""The softmax-linear toy of the chapter: ambiguous labels from a teacher, trained by gradient descent.

Chapter :doc:`/book/consistency/pass-at-n-confidence`. Inputs are standard Gaussian in ``d``
dimensions; a teacher ``W*`` with i.i.d. ``N(0, scale^2 / d)`` entries gives each input a
distribution ``q(. | x) = softmax(x W*)`` over ``K`` answers, and every label (train and test) is a
draw from it, so a problem has no single right answer the model could be sure of. A linear student
``z = x W`` starts at ``W = 0`` and is trained by full-batch gradient descent on the mean pass@N
loss (eq. :eq:`pak-loss`; ``N = 1`` is cross-entropy), with the gradient of
:prf:ref:`pak-thm-gradient`. Test pass@N is the exact expectation over the teacher's answer,
``sum_j q_j [1 - (1 - p_j)^N]`` (eq. :eq:`pak-expected-coverage`), so it carries no sampling noise
beyond the draw of the test inputs.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .._rng import SeedLike, as_generator
from .._validate import check_int, check_real
from ..losses import softmax
from .coverage import _loss_and_grad

__all__ = ["PassAtNTrace", "TeacherTask", "make_teacher_task", "train_softmax_linear"]


class TeacherTask(NamedTuple):
    """Train/test data whose labels are sampled from a softmax-linear teacher."""

    X_train: np.ndarray   #: (n_train, d) inputs
    y_train: np.ndarray   #: (n_train,) labels drawn from the teacher
    X_test: np.ndarray    #: (n_test, d) inputs
    y_test: np.ndarray    #: (n_test,) one reference answer per test problem, drawn from the teacher
    q_test: np.ndarray    #: (n_test, K) the teacher's answer distribution on each test input
    teacher: np.ndarray   #: (d, K) teacher weights W*


class PassAtNTrace(NamedTuple):
    """Evaluation of a training run at regular steps."""

    step: np.ndarray        #: (m,) steps at which the model was evaluated (0 = initialisation)
    eval_N: tuple           #: the budgets N of the columns of ``test_pass``
    test_pass: np.ndarray   #: (m, len(eval_N)) expected test pass@N under the teacher
    train_loss: np.ndarray  #: (m,) mean training loss (the loss being optimised)
    train_confidence: np.ndarray  #: (m,) mean probability of the training label
    weights: np.ndarray     #: (d, K) final student weights


def make_teacher_task(*, seed: SeedLike, K: int = 10, d: int = 50, n_train: int = 300, n_test: int = 2000,
                      scale: float = 3.0) -> TeacherTask:
    """Draw a teacher and a train/test split of inputs with labels sampled from it.

    Parameters
    ----------
    seed : int, SeedSequence or Generator
        Randomness of the teacher, the inputs and the labels.
    K : int, default 10
        Number of answers, ``>= 2``.
    d : int, default 50
        Input dimension, ``>= 1``.
    n_train, n_test : int, default 300 and 2000
        Sizes, ``>= 1``.
    scale : float, default 3.0
        Standard deviation of each teacher logit, in ``(0, 1e100]`` (far beyond a hard argmax; larger
        values overflow the logits). The default was chosen for the chapter's
        setting (``K = 10``, ``d = 50``) so that the teacher's most likely answer has mean
        probability about 0.66: problems are ambiguous but not pure noise.

    Returns
    -------
    TeacherTask

    Raises
    ------
    TypeError, ValueError
        for a bad seed, size or scale (the message names the argument).

    Examples
    --------
    >>> task = make_teacher_task(seed=0, n_train=20, n_test=30)
    >>> task.X_train.shape, task.q_test.shape
    ((20, 50), (30, 10))
    """
    K = check_int(K, "K", low=2)
    d = check_int(d, "d", low=1)
    n_train = check_int(n_train, "n_train", low=1)
    n_test = check_int(n_test, "n_test", low=1)
    scale = check_real(scale, "scale", low=0.0, low_open=True, high=1e100)
    rng = as_generator(seed)
    teacher = rng.standard_normal((d, K)) * (scale / np.sqrt(d))

    def draw(m):
        X = rng.standard_normal((m, d))
        q = softmax(X @ teacher, axis=1)
        u = rng.random((m, 1))
        y = np.minimum((np.cumsum(q, axis=1) < u).sum(axis=1), K - 1)  # inverse-CDF sampling
        return X, y, q

    X_train, y_train, _ = draw(n_train)
    X_test, y_test, q_test = draw(n_test)
    return TeacherTask(X_train, y_train, X_test, y_test, q_test, teacher)


def train_softmax_linear(task: TeacherTask, *, N_loss: int, steps: int = 4000, lr: float = 0.5,
                         eval_every: int = 100, eval_N=(1, 32)) -> PassAtNTrace:
    """Full-batch gradient descent on the mean pass@N loss of a linear softmax model from ``W = 0``.

    Deterministic given ``task`` (no randomness of its own).

    Parameters
    ----------
    task : TeacherTask
        From :func:`make_teacher_task`.
    N_loss : int
        Budget of the training loss (eq. :eq:`pak-loss`), ``>= 1``; ``1`` is cross-entropy.
    steps : int, default 4000
        Number of gradient steps, ``>= 1``.
    lr : float, default 0.5
        Step size, ``> 0``.
    eval_every : int, default 100
        Evaluate at step 0 and every ``eval_every`` steps, ``>= 1``.
    eval_N : sequence of int, default (1, 32)
        Budgets at which test pass@N is reported.

    Returns
    -------
    PassAtNTrace

    Raises
    ------
    TypeError, ValueError
        for a bad argument (the message names it).

    Examples
    --------
    >>> task = make_teacher_task(seed=0, n_train=50, n_test=50)
    >>> tr = train_softmax_linear(task, N_loss=1, steps=20, eval_every=10)
    >>> tr.step.tolist(), tr.test_pass.shape
    ([0, 10, 20], (3, 2))
    """
    if not isinstance(task, TeacherTask):
        raise TypeError(f"task must be a TeacherTask (from make_teacher_task), got {type(task).__name__}")
    N_loss = check_int(N_loss, "N_loss", low=1)
    steps = check_int(steps, "steps", low=1)
    lr = check_real(lr, "lr", low=0.0, low_open=True)
    eval_every = check_int(eval_every, "eval_every", low=1)
    eval_N = tuple(check_int(n, "eval_N entries", low=1) for n in eval_N)
    if not eval_N:
        raise ValueError("eval_N must name at least one budget N >= 1")
    X, y = task.X_train, task.y_train
    m, d = X.shape
    K = task.q_test.shape[1]
    W = np.zeros((d, K))
    rows = np.arange(m)
    rec_step, rec_pass, rec_loss, rec_conf = [], [], [], []

    def record(t):
        p_test = softmax(task.X_test @ W, axis=1)
        with np.errstate(divide="ignore"):
            l1p = np.log1p(-p_test)
        rec_pass.append([float(np.mean(np.sum(task.q_test * -np.expm1(n * l1p), axis=1))) for n in eval_N])
        z = X @ W
        loss, _ = _loss_and_grad(z, y, N_loss, grad=False)
        rec_loss.append(float(loss.mean()))
        rec_conf.append(float(softmax(z, axis=1)[rows, y].mean()))
        rec_step.append(t)

    record(0)
    for t in range(1, steps + 1):
        _, g = _loss_and_grad(X @ W, y, N_loss, grad=True)
        W -= lr * (X.T @ g) / m
        if t % eval_every == 0 or t == steps:
            record(t)
    return PassAtNTrace(np.array(rec_step), eval_N, np.array(rec_pass), np.array(rec_loss), np.array(rec_conf), W)
