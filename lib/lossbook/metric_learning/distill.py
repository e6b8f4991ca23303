"""Logit distillation on a shared or a separate linear head: CE, KD, per-class binary KL, their gradients.

A student with features ``H`` (``n x d``) and a linear head ``z = H W^T + b`` is trained with
cross-entropy (CE) on the labels and, for distillation, with a loss that pulls its logits towards a
teacher's: Hinton's temperature-softened KL between softmax distributions (KD), or the per-class binary
KL (BKL) between the Bernoulli distributions ``sigmoid(z / T)`` of every logit, used by dual-head
knowledge distillation (Yang et al. 2024). All three have closed-form logit gradients
(:prf:ref:`dhkd-prop-grads`), and a linear head turns a logit gradient ``G`` into ``dL/dW = G^T H``,
``dL/db = sum_i G_i`` and ``dL/dH = G W`` (:eq:`dhkd-head`). :func:`ce_bkl_head_cosine` measures whether CE
and BKL pull a shared head in opposite directions (:prf:ref:`dhkd-thm-collapse`), and
:func:`distillation_study` runs the chapter's toy teacher/student comparison with one or two heads.

In the pair-weighting language of this subpackage the head gradient is a sum over (sample, class-vector)
pairs, ``dL/dW_c = sum_i G_ic h_i``: ``G_ic`` is the weight of the pair. Chapter: *Dual-head knowledge
distillation* (:doc:`/book/collapse/dual-head-kd`).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .._torch import require_torch
from .._validate import check_array, check_int, check_labels, check_real, check_size

__all__ = [
    "DISTILLATION_METHODS",
    "DistillationStudy",
    "binary_kl_gradient",
    "binary_kl_loss",
    "binary_kl_loss_torch",
    "ce_bkl_head_cosine",
    "cross_entropy_gradient",
    "cross_entropy_loss",
    "distillation_study",
    "gradient_cosine",
    "head_gradients",
    "kd_gradient",
    "kd_loss",
]

TEMPERATURE_RANGE = (1e-3, 1e6)  #: accepted temperatures
LOGIT_MAX = 1e100  #: largest accepted logit magnitude (``z / T`` and ``T^2`` times a loss stay finite)
#: the four training variants of :func:`distillation_study`
DISTILLATION_METHODS = ("ce", "ce+kd", "ce+bkl shared", "ce+bkl two heads")


def _logits(z, name):
    return check_array(z, name, ndim=2, min_size=1, max_abs=LOGIT_MAX)


def _pair(student_logits, teacher_logits, temperature):
    zs = _logits(student_logits, "student_logits")
    zt = _logits(teacher_logits, "teacher_logits")
    if zs.shape != zt.shape:
        raise ValueError(f"student_logits and teacher_logits must have the same shape, got {zs.shape} and {zt.shape}")
    T = check_real(temperature, "temperature", low=TEMPERATURE_RANGE[0], high=TEMPERATURE_RANGE[1])
    return zs, zt, T


def _log_softmax(Z):
    Z = Z - Z.max(axis=1, keepdims=True)
    return Z - np.log(np.exp(Z).sum(axis=1, keepdims=True))


def _softplus(x):
    return np.logaddexp(0.0, x)


def _sigmoid(x):
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def _labels_for(logits, labels):
    y = np.asarray(labels)
    if y.shape != (logits.shape[0],):
        raise ValueError(f"labels must have shape ({logits.shape[0]},) to match logits, got {y.shape}")
    return check_labels(y, "labels", logits.shape[1])


def cross_entropy_loss(logits, labels) -> float:
    """Mean cross-entropy :eq:`dhkd-ce` of logits against integer labels.

    Parameters
    ----------
    logits : array_like, shape (n, C)
        Finite, magnitude at most ``1e100``.
    labels : array_like of int, shape (n,)
        Classes in ``{0, ..., C - 1}``.

    Returns
    -------
    float
        ``(1/n) sum_i -log softmax(z_i)[y_i] >= 0``.

    Raises
    ------
    ValueError
        For non-finite or too large logits, mismatched shapes or labels outside ``0..C-1``.
    TypeError
        For non-numeric logits or non-integer labels.

    Examples
    --------
    >>> round(cross_entropy_loss([[0.0, 0.0]], [1]), 6)
    0.693147
    """
    Z = _logits(logits, "logits")
    y = _labels_for(Z, labels)
    return float(-np.mean(_log_softmax(Z)[np.arange(y.size), y]))


def cross_entropy_gradient(logits, labels) -> np.ndarray:
    """Gradient of :func:`cross_entropy_loss` in the logits, ``(softmax(z_i) - e_{y_i}) / n`` (:eq:`dhkd-grads`).

    Parameters
    ----------
    logits, labels
        As in :func:`cross_entropy_loss`.

    Returns
    -------
    ndarray, shape (n, C)
        Every row sums to 0; the entry of the label is negative, the others positive.

    Examples
    --------
    >>> cross_entropy_gradient([[0.0, 0.0]], [1]).tolist()
    [[0.5, -0.5]]
    """
    Z = _logits(logits, "logits")
    y = _labels_for(Z, labels)
    G = np.exp(_log_softmax(Z))
    G[np.arange(y.size), y] -= 1.0
    return G / y.size


def kd_loss(student_logits, teacher_logits, *, temperature: float = 4.0) -> float:
    """Temperature-softened KD loss :eq:`dhkd-kd`, ``(T^2/n) sum_i KL(softmax(zt_i/T) || softmax(zs_i/T))``.

    Parameters
    ----------
    student_logits, teacher_logits : array_like, shape (n, C)
        Finite, magnitude at most ``1e100``, the same shape.
    temperature : float, default 4.0
        ``T`` in ``[1e-3, 1e6]``.

    Returns
    -------
    float
        ``>= 0``; unchanged when a constant is added to a row of either argument.

    Raises
    ------
    ValueError
        For non-finite or too large logits, different shapes or ``temperature`` outside its range.
    TypeError
        For non-numeric input.

    Examples
    --------
    >>> kd_loss([[1.0, 2.0]], [[11.0, 12.0]])
    0.0
    """
    zs, zt, T = _pair(student_logits, teacher_logits, temperature)
    ls, lt = _log_softmax(zs / T), _log_softmax(zt / T)
    kl = np.sum(np.exp(lt) * (lt - ls), axis=1)
    return float(T * T * np.mean(np.maximum(kl, 0.0)))


def kd_gradient(student_logits, teacher_logits, *, temperature: float = 4.0) -> np.ndarray:
    """Gradient of :func:`kd_loss` in the student logits, ``(T/n) (softmax(zs/T) - softmax(zt/T))`` (:eq:`dhkd-grads`).

    Parameters
    ----------
    student_logits, teacher_logits, temperature
        As in :func:`kd_loss`.

    Returns
    -------
    ndarray, shape (n, C)
        Every row sums to 0.

    Examples
    --------
    >>> kd_gradient([[0.0, 0.0]], [[0.0, 0.0]]).tolist()
    [[0.0, 0.0]]
    """
    zs, zt, T = _pair(student_logits, teacher_logits, temperature)
    return T * (np.exp(_log_softmax(zs / T)) - np.exp(_log_softmax(zt / T))) / zs.shape[0]


def binary_kl_loss(student_logits, teacher_logits, *, temperature: float = 4.0) -> float:
    """Per-class binary KL :eq:`dhkd-bkl`, ``(T^2/n) sum_ic KL(Bern(sigmoid(zt_ic/T)) || Bern(sigmoid(zs_ic/T)))``.

    Each term equals the Bregman divergence of the softplus, ``sp(b) - sp(a) - sigmoid(a) (b - a)`` with
    ``a = zt/T``, ``b = zs/T`` (:prf:ref:`dhkd-prop-bregman`); it is evaluated in the form whose terms do
    not cancel for large ``|a|``.

    Parameters
    ----------
    student_logits, teacher_logits : array_like, shape (n, C)
        Finite, magnitude at most ``1e100``, the same shape.
    temperature : float, default 4.0
        ``T`` in ``[1e-3, 1e6]``.

    Returns
    -------
    float
        ``>= 0``, and ``0`` only when the logits are equal. Not invariant to adding a constant to a row.

    Raises
    ------
    ValueError
        For non-finite or too large logits, different shapes or ``temperature`` outside its range.
    TypeError
        For non-numeric input.

    Examples
    --------
    >>> round(binary_kl_loss([[0.0]], [[0.0]]), 12), round(binary_kl_loss([[1.0, 2.0]], [[11.0, 12.0]]), 3)
    (0.0, 10.731)
    """
    zs, zt, T = _pair(student_logits, teacher_logits, temperature)
    a, b = zt / T, zs / T
    pos = a >= 0
    with np.errstate(over="ignore"):
        # a >= 0: sp(-b) - sp(-a) + sigmoid(-a) (b - a); a < 0: sp(b) - sp(a) - sigmoid(a) (b - a)
        d = np.where(pos, _softplus(-b) - _softplus(-a) + _sigmoid(-a) * (b - a),
                     _softplus(b) - _softplus(a) - _sigmoid(a) * (b - a))
    return float(T * T * np.sum(np.maximum(d, 0.0)) / zs.shape[0])


def binary_kl_gradient(student_logits, teacher_logits, *, temperature: float = 4.0) -> np.ndarray:
    """Gradient of :func:`binary_kl_loss` in the student logits, ``(T/n) (sigmoid(zs/T) - sigmoid(zt/T))``.

    :eq:`dhkd-grads`. Unlike the CE and KD gradients its rows need not sum to 0.

    Parameters
    ----------
    student_logits, teacher_logits, temperature
        As in :func:`binary_kl_loss`.

    Returns
    -------
    ndarray, shape (n, C)
        Entries bounded by ``T / n`` in magnitude.

    Examples
    --------
    >>> binary_kl_gradient([[0.0]], [[0.0]], temperature=2.0).tolist()
    [[0.0]]
    """
    zs, zt, T = _pair(student_logits, teacher_logits, temperature)
    return T * (_sigmoid(zs / T) - _sigmoid(zt / T)) / zs.shape[0]


def binary_kl_loss_torch(student_logits, teacher_logits, *, temperature: float = 4.0):
    """:func:`binary_kl_loss` on torch tensors, differentiable in ``student_logits``.

    Parameters
    ----------
    student_logits : torch.Tensor, shape (n, C)
        Floating point; finite, magnitude at most ``1e100``.
    teacher_logits : torch.Tensor, shape (n, C)
        The same dtype (treated as a constant: it is detached).
    temperature : float, default 4.0
        ``T`` in ``[1e-3, 1e6]``.

    Returns
    -------
    torch.Tensor
        A scalar.

    Raises
    ------
    TypeError
        If an argument is not a floating-point tensor.
    ValueError
        For different shapes, a tensor that is not 2-D or empty, non-finite or beyond ``1e100`` in magnitude, or
        ``temperature`` outside its range.

    Examples
    --------
    >>> import torch
    >>> zs = torch.tensor([[1.0, 2.0]], dtype=torch.float64, requires_grad=True)
    >>> round(binary_kl_loss_torch(zs, torch.tensor([[11.0, 12.0]], dtype=torch.float64)).item(), 3)
    10.731
    """
    torch = require_torch()
    for name, t in (("student_logits", student_logits), ("teacher_logits", teacher_logits)):
        if not isinstance(t, torch.Tensor) or not t.dtype.is_floating_point:
            raise TypeError(f"{name} must be a floating-point torch.Tensor, got {type(t).__name__}")
        if t.ndim != 2 or t.numel() == 0:
            raise ValueError(f"{name} must be a non-empty 2-D tensor, got shape {tuple(t.shape)}")
        with torch.no_grad():
            if not bool(torch.isfinite(t).all()) or float(t.abs().max()) > LOGIT_MAX:
                raise ValueError(f"{name} must be finite with magnitude at most {LOGIT_MAX:g}")
    if student_logits.shape != teacher_logits.shape:
        raise ValueError(f"student_logits and teacher_logits must have the same shape, got "
                         f"{tuple(student_logits.shape)} and {tuple(teacher_logits.shape)}")
    T = check_real(temperature, "temperature", low=TEMPERATURE_RANGE[0], high=TEMPERATURE_RANGE[1])
    return _bkl_torch(student_logits, teacher_logits.detach().to(student_logits.dtype), T)


def _bkl_torch(zs, zt, T):
    torch = require_torch()
    sp = torch.nn.functional.softplus
    a, b = zt / T, zs / T
    d = torch.where(a >= 0, sp(-b) - sp(-a) + torch.sigmoid(-a) * (b - a), sp(b) - sp(a) - torch.sigmoid(a) * (b - a))
    return T * T * d.sum() / zs.shape[0]


def _kd_torch(zs, zt, T):
    torch = require_torch()
    lt = torch.log_softmax(zt / T, dim=1)
    ls = torch.log_softmax(zs / T, dim=1)
    return T * T * (lt.exp() * (lt - ls)).sum() / zs.shape[0]


def head_gradients(logit_gradient, features, weights) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Chain rule through a linear head ``z = H W^T + b`` (:eq:`dhkd-head`).

    Parameters
    ----------
    logit_gradient : array_like, shape (n, C)
        ``G = dL/dz`` (for instance from :func:`cross_entropy_gradient`); finite.
    features : array_like, shape (n, d)
        ``H``, the head's input; finite.
    weights : array_like, shape (C, d)
        ``W``; finite.

    Returns
    -------
    grad_weights : ndarray, shape (C, d)
        ``G^T H``.
    grad_bias : ndarray, shape (C,)
        ``sum_i G_i``.
    grad_features : ndarray, shape (n, d)
        ``G W``.

    Raises
    ------
    ValueError
        For non-finite entries or shapes that do not match.

    Examples
    --------
    >>> gW, gb, gH = head_gradients([[1.0, -1.0]], [[2.0]], [[0.5], [0.0]])
    >>> gW.tolist(), gb.tolist(), gH.tolist()
    ([[2.0], [-2.0]], [1.0, -1.0], [[0.5]])
    """
    G = check_array(logit_gradient, "logit_gradient", ndim=2, min_size=1)
    H = check_array(features, "features", ndim=2, min_size=1)
    W = check_array(weights, "weights", ndim=2, min_size=1)
    if H.shape[0] != G.shape[0]:
        raise ValueError(f"features and logit_gradient must have the same number of rows, got {H.shape[0]} and "
                         f"{G.shape[0]}")
    if W.shape != (G.shape[1], H.shape[1]):
        raise ValueError(f"weights must have shape ({G.shape[1]}, {H.shape[1]}) to match logit_gradient (columns) "
                         f"and features (columns), got {W.shape}")
    check_size(G.shape[0] * G.shape[1] * H.shape[1], "features", what="products")
    with np.errstate(over="ignore", invalid="ignore"):
        out = G.T @ H, G.sum(axis=0), G @ W
    if not all(np.all(np.isfinite(o)) for o in out):
        raise ValueError("logit_gradient, features and weights are too large: a head gradient overflows")
    return out


