"""Z-loss on explicit output vectors: values, gradient and a PyTorch twin.

For outputs ``o`` in R^D and target ``c``: ``mu = mean(o)``, ``sigma = sqrt(mean((o - mu)^2))``
(population standard deviation), ``z_c = (o_c - mu) / sigma`` and
``L = softplus(a (b - z_c)) / a`` (chapter ``book/consistency/z-loss``, :eq:`zl-def`).
"""

from __future__ import annotations

import numpy as np
from scipy.special import expit

from .._torch import require_torch
from .._validate import check_array, check_labels, check_real

__all__ = ["A_MAX", "A_MIN", "B_MAX", "z_loss", "z_loss_grad", "z_loss_torch", "z_scores"]

#: accepted range of the softplus sharpness ``a`` (a documented limit: ``log(2) / a`` must stay far
#: from the float range and ``a (b - z)`` must not overflow)
A_MIN = 1e-6
A_MAX = 1e6
#: accepted range of the offset ``b``: ``|b| <= B_MAX``
B_MAX = 1e6


def _check_ab(a, b):
    a = check_real(a, "a", low=A_MIN, high=A_MAX)
    b = check_real(b, "b", low=-B_MAX, high=B_MAX)
    return a, b


def _check_outputs_labels(outputs, labels):
    o = check_array(outputs, "outputs", ndim=2, min_size=1)
    if o.shape[1] < 2:
        raise ValueError(f"outputs must have at least 2 columns (classes), got shape {o.shape}")
    y = check_labels(labels, "labels", o.shape[1])
    if y.shape != (o.shape[0],):
        raise ValueError(f"labels must have shape ({o.shape[0]},) to match outputs, got {y.shape}")
    return o, y


def _standardize(o):
    """Scaled rows, their z-scores and the base-2 exponent of each row's scale.

    Each row is multiplied by ``2**-k`` so that its largest modulus lies in ``[0.5, 1)``; this is
    exact for normal numbers and z-scores are scale invariant, so huge and subnormal rows give the
    same z as moderate ones. The mean gets one correction pass (``mu += mean(o - mu)``).
    """
    const = np.all(o == o[:, :1], axis=1)
    if np.any(const):
        i = int(np.flatnonzero(const)[0])
        raise ValueError(f"outputs row {i} is constant: its standard deviation is 0 and the z-score is undefined "
                         "(the Z-loss needs rows with at least two distinct values)")
    k = np.frexp(np.max(np.abs(o), axis=1))[1]
    s = np.ldexp(o, -k[:, None])
    mu = s.mean(axis=1, keepdims=True)
    mu += (s - mu).mean(axis=1, keepdims=True)
    c = s - mu
    sig = np.sqrt(np.mean(c * c, axis=1))
    if np.any(sig == 0):  # only when the spread is lost below the subnormal range after scaling
        i = int(np.flatnonzero(sig == 0)[0])
        raise ValueError(f"outputs row {i}: the spread of the row underflows, its standard deviation is 0")
    return c / sig[:, None], sig, k


def z_scores(outputs):
    """Row-wise z-scores ``(o_k - mu) / sigma`` with the population standard deviation, :eq:`zl-def`.

    Parameters
    ----------
    outputs : array_like, shape (n, D)
        Finite real outputs, ``D >= 2``; no row may be constant.

    Returns
    -------
    numpy.ndarray, shape (n, D)
        Each row has mean 0 and population variance 1.

    Raises
    ------
    ValueError
        if ``outputs`` is not a finite 2-D array with ``D >= 2`` or a row is constant (sigma = 0).
    TypeError
        if ``outputs`` is not numeric.

    Examples
    --------
    >>> z_scores([[1.0, 3.0]])
    array([[-1.,  1.]])
    """
    o = check_array(outputs, "outputs", ndim=2, min_size=1)
    if o.shape[1] < 2:
        raise ValueError(f"outputs must have at least 2 columns (classes), got shape {o.shape}")
    return _standardize(o)[0]


def z_loss(outputs, labels, a=1.0, b=0.0):
    """Per-example Z-loss ``softplus(a (b - z_c)) / a``, :eq:`zl-def`.

    ``sigma`` is the population standard deviation of each output row (divisor ``D``). The loss is
    invariant to ``o -> alpha o + beta`` with ``alpha > 0`` (:prf:ref:`zl-thm-inv`) and bounded
    below by ``softplus(a (b - sqrt(D - 1))) / a`` (:prf:ref:`zl-thm-bound`). For ``D = 2`` every
    z-score vector is ``(1, -1)`` or ``(-1, 1)``: the loss takes two values and its gradient is zero, so
    it cannot train a binary classifier.

    Parameters
    ----------
    outputs : array_like, shape (n, D)
        Finite real outputs (any magnitude up to the float range), ``D >= 2``.
    labels : array_like of int, shape (n,)
        Target classes in ``{0, ..., D-1}``.
    a : float, default 1.0
        Sharpness of the softplus, in ``[A_MIN, A_MAX] = [1e-6, 1e6]``.
    b : float, default 0.0
        Offset (in effect a target z-score), ``|b| <= B_MAX = 1e6``.

    Returns
    -------
    numpy.ndarray, shape (n,)
        The loss of each example, positive and finite.

    Raises
    ------
    ValueError
        if a row of ``outputs`` is constant (its standard deviation is 0, so ``z`` is undefined:
        such rows are refused, not patched with an epsilon), if ``D < 2``, values are not finite,
        labels are out of range or ``a``, ``b`` are outside their ranges.
    TypeError
        if ``labels`` are not integers or ``outputs`` is not numeric.

    Examples
    --------
    >>> float(z_loss([[0.0, 1.0]], [1], a=1.0, b=0.0)[0])  # z_c = 1
    0.31326168751822286
    >>> bool(np.allclose(z_loss([[0.0, 1.0, 5.0]], [1]), z_loss([[7.0, 9.5, 19.5]], [1])))
    True
    """
    a, b = _check_ab(a, b)
    o, y = _check_outputs_labels(outputs, labels)
    z = _standardize(o)[0]
    zc = z[np.arange(o.shape[0]), y]
    return np.logaddexp(0.0, a * (b - zc)) / a


