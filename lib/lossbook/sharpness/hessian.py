"""Top eigenvalue of a loss Hessian: power iteration on Hessian-vector products, and a dense reference.

A Hessian-vector product :math:`Hv = \\nabla_w (\\nabla_w L(w) \\cdot v)` costs about two gradient
evaluations (PyTorch double backward) and never forms :math:`H`; the dense reference builds all
``n`` columns and calls ``eigvalsh``. Chapter ``book/compression/saf``, :eq:`saf-hvp` and
:prf:ref:`saf-thm-power`.

``loss_fn`` everywhere is a callable mapping a 1-D float64 ``torch.Tensor`` of parameters to a scalar
tensor, differentiable twice (PyTorch autograd).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import numpy as np

from lossbook._rng import as_generator
from lossbook._torch import require_torch
from lossbook._validate import check_array, check_int, check_real, check_size

__all__ = [
    "MAX_DENSE_PARAMS",
    "HessianEigen",
    "dense_hessian",
    "dense_top_eigenvalue",
    "hessian_vector_product",
    "top_hessian_eigenvalue",
]

#: largest parameter count :func:`dense_hessian` accepts (n^2 float64 entries, n HVPs)
MAX_DENSE_PARAMS = 5000


class HessianEigen(NamedTuple):
    """Result of :func:`top_hessian_eigenvalue`."""

    eigenvalue: float  # largest (algebraic) eigenvalue of the Hessian
    eigenvector: np.ndarray  # unit vector, shape (n,)
    iterations: int  # power-iteration steps over both phases
    hvp_count: int  # Hessian-vector products used
    converged: bool  # relative change of the Rayleigh quotient fell below tol
    residual: float  # |H v - lambda v| / max(|lambda|, |H v|): how good the eigenpair is


def _check_loss_fn(loss_fn) -> None:
    if not callable(loss_fn):
        raise TypeError(f"loss_fn must be callable (a function of a 1-D torch tensor), got {type(loss_fn).__name__}")


def _params(params, name="params"):
    torch = require_torch()
    if isinstance(params, torch.Tensor):
        if params.is_complex():
            raise TypeError(f"{name} must be real, got a complex tensor")
        params = params.detach().cpu().numpy()
    w = check_array(params, name, ndim=1, min_size=1)
    check_size(w.size, name)
    return torch.as_tensor(w, dtype=torch.float64)


def _scalar_loss(loss_fn, w):
    torch = require_torch()
    out = loss_fn(w)
    if not isinstance(out, torch.Tensor) or out.numel() != 1:
        raise TypeError(f"loss_fn must return a scalar torch.Tensor, got {type(out).__name__}")
    if not out.requires_grad:
        raise ValueError("loss_fn must return a tensor that depends on its argument (requires_grad is False)")
    if not torch.isfinite(out.detach()).all():
        raise ValueError(f"loss_fn returned a non-finite loss ({float(out.detach())}) at params")
    return out.reshape(())


def _gradient_fn(loss_fn, w0):
    """Gradient at ``w0`` kept in the graph, so that products with it can be differentiated again."""
    torch = require_torch()
    w = w0.clone().requires_grad_(True)
    loss = _scalar_loss(loss_fn, w)
    (g,) = torch.autograd.grad(loss, w, create_graph=True)
    return w, g


def _hvp(w, g, v):
    torch = require_torch()
    if not g.requires_grad:  # loss linear in w: the Hessian is zero
        return torch.zeros_like(v)
    (hv,) = torch.autograd.grad(g, w, grad_outputs=v, retain_graph=True, allow_unused=True)
    hv = torch.zeros_like(v) if hv is None else hv.detach()
    if not torch.isfinite(hv).all():
        raise ValueError("the Hessian-vector product overflowed (non-finite) at params")
    return hv


def hessian_vector_product(loss_fn: Callable, params, vector) -> np.ndarray:
    """Hessian-vector product :eq:`saf-hvp` by double backward.

    Parameters
    ----------
    loss_fn : callable
        Scalar loss of a 1-D float64 torch tensor, twice differentiable by autograd.
    params : array_like or torch.Tensor, shape (n,)
        Point at which the Hessian is taken (finite).
    vector : array_like, shape (n,)
        Direction (finite).

    Returns
    -------
    numpy.ndarray, shape (n,)
        :math:`\\nabla^2 L(w)\\, v`.

    Raises
    ------
    TypeError
        if ``loss_fn`` is not callable or does not return a scalar tensor.
    ValueError
        if the shapes differ, an input is non-finite, or the loss or the product is non-finite (the
        product overflowed the float range).

    Examples
    --------
    >>> import numpy as np
    >>> f = lambda w: (w[0] ** 2) * 1.5 + w[0] * w[1]
    >>> hessian_vector_product(f, [1.0, 2.0], [1.0, 0.0])
    array([3., 1.])
    """
    torch = require_torch()
    _check_loss_fn(loss_fn)
    w0 = _params(params)
    v = check_array(vector, "vector", ndim=1)
    if v.shape != tuple(w0.shape):
        raise ValueError(f"vector must have the shape of params {tuple(w0.shape)}, got {v.shape}")
    w, g = _gradient_fn(loss_fn, w0)
    scale = float(np.max(np.abs(v))) if v.size else 0.0
    if scale == 0.0:
        return np.zeros_like(v)
    # H is linear: apply it to v / max|v| and scale back, so a huge v cannot overflow inside autograd
    hv = _hvp(w, g, torch.as_tensor(v / scale, dtype=torch.float64)).numpy()
    with np.errstate(over="ignore"):
        out = hv * scale
    if not np.all(np.isfinite(out)):
        raise ValueError("the Hessian-vector product overflowed (non-finite) for this vector")
    return out


def dense_hessian(loss_fn: Callable, params) -> np.ndarray:
    """The full Hessian, one column per Hessian-vector product, symmetrised (the dense reference).

    Parameters
    ----------
    loss_fn : callable
        As in :func:`hessian_vector_product`.
    params : array_like or torch.Tensor, shape (n,)
        Point, with ``n <= MAX_DENSE_PARAMS``.

    Returns
    -------
    numpy.ndarray, shape (n, n)

    Raises
    ------
    ValueError
        if ``n`` exceeds :data:`MAX_DENSE_PARAMS` or the loss is non-finite.
    TypeError
        if ``loss_fn`` is not callable.

    Examples
    --------
    >>> f = lambda w: w[0] ** 2 + 3 * w[0] * w[1]
    >>> dense_hessian(f, [0.5, -1.0])
    array([[2., 3.],
           [3., 0.]])
    """
    torch = require_torch()
    _check_loss_fn(loss_fn)
    w0 = _params(params)
    n = w0.numel()
    if n > MAX_DENSE_PARAMS:
        raise ValueError(f"params has {n} entries; dense_hessian accepts at most MAX_DENSE_PARAMS={MAX_DENSE_PARAMS}")
    w, g = _gradient_fn(loss_fn, w0)
    eye = torch.eye(n, dtype=torch.float64)
    H = np.stack([_hvp(w, g, eye[j]).numpy() for j in range(n)], axis=1)
    H = 0.5 * (H + H.T)
    if not np.all(np.isfinite(H)):
        raise ValueError("the Hessian overflowed (non-finite) at params")
    return H


def dense_top_eigenvalue(loss_fn: Callable, params) -> float:
    """Largest eigenvalue of :func:`dense_hessian` by ``numpy.linalg.eigvalsh`` (the reference).

    Parameters
    ----------
    loss_fn : callable
        As in :func:`hessian_vector_product`.
    params : array_like or torch.Tensor, shape (n,)
        Point, with ``n <= MAX_DENSE_PARAMS``.

    Returns
    -------
    float

    Raises
    ------
    ValueError, TypeError
        as :func:`dense_hessian`.

    Examples
    --------
    >>> f = lambda w: w[0] ** 2 + 3 * w[0] * w[1]
    >>> round(dense_top_eigenvalue(f, [0.0, 0.0]), 6)  # eigenvalues 1 -+ sqrt(10)
    4.162278
    """
    return float(np.linalg.eigvalsh(dense_hessian(loss_fn, params))[-1])


def _power(apply, v, max_iter, tol):
    """Power iteration on ``apply``; returns (Rayleigh quotient, vector, steps, converged)."""
    lam = 0.0
    for k in range(1, max_iter + 1):
        hv = apply(v)
        lam_new = float(np.dot(v, hv))
        norm = float(np.linalg.norm(hv))
        if norm == 0.0:  # v lies in the null space: every eigenvalue seen so far is 0
            return 0.0, v, k, True
        v = hv / norm
        if k > 1 and abs(lam_new - lam) <= tol * max(abs(lam_new), 1e-300):
            return lam_new, v, k, True
        lam = lam_new
    return lam, v, max_iter, False


def top_hessian_eigenvalue(loss_fn: Callable, params, *, max_iter: int = 200, tol: float = 1e-6,
                           seed=0) -> HessianEigen:
    """Largest eigenvalue of the loss Hessian by power iteration on Hessian-vector products.

    Phase 1 iterates :math:`v \\leftarrow Hv/\\lVert Hv\\rVert` from a random unit vector; its Rayleigh
    quotient tends to the eigenvalue of largest *modulus*, :math:`\\mu` (:prf:ref:`saf-thm-power`). If
    :math:`\\mu < 0`, phase 2 iterates on :math:`H - \\mu I`, whose dominant eigenvalue is
    :math:`\\lambda_{\\max} - \\mu \\ge 0`, so the result is always the largest *algebraic* eigenvalue.

    Parameters
    ----------
    loss_fn : callable
        As in :func:`hessian_vector_product`.
    params : array_like or torch.Tensor, shape (n,)
        Point at which the Hessian is taken.
    max_iter : int, default 200
        Steps per phase, in ``[1, 10000]``.
    tol : float, default 1e-6
        Stop when the Rayleigh quotient changes by at most ``tol`` relative to itself, in ``[0, 1)``.
    seed : int, SeedSequence or Generator, default 0
        Starting vector.

    Returns
    -------
    HessianEigen

    Raises
    ------
    TypeError
        if ``loss_fn`` is not callable or does not return a scalar tensor.
    ValueError
        if an argument is out of range or the loss or a product is non-finite.

    Examples
    --------
    >>> f = lambda w: 2.0 * w[0] ** 2 + 0.5 * w[1] ** 2 - w[2] ** 2
    >>> r = top_hessian_eigenvalue(f, [1.0, 1.0, 1.0], tol=1e-12, max_iter=500)
    >>> round(r.eigenvalue, 8), r.converged
    (4.0, True)
    """
    torch = require_torch()
    _check_loss_fn(loss_fn)
    w0 = _params(params)
    max_iter = check_int(max_iter, "max_iter", low=1, high=10_000)
    tol = check_real(tol, "tol", low=0.0, high=1.0, high_open=True)
    rng = as_generator(seed)
    w, g = _gradient_fn(loss_fn, w0)
    count = 0

    def apply(v, shift=0.0):
        nonlocal count
        count += 1
        hv = _hvp(w, g, torch.as_tensor(v, dtype=torch.float64)).numpy()
        return hv - shift * v

    v0 = rng.standard_normal(w0.numel())
    v0 /= np.linalg.norm(v0)
    mu, v, it, conv = _power(apply, v0, max_iter, tol)
    lam = mu
    if mu < 0:
        nu, v, it2, conv = _power(lambda u: apply(u, mu), v0, max_iter, tol)
        lam, it = nu + mu, it + it2
    hv = apply(v)
    scale = max(abs(lam), float(np.linalg.norm(hv)))
    residual = float(np.linalg.norm(hv - lam * v) / scale) if scale > 0 else 0.0
    return HessianEigen(float(lam), v, it, count, bool(conv), residual)
