"""BAQ end to end: sensitivities, allocation, GPTQ with the allocated bits.

Sensitivities (:doc:`/book/compression/baq-bit-allocation`, eq. :eq:`baq-model`):

* ``"measured"`` (the official code's choice): run GPTQ once at uniform ``R_ref`` bits and take
  ``C_j = ell_j 4^{R_ref}`` from the measured column losses;
* ``"analytic"`` (one pass): ``C_j = sum_i r_i^2 / (24 U_jj^2)`` from the row ranges ``r_i`` and
  the inverse-Hessian factor, under the uniform-rounding-noise model.

The allocation is exact: :func:`lossbook.quant.alloc.integer_bits` (``integer=True``) or
:func:`lossbook.quant.alloc.waterfill_bits` rounded to the nearest power-of-two level count
(``integer=False`` keeps real bits only in the returned ``bits_real``; GPTQ needs integer levels).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from .._rng import SeedLike, as_generator
from .._validate import check_array, check_int, check_real
from .alloc import integer_bits, official_levels, waterfill_bits
from .gptq import _row_range, gptq_quantize, hessian_from_inputs, inverse_hessian_factor

__all__ = [
    "BAQResult",
    "MLPQuantResult",
    "analytic_sensitivity",
    "baq_quantize",
    "quantize_relu_mlp",
    "relu_mlp_forward",
    "synthetic_layer",
]


class BAQResult(NamedTuple):
    """Output of :func:`baq_quantize`.

    Attributes
    ----------
    Q : ndarray, shape (m, n)
        Quantised weights.
    bits : ndarray, shape (n,)
        Bits per column actually used (``log2`` of the level count).
    column_loss : ndarray, shape (n,)
        GPTQ column losses of the final pass.
    sensitivity : ndarray, shape (n,)
        The :math:`C_j` fed to the allocator.
    bits_real : ndarray, shape (n,)
        The continuous water-filling solution for the same :math:`C` and budget.
    theta : float
        Its water level.
    saturated : ndarray of int, shape (n,)
        Entries per column clipped at the end of their row's grid in the final GPTQ pass
        (see :class:`GPTQResult`).
    """

    Q: np.ndarray
    bits: np.ndarray
    column_loss: np.ndarray
    sensitivity: np.ndarray
    bits_real: np.ndarray
    theta: float
    saturated: np.ndarray | None = None


def analytic_sensitivity(W, H, *, damp: float = 0.01) -> np.ndarray:
    r"""One-pass sensitivities :math:`C_j=\sum_i r_i^2/(24\,U_{jj}^2)` (eq. ``baq-analytic-C``).

    :math:`r_i` is the quantiser range of row ``i`` (including 0) and :math:`U_{jj}` the diagonal of
    the upper Cholesky factor of :math:`H_\lambda^{-1}`. Dead columns get :math:`C_j=0`.

    Parameters
    ----------
    W : array_like, shape (m, n)
        Weights.
    H : array_like, shape (n, n)
        Symmetric PSD Hessian.
    damp : float
        Relative damping, as in :func:`lossbook.quant.gptq.gptq_quantize`.

    Returns
    -------
    ndarray, shape (n,)
        ``inf`` only where the true value exceeds the float range.

    Raises
    ------
    ValueError
        for bad arguments, or an ``H`` that is not PSD, or singular with ``damp=0`` ("increase damp").

    Examples
    --------
    >>> C = analytic_sensitivity([[1.0, -1.0]], [[2.0, 0.0], [0.0, 8.0]], damp=0.0)
    >>> C.round(12).tolist()  # r = 2, U_jj^2 = 1/H_jj
    [0.333333333333, 1.333333333333]
    """
    W = check_array(W, "W", ndim=2)
    U, dead, _ = inverse_hessian_factor(H, damp=damp)
    if U.shape[0] != W.shape[1]:
        raise ValueError(f"H must have shape (n, n) with n = W.shape[1] = {W.shape[1]}, got {U.shape}")
    Wz = W.copy()
    Wz[:, dead] = 0.0
    xmin, xmax = _row_range(Wz)
    with np.errstate(over="ignore"):
        r2 = float(np.sum((xmax - xmin) ** 2))
        d = np.diag(U)
        C = (r2 / (24.0 * d)) / d  # no overflow of d**2
    C[dead] = 0.0
    return C


def baq_quantize(W, X, avg_bits: float, *, integer: bool = True, sensitivity: str = "measured",
                 ref_bits: int | None = None, b_min: int = 0, b_max: int = 8, damp: float = 0.01,
                 block_size: int = 128, H=None) -> BAQResult:
    r"""BAQ: allocate bits to columns by the water-filling optimum, then run GPTQ.

    Steps: sensitivities :math:`C_j` (``"measured"``: one GPTQ pass at ``ref_bits``, default
    ``round(avg_bits)``, :math:`C_j=\ell_j4^{R_{\rm ref}}`; ``"analytic"``: eq. :eq:`baq-analytic-C`);
    allocation with exact average ``avg_bits``; GPTQ with the per-column bits.

    Parameters
    ----------
    W : array_like, shape (m, n)
    X : array_like, shape (n, N)
        Calibration inputs. Not used, not even for shape checks, when ``H`` is given (pass ``None`` then).
    avg_bits : float
        Average bits per column; ``n * avg_bits`` must be an integer when ``integer=True``.
    integer : bool
        ``True``: greedy exact integer allocation (theorem :prf:ref:`baq-thm-greedy`). ``False``: the real
        water-filling solution, with each column then given the nearest integer level count
        :math:`\mathrm{round}(2^{b_j})` (fractional bits, budget met only approximately).
    sensitivity : {"measured", "analytic"}
    ref_bits, b_min, b_max, damp, block_size
        See above and :func:`gptq_quantize`.
    H : array_like, optional
        Precomputed Hessian :math:`\tfrac2N XX^\top`.

    Returns
    -------
    BAQResult

    Raises
    ------
    ValueError
        for out-of-range arguments, or when the sensitivities overflow the float range (``W`` near the
        float limit): rescale ``W``.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(8, 200)) * np.exp(rng.normal(size=(8, 1)))
    >>> res = baq_quantize(rng.normal(size=(16, 8)), X, 3.0)
    >>> int(res.bits.sum())
    24
    """
    W = check_array(W, "W", ndim=2)
    n = W.shape[1]
    lo = check_int(b_min, "b_min", low=0, high=24)
    hi = check_int(b_max, "b_max", low=lo, high=24)
    avg = check_real(avg_bits, "avg_bits", low=lo, high=hi)
    if not isinstance(integer, bool | np.bool_):
        raise TypeError(f"integer must be a bool, got {type(integer).__name__}")
    if H is None:
        X = check_array(X, "X", ndim=2)
        if X.shape[0] != n:
            raise ValueError(f"X must have shape (n, N) with n = W.shape[1] = {n}, got {X.shape}")
        H = hessian_from_inputs(X)
    else:
        H = check_array(H, "H", ndim=2)
    if sensitivity == "measured":
        R_ref = int(round(avg)) if ref_bits is None else check_int(ref_bits, "ref_bits", low=1, high=24)
        first = gptq_quantize(W, H, R_ref, damp=damp, block_size=block_size)
        with np.errstate(over="ignore"):
            C = first.column_loss * 4.0**R_ref
    elif sensitivity == "analytic":
        C = analytic_sensitivity(W, H, damp=damp)
    else:
        raise ValueError(f"sensitivity must be 'measured' or 'analytic', got {sensitivity!r}")
    if not np.all(np.isfinite(C)):
        raise ValueError("W is too large for the sensitivities: the column losses overflow the float range; "
                         "rescale W (the allocation does not depend on the scale of W)")
    wf = waterfill_bits(C, avg, b_min=lo, b_max=hi)
    if integer:
        bits = integer_bits(C, avg, b_min=lo, b_max=hi).astype(np.float64)
    else:
        levels = np.maximum(np.round(np.exp2(wf.bits)), 1.0)
        bits = np.log2(levels)
    res = gptq_quantize(W, H, bits, damp=damp, block_size=block_size)
    return BAQResult(res.Q, bits, res.column_loss, C, wf.bits, wf.theta, res.saturated)


def synthetic_layer(m: int, n: int, N: int, sigma: float, *, seed: SeedLike,
                    mixing: float = 0.5) -> tuple[np.ndarray, np.ndarray]:
    r"""A linear layer with heavy-tailed column sensitivities, for experiments.

    Input scales :math:`s_j=e^{\sigma z_j}` (log-normal, log-std ``sigma``), correlated inputs
    :math:`X=\mathrm{diag}(s)\,((1-\rho)Z+\rho AZ)` with :math:`Z_{kt}\sim\mathcal N(0,1)`,
    :math:`A_{kl}\sim\mathcal N(0,1/n)`, :math:`\rho=` ``mixing``; weights
    :math:`W=0.05\,t_4` (Student-t, 4 degrees of freedom).

    Parameters
    ----------
    m, n, N : int
        Outputs, inputs and calibration samples, each :math:`\ge1`.
    sigma : float
        Log-standard-deviation of the input scales, in ``[0, 100]``.
    seed : int, Generator or None
        Randomness (explicit).
    mixing : float
        :math:`\rho\in[0,1]`.

    Returns
    -------
    W : ndarray, shape (m, n)
    X : ndarray, shape (n, N)

    Examples
    --------
    >>> W, X = synthetic_layer(4, 3, 10, 1.0, seed=0)
    >>> W.shape, X.shape
    ((4, 3), (3, 10))
    """
    m = check_int(m, "m", low=1)
    n = check_int(n, "n", low=1)
    N = check_int(N, "N", low=1)
    sigma = check_real(sigma, "sigma", low=0.0, high=100.0)
    rho = check_real(mixing, "mixing", low=0.0, high=1.0)
    rng = as_generator(seed)
    s = np.exp(sigma * rng.standard_normal(n))
    Z = rng.standard_normal((n, N))
    A = rng.standard_normal((n, n)) / np.sqrt(n)
    X = s[:, None] * ((1.0 - rho) * Z + rho * (A @ Z))
    W = 0.05 * rng.standard_t(4, size=(m, n))
    return W, X


# --------------------------------------------------------------------------------------------
# a small ReLU network, quantised layer by layer
# --------------------------------------------------------------------------------------------
class MLPQuantResult(NamedTuple):
    """Output of :func:`quantize_relu_mlp`.

    Attributes
    ----------
    weights : list of ndarray
        Quantised weight matrices, each ``(out, in)``.
    avg_bits : float
        Realised average bits per weight over all layers.
    layer_losses : list of float
        :math:`\\tfrac1N\\|(W-Q)X\\|_F^2` of every layer on its (quantised-upstream) calibration input.
    """

    weights: list
    avg_bits: float
    layer_losses: list


def relu_mlp_forward(weights: Sequence, biases: Sequence, X) -> np.ndarray:
    r"""Logits of a ReLU MLP: :math:`h_{k+1}=\mathrm{relu}(W_kh_k+c_k)`, no ReLU after the last layer.

    ``weights[k]`` has shape ``(out, in)``; ``X`` has shape ``(N, in)`` (samples in rows).

    Parameters
    ----------
    weights : sequence of array_like
        Weight matrices, ``weights[k]`` of shape ``(out_k, in_k)``.
    biases : sequence of array_like
        Bias vectors, ``biases[k]`` of shape ``(out_k,)``.
    X : array_like, shape (N, in_0)
        Inputs, one sample per row.

    Returns
    -------
    ndarray, shape (N, out_last)

    Raises
    ------
    FloatingPointError
        If a layer's output leaves the float range (weights and inputs too large for float64).

    Examples
    --------
    >>> relu_mlp_forward([np.eye(2), np.ones((1, 2))], [np.zeros(2), np.zeros(1)], [[1.0, -2.0]]).tolist()
    [[1.0]]
    """
    h = check_array(X, "X", ndim=2)
    for name, seq in (("weights", weights), ("biases", biases)):
        if isinstance(seq, np.ndarray | str | bytes) or not hasattr(seq, "__len__"):
            raise TypeError(f"{name} must be a sequence (list or tuple) of arrays, one per layer, "
                            f"got {type(seq).__name__}")
    if len(weights) != len(biases) or len(weights) == 0:
        raise ValueError("weights and biases must be non-empty lists of equal length")
    for k, (Wk, ck) in enumerate(zip(weights, biases, strict=True)):
        Wk = check_array(Wk, f"weights[{k}]", ndim=2)
        ck = check_array(ck, f"biases[{k}]", ndim=1)
        if Wk.shape[1] != h.shape[1]:
            raise ValueError(f"weights[{k}] must have {h.shape[1]} columns (the width of its input), "
                             f"got shape {Wk.shape}")
        if ck.shape[0] != Wk.shape[0]:
            raise ValueError(f"biases[{k}] must have {Wk.shape[0]} entries (the rows of weights[{k}]), "
                             f"got {ck.shape[0]}")
        with np.errstate(over="ignore", invalid="ignore"):
            h = h @ Wk.T + ck
        if not np.all(np.isfinite(h)):
            raise FloatingPointError(f"layer {k} of the MLP overflowed the float range")
        if k < len(weights) - 1:
            h = np.maximum(h, 0.0)
    return h


def quantize_relu_mlp(weights: Sequence, biases: Sequence, X_calib, avg_bits: float, *,
                      method: str = "baq", damp: float = 0.01, b_max: int = 8) -> MLPQuantResult:
    r"""Quantise every layer of a ReLU MLP in order, each calibrated on the *quantised* upstream output.

    ``method``: ``"gptq"`` (uniform bits), ``"rtn"``, ``"baq"`` (measured sensitivities, exact
    integer budget per layer), ``"baq-official"`` (the official level rule,
    :func:`lossbook.quant.alloc.official_levels`, with its realised rate reported).

    Parameters
    ----------
    weights, biases : sequence of array_like
        As in :func:`relu_mlp_forward`; biases are kept in full precision.
    X_calib : array_like, shape (N, in_0)
        Calibration inputs.
    avg_bits : float
        Target average bits per weight, in ``[0, b_max]``.
    method : {"baq", "gptq", "rtn", "baq-official"}
    damp : float
        Relative damping of every layer Hessian.
    b_max : int
        Upper bound on the bits of a column (``"baq"``), in ``[0, 24]``.

    Returns
    -------
    MLPQuantResult

    Raises
    ------
    ValueError
        for bad arguments, or when a layer's sensitivities or Hessian overflow the float range.
    FloatingPointError
        when a layer's output overflows the float range (see :func:`relu_mlp_forward`).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> Ws = [rng.normal(size=(6, 4)), rng.normal(size=(3, 6))]
    >>> cs = [np.zeros(6), np.zeros(3)]
    >>> out = quantize_relu_mlp(Ws, cs, rng.normal(size=(100, 4)), 3.0, method="gptq")
    >>> out.avg_bits
    3.0
    """
    h = check_array(X_calib, "X_calib", ndim=2)
    b_max = check_int(b_max, "b_max", low=0, high=24)
    avg = check_real(avg_bits, "avg_bits", low=0.0, high=float(b_max))
    if method not in ("gptq", "rtn", "baq", "baq-official"):
        raise ValueError(f"method must be 'gptq', 'rtn', 'baq' or 'baq-official', got {method!r}")
    for name, seq in (("weights", weights), ("biases", biases)):
        if isinstance(seq, np.ndarray | str | bytes) or not hasattr(seq, "__len__"):
            raise TypeError(f"{name} must be a sequence (list or tuple) of arrays, one per layer, "
                            f"got {type(seq).__name__}")
    if len(weights) != len(biases) or len(weights) == 0:
        raise ValueError("weights and biases must be non-empty lists of equal length")
    for k, (Wk, ck) in enumerate(zip(weights, biases, strict=True)):
        ck = check_array(ck, f"biases[{k}]", ndim=1)
        if ck.shape[0] != np.shape(Wk)[0]:
            raise ValueError(f"biases[{k}] must have shape ({np.shape(Wk)[0]},) to match weights[{k}], "
                             f"got {ck.shape}")
    out, losses = [], []
    bit_sum = 0.0
    count = 0
    for k, (Wk, ck) in enumerate(zip(weights, biases, strict=True)):
        Wk = check_array(Wk, f"weights[{k}]", ndim=2)
        if Wk.shape[1] != h.shape[1]:
            raise ValueError(f"weights[{k}] has {Wk.shape[1]} inputs but the layer input has {h.shape[1]}")
        Xk = h.T
        Hk = hessian_from_inputs(Xk)
        n = Wk.shape[1]
        if method == "rtn":
            from .gptq import rtn_quantize

            Qk = rtn_quantize(Wk, avg)
            bits = np.full(n, avg)
        elif method == "gptq":
            Qk = gptq_quantize(Wk, Hk, avg, damp=damp).Q
            bits = np.full(n, avg)
        elif method == "baq":
            res = baq_quantize(Wk, Xk, avg, H=Hk, damp=damp, b_max=b_max)
            Qk, bits = res.Q, res.bits
        else:
            R_ref = int(round(avg))
            ell = gptq_quantize(Wk, Hk, R_ref, damp=damp).column_loss
            N = official_levels(ell, R_ref)
            bits = np.log2(N.astype(np.float64))
            Qk = gptq_quantize(Wk, Hk, bits, damp=damp).Q
        D = (Wk - Qk) @ Xk
        losses.append(float(np.sum(D * D) / Xk.shape[1]))
        out.append(Qk)
        bit_sum += float(np.sum(bits)) * Wk.shape[0]
        count += Wk.size
        h = h @ Qk.T + np.asarray(ck, dtype=np.float64)
        if k < len(weights) - 1:
            h = np.maximum(h, 0.0)
    return MLPQuantResult(out, bit_sum / count, losses)
