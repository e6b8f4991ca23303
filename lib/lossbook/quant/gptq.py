"""GPTQ with per-column bit-widths, and the quantities around it.

Layout follows PyTorch's ``nn.Linear``: ``W`` has shape ``(m, n)`` (rows = outputs, columns =
inputs), calibration inputs ``X`` have shape ``(n, N)``, and the layer objective is
``||(W - Q) X||_F^2 / N`` with Hessian ``H = 2 X X^T / N`` (:doc:`/book/compression/baq-bit-allocation`,
eq. :eq:`baq-layer-loss`).

The quantiser is asymmetric min-max per output row, its range always containing 0, fitted on the
original weights (or per group of ``group_size`` columns on the current, error-updated weights).
Column ``j`` with ``2^{b_j}`` levels has step ``r_i / (2^{b_j} - 1)`` in row ``i``; ``b_j = 0`` (one
level) quantises the column to exactly zero.

The column loop is GPTQ's: with ``H_lambda^{-1} = U^T U`` (``U`` upper triangular), column ``j`` is
rounded, its error ``e`` is scaled by ``1/U_jj`` and fed back to the later columns through row ``j``
of ``U``. Updates to columns outside the current block are applied lazily, once per block, which
does not change the result (theorem :prf:ref:`baq-thm-decomposition` and the block-size test).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from scipy import linalg

from .._validate import check_array, check_int, check_real

__all__ = [
    "GPTQResult",
    "gptq_quantize",
    "hessian_from_inputs",
    "inverse_hessian_factor",
    "layer_loss",
    "rtn_quantize",
]


class GPTQResult(NamedTuple):
    """Output of :func:`gptq_quantize`.

    Attributes
    ----------
    Q : ndarray, shape (m, n)
        Quantised weights.
    column_loss : ndarray, shape (n,)
        :math:`\\ell_j=\\sum_i e_{ij}^2/(2U_{jj}^2)`; they add up exactly to
        :math:`\\tfrac1N\\|(W-Q)X\\|_F^2+\\tfrac\\lambda2\\|W-Q\\|_F^2`.
    U_diag : ndarray, shape (n,)
        Diagonal of the upper Cholesky factor of :math:`H_\\lambda^{-1}`.
    damping : float
        The :math:`\\lambda` added to the diagonal of ``H``.
    dead : ndarray of bool, shape (n,)
        Columns with :math:`H_{jj}=0` (never excited by the inputs); they are set to zero.
    saturated : ndarray of int, shape (n,)
        Entries of each column that the error feedback pushed more than half a step beyond the row's
        grid (fitted on the original weights), so that rounding clipped them to the end of the grid.
    """

    Q: np.ndarray
    column_loss: np.ndarray
    U_diag: np.ndarray
    damping: float
    dead: np.ndarray
    saturated: np.ndarray | None = None


def hessian_from_inputs(X) -> np.ndarray:
    r"""Layer Hessian :math:`H=\tfrac2N XX^\top` for inputs ``X`` of shape ``(n, N)``.

    Parameters
    ----------
    X : array_like, shape (n, N)
        Calibration inputs, one sample per column, finite.

    Returns
    -------
    ndarray, shape (n, n)

    Examples
    --------
    >>> hessian_from_inputs([[1.0, -1.0]]).tolist()
    [[2.0]]
    """
    X = check_array(X, "X", ndim=2)
    if X.shape[1] < 1 or X.shape[0] < 1:
        raise ValueError(f"X must have shape (n, N) with n, N >= 1, got {X.shape}")
    return 2.0 * (X @ X.T) / X.shape[1]


def layer_loss(W, Q, X) -> float:
    r"""Layer reconstruction loss :math:`\tfrac1N\|(W-Q)X\|_F^2` (eq. :eq:`baq-layer-loss`).

    Parameters
    ----------
    W, Q : array_like, shape (m, n)
        Original and quantised weights.
    X : array_like, shape (n, N)
        Calibration inputs, ``N >= 1``.

    Returns
    -------
    float
        ``inf`` only when the true loss exceeds the float range.

    Examples
    --------
    >>> layer_loss([[1.0, 0.0]], [[0.5, 0.0]], [[1.0, 1.0], [0.0, 3.0]])
    0.25
    """
    W = check_array(W, "W", ndim=2)
    Q = check_array(Q, "Q", ndim=2)
    X = check_array(X, "X", ndim=2)
    if Q.shape != W.shape:
        raise ValueError(f"Q must have the shape of W {W.shape}, got {Q.shape}")
    if X.shape[0] != W.shape[1]:
        raise ValueError(f"X must have shape (n, N) with n = W.shape[1] = {W.shape[1]}, got {X.shape}")
    if X.shape[1] == 0:
        raise ValueError("X must hold at least one calibration sample (a column); got shape (n, 0)")
    with np.errstate(over="ignore"):
        D = (W - Q) @ X
        if not np.all(np.isfinite(D)):
            return float("inf")
        s = float(np.max(np.abs(D)))
        if s == 0.0:
            return 0.0
        return float(s * (s * (np.sum((D / s) ** 2) / X.shape[1])))  # scaled: D*D neither overflows nor underflows


def _check_hessian(H, n: int) -> np.ndarray:
    H = check_array(H, "H", ndim=2)
    if H.shape != (n, n):
        raise ValueError(f"H must have shape (n, n) with n = W.shape[1] = {n}, got {H.shape}")
    scale = max(float(np.max(np.abs(H))), 1e-300)
    if np.max(np.abs(H - H.T)) > 1e-10 * scale:
        raise ValueError("H must be symmetric")
    if np.any(np.diag(H) < 0):
        raise ValueError("H must be positive semi-definite (found a negative diagonal entry)")
    return H


def inverse_hessian_factor(H, *, damp: float = 0.01) -> tuple[np.ndarray, np.ndarray, float]:
    r"""Upper Cholesky factor ``U`` of :math:`H_\lambda^{-1}`, :math:`H_\lambda^{-1}=U^\top U`.

    Dead inputs (:math:`H_{jj}=0`) get :math:`H_{jj}=1`; then :math:`H_\lambda=H+\lambda I` with
    :math:`\lambda=` ``damp`` :math:`\cdot\,\mathrm{mean}(\mathrm{diag}\,H)`.

    Parameters
    ----------
    H : array_like, shape (n, n)
        Symmetric positive semi-definite Hessian.
    damp : float
        Relative damping :math:`\ge0`.

    Returns
    -------
    U : ndarray, shape (n, n)
    dead : ndarray of bool, shape (n,)
    lam : float

    Raises
    ------
    ValueError
        if ``H`` is not symmetric positive semi-definite (checked *before* damping, up to a
        round-off allowance :math:`4n\varepsilon_{\rm mach}\,\mathrm{tr}\,H`), or is singular with ``damp=0``.

    Examples
    --------
    >>> U, dead, lam = inverse_hessian_factor([[4.0, 0.0], [0.0, 1.0]], damp=0.0)
    >>> U.round(12).tolist()
    [[0.5, 0.0], [0.0, 1.0]]
    """
    H = check_array(H, "H", ndim=2)
    n = H.shape[0]
    H = _check_hessian(H, n).copy()
    damp = check_real(damp, "damp", low=0.0)
    dead = np.diag(H) == 0
    H[dead, dead] = 1.0
    # PSD check *before* damping, so that damping cannot hide a negative eigenvalue: Cholesky of
    # H + delta I with delta = 4 n eps tr(H), above the backward error of Cholesky on a PSD matrix
    # (Higham, Accuracy and Stability, thm 10.7: |dH| <~ n eps |H|), so a rank-deficient PSD H passes.
    delta = 4.0 * n * np.finfo(float).eps * float(np.trace(H))
    try:
        linalg.cholesky(H + delta * np.eye(n), lower=True)
    except linalg.LinAlgError:
        raise ValueError(
            "H must be positive semi-definite (it has a negative eigenvalue below "
            f"-{delta:.2e} = -4 n eps tr H; damping is not applied to hide it)"
        ) from None
    lam = damp * float(np.mean(np.diag(H)))
    H[np.diag_indices(n)] += lam
    try:
        L = linalg.cholesky(H, lower=True)
        Hinv = linalg.cho_solve((L, True), np.eye(n))
        Hinv = 0.5 * (Hinv + Hinv.T)
        U = linalg.cholesky(Hinv, lower=False)
    except linalg.LinAlgError:
        raise ValueError(
            "H must be positive semi-definite (Cholesky of H + damp*mean(diag H)*I failed); "
            "check H, or increase damp if H is singular"
        ) from None
    return U, dead, lam


def _levels_from_bits(bits, n: int) -> np.ndarray:
    b = check_array(bits, "bits", ndim=(0, 1), low=0.0)
    if b.ndim == 0:
        b = np.full(n, float(b))
    if b.shape != (n,):
        raise ValueError(f"bits must be a scalar or have shape (n,) with n = W.shape[1] = {n}, got {b.shape}")
    if np.any(b > 24):
        raise ValueError("bits entries must lie in [0, 24]")
    levels = np.round(np.exp2(b))
    if np.any(np.abs(np.exp2(b) - levels) > 1e-9 * levels):
        raise ValueError("bits must be log2 of an integer number of levels (e.g. 0, 1, 2, log2(3), ...)")
    return levels.astype(np.int64)


def _row_range(Wpart):
    xmin = np.minimum(Wpart.min(axis=1), 0.0)
    xmax = np.maximum(Wpart.max(axis=1), 0.0)
    both0 = (xmin == 0) & (xmax == 0)
    xmin = np.where(both0, -1.0, xmin)
    xmax = np.where(both0, 1.0, xmax)
    return xmin, xmax


def _quantize_column(w, xmin, xmax, levels: int):
    """Asymmetric uniform quantiser with ``levels`` levels on ``[xmin_i, xmax_i]`` (0 on the grid)."""
    if levels <= 1:
        return np.zeros_like(w)
    maxq = levels - 1
    scale = (xmax - xmin) / maxq
    zero = np.round(-xmin / scale)
    code = np.clip(np.round(w / scale) + zero, 0, maxq)
    return scale * (code - zero)


def rtn_quantize(W, bits) -> np.ndarray:
    r"""Round-to-nearest with the same per-row quantiser as :func:`gptq_quantize` (no error feedback).

    Parameters
    ----------
    W : array_like, shape (m, n)
        Weights.
    bits : float or array_like, shape (n,)
        Bits per column, as in :func:`gptq_quantize`.

    Returns
    -------
    ndarray, shape (m, n)

    Examples
    --------
    >>> rtn_quantize([[0.1, 0.9, -1.0]], 1).tolist()  # grid {-1.9, 0}: the zero point is rounded
    [[0.0, 0.0, -1.9]]
    """
    W = check_array(W, "W", ndim=2)
    levels = _levels_from_bits(bits, W.shape[1])
    # work on rows divided by a power of two near their largest modulus: exact for normal numbers (the
    # result is bit-identical), and neither xmax - xmin overflows near 1.7e308 nor the step underflows
    # for subnormal rows
    _, e = np.frexp(np.max(np.abs(W), axis=1, keepdims=True)) if W.size else (None, np.zeros((W.shape[0], 1)))
    p = np.ldexp(1.0, e.astype(np.int64) - 1)  # 2^(e-1) <= max |row| < 2^e: rows scaled into [-2, 2]
    Ws = W / p
    xmin, xmax = _row_range(Ws)
    Q = np.empty_like(W)
    for j in range(W.shape[1]):
        Q[:, j] = _quantize_column(Ws[:, j], xmin, xmax, int(levels[j]))
    return Q * p


def gptq_quantize(W, H, bits, *, damp: float = 0.01, block_size: int = 128,
                  group_size: int | None = None) -> GPTQResult:
    r"""GPTQ with per-column bit-widths :math:`b_j` (levels :math:`2^{b_j}`).

    Minimises the layer loss :math:`\tfrac1N\|(W-Q)X\|_F^2` column by column with error feedback,
    :math:`H_\lambda^{-1}=U^\top U`: for :math:`j=1..n`, :math:`q_j=\mathrm{quant}(\tilde w_j)`,
    :math:`\varepsilon_j=(\tilde w_j-q_j)/U_{jj}`, :math:`\tilde w_k\mathrel{-}=\varepsilon_jU_{jk}` for
    :math:`k>j`. Column losses :math:`\ell_j=\sum_i e_{ij}^2/(2U_{jj}^2)` split the damped layer loss
    exactly (chapter *BAQ*, theorem :prf:ref:`baq-thm-decomposition`). The result does not depend on
    ``block_size`` (the lazy update only reorders exact arithmetic).

    Parameters
    ----------
    W : array_like, shape (m, n)
        Weights (rows: outputs, columns: inputs).
    H : array_like, shape (n, n)
        Symmetric PSD Hessian, usually :func:`hessian_from_inputs` of the calibration inputs.
    bits : float or array_like, shape (n,)
        Bits per column, :math:`\ge 0`, with :math:`2^{b_j}` an integer (so ``log2(3)`` is allowed).
    damp : float
        Relative damping: :math:`\lambda=` ``damp`` :math:`\cdot\,\mathrm{mean}(\mathrm{diag}\,H)`.
    block_size : int
        Width of the lazily updated column blocks, ``>= 1``.
    group_size : int or None
        If given, the per-row range is refitted every ``group_size`` columns on the current
        (error-updated) weights of that group, as in GPTQ's grouping.

    Returns
    -------
    GPTQResult

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(4, 50)); W = rng.normal(size=(3, 4))
    >>> res = gptq_quantize(W, hessian_from_inputs(X), 4)
    >>> bool(np.isclose(res.column_loss.sum(),
    ...      layer_loss(W, res.Q, X) + res.damping / 2 * np.sum((W - res.Q) ** 2)))
    True
    """
    W = check_array(W, "W", ndim=2)
    m, n = W.shape
    if m < 1 or n < 1:
        raise ValueError(f"W must have shape (m, n) with m, n >= 1, got {W.shape}")
    H = check_array(H, "H", ndim=2)
    _check_hessian(H, n)
    levels = _levels_from_bits(bits, n)
    B = check_int(block_size, "block_size", low=1)
    g = None if group_size is None else check_int(group_size, "group_size", low=1)
    U, dead, lam = inverse_hessian_factor(H, damp=damp)

    W = W.copy()
    W[:, dead] = 0.0
    xmin, xmax = _row_range(W)
    # Work on the transpose so that a column of W is a contiguous row in memory.
    Wt = np.ascontiguousarray(W.T)
    Qt = np.zeros_like(Wt)
    loss = np.zeros(n)
    sat = np.zeros(n, dtype=np.int64)
    d = np.diag(U)
    for i1 in range(0, n, B):
        i2 = min(i1 + B, n)
        W1 = Wt[i1:i2].copy()
        E = np.zeros((i2 - i1, m))
        for jj in range(i2 - i1):
            j = i1 + jj
            if g is not None and j % g == 0:
                # Current weights of columns j..j+g: inside the block they are up to date in W1;
                # beyond it they still owe this block's lazy update from columns i1..j-1.
                j_end = min(j + g, n)
                inside = W1[jj:min(j_end, i2) - i1]
                if j_end > i2:
                    outside = Wt[i2:j_end] - U[i1:j, i2:j_end].T @ E[:jj]
                    inside = np.concatenate([inside, outside], axis=0)
                xmin, xmax = _row_range(inside.T)
            w = W1[jj]
            q = _quantize_column(w, xmin, xmax, int(levels[j]))
            if levels[j] > 1:
                half = 0.5 * (xmax - xmin) / (levels[j] - 1)
                sat[j] = int(np.count_nonzero(np.abs(w - q) > half * (1 + 1e-12)))
            Qt[j] = q
            e = w - q
            loss[j] = float(e @ e) / (2.0 * d[j] ** 2)
            eps = e / d[j]
            W1[jj:] -= np.outer(U[j, j:i2], eps)
            E[jj] = eps
        if i2 < n:
            Wt[i2:] -= U[i1:i2, i2:].T @ E
    Q = np.ascontiguousarray(Qt.T)
    return GPTQResult(Q, loss, d.copy(), float(lam), dead, sat)
