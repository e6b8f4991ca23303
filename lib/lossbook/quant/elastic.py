r"""Elastic quantisation (chapter *EQ-Net — why uniform-like weights quantise well at every bit-width*).

Three pieces, none of them a quantiser (the quantiser is :func:`lossbook.quant.rtn_quantize`):

* the exact mean-squared error of nearest-level quantisation of a zero-mean uniform, Gaussian or Laplace
  variable, on an arbitrary grid (:func:`grid_quantization_mse`) and on the uniform ``b``-bit grid with clipping
  range ``[-c, c]``, split into granular and overload parts (:func:`uniform_quantizer_mse`), :eq:`eqn-cell`;
* the weight-distribution regulariser of EQ-Net (kurtosis target 1.8 and zero skewness, :func:`wdr_loss`,
  :eq:`eqn-wdr`);
* the progressive (sandwich-chain) distillation loss between subnets (:func:`gpg_loss`, :eq:`eqn-gpg`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
from scipy.special import gammainc, ndtr

from .._torch import require_torch
from .._validate import check_array, check_choice, check_int, check_real

__all__ = ["LAWS", "MAX_CLIP_RATIO", "QuantizerMSE", "gpg_loss", "grid_quantization_mse", "uniform_quantizer_mse",
           "wdr_loss"]

#: The weight laws with a closed-form cell error, all zero-mean and parametrised by their standard deviation.
LAWS = ("uniform", "gaussian", "laplace")

#: Largest ``clip / sigma`` (or ``max |level| / sigma``) accepted: beyond it every grid of at most 2**12 levels
#: leaves the whole distribution inside one cell, and the standardised levels' squares would approach the
#: float range.
MAX_CLIP_RATIO = 1e6

_SQRT3 = np.sqrt(3.0)
_INV_SQRT2PI = 1.0 / np.sqrt(2.0 * np.pi)


class QuantizerMSE(NamedTuple):
    """Mean-squared error of the uniform ``b``-bit quantiser on ``[-c, c]`` (:func:`uniform_quantizer_mse`)."""

    mse: float
    """``E[(X - Q(X))^2]`` = ``granular + overload``."""
    granular: float
    """The part from ``|X| <= c`` (rounding inside the range)."""
    overload: float
    """The part from ``|X| > c`` (clipping to the end levels)."""
    step: float
    """Grid step ``Delta = 2c / (2^b - 1)``, in the units of ``clip``."""


def _phi(x):
    with np.errstate(over="ignore", under="ignore"):
        return _INV_SQRT2PI * np.exp(-0.5 * np.square(x))


_GL_NODES, _GL_WEIGHTS = np.polynomial.legendre.leggauss(12)
#: Gaussian cells narrower than this (in units of sigma) are integrated by 12-point Gauss-Legendre instead of the
#: antiderivative, whose two terms cancel like (1 + q^2) 12 / h^2 there; the rule's error on a cell of width
#: h <= 1 is far below rounding (the integrand is a quadratic times an entire function).
_GAUSS_NARROW = 1.0


def _cells_gaussian(a, b, q):
    r"""``int_a^b (x - q)^2 phi(x) dx`` for a standard normal, per cell (``a <= b``, ends may be infinite).

    Antiderivative ``(1 + q^2) Phi(x) - (x - 2q) phi(x)``; the mass ``Phi(b) - Phi(a)`` is formed from the tail
    on the side away from zero, so that far cells keep their relative accuracy. Narrow finite cells use
    Gauss-Legendre (see ``_GAUSS_NARROW``).
    """
    upper = a >= 0
    mass = np.where(upper, ndtr(-a) - ndtr(-b), ndtr(b) - ndtr(a))
    with np.errstate(invalid="ignore", over="ignore"):
        fa = np.where(np.isinf(a), 0.0, (a - 2 * q) * _phi(a))
        fb = np.where(np.isinf(b), 0.0, (b - 2 * q) * _phi(b))
        out = (1.0 + q * q) * mass - (fb - fa)
        h = b - a
        narrow = np.isfinite(h) & (h <= _GAUSS_NARROW)
        an, hn, qn = np.where(narrow, a, 0.0), np.where(narrow, h, 0.0), np.where(narrow, q, 0.0)
        x = an[:, None] + 0.5 * hn[:, None] * (_GL_NODES[None, :] + 1.0)
        gl = 0.5 * hn * np.sum(_GL_WEIGHTS[None, :] * (x - qn[:, None]) ** 2 * _phi(x), axis=1)
    out = np.where(narrow, gl, out)
    # a cell with no representable mass and density contributes nothing (avoids 0 * inf for far levels)
    return np.where((mass == 0) & (fa == 0) & (fb == 0) & ~narrow, 0.0, out)


def _half_laplace(a, b, q, beta):
    r"""``int_a^b (x - q)^2 e^{-x/beta} / (2 beta) dx`` for ``0 <= a <= b <= inf``.

    With ``x = a + t``, ``u = a - q`` and ``h = b - a`` it is
    ``e^{-a/beta} / (2 beta) (u^2 I_0 + 2 u I_1 + I_2)``, ``I_k = int_0^h t^k e^{-t/beta} dt
    = beta^{k+1} k! P(k+1, h/beta)`` (regularised lower incomplete gamma): no cancellation of order one
    against ``h^3`` on narrow cells, as the plain antiderivative would have.
    """
    with np.errstate(invalid="ignore", over="ignore", under="ignore"):
        h = b - a
        r = np.where(np.isinf(h), np.inf, h / beta)
        i0 = beta * gammainc(1.0, r)
        i1 = beta**2 * gammainc(2.0, r)
        i2 = 2.0 * beta**3 * gammainc(3.0, r)
        u = a - q
        inner = u * u * i0 + 2.0 * u * i1 + i2
        out = np.exp(-a / beta) / (2.0 * beta) * inner
    return np.where((h == 0) | (np.exp(-a / beta) == 0), 0.0, out)


def _cells_laplace(a, b, q):
    """Cell errors for a Laplace law of unit variance (scale ``beta = 1/sqrt(2)``), split at zero."""
    beta = 1.0 / np.sqrt(2.0)
    pos = _half_laplace(np.maximum(a, 0.0), np.maximum(b, 0.0), q, beta)
    neg = _half_laplace(np.maximum(-b, 0.0), np.maximum(-a, 0.0), -q, beta)  # mirror: x -> -x, q -> -q
    return pos + neg


def _cells_uniform(a, b, q):
    """Cell errors for the uniform law on ``[-sqrt 3, sqrt 3]`` (unit variance)."""
    lo = np.clip(a, -_SQRT3, _SQRT3)
    hi = np.clip(b, -_SQRT3, _SQRT3)
    u, v = hi - q, lo - q
    # (u^3 - v^3) / (6 h) written as a product: no cancellation when q lies in the cell
    return (hi - lo) * (u * u + u * v + v * v) / (6.0 * _SQRT3)


_CELLS = {"uniform": _cells_uniform, "gaussian": _cells_gaussian, "laplace": _cells_laplace}


def _nearest_cells(levels):
    """Cells ``(a, b, q)`` of nearest-level rounding onto sorted distinct ``levels`` (midpoint thresholds)."""
    t = 0.5 * (levels[:-1] + levels[1:])
    a = np.concatenate([[-np.inf], t])
    b = np.concatenate([t, [np.inf]])
    return a, b, levels


def _scaled(m: float, sigma: float) -> float:
    # sigma^2 * m, formed as (sigma sqrt(m))^2 so that a tiny sigma does not underflow before a large m multiplies it
    with np.errstate(over="ignore"):  # beyond the float range the error is inf (documented)
        return float((sigma * np.sqrt(max(m, 0.0))) ** 2)


def grid_quantization_mse(levels, law: str = "gaussian", sigma: float = 1.0) -> float:
    r"""Exact mean-squared error of rounding ``X`` to the nearest of ``levels``, :eq:`eqn-cell`.

    ``X`` is zero-mean with standard deviation ``sigma`` and law ``uniform`` (on ``[-sqrt 3 sigma, sqrt 3
    sigma]``), ``gaussian`` or ``laplace`` (scale ``sigma / sqrt 2``). Each cell between consecutive midpoints
    contributes ``int (x - q_k)^2 p(x) dx`` in closed form (derived in the chapter, :prf:ref:`eqn-thm-cell`).

    Parameters
    ----------
    levels : array_like, shape (L,)
        Reconstruction levels (any order; duplicates are merged), ``1 <= L <= 2**16``, each with
        ``|level| / sigma <= MAX_CLIP_RATIO``.
    law : {"uniform", "gaussian", "laplace"}, default "gaussian"
        Law of ``X``.
    sigma : float, default 1
        Standard deviation of ``X``, positive and finite.

    Returns
    -------
    float
        ``E[(X - Q(X))^2]``, in squared units of ``sigma`` (``inf`` only when it exceeds the float range, i.e.
        for ``sigma`` or levels near ``1e154`` and beyond). Relative accuracy about ``1e-12`` on uniform grids up
        to 12 bits (narrow cells use forms without cancellation; checked against 40-digit quadrature).

    Raises
    ------
    ValueError
        if ``levels`` is empty, too long, non-finite or beyond ``MAX_CLIP_RATIO * sigma``, or ``law``/``sigma``
        are invalid.

    Examples
    --------
    >>> round(grid_quantization_mse([0.0], "gaussian"), 12)  # one level at the mean: the variance
    1.0
    >>> round(grid_quantization_mse([-1.0, 1.0], "uniform", sigma=2 / np.sqrt(3)), 12)  # two levels, U(-2, 2)
    0.333333333333
    """
    law = check_choice(law, "law", LAWS)
    sigma = check_real(sigma, "sigma", low=0.0, low_open=True)
    lv = check_array(levels, "levels", ndim=1, min_size=1)
    if lv.size > 2**16:
        raise ValueError(f"levels must have at most 2**16 = 65536 entries, got {lv.size}")
    with np.errstate(over="ignore"):  # an overflowing ratio is refused just below
        z = np.unique(lv / sigma)
    if not np.all(np.isfinite(z)) or np.max(np.abs(z)) > MAX_CLIP_RATIO:
        raise ValueError(f"levels must satisfy max |level| / sigma <= {MAX_CLIP_RATIO:g} (levels relative to "
                         f"sigma={sigma!r})")
    a, b, q = _nearest_cells(z)
    return _scaled(float(np.sum(_CELLS[law](a, b, q))), sigma)


def uniform_quantizer_mse(bits: int, clip: float, law: str = "gaussian", sigma: float = 1.0) -> QuantizerMSE:
    r"""Exact MSE of the uniform ``b``-bit quantiser on ``[-c, c]``, split into granular and overload parts.

    The grid has ``L = 2^b`` levels ``q_k = -c + k Delta``, ``Delta = 2c / (L - 1)`` (the end levels sit on
    ``+-c``, as in min-max quantisation, :eq:`eqn-grid`); ``X`` is rounded to the nearest level and values beyond
    ``+-c`` go to the end levels. Cell errors in closed form, :eq:`eqn-cell`; the overload part is the integral over
    ``|x| > c`` (:eq:`eqn-split`).

    Parameters
    ----------
    bits : int
        Bit-width ``b`` in ``[1, 12]``.
    clip : float
        Clipping range ``c > 0`` (same units as ``sigma``), ``clip / sigma <= MAX_CLIP_RATIO``.
    law : {"uniform", "gaussian", "laplace"}, default "gaussian"
        Law of the weights, zero mean.
    sigma : float, default 1
        Their standard deviation, positive and finite.

    Returns
    -------
    QuantizerMSE
        ``(mse, granular, overload, step)``; a field is ``inf`` only when its value exceeds the float range
        (``clip`` or ``sigma`` near ``1e154`` and beyond).

    Raises
    ------
    ValueError
        if an argument is outside its range.
    TypeError
        if ``bits`` is not an integer.

    Examples
    --------
    A uniform law quantised on its own support: every cell contributes ``Delta^2 / 12``, so the MSE is
    ``sigma^2 / (2^b - 1)^2`` (:eq:`eqn-uniform`):

    >>> r = uniform_quantizer_mse(3, np.sqrt(3.0), "uniform")
    >>> round(r.mse * 49, 12), r.overload
    (1.0, 0.0)
    """
    b = check_int(bits, "bits", low=1, high=12)
    law = check_choice(law, "law", LAWS)
    sigma = check_real(sigma, "sigma", low=0.0, low_open=True)
    clip = check_real(clip, "clip", low=0.0, low_open=True)
    with np.errstate(over="ignore", under="ignore"):  # an overflowing or vanishing ratio is refused below
        c = clip / sigma
    if not (c <= MAX_CLIP_RATIO) or c == 0:
        raise ValueError(f"clip / sigma must lie in (0, {MAX_CLIP_RATIO:g}], got clip={clip!r}, sigma={sigma!r}")
    L = 2**b
    q = -c + (2.0 * c / (L - 1)) * np.arange(L)
    q[-1] = c  # exact end level
    a, bb, q = _nearest_cells(q)
    a[0], bb[-1] = -c, c  # the granular cells stop at +-c ...
    cells = _CELLS[law]
    granular = float(np.sum(cells(a, bb, q)))
    ends = np.array([-np.inf, c]), np.array([-c, np.inf]), np.array([-c, c])  # ... the overload cells start there
    overload = float(np.sum(cells(*ends)))
    g, o = _scaled(granular, sigma), _scaled(overload, sigma)
    with np.errstate(over="ignore"):
        return QuantizerMSE(mse=g + o, granular=g, overload=o, step=2.0 * clip / (L - 1))


def _check_tensor(x, name: str, torch, *, ndim=None):
    if not isinstance(x, torch.Tensor) or not x.is_floating_point():
        raise TypeError(f"{name} must be a floating-point torch.Tensor, got {type(x).__name__}")
    if ndim is not None and x.ndim != ndim:
        raise ValueError(f"{name} must have {ndim} dimension(s), got shape {tuple(x.shape)}")
    if not bool(torch.isfinite(x).all()):
        raise ValueError(f"{name} must contain only finite values (found NaN or inf)")


def wdr_loss(weights: Sequence, kurt_target: float = 1.8, lam_k: float = 0.015, lam_s: float = 1.0):
    r"""Weight-distribution regulariser of EQ-Net, :eq:`eqn-wdr` (differentiable, PyTorch).

    ``lam_k * mean_l (Kurt(W_l) - kurt_target)^2 + lam_s * mean_l Skew(W_l)^2`` over the given tensors, with the
    plain (non-excess) kurtosis ``E[(w - mu)^4] / sigma^4`` and skewness ``E[(w - mu)^3] / sigma^3`` of all the
    entries of each tensor (population moments). The official code standardises with the unbiased standard
    deviation, which multiplies its kurtosis by ``((n-1)/n)^2``; the two agree for layers of realistic size.
    The target 1.8 is the kurtosis of a uniform law; EQ-Net leaves the first layer out (pass the others).

    Parameters
    ----------
    weights : sequence of torch.Tensor
        At least one floating-point tensor, each with at least two entries, finite, not constant.
    kurt_target : float, default 1.8
        Target kurtosis, in ``[1, 1e6]`` (1 is the smallest kurtosis any law has).
    lam_k, lam_s : float, defaults 0.015 and 1.0
        Weights of the kurtosis and skewness terms, in ``[0, 1e6]`` (the official defaults).

    Returns
    -------
    torch.Tensor
        Scalar, differentiable with respect to every tensor in ``weights``.

    Raises
    ------
    TypeError
        if ``weights`` is not a sequence of floating-point tensors.
    ValueError
        if it is empty, a tensor has fewer than two entries, non-finite values or no spread.

    Examples
    --------
    >>> import torch
    >>> w = torch.linspace(-1.0, 1.0, 100001, dtype=torch.float64)  # close to uniform: kurtosis 1.8
    >>> float(wdr_loss([w])) < 1e-9
    True
    >>> round(float(wdr_loss([torch.tensor([0.0, 0.0, 0.0, 1.0], dtype=torch.float64)], lam_k=0.0)), 6)
    1.333333
    """
    torch = require_torch()
    kurt_target = check_real(kurt_target, "kurt_target", low=1.0, high=1e6)
    lam_k = check_real(lam_k, "lam_k", low=0.0, high=1e6)
    lam_s = check_real(lam_s, "lam_s", low=0.0, high=1e6)
    if isinstance(weights, torch.Tensor) or not isinstance(weights, Sequence) or isinstance(weights, str):
        raise TypeError("weights must be a list or tuple of torch.Tensor (one per layer)")
    if len(weights) == 0:
        raise ValueError("weights must contain at least one tensor")
    kurts, skews = [], []
    for i, w in enumerate(weights):
        _check_tensor(w, f"weights[{i}]", torch)
        if w.numel() < 2:
            raise ValueError(f"weights[{i}] must have at least two entries, got {w.numel()}")
        x = w.reshape(-1)
        # moments are scale free: divide by a power of two near max |w| (exact) so that w^4 neither over- nor
        # underflows (multiply by exp2(-e): torch.ldexp passes no gradient back to its input)
        e = torch.frexp(x.detach().abs().max())[1].to(x.dtype)
        # two half steps: 2^-e alone overflows float32 when max |w| is subnormal (e < -126)
        half = torch.exp2(-torch.floor(e / 2))
        x = (x * half) * torch.exp2(-e - torch.log2(half))
        c = x - x.mean()
        m2 = (c * c).mean()
        if float(m2.detach()) == 0.0:
            raise ValueError(f"weights[{i}] is constant (zero variance): kurtosis and skewness are undefined")
        z = c / m2.sqrt()
        kurts.append((z**4).mean())
        skews.append((z**3).mean())
    kurt = torch.stack(kurts)
    skew = torch.stack(skews)
    return lam_k * ((kurt - kurt_target) ** 2).mean() + lam_s * (skew**2).mean()


def gpg_loss(logits: Sequence, labels, alpha: float = 0.5):
    r"""Progressive (sandwich-chain) distillation losses of EQ-Net's subnets, :eq:`eqn-gpg` (PyTorch).

    With logits ``f_0, f_1, ...`` of successive subnets (largest first), the first is trained on cross-entropy
    and each later one on ``alpha KL(softmax(f_{j-1}) || softmax(f_j)) + (1 - alpha) CE(f_j, y)``, where the
    teacher ``f_{j-1}`` is *detached*: the previous subnet, not the largest, guides each step (as in the official
    code's ``KLLossSoft`` at temperature 1, KL averaged over the batch).

    Parameters
    ----------
    logits : sequence of torch.Tensor, each shape (n, K)
        Floating-point logits of the subnets, largest first, ``K >= 2``, finite.
    labels : torch.Tensor of int, shape (n,)
        Classes in ``{0, ..., K-1}``.
    alpha : float, default 0.5
        Weight of the distillation term, in ``[0, 1]``.

    Returns
    -------
    torch.Tensor, shape (len(logits),)
        One loss per subnet (``inf`` only when a logit gap exceeds the float range, so that a log-probability
        does too); summing them and back-propagating once gives the same gradients as one backward
        pass per subnet.

    Raises
    ------
    TypeError
        if ``logits`` is not a sequence of floating tensors or ``labels`` not an integer tensor.
    ValueError
        on shape clashes, non-finite logits or labels out of range.

    Examples
    --------
    >>> import torch
    >>> f = torch.tensor([[2.0, 0.0], [0.0, 1.0]], dtype=torch.float64)
    >>> y = torch.tensor([0, 1])
    >>> loss = gpg_loss([f, f.clone()], y)  # equal logits: the KL term vanishes, half the cross-entropy is left
    >>> bool(torch.isclose(loss[1], 0.5 * loss[0]))
    True
    """
    torch = require_torch()
    F = torch.nn.functional
    alpha = check_real(alpha, "alpha", low=0.0, high=1.0)
    if isinstance(logits, torch.Tensor) or not isinstance(logits, Sequence) or isinstance(logits, str):
        raise TypeError("logits must be a list or tuple of torch.Tensor (one per subnet)")
    if len(logits) == 0:
        raise ValueError("logits must contain at least one tensor")
    if not isinstance(labels, torch.Tensor) or labels.dtype not in (torch.int64, torch.int32):
        raise TypeError("labels must be an integer torch.Tensor (int64 or int32)")
    shape = None
    for i, f in enumerate(logits):
        _check_tensor(f, f"logits[{i}]", torch, ndim=2)
        if shape is None:
            shape = tuple(f.shape)
            if shape[0] < 1 or shape[1] < 2:
                raise ValueError(f"logits[0] must have shape (n, K) with n >= 1 and K >= 2, got {shape}")
        elif tuple(f.shape) != shape:
            raise ValueError(f"logits[{i}] has shape {tuple(f.shape)}, logits[0] has {shape}: they must agree")
    if labels.shape != (shape[0],):
        raise ValueError(f"labels must have shape ({shape[0]},) to match logits, got {tuple(labels.shape)}")
    if int(labels.min()) < 0 or int(labels.max()) >= shape[1]:
        raise ValueError(f"labels must lie in [0, {shape[1] - 1}]")
    y = labels.long()
    losses = [F.cross_entropy(logits[0], y)]
    for j in range(1, len(logits)):
        teacher = F.log_softmax(logits[j - 1].detach(), dim=1)
        student = F.log_softmax(logits[j], dim=1)
        # KL(p_t || p_s) summed over classes, averaged over the batch; classes with p_t = 0 contribute 0 even when
        # a log-probability is -inf (kl_div would form 0 * inf = NaN there)
        p_t = teacher.exp()
        terms = torch.where(p_t > 0, p_t * (teacher - student), torch.zeros_like(p_t))
        kl = terms.sum(dim=1).mean()
        losses.append(alpha * kl + (1.0 - alpha) * F.cross_entropy(logits[j], y))
    return torch.stack(losses)
