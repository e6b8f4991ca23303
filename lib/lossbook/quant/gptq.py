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
from numba import njit, prange
from scipy.linalg import lapack

from .._validate import check_array, check_choice, check_int, check_real

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
        :math:`\\tfrac1N\\|(W-Q)X\\|_F^2+\\tfrac\\lambda2\\|W-Q\\|_F^2`. An entry is ``inf`` only
        where the true value exceeds the float range (weights near the float limit).
    U_diag : ndarray, shape (n,)
        Diagonal of the upper Cholesky factor of :math:`H_\\lambda^{-1}` (float64).
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

    Raises
    ------
    ValueError
        for a bad ``X``, or when ``H`` overflows the float range.

    Examples
    --------
    >>> hessian_from_inputs([[1.0, -1.0]]).tolist()
    [[2.0]]
    """
    X = check_array(X, "X", ndim=2)
    if X.shape[1] < 1 or X.shape[0] < 1:
        raise ValueError(f"X must have shape (n, N) with n, N >= 1, got {X.shape}")
    with np.errstate(over="ignore"):
        H = 2.0 * (X @ X.T) / X.shape[1]
    if not np.all(np.isfinite(H)):
        raise ValueError("X is too large: H = 2 X X^T / N overflows the float range (entries of X above about "
                         "1e154); rescale X (GPTQ and BAQ are invariant to the scale of H)")
    return H


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


_DTYPES = {"float64": np.float64, "float32": np.float32}
MAX_DAMP = 1e6  #: largest relative damping accepted


def _check_dtype(dtype) -> type:
    if dtype is None:
        raise TypeError(f"dtype must be one of {tuple(_DTYPES)}, got None")
    if isinstance(dtype, str):
        name = dtype
    else:
        try:
            name = np.dtype(dtype).name
        except TypeError:
            raise TypeError(f"dtype must be one of {tuple(_DTYPES)} (or the NumPy type), got {dtype!r}") from None
    return _DTYPES[check_choice(name, "dtype", tuple(_DTYPES))]


def inverse_hessian_factor(H, *, damp: float = 0.01, dtype="float64") -> tuple[np.ndarray, np.ndarray, float]:
    r"""Upper Cholesky factor ``U`` of :math:`H_\lambda^{-1}`, :math:`H_\lambda^{-1}=U^\top U`.

    Dead inputs (:math:`H_{jj}=0`) get :math:`H_{jj}=1`; then :math:`H_\lambda=H+\lambda I` with
    :math:`\lambda=` ``damp`` :math:`\cdot\,\mathrm{mean}(\mathrm{diag}\,H)`.

    ``U`` is computed without forming :math:`H_\lambda^{-1}`: with :math:`J` the order-reversing permutation,
    :math:`JH_\lambda J=MM^\top` (Cholesky, :math:`M` lower) gives :math:`H_\lambda=RR^\top` with
    :math:`R=JMJ` upper triangular, so :math:`U=R^{-1}=JM^{-1}J` is upper triangular with a positive diagonal and
    :math:`U^\top U=H_\lambda^{-1}`; by uniqueness of the Cholesky factor it is the factor of
    :math:`H_\lambda^{-1}`. One Cholesky and one triangular inverse (:math:`\tfrac23n^3` flops) replace
    Cholesky, inverse and a second Cholesky (:math:`2n^3` or more); the result agrees to rounding.

    Parameters
    ----------
    H : array_like, shape (n, n)
        Symmetric positive semi-definite Hessian.
    damp : float
        Relative damping, in ``[0, 1e6]`` (beyond, :math:`H_\lambda` is a multiple of the identity to
        rounding).
    dtype : {"float64", "float32"}
        Precision of the factorisation. The PSD check is always done in float64.

    Returns
    -------
    U : ndarray, shape (n, n), of ``dtype``
    dead : ndarray of bool, shape (n,)
    lam : float

    Raises
    ------
    ValueError
        if ``H`` is not symmetric positive semi-definite (checked *before* damping, up to a
        round-off allowance :math:`4n\varepsilon_{\rm mach}\,\mathrm{tr}\,H` with the float64
        :math:`\varepsilon_{\rm mach}`), or is singular with ``damp=0``.

    Examples
    --------
    >>> U, dead, lam = inverse_hessian_factor([[4.0, 0.0], [0.0, 1.0]], damp=0.0)
    >>> (U.round(12) + 0.0).tolist()  # + 0.0 turns a -0.0 of the triangular inverse into 0.0
    [[0.5, 0.0], [0.0, 1.0]]
    """
    H = check_array(H, "H", ndim=2)
    n = H.shape[0]
    H = _check_hessian(H, n)
    damp = check_real(damp, "damp", low=0.0, high=MAX_DAMP)
    dt = _check_dtype(dtype)
    U, dead, lam, unit = _inverse_hessian_factor(H, damp, dt)
    if unit != 1.0:
        with np.errstate(over="ignore"):
            U = (U.astype(np.float64) * unit).astype(dt)
        if not np.all(np.isfinite(U)):
            raise ValueError(f"H is too small for a {np.dtype(dt).name} factor of its inverse (U overflows); "
                             "use dtype='float64' or rescale H")
    return U, dead, lam


def _inverse_hessian_factor(H: np.ndarray, damp: float, dt) -> tuple[np.ndarray, np.ndarray, float, float]:
    """``(U', dead, lam, unit)`` with ``U = unit * U'`` the factor of the damped inverse.

    In float64 ``unit = 1``. In float32 the damped ``H`` is divided by the mean of its diagonal before the cast
    (``unit = 1/sqrt(mean)``), so that a Hessian at any float64 scale neither underflows nor overflows float32;
    GPTQ's feedback only uses ratios of entries of ``U``, so the kernel can run on ``U'``.
    """
    n = H.shape[0]
    H = np.array(H, dtype=np.float64, order="F")  # symmetric, so the Fortran copy is H itself
    dead = np.diag(H) == 0
    H[dead, dead] = 1.0
    # PSD check *before* damping, so that damping cannot hide a negative eigenvalue: Cholesky of
    # H + delta I with delta = 4 n eps tr(H), above the backward error of Cholesky on a PSD matrix
    # (Higham, Accuracy and Stability, thm 10.7: |dH| <~ n eps |H|), so a rank-deficient PSD H passes.
    delta = 4.0 * n * np.finfo(np.float64).eps * float(np.trace(H))
    diag = np.diag_indices(n)
    Hc = H.copy(order="F")
    Hc[diag] += delta
    if lapack.dpotrf(Hc, lower=1, clean=0, overwrite_a=1)[1] != 0:
        raise ValueError(
            "H must be positive semi-definite (it has a negative eigenvalue below "
            f"-{delta:.2e} = -4 n eps tr H; damping is not applied to hide it)"
        )
    lam = damp * float(np.mean(np.diag(H)))
    H[diag] += lam
    if not np.all(np.isfinite(np.diag(H))):
        raise ValueError("H + damp * mean(diag H) * I overflows the float range; rescale H")
    unit = 1.0
    if dt is not np.float64:
        mean = float(np.mean(np.diag(H)))
        H /= mean
        unit = 1.0 / np.sqrt(mean)
    K = np.array(H[::-1, ::-1], dtype=dt, order="F")  # J H_lambda J
    potrf, trtri = (lapack.dpotrf, lapack.dtrtri) if dt is np.float64 else (lapack.spotrf, lapack.strtri)
    M, info = potrf(K, lower=1, clean=1, overwrite_a=1)
    if info == 0:
        Minv, info = trtri(M, lower=1, overwrite_c=1)
    if info != 0:
        raise ValueError(
            "H must be positive semi-definite (Cholesky of H + damp*mean(diag H)*I failed); "
            "check H, or increase damp if H is singular"
        )
    return np.ascontiguousarray(Minv[::-1, ::-1]), dead, lam, unit


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


_TILE = 64  # rows of W per kernel task: a (block x 64) panel of W and of the errors stays in the L2 cache


@njit(cache=True, parallel=True)
def _gptq_block(Wb, Ub, levels, maxq, xmin, xmax, Qb, Eb, ss, sat):  # pragma: no cover - compiled
    """One block of GPTQ columns, in place, rows in independent tiles (GPTQ never mixes rows).

    ``Wb`` (b, m): current weights of the block's columns (transposed: a column of W is a row here), updated in
    place by the in-block error feedback; ``Ub`` (b, b): the block's diagonal block of U; ``levels``/``maxq``: grid
    sizes (int) and ``levels - 1`` in the working dtype; ``xmin``/``xmax`` (m,): row ranges. Writes the quantised
    columns ``Qb``, the scaled errors ``Eb = (w - q) / U_jj``, per-tile sums of squared errors ``ss`` (tiles, b) and
    per-tile saturation counts ``sat`` (tiles, b). Every entry goes through the same operations in the same order as
    in :func:`_gptq_block_numpy`, so the two agree bit for bit.
    """
    b, m = Wb.shape
    n_tiles = ss.shape[0]
    for t in prange(n_tiles):
        r0 = t * _TILE
        r1 = min(r0 + _TILE, m)
        eps = np.empty(r1 - r0, dtype=Wb.dtype)  # this tile's scaled errors of the current column
        for jj in range(b):
            d = Ub[jj, jj]
            s = 0.0
            count = 0
            w = Wb[jj, r0:r1]
            q = Qb[jj, r0:r1]
            if levels[jj] <= 1:
                for i in range(r1 - r0):
                    e = w[i]
                    q[i] = 0.0
                    eps[i] = e / d
                    s += e * e
            else:
                top = maxq[jj]
                for i in range(r1 - r0):
                    lo = xmin[r0 + i]
                    scale = (xmax[r0 + i] - lo) / top
                    zero = np.rint(-lo / scale)
                    code = min(max(np.rint(w[i] / scale) + zero, 0.0), top)
                    q[i] = scale * (code - zero)
                    e = w[i] - q[i]
                    if abs(e) > (0.5 * scale) * (1 + 1e-12):
                        count += 1
                    eps[i] = e / d
                    s += e * e
            Eb[jj, r0:r1] = eps
            ss[t, jj] = s
            sat[t, jj] = count
            for kk in range(jj + 1, b):
                u = Ub[jj, kk]
                wk = Wb[kk, r0:r1]
                for i in range(r1 - r0):
                    wk[i] = wk[i] - u * eps[i]


def _gptq_block_numpy(Wb, Ub, levels, maxq, xmin, xmax, Qb, Eb, ss, sat):
    """Pure-NumPy reference of :func:`_gptq_block` (one column at a time, whole rows, no tiles)."""
    b, m = Wb.shape
    for t in range(ss.shape[0]):
        r = slice(t * _TILE, min((t + 1) * _TILE, m))
        for jj in range(b):
            w = Wb[jj, r]
            if levels[jj] <= 1:
                q = np.zeros_like(w)
                sat[t, jj] = 0
            else:
                scale = (xmax[r] - xmin[r]) / maxq[jj]
                zero = np.rint(-xmin[r] / scale)
                q = scale * (np.clip(np.rint(w / scale) + zero, 0, maxq[jj]) - zero)
                sat[t, jj] = np.count_nonzero(np.abs(w - q) > (0.5 * scale.astype(np.float64)) * (1 + 1e-12))
            e = w - q
            Qb[jj, r] = q
            Eb[jj, r] = e / Ub[jj, jj]
            s = np.float64(0.0)
            for v in e:  # sequential float64 sum of squares formed in the working dtype, as in the kernel
                s += v * v
            ss[t, jj] = s
            Wb[jj + 1:, r] -= Ub[jj, jj + 1:, None] * Eb[jj, r][None, :]


def gptq_quantize(W, H, bits, *, damp: float = 0.01, block_size: int = 128,
                  group_size: int | None = None, dtype="float64", engine: str = "numba") -> GPTQResult:
    r"""GPTQ with per-column bit-widths :math:`b_j` (levels :math:`2^{b_j}`).

    Minimises the layer loss :math:`\tfrac1N\|(W-Q)X\|_F^2` column by column with error feedback,
    :math:`H_\lambda^{-1}=U^\top U`: for :math:`j=1..n`, :math:`q_j=\mathrm{quant}(\tilde w_j)`,
    :math:`\varepsilon_j=(\tilde w_j-q_j)/U_{jj}`, :math:`\tilde w_k\mathrel{-}=\varepsilon_jU_{jk}` for
    :math:`k>j`. Column losses :math:`\ell_j=\sum_i e_{ij}^2/(2U_{jj}^2)` split the damped layer loss
    exactly (chapter *BAQ*, theorem :prf:ref:`baq-thm-decomposition`). The result does not depend on
    ``block_size`` (the lazy update only reorders exact arithmetic).

    Implementation: ``U`` from one Cholesky and one triangular inverse (:func:`inverse_hessian_factor`); inside a
    block a compiled kernel (Numba, rows in parallel tiles of 64) quantises each column and feeds its error to the
    block's later columns; the later blocks get one matrix product per block (BLAS). The float64 output equals the
    implementation it replaced (lossbook 617361e) to rounding: the quantised weights were bit-identical on every
    pinned case (``tests/quant/test_quant_gptq_pin.py``).

    Parameters
    ----------
    W : array_like, shape (m, n)
        Weights (rows: outputs, columns: inputs).
    H : array_like, shape (n, n)
        Symmetric PSD Hessian, usually :func:`hessian_from_inputs` of the calibration inputs.
    bits : float or array_like, shape (n,)
        Bits per column, :math:`\ge 0`, with :math:`2^{b_j}` an integer (so ``log2(3)`` is allowed).
    damp : float
        Relative damping: :math:`\lambda=` ``damp`` :math:`\cdot\,\mathrm{mean}(\mathrm{diag}\,H)`, in
        ``[0, 1e6]``.
    block_size : int
        Width of the lazily updated column blocks, ``>= 1``.
    group_size : int or None
        If given, the per-row range is refitted every ``group_size`` columns on the current
        (error-updated) weights of that group, as in GPTQ's grouping.
    dtype : {"float64", "float32"}
        Working precision of the factorisation and the column loop (the PSD check of ``H`` and the sums of squared
        errors are float64 in both). ``Q`` is returned in this dtype, ``column_loss`` and ``U_diag`` in float64.
        In float32 the Hessian is normalised by the mean of its diagonal first, so any float64 scale works.
        float32 is faster (``make bench`` times both); its layer loss relative to float64 is measured in the
        chapter *BAQ*.
    engine : {"numba", "numpy"}
        The compiled kernel, or its pure-NumPy reference (same operations, bit-identical, slow).

    Returns
    -------
    GPTQResult
        ``column_loss`` is ``inf`` only where the true loss exceeds the float range.

    Raises
    ------
    ValueError
        for bad arguments; an ``H`` that is not PSD, or singular with ``damp=0`` ("increase damp"); ``W``
        beyond the float32 range with ``dtype="float32"``.

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
    dt = _check_dtype(dtype)
    kernel = {"numba": _gptq_block, "numpy": _gptq_block_numpy}[check_choice(engine, "engine", ("numba", "numpy"))]
    damp = check_real(damp, "damp", low=0.0, high=MAX_DAMP)
    U, dead, lam, unit = _inverse_hessian_factor(H, damp, dt)

    if dt is not np.float64 and W.size and np.max(np.abs(W)) > np.finfo(dt).max:
        raise ValueError(f"W has entries beyond the {np.dtype(dt).name} range; use dtype='float64'")
    # Work on the transpose so that a column of W is a contiguous row in memory.
    Wt = np.array(W.T, dtype=dt, order="C")
    Wt[dead] = 0.0
    xmin, xmax = _row_range(Wt.T)
    maxq = (levels - 1).astype(dt)
    Qt = np.zeros_like(Wt)
    loss = np.zeros(n)
    sat = np.zeros(n, dtype=np.int64)
    d = np.diag(U).astype(np.float64) * unit  # the diagonal of the factor of H_lambda^{-1}, in float64
    # Blocks end at multiples of block_size and, with grouping, at every group start: a group's range is then fitted
    # at the start of a block, when every earlier column's feedback (lazy or not) has reached the whole group.
    starts = set(range(0, n, B)) | (set(range(0, n, g)) if g is not None else set())
    edges = sorted(starts) + [n]
    n_tiles = -(-m // _TILE)
    E = np.empty((min(max(np.diff(edges)), n), m), dtype=dt)
    ss = np.empty((n_tiles, E.shape[0]))
    counts = np.empty((n_tiles, E.shape[0]), dtype=np.int64)
    for i1, i2 in zip(edges[:-1], edges[1:], strict=True):
        b = i2 - i1
        if g is not None and i1 % g == 0:
            xmin, xmax = _row_range(Wt[i1:min(i1 + g, n)].T)
        kernel(Wt[i1:i2], np.ascontiguousarray(U[i1:i2, i1:i2]), levels[i1:i2], maxq[i1:i2], xmin, xmax,
               Qt[i1:i2], E[:b], ss[:, :b], counts[:, :b])
        with np.errstate(over="ignore", under="ignore"):
            loss[i1:i2] = (ss[:, :b].sum(axis=0) / d[i1:i2]) / (2.0 * d[i1:i2])  # no overflow of d**2
        sat[i1:i2] = counts[:, :b].sum(axis=0)
        if i2 < n:
            Wt[i2:] -= U[i1:i2, i2:].T @ E[:b]
    Q = np.ascontiguousarray(Qt.T)
    return GPTQResult(Q, loss, d, float(lam), dead, sat)
