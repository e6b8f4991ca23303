"""Normalised softmax on the hypersphere, cosine prototypes for novel classes, and few-shot episodes.

The normalised softmax (Zhai and Wu 2019; used for novel-class classification by Pereira et al. 2021)
is cross-entropy on the cosine similarities ``S[i, j] = <x_i / |x_i|, w_j / |w_j|>`` between the
embedding of sample ``i`` and a learned class vector ``w_j`` (a *proxy*), divided by a temperature
``tau`` (the scale is ``s = 1 / tau``):

``L = (1/n) sum_i [ log sum_j exp(S_ij / tau) - S_{i y_i} / tau ]``.

In the pair-weighting language of this subpackage it is a loss of the ``n x C`` similarity matrix
between samples and proxies: ``dL/dS_ij = (p_ij - [j = y_i]) / (n tau)`` with ``p_i = softmax(S_i / tau)``
(:func:`normalized_softmax_pair_weights`), so the negative proxies of a sample share its positive
weight in proportion to ``exp(S_ij / tau)``. Novel classes are then classified by the nearest
normalised class mean of a few labelled embeddings (:func:`prototype_classify`,
:func:`few_shot_accuracy`). Chapter: *Hyperspherical embeddings for novel classes*
(:doc:`/book/collapse/hyperspherical-embedding`).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .._rng import as_generator
from .._torch import require_torch
from .._validate import check_array, check_choice, check_int, check_labels, check_real, check_size
from .retrieval import RetrievalTask
from .similarity import l2_normalize

__all__ = [
    "FewShotStudy",
    "few_shot_accuracy",
    "few_shot_study",
    "normalized_softmax_gradient",
    "normalized_softmax_loss",
    "normalized_softmax_loss_torch",
    "normalized_softmax_minimum",
    "normalized_softmax_pair_weights",
    "novel_class_split",
    "prototype_classify",
    "train_softmax_embedding",
]

TEMPERATURE_RANGE = (1e-6, 1e6)  #: accepted temperatures (outside, 1/tau or tau * log C lose all precision)
MAX_EPISODES = 100_000  #: largest ``n_episodes`` of :func:`few_shot_accuracy`


def _check_inputs(embeddings, weights, labels, temperature):
    U, V, y = _check_class_head(embeddings, weights, labels)
    tau = check_real(temperature, "temperature", low=TEMPERATURE_RANGE[0], high=TEMPERATURE_RANGE[1])
    return U, V, y, tau


def _check_class_head(embeddings, weights, labels):
    """Unit embeddings, unit class vectors and labels, checked against each other (shared by the softmax heads)."""
    E = check_array(embeddings, "embeddings", ndim=2, min_size=1)
    W = check_array(weights, "weights", ndim=2, min_size=1)
    if E.shape[1] != W.shape[1]:
        raise ValueError(f"embeddings and weights must have the same number of columns (embedding dimension); "
                         f"got {E.shape[1]} and {W.shape[1]}")
    U = l2_normalize(E, name="embeddings")
    V = l2_normalize(W, name="weights")
    y = np.asarray(labels)
    if y.shape != (E.shape[0],):
        raise ValueError(f"labels must have shape ({E.shape[0]},) to match embeddings, got {y.shape}")
    return U, V, check_labels(y, "labels", W.shape[0])


def _softmax_parts(U, V, y, tau):
    """Cosines ``S``, log-probabilities and probabilities (stable: the row maximum is subtracted)."""
    S = np.clip(U @ V.T, -1.0, 1.0)
    Z = S / tau
    Z = Z - Z.max(axis=1, keepdims=True)
    logp = Z - np.log(np.exp(Z).sum(axis=1, keepdims=True))
    return S, logp, np.exp(logp)


def normalized_softmax_loss(embeddings, weights, labels, *, temperature: float = 0.05) -> float:
    """Mean normalised-softmax loss :eq:`hse-loss` of embeddings against class vectors.

    Parameters
    ----------
    embeddings : array_like, shape (n, d)
        Finite, every row non-zero (it is divided by its norm).
    weights : array_like, shape (C, d)
        Class vectors (one row per class, the transpose of ``pytorch-metric-learning``'s ``W``); finite,
        non-zero rows.
    labels : array_like of int, shape (n,)
        Classes in ``{0, ..., C - 1}``.
    temperature : float, default 0.05
        ``tau`` in ``[1e-6, 1e6]``; the scale is ``1 / tau``. The default is ``pytorch-metric-learning``'s.

    Returns
    -------
    float
        ``(1/n) sum_i -log softmax(S_i / tau)[y_i]``, in ``[0, log C + 2 / tau]``.

    Raises
    ------
    ValueError
        For non-finite entries, zero rows, mismatched shapes, labels outside ``0..C-1`` or ``temperature``
        outside its range.
    TypeError
        For non-integer labels or non-numeric input.

    Examples
    --------
    >>> round(normalized_softmax_loss([[2.0, 0.0]], [[1.0, 0.0], [0.0, 3.0]], [0], temperature=1.0), 6)
    0.313262
    """
    U, V, y, tau = _check_inputs(embeddings, weights, labels, temperature)
    Z = np.clip(U @ V.T, -1.0, 1.0) / tau
    rows = np.arange(y.size)
    top = np.argmax(Z, axis=1)
    m = Z[rows, top]
    # -log p_y = (m - Z_y) + log(1 + sum_{j != argmax} e^{Z_j - m}): log1p keeps tiny losses exact
    rest = np.exp(Z - m[:, None])
    rest[rows, top] = 0.0
    return float(np.mean((m - Z[rows, y]) + np.log1p(rest.sum(axis=1))))


def normalized_softmax_pair_weights(embeddings, weights, labels, *, temperature: float = 0.05) -> np.ndarray:
    """``dL/dS`` of :func:`normalized_softmax_loss` for the sample-proxy cosines (:prf:ref:`hse-prop-weights`).

    Parameters
    ----------
    embeddings, weights, labels, temperature
        As in :func:`normalized_softmax_loss`.

    Returns
    -------
    ndarray, shape (n, C)
        ``(p_ij - [j = y_i]) / (n tau)``: negative on the own class (the pair is pulled together), positive
        on every other class, and each row sums to 0.

    Examples
    --------
    >>> G = normalized_softmax_pair_weights([[1.0, 0.0]], [[1.0, 0.0], [0.0, 1.0]], [0], temperature=1.0)
    >>> G.round(4).tolist()
    [[-0.2689, 0.2689]]
    """
    U, V, y, tau = _check_inputs(embeddings, weights, labels, temperature)
    _, _, p = _softmax_parts(U, V, y, tau)
    G = p.copy()
    G[np.arange(y.size), y] -= 1.0
    return G / (y.size * tau)


def normalized_softmax_gradient(embeddings, weights, labels, *,
                                temperature: float = 0.05) -> tuple[np.ndarray, np.ndarray]:
    """Closed-form gradients of :func:`normalized_softmax_loss` in the embeddings and class vectors.

    :eq:`hse-grad`: ``dL/dx_i = (I - u_i u_i^T) sum_j G_ij v_j / |x_i|`` and
    ``dL/dw_j = (I - v_j v_j^T) sum_i G_ij u_i / |w_j|``, with ``u, v`` the unit rows and ``G`` the pair
    weights of :func:`normalized_softmax_pair_weights`. Both are tangent to the sphere: ``<dL/dx_i, x_i> = 0``.

    Parameters
    ----------
    embeddings, weights, labels, temperature
        As in :func:`normalized_softmax_loss`.

    Returns
    -------
    grad_embeddings : ndarray, shape (n, d)
    grad_weights : ndarray, shape (C, d)
        Computed from unit rows and then divided by the row norms; a row of norm beyond ``1e308`` or below
        ``1e-308`` can give a gradient that underflows to 0 or overflows to ``inf`` (the true value does).

    Examples
    --------
    >>> gx, gw = normalized_softmax_gradient([[1.0, 1.0]], [[1.0, 0.0], [0.0, 1.0]], [0], temperature=1.0)
    >>> gx.round(4).tolist(), float((gx @ [1.0, 1.0])[0])
    ([[-0.3536, 0.3536]], 0.0)
    """
    U, V, y, tau = _check_inputs(embeddings, weights, labels, temperature)
    _, _, p = _softmax_parts(U, V, y, tau)
    G = p.copy()
    G[np.arange(y.size), y] -= 1.0
    G /= y.size * tau
    E = np.asarray(embeddings, dtype=float)
    W = np.asarray(weights, dtype=float)
    gu = G @ V
    gv = G.T @ U
    gu -= np.sum(gu * U, axis=1, keepdims=True) * U
    gv -= np.sum(gv * V, axis=1, keepdims=True) * V
    with np.errstate(over="ignore", under="ignore"):
        return gu / _norms(E), gv / _norms(W)


def _norms(A):
    big = np.max(np.abs(A), axis=1, keepdims=True)
    with np.errstate(over="ignore"):
        return big * np.linalg.norm(A / big, axis=1, keepdims=True)


def normalized_softmax_loss_torch(embeddings, weights, labels, *, temperature: float = 0.05):
    """:func:`normalized_softmax_loss` on torch tensors, differentiable in ``embeddings`` and ``weights``.

    Parameters
    ----------
    embeddings : torch.Tensor, shape (n, d)
        Floating point; finite, non-zero rows.
    weights : torch.Tensor, shape (C, d)
        Floating point, the same dtype as ``embeddings``; finite, non-zero rows.
    labels : torch.Tensor or array_like of int, shape (n,)
        Classes in ``{0, ..., C - 1}``.
    temperature : float, default 0.05
        In ``[1e-6, 1e6]``.

    Returns
    -------
    torch.Tensor
        Scalar (the mean over samples).

    Examples
    --------
    >>> import torch
    >>> E = torch.tensor([[2.0, 0.0]], dtype=torch.float64)
    >>> W = torch.tensor([[1.0, 0.0], [0.0, 3.0]], dtype=torch.float64)
    >>> round(float(normalized_softmax_loss_torch(E, W, [0], temperature=1.0)), 6)
    0.313262
    """
    torch = require_torch()
    for name, t in (("embeddings", embeddings), ("weights", weights)):
        if not torch.is_tensor(t) or not t.is_floating_point() or t.ndim != 2:
            raise TypeError(f"{name} must be a 2-D floating-point torch tensor")
    if embeddings.dtype != weights.dtype:
        raise TypeError(f"embeddings and weights must share a dtype, got {embeddings.dtype} and {weights.dtype}")
    y_np = labels.detach().cpu().numpy() if torch.is_tensor(labels) else np.asarray(labels)
    with torch.no_grad():
        _, _, y_np, tau = _check_inputs(embeddings.detach().cpu().double().numpy(),
                                        weights.detach().cpu().double().numpy(), y_np, temperature)

    return _ns_loss_torch(embeddings, weights, torch.as_tensor(y_np, device=embeddings.device), tau)


def _ns_loss_torch(E, W, y, tau):
    """The loss without input checks (training loop; a zero or non-finite row gives NaN, caught by the trainer)."""
    torch = require_torch()

    def unit(A):  # divide by the row's largest modulus first, so that norms of rows near 1e300 do not overflow
        A = A / A.abs().amax(dim=1, keepdim=True)
        return A / torch.linalg.vector_norm(A, dim=1, keepdim=True)

    S = (unit(E) @ unit(W).T).clamp(-1.0, 1.0)
    return torch.nn.functional.cross_entropy(S / tau, y)


def normalized_softmax_minimum(n_classes: int, temperature: float = 0.05) -> float:
    """Smallest mean normalised-softmax loss over unit embeddings and class vectors (:prf:ref:`hse-thm-etf`).

    ``log(1 + (C - 1) exp(-C / ((C - 1) tau)))`` for balanced classes, attained exactly when the class
    vectors form a simplex equiangular tight frame and every embedding points at its class vector (this
    needs embedding dimension ``d >= C - 1``). For ``C = 1`` the loss is identically 0.

    Parameters
    ----------
    n_classes : int
        ``C >= 1``.
    temperature : float, default 0.05
        In ``[1e-6, 1e6]``.

    Returns
    -------
    float
        In ``[0, log C)``; computed with ``log1p`` so that small values keep their relative precision.

    Examples
    --------
    >>> round(normalized_softmax_minimum(2, 1.0), 6)   # two antipodal classes: log(1 + e^-2)
    0.126928
    """
    C = check_int(n_classes, "n_classes", low=1)
    tau = check_real(temperature, "temperature", low=TEMPERATURE_RANGE[0], high=TEMPERATURE_RANGE[1])
    if C == 1:
        return 0.0
    return float(np.log1p(np.exp(np.log(C - 1.0) - C / ((C - 1.0) * tau))))


def _class_prototypes(S_unit, ys):
    classes, inv = np.unique(ys, return_inverse=True)
    P = np.zeros((classes.size, S_unit.shape[1]))
    np.add.at(P, inv, S_unit)
    return classes, P / np.bincount(inv)[:, None]


def prototype_classify(support, support_labels, query, *, metric: str = "cosine") -> np.ndarray:
    """Label each query with the class of its nearest class mean ("prototype") of the support embeddings.

    With ``metric="cosine"`` (:prf:ref:`hse-prop-proto`) the support rows are normalised, averaged per class
    and compared with the normalised queries by cosine; a class whose averaged unit vectors cancel exactly
    (mean 0) has no direction and gets cosine 0 with every query. With ``metric="euclidean"`` the raw
    support rows are averaged and the nearest mean in Euclidean distance wins. Ties go to the smallest label.

    Parameters
    ----------
    support : array_like, shape (m, d)
        Labelled embeddings; finite (non-zero rows for ``"cosine"``).
    support_labels : array_like of int, shape (m,)
        Their classes (any integers).
    query : array_like, shape (q, d)
        Embeddings to classify; finite (non-zero rows for ``"cosine"``).
    metric : {"cosine", "euclidean"}, default "cosine"

    Returns
    -------
    ndarray of int64, shape (q,)
        Predicted labels, each one of ``support_labels``.

    Examples
    --------
    >>> prototype_classify([[1.0, 0.0], [0.0, 1.0]], [3, 7], [[0.9, 0.2], [0.1, 5.0]]).tolist()
    [3, 7]
    """
    metric = check_choice(metric, "metric", ("cosine", "euclidean"))
    Xs = check_array(support, "support", ndim=2, min_size=1)
    Xq = check_array(query, "query", ndim=2)
    if Xs.shape[1] != Xq.shape[1]:
        raise ValueError(f"support and query must have the same number of columns, got {Xs.shape[1]} "
                         f"and {Xq.shape[1]}")
    ys = np.asarray(support_labels)
    if ys.shape != (Xs.shape[0],):
        raise ValueError(f"support_labels must have shape ({Xs.shape[0]},) to match support, got {ys.shape}")
    if ys.dtype.kind not in "iub":
        raise TypeError(f"support_labels must hold integers, got dtype={ys.dtype}")
    check_size(Xq.shape[0] * Xs.shape[0], "query", what="query-support pairs")
    if Xq.shape[0] == 0:
        return np.zeros(0, dtype=np.int64)
    if metric == "cosine":
        classes, P = _class_prototypes(l2_normalize(Xs, name="support"), ys)
        norms = np.linalg.norm(P, axis=1)
        P = np.divide(P, norms[:, None], out=np.zeros_like(P), where=norms[:, None] > 1e-12)
        scores = l2_normalize(Xq, name="query") @ P.T
    else:
        scale = max(np.max(np.abs(Xs)), np.max(np.abs(Xq)) if Xq.size else 0.0)
        scale = scale if scale > 0 else 1.0  # one global factor: the nearest mean does not change
        classes, P = _class_prototypes(Xs / scale, ys)
        Q = Xq / scale
        scores = -((Q[:, None, :] - P[None, :, :]) ** 2).sum(axis=2)
    return classes[np.argmax(scores, axis=1)].astype(np.int64)


def few_shot_accuracy(embeddings, labels, *, shots: int, n_episodes: int = 100, n_query: int | None = None,
                      metric: str = "cosine", seed) -> np.ndarray:
    """Accuracy of :func:`prototype_classify` over random N-way K-shot episodes (N = all classes present).

    In each episode every class contributes ``shots`` random support samples and ``n_query`` random other
    samples as queries (all its other samples if ``None``).

    Parameters
    ----------
    embeddings : array_like, shape (n, d)
        Embeddings of the novel classes; finite (non-zero rows for ``"cosine"``).
    labels : array_like of int, shape (n,)
        Their classes; at least 2 classes, each with at least ``shots + 1`` samples (``shots + n_query``
        if ``n_query`` is given).
    shots : int
        Support samples per class, ``>= 1``.
    n_episodes : int, default 100
        In ``[1, 100000]``.
    n_query : int, optional
        Queries per class, ``>= 1``.
    metric : {"cosine", "euclidean"}, default "cosine"
    seed : int, SeedSequence or Generator

    Returns
    -------
    ndarray, shape (n_episodes,)
        Fraction of queries classified correctly in each episode.

    Examples
    --------
    >>> E = [[1.0, 0.1], [0.9, -0.1], [1.0, 0.0], [0.1, 1.0], [-0.1, 0.9], [0.0, 1.0]]
    >>> few_shot_accuracy(E, [0, 0, 0, 1, 1, 1], shots=1, n_episodes=3, seed=0).tolist()
    [1.0, 1.0, 1.0]
    """
    X = check_array(embeddings, "embeddings", ndim=2, min_size=1)
    y = np.asarray(labels)
    if y.shape != (X.shape[0],):
        raise ValueError(f"labels must have shape ({X.shape[0]},) to match embeddings, got {y.shape}")
    if y.dtype.kind not in "iub":
        raise TypeError(f"labels must hold integers, got dtype={y.dtype}")
    shots = check_int(shots, "shots", low=1)
    n_episodes = check_int(n_episodes, "n_episodes", low=1, high=MAX_EPISODES)
    if n_query is not None:
        n_query = check_int(n_query, "n_query", low=1)
    metric = check_choice(metric, "metric", ("cosine", "euclidean"))
    classes, counts = np.unique(y, return_counts=True)
    if classes.size < 2:
        raise ValueError(f"labels must hold at least 2 classes for an episode, got {classes.size}")
    need = shots + (n_query if n_query is not None else 1)
    if counts.min() < need:
        raise ValueError(f"every class needs at least shots + {'n_query' if n_query else '1'} = {need} samples; "
                         f"class {classes[np.argmin(counts)]} has {counts.min()}")
    if metric == "cosine":
        l2_normalize(X, name="embeddings")  # refuse zero rows up front (ValueError naming embeddings)
    check_size(n_episodes * X.shape[0], "n_episodes", what="episode samples")
    rng = as_generator(seed)
    members = [np.flatnonzero(y == c) for c in classes]
    acc = np.empty(n_episodes)
    for e in range(n_episodes):
        sup, qry = [], []
        for idx in members:
            perm = rng.permutation(idx)
            sup.append(perm[:shots])
            qry.append(perm[shots:] if n_query is None else perm[shots:shots + n_query])
        s, q = np.concatenate(sup), np.concatenate(qry)
        acc[e] = np.mean(prototype_classify(X[s], y[s], X[q], metric=metric) == y[q])
    return acc


def novel_class_split(X, y, *, n_novel: int = 3, seed) -> RetrievalTask:
    """Hold out ``n_novel`` random classes: train on the others, test on the held-out (novel) classes.

    Parameters
    ----------
    X : array_like, shape (n, dim)
        Finite inputs.
    y : array_like of int, shape (n,)
        Labels (any integers).
    n_novel : int, default 3
        Classes held out, ``1 <= n_novel <= (number of classes) - 1``.
    seed : int, SeedSequence or Generator
        Which classes are held out.

    Returns
    -------
    RetrievalTask
        ``X_train, y_train`` (seen classes) and ``X_test, y_test`` (novel classes), rows in their original
        order.

    Examples
    --------
    >>> t = novel_class_split([[0.0], [1.0], [2.0], [3.0]], [0, 1, 2, 2], n_novel=1, seed=0)
    >>> sorted(set(t.y_train.tolist()) | set(t.y_test.tolist())), len(set(t.y_test.tolist()))
    ([0, 1, 2], 1)
    """
    X = check_array(X, "X", ndim=2, min_size=1)
    y = np.asarray(y)
    if y.shape != (X.shape[0],):
        raise ValueError(f"y must have shape ({X.shape[0]},) to match X, got {y.shape}")
    if y.dtype.kind not in "iub":
        raise TypeError(f"y must hold integers, got dtype={y.dtype}")
    classes = np.unique(y)
    if classes.size < 2:
        raise ValueError(f"y must hold at least 2 classes (some seen, some novel), got {classes.size}")
    n_novel = check_int(n_novel, "n_novel", low=1, high=classes.size - 1)
    novel = as_generator(seed).choice(classes, n_novel, replace=False)
    test = np.isin(y, novel)
    return RetrievalTask(X[~test], y[~test].astype(np.int64), X[test], y[test].astype(np.int64))


def train_softmax_embedding(X, y, *, normalized: bool = True, temperature: float = 0.05, seed, epochs: int = 40,
                            lr: float = 3e-3, batch_size: int = 160, hidden: int = 64, out_dim: int = 16):
    """Train a one-hidden-layer MLP embedding with a (normalised or plain) softmax classifier on top (Adam, CPU).

    The embedding network is the one of :func:`~lossbook.metric_learning.train_embedding`
    (``Linear -> ReLU -> Linear``), so the pair losses and the softmax losses train the same architecture.
    With ``normalized=True`` the head is a matrix of class vectors and the loss is
    :func:`normalized_softmax_loss_torch`; with ``normalized=False`` the head is an affine layer and the
    loss is plain cross-entropy on its logits (``temperature`` unused).

    Parameters
    ----------
    X : array_like, shape (n, dim)
        Inputs, finite, of magnitude at most ``3.4e38`` (the float32 range of the network).
    y : array_like of int, shape (n,)
        Labels (any integers; class ``k`` of the head is the ``k``-th smallest label).
    normalized : bool, default True
    temperature : float, default 0.05
        In ``[1e-6, 1e6]``.
    seed : int
        Initialisation and minibatch order, in ``[0, 2**63 - 1]``.
    epochs, lr, batch_size, hidden, out_dim
        As in :func:`~lossbook.metric_learning.train_embedding` (defaults calibrated on scikit-learn's digits
        only): ``epochs`` in ``[1, 1e7]``, ``lr`` in ``(0, 1e30]``, ``batch_size >= 1``, ``hidden, out_dim >= 1``.

    Returns
    -------
    model : torch.nn.Module
        The embedding network (without the head); use :func:`~lossbook.metric_learning.embed`.
    class_weights : ndarray, shape (C, out_dim)
        The head's class vectors (rows), in the order of the sorted labels.
    history : lossbook.training.TrainingHistory

    Raises
    ------
    FloatingPointError
        If the loss becomes NaN or infinite (too large a learning rate, inputs the network overflows on, or
        an embedding that becomes exactly zero); see :func:`lossbook.training.train`.
    ValueError, TypeError
        For a bad argument (the message names it).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> y = np.repeat([3, 5, 8], 10)
    >>> X = rng.normal(size=(3, 6))[[0] * 10 + [1] * 10 + [2] * 10] + 0.1 * rng.normal(size=(30, 6))
    >>> model, W, history = train_softmax_embedding(X, y, seed=0, epochs=2, out_dim=4)
    >>> W.shape, len(history.train_loss)
    ((3, 4), 2)
    """
    torch = require_torch()
    from ..training import seeded, train
    from .retrieval import _float32_inputs

    y_arr = np.asarray(y)
    if y_arr.ndim != 1 or y_arr.dtype.kind not in "iu":
        raise TypeError(f"y must be a 1-d array of integer labels, got dtype={y_arr.dtype}, shape {y_arr.shape}")
    if not isinstance(normalized, bool | np.bool_):
        raise TypeError(f"normalized must be a bool, got {type(normalized).__name__}")
    tau = check_real(temperature, "temperature", low=TEMPERATURE_RANGE[0], high=TEMPERATURE_RANGE[1])
    seed = check_int(seed, "seed", low=0, high=2**63 - 1)
    hidden, out_dim = check_int(hidden, "hidden", low=1), check_int(out_dim, "out_dim", low=1)
    check_int(epochs, "epochs", low=1, high=10**7)
    check_real(lr, "lr", low=0.0, low_open=True, high=1e30)
    check_int(batch_size, "batch_size", low=1)
    X = _float32_inputs(X)
    if X.shape[0] != y_arr.size:
        raise ValueError(f"X and y must have the same number of rows, got {X.shape[0]} and {y_arr.size}")
    classes, y_idx = np.unique(y_arr, return_inverse=True)
    C = classes.size
    with seeded(seed):
        body = torch.nn.Sequential(torch.nn.Linear(X.shape[1], hidden), torch.nn.ReLU(),
                                   torch.nn.Linear(hidden, out_dim))
        head = torch.nn.Linear(out_dim, C, bias=not normalized)
        if normalized:  # random unit-norm rows; no row is zero (a zero class vector has no direction)
            torch.nn.init.normal_(head.weight)
    full = torch.nn.ModuleDict({"body": body, "head": head})
    full.forward = body.forward  # the trained module outputs embeddings; the loss applies the head

    def loss_fn(out, target):
        if normalized:
            return _ns_loss_torch(out, head.weight, target, tau)
        return torch.nn.functional.cross_entropy(head(out), target)

    history = train(full, loss_fn, X, y_idx.astype(np.int64), epochs=epochs, lr=lr, seed=seed,
                    batch_size=batch_size, optimizer="adam")
    return body, head.weight.detach().double().numpy().copy(), history


class FewShotStudy(NamedTuple):
    """Result of :func:`few_shot_study`; every array has one entry per seed, in the order of ``seeds``."""

    accuracy: dict  #: ``(method, shots) -> ndarray``: mean episode accuracy on the novel classes
    final_loss: dict  #: ``tau -> ndarray``: normalised-softmax loss on the seen classes after training
    proxy_cosine: dict  #: ``tau -> ndarray``: mean cosine between distinct unit proxies
    alignment: dict  #: ``tau -> ndarray``: mean cosine between a seen-class embedding and its own proxy
    methods: tuple  #: method names: ``"raw"``, ``"softmax"``, ``"triplet"``, then ``"ns<tau>"`` per temperature


def few_shot_study(X, y, *, seeds=(0, 1, 2), temperatures=(0.05,), n_novel: int = 3, shots=(1, 5),
                   n_episodes: int = 200, epochs: int = 20) -> FewShotStudy:
    """Novel-class protocol of :doc:`/book/collapse/hyperspherical-embedding`: train on seen classes, test few-shot.

    For each seed, :func:`novel_class_split` holds out ``n_novel`` classes; on the others the same MLP is
    trained with an unnormalised softmax, the batch-all cosine triplet loss (margin 0.1) and the normalised
    softmax at each temperature (other constants: the defaults of :func:`train_softmax_embedding`). The
    novel classes, embedded by each network and as raw inputs, are classified in ``n_episodes`` episodes per
    shot count by :func:`few_shot_accuracy` (cosine prototypes, all other images as queries, episode seed
    ``1000 + seed``). The seed fixes the split, the initialisation, the batch order and the episodes.

    Parameters
    ----------
    X : array_like, shape (n, dim)
        Inputs, finite, of magnitude at most ``1e6`` (a documented limit: far larger inputs can overflow
        the float32 networks), no row zero (raw inputs are compared by cosine too).
    y : array_like of int, shape (n,)
        Labels; every novel class needs more than ``max(shots)`` samples.
    seeds : sequence of int
        One or more seeds in ``[0, 2**63 - 1 - 1000]``.
    temperatures : sequence of float
        Temperatures of the normalised softmax, each in ``[1e-6, 1e6]``.
    n_novel : int, default 3
        Classes held out, ``>= 2`` (an episode needs two classes) and fewer than the classes in ``y``.
    shots : sequence of int
        Support sizes, each ``>= 1``.
    n_episodes : int, default 200
        In ``[1, 100000]``.
    epochs : int, default 20
        Training epochs, in ``[1, 10000]``.

    Returns
    -------
    FewShotStudy

    Raises
    ------
    FloatingPointError
        If a training diverges (see :func:`train_softmax_embedding`).
    ValueError, TypeError
        For a bad argument (the message names it).

    Notes
    -----
    The defaults (and those of the trainers) are the chapter's, chosen on scikit-learn's digits only.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> y = np.repeat(np.arange(4), 10)
    >>> X = rng.normal(size=(4, 5))[y] + 0.1 * rng.normal(size=(40, 5))
    >>> r = few_shot_study(X, y, seeds=[0], n_novel=2, shots=(1,), n_episodes=3, epochs=1)
    >>> r.methods, r.accuracy["raw", 1].shape
    (('raw', 'softmax', 'triplet', 'ns0.05'), (1,))
    """
    from .retrieval import embed, train_embedding

    seeds = _int_list(seeds, "seeds", low=0, high=2**63 - 1 - 1000)
    shots = _int_list(shots, "shots", low=1)
    taus = [check_real(t, "temperatures", low=TEMPERATURE_RANGE[0], high=TEMPERATURE_RANGE[1])
            for t in _sequence(temperatures, "temperatures")]
    n_episodes = check_int(n_episodes, "n_episodes", low=1, high=MAX_EPISODES)
    epochs = check_int(epochs, "epochs", low=1, high=10_000)
    n_novel = check_int(n_novel, "n_novel", low=2)
    X = check_array(X, "X", ndim=2, min_size=1, max_abs=1e6)
    l2_normalize(X, name="X")  # a zero row has no direction: refused here rather than inside an episode
    methods = ("raw", "softmax", "triplet") + tuple(f"ns{t:g}" for t in taus)
    acc = {(m, k): [] for m in methods for k in shots}
    final, proxy, align = ({t: [] for t in taus} for _ in range(3))
    for seed in seeds:
        task = novel_class_split(X, y, n_novel=n_novel, seed=seed)
        counts = np.unique(task.y_test, return_counts=True)[1]
        if counts.min() <= max(shots):
            raise ValueError(f"shots: a novel class has only {counts.min()} samples, fewer than max(shots) + 1")
        Z = {"raw": task.X_test}
        model, _, _ = train_softmax_embedding(task.X_train, task.y_train, normalized=False, seed=seed, epochs=epochs)
        Z["softmax"] = embed(model, task.X_test)
        model, _ = train_embedding("triplet", task.X_train, task.y_train, seed=seed, epochs=epochs)
        Z["triplet"] = embed(model, task.X_test)
        y_idx = np.unique(task.y_train, return_inverse=True)[1]
        for t, name in zip(taus, methods[3:], strict=True):
            model, Wc, _ = train_softmax_embedding(task.X_train, task.y_train, temperature=t, seed=seed,
                                                   epochs=epochs)
            Z[name] = embed(model, task.X_test)
            Ztr = embed(model, task.X_train)
            final[t].append(normalized_softmax_loss(Ztr, Wc, y_idx, temperature=t))
            V = l2_normalize(Wc, name="class_weights")
            off = (V @ V.T)[~np.eye(len(V), dtype=bool)]
            proxy[t].append(float(np.mean(off)) if off.size else 0.0)
            align[t].append(float(np.mean(np.sum(l2_normalize(Ztr) * V[y_idx], axis=1))))
        for m in methods:
            for k in shots:
                acc[m, k].append(float(np.mean(few_shot_accuracy(Z[m], task.y_test, shots=k, n_episodes=n_episodes,
                                                                 seed=1000 + seed))))
    arr = lambda d: {k: np.array(v) for k, v in d.items()}  # noqa: E731
    return FewShotStudy(arr(acc), arr(final), arr(proxy), arr(align), methods)


def _sequence(value, name):
    if isinstance(value, str | bytes) or not hasattr(value, "__len__"):
        raise TypeError(f"{name} must be a sequence, got {type(value).__name__}")
    if len(value) == 0:
        raise ValueError(f"{name} must not be empty")
    return list(value)


def _int_list(value, name, *, low=None, high=None):
    return [check_int(v, name, low=low, high=high) for v in _sequence(value, name)]