def gradient_cosine(a, b) -> float:
    """Cosine between two gradients, flattened: ``<a, b> / (|a| |b|)`` in ``[-1, 1]``.

    Negative means the two losses pull the parameters in conflicting directions (:eq:`dhkd-cos`).

    Parameters
    ----------
    a, b : array_like
        The same shape, finite, neither all zero.

    Returns
    -------
    float

    Raises
    ------
    ValueError
        For different shapes, non-finite entries or a zero vector (its direction is undefined).

    Examples
    --------
    >>> gradient_cosine([1.0, 0.0], [-2.0, 0.0])
    -1.0
    """
    x = check_array(a, "a", min_size=1).ravel()
    y = check_array(b, "b", min_size=1).ravel()
    if np.shape(a) != np.shape(b):
        raise ValueError(f"a and b must have the same shape, got {np.shape(a)} and {np.shape(b)}")
    sx, sy = np.max(np.abs(x)), np.max(np.abs(y))
    if sx == 0 or sy == 0:
        raise ValueError(("a" if sx == 0 else "b") + " must not be all zero (a zero gradient has no direction)")
    x, y = x / sx, y / sy  # scale first: no overflow or underflow in the norms
    return float(np.clip(x @ y / (np.linalg.norm(x) * np.linalg.norm(y)), -1.0, 1.0))


