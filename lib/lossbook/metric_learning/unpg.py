"""Margin-softmax losses (CosFace, ArcFace), unified negative pair generation (UNPG), and verification metrics.

A margin-softmax loss is cross-entropy on the scaled cosines ``s cos(theta_ij)`` between the unit embedding
of sample ``i`` and the unit class vector (proxy) ``w_j``, with the target logit replaced by
``s psi(cos theta_{i y_i})``: ``psi(c) = c - m`` for CosFace and ``psi(c) = cos(arccos c + m)`` for ArcFace
:eq:`unpg-margin`. In the pair language of this subpackage the only negative pairs such a loss sees are
(sample, other proxy). UNPG (Jung et al. 2022) appends the in-batch negative pairs (two samples of different
labels), filtered by a box-and-whisker rule, as extra logits to every sample's softmax :eq:`unpg-loss`.
A feature space is *well discriminative* when every positive-pair similarity exceeds every negative-pair
similarity (:prf:ref:`unpg-def-wdfs`); :func:`discriminativeness_gap` measures by how much, and
:func:`tar_at_far` is the verification rate at a false-accept rate. Chapter:
:doc:`/book/collapse/unpg-negative-pairs`.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .._torch import require_torch
from .._validate import check_array, check_choice, check_int, check_real
from .normalized_softmax import _check_class_head
from .similarity import l2_normalize, pair_masks

__all__ = [
    "MARGIN_TYPES",
    "PairSimilarities",
    "box_whisker_filter",
    "discriminativeness_gap",
    "margin_softmax_loss",
    "margin_softmax_loss_torch",
    "pair_similarities",
    "tar_at_far",
    "train_margin_softmax_embedding",
    "unpg_loss",
    "unpg_loss_torch",
    "unpg_verification_study",
    "VerificationStudy",
]

MARGIN_TYPES = ("cosface", "arcface")  #: the two target-logit margins :eq:`unpg-margin`
SCALE_RANGE = (1e-6, 1e6)  #: accepted scales ``s``
MARGIN_RANGE = (0.0, 2.0)  #: accepted margins ``m`` (cosine units for CosFace, radians for ArcFace)


class PairSimilarities(NamedTuple):
    """Cosine similarities of the unordered pairs ``i < j`` of a labelled set (:func:`pair_similarities`)."""

    positive: np.ndarray  #: same label, in row-major order of ``(i, j)``
    negative: np.ndarray  #: different labels, in row-major order of ``(i, j)``


def pair_similarities(embeddings, labels) -> PairSimilarities:
    """Positive and negative pair similarities ``S^p`` and ``S^n`` of :prf:ref:`unpg-def-wdfs`.

    Each unordered pair ``i < j`` is counted once: its cosine similarity goes to ``positive`` if
    ``labels[i] == labels[j]`` and to ``negative`` otherwise.

    Parameters
    ----------
    embeddings : array_like, shape (n, d)
        Finite, every row non-zero.
    labels : array_like of int, shape (n,)
        Class labels (any integers).

    Returns
    -------
    PairSimilarities
        Two 1-D float arrays (either may be empty), values in ``[-1, 1]``.

    Examples
    --------
    >>> p = pair_similarities([[1.0, 0.0], [1.0, 1.0], [0.0, 1.0]], [0, 0, 1])
    >>> p.positive.round(4).tolist(), p.negative.round(4).tolist()
    ([0.7071], [0.0, 0.7071])
    """
    U = l2_normalize(embeddings)
    y = _labels_for(labels, U.shape[0])
    pos, neg = pair_masks(y)
    S = np.clip(U @ U.T, -1.0, 1.0)
    upper = np.triu(np.ones(S.shape, dtype=bool), k=1)
    return PairSimilarities(S[pos & upper], S[neg & upper])


def _labels_for(labels, n):
    y = np.asarray(labels)
    if y.shape != (n,):
        raise ValueError(f"labels must have shape ({n},) to match embeddings, got {y.shape}")
    pair_masks(y)  # integer labels only (TypeError naming labels)
    return y


def discriminativeness_gap(embeddings, labels) -> float:
    """``min S^p - max S^n``: positive exactly when the embedding is well discriminative (:prf:ref:`unpg-def-wdfs`).

    Parameters
    ----------
    embeddings : array_like, shape (n, d)
        Finite, every row non-zero.
    labels : array_like of int, shape (n,)
        Must give at least one positive pair (two samples of one label) and one negative pair.

    Returns
    -------
    float
        In ``[-2, 2]``. A tie between the weakest positive and the strongest negative gives exactly 0
        (not well discriminative: the condition is strict).

    Raises
    ------
    ValueError
        If there is no positive or no negative pair, or for bad embeddings or labels.

    Examples
    --------
    >>> round(discriminativeness_gap([[1.0, 0.0], [1.0, 0.2], [0.0, 1.0]], [0, 0, 1]), 4)
    0.7845
    """
    p = pair_similarities(embeddings, labels)
    if p.positive.size == 0 or p.negative.size == 0:
        raise ValueError(f"labels must give at least one positive and one negative pair, got {p.positive.size} "
                         f"positive and {p.negative.size} negative")
    return float(p.positive.min() - p.negative.max())


def box_whisker_filter(similarities, whisker: float = 1.5) -> np.ndarray:
    """Mask of the similarities inside the box-and-whisker fences (UNPG's filter :eq:`unpg-filter`).

    With the values sorted ascending as ``t_(0) <= ... <= t_(l-1)``, ``Q1 = t_(floor(l/4))`` and
    ``Q3 = t_(floor(3l/4))`` (0-based order statistics, no interpolation, as in the official UNPG code),
    a value is kept when ``Q1 - w IQR <= t <= Q3 + w IQR`` with ``IQR = Q3 - Q1``.

    Parameters
    ----------
    similarities : array_like, shape (l,)
        Finite values (``l = 0`` gives an empty mask).
    whisker : float, default 1.5
        ``w`` in ``[0, 1e6]``; 1.5 is the official code's default (its example scripts use 1.0).

    Returns
    -------
    ndarray of bool, shape (l,)
        ``True`` where the value is kept, in the input order.

    Examples
    --------
    >>> box_whisker_filter([0.1, 0.2, 0.15, 0.12, 0.9], whisker=1.0).tolist()
    [True, True, True, True, False]
    """
    t = check_array(similarities, "similarities", ndim=1)
    w = check_real(whisker, "whisker", low=0.0, high=1e6)
    if t.size == 0:
        return np.zeros(0, dtype=bool)
    s = np.sort(t)
    q1, q3 = s[int(np.floor(0.25 * t.size))], s[int(np.floor(0.75 * t.size))]
    iqr = q3 - q1
    if w == 0.0:  # fences at the quartiles (also when Q3 - Q1 overflows, where 0 * inf would be NaN)
        return (t >= q1) & (t <= q3)
    with np.errstate(over="ignore"):  # huge inputs: fences at +-inf keep everything, which is the limit
        return (t >= q1 - w * iqr) & (t <= q3 + w * iqr)


def tar_at_far(genuine, impostor, far: float) -> float:
    """True-accept rate at a false-accept rate (no interpolation between ROC points).

    A pair is accepted when its score is at least the threshold ``tau``. Of all thresholds whose empirical
    false-accept rate ``#{impostor >= tau} / n_impostor`` does not exceed ``far``, the most permissive is
    used; its true-accept rate ``#{genuine >= tau} / n_genuine`` is returned. This is the largest ``tpr`` of
    scikit-learn's ``roc_curve(..., drop_intermediate=False)`` among the points with ``fpr <= far`` (the
    conservative step convention; interpolating between points would give a higher value).

    Parameters
    ----------
    genuine : array_like, shape (n_genuine,)
        Scores of positive (same-identity) pairs, finite, at least one.
    impostor : array_like, shape (n_impostor,)
        Scores of negative pairs, finite, at least one.
    far : float
        Target false-accept rate in ``[0, 1]``. Below ``1 / n_impostor`` only thresholds above every
        impostor qualify.

    Returns
    -------
    float
        In ``[0, 1]``.

    Examples
    --------
    >>> tar_at_far([0.9, 0.8, 0.3], [0.5, 0.2, 0.1, 0.0], far=0.25)   # one false accept allowed: threshold above 0.2
    1.0
    >>> tar_at_far([0.9, 0.8, 0.3], [0.5, 0.2, 0.1, 0.0], far=0.0)   # threshold above 0.5
    0.6666666666666666
    """
    g = check_array(genuine, "genuine", ndim=1, min_size=1)
    imp = check_array(impostor, "impostor", ndim=1, min_size=1)
    far = check_real(far, "far", low=0.0, high=1.0)
    n = imp.size
    # k = the most false accepts allowed, with the same float comparison k / n <= far as a ROC curve's fpr
    k = min(int(np.floor(far * n)), n)
    while k < n and (k + 1) / n <= far:
        k += 1
    while k > 0 and k / n > far:
        k -= 1
    if k >= n:
        return 1.0
    v = np.sort(imp)[::-1][k]  # any threshold above the (k+1)-th largest impostor accepts at most k of them
    return float(np.mean(g > v))


def _check_head(embeddings, weights, labels, margin_type, scale, margin):
    U, V, y = _check_class_head(embeddings, weights, labels)
    kind = check_choice(margin_type, "margin_type", MARGIN_TYPES)
    s = check_real(scale, "scale", low=SCALE_RANGE[0], high=SCALE_RANGE[1])
    m = check_real(margin, "margin", low=MARGIN_RANGE[0], high=MARGIN_RANGE[1])
    return U, V, y, kind, s, m


def _target_cosine_numpy(c, kind, m):
    """``psi(c)`` of :eq:`unpg-margin`; ArcFace past ``theta > pi - m`` (``c < -cos m``) uses ``c - m sin m``."""
    if kind == "cosface":
        return c - m
    sine = np.sqrt(np.clip(1.0 - c * c, 0.0, None))
    return np.where(c >= -np.cos(m), c * np.cos(m) - sine * np.sin(m), c - m * np.sin(m))


def _mean_ce(Z, y):
    """Mean of ``logsumexp(Z_i) - Z_{i, y_i}`` (row maximum subtracted; log1p keeps tiny losses exact)."""
    rows = np.arange(y.size)
    top = np.argmax(Z, axis=1)
    mx = Z[rows, top]
    rest = np.exp(Z - mx[:, None])
    rest[rows, top] = 0.0
    return float(np.mean((mx - Z[rows, y]) + np.log1p(rest.sum(axis=1))))


def _head_logits(U, V, y, kind, s, m):
    C = np.clip(U @ V.T, -1.0, 1.0)
    rows = np.arange(y.size)
    C[rows, y] = _target_cosine_numpy(C[rows, y], kind, m)
    return s * C


def margin_softmax_loss(embeddings, weights, labels, *, margin_type: str = "cosface", scale: float = 64.0,
                        margin: float = 0.35) -> float:
    """Mean CosFace or ArcFace loss :eq:`unpg-margin` of embeddings against class vectors.

    ``L = (1/n) sum_i -log( e^{s psi_i} / (e^{s psi_i} + sum_{j != y_i} e^{s cos theta_ij}) )`` with
    ``psi_i = cos theta_{i y_i} - m`` (CosFace) or ``cos(theta_{i y_i} + m)`` (ArcFace; for
    ``theta > pi - m`` it is continued as ``cos theta - m sin m``, as in ``pytorch-metric-learning`` and the
    ArcFace reference code, so that the logit keeps decreasing in ``theta``).

    Parameters
    ----------
    embeddings : array_like, shape (n, d)
        Finite, every row non-zero.
    weights : array_like, shape (C, d)
        Class vectors, one row per class (the transpose of ``pytorch-metric-learning``'s ``W``).
    labels : array_like of int, shape (n,)
        Classes in ``{0, ..., C - 1}``.
    margin_type : {"cosface", "arcface"}
    scale : float, default 64.0
        ``s`` in ``[1e-6, 1e6]``.
    margin : float, default 0.35
        ``m`` in ``[0, 2]``: cosine units for CosFace, radians for ArcFace (``pytorch-metric-learning``
        takes ArcFace's margin in degrees).

    Returns
    -------
    float
        Non-negative; ``m = 0`` gives the normalised softmax with temperature ``1 / s``.

    Raises
    ------
    ValueError, TypeError
        For a bad argument (the message names it).

    Examples
    --------
    >>> round(margin_softmax_loss([[1.0, 0.0]], [[1.0, 0.0], [0.0, 1.0]], [0], scale=1.0, margin=0.5), 6)
    0.474077
    """
    U, V, y, kind, s, m = _check_head(embeddings, weights, labels, margin_type, scale, margin)
    return _mean_ce(_head_logits(U, V, y, kind, s, m), y)


def unpg_loss(embeddings, weights, labels, *, margin_type: str = "cosface", scale: float = 64.0,
              margin: float = 0.35, whisker: float | None = 1.5) -> float:
    """Margin-softmax loss with the filtered in-batch negative pairs appended to every softmax :eq:`unpg-loss`.

    The in-batch negative similarities ``S^n`` (pairs ``i < j`` of different labels, see
    :func:`pair_similarities`) are filtered by :func:`box_whisker_filter`; each kept value ``t`` becomes an
    extra logit ``s t`` in the denominator of every sample. Formula as read from the official UNPG code.

    Parameters
    ----------
    embeddings, weights, labels, margin_type, scale, margin
        As in :func:`margin_softmax_loss`.
    whisker : float or None, default 1.5
        Fence width ``w`` of the filter in ``[0, 1e6]``; ``None`` keeps every negative pair.

    Returns
    -------
    float
        At least :func:`margin_softmax_loss` of the same arguments, with equality when no negative pair
        is kept (e.g. every label equal).

    Examples
    --------
    >>> E, W = [[1.0, 0.0], [0.0, 1.0]], [[1.0, 0.0], [0.0, 1.0]]
    >>> round(unpg_loss(E, W, [0, 1], scale=1.0, margin=0.0), 6)   # one extra logit s * 0 per row
    0.551445
    """
    U, V, y, kind, s, m = _check_head(embeddings, weights, labels, margin_type, scale, margin)
    w = None if whisker is None else check_real(whisker, "whisker", low=0.0, high=1e6)
    Z = _head_logits(U, V, y, kind, s, m)
    pos, neg = pair_masks(y)
    S = np.clip(U @ U.T, -1.0, 1.0)
    t = S[neg & np.triu(np.ones(S.shape, dtype=bool), k=1)]
    if w is not None:
        t = t[box_whisker_filter(t, w)]
    if t.size == 0:
        return _mean_ce(Z, y)
    # every row gets the same appended logits: fold them into one log-sum-exp A (O(K), not O(B K)), then
    # loss_i = CE_i + log(1 + e^{A - lse(Z_i)}), which keeps tiny losses exact
    A = _logsumexp(s * t)
    rows = np.arange(y.size)
    lse_rows = _logsumexp(Z, axis=1)
    per_row = (lse_rows - Z[rows, y]) + np.logaddexp(0.0, A - lse_rows)
    return float(np.mean(per_row))


def _logsumexp(a, axis=None):
    mx = np.max(a, axis=axis, keepdims=True)
    out = mx + np.log(np.sum(np.exp(a - mx), axis=axis, keepdims=True))
    return out.reshape(()) if axis is None else np.squeeze(out, axis=axis)


def _torch_inputs(embeddings, weights, labels, margin_type, scale, margin):
    torch = require_torch()
    for name, t in (("embeddings", embeddings), ("weights", weights)):
        if not torch.is_tensor(t) or not t.is_floating_point() or t.ndim != 2:
            raise TypeError(f"{name} must be a 2-D floating-point torch tensor")
    if embeddings.dtype != weights.dtype:
        raise TypeError(f"embeddings and weights must share a dtype, got {embeddings.dtype} and {weights.dtype}")
    y_np = labels.detach().cpu().numpy() if torch.is_tensor(labels) else np.asarray(labels)
    with torch.no_grad():
        _, _, y_np, kind, s, m = _check_head(embeddings.detach().cpu().double().numpy(),
                                             weights.detach().cpu().double().numpy(), y_np, margin_type, scale,
                                             margin)
    return torch.as_tensor(y_np, device=embeddings.device), kind, s, m


def margin_softmax_loss_torch(embeddings, weights, labels, *, margin_type: str = "cosface", scale: float = 64.0,
                              margin: float = 0.35):
    """:func:`margin_softmax_loss` on torch tensors, differentiable in ``embeddings`` and ``weights``.

    Parameters
    ----------
    embeddings : torch.Tensor, shape (n, d)
        Floating point; finite, non-zero rows.
    weights : torch.Tensor, shape (C, d)
        Same dtype; finite, non-zero rows.
    labels : torch.Tensor or array_like of int, shape (n,)
    margin_type, scale, margin
        As in :func:`margin_softmax_loss`.

    Returns
    -------
    torch.Tensor
        Scalar.

    Examples
    --------
    >>> import torch
    >>> E = torch.tensor([[1.0, 0.0]], dtype=torch.float64)
    >>> W = torch.tensor([[1.0, 0.0], [0.0, 1.0]], dtype=torch.float64)
    >>> round(float(margin_softmax_loss_torch(E, W, [0], scale=1.0, margin=0.5)), 6)
    0.474077
    """
    y, kind, s, m = _torch_inputs(embeddings, weights, labels, margin_type, scale, margin)
    return _unpg_torch(embeddings, weights, y, kind, s, m, whisker=None, append=False)


def unpg_loss_torch(embeddings, weights, labels, *, margin_type: str = "cosface", scale: float = 64.0,
                    margin: float = 0.35, whisker: float | None = 1.5):
    """:func:`unpg_loss` on torch tensors, differentiable in ``embeddings`` and ``weights``.

    The filter decides which pairs are kept without a gradient; the kept similarities carry the gradient
    to both embeddings of each pair (the features are not detached, as in the official code).

    Parameters
    ----------
    embeddings, weights, labels, margin_type, scale, margin
        As in :func:`margin_softmax_loss_torch`.
    whisker : float or None, default 1.5
        As in :func:`unpg_loss`.

    Returns
    -------
    torch.Tensor
        Scalar.

    Examples
    --------
    >>> import torch
    >>> E = torch.eye(2, dtype=torch.float64)
    >>> round(float(unpg_loss_torch(E, E.clone(), [0, 1], scale=1.0, margin=0.0)), 6)
    0.551445
    """
    y, kind, s, m = _torch_inputs(embeddings, weights, labels, margin_type, scale, margin)
    w = None if whisker is None else check_real(whisker, "whisker", low=0.0, high=1e6)
    return _unpg_torch(embeddings, weights, y, kind, s, m, whisker=w, append=True)


def _unpg_torch(E, W, y, kind, s, m, *, whisker, append):
    """The loss without input checks (training loop; a zero row gives NaN, caught by the trainer)."""
    torch = require_torch()

    def unit(A):  # divide by the row's largest modulus first, so that norms near 1e300 do not overflow
        A = A / A.abs().amax(dim=1, keepdim=True)
        return A / torch.linalg.vector_norm(A, dim=1, keepdim=True)

    U, V = unit(E), unit(W)
    C = (U @ V.T).clamp(-1.0, 1.0)
    rows = torch.arange(y.numel(), device=E.device)
    c = C[rows, y]
    if kind == "cosface":
        psi = c - m
    else:
        # cos(theta + m) = c cos m - sin(theta) sin m; sin(theta) = sqrt(1 - c^2) floored at the dtype's tiny so
        # that its derivative stays finite at c = +-1 (arccos has an infinite slope there, NaN after 0 * inf)
        sine = torch.sqrt((1.0 - c * c).clamp_min(torch.finfo(c.dtype).tiny))
        psi = torch.where(c >= -np.cos(m), c * np.cos(m) - sine * np.sin(m), c - m * np.sin(m))
    onehot = torch.nn.functional.one_hot(y, C.shape[1]).to(C.dtype)
    Z = s * (C + onehot * (psi - c)[:, None])
    if append and y.numel() > 1:
        i, j = torch.triu_indices(y.numel(), y.numel(), offset=1, device=E.device)
        keep = y[i] != y[j]
        i, j = i[keep], j[keep]
        t = (U @ U.T)[i, j].clamp(-1.0, 1.0)  # one matmul is cheaper than gathering the rows of every pair
        if whisker is not None and t.numel():
            with torch.no_grad():
                mask = torch.as_tensor(box_whisker_filter(t.detach().cpu().double().numpy(), whisker),
                                       device=E.device)
            t = t[mask]
        if t.numel():  # the shared appended logits enter every row through one log-sum-exp, as in unpg_loss
            lse_rows = torch.logsumexp(Z, dim=1)
            extra = torch.logaddexp(torch.zeros_like(lse_rows), torch.logsumexp(s * t, dim=0) - lse_rows)
            return torch.nn.functional.cross_entropy(Z, y) + extra.mean()
    return torch.nn.functional.cross_entropy(Z, y)


def train_margin_softmax_embedding(X, y, *, margin_type: str = "cosface", scale: float = 16.0, margin: float = 0.2,
                                   unpg: bool = False, whisker: float | None = 1.5, seed, epochs: int = 20,
                                   lr: float = 3e-3, batch_size: int = 64, hidden: int = 64, out_dim: int = 16):
    """Train a one-hidden-layer MLP embedding with CosFace/ArcFace, with or without UNPG (Adam, CPU).

    The network is the one of :func:`~lossbook.metric_learning.train_embedding` (``Linear -> ReLU ->
    Linear``); the head is a matrix of class vectors (random normal rows) trained jointly.

    Parameters
    ----------
    X : array_like, shape (n, dim)
        Inputs, finite, of magnitude at most ``3.4e38`` (the float32 range of the network).
    y : array_like of int, shape (n,)
        Labels (any integers; class ``k`` of the head is the ``k``-th smallest label).
    margin_type, scale, margin
        As in :func:`margin_softmax_loss`. The defaults ``s = 16, m = 0.2`` suit a 16-dimensional embedding of
        :func:`~lossbook.metric_learning.retrieval_task` (chosen in the chapter, on that task only); the face
        recognition papers use ``s = 64`` with 512 dimensions.
    unpg : bool, default False
        Append the in-batch negative pairs :eq:`unpg-loss`.
    whisker : float or None, default 1.5
        As in :func:`unpg_loss` (unused without ``unpg``).
    seed : int
        Initialisation and minibatch order, in ``[0, 2**63 - 1]``.
    epochs, lr, batch_size, hidden, out_dim
        ``epochs`` in ``[1, 1e7]``, ``lr`` in ``(0, 1e30]``, ``batch_size >= 1``, ``hidden, out_dim >= 1``.

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
        If the loss becomes NaN or infinite; see :func:`lossbook.training.train`.
    ValueError, TypeError
        For a bad argument (the message names it).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> y = np.repeat([0, 1, 2], 8)
    >>> X = rng.normal(size=(3, 5))[y] + 0.1 * rng.normal(size=(24, 5))
    >>> model, W, history = train_margin_softmax_embedding(X, y, unpg=True, seed=0, epochs=2, out_dim=4)
    >>> W.shape, len(history.train_loss)
    ((3, 4), 2)
    """
    torch = require_torch()
    from ..training import seeded, train
    from .retrieval import _float32_inputs

    y_arr = np.asarray(y)
    if y_arr.ndim != 1 or y_arr.dtype.kind not in "iu":
        raise TypeError(f"y must be a 1-d array of integer labels, got dtype={y_arr.dtype}, shape {y_arr.shape}")
    kind = check_choice(margin_type, "margin_type", MARGIN_TYPES)
    s = check_real(scale, "scale", low=SCALE_RANGE[0], high=SCALE_RANGE[1])
    m = check_real(margin, "margin", low=MARGIN_RANGE[0], high=MARGIN_RANGE[1])
    if not isinstance(unpg, bool | np.bool_):
        raise TypeError(f"unpg must be a bool, got {type(unpg).__name__}")
    w = None if whisker is None else check_real(whisker, "whisker", low=0.0, high=1e6)
    seed = check_int(seed, "seed", low=0, high=2**63 - 1)
    hidden, out_dim = check_int(hidden, "hidden", low=1), check_int(out_dim, "out_dim", low=1)
    check_int(epochs, "epochs", low=1, high=10**7)
    check_real(lr, "lr", low=0.0, low_open=True, high=1e30)
    check_int(batch_size, "batch_size", low=1)
    X = _float32_inputs(X)
    if X.shape[0] != y_arr.size:
        raise ValueError(f"X and y must have the same number of rows, got {X.shape[0]} and {y_arr.size}")
    classes, y_idx = np.unique(y_arr, return_inverse=True)
    with seeded(seed):
        body = torch.nn.Sequential(torch.nn.Linear(X.shape[1], hidden), torch.nn.ReLU(),
                                   torch.nn.Linear(hidden, out_dim))
        head = torch.nn.Parameter(torch.randn(classes.size, out_dim))
    full = torch.nn.Module()
    full.body = body
    full.head = head
    full.forward = body.forward  # the trained module outputs embeddings; the loss applies the head

    def loss_fn(out, target):
        return _unpg_torch(out, head, target, kind, s, m, whisker=w, append=bool(unpg))

    history = train(full, loss_fn, X, y_idx.astype(np.int64), epochs=epochs, lr=lr, seed=seed,
                    batch_size=batch_size, optimizer="adam")
    return body, head.detach().double().numpy().copy(), history


class VerificationStudy(NamedTuple):
    """Result of :func:`unpg_verification_study`; every array has one entry per seed, in the order of ``seeds``."""

    methods: tuple  #: ``(margin_type, margin_type + "+unpg")``
    tar: dict  #: ``method -> ndarray``: TAR at the requested FAR on the unseen identities
    gap: dict  #: ``method -> ndarray``: ``min S^p - max S^n`` on the unseen identities
    train_gap: dict  #: ``method -> ndarray``: the same gap on a subsample of the training identities
    raw_tar: np.ndarray  #: TAR of the raw inputs (cosine of the input vectors)


def unpg_verification_study(*, seeds=(0, 1, 2, 3, 4), n_identities: int = 200, per_identity: int = 10,
                            far: float = 1e-3, margin_type: str = "cosface", scale: float = 16.0,
                            margin: float = 0.2, whisker: float | None = 1.5, epochs: int = 15, lr: float = 1e-2,
                            spread: float = 0.2, nuisance: float = 0.5) -> VerificationStudy:
    """Synthetic verification protocol of :doc:`/book/collapse/unpg-negative-pairs`: margin softmax +- UNPG.

    For each seed, :func:`~lossbook.metric_learning.retrieval_task` draws ``n_identities`` identities of
    ``per_identity`` samples (``spread``, ``nuisance`` as given, other constants its defaults); the first half
    are the training identities, the second half are unseen and give the verification pairs (every
    unordered pair of their samples). The same network, seed and batch order are trained with the margin
    softmax alone and with UNPG (:func:`train_margin_softmax_embedding`, batches of 64).

    Parameters
    ----------
    seeds : sequence of int
        One or more seeds in ``[0, 2**63 - 1]``.
    n_identities : int, default 200
        Even, ``>= 4``.
    per_identity : int, default 10
        ``>= 2``.
    far : float, default 1e-3
        In ``[0, 1]``.
    margin_type, scale, margin, whisker, epochs, lr
        As in :func:`train_margin_softmax_embedding`.
    spread, nuisance : float
        Task difficulty, in ``[0, 1e6]`` (a documented limit: far larger ones overflow the float32 network).

    Returns
    -------
    VerificationStudy

    Raises
    ------
    FloatingPointError
        If a training diverges.
    ValueError, TypeError
        For a bad argument (the message names it).

    Notes
    -----
    The defaults are the chapter's, chosen on this synthetic task only (a 16-dimensional embedding).

    Examples
    --------
    >>> r = unpg_verification_study(seeds=[0], n_identities=4, per_identity=4, epochs=1)
    >>> r.methods, r.tar["cosface"].shape
    (('cosface', 'cosface+unpg'), (1,))
    """
    from .normalized_softmax import _int_list
    from .retrieval import embed, retrieval_task

    seeds = _int_list(seeds, "seeds", low=0, high=2**63 - 1)
    far = check_real(far, "far", low=0.0, high=1.0)
    kind = check_choice(margin_type, "margin_type", MARGIN_TYPES)
    n_identities = check_int(n_identities, "n_identities", low=4)
    if n_identities % 2:
        raise ValueError(f"n_identities must be even (half train, half unseen), got {n_identities}")
    per_identity = check_int(per_identity, "per_identity", low=2)
    spread = check_real(spread, "spread", low=0.0, high=1e6)
    nuisance = check_real(nuisance, "nuisance", low=0.0, high=1e6)
    methods = (kind, kind + "+unpg")
    tar = {k: [] for k in methods}
    gap = {k: [] for k in methods}
    train_gap = {k: [] for k in methods}
    raw = []
    for seed in seeds:
        task = retrieval_task(n_identities, per_identity, spread=spread, nuisance=nuisance, seed=seed)
        p = pair_similarities(task.X_test, task.y_test)
        raw.append(tar_at_far(p.positive, p.negative, far))
        sub = task.y_train < task.y_train.min() + 20  # 20 training identities: a comparable number of pairs
        for name, unpg in zip(methods, (False, True), strict=True):
            model, _, _ = train_margin_softmax_embedding(task.X_train, task.y_train, margin_type=kind, scale=scale,
                                                         margin=margin, unpg=unpg, whisker=whisker, seed=seed,
                                                         epochs=epochs, lr=lr)
            Z = embed(model, task.X_test)
            p = pair_similarities(Z, task.y_test)
            tar[name].append(tar_at_far(p.positive, p.negative, far))
            gap[name].append(float(p.positive.min() - p.negative.max()))
            train_gap[name].append(discriminativeness_gap(embed(model, task.X_train[sub]), task.y_train[sub]))
    arr = lambda d: {k: np.array(v) for k, v in d.items()}  # noqa: E731
    return VerificationStudy(methods, arr(tar), arr(gap), arr(train_gap), np.array(raw))