def z_loss_grad(outputs, labels, a=1.0, b=0.0):
    """Gradient of the per-example Z-loss with respect to the outputs, :eq:`zl-grad`.

    ``dL/do_k = -sigmoid(a (b - z_c)) (delta_kc - 1/D - z_c z_k / D) / sigma``; every row is
    orthogonal to the all-ones vector and to the output row itself (:prf:ref:`zl-thm-inv`).

    Parameters
    ----------
    outputs, labels, a, b
        As in :func:`z_loss`.

    Returns
    -------
    numpy.ndarray, shape (n, D)
        Row ``i`` is the gradient of the loss of example ``i``.

    Raises
    ------
    ValueError
        as :func:`z_loss`, and if ``1 / sigma`` overflows (a row whose spread is below about
        ``1e-308``, where the true gradient exceeds the float range).
    TypeError
        as :func:`z_loss`.

    Examples
    --------
    >>> g = z_loss_grad([[0.0, 1.0, 2.0]], [2])
    >>> g.round(6)
    array([[-0.046357,  0.092714, -0.046357]])
    >>> bool(abs(g.sum()) < 1e-15 and abs(g @ [0.0, 1.0, 2.0]) < 1e-15)  # orthogonal to 1 and to o
    True
    >>> z_loss_grad([[0.0, 2.0]], [1])  # D = 2: z = (-1, 1) for any such row, the loss is flat
    array([[-0., -0.]])
    """
    a, b = _check_ab(a, b)
    o, y = _check_outputs_labels(outputs, labels)
    z, sig, k = _standardize(o)
    n, D = o.shape
    rows = np.arange(n)
    zc = z[rows, y]
    with np.errstate(over="ignore"):
        inv_sigma = np.ldexp(1.0 / sig, -k)  # 1 / (true sigma) = 2**-k / sigma_scaled
    if not np.all(np.isfinite(inv_sigma)):
        raise ValueError("outputs: a row's standard deviation is so small that the gradient (~1/sigma) overflows")
    w = -expit(a * (b - zc)) * inv_sigma
    g = (-1.0 / D - zc[:, None] * z / D)
    g[rows, y] += 1.0
    return g * w[:, None]


def z_loss_torch(outputs, labels, a=1.0, b=0.0):
    """PyTorch Z-loss (differentiable), per example; the twin of :func:`z_loss`, :eq:`zl-def`.

    Parameters
    ----------
    outputs : torch.Tensor, shape (n, D)
        Finite floating outputs, ``D >= 2``, no constant row.
    labels : torch.Tensor of int, shape (n,)
        Target classes in ``{0, ..., D-1}``.
    a, b : float
        As in :func:`z_loss`.

    Returns
    -------
    torch.Tensor, shape (n,)
        Differentiable per-example losses (mean them for training).

    Raises
    ------
    ValueError
        if ``outputs`` has the wrong shape, non-finite values or a row with zero standard
        deviation, if labels are out of range, or ``a``, ``b`` are outside their ranges.
    TypeError
        if ``outputs``/``labels`` are not tensors of the right kind.

    Examples
    --------
    >>> import torch
    >>> float(z_loss_torch(torch.tensor([[0.0, 1.0]], dtype=torch.float64), torch.tensor([1]))[0])
    0.31326168751822286
    """
    torch = require_torch()
    a, b = _check_ab(a, b)
    if not isinstance(outputs, torch.Tensor) or not outputs.is_floating_point():
        raise TypeError("outputs must be a floating-point torch.Tensor")
    if not isinstance(labels, torch.Tensor) or labels.dtype not in (torch.int64, torch.int32):
        raise TypeError("labels must be an integer torch.Tensor (int64 or int32)")
    if outputs.ndim != 2 or outputs.shape[0] < 1 or outputs.shape[1] < 2:
        raise ValueError(f"outputs must have shape (n, D) with n >= 1 and D >= 2, got {tuple(outputs.shape)}")
    if labels.shape != (outputs.shape[0],):
        raise ValueError(f"labels must have shape ({outputs.shape[0]},) to match outputs, got {tuple(labels.shape)}")
    if not bool(torch.isfinite(outputs).all()):
        raise ValueError("outputs must contain only finite values (found NaN or inf)")
    if int(labels.min()) < 0 or int(labels.max()) >= outputs.shape[1]:
        raise ValueError(f"labels must lie in [0, {outputs.shape[1] - 1}]")
    # the same exact power-of-two row scaling as the NumPy version (z is scale invariant)
    # (multiply by exp2(-e): torch.ldexp passes no gradient back to its input in torch 2.13)
    exponent = torch.frexp(outputs.detach().abs().amax(dim=1, keepdim=True))[1]
    s = outputs * torch.exp2(-exponent.to(outputs.dtype))
    c = s - s.mean(dim=1, keepdim=True)
    var = (c * c).mean(dim=1)
    if bool((var == 0).any()):
        raise ValueError("outputs has a row with zero standard deviation; the z-score is undefined")
    zc = c.gather(1, labels.long()[:, None]).squeeze(1) / var.sqrt()
    return torch.nn.functional.softplus(a * (b - zc)) / a