def ce_bkl_head_cosine(features, weights, labels, teacher_logits, *, bias=None, temperature: float = 4.0) -> float:
    """Cosine between the CE and the BKL gradients in the weights of one shared linear head.

    The student logits are ``z = H W^T + b``; the two gradients are ``G_CE^T H`` and ``G_BKL^T H``
    (:eq:`dhkd-head`, :eq:`dhkd-grads`). A negative value is a conflict (:prf:ref:`dhkd-thm-collapse`).

    Parameters
    ----------
    features : array_like, shape (n, d)
        ``H``; finite.
    weights : array_like, shape (C, d)
        ``W``; finite.
    labels : array_like of int, shape (n,)
        Classes in ``{0, ..., C - 1}``.
    teacher_logits : array_like, shape (n, C)
        Finite, magnitude at most ``1e100``.
    bias : array_like, shape (C,), optional
        ``b`` (zero if omitted).
    temperature : float, default 4.0
        ``T`` in ``[1e-3, 1e6]``.

    Returns
    -------
    float
        In ``[-1, 1]``.

    Raises
    ------
    ValueError
        For bad shapes or values, or when one gradient is exactly zero (no direction).

    Examples
    --------
    >>> H = [[1.0, 0.0], [0.0, 1.0]]
    >>> round(ce_bkl_head_cosine(H, [[3.0, -3.0], [-3.0, 3.0]], [0, 1], [[1.0, -1.0], [-1.0, 1.0]]), 6)
    -1.0
    """
    H = check_array(features, "features", ndim=2, min_size=1)
    W = check_array(weights, "weights", ndim=2, min_size=1)
    if W.shape[1] != H.shape[1]:
        raise ValueError(f"weights and features must have the same number of columns, got {W.shape[1]} and "
                         f"{H.shape[1]}")
    b = np.zeros(W.shape[0]) if bias is None else check_array(bias, "bias", ndim=1)
    if b.shape != (W.shape[0],):
        raise ValueError(f"bias must have shape ({W.shape[0]},), got {b.shape}")
    with np.errstate(over="ignore", invalid="ignore"):
        Z = H @ W.T + b
    if not np.all(np.isfinite(Z)) or np.max(np.abs(Z)) > LOGIT_MAX:
        raise ValueError("features, weights and bias give logits beyond 1e100 in magnitude")
    y = np.asarray(labels)
    if y.shape != (H.shape[0],):
        raise ValueError(f"labels must have shape ({H.shape[0]},) to match features, got {y.shape}")
    zt = _logits(teacher_logits, "teacher_logits")
    if zt.shape != Z.shape:
        raise ValueError(f"teacher_logits must have shape {Z.shape} (rows of features, rows of weights), "
                         f"got {zt.shape}")
    g_ce = cross_entropy_gradient(Z, labels)
    g_bkl = binary_kl_gradient(Z, zt, temperature=temperature)
    return gradient_cosine(head_gradients(g_ce, H, W)[0], head_gradients(g_bkl, H, W)[0])


