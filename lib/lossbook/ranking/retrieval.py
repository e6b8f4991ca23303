"""Retrieval metrics, a synthetic task with per-query score offsets, and a linear dual encoder.

The experiment of :doc:`/book/consistency/mw-auc-loss`: queries and documents share clusters (a document
is relevant to the queries of its cluster); each query carries an offset that a linear encoder can turn
into a per-query shift of all its scores. InfoNCE cannot see such a shift (:prf:ref:`mw-prop-shift`);
the globally pooled MW loss can.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from .._rng import as_generator
from .._torch import require_torch
from .._validate import check_array, check_choice, check_int, check_real
from ..progress import progress
from .auc import _binary_labels, roc_auc
from .losses import info_nce_loss_torch, mw_loss_torch

__all__ = [
    "OffsetRetrievalTask",
    "RetrievalScores",
    "ThresholdF1",
    "best_f1_threshold",
    "evaluate_dual_encoder",
    "f1_at_threshold",
    "offset_retrieval_task",
    "offset_study",
    "reciprocal_ranks",
    "train_dual_encoder",
]


def _matrix_and_labels(scores, labels):
    s = check_array(scores, "scores", ndim=2, min_size=1)
    y = _binary_labels(labels, "labels")
    if y.shape != s.shape:
        raise ValueError(f"labels must have the shape of scores {s.shape}, got {y.shape}")
    return s, y


def reciprocal_ranks(scores, labels) -> np.ndarray:
    """Per-query ``1 / rank`` of the best-ranked relevant document (ties ranked pessimistically).

    The rank is ``1 +`` the number of irrelevant documents scoring at least as high as the query's best
    relevant one. The mean of the result is the mean reciprocal rank (MRR). Adding a constant to a
    row does not change its value.

    Parameters
    ----------
    scores : array_like of float, shape (n_queries, n_docs)
    labels : array_like of bool or {0, 1}, same shape
        Every row needs a relevant document.

    Returns
    -------
    ndarray, shape (n_queries,)
        Values in ``(0, 1]``.

    Raises
    ------
    ValueError
        if the shapes differ, a label is not 0/1, a score is not finite or a row has no relevant document.

    Examples
    --------
    >>> reciprocal_ranks([[0.9, 0.5, 0.7], [0.1, 0.2, 0.3]], [[0, 1, 0], [0, 0, 1]]).tolist()
    [0.3333333333333333, 1.0]
    """
    s, y = _matrix_and_labels(scores, labels)
    if not y.any(axis=1).all():
        raise ValueError("every row of labels needs at least one relevant document")
    best = np.where(y, s, -np.inf).max(axis=1)
    above = ((s >= best[:, None]) & ~y).sum(axis=1)
    return 1.0 / (1.0 + above)


class ThresholdF1(NamedTuple):
    """Best single threshold (predict positive when ``score >= threshold``) and its F1."""

    threshold: float
    f1: float


def f1_at_threshold(y_true, scores, threshold: float) -> float:
    """F1 of the rule "positive when ``score >= threshold``" (0 when nothing is predicted positive).

    Parameters
    ----------
    y_true : array_like of bool or {0, 1}
    scores : array_like of float, same number of entries
    threshold : float
        May be infinite, not NaN.

    Returns
    -------
    float
        ``2 TP / (#predicted positive + #positive)`` in ``[0, 1]``.

    Raises
    ------
    ValueError, TypeError
        for mismatched sizes, non-binary labels, non-finite scores or a NaN threshold.

    Examples
    --------
    >>> round(f1_at_threshold([1, 0, 1, 0], [0.9, 0.8, 0.3, 0.1], 0.5), 6)
    0.5
    """
    s = check_array(scores, "scores", ndim=(1, 2), min_size=1).ravel()
    y = _binary_labels(y_true).ravel()
    if y.shape != s.shape:
        raise ValueError(f"y_true must have as many entries as scores ({s.size}), got {y.size}")
    t = check_real(threshold, "threshold", allow_inf=True)
    pred = s >= t
    tp = int(np.sum(pred & y))
    denom = int(pred.sum()) + int(y.sum())
    return 2.0 * tp / denom if denom else 0.0


def best_f1_threshold(y_true, scores) -> ThresholdF1:
    """The threshold maximising F1 over all cut points of the sorted scores, and that F1.

    Only cuts between distinct score values are considered (tied scores get one decision). Among
    equally good cuts the highest threshold is returned.

    Parameters
    ----------
    y_true : array_like of bool or {0, 1}, shape (n,) or (n_queries, n_docs)
        Needs at least one positive.
    scores : array_like of float, same number of entries

    Returns
    -------
    ThresholdF1

    Raises
    ------
    ValueError
        if sizes differ, there is no positive, or a score is not finite.

    Examples
    --------
    >>> best_f1_threshold([1, 0, 1, 0], [0.9, 0.8, 0.3, 0.1])
    ThresholdF1(threshold=0.3, f1=0.8)
    """
    s = check_array(scores, "scores", ndim=(1, 2), min_size=1).ravel()
    y = _binary_labels(y_true).ravel()
    if y.shape != s.shape:
        raise ValueError(f"y_true must have as many entries as scores ({s.size}), got {y.size}")
    n_pos = int(y.sum())
    if n_pos == 0:
        raise ValueError("y_true needs at least one positive for F1 to be defined")
    order = np.argsort(-s)  # order inside a tie group does not matter: only group ends are used
    s_sorted, tp = s[order], np.cumsum(y[order])
    last = np.r_[np.flatnonzero(np.diff(s_sorted) != 0), s.size - 1]  # end of each tie group
    f1 = 2.0 * tp[last] / (last + 1 + n_pos)
    k = int(np.argmax(f1))
    return ThresholdF1(float(s_sorted[last[k]]), float(f1[k]))


class OffsetRetrievalTask(NamedTuple):
    """Inputs of :func:`offset_retrieval_task`: the last input coordinate carries a query's offset."""

    queries_train: np.ndarray
    queries_test: np.ndarray
    docs: np.ndarray
    relevant_train: np.ndarray
    relevant_test: np.ndarray


def offset_retrieval_task(n_train: int = 200, n_test: int = 200, n_docs: int = 2000, n_clusters: int = 100, *,
                          dim: int = 16, noise: float = 0.6, offset: float = 1.0, seed) -> OffsetRetrievalTask:
    """Clustered queries and documents; each query carries a random offset in its last coordinate.

    Cluster centres ``c_k ~ N(0, I/(dim-1))`` in ``dim - 1`` dimensions; document ``j`` of cluster
    ``k(j) = j mod n_clusters`` has input ``(c_k + noise g_j, 1)`` and query ``i`` of a uniformly drawn
    cluster has input ``(c_k + noise h_i, o_i)`` with ``o_i ~ N(0, offset^2)`` and ``g, h`` standard normal
    scaled by ``1/sqrt(dim-1)``. A document is relevant to the queries of its cluster. With the identity
    encoder the score ``<x_q, x_d>`` is the cluster similarity plus ``o_i``: a per-query shift.
    The defaults were set for the chapter's experiment on this task only.

    Parameters
    ----------
    n_train, n_test, n_docs, n_clusters, dim : int
        Sizes; ``n_clusters <= n_docs`` so every cluster has a document, ``dim >= 2``.
    noise : float, default 0.6
        Within-cluster spread relative to the centres, in ``[0, 1e100]``.
    offset : float, default 1.0
        Standard deviation of the per-query offsets, in ``[0, 1e100]``.
    seed : int, SeedSequence or Generator

    Returns
    -------
    OffsetRetrievalTask

    Examples
    --------
    >>> task = offset_retrieval_task(4, 3, 10, 5, dim=3, seed=0)
    >>> task.queries_train.shape, task.docs.shape, task.relevant_test.shape
    ((4, 3), (10, 3), (3, 10))
    """
    n_train = check_int(n_train, "n_train", low=1)
    n_test = check_int(n_test, "n_test", low=1)
    n_docs = check_int(n_docs, "n_docs", low=2)
    n_clusters = check_int(n_clusters, "n_clusters", low=2, high=n_docs)
    dim = check_int(dim, "dim", low=2)
    noise = check_real(noise, "noise", low=0.0, high=MAX_SPREAD)
    offset = check_real(offset, "offset", low=0.0, high=MAX_SPREAD)
    rng = as_generator(seed)
    scale = 1.0 / np.sqrt(dim - 1)
    centres = scale * rng.standard_normal((n_clusters, dim - 1))
    doc_cluster = np.arange(n_docs) % n_clusters
    docs = np.hstack([centres[doc_cluster] + noise * scale * rng.standard_normal((n_docs, dim - 1)),
                      np.ones((n_docs, 1))])

    def queries(n):
        k = rng.integers(0, n_clusters, size=n)
        x = np.hstack([centres[k] + noise * scale * rng.standard_normal((n, dim - 1)),
                       offset * rng.standard_normal((n, 1))])
        return x, k[:, None] == doc_cluster[None, :]

    q_train, r_train = queries(n_train)
    q_test, r_test = queries(n_test)
    return OffsetRetrievalTask(q_train, q_test, docs, r_train, r_test)


def train_dual_encoder(task: OffsetRetrievalTask, loss: str, *, steps: int = 400, batch_size: int = 32,
                       lr: float = 0.01, tau: float = 0.05, seed) -> tuple[np.ndarray, np.ndarray]:
    """Train linear query and document encoders ``A, B`` (score ``<A x_q, B x_d>``) with in-batch pairs.

    Each step draws ``batch_size`` training queries and one relevant document for each; the batch score
    matrix has the drawn pairs on its diagonal and labels from the task's relevance (an off-diagonal
    document of the same cluster is a positive, not a negative). ``loss="infonce"`` uses
    :func:`~lossbook.ranking.info_nce_loss_torch` with temperature ``tau``; ``loss="mw"`` uses
    :func:`~lossbook.ranking.mw_loss_torch` (global pooling over the batch matrix). Adam, float64, one
    thread; both encoders start at the identity plus ``0.01`` Gaussian noise. Defaults were chosen for
    the chapter's task only.

    Parameters
    ----------
    task : OffsetRetrievalTask
        From :func:`offset_retrieval_task`.
    loss : {"infonce", "mw"}
    steps : int, default 400
        Optimiser steps, ``>= 1``.
    batch_size : int, default 32
        Pairs per batch, ``>= 2``.
    lr : float, default 0.01
        Adam learning rate, in ``(0, 10]``.
    tau : float, default 0.05
        InfoNCE temperature, in ``[1e-3, 1e3]``: the range in which training on this task stays finite
        (below it, scores / tau overflow once the encoders grow).
    seed : int, SeedSequence or Generator
        Fixes the initialisation and the batches.

    Raises
    ------
    ValueError
        for an unknown ``loss``, a parameter out of range, or a training query without a relevant document.

    Returns
    -------
    (A, B) : tuple of ndarray, each (dim, dim)

    Examples
    --------
    >>> task = offset_retrieval_task(20, 5, 40, 10, dim=4, seed=0)
    >>> A, B = train_dual_encoder(task, "mw", steps=3, batch_size=8, seed=0)
    >>> A.shape
    (4, 4)
    """
    torch = require_torch()
    _check_task(task)
    check_choice(loss, "loss", ("infonce", "mw"))
    steps = check_int(steps, "steps", low=1)
    n_q = task.queries_train.shape[0]
    batch_size = check_int(batch_size, "batch_size", low=2)
    lr = check_real(lr, "lr", low=0.0, low_open=True, high=10.0)
    tau = check_real(tau, "tau", low=1e-3, high=1e3)
    rng = as_generator(seed)
    dim = task.docs.shape[1]
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        A = torch.tensor(np.eye(dim) + 0.01 * rng.standard_normal((dim, dim)), requires_grad=True)
        B = torch.tensor(np.eye(dim) + 0.01 * rng.standard_normal((dim, dim)), requires_grad=True)
        opt = torch.optim.Adam([A, B], lr=lr)
        Q, D = torch.tensor(task.queries_train), torch.tensor(task.docs)
        rel = task.relevant_train
        counts = rel.sum(axis=1)
        if not counts.all():
            raise ValueError("every training query of task needs a relevant document")
        # relevant documents of each query, left-aligned in a padded table, for vectorised draws
        table = np.zeros((n_q, int(counts.max())), dtype=np.int64)
        for i in range(n_q):
            table[i, :counts[i]] = np.flatnonzero(rel[i])
        for _ in range(steps):
            qi = rng.integers(0, n_q, size=batch_size)
            di = table[qi, (rng.random(batch_size) * counts[qi]).astype(np.int64)]
            labels = rel[qi][:, di]
            if not (~labels).any(axis=1).all():  # a row without negatives: skip this draw
                continue
            S = (Q[qi] @ A.T) @ (D[di] @ B.T).T
            value = info_nce_loss_torch(S, labels, tau) if loss == "infonce" else mw_loss_torch(S, labels)
            opt.zero_grad()
            value.backward()
            opt.step()
    finally:
        torch.set_num_threads(threads)
    return A.detach().numpy().copy(), B.detach().numpy().copy()


class RetrievalScores(NamedTuple):
    """Test metrics of a dual encoder (see :func:`evaluate_dual_encoder`)."""

    mrr: float
    global_auc: float
    mean_query_auc: float
    f1: float
    threshold: float
    train_mrr: float
    offset_gain: float


def evaluate_dual_encoder(task: OffsetRetrievalTask, A, B) -> RetrievalScores:
    """MRR, global AUC, mean per-query AUC and single-threshold F1 of encoders ``A, B`` on the test queries.

    ``train_mrr`` is the MRR on the training queries (for choosing a learning rate without the test set).
    ``offset_gain`` is ``|M[-1, -1]|`` relative to the root-mean-square singular value of ``M[:-1, :-1]``,
    ``M = A^T B``: how strongly a query's offset coordinate still shifts all its scores, compared with the
    cluster part of the score (1 for the identity encoders; 0 for zero encoders; ``inf`` when the cluster
    block of ``M`` is zero and its offset entry is not).
    The threshold is the F1-best one on the *training* queries' scores (:func:`best_f1_threshold`), then
    applied unchanged to every test query; global AUC pools all test (query, document) pairs.

    Parameters
    ----------
    task : OffsetRetrievalTask
    A, B : array_like, shape (k, dim)
        Query and document encoders, entries of magnitude at most ``1e100``.

    Returns
    -------
    RetrievalScores

    Raises
    ------
    ValueError
        if the encoders' shapes do not fit the task.

    Examples
    --------
    >>> task = offset_retrieval_task(20, 5, 40, 10, dim=4, seed=0)
    >>> r = evaluate_dual_encoder(task, np.eye(4), np.eye(4))
    >>> 0 <= r.global_auc <= 1
    True
    """
    _check_task(task)
    dim = task.docs.shape[1]
    A = check_array(A, "A", ndim=2)
    B = check_array(B, "B", ndim=2)
    for name, M in (("A", A), ("B", B)):
        if M.size and np.max(np.abs(M)) > MAX_ENCODER:
            raise ValueError(f"{name} must have entries of magnitude <= {MAX_ENCODER:g} (scores would overflow), "
                             f"got {np.max(np.abs(M)):.3g}")
    if A.shape[1] != dim or B.shape[1] != dim or A.shape[0] != B.shape[0]:
        raise ValueError(f"A and B must be (k, {dim}) with the same k, got {A.shape} and {B.shape}")
    docs = task.docs @ B.T
    s_train = (task.queries_train @ A.T) @ docs.T
    s_test = (task.queries_test @ A.T) @ docs.T
    rel = task.relevant_test
    thr = best_f1_threshold(task.relevant_train, s_train).threshold
    per_query = [roc_auc(rel[i], s_test[i]) for i in range(rel.shape[0])]
    return RetrievalScores(float(reciprocal_ranks(s_test, rel).mean()), roc_auc(rel.ravel(), s_test.ravel()),
                           float(np.mean(per_query)), f1_at_threshold(rel, s_test, thr), thr,
                           float(reciprocal_ranks(s_train, task.relevant_train).mean()),
                           _offset_gain(A, B))


MAX_ENCODER = 1e100  #: largest encoder entry evaluate_dual_encoder accepts (scores stay below ~1e200 dim)
MAX_SPREAD = 1e100  #: largest noise / offset offset_retrieval_task accepts


def _check_task(task) -> None:
    if not isinstance(task, OffsetRetrievalTask):
        raise TypeError(f"task must be an OffsetRetrievalTask (from offset_retrieval_task), got {type(task).__name__}")


def _offset_gain(A, B) -> float:
    M = A.T @ B
    top = np.max(np.abs(M))
    if top == 0:
        return 0.0  # zero encoders: no offset direction is favoured
    M = M / top  # scaled first, so that the Frobenius norm cannot overflow
    rms = np.linalg.norm(M[:-1, :-1]) / np.sqrt(M.shape[0] - 1)  # Frobenius / sqrt(rank) = RMS singular value
    return float(abs(M[-1, -1]) / rms) if rms > 0 else math.inf


LOSS_NAMES = ("infonce", "mw")


def offset_study(seeds, lrs=(0.003, 0.01, 0.03), *, offset: float = 2.0, steps: int = 400,
                 batch_size: int = 32, tau: float = 0.05) -> dict[tuple[str, float], list[RetrievalScores]]:
    """InfoNCE and MW dual encoders on :func:`offset_retrieval_task`, for every seed and learning rate.

    Seed ``s`` fixes the task (``offset_retrieval_task(offset=offset, seed=s)``), the initialisation and
    the batches, shared by both losses and all learning rates, so differences are paired by seed.

    Parameters
    ----------
    seeds : iterable of int
        Non-negative, at least one.
    lrs : iterable of float, default (0.003, 0.01, 0.03)
        Learning rates, ``> 0``.
    offset, steps, batch_size, tau
        Passed to :func:`offset_retrieval_task` and :func:`train_dual_encoder`.

    Returns
    -------
    dict
        ``{(loss, lr): [RetrievalScores per seed]}`` with ``loss`` in ``("infonce", "mw")``.

    Raises
    ------
    ValueError
        if ``seeds`` or ``lrs`` is empty or holds a value out of range.

    Examples
    --------
    >>> out = offset_study([0], lrs=(0.01,), steps=2, batch_size=8)
    >>> sorted(out)
    [('infonce', 0.01), ('mw', 0.01)]
    """
    seeds = [check_int(s, "seeds", low=0) for s in seeds]
    lrs = [check_real(lr, "lrs", low=0.0, low_open=True) for lr in lrs]
    if not seeds or not lrs:
        raise ValueError("seeds and lrs must be non-empty")
    out: dict[tuple[str, float], list[RetrievalScores]] = {(loss, lr): [] for lr in lrs for loss in LOSS_NAMES}
    for seed in progress(seeds, desc="seeds"):
        task = offset_retrieval_task(offset=offset, seed=seed)
        for lr in lrs:
            for loss in LOSS_NAMES:
                A, B = train_dual_encoder(task, loss, steps=steps, batch_size=batch_size, lr=lr, tau=tau, seed=seed)
                out[(loss, lr)].append(evaluate_dual_encoder(task, A, B))
    return out
