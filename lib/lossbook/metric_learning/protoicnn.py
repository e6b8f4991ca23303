"""Proto-Triplet and ICNN losses for metric-based few-shot learning (SuSana Distancia).

The Proto-Triplet loss is a triplet loss whose anchor is a query, whose positive is its class prototype
and whose negative is the nearest other prototype (:eq:`susana-pt`). The ICNN score summarises the
k-nearest-neighbour structure of a set of embeddings: neighbour purity, how close a point's
same-class neighbours are relative to its nearest other-class point, and how far its other-class
neighbours are relative to the largest distance in the set (:eq:`susana-icnn`); the loss is its negative
logarithm. NumPy references and differentiable PyTorch versions, and the chapter's episodic study.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .._rng import as_generator
from .._torch import require_torch
from .._validate import check_array, check_int, check_real, check_seeds
from ..progress import progress

__all__ = ["EPISODIC_METHODS", "EpisodicStudy", "episodic_study", "icnn_loss_torch", "icnn_score",
           "proto_triplet_loss", "proto_triplet_loss_torch", "support_prototypes"]

#: the training objectives compared in :func:`episodic_study`, in the order of its arrays
EPISODIC_METHODS = ("ce", "ce+pt", "ce+icnn", "ce+pt+icnn")
#: Largest embedding entry accepted (squared distances stay finite)
MAX_EMBED = 1e150
#: Smallest score used inside the log of the ICNN loss
SCORE_FLOOR = 1e-12


def _labels(y, name, n):
    y = np.asarray(y)
    if y.dtype.kind not in "iu" or y.ndim != 1 or y.size != n:
        raise ValueError(f"{name} must be a 1-D integer array of length {n}")
    if y.size and y.min() < 0:
        raise ValueError(f"{name} must be non-negative class indices")
    return y.astype(np.int64)


def _dist(a, b):
    d2 = (a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2 * a @ b.T
    return np.sqrt(np.maximum(d2, 0.0))


def support_prototypes(support, labels, n_way: int) -> np.ndarray:
    """Class prototypes: the mean support embedding of each class ``0 .. n_way - 1``.

    Examples
    --------
    >>> support_prototypes([[0.0, 0.0], [2.0, 0.0], [0.0, 4.0]], [0, 0, 1], 2).tolist()
    [[1.0, 0.0], [0.0, 4.0]]
    """
    S = check_array(support, "support", ndim=2, max_abs=MAX_EMBED)
    y = _labels(labels, "labels", S.shape[0])
    n_way = check_int(n_way, "n_way", low=1, high=10**5)
    if y.size and y.max() >= n_way:
        raise ValueError(f"labels must lie in [0, {n_way - 1}]")
    counts = np.bincount(y, minlength=n_way)
    if np.any(counts == 0):
        raise ValueError("every class in [0, n_way) needs at least one support example (labels)")
    P = np.zeros((n_way, S.shape[1]))
    np.add.at(P, y, S)
    return P / counts[:, None]


def proto_triplet_loss(queries, labels, prototypes, margin: float = 0.5) -> float:
    r"""Proto-Triplet loss, :eq:`susana-pt`: mean hinge of own-prototype distance minus nearest rival's plus margin.

    Parameters
    ----------
    queries : array_like, shape (Q, d)
        Query embeddings, magnitude at most 1e150.
    labels : array_like of int, shape (Q,)
        Their classes, indices into ``prototypes``.
    prototypes : array_like, shape (N, d)
        At least two prototypes.
    margin : float, default 0.5
        In ``[0, 1e6]``.

    Returns
    -------
    float

    Examples
    --------
    >>> proto_triplet_loss([[0.0, 0.0]], [0], [[0.0, 0.0], [1.0, 0.0]], margin=0.5)   # 0 - 1 + 0.5 < 0
    0.0
    >>> round(proto_triplet_loss([[0.9, 0.0]], [0], [[0.0, 0.0], [1.0, 0.0]], margin=0.5), 12)   # 0.9 - 0.1 + 0.5
    1.3
    """
    Q = check_array(queries, "queries", ndim=2, max_abs=MAX_EMBED)
    P = check_array(prototypes, "prototypes", ndim=2, max_abs=MAX_EMBED)
    if P.shape[0] < 2:
        raise ValueError("prototypes must hold at least two classes (a rival is needed)")
    if P.shape[1] != Q.shape[1]:
        raise ValueError(f"prototypes must have {Q.shape[1]} columns like queries, got shape {P.shape}")
    y = _labels(labels, "labels", Q.shape[0])
    if y.size and y.max() >= P.shape[0]:
        raise ValueError(f"labels must index prototypes (at most {P.shape[0] - 1})")
    margin = check_real(margin, "margin", low=0.0, high=1e6)
    if Q.shape[0] == 0:
        raise ValueError("queries must hold at least one query")
    D = _dist(Q, P)
    own = D[np.arange(Q.shape[0]), y]
    D[np.arange(Q.shape[0]), y] = np.inf
    return float(np.maximum(0.0, own - D.min(axis=1) + margin).mean())


def icnn_score(embeddings, labels, k: int = 4) -> float:
    r"""ICNN score of a labelled set of embeddings, :eq:`susana-icnn`, in ``[0, 1]``.

    For each point, its ``k`` nearest neighbours (Euclidean, itself excluded; ties by index) give:
    :math:`\gamma` the mean fraction of same-class neighbours; :math:`\lambda_{sc}` the mean of
    :math:`1 - a_i/b_i` clipped to ``[0, 1]``, with :math:`a_i` the mean distance to its same-class
    neighbours and :math:`b_i` the distance to the nearest point of another class (0 if it has no
    same-class neighbour); :math:`\lambda_{dc}` the mean distance to other-class neighbours over the
    largest pairwise distance of the set (1 if no point has an other-class neighbour). The score is
    :math:`\tfrac12\big(\tfrac{\lambda_{sc}+\lambda_{dc}}{2}+\gamma\big)`. This is our reading of the first
    author's code; the paper's exact definitions could not be read (see the chapter).

    Parameters
    ----------
    embeddings : array_like, shape (n, d)
        At least ``k + 1`` points, magnitude at most 1e150, at least two classes.
    labels : array_like of int, shape (n,)
    k : int, default 4
        Neighbours, in ``[1, n - 1]``.

    Returns
    -------
    float

    Examples
    --------
    >>> X = [[0.0], [0.1], [10.0], [10.1]]
    >>> round(icnn_score(X, [0, 0, 1, 1], k=1), 6)   # pure, tight clusters: 0.5 ((0.98995 + 1) / 2 + 1)
    0.997487
    """
    X = check_array(embeddings, "embeddings", ndim=2, max_abs=MAX_EMBED)
    y = _labels(labels, "labels", X.shape[0])
    n = X.shape[0]
    k = check_int(k, "k", low=1, high=max(n - 1, 1))
    if n < 2 or np.unique(y).size < 2:
        raise ValueError("embeddings must hold at least two points of at least two classes (labels)")
    D = _dist(X, X)
    np.fill_diagonal(D, np.inf)
    nn = np.argsort(D, axis=1, kind="stable")[:, :k]
    nd = np.take_along_axis(D, nn, axis=1)
    same = y[nn] == y[:, None]
    gamma = same.mean()
    other = y[None, :] != y[:, None]
    b = np.where(other, D, np.inf).min(axis=1)
    n_same = same.sum(1)
    a = np.divide((nd * same).sum(1), n_same, out=np.full(n, np.inf), where=n_same > 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = np.where(b > 0, a / b, np.inf)
    lam_sc = np.clip(1.0 - ratio, 0.0, 1.0).mean()
    dmax = np.max(np.where(np.isfinite(D), D, 0.0))
    diff = ~same
    if diff.any() and dmax > 0:
        lam_dc = (nd[diff]).mean() / dmax
    else:
        lam_dc = 1.0
    return float(0.5 * ((lam_sc + lam_dc) / 2 + gamma))


def _torch_dist(torch, a, b):
    d2 = (a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2 * a @ b.T
    return torch.sqrt(torch.clamp(d2, min=1e-12))


def proto_triplet_loss_torch(queries, labels, prototypes, margin: float = 0.5):
    """:func:`proto_triplet_loss` on tensors (differentiable in queries and prototypes).

    Examples
    --------
    >>> import torch
    >>> round(float(proto_triplet_loss_torch(torch.tensor([[0.9, 0.0]]), torch.tensor([0]),
    ...                                      torch.tensor([[0.0, 0.0], [1.0, 0.0]]))), 5)
    1.3
    """
    torch = require_torch()
    margin = check_real(margin, "margin", low=0.0, high=1e6)
    D = _torch_dist(torch, queries, prototypes)
    idx = torch.arange(queries.shape[0])
    own = D[idx, labels]
    rival = D.masked_fill(torch.nn.functional.one_hot(labels, prototypes.shape[0]).bool(), float("inf")).min(1).values
    return torch.clamp(own - rival + margin, min=0).mean()


def icnn_loss_torch(embeddings, labels, k: int = 4):
    """``-log`` of :func:`icnn_score` on tensors, differentiable through the distances (the neighbour sets are
    chosen without gradient), with the score floored at 1e-12.

    Examples
    --------
    >>> import torch
    >>> X = torch.tensor([[0.0], [0.1], [10.0], [10.1]])
    >>> round(float(icnn_loss_torch(X, torch.tensor([0, 0, 1, 1]), k=1)), 4)
    0.0025
    """
    torch = require_torch()
    n = embeddings.shape[0]
    k = check_int(k, "k", low=1, high=max(n - 1, 1))
    D = _torch_dist(torch, embeddings, embeddings)
    eye = torch.eye(n, dtype=torch.bool)
    Dm = D.masked_fill(eye, float("inf"))
    with torch.no_grad():
        nn = torch.argsort(Dm.detach(), dim=1, stable=True)[:, :k]
    nd = torch.gather(Dm, 1, nn)
    same = labels[nn] == labels[:, None]
    gamma = same.float().mean()
    other = labels[None, :] != labels[:, None]
    b = Dm.masked_fill(~other, float("inf")).min(1).values
    n_same = same.sum(1)
    a = (nd * same).sum(1) / n_same.clamp(min=1)
    ratio = torch.where(n_same > 0, a / b, torch.full_like(a, float("inf")))
    lam_sc = torch.clamp(1 - ratio, 0, 1).mean()
    dmax = D.masked_fill(eye, 0).max()
    diff = ~same
    lam_dc = nd[diff].mean() / dmax if bool(diff.any()) else torch.ones((), dtype=embeddings.dtype)
    score = 0.5 * ((lam_sc + lam_dc) / 2 + gamma)
    return -torch.log(torch.clamp(score, min=SCORE_FLOOR))


class EpisodicStudy(NamedTuple):
    """Results of :func:`episodic_study`; arrays follow :data:`EPISODIC_METHODS` on their first axis."""

    seeds: np.ndarray  #: (R,)
    accuracy: np.ndarray  #: (4, R) mean accuracy over the test episodes
    episode_ci: np.ndarray  #: (4, R) 95% half-width over the test episodes (normal approximation)
    icnn_test: np.ndarray  #: (4, R) ICNN score of the novel classes' embeddings (one episode's worth per class)


def _class_data(rng, n_classes, per_class, latent, dim, separation, A, B):
    means = rng.standard_normal((n_classes, latent)) * separation
    z = means[:, None, :] + rng.standard_normal((n_classes, per_class, latent))
    x = np.tanh(z @ A) @ B + 0.1 * rng.standard_normal((n_classes, per_class, dim))
    return x.astype(np.float32)


def episodic_study(seeds, *, n_way: int = 5, k_shot: int = 5, n_query: int = 5, train_episodes: int = 400,
                   test_episodes: int = 600, n_base: int = 64, n_novel: int = 20, margin: float = 0.5,
                   k: int = 4, lr: float = 1e-3, separation: float = 1.0) -> EpisodicStudy:
    """Episodic N-way K-shot training of an MLP encoder with each objective of :data:`EPISODIC_METHODS`.

    Synthetic classes: latent class means ``N(0, separation^2 I_8)``, samples one unit of Gaussian noise
    around them, observed through a fixed random map ``x = tanh(z A) B + 0.1 noise`` in 32 dimensions
    (drawn once per seed, shared by base and novel classes). Base classes train the encoder, novel classes
    (never seen in training) are tested on ``test_episodes`` episodes by nearest prototype. Every method
    starts from the same initialisation and sees the same episodes. The objective is the average of its
    terms: ProtoNet cross-entropy on negative Euclidean distances to the prototypes, the Proto-Triplet
    loss of the queries, and the ICNN loss of all the episode's embeddings.

    Parameters
    ----------
    seeds : array_like of int, shape (R,)
        Non-negative, at least one.
    n_way, k_shot, n_query : int, default 5, 5, 5
        Episode shape; ``n_way`` at most ``n_novel``, shots and queries at most 20 in total.
    train_episodes, test_episodes : int, default 400 and 600
        In ``[0, 10**5]`` and ``[1, 10**5]``.
    n_base, n_novel : int, default 64 and 20
        Numbers of classes, each at least ``n_way``.
    margin : float, default 0.5
        Proto-Triplet margin, in ``[0, 1e6]``.
    k : int, default 4
        ICNN neighbours, in ``[1, n_way (k_shot + n_query) - 1]``.
    lr : float, default 1e-3
        Adam's learning rate, in ``(0, 1]``.
    separation : float, default 1.0
        Spread of the latent class means, in ``(0, 100]``.

    Returns
    -------
    EpisodicStudy
        ``episode_ci`` is ``inf`` when ``test_episodes == 1`` (no spread to estimate).

    Examples
    --------
    >>> st = episodic_study([0], train_episodes=2, test_episodes=5)
    >>> st.accuracy.shape
    (4, 1)
    """
    torch = require_torch()
    from ..training import seeded

    seeds_arr = check_seeds(seeds)
    n_way = check_int(n_way, "n_way", low=2, high=100)
    k_shot = check_int(k_shot, "k_shot", low=1, high=19)
    n_query = check_int(n_query, "n_query", low=1, high=20 - k_shot)
    train_episodes = check_int(train_episodes, "train_episodes", low=0, high=10**5)
    test_episodes = check_int(test_episodes, "test_episodes", low=1, high=10**5)
    n_base = check_int(n_base, "n_base", low=n_way, high=10**4)
    n_novel = check_int(n_novel, "n_novel", low=n_way, high=10**4)
    margin = check_real(margin, "margin", low=0.0, high=1e6)
    k = check_int(k, "k", low=1, high=n_way * (k_shot + n_query) - 1)
    lr = check_real(lr, "lr", low=0.0, high=1.0, low_open=True)
    separation = check_real(separation, "separation", low=0.0, high=100.0, low_open=True)
    per_class, latent, dim = 20, 8, 32
    n_per = k_shot + n_query
    R = seeds_arr.size
    acc = np.empty((len(EPISODIC_METHODS), R))
    hw = np.empty_like(acc)
    icnn_te = np.empty_like(acc)
    for j in progress(range(R), desc="episodic seeds"):
        rng = as_generator(int(seeds_arr[j]))
        A = rng.standard_normal((latent, 24)) / np.sqrt(latent)
        B = rng.standard_normal((24, dim)) / np.sqrt(24)
        base = torch.from_numpy(_class_data(rng, n_base, per_class, latent, dim, separation, A, B))
        novel = torch.from_numpy(_class_data(rng, n_novel, per_class, latent, dim, separation, A, B))
        init_seed = int(rng.integers(0, 2**31 - 1))
        ep_seed = int(rng.integers(0, 2**31 - 1))
        test_seed = int(rng.integers(0, 2**31 - 1))
        ys = torch.arange(n_way).repeat_interleave(k_shot)
        yq = torch.arange(n_way).repeat_interleave(n_query)
        yall = torch.cat([ys, yq])

        def episode(data, er, n_classes):
            cls = er.choice(n_classes, n_way, replace=False)
            idx = np.stack([er.choice(per_class, n_per, replace=False) for _ in range(n_way)])
            x = data[torch.from_numpy(cls)[:, None], torch.from_numpy(idx)]  # (n_way, n_per, dim)
            return x[:, :k_shot].reshape(-1, dim), x[:, k_shot:].reshape(-1, dim)

        for m, method in enumerate(EPISODIC_METHODS):
            with seeded(init_seed):
                enc = torch.nn.Sequential(torch.nn.Linear(dim, 64), torch.nn.ReLU(), torch.nn.Linear(64, 16))
                opt = torch.optim.Adam(enc.parameters(), lr=lr)
                er = np.random.default_rng(ep_seed)
                for _ in range(train_episodes):
                    xs, xq = episode(base, er, n_base)
                    es, eq = enc(xs), enc(xq)
                    protos = es.reshape(n_way, k_shot, -1).mean(1)
                    terms = [torch.nn.functional.cross_entropy(-_torch_dist(torch, eq, protos), yq)]
                    if "pt" in method:
                        terms.append(proto_triplet_loss_torch(eq, yq, protos, margin))
                    if "icnn" in method:
                        terms.append(icnn_loss_torch(torch.cat([es, eq]), yall, k))
                    loss = sum(terms) / len(terms)
                    opt.zero_grad()
                    loss.backward()
                    opt.step()
                er = np.random.default_rng(test_seed)
                correct = np.empty(test_episodes)
                with torch.no_grad():
                    for t in range(test_episodes):
                        xs, xq = episode(novel, er, n_novel)
                        protos = enc(xs).reshape(n_way, k_shot, -1).mean(1)
                        pred = _torch_dist(torch, enc(xq), protos).argmin(1)
                        correct[t] = float((pred == yq).float().mean())
                    emb = enc(novel[:, :n_per].reshape(-1, dim)).numpy().astype(float)
                acc[m, j] = correct.mean()
                hw[m, j] = 1.96 * correct.std(ddof=1) / np.sqrt(test_episodes) if test_episodes > 1 else np.inf
                icnn_te[m, j] = icnn_score(emb, np.repeat(np.arange(n_novel), n_per), k)
    return EpisodicStudy(seeds_arr, acc, hw, icnn_te)