class DistillationStudy(NamedTuple):
    """Result of :func:`distillation_study` (per method, arrays over seeds; ``steps`` the logged steps)."""

    methods: tuple[str, ...]
    accuracy: dict  #: method -> test accuracy per seed, shape (n_seeds,)
    teacher_accuracy: np.ndarray  #: shape (n_seeds,)
    #: method -> cos(CE, BKL) at the main head's weights, shape (n_seeds, n_logs); a zero gradient is logged as 0
    head_cosine: dict
    #: method -> cos(CE, BKL of the head BKL trains) at the backbone, shape (n_seeds, n_logs); zero gradient -> 0
    backbone_cosine: dict
    steps: np.ndarray  #: training steps at which the cosines were logged


def _make_data(seed, n_classes, dim, n_train, n_teacher, n_test, separation):
    from ..datasets import gaussian_mixture_data

    total = n_train + n_teacher + n_test
    counts = np.full(n_classes, total // n_classes)
    counts[: total - counts.sum()] += 1
    data = gaussian_mixture_data(counts, dim, separation=separation, noise=1.0, seed=seed)
    X, y = data.X, data.y
    return (X[:n_train], y[:n_train]), (X[n_train:n_train + n_teacher], y[n_train:n_train + n_teacher]), \
        (X[n_train + n_teacher:], y[n_train + n_teacher:])


def _flat_grad(torch, loss, params):
    gs = torch.autograd.grad(loss, params, retain_graph=True, allow_unused=True)
    return torch.cat([(torch.zeros_like(p) if g is None else g).reshape(-1) for p, g in zip(params, gs, strict=True)])


def _cos(torch, a, b):
    na, nb = a.norm(), b.norm()
    if na == 0 or nb == 0:
        return 0.0
    return float((a @ b) / (na * nb))


def distillation_study(seeds, *, methods=DISTILLATION_METHODS, n_classes: int = 10, dim: int = 32,
                       n_train: int = 200, n_teacher: int = 1000, n_test: int = 500, separation: float = 3.0,
                       teacher_hidden: int = 128, student_hidden: int = 16, temperature: float = 4.0,
                       distill_weight: float = 1.0, steps: int = 150, teacher_steps: int = 200, lr: float = 1e-2,
                       log_every: int = 10) -> DistillationStudy:
    """Toy teacher/student distillation on a Gaussian mixture, with one or two student heads.

    For each seed: a Gaussian mixture (:func:`lossbook.datasets.gaussian_mixture_data`, ``n_classes``
    classes in ``dim`` dimensions, noise 1) gives a teacher set, a small student set and a test set. A
    teacher MLP (``dim -> teacher_hidden -> n_classes``) is trained with CE on the teacher set; its logits on
    the student set are the distillation targets. The student is a backbone ``dim -> student_hidden``
    (ReLU) and a linear main head; each method trains it full-batch with Adam on
    ``CE(z0) + distill_weight * D`` where ``D`` is nothing (``"ce"``), KD on the main head (``"ce+kd"``), BKL on the
    main head (``"ce+bkl shared"``) or BKL on a second linear head (``"ce+bkl two heads"``); prediction
    always uses the main head. Every ``log_every`` steps it records the cosine between the CE and BKL
    gradients in the main head's weights (BKL evaluated on the main head's logits, whether or not it is
    trained there) and the cosine between the CE gradient and the BKL gradient (of the head that BKL
    trains; the main head for the other methods) in the backbone's parameters. The same seed fixes the
    data, the teacher and the student's initialisation for every method (paired comparisons).

    The defaults are those of the chapter's experiment, chosen to run in seconds on one core; they were
    not tuned per method.

    Parameters
    ----------
    seeds : sequence of int
        Non-negative, at least one.
    methods : sequence of str, default :data:`DISTILLATION_METHODS`
        A non-empty subset of :data:`DISTILLATION_METHODS`.
    n_classes : int, default 10
        ``>= 2``.
    dim : int, default 32
        Input dimension ``>= 1``.
    n_train, n_teacher, n_test : int
        Student-set, teacher-set and test-set sizes, each ``>= n_classes``.
    separation : float, default 3.0
        Norm of every class mean, ``>= 0``.
    teacher_hidden, student_hidden : int
        Hidden widths, ``>= 1``.
    temperature : float, default 4.0
        ``T`` of KD and BKL, in ``[1e-3, 1e6]``.
    distill_weight : float, default 1.0
        Weight of the distillation term, ``>= 0``.
    steps, teacher_steps : int
        Full-batch Adam steps for the student and the teacher, ``>= 1``.
    lr : float, default 1e-2
        Adam learning rate, in ``(0, 1]``.
    log_every : int, default 10
        Cosines are logged at steps ``0, log_every, ...`` below ``steps``; ``>= 1``.

    Returns
    -------
    DistillationStudy

    Raises
    ------
    ValueError
        For arguments outside the ranges above, or if a loss becomes non-finite.
    TypeError
        For non-integer sizes or seeds.

    Examples
    --------
    >>> s = distillation_study([0], methods=("ce", "ce+bkl two heads"), n_classes=3, dim=4, n_train=30,
    ...                        n_teacher=60, n_test=30, steps=5, teacher_steps=5, log_every=5)
    >>> sorted(s.accuracy), s.head_cosine["ce"].shape
    (['ce', 'ce+bkl two heads'], (1, 1))
    """
    torch = require_torch()
    try:
        seeds = [check_int(s, "seeds", low=0, high=2**32 - 1) for s in (seeds if not isinstance(seeds, str) else 0)]
    except TypeError as exc:
        raise TypeError(f"seeds must be a sequence of non-negative integers ({exc})") from None
    if not seeds:
        raise ValueError("seeds must hold at least one seed")
    if isinstance(methods, str):
        raise TypeError("methods must be a sequence of method names, not a single string")
    methods = tuple(methods)
    if not methods or any(not isinstance(m, str) or m not in DISTILLATION_METHODS for m in methods):
        raise ValueError(f"methods must be a non-empty subset of {DISTILLATION_METHODS}, got {methods!r}")
    C = check_int(n_classes, "n_classes", low=2, high=1000)
    dim = check_int(dim, "dim", low=1, high=10_000)
    sizes = [check_int(v, k, low=C, high=10**6) for k, v in
             (("n_train", n_train), ("n_teacher", n_teacher), ("n_test", n_test))]
    check_size(sum(sizes) * dim, "n_train", limit=10**7, what="input values")
    separation = check_real(separation, "separation", low=0.0, high=1e6)
    th = check_int(teacher_hidden, "teacher_hidden", low=1, high=10_000)
    sh = check_int(student_hidden, "student_hidden", low=1, high=10_000)
    T = check_real(temperature, "temperature", low=TEMPERATURE_RANGE[0], high=TEMPERATURE_RANGE[1])
    lam = check_real(distill_weight, "distill_weight", low=0.0, high=1e6)
    steps = check_int(steps, "steps", low=1, high=100_000)
    teacher_steps = check_int(teacher_steps, "teacher_steps", low=1, high=100_000)
    lr = check_real(lr, "lr", low=0.0, low_open=True, high=1.0)
    log_every = check_int(log_every, "log_every", low=1)
    log_at = np.arange(0, steps, log_every)

    nn, F = torch.nn, torch.nn.functional
    acc = {m: [] for m in methods}
    head_cos = {m: [] for m in methods}
    back_cos = {m: [] for m in methods}
    t_acc = []
    old_threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        for seed in seeds:
            (Xs, ys), (Xt, yt), (Xe, ye) = _make_data(seed, C, dim, *sizes, separation)
            Xs_, Xt_, Xe_ = (torch.tensor(a, dtype=torch.float32) for a in (Xs, Xt, Xe))
            ys_, yt_ = torch.as_tensor(ys), torch.as_tensor(yt)
            torch.manual_seed(seed)
            teacher = nn.Sequential(nn.Linear(dim, th), nn.ReLU(), nn.Linear(th, C))
            opt = torch.optim.Adam(teacher.parameters(), lr=lr)
            for _ in range(teacher_steps):
                opt.zero_grad()
                loss = F.cross_entropy(teacher(Xt_), yt_)
                loss.backward()
                opt.step()
            with torch.no_grad():
                zt = teacher(Xs_)
                t_acc.append(float((teacher(Xe_).argmax(1).numpy() == ye).mean()))
            for m in methods:
                torch.manual_seed(10_000 + seed)
                backbone = nn.Sequential(nn.Linear(dim, sh), nn.ReLU())
                head0 = nn.Linear(sh, C)
                head1 = nn.Linear(sh, C)
                head1.load_state_dict(head0.state_dict())  # the second head starts as a copy of the main one
                params = list(backbone.parameters()) + list(head0.parameters())
                if m == "ce+bkl two heads":
                    params += list(head1.parameters())
                opt = torch.optim.Adam(params, lr=lr)
                bparams = list(backbone.parameters())
                hc, bc = [], []
                for step in range(steps):
                    feats = backbone(Xs_)
                    z0 = head0(feats)
                    ce = F.cross_entropy(z0, ys_)
                    if m == "ce":
                        total = ce
                    elif m == "ce+kd":
                        total = ce + lam * _kd_torch(z0, zt, T)
                    elif m == "ce+bkl shared":
                        total = ce + lam * _bkl_torch(z0, zt, T)
                    else:
                        total = ce + lam * _bkl_torch(head1(feats), zt, T)
                    if not torch.isfinite(total):
                        raise ValueError(f"the loss became non-finite at step {step} (method {m!r}); lower lr")
                    if step in log_at:
                        bkl0 = _bkl_torch(z0, zt, T)
                        bkl_d = _bkl_torch(head1(feats), zt, T) if m == "ce+bkl two heads" else bkl0
                        hc.append(_cos(torch, _flat_grad(torch, ce, [head0.weight]),
                                       _flat_grad(torch, bkl0, [head0.weight])))
                        bc.append(_cos(torch, _flat_grad(torch, ce, bparams), _flat_grad(torch, bkl_d, bparams)))
                    opt.zero_grad()
                    total.backward()
                    opt.step()
                with torch.no_grad():
                    acc[m].append(float((head0(backbone(Xe_)).argmax(1).numpy() == ye).mean()))
                head_cos[m].append(hc)
                back_cos[m].append(bc)
    finally:
        torch.set_num_threads(old_threads)
    return DistillationStudy(methods, {m: np.array(v) for m, v in acc.items()}, np.array(t_acc),
                             {m: np.array(v) for m, v in head_cos.items()},
                             {m: np.array(v) for m, v in back_cos.items()}, log_at)
