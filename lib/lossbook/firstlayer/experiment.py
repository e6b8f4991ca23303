"""The chapter's experiment: a one-hidden-layer MLP on digits whose images have random contrast.

Each image (pixels in ``[0, 1]``) is multiplied by its own contrast factor, drawn uniformly in an
interval whose width is set by a *spread* ``s``: ``[1 - 0.8 s, 1 + 2 s]`` (``s = 1`` gives the issue's
``[0.2, 3]``). The images are then standardised with one scalar mean and standard deviation from the
training set, as a one-channel version of the usual per-channel normalisation. The network
``64 -> hidden (ReLU) -> 10`` is trained by plain minibatch SGD on the softmax cross-entropy, with the
first layer's weight gradient either the ordinary one or TrAct's (:func:`tract_weight_grad`); every
other gradient is the ordinary one. The loop is NumPy (the network is tiny; this is faster than
PyTorch's per-step overhead) and runs BLAS single-threaded.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .._rng import SeedLike, as_generator, spawn
from .._validate import check_array, check_choice, check_int, check_real, check_seeds
from ..progress import progress
from .core import MAX_LAM, tract_weight_grad

__all__ = ["METHODS", "ContrastStudy", "MLPRun", "apply_contrast", "contrast_digits", "contrast_interval",
           "contrast_study", "epochs_to_accuracy", "image_patches",
           "train_first_layer_mlp", "TunedStudy", "tuned_contrast_study"]

#: the two first-layer updates compared, in the order of the study's arrays
METHODS = ("sgd", "tract")

#: Largest contrast factor and spread accepted (a toy: beyond these the standardised pixels overflow nothing,
#: but the study is not meant for them).
MAX_CONTRAST = 1e6
MAX_EPOCHS = 10000
MAX_HIDDEN = 4096


def contrast_interval(spread: float) -> tuple[float, float]:
    """The contrast interval ``[1 - 0.8 spread, 1 + 2 spread]`` for a spread in ``[0, 1]``.

    ``spread = 0`` leaves every image as it is; ``spread = 1`` is ``[0.2, 3]``.

    Examples
    --------
    >>> [round(v, 12) for v in contrast_interval(1.0)]
    [0.2, 3.0]
    """
    spread = check_real(spread, "spread", low=0.0, high=1.0)
    return (1.0 - 0.8 * spread, 1.0 + 2.0 * spread)


def apply_contrast(X, low: float, high: float, *, seed: SeedLike) -> tuple[np.ndarray, np.ndarray]:
    """Multiply each row of ``X`` by its own factor drawn uniformly in ``[low, high]``.

    Parameters
    ----------
    X : array_like, shape (N, n)
        Images as rows (e.g. pixels in ``[0, 1]``), entries of magnitude at most 1e100.
    low, high : float
        The interval, ``0 < low <= high <= 1e6``.
    seed : int, SeedSequence or Generator
        Randomness of the factors.

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
        The rescaled images ``(N, n)`` and the factors ``(N,)``.

    Examples
    --------
    >>> Xc, c = apply_contrast(np.ones((3, 2)), 2.0, 2.0, seed=0)
    >>> Xc.tolist(), c.tolist()
    ([[2.0, 2.0], [2.0, 2.0], [2.0, 2.0]], [2.0, 2.0, 2.0])
    """
    X = check_array(X, "X", ndim=2, max_abs=1e100)
    low = check_real(low, "low", low=0.0, high=MAX_CONTRAST, low_open=True)
    high = check_real(high, "high", low=low, high=MAX_CONTRAST)
    rng = as_generator(seed)
    c = rng.uniform(low, high, size=X.shape[0]) if high > low else np.full(X.shape[0], low)
    return X * c[:, None], c


class ContrastSplit(NamedTuple):
    """Standardised train/test images with their contrast factors."""

    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    c_train: np.ndarray
    c_test: np.ndarray


def contrast_digits(spread: float, *, seed: SeedLike, test_size: float = 0.3,
                    standardize: bool = False) -> ContrastSplit:
    """Digits split by ``seed``, each image's pixels (in ``[0, 1]``) rescaled by a factor in :func:`contrast_interval`.

    With ``standardize``, the images are then centred and scaled by one scalar mean and standard
    deviation of the (contrast-altered) training images, the one-channel analogue of the usual
    per-channel normalisation; without it they keep the pixel scale ``[0, 1]`` times the factor.

    Examples
    --------
    >>> s = contrast_digits(0.5, seed=0, standardize=True)
    >>> s.X_train.shape, abs(float(s.X_train.mean())) < 1e-12, round(float(s.X_train.std()), 12)
    ((1257, 64), True, 1.0)
    """
    from ..datasets import load_digits_split

    if not isinstance(standardize, bool | np.bool_):
        raise TypeError(f"standardize must be a bool, got {type(standardize).__name__}")
    low, high = contrast_interval(spread)
    split_rng, train_rng, test_rng = spawn(seed, 3)
    d = load_digits_split(test_size=test_size, seed=split_rng)
    Xtr, ctr = apply_contrast(d.X_train, low, high, seed=train_rng)
    Xte, cte = apply_contrast(d.X_test, low, high, seed=test_rng)
    if standardize:
        mu, sd = Xtr.mean(), Xtr.std()
        Xtr, Xte = (Xtr - mu) / sd, (Xte - mu) / sd
    return ContrastSplit(Xtr, d.y_train, Xte, d.y_test, ctr, cte)


class MLPRun(NamedTuple):
    """Record of :func:`train_first_layer_mlp` at ``evals_per_epoch`` points per epoch (index 0: initialisation)."""

    epoch: np.ndarray  #: (epochs * evals_per_epoch + 1,) fractional epochs at which the model was evaluated
    test_accuracy: np.ndarray  #: (epochs * evals_per_epoch + 1,)
    train_loss: np.ndarray  #: (epochs * evals_per_epoch + 1,) mean cross-entropy on the training set


def _log_softmax(logits):
    m = logits.max(axis=1, keepdims=True)
    shifted = logits - m
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


def image_patches(X, patch: int) -> np.ndarray:
    """Split square images stored as rows into non-overlapping ``patch x patch`` patches.

    Parameters
    ----------
    X : array_like, shape (N, side * side)
        Row-major square images.
    patch : int
        Patch side, a divisor of ``side``.

    Returns
    -------
    numpy.ndarray, shape (N, (side // patch) ** 2, patch * patch)
        Patches in row-major order of their position; each patch row-major.

    Examples
    --------
    >>> image_patches(np.arange(16.0)[None], 2)[0, 1].tolist()   # the top-right 2 x 2 patch
    [2.0, 3.0, 6.0, 7.0]
    """
    X = check_array(X, "X", ndim=2, finite=False)
    side = int(round(np.sqrt(X.shape[1])))
    if side * side != X.shape[1] or side == 0:
        raise ValueError(f"X rows must be square images (a perfect-square number of columns), got {X.shape[1]}")
    patch = check_int(patch, "patch", low=1, high=side)
    if side % patch:
        raise ValueError(f"patch must divide the image side {side}, got {patch}")
    q = side // patch
    return X.reshape(X.shape[0], q, patch, q, patch).transpose(0, 1, 3, 2, 4).reshape(X.shape[0], q * q, patch * patch)


def train_first_layer_mlp(X_train, y_train, X_test, y_test, *, method: str, lr: float, epochs: int,
                          seed: SeedLike, patch: int = 8, hidden: int = 64, batch_size: int = 32,
                          lam: float = 0.1, evals_per_epoch: int = 1) -> MLPRun:
    r"""Train a patch-embedding network by minibatch SGD; its first layer by SGD or TrAct.

    The first layer maps every non-overlapping ``patch x patch`` patch of a square image to
    ``hidden`` channels with shared weights ``W1`` and a ReLU (a convolution with stride equal to its
    kernel, as in a vision transformer's patch embedding; ``patch = side`` is a plain one-hidden-layer
    MLP); a linear layer maps the concatenated channels to the class logits. With
    ``method="tract"`` the first layer's weight moves by ``-lr *`` :func:`tract_weight_grad` of the
    batch's patches (``b`` = images x patches rows, :eq:`tract-grad`); with ``"sgd"`` by
    ``-lr * grad_z^T X``. Everything else (initialisation, minibatch order, the second layer, the
    biases) is identical for the same ``seed``.

    Parameters
    ----------
    X_train, X_test : array_like, shape (N, side * side)
        Standardised square images as rows (entries of magnitude at most 1e6).
    y_train, y_test : array_like of int, shape (N,)
        Labels in ``[0, classes)``; ``classes = max(y_train) + 1`` (at least 2).
    method : {"sgd", "tract"}
        The first layer's update.
    lr : float
        Learning rate, in ``(0, 100]``.
    epochs : int
        Passes over the training set, in ``[0, 10000]``.
    seed : int, SeedSequence or Generator
        Initialisation (He-normal weights, zero biases) and minibatch order.
    patch : int, default 8
        Patch side, a divisor of the image side (8 for digits: one patch, a plain MLP).
    hidden : int, default 64
        Channels per patch, in ``[1, 4096]``.
    batch_size : int, default 32
        Images per minibatch, in ``[1, N]`` (the last, smaller batch of an epoch is kept).
    lam : float, default 0.1
        TrAct's ridge weight (ignored for ``"sgd"``), in ``(0, 1e100]``.
    evals_per_epoch : int, default 1
        Evaluations per epoch, in ``[1, 64]``, at evenly spaced minibatch counts (the resolution of
        :func:`epochs_to_accuracy`).

    Returns
    -------
    MLPRun

    Raises
    ------
    ValueError
        on shapes that disagree, labels outside ``[0, classes)``, out-of-range arguments, or a
        diverging run (non-finite weights: lower ``lr``).

    Examples
    --------
    >>> s = contrast_digits(0.0, seed=0)
    >>> run = train_first_layer_mlp(s.X_train, s.y_train, s.X_test, s.y_test, method="tract", lr=0.05,
    ...                             epochs=2, seed=0)
    >>> run.epoch.tolist(), bool(run.test_accuracy[-1] > 0.8)
    ([0.0, 1.0, 2.0], True)
    """
    Xtr = check_array(X_train, "X_train", ndim=2, max_abs=1e6)
    Xte = check_array(X_test, "X_test", ndim=2, max_abs=1e6)
    if Xtr.shape[0] < 1 or Xtr.shape[1] < 1:
        raise ValueError(f"X_train must have at least one row and one column, got shape {Xtr.shape}")
    if Xte.shape[1] != Xtr.shape[1]:
        raise ValueError(f"X_test must have {Xtr.shape[1]} columns like X_train, got shape {Xte.shape}")
    ytr = _labels(y_train, "y_train", Xtr.shape[0])
    k = int(ytr.max()) + 1
    if k < 2:
        raise ValueError("y_train must contain at least two classes (labels 0 and 1 at least)")
    yte = _labels(y_test, "y_test", Xte.shape[0])
    if yte.size and yte.max() >= k:
        raise ValueError(f"y_test labels must lie in [0, {k - 1}] (the classes of y_train)")
    method = check_choice(method, "method", METHODS)
    lr = check_real(lr, "lr", low=0.0, high=100.0, low_open=True)
    epochs = check_int(epochs, "epochs", low=0, high=MAX_EPOCHS)
    hidden = check_int(hidden, "hidden", low=1, high=MAX_HIDDEN)
    batch_size = check_int(batch_size, "batch_size", low=1, high=Xtr.shape[0])
    lam = check_real(lam, "lam", low=0.0, high=MAX_LAM, low_open=True)
    evals_per_epoch = check_int(evals_per_epoch, "evals_per_epoch", low=1, high=64)
    Ptr = image_patches(Xtr, patch)
    Pte = image_patches(Xte, patch)
    rng = as_generator(seed)

    from threadpoolctl import threadpool_limits

    N, n_patches, n = Ptr.shape
    width = n_patches * hidden
    W1 = rng.standard_normal((hidden, n)) * np.sqrt(2.0 / n)
    b1 = np.zeros(hidden)
    W2 = rng.standard_normal((k, width)) * np.sqrt(2.0 / width)
    b2 = np.zeros(k)
    onehot = np.eye(k)

    def features(P):
        return np.maximum(P @ W1.T + b1, 0.0).reshape(P.shape[0], width)

    def evaluate():
        loss = -_log_softmax(features(Ptr) @ W2.T + b2)[np.arange(N), ytr].mean()
        if yte.size == 0:
            return np.nan, loss
        return float(np.mean(np.argmax(features(Pte) @ W2.T + b2, axis=1) == yte)), loss

    starts = np.arange(0, N, batch_size)
    # minibatch indices after which an evaluation happens (the last one closes the epoch)
    checkpoints = {int(np.ceil(starts.size * (e + 1) / evals_per_epoch)) - 1 for e in range(evals_per_epoch)}
    acc = np.empty(epochs * evals_per_epoch + 1)
    losses = np.empty_like(acc)
    with threadpool_limits(limits=1, user_api="blas"), np.errstate(over="ignore", invalid="ignore"):
        acc[0], losses[0] = evaluate()
        t = 0
        for epoch in range(1, epochs + 1):
            order = rng.permutation(N)
            for step, start in enumerate(starts):
                idx = order[start:start + batch_size]
                x = Ptr[idx].reshape(-1, n)  # (B * patches, n): one row per patch
                z = x @ W1.T + b1
                h = np.maximum(z, 0.0).reshape(idx.size, width)
                logp = _log_softmax(h @ W2.T + b2)
                g_logits = (np.exp(logp) - onehot[ytr[idx]]) / idx.size
                g_z = (g_logits @ W2).reshape(-1, hidden) * (z > 0)
                W2 -= lr * (g_logits.T @ h)
                b2 -= lr * g_logits.sum(axis=0)
                if method == "tract":
                    try:
                        gW1 = tract_weight_grad(x, g_z, lam)
                    except ValueError as exc:  # entries past MAX_ENTRY or an overflowing solve
                        raise ValueError(f"training diverged in epoch {epoch}: {exc} (lr={lr}, lam={lam})") from None
                else:
                    gW1 = g_z.T @ x
                W1 -= lr * gW1
                b1 -= lr * g_z.sum(axis=0)
                if step in checkpoints:
                    if not (np.all(np.isfinite(W1)) and np.all(np.isfinite(W2))):
                        raise ValueError(f"training diverged (non-finite weights in epoch {epoch}); lower lr "
                                         f"(got {lr})")
                    t += 1
                    acc[t], losses[t] = evaluate()
    epoch_axis = np.arange(acc.size) / evals_per_epoch
    return MLPRun(epoch_axis, acc, losses)


def _labels(y, name, n_rows):
    y = np.asarray(y)
    if y.dtype.kind not in "iu":
        raise TypeError(f"{name} must hold integer labels, got dtype={y.dtype}")
    if y.ndim != 1 or y.size != n_rows:
        raise ValueError(f"{name} must have shape ({n_rows},), got {y.shape}")
    if y.size and y.min() < 0:
        raise ValueError(f"{name} labels must be >= 0")
    return y.astype(np.int64)


def epochs_to_accuracy(epoch, test_accuracy, target: float) -> float:
    """First (fractional) epoch at which ``test_accuracy`` reaches ``target``; ``inf`` if it never does.

    Parameters
    ----------
    epoch : array_like, shape (T,)
        Non-decreasing evaluation times (as :attr:`MLPRun.epoch`).
    test_accuracy : array_like, shape (T,)
        Accuracy at those times, values in ``[0, 1]``.
    target : float
        In ``[0, 1]``.

    Returns
    -------
    float
        The first ``epoch[t]`` with ``test_accuracy[t] >= target``, or ``inf`` (right-censored: the run
        ended first).

    Examples
    --------
    >>> epochs_to_accuracy([0, 0.5, 1.0], [0.1, 0.95, 0.97], 0.9), epochs_to_accuracy([0, 1], [0.1, 0.5], 0.9)
    (0.5, inf)
    """
    e = check_array(epoch, "epoch", ndim=1, min_size=1)
    a = check_array(test_accuracy, "test_accuracy", ndim=1, low=0.0, high=1.0, min_size=1)
    if a.size != e.size:
        raise ValueError(f"epoch and test_accuracy must have the same length, got {e.size} and {a.size}")
    if np.any(np.diff(e) < 0):
        raise ValueError("epoch must be non-decreasing")
    target = check_real(target, "target", low=0.0, high=1.0)
    hit = np.flatnonzero(a >= target)
    return float(e[hit[0]]) if hit.size else float("inf")


class ContrastStudy(NamedTuple):
    """Results of :func:`contrast_study` (method axis follows :data:`METHODS`)."""

    spreads: np.ndarray  #: (S,)
    lr: np.ndarray  #: (S,) the learning rate used at each spread (the same for both methods)
    seeds: np.ndarray  #: (R,) the per-run seeds (data split, contrast and initialisation)
    epoch: np.ndarray  #: (T,) evaluation times in epochs
    test_accuracy: np.ndarray  #: (2, S, R, T)
    epochs_to_target: np.ndarray  #: (2, S, R) first epoch at ``target`` (``inf``: not reached)
    target: float


def contrast_study(spreads, *, lr, epochs: int, seeds, target: float = 0.9, standardize: bool = False,
                   patch: int = 4, hidden: int = 16, batch_size: int = 32, lam: float = 0.1,
                   evals_per_epoch: int = 4) -> ContrastStudy:
    """SGD vs SGD+TrAct at each contrast spread, same learning rate, over seeds (:func:`train_first_layer_mlp`).

    For each spread and seed, both methods see the same data split, contrast factors,
    initialisation and minibatch order (a paired comparison). The defaults (4 x 4 patches, 16
    channels, batch 32) are the chapter's choice for digits.

    Parameters
    ----------
    spreads : array_like, shape (S,)
        Spreads in ``[0, 1]`` (:func:`contrast_interval`).
    lr : float or array_like, shape (S,)
        Learning rate (one per spread, or one for all), each in ``(0, 100]``.
    epochs : int
        At least 1.
    seeds : array_like of int, shape (R,)
        Non-negative run seeds, at least one.
    target : float, default 0.9
        Test accuracy whose first epoch is recorded.
    standardize, patch, hidden, batch_size, lam, evals_per_epoch
        As in :func:`contrast_digits` and :func:`train_first_layer_mlp`.

    Returns
    -------
    ContrastStudy
        ``epochs_to_target`` is ``inf`` for a run that never reached ``target`` (right-censored).

    Raises
    ------
    ValueError
        on out-of-range arguments, or when a run diverges (non-finite weights; lower ``lr``).

    Examples
    --------
    >>> st = contrast_study([0.0], lr=0.1, epochs=1, seeds=[0])
    >>> st.test_accuracy.shape, st.epochs_to_target.shape
    ((2, 1, 1, 5), (2, 1, 1))
    """
    spreads = check_array(spreads, "spreads", ndim=1, low=0.0, high=1.0, min_size=1)
    if np.asarray(lr).dtype.kind == "b":
        raise TypeError("lr must be a real number or array of them, got bool")
    lr_arr = check_array(lr, "lr", ndim=(0, 1), low=0.0, high=100.0, low_open=True)
    if lr_arr.ndim == 1 and lr_arr.size != spreads.size:
        raise ValueError(f"lr must be a scalar or have one entry per spread ({spreads.size}), got {lr_arr.size}")
    lr_arr = np.broadcast_to(lr_arr, spreads.shape).copy()
    seeds_arr = check_seeds(seeds, "seeds")
    epochs = check_int(epochs, "epochs", low=1, high=MAX_EPOCHS)
    target = check_real(target, "target", low=0.0, high=1.0)
    evals_per_epoch = check_int(evals_per_epoch, "evals_per_epoch", low=1, high=64)
    acc = np.empty((len(METHODS), spreads.size, seeds_arr.size, epochs * evals_per_epoch + 1))
    jobs = [(i, j) for i in range(spreads.size) for j in range(seeds_arr.size)]
    for i, j in progress(jobs, desc="contrast study"):
        s = contrast_digits(float(spreads[i]), seed=int(seeds_arr[j]), standardize=standardize)
        for m, method in enumerate(METHODS):
            run = train_first_layer_mlp(s.X_train, s.y_train, s.X_test, s.y_test, method=method, lr=float(lr_arr[i]),
                                        epochs=epochs, seed=int(seeds_arr[j]) + 7919, patch=patch, hidden=hidden,
                                        batch_size=batch_size, lam=lam, evals_per_epoch=evals_per_epoch)
            acc[m, i, j] = run.test_accuracy
    epoch = np.arange(acc.shape[-1]) / evals_per_epoch
    ett = np.apply_along_axis(lambda a: epochs_to_accuracy(epoch, a, target), -1, acc)
    return ContrastStudy(spreads, lr_arr, seeds_arr, epoch, acc, ett, target)


class TunedStudy(NamedTuple):
    """Results of :func:`tuned_contrast_study`."""

    lr_grid: np.ndarray  #: (L,) learning rates tried
    tuning: np.ndarray  #: (L, 2) mean epochs to ``target`` of each method at spread 0 on the tuning seeds
    lr: float  #: the rate of the grid with the lowest SGD entry of ``tuning`` (used by both methods)
    study: ContrastStudy  #: the evaluation at ``lr`` on the evaluation seeds
    times: np.ndarray  #: (2, S, R) ``study.epochs_to_target`` with ``inf`` replaced by ``epochs + 1/evals``
    censored: int  #: evaluation runs that never reached ``target``


def tuned_contrast_study(spreads, *, lr_grid, tune_seeds, eval_seeds, epochs: int, target: float = 0.9,
                         standardize: bool = False, patch: int = 4, hidden: int = 16, batch_size: int = 32,
                         lam: float = 0.1, evals_per_epoch: int = 4) -> TunedStudy:
    """The chapter's protocol: tune the learning rate for SGD, then compare SGD and TrAct at that rate.

    The rate is chosen on ``lr_grid`` at spread 0 by the mean epochs to ``target`` of SGD over
    ``tune_seeds`` (a run that never reaches it counts as ``epochs + 1/evals_per_epoch``); then
    :func:`contrast_study` runs both methods at that rate at every spread on ``eval_seeds``. Tuning and
    evaluation seeds should differ (they set the data split and the initialisation).

    Parameters
    ----------
    spreads : array_like, shape (S,)
        Spreads in ``[0, 1]``.
    lr_grid : array_like, shape (L,)
        Candidate learning rates in ``(0, 100]``, at least one.
    tune_seeds, eval_seeds : array_like of int
        Non-negative seeds, at least one each.
    epochs, target, standardize, patch, hidden, batch_size, lam, evals_per_epoch
        As in :func:`contrast_study`.

    Returns
    -------
    TunedStudy
        ``study.epochs_to_target`` is ``inf`` for runs that never reached ``target``; ``times`` caps them.

    Raises
    ------
    ValueError
        on out-of-range arguments, or when a run diverges (non-finite weights: drop that rate from the grid).

    Examples
    --------
    >>> t = tuned_contrast_study([0.0], lr_grid=[0.3], tune_seeds=[9], eval_seeds=[0], epochs=1)
    >>> t.lr, t.times.shape
    (0.3, (2, 1, 1))
    """
    grid = check_array(lr_grid, "lr_grid", ndim=1, low=0.0, high=100.0, low_open=True, min_size=1)
    tune_seeds = check_seeds(tune_seeds, "tune_seeds")
    eval_seeds = check_seeds(eval_seeds, "eval_seeds")
    epochs = check_int(epochs, "epochs", low=1, high=MAX_EPOCHS)
    evals_per_epoch = check_int(evals_per_epoch, "evals_per_epoch", low=1, high=64)
    cap = epochs + 1.0 / evals_per_epoch
    kw = dict(epochs=epochs, target=target, standardize=standardize, patch=patch, hidden=hidden,
              batch_size=batch_size, lam=lam, evals_per_epoch=evals_per_epoch)
    tuning = np.empty((grid.size, len(METHODS)))
    for k, lr in enumerate(grid):
        st = contrast_study([0.0], lr=float(lr), seeds=tune_seeds, **kw)
        tuning[k] = np.minimum(st.epochs_to_target[:, 0], cap).mean(axis=-1)
    best = float(grid[int(np.argmin(tuning[:, 0]))])
    study = contrast_study(spreads, lr=best, seeds=eval_seeds, **kw)
    censored = int(np.isinf(study.epochs_to_target).sum())
    return TunedStudy(grid, tuning, best, study, np.minimum(study.epochs_to_target, cap), censored)
