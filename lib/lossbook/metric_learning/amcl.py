"""Adaptive multi-head contrastive learning (AMCL): per-pair temperatures with a Gaussian regulariser.

Each of ``C`` projection heads has a small network that maps a pair of projected embeddings to a
temperature in ``[tau_min, tau_max]``; the loss per anchor and head is
``-s+/tau+ + s-*/tau-* + beta Omega(tau+) - beta Omega(tau-*)`` with ``s-*`` the hardest negative and
``Omega(tau) = (d/2) log tau + 1/tau`` (:eq:`amcl-loss`, :eq:`amcl-omega`). Also the single-head NT-Xent
baseline, the optimal positive temperature in closed form, and the chapter's digits study.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import numpy as np

from .._rng import as_generator
from .._torch import require_torch
from .._validate import check_array, check_int, check_real, check_seeds
from ..progress import progress

__all__ = ["AMCL_METHODS", "AUGMENTATIONS", "ContrastiveStudy", "amcl_loss_torch", "contrastive_study",
           "ntxent_loss_torch", "optimal_positive_temperature", "temperature_regulariser"]

#: the objectives compared in :func:`contrastive_study`, in the order of its arrays
AMCL_METHODS = ("ntxent", "amcl")
#: the official temperature range
TAU_BOUNDS = (1e-5, 2.0)


def temperature_regulariser(tau, d: int) -> np.ndarray:
    r""":math:`\Omega(\tau)=\tfrac d2\log\tau+1/\tau`, :eq:`amcl-omega`; minimal at :math:`\tau=2/d`.

    Parameters
    ----------
    tau : array_like, shape (n,)
        Temperatures, each in ``[1e-300, 1e300]``.
    d : int
        Embedding dimension, in ``[1, 10**6]``.

    Returns
    -------
    numpy.ndarray

    Examples
    --------
    >>> temperature_regulariser([0.5], 4).round(6)   # 2 log 0.5 + 2
    array([0.613706])
    """
    t = check_array(tau, "tau", ndim=1, low=1e-300, max_abs=1e300)
    d = check_int(d, "d", low=1, high=10**6)
    return 0.5 * d * np.log(t) + 1.0 / t


def optimal_positive_temperature(s, beta: float, d: int, tau_bounds=TAU_BOUNDS) -> np.ndarray:
    r"""Temperature minimising the positive term :math:`-s/\tau+\beta\,\Omega(\tau)` (:prf:ref:`amcl-prop-tau`).

    The objective is :math:`(\beta-s)/\tau+\tfrac{\beta d}{2}\log\tau`; for :math:`s<\beta` it has the unique
    interior stationary point :math:`\tau^\ast=2(\beta-s)/(\beta d)` (a minimum), clipped to the bounds; for
    :math:`s\ge\beta` it is increasing and the minimum is the lower bound (:prf:ref:`amcl-prop-tau`).

    Parameters
    ----------
    s : array_like, shape (n,)
        Positive-pair cosine similarities, in ``[-1, 1]``.
    beta : float
        Regulariser weight, in ``(0, 1e6]``.
    d : int
        Embedding dimension, in ``[1, 10**6]``.
    tau_bounds : (float, float), default (1e-5, 2)
        ``0 < tau_min <= tau_max <= 1e6``.

    Returns
    -------
    numpy.ndarray

    Examples
    --------
    >>> optimal_positive_temperature([0.0, 0.05, 0.5], 0.1, 4).tolist()   # 2 (0.1 - s) / 0.4
    [0.5, 0.25, 1e-05]
    """
    s = check_array(s, "s", ndim=1, low=-1.0, high=1.0)
    beta = check_real(beta, "beta", low=0.0, high=1e6, low_open=True)
    d = check_int(d, "d", low=1, high=10**6)
    try:
        lo, hi = (float(v) for v in tau_bounds)
    except (TypeError, ValueError):
        raise TypeError("tau_bounds must be a pair of floats (tau_min, tau_max)") from None
    if not (0 < lo <= hi <= 1e6):
        raise ValueError(f"tau_bounds must satisfy 0 < tau_min <= tau_max <= 1e6, got {tau_bounds!r}")
    with np.errstate(over="ignore", divide="ignore"):  # a tiny beta sends the stationary point to +-inf: clipped
        return np.clip(2.0 * (beta - s) / (beta * d), lo, hi)


def ntxent_loss_torch(z1, z2, tau: float = 0.5):
    """NT-Xent (SimCLR) loss of two views ``(n, d)``: cross-entropy of each anchor's positive among all pairs.

    Both views serve as anchors; negatives are the other ``2n - 2`` samples; cosine similarities over ``tau``,
    which must lie in ``[1e-6, 1e6]`` (below it the logits overflow float32).

    Examples
    --------
    >>> import torch
    >>> round(float(ntxent_loss_torch(torch.eye(2), torch.eye(2), tau=1.0)), 4)
    0.5514
    """
    torch = require_torch()
    tau = check_real(tau, "tau", low=1e-6, high=1e6)
    z = torch.nn.functional.normalize(torch.cat([z1, z2]), dim=1)
    n = z1.shape[0]
    sim = z @ z.T / tau
    sim = sim.masked_fill(torch.eye(2 * n, dtype=torch.bool), float("-inf"))
    target = torch.cat([torch.arange(n, 2 * n), torch.arange(0, n)])
    return torch.nn.functional.cross_entropy(sim, target)


def amcl_loss_torch(heads1, heads2, temp_nets, beta: float = 0.1, tau_bounds=TAU_BOUNDS):
    r"""AMCL loss (SimCLR form), :eq:`amcl-loss`, summed over heads and averaged over anchors.

    For head ``c``, anchors are the rows of ``heads1[c]``, the positive of row ``i`` is row ``i`` of
    ``heads2[c]`` and the negatives are its other rows; the hardest negative is the most similar one.
    ``temp_nets[c]`` maps a concatenated pair ``[z_i; z_j]`` of unit vectors to a logit, turned into
    :math:`\tau=\tau_{\min}+(\tau_{\max}-\tau_{\min})\sigma(\cdot)`.

    Returns
    -------
    (torch.Tensor, dict)
        The loss and diagnostics (mean positive and hardest-negative temperatures and similarities).
    """
    torch = require_torch()
    beta = check_real(beta, "beta", low=0.0, high=1e6)
    lo, hi = (float(v) for v in tau_bounds)
    if not (len(heads1) == len(heads2) == len(temp_nets) >= 1):
        raise ValueError("heads1, heads2 and temp_nets must have the same positive length (one per head)")
    total = 0.0
    diag = {"tau_pos": 0.0, "tau_neg": 0.0, "s_pos": 0.0, "s_neg": 0.0}
    for z1, z2, net in zip(heads1, heads2, temp_nets, strict=True):
        a = torch.nn.functional.normalize(z1, dim=1)
        b = torch.nn.functional.normalize(z2, dim=1)
        n, d = a.shape
        S = a @ b.T
        s_pos = S.diagonal()
        neg = S.masked_fill(torch.eye(n, dtype=torch.bool), float("-inf"))
        s_neg, j = neg.max(dim=1)
        t_pos = lo + (hi - lo) * torch.sigmoid(net(torch.cat([a, b], dim=1)).squeeze(-1))
        t_neg = lo + (hi - lo) * torch.sigmoid(net(torch.cat([a, b[j]], dim=1)).squeeze(-1))

        def omega(t, d=d):
            return 0.5 * d * torch.log(t) + 1.0 / t

        per = -s_pos / t_pos + s_neg / t_neg + beta * omega(t_pos) - beta * omega(t_neg)
        total = total + per.mean()
        for key, val in (("tau_pos", t_pos), ("tau_neg", t_neg), ("s_pos", s_pos), ("s_neg", s_neg)):
            diag[key] += float(val.detach().mean()) / len(heads1)
    return total, diag


AUGMENTATIONS = ("weak", "strong")


def _augment(X, strength, rng):
    """Pixel noise (weak: sd 0.1; strong: sd 0.3) and, for strong, a random shift of up to one pixel."""
    out = X + rng.normal(0.0, 0.1 if strength == "weak" else 0.3, X.shape)
    if strength == "strong":
        imgs = out.reshape(-1, 8, 8)
        shifts = rng.integers(-1, 2, size=(X.shape[0], 2))
        res = np.zeros_like(imgs)
        for i, (dy, dx) in enumerate(shifts):
            res[i] = np.roll(np.roll(imgs[i], dy, axis=0), dx, axis=1)
        out = res.reshape(X.shape)
    return out.astype(np.float32)


@functools.cache
def _modules():
    torch = require_torch()
    nn = torch.nn

    def encoder():
        return nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 32))

    def temp_net():
        return nn.Sequential(nn.Linear(32, 32), nn.ReLU(), nn.Linear(32, 1))

    return encoder, temp_net


class ContrastiveStudy(NamedTuple):
    """Results of :func:`contrastive_study`: arrays (2 methods, 2 augmentations, R seeds)."""

    seeds: np.ndarray
    auc: np.ndarray  #: AUC separating positive-pair from negative-pair cosine similarities of test features
    knn_accuracy: np.ndarray  #: 5-nearest-neighbour (cosine) test accuracy on the encoder's features
    tau_pos: np.ndarray  #: AMCL: mean positive temperature in the last epoch (NaN-free: 0 for NT-Xent)
    tau_neg: np.ndarray  #: AMCL: mean hardest-negative temperature in the last epoch (0 for NT-Xent)


def contrastive_study(seeds, *, epochs: int = 15, n_heads: int = 3, beta: float = 0.1, tau: float = 0.5,
                      lr: float = 1e-3, batch_size: int = 128) -> ContrastiveStudy:
    """Contrastive pre-training on digits: single-head NT-Xent with fixed ``tau`` vs AMCL with ``n_heads`` heads.

    The encoder ``64 -> 128 -> 32`` is followed by linear projection heads to 16 dimensions (one for
    NT-Xent, ``n_heads`` for AMCL, each with a temperature network). Two views of every image are drawn
    per step with the weak or the strong augmentation. Evaluation uses the encoder's 32-d features of
    the test images: the AUC (:func:`lossbook.ranking.roc_auc`) of cosine similarities of two augmented
    views of the same image against those of different images, and 5-nearest-neighbour accuracy. Both
    methods share the data split, initialisation of the encoder and minibatch order. Sizes are the
    chapter's choices for a CPU toy.

    Parameters
    ----------
    seeds : array_like of int, shape (R,)
    epochs : int, default 15
        In ``[1, 1000]``.
    n_heads : int, default 3
        In ``[1, 16]``.
    beta : float, default 0.1
        AMCL's regulariser weight, in ``[0, 1e6]``.
    tau : float, default 0.5
        NT-Xent's temperature, in ``[1e-6, 100]``.
    lr : float, default 1e-3
        In ``(0, 1]``.
    batch_size : int, default 128
        In ``[2, 1257]``.

    Returns
    -------
    ContrastiveStudy

    Raises
    ------
    ValueError
        on out-of-range arguments, or if training diverges (non-finite features: lower ``lr``).

    Examples
    --------
    >>> st = contrastive_study([0], epochs=1)
    >>> st.auc.shape
    (2, 2, 1)
    """
    torch = require_torch()
    from ..datasets import load_digits_split
    from ..ranking import roc_auc
    from ..training import seeded

    seeds_arr = check_seeds(seeds)
    epochs = check_int(epochs, "epochs", low=1, high=1000)
    n_heads = check_int(n_heads, "n_heads", low=1, high=16)
    beta = check_real(beta, "beta", low=0.0, high=1e6)
    tau = check_real(tau, "tau", low=1e-6, high=100.0)
    lr = check_real(lr, "lr", low=0.0, high=1.0, low_open=True)
    batch_size = check_int(batch_size, "batch_size", low=2, high=1257)
    encoder, temp_net = _modules()
    R = seeds_arr.size
    shape = (len(AMCL_METHODS), len(AUGMENTATIONS), R)
    auc, knn, tp, tn = (np.zeros(shape) for _ in range(4))
    for r in progress(range(R), desc="contrastive seeds"):
        rng = as_generator(int(seeds_arr[r]))
        d = load_digits_split(seed=rng, dtype=np.float32)
        init_seed, order_seed, eval_seed = (int(v) for v in rng.integers(0, 2**31 - 1, size=3))
        for a, aug in enumerate(AUGMENTATIONS):
            for m, method in enumerate(AMCL_METHODS):
                with seeded(init_seed):
                    enc = encoder()
                    heads = [torch.nn.Linear(32, 16) for _ in range(1 if method == "ntxent" else n_heads)]
                    tnets = [temp_net() for _ in heads] if method == "amcl" else []
                    params = list(enc.parameters()) + [p for h in heads + tnets for p in h.parameters()]
                    opt = torch.optim.Adam(params, lr=lr)
                    order = np.random.default_rng(order_seed)
                    for _ in range(epochs):
                        perm = order.permutation(d.X_train.shape[0])
                        diags = []
                        for start in range(0, perm.size - 1, batch_size):
                            xb = d.X_train[perm[start:start + batch_size]]
                            v1 = torch.from_numpy(_augment(xb, aug, order))
                            v2 = torch.from_numpy(_augment(xb, aug, order))
                            h1, h2 = enc(v1), enc(v2)
                            if method == "ntxent":
                                loss = ntxent_loss_torch(heads[0](h1), heads[0](h2), tau)
                            else:
                                loss, dg = amcl_loss_torch([h(h1) for h in heads], [h(h2) for h in heads], tnets,
                                                           beta)
                                diags.append(dg)
                            opt.zero_grad()
                            loss.backward()
                            opt.step()
                    if diags:
                        tp[m, a, r] = np.mean([g["tau_pos"] for g in diags])
                        tn[m, a, r] = np.mean([g["tau_neg"] for g in diags])
                    ev = np.random.default_rng(eval_seed)
                    with torch.no_grad():
                        f1 = torch.nn.functional.normalize(enc(torch.from_numpy(_augment(d.X_test, aug, ev))), dim=1)
                        f2 = torch.nn.functional.normalize(enc(torch.from_numpy(_augment(d.X_test, aug, ev))), dim=1)
                        ftr = torch.nn.functional.normalize(enc(torch.from_numpy(d.X_train)), dim=1).numpy()
                        fte = torch.nn.functional.normalize(enc(torch.from_numpy(d.X_test)), dim=1).numpy()
                    if not (torch.isfinite(f1).all() and torch.isfinite(f2).all()):
                        raise ValueError(f"training diverged ({method}, {aug} augmentation): non-finite features; "
                                         f"lower lr (got {lr})")
                    S = (f1 @ f2.T).numpy().astype(float)
                    n = S.shape[0]
                    pos = np.diag(S)
                    negs = S[~np.eye(n, dtype=bool)]
                    labels = np.r_[np.ones(n), np.zeros(negs.size)]
                    auc[m, a, r] = roc_auc(labels, np.r_[pos, negs], engine="numpy")
                    sims = fte @ ftr.T
                    nn5 = np.argsort(-sims, axis=1)[:, :5]
                    votes = d.y_train[nn5]
                    pred = np.array([np.bincount(v, minlength=10).argmax() for v in votes])
                    knn[m, a, r] = float(np.mean(pred == d.y_test))
    return ContrastiveStudy(seeds_arr, auc, knn, tp, tn)
