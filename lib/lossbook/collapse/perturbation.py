r"""First-order perturbation of the vicinity-UFM minimiser and its spectrum near collapse.

Vectorisation stacks columns (``order="F"``). At a minimiser :math:`(W, H)` of
:math:`f(\cdot,\cdot;H_0)` the response to :math:`H_0 \to H_0 + \delta H_0` is, to first order
(Tirer, Huang & Niles-Weed 2023, Thm 4.1; chapter eq. :eq:`ncp-eq-operator`),

.. math::
   \operatorname{vec}\delta H = F\operatorname{vec}\delta H_0,\qquad
   F = \beta\,(A_{HH} - A_{HW}A_{WW}^{-1}A_{HW}^\top)^{-1},

with the Hessian blocks multiplied by :math:`N`:
:math:`A_{HH} = I_N\otimes W^\top W + (\lambda_H+\beta)I`,
:math:`A_{WW} = HH^\top\otimes I_K + \tfrac NK\lambda_W I`,
:math:`A_{HW} = E + H^\top\otimes W^\top` where column :math:`(i, k)` of :math:`E` is
:math:`\operatorname{vec}(e_i e_k^\top R)`, :math:`R = WH - Y`. The large-:math:`\beta` form
(paper eq. (5)) is
:math:`F_5 = (1-\lambda_H/\beta)I - \beta^{-1}I_N\otimes W^\top W + \beta^{-1}A_{HW}A_{WW}^{-1}A_{HW}^\top`.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .._rng import SeedLike, as_generator
from .._validate import check_array, check_int, check_real, pow2_exponent
from .ufm import MAX_MAGNITUDE, _check_HY, _decay

__all__ = [
    "EnergySplit",
    "intra_inter_energy",
    "HessianBlocks",
    "PerturbationSpectrum",
    "hessian_blocks",
    "operator_block",
    "perturbation_operator",
    "perturbation_spectrum",
]

_MAX_DN = 4000


class HessianBlocks(NamedTuple):
    """``N`` times the Hessian blocks of the vicinity objective in column-stacked coordinates."""

    hh: np.ndarray
    ww: np.ndarray
    hw: np.ndarray


class PerturbationSpectrum(NamedTuple):
    r"""Eigenvalues of an intra-class block :math:`F_{k,k}` (eq. (5), collapsed :math:`H_0`) with multiplicities.

    ``values[j]`` has multiplicity ``multiplicities[j]``; ``kinds[j]`` names the subspace.
    ``inter_class`` is the single nonzero singular value of an inter-class block :math:`F_{k,l}`.
    The singular values of the symmetric block are the absolute eigenvalues: ``sigma_max`` and
    ``sigma_min`` are their extremes. They equal :math:`1` and :math:`1-r/\beta` only when
    :math:`\beta\ge r`; for smaller :math:`\beta` an eigenvalue is negative.
    """

    values: np.ndarray
    multiplicities: np.ndarray
    kinds: tuple[str, ...]
    inter_class: float
    sigma_max: float
    sigma_min: float

    def expanded(self) -> np.ndarray:
        """All ``d n`` eigenvalues, sorted in decreasing order."""
        return np.sort(np.repeat(self.values, self.multiplicities))[::-1]


def _check_WHY(W, H, Y):
    H, Y = _check_HY(H, Y)
    K, N = Y.shape
    d = H.shape[0]
    W = check_array(W, "W", ndim=2, max_abs=MAX_MAGNITUDE)
    if W.shape != (K, d):
        raise ValueError(f"W must have shape (K, d) = ({K}, {d}) (K rows of Y, d rows of H), got {W.shape}")
    if d * N > _MAX_DN:
        raise ValueError(f"d * N must be <= {_MAX_DN} (dense (dN)^2 operators), got {d * N}")
    return W, H, Y


def hessian_blocks(W, H, Y, lam_w: float, lam_h: float, beta: float) -> HessianBlocks:
    r"""Analytic Hessian blocks :math:`(A_{HH}, A_{WW}, A_{HW})` of :math:`N f` (module docstring).

    Shapes: ``hh`` (dN, dN), ``ww`` (dK, dK), ``hw`` (dN, dK); ``vec(W)`` runs over ``k`` fastest.

    Examples
    --------
    >>> from lossbook.collapse import ufm_minimizer
    >>> m = ufm_minimizer(2, 2, 3, 0.5, 0.5)
    >>> [a.shape for a in hessian_blocks(m.W, m.H, m.Y, 0.5, 0.5, 10.0)]
    [(12, 12), (6, 6), (12, 6)]
    """
    W, H, Y = _check_WHY(W, H, Y)
    lam_w = _decay(lam_w, "lam_w", low_open=True)
    lam_h = _decay(lam_h, "lam_h", low_open=False)
    beta = _decay(beta, "beta", low_open=False)
    K, N = Y.shape
    d = H.shape[0]
    hh = np.kron(np.eye(N), W.T @ W) + (lam_h + beta) * np.eye(d * N)
    ww = np.kron(H @ H.T, np.eye(K)) + (N / K) * lam_w * np.eye(d * K)
    R = W @ H - Y
    E = np.zeros((d * N, d * K))
    for i in range(d):
        for k in range(K):
            # vec(e_i R[k, :]) has entries R[k, j] at positions j*d + i
            E[i::d, i * K + k] = R[k, :]
    hw = E + np.kron(H.T, W.T)
    return HessianBlocks(hh, ww, hw)


def _schur_term(blocks: HessianBlocks) -> np.ndarray:
    r"""Symmetrised :math:`A_{HW}A_{WW}^{-1}A_{HW}^\top` (the classifier's contribution to the reduced Hessian)."""
    try:
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            Z = blocks.hw @ np.linalg.solve(blocks.ww, blocks.hw.T)
    except np.linalg.LinAlgError:
        Z = None
    if Z is None or not np.all(np.isfinite(Z)):
        raise ValueError("A_WW = H H^T (x) I + (N/K) lam_w I is singular in floating point (lam_w negligible next "
                         "to ||H||^2): the classifier's Hessian block cannot be inverted; increase lam_w")
    return 0.5 * (Z + Z.T)


def _reduced_hessian(W, H, Y, lam_w: float, lam_h: float, beta: float) -> np.ndarray:
    r"""Exact Jacobian of :math:`H\mapsto G(H)+\beta(H-H_0)` at ``W = W^*(H)`` (no input checks).

    Differentiating :math:`N\nabla_H f(W^*(H),H)` with :math:`dW^* = -A_{WW}^{-1}A_{HW}^\top dH`
    (implicit function theorem on :math:`\nabla_W f = 0`) gives the Schur complement
    :math:`A_{HH}-A_{HW}A_{WW}^{-1}A_{HW}^\top`, valid at every ``H``, stationary or not.
    """
    blocks = hessian_blocks(W, H, Y, lam_w, lam_h, beta)
    return blocks.hh - _schur_term(blocks)


def perturbation_operator(
    W, H, Y, lam_w: float, lam_h: float, beta: float, *, approx: str = "exact"
) -> np.ndarray:
    r"""Linear map :math:`F` with :math:`\operatorname{vec}\delta H \approx F\operatorname{vec}\delta H_0`.

    Parameters
    ----------
    W, H : array_like
        A minimiser of the vicinity objective for some :math:`H_0` (e.g. from
        :func:`lossbook.collapse.solve_vicinity`, or the collapsed UFM minimiser, which is the
        minimiser when :math:`H_0 = H^*`).
    Y : array_like
        One-hot labels ``(K, N)``.
    lam_w, lam_h, beta : float
        ``lam_w > 0``, ``lam_h >= 0``, ``beta > 0``.
    approx : {"exact", "large_beta"}
        ``"exact"``: :math:`\beta(A_{HH} - A_{HW}A_{WW}^{-1}A_{HW}^\top)^{-1}` (Thm 4.1);
        ``"large_beta"``: the paper's eq. (5), accurate to :math:`O(\beta^{-2})`.

    Returns
    -------
    ndarray, shape (dN, dN)

    Raises
    ------
    ValueError
        If the Hessian block of the classifier or the reduced Hessian is singular in floating point
        at ``(W, H)`` (``lam_w`` negligible next to ``||H||^2``, or not a strict minimiser), or if
        the large-``beta`` expansion overflows (``beta`` tiny next to ``lam_h`` or ``||W||^2``).

    Examples
    --------
    >>> from lossbook.collapse import ufm_minimizer
    >>> m = ufm_minimizer(2, 2, 3, 0.5, 0.5)
    >>> F = perturbation_operator(m.W, m.H, m.Y, 0.5, 0.5, 100.0)
    >>> F5 = perturbation_operator(m.W, m.H, m.Y, 0.5, 0.5, 100.0, approx="large_beta")
    >>> float(np.linalg.norm(F - F5) / np.linalg.norm(F)) < 1e-3
    True
    """
    W, H, Y = _check_WHY(W, H, Y)
    lam_w = _decay(lam_w, "lam_w", low_open=True)
    lam_h = _decay(lam_h, "lam_h", low_open=False)
    beta = _decay(beta, "beta", low_open=True)
    if approx not in ("exact", "large_beta"):
        raise ValueError(f"approx must be 'exact' or 'large_beta', got {approx!r}")
    blocks = hessian_blocks(W, H, Y, lam_w, lam_h, beta)
    Z = _schur_term(blocks)
    if approx == "exact":
        S = blocks.hh - Z
        try:
            with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
                F = beta * np.linalg.solve(S, np.eye(S.shape[0]))
        except np.linalg.LinAlgError:
            F = None
        if F is None or not np.all(np.isfinite(F)):
            raise ValueError("the reduced Hessian A_HH - A_HW A_WW^-1 A_HW^T is singular in floating point at "
                             "(W, H): F is not determined there (not a strict minimiser)")
        return F
    if approx == "large_beta":
        d, N = H.shape
        with np.errstate(over="ignore", invalid="ignore"):
            F5 = (Z - np.kron(np.eye(N), W.T @ W)) / beta
            F5[np.diag_indices_from(F5)] += 1.0 - lam_h / beta
        if not np.all(np.isfinite(F5)):
            raise ValueError("the large-beta expansion overflows: beta is tiny next to lam_h, ||W||^2 or the "
                             "classifier term (use approx='exact' or a larger beta)")
        return F5
    raise ValueError(f"approx must be 'exact' or 'large_beta', got {approx!r}")


def operator_block(F, k: int, l: int, d: int, n: int) -> np.ndarray:
    r"""Block :math:`F_{k,l}` (``dn x dn``): class ``l`` of :math:`\delta H_0` to class ``k`` of :math:`\delta H`.

    Columns of ``H`` are ordered by class, ``n`` per class, so class ``k`` occupies entries
    ``k d n, ..., (k+1) d n - 1`` of the column-stacked vector.

    Examples
    --------
    >>> operator_block(np.arange(16.0).reshape(4, 4), 1, 0, d=1, n=2)
    array([[ 8.,  9.],
           [12., 13.]])
    """
    F = check_array(F, "F", ndim=2)
    d = check_int(d, "d", low=1)
    n = check_int(n, "n", low=1)
    if F.shape[0] != F.shape[1] or F.shape[0] % (d * n):
        raise ValueError(f"F must be square with size a multiple of d*n = {d * n}, got {F.shape}")
    K = F.shape[0] // (d * n)
    k = check_int(k, "k", low=0, high=K - 1)
    l = check_int(l, "l", low=0, high=K - 1)  # noqa: E741
    m = d * n
    return F[k * m:(k + 1) * m, l * m:(l + 1) * m]


class EnergySplit(NamedTuple):
    """Intra- vs inter-class energy of a response ``F vec(dH0)`` to random perturbations."""

    inter_share: float  # mean of sum_k ||inter_k||^2 / sum_k ||intra_k||^2
    intra_gain: float  # mean of sum_k ||intra_k||^2 / ||dH0||^2


def intra_inter_energy(F, K: int, d: int, n: int, *, n_draws: int = 200, seed: SeedLike) -> EnergySplit:
    r"""Split the response :math:`F\operatorname{vec}\delta H_0` to Gaussian perturbations by class blocks.

    For class :math:`k` the response is :math:`\sum_l F_{k,l}\,\delta H_{0,l}`; its *intra-class* part is the
    term :math:`l=k`, its *inter-class* part the rest. This measures, by energy rather than by
    operator norms, the statement of :prf:ref:`ncp-thm-spectrum` that perturbations act within their class.

    Parameters
    ----------
    F : array_like, shape (K d n, K d n)
        A response operator (:func:`perturbation_operator`), columns stacked by class as in the chapter.
    K, d, n : int
        Classes, feature dimension, samples per class.
    n_draws : int, default 200
        Number of independent standard Gaussian :math:`\delta H_0`, ``1 <= n_draws <= 10**5``.
    seed : int, SeedSequence or Generator
        Randomness of the draws.

    Returns
    -------
    EnergySplit
        ``inter_share`` is scale-free (computed from ``F`` rescaled exactly); ``intra_gain`` scales
        with ``F**2``; either is ``inf`` only where its true value exceeds the float range (for the
        share: intra-class responses below the float range next to inter-class ones).

    Examples
    --------
    >>> F = np.eye(2 * 1 * 2)                      # the identity acts within each class
    >>> intra_inter_energy(F, 2, 1, 2, n_draws=5, seed=0).inter_share
    0.0
    """
    K = check_int(K, "K", low=2)
    d = check_int(d, "d", low=1)
    n = check_int(n, "n", low=1)
    F = check_array(F, "F", ndim=2)
    m = d * n
    if F.shape != (K * m, K * m):
        raise ValueError(f"F must have shape ({K * m}, {K * m}) for K={K}, d={d}, n={n}, got {F.shape}")
    n_draws = check_int(n_draws, "n_draws", low=1, high=10**5)
    rng = as_generator(seed)
    # the share is scale-free: work with F divided exactly by a power of two, scale the gain back
    e2 = pow2_exponent(np.max(np.abs(F))) if F.size else 0
    F = np.ldexp(F, -e2)
    D = rng.standard_normal((K * m, n_draws))
    shares, gains = [], []
    intra = np.zeros_like(D)
    for k in range(K):
        blk = slice(k * m, (k + 1) * m)
        intra[blk] = F[blk, blk] @ D[blk]
    inter = F @ D - intra
    e_intra = np.sum(intra**2, axis=0)
    e_inter = np.sum(inter**2, axis=0)
    with np.errstate(over="ignore"):
        shares = e_inter / np.maximum(e_intra, np.finfo(float).tiny)
    gains = e_intra / np.sum(D**2, axis=0)
    with np.errstate(over="ignore", under="ignore"):
        gain = float(np.ldexp(np.mean(gains), 2 * e2))
    return EnergySplit(float(np.mean(shares)), gain)


def perturbation_spectrum(K: int, d: int, n: int, lam_w: float, lam_h: float, beta: float) -> PerturbationSpectrum:
    r"""Closed-form spectrum of the intra-class block of eq. (5) at an exactly collapsed :math:`H_0 = H^*`.

    With :math:`c = \sqrt{\lambda_W\lambda_H} < 1`, :math:`r = \sqrt{\lambda_H/\lambda_W}`, the
    eigenvalues :math:`1 - \mu/\beta` of :math:`F_{k,k}` (symmetric; its singular values are their absolute
    values) are
    (chapter theorem :prf:ref:`ncp-thm-spectrum`; derived here, the paper's App. D was not available):

    ==========================  =====================  ==========================================
    :math:`\mu`                 multiplicity           subspace
    ==========================  =====================  ==========================================
    :math:`0`                   :math:`d-K`            mean shift orthogonal to the frame
    :math:`\lambda_H`           :math:`(d-K)(n-1)`     within-class, orthogonal to the frame
    :math:`r`                   :math:`K(n-1)`         within-class, inside the frame
    :math:`2\lambda_H(1-c)`     :math:`K-1`            class-mean, inside the frame
    :math:`4\lambda_H(1-c)`     :math:`1`              class-mean, inside the frame
    ==========================  =====================  ==========================================

    and every inter-class block :math:`F_{k,l}` (:math:`k\ne l`) has rank one with singular value
    :math:`2\lambda_H(1-c)/\beta`. Zero-multiplicity rows are dropped.

    Parameters
    ----------
    K, d, n : int
        Classes ``K >= 2``, dimension ``d > K`` (the theorem's hypothesis), samples per class ``n >= 1``.
    lam_w, lam_h : float
        Positive, with ``lam_w * lam_h < 1`` (otherwise the minimiser is zero).
    beta : float
        ``beta > 0``; the formula is the large-``beta`` expansion.

    Returns
    -------
    PerturbationSpectrum
        An eigenvalue is ``-inf`` (and ``inter_class``, ``sigma_max`` ``inf``) only where
        :math:`\mu/\beta` exceeds the float range (tiny ``beta`` or extreme decays).

    Examples
    --------
    >>> s = perturbation_spectrum(4, 10, 10, 2 ** 0.5, 0.1, 100.0)
    >>> [round(float(v), 6) for v in s.values], s.multiplicities.tolist()
    ([1.0, 0.999, 0.997341, 0.998752, 0.997504], [6, 54, 36, 3, 1])
    """
    K = check_int(K, "K", low=2)
    d = check_int(d, "d", low=K + 1)
    n = check_int(n, "n", low=1)
    lam_w = check_real(lam_w, "lam_w", low=0.0, low_open=True)
    lam_h = check_real(lam_h, "lam_h", low=0.0, low_open=True)
    beta = check_real(beta, "beta", low=0.0, low_open=True)
    c = min(np.sqrt(lam_w) * np.sqrt(lam_h), 1.0)
    # lam_w lam_h < 1, tested as lam_h < 1/lam_w in float64 (inf where 1/lam_w overflows)
    with np.errstate(over="ignore", divide="ignore"):
        bound = np.float64(1.0) / np.float64(lam_w)
    if lam_h >= bound:
        raise ValueError(f"lam_w * lam_h must be < 1 (non-zero collapsed minimiser), got {lam_w * lam_h!r}")
    with np.errstate(over="ignore"):  # ratios beyond the float range are +-inf (documented)
        r = np.sqrt(lam_h) / np.sqrt(lam_w)
        mus = [0.0, lam_h, r, 2 * lam_h * (1 - c), 4 * lam_h * (1 - c)]
        mult = [d - K, (d - K) * (n - 1), K * (n - 1), K - 1, 1]
        kinds = ("mean, orthogonal", "within, orthogonal", "within, frame", "mean, frame", "mean, frame (all-ones)")
        keep = [i for i in range(5) if mult[i] > 0]
        values = np.array([1.0 - mus[i] / beta for i in keep])
        return PerturbationSpectrum(
            values,
            np.array([mult[i] for i in keep], dtype=np.int64),
            tuple(kinds[i] for i in keep),
            float(2 * lam_h * (1 - c) / beta),
            float(np.abs(values).max()),
            float(np.abs(values).min()),
        )
