"""Retrieval metrics of embeddings and a synthetic task with unseen classes, for the part's experiments."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .._rng import as_generator
from .._torch import require_torch
from .._validate import check_array, check_choice, check_int, check_real
from .similarity import cosine_similarity_matrix, pair_masks

__all__ = ["RetrievalTask", "embed", "recall_at_k", "retrieval_task", "train_embedding"]


def recall_at_k(embeddings, labels, k: int = 1) -> float:
    """Fraction of queries whose ``k`` nearest other samples (cosine similarity) include one of their class.

    Every sample is a query against all others (leave-one-out). Ties in similarity are broken by index.

    Parameters
    ----------
    embeddings : array_like, shape (n, d)
        Finite, non-zero rows.
    labels : array_like of int, shape (n,)
        Class labels.
    k : int, default 1
        Neighbours considered, ``1 <= k <= n - 1``.

    Returns
    -------
    float
        Recall@k in ``[0, 1]``.

    Examples
    --------
    >>> recall_at_k([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0], [0.1, 0.9]], [0, 0, 1, 1])
    1.0
    """
    S = cosine_similarity_matrix(embeddings)
    n = S.shape[0]
    y = np.asarray(labels)
    if y.shape != (n,):
        raise ValueError(f"labels must have shape ({n},) to match embeddings, got {y.shape}")
    pair_masks(y)  # integer labels only (TypeError naming labels)
    k = check_int(k, "k", low=1, high=max(n - 1, 1))
    if n < 2:
        raise ValueError("recall_at_k needs at least 2 samples")
    np.fill_diagonal(S, -np.inf)
    nn = np.argsort(-S, axis=1, kind="stable")[:, :k]
    return float(np.mean((y[nn] == y[:, None]).any(axis=1)))


class RetrievalTask(NamedTuple):
    """Train and test split of :func:`retrieval_task`; the test classes are not in the training set."""

    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray


def retrieval_task(n_classes: int = 40, per_class: int = 40, *, dim: int = 32, latent: int = 8,
                   spread: float = 0.6, nuisance: float = 2.0, noise: float = 0.3, seed) -> RetrievalTask:
    """Synthetic classes behind a fixed random nonlinear map and a nuisance; half the classes are unseen.

    Class ``c`` has a latent centre ``m_c ~ N(0, I_latent)``; a sample is
    ``x = W2 tanh(W1 (m_c + spread u)) + nuisance * W3 r + noise v`` with ``u, r, v`` standard normal
    (``r`` in 4 dimensions) and ``W1, W2, W3`` Gaussian matrices shared by all classes. The nuisance
    ``W3 r`` (think pose or lighting) dominates raw cosine similarities; what a network learns about
    removing it transfers to new classes. Classes ``0 .. n_classes/2 - 1`` form the training set, the
    others the test set.

    Parameters
    ----------
    n_classes : int, default 40
        Even, ``>= 4``.
    per_class : int, default 40
        Samples per class, ``>= 2``.
    dim, latent : int
        Input and latent dimensions, ``>= 1``.
    spread, nuisance, noise : float
        Within-class latent spread, nuisance scale and input noise, in ``[0, 1e100]`` (larger scales would
        overflow the features to infinity).
    seed : int, SeedSequence or Generator

    Returns
    -------
    RetrievalTask

    Raises
    ------
    ValueError, TypeError
        For a bad argument (the message names it).

    Examples
    --------
    >>> t = retrieval_task(4, 3, seed=0)
    >>> t.X_train.shape, sorted(set(t.y_test.tolist()))
    ((6, 32), [2, 3])
    """
    n_classes = check_int(n_classes, "n_classes", low=4)
    if n_classes % 2:
        raise ValueError(f"n_classes must be even (half train, half unseen), got {n_classes}")
    per_class = check_int(per_class, "per_class", low=2)
    dim, latent = check_int(dim, "dim", low=1), check_int(latent, "latent", low=1)
    spread = check_real(spread, "spread", low=0.0, high=1e100)
    noise = check_real(noise, "noise", low=0.0, high=1e100)
    nuisance = check_real(nuisance, "nuisance", low=0.0, high=1e100)
    rng = as_generator(seed)
    W1 = rng.standard_normal((latent, 4 * latent)) / np.sqrt(latent)
    W2 = rng.standard_normal((4 * latent, dim)) / np.sqrt(4 * latent)
    W3 = rng.standard_normal((4, dim)) / 2.0
    centres = rng.standard_normal((n_classes, latent))
    y = np.repeat(np.arange(n_classes), per_class)
    Z = centres[y] + spread * rng.standard_normal((y.size, latent))
    X = (np.tanh(Z @ W1) @ W2 + nuisance * rng.standard_normal((y.size, 4)) @ W3
         + noise * rng.standard_normal((y.size, dim)))
    train = y < n_classes // 2
    return RetrievalTask(X[train], y[train], X[~train], y[~train])


def train_embedding(loss: str, X, y, *, seed, epochs: int = 40, lr: float = 3e-3, batch_size: int = 160,
                    hidden: int = 64, out_dim: int = 16, **loss_params):
    """Train a one-hidden-layer MLP embedding with a pair loss of :mod:`.pair_losses` (Adam, CPU).

    Parameters
    ----------
    loss : str
        A name in :data:`~lossbook.metric_learning.pair_losses.PAIR_LOSSES`.
    X : array_like, shape (n, dim)
        Inputs.
    y : array_like of int, shape (n,)
        Labels.
    seed : int
        Initialisation and minibatch order, in ``[0, 2**63 - 1]``.
    epochs, lr, batch_size, hidden, out_dim
        Training set-up (defaults calibrated on :func:`retrieval_task`'s defaults only): ``epochs`` in
        ``[1, 1e7]``, ``lr`` in ``(0, 1e30]``, ``batch_size >= 2`` (a last minibatch of one sample is skipped:
        it has no pairs), ``hidden, out_dim >= 1``.
    **loss_params
        Passed to :func:`~lossbook.metric_learning.pair_loss_from_similarity`.

    Returns
    -------
    model : torch.nn.Module
    history : lossbook.training.TrainingHistory
    """
    torch = require_torch()
    from ..training import seeded, train
    from .pair_losses import PAIR_LOSSES, pair_loss_from_similarity

    loss = check_choice(loss, "loss", PAIR_LOSSES)
    y_arr = np.asarray(y)
    if y_arr.ndim != 1 or y_arr.dtype.kind not in "iu":
        raise TypeError(f"y must be a 1-d array of integer labels, got dtype={y_arr.dtype}, shape {y_arr.shape}")
    seed = check_int(seed, "seed", low=0)
    hidden, out_dim = check_int(hidden, "hidden", low=1), check_int(out_dim, "out_dim", low=1)
    check_int(epochs, "epochs", low=1, high=10**7)
    check_real(lr, "lr", low=0.0, low_open=True, high=1e30)
    check_int(batch_size, "batch_size", low=2)
    X = _float32_inputs(X)
    with seeded(seed):
        model = torch.nn.Sequential(torch.nn.Linear(X.shape[1], hidden), torch.nn.ReLU(),
                                    torch.nn.Linear(hidden, out_dim))

    def loss_fn(out, target):
        if out.shape[0] < 2:
            return out.sum() * 0.0  # a one-sample (last) minibatch has no pairs: it contributes nothing
        U = torch.nn.functional.normalize(out, dim=1)
        return pair_loss_from_similarity(loss, (U @ U.T).clamp(-1.0, 1.0), target, **loss_params)

    history = train(model, loss_fn, X, y, epochs=epochs, lr=lr, seed=seed, batch_size=batch_size, optimizer="adam")
    return model, history


def embed(model, X) -> np.ndarray:
    """Outputs of ``model`` on ``X`` as a float64 array (no gradient).

    Parameters
    ----------
    model : torch.nn.Module
    X : array_like, shape (n, dim)

    Returns
    -------
    ndarray, shape (n, out_dim)
    """
    torch = require_torch()
    if not isinstance(model, torch.nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    params = list(model.parameters())
    dtype = params[0].dtype if params else torch.float32
    X = _float32_inputs(X) if dtype == torch.float32 else check_array(X, "X", ndim=2)
    with torch.no_grad():
        return model(torch.as_tensor(X).to(dtype)).double().numpy()


def _float32_inputs(X) -> np.ndarray:
    X = check_array(X, "X", ndim=2)
    if X.size and np.max(np.abs(X)) > np.finfo(np.float32).max:
        raise ValueError("X has entries beyond the float32 range of the model")
    return X.astype(np.float32)
