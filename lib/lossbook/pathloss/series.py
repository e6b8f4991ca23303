r"""Exact reference: elementary dipole inside a homogeneous lossy sphere, vector spherical-wave series.

A tangential electric dipole ``p x`` (or magnetic dipole ``m y``) sits on the ``z`` axis at
``z0 = R - d`` inside a sphere of radius ``R`` and relative permittivity ``eps_c`` (``mu = mu_0``);
the receiver is on the same axis at ``z = R + r``. Expanding the dyadic Green's function in vector
spherical waves and matching tangential fields at ``r = R`` gives, on the boresight
(chapter eq. ``pl-series-E``, ``exp(-i w t)`` convention, ``h_n = h_n^{(1)}``),

.. math::
   E_x = i\omega^2\mu_0 k_1 p \sum_{n\ge1} \frac{2n+1}{8\pi}
         \Big[t^M_n h_n(\rho) j_n(s) + t^N_n \frac{\xi_n'(\rho)}{\rho}\frac{\psi_n'(s)}{s}\Big],

with ``rho = k0 z``, ``s = k1 z0`` and the transmission coefficients ``t^M_n``, ``t^N_n`` of the
interface. Every term is assembled from the overflow-free ratio tables of :mod:`._bessel`
(``h_n(rho)/h_n(k0 R)``, ``j_n(s)/j_n(k1 R)`` and log-derivatives), so no Bessel function is ever
formed on its own. Truncation: start from ``N = max(|k1 R| + 4|k1 R|^(1/3) + 40, ln(tol)/ln(z0/z) + 20)``
(terms decay like ``(z0/z)^n`` once ``n > |k1 R|``), then grow ``N`` by half until twice the geometric estimate of the
neglected remainder, ``2 |last term| q/(1-q)`` with ``q = z0/z``, is below ``tol`` times the sum at every
receiver (the factor 2 covers the algebraic n-dependence of the terms); the result reports ``n_terms``
and ``abs(last term) / abs(sum)``.
"""

from __future__ import annotations

import math
import warnings
from typing import NamedTuple

import numpy as np
from numba import njit
from numpy.typing import ArrayLike
from scipy.constants import c as C0
from scipy.constants import mu_0 as MU0

from .._validate import ENGINES, check_array, check_broadcast, check_choice, check_int, check_real
from ._bessel import _h_table, _h_table_numba, _j_table, _j_table_numba, _log_j0, _log_j0_numba
from .closed_form import boresight_power_density, free_space_path_loss_db
from .tissue import check_permittivity

__all__ = [
    "MAX_TERMS",
    "MIN_ELECTRICAL_SIZE",
    "SeriesTruncationWarning",
    "SphereField",
    "exact_free_space_path_loss_db",
    "halfspace_boresight_far_field",
    "series_terms",
    "sphere_boresight_field",
    "sphere_directivity_boresight",
    "sphere_power_out",
]

ETA0 = MU0 * C0

#: Largest number of series terms any function of this module computes. The series needs about
#: ``|k1 R| + 4 |k1 R|^(1/3) + 40`` terms, and more for a receiver close to the surface above a shallow
#: source; a problem that needs more than this is refused up front (``ValueError`` with the estimate),
#: since the recurrences would run for minutes (``R = 1e6`` m at 2.45 GHz needs ~4e8 terms).
MAX_TERMS = 20000
#: Smallest electrical sizes ``k0 R`` and ``|k1 R|`` accepted: below them the Bessel ratio tables
#: overflow (``h_n(x) ~ (2n-1)!!/x^(n+1)``); such a sphere is electrically a point (quasi-static).
MIN_ELECTRICAL_SIZE = 1e-6
#: Largest receiver argument ``k0 (R + r)`` accepted by :func:`sphere_boresight_field` (the phase of
#: ``exp(i k0 r)`` is not representable beyond it).
MAX_RHO = 1e300
#: Receiver argument beyond which :func:`exact_free_space_path_loss_db` uses the ratio of the exact
#: to the ray-optics density at ``k0 (R + r) = FAR_RHO``: its corrections are O(1/(k0 r)) < 1e-100.
FAR_RHO = 1e100


class SeriesTruncationWarning(UserWarning):
    """The series needed more terms than ``n_cap`` allows; the result may not be converged."""


class SphereField(NamedTuple):
    """Boresight field of a dipole inside a sphere (``E`` V/m, ``H`` A/m, ``S`` W/m^2)."""

    E: np.ndarray
    """x-component of the electric field at each ``r`` (complex, in the input's time convention)."""
    H: np.ndarray
    """y-component of the magnetic field at each ``r`` (complex)."""
    S: np.ndarray
    """Time-averaged radial power density ``Re(E H*)/2``, W/m^2."""
    n_terms: int
    """Number of series terms used."""
    tail: np.ndarray
    """``abs(last term) / abs(sum)`` at each ``r``: an a-posteriori truncation indicator."""


# ----------------------------------------------------------------------------------------------
# Coefficient tables (depend on f, eps, R, d only) and the per-receiver sums.

def _coefficients(x0, x1, s, m, N, magnetic, h_table, j_table, log_j0):
    """Return (cM, cN, logh_x0, w) with the M- and N-wave source-times-transmission coefficients.

    ``cM[n] * h_n(rho)/h_n(x0)`` is the M-wave term of ``E_x``, ``cN[n] * h_n(rho)/h_n(x0) * D^xi_n(rho)``
    the N-wave term (prefactor excluded); see the chapter for the derivation.
    """
    q0, dxi0, logh0 = h_table(x0, N)
    p1, dpsi1, logj1 = j_table(x1, N)
    nn = np.arange(N + 1)
    w = (2.0 * nn + 1.0) / (8.0 * np.pi)
    jr = np.zeros(N + 1, dtype=np.complex128)   # j_n(s)/j_n(x1)
    g = np.zeros(N + 1, dtype=np.complex128)    # (psi_n'(s)/s)/j_n(x1)
    if s != 0:
        ps, dpsis, logjs = j_table(s, N)
        jr[1:] = np.exp(logjs[1:] - logj1[1:])
        g[1:] = jr[1:] * dpsis[1:]
    else:
        # source at the centre: j_n(0) = 0 for n >= 1 and psi_n'(s)/s -> 2/3 for n = 1 only.
        g[1] = (2.0 / 3.0) * np.exp(-logj1[1])
    denM = x0 * x1 * (dxi0 - m * dpsi1)
    denN = x0 * x1 * (m * dxi0 - dpsi1)
    denM[0] = 1.0
    denN[0] = 1.0
    if magnetic:
        cM = 1j * w * g / denM
        cN = -1j * w * jr / denN
    else:
        cM = 1j * w * jr / denM
        cN = 1j * w * g / denN
    cM[0] = 0.0
    cN[0] = 0.0
    return q0, cM, cN, logh0, w


def _boresight_sums_numpy(x0, rho, q0, cM, cN):
    """Pure NumPy reference: loop over n, vectorised over the receiver arguments ``rho``."""
    N = cM.shape[0] - 1
    hr = (x0 / rho) * np.exp(1j * (rho - x0))          # h_0(rho)/h_0(x0)
    qr = 1.0 / rho - 1j
    Es = np.zeros(rho.shape, dtype=np.complex128)
    Hs = np.zeros(rho.shape, dtype=np.complex128)
    last = np.zeros(rho.shape)
    for n in range(1, N + 1):
        if n > 1:
            qr = (2.0 * n - 1.0) / rho - 1.0 / qr
        hr = hr * (qr / q0[n])                         # h_n(rho)/h_n(x0), |.| <= 1 for rho >= x0
        dr = 1.0 / qr - n / rho
        tE = hr * (cM[n] + cN[n] * dr)
        Es += tE
        Hs += hr * (cM[n] * dr - cN[n])
        last = np.abs(tE)
    return Es, Hs, last


@njit(cache=True)
def _boresight_sums_numba(x0, rho, q0, cM, cN):
    # Same recurrence as the NumPy reference, arranged for one complex division per term, with a
    # rigorous early exit: for n > x0 the Hankel ratio |h_n(rho)/h_n(x0)| decreases with n, so the
    # remaining terms are bounded by |ratio| * max_{m>n}(|cM|+|cN|) * (2 + (N+1)/rho) * (N - n).
    N = cM.shape[0] - 1
    iq0 = np.empty(N + 1, dtype=np.complex128)
    iq0[0] = 0.0
    for n in range(1, N + 1):
        iq0[n] = 1.0 / q0[n]
    suf = np.zeros(N + 2)
    for n in range(N, 0, -1):
        v = abs(cM[n]) + abs(cN[n])
        suf[n] = v if v > suf[n + 1] else suf[n + 1]
    Es = np.zeros(rho.shape[0], dtype=np.complex128)
    Hs = np.zeros(rho.shape[0], dtype=np.complex128)
    last = np.zeros(rho.shape[0])
    for i in range(rho.shape[0]):
        x = rho[i]
        ix = 1.0 / x
        dmax = 2.0 + (N + 1.0) * ix
        hr = (x0 * ix) * np.exp(1j * (x - x0))
        qr = ix - 1j
        e = 0j
        h = 0j
        t = 0.0
        for n in range(1, N + 1):
            iq = 1.0 / qr
            hr = hr * (qr * iq0[n])
            dr = iq - n * ix
            tE = hr * (cM[n] + cN[n] * dr)
            e += tE
            h += hr * (cM[n] * dr - cN[n])
            t = abs(tE)
            if n > x0 + 1.0 and (n & 7) == 0:
                if abs(hr) * suf[n + 1] * dmax * (N - n) < 1e-17 * abs(e):
                    break
            qr = (2.0 * n + 1.0) * ix - iq
        Es[i] = e
        Hs[i] = h
        last[i] = t
    return Es, Hs, last


def _get_coefficients(engine):
    if engine == "numba":
        return lambda x0, x1, s, m, N, mag: _coefficients(x0, x1, s, m, N, mag, _h_table_numba,
                                                          _j_table_numba, _log_j0_numba)
    return lambda x0, x1, s, m, N, mag: _coefficients(x0, x1, s, m, N, mag, _h_table, _j_table, _log_j0)


# ----------------------------------------------------------------------------------------------
# Argument handling shared by the public functions.

class _Problem(NamedTuple):
    k0: float
    k1: complex
    x0: float
    x1: complex
    s: complex
    n: complex
    omega: float
    engineering: bool


def _setup(f, eps_c, R, d) -> _Problem:
    f = check_real(f, "f", low=0.0, low_open=True)
    R = check_real(R, "R", low=0.0, low_open=True)
    d = check_real(d, "d", low=0.0, low_open=True)
    if d > R:
        raise ValueError(f"d must lie in (0, R] = (0, {R!r}], got {d!r}: the source must be inside the sphere")
    eps = complex(check_permittivity(eps_c).reshape(-1)[0]) if np.ndim(eps_c) == 0 else None
    if eps is None:
        raise TypeError("eps_c must be a scalar (complex) permittivity")
    engineering = eps.imag < 0
    if engineering:
        eps = eps.conjugate()  # work in exp(-i w t): Im eps >= 0, Im n >= 0
    n = complex(np.sqrt(eps))
    # electrical sizes in logarithms (f R may overflow): refuse before anything is tabulated
    log_x0 = math.log(2.0 * math.pi / C0) + math.log(f) + math.log(R)
    log_x1 = log_x0 + math.log(abs(n))
    if min(log_x0, log_x1) < math.log(MIN_ELECTRICAL_SIZE):
        raise ValueError(
            f"the sphere is electrically too small for the series: k0 R = {math.exp(log_x0):.3g}, |k1 R| = "
            f"{math.exp(log_x1):.3g} (from f, R and eps_c); both must be at least {MIN_ELECTRICAL_SIZE:g}")
    if log_x1 > math.log(MAX_TERMS):
        est = math.exp(min(log_x1, 700.0))
        raise ValueError(
            f"the series would need about {est:.3g} terms (|k1 R| = {est:.3g} from f, R and eps_c), more than "
            f"the limit of MAX_TERMS = {MAX_TERMS}; the body is electrically too large for the exact series "
            "(use the closed form, e.g. free_space_path_loss_db, or halfspace_boresight_far_field)")
    # the field prefactors are ~ w^3 mu0 |n|^2 / c: refuse frequencies at which they overflow
    log_pref = 3.0 * math.log(2.0 * math.pi * f) + math.log(MU0) + 2.0 * math.log(max(abs(n), 1.0)) - math.log(C0)
    if log_pref > 300.0:  # squared in the power: stays below ~1e260
        raise ValueError(f"f = {f:.3g} Hz is too high: the field prefactor w^3 mu0 |n|^2 / c overflows float64")
    omega = 2.0 * np.pi * f
    k0 = omega / C0
    k1 = n * k0
    x0 = math.exp(log_x0)  # k0 R without overflow of k0 or of the product
    z0_over_R = (R - d) / R
    return _Problem(k0, n * x0 / R if R > 0 else k1, x0, n * x0, n * x0 * z0_over_R, n, omega, engineering)


def _log_q(R, d, r):
    """``log(z0/z)`` for the source at ``z0 = R - d`` and the receiver at ``z = R + r`` (accurate near 0)."""
    return math.log1p(-(d + r) / (R + r)) if (d + r) < (R + r) else -math.inf


def _n_terms(pb: _Problem, R, d, r_min, tol, nmax, n_cap):
    if nmax is not None:
        return check_int(nmax, "nmax", low=1, high=MAX_TERMS)
    ax1 = abs(pb.x1)
    n1 = ax1 + 4.0 * ax1 ** (1.0 / 3.0) + 40.0
    log_q = _log_q(R, d, r_min)
    n2 = 0.0 if log_q == -math.inf else math.log(tol) / log_q + 20.0
    need = max(n1, n2)
    if need > MAX_TERMS:
        raise ValueError(
            f"the series would need about {need:.3g} terms (receiver r = {r_min!r} m close to the surface above a "
            f"source at depth d = {d!r} m in a sphere of R = {R!r} m, for tol = {tol:g}), more than the limit of "
            f"MAX_TERMS = {MAX_TERMS}; move the receiver away from the surface or raise tol")
    N = int(math.ceil(need))
    if N > n_cap:
        warnings.warn(
            f"the series needs about {N} terms (receiver close to the surface above a shallow source); "
            f"truncated at n_cap={n_cap}. Raise n_cap or move the receiver away from the surface.",
            SeriesTruncationWarning, stacklevel=3,
        )
        N = n_cap
    return N


def _check_receiver(pb: _Problem, R: float, r_max: float) -> None:
    log_rho = math.log(pb.k0) + math.log(R + r_max)
    if log_rho > math.log(MAX_RHO):
        raise ValueError(f"r: a receiver is too far for the series, k0 (R + r) = {math.exp(min(log_rho, 700.0)):.3g} "
                         f"exceeds MAX_RHO = {MAX_RHO:g} (its phase is not representable); the field there is the "
                         "far field ~ 1/r")


def _prefactors(pb: _Problem, source):
    if source == "electric":
        KE = 1j * pb.omega**2 * MU0 * pb.k1
    else:
        KE = -pb.omega * MU0 * pb.k1**2   # phase fixed by the free-space magnetic dipole (Jackson 9.36)
    KH = KE * pb.k0 / (1j * pb.omega * MU0)
    return KE, KH


def _scalar_moment(moment) -> complex:
    arr = check_array(moment, "moment", dtype=np.complex128)
    if arr.ndim != 0:
        raise TypeError(f"moment must be a scalar, got shape {arr.shape}")
    return complex(arr)


def _check_source(source):
    check_choice(source, "source", ("electric", "magnetic"))


def _check_engine(engine):
    check_choice(engine, "engine", ENGINES)


def sphere_boresight_field(f: float, eps_c: complex, R: float, d: float, r: ArrayLike, *, source: str = "electric",
                           moment: complex = 1.0, tol: float = 1e-12, nmax: int | None = None,
                           n_cap: int = 20000, engine: str = "numba") -> SphereField:
    r"""Exact boresight field of a tangential dipole inside a lossy sphere (chapter eq. ``pl-series-E``).

    Parameters
    ----------
    f : float
        Frequency, Hz, > 0.
    eps_c : complex
        Relative permittivity of the sphere; either sign of ``Im eps_c`` (engineering ``exp(+jwt)``
        for ``Im < 0``, physics ``exp(-iwt)`` for ``Im >= 0``). Complex outputs are returned in the
        same convention; ``|E|`` and ``S`` do not depend on it.
    R : float
        Sphere radius, m, > 0 (finite; see :func:`halfspace_boresight_far_field` for a flat body).
    d : float
        Source depth below the surface, m, in ``(0, R]`` (``d = R``: source at the centre).
    r : array_like
        Receiver distances from the surface along the boresight, m, >= 0.
    source : {"electric", "magnetic"}
        x-directed electric dipole of moment ``p`` (C m) or y-directed magnetic dipole ``m`` (A m^2).
    moment : complex
        Dipole moment ``p`` or ``m``.
    tol : float
        Target relative truncation error, in ``(0, 1)``; sets the number of terms.
    nmax : int, optional
        Use exactly this many terms (overrides ``tol``), in ``[1, MAX_TERMS]``, e.g. to test convergence.
    n_cap : int
        Largest number of terms allowed, in ``[1, MAX_TERMS]``; beyond it a :class:`SeriesTruncationWarning`
        is issued.
    engine : {"numba", "numpy"}
        Compiled kernel or the pure NumPy reference (same results).

    Returns
    -------
    SphereField
        ``E`` (V/m), ``H`` (A/m), ``S`` (W/m^2), ``n_terms``, ``tail``.

    Raises
    ------
    ValueError
        Up front, with the estimate, when the series would need more than :data:`MAX_TERMS` terms
        (an electrically large body, ``|k1 R|`` above the limit, or a receiver too close to the
        surface above a very shallow source), or when the sphere is electrically smaller than
        :data:`MIN_ELECTRICAL_SIZE`; every loop is thereby bounded. Also when a receiver is too far,
        ``k0 (R + r) > MAX_RHO``, or when ``f`` is so high that the field prefactor overflows.

    Examples
    --------
    >>> out = sphere_boresight_field(2.45e9, 52.7 - 12.8j, 0.1, 0.02, [0.5, 1.0])
    >>> out.S.shape, bool(out.S[0] > out.S[1] > 0), bool(np.all(out.tail < 1e-10))
    ((2,), True, True)
    """
    _check_source(source)
    _check_engine(engine)
    tol = check_real(tol, "tol", low=0.0, high=1.0, low_open=True, high_open=True)
    n_cap = check_int(n_cap, "n_cap", low=1, high=MAX_TERMS)
    if nmax is not None:
        check_int(nmax, "nmax", low=1, high=MAX_TERMS)
    r = check_array(r, "r", low=0.0)
    mom = _scalar_moment(moment)
    pb = _setup(f, eps_c, R, d)
    R, d = float(R), float(d)
    shape = r.shape
    rr = r.reshape(-1)
    r_min = float(rr.min()) if rr.size else 0.0
    N = _n_terms(pb, R, d, r_min, tol, nmax, n_cap)
    if rr.size:
        _check_receiver(pb, R, float(rr.max()))
    rho = np.ascontiguousarray(pb.k0 * (R + rr))
    log_q = _log_q(R, d, r_min)
    geo = 0.0 if log_q == -math.inf else math.exp(log_q) / -math.expm1(log_q)
    sums = _boresight_sums_numba if engine == "numba" else _boresight_sums_numpy
    while True:
        q0, cM, cN, _, _ = _get_coefficients(engine)(pb.x0, pb.x1, pb.s, pb.n, N, source == "magnetic")
        Es, Hs, last = sums(pb.x0, rho, q0, cM, cN)
        # a-posteriori check: beyond |k1 R| the terms fall geometrically with ratio q = z0/z, so the
        # neglected remainder is about last * q/(1 - q); require it below tol, else grow N by half.
        # Factor 2: the terms carry an algebraic factor in n, so their ratio is q (1 + O(1/n)) and the
        # pure geometric estimate is low (measured: actual remainder 7% above it at r = 0, q = 0.8).
        with np.errstate(divide="ignore", invalid="ignore"):
            worst = float(np.max(np.where(np.abs(Es) > 0, last / np.abs(Es), 0.0), initial=0.0))
        worst *= 2.0 * geo
        if nmax is not None or worst <= tol or N >= n_cap:
            break
        N = min(int(1.5 * N) + 1, n_cap)
        if N == n_cap:
            warnings.warn(f"the series reached n_cap={n_cap} terms before the last term fell below tol",
                          SeriesTruncationWarning, stacklevel=2)
    KE, KH = _prefactors(pb, source)
    E = KE * Es
    H = KH * Hs
    if pb.engineering:
        E, H = np.conj(E), np.conj(H)
    E, H = E * mom, H * mom
    S = 0.5 * np.real(E * np.conj(H))
    with np.errstate(divide="ignore", invalid="ignore"):
        tail = np.where(np.abs(Es) > 0, last / np.abs(Es), 0.0)
    return SphereField(E.reshape(shape), H.reshape(shape), S.reshape(shape), N, tail.reshape(shape))


def series_terms(f: float, eps_c: complex, R: float, d: float, r: float, *, nmax: int,
                 source: str = "electric") -> np.ndarray:
    """Magnitudes ``|E_x term n| / |E_x|`` for ``n = 1..nmax`` at one receiver (convergence plots).

    Parameters
    ----------
    f, eps_c, R, d, source
        As in :func:`sphere_boresight_field`.
    r : float
        One receiver distance from the surface, m, >= 0.
    nmax : int
        Number of terms, >= 1.

    Returns
    -------
    ndarray of float, shape (nmax,)

    Raises
    ------
    ValueError
        When the series would need more than :data:`MAX_TERMS` terms or the sphere is electrically
        smaller than :data:`MIN_ELECTRICAL_SIZE` (see :func:`sphere_boresight_field`).

    Examples
    --------
    >>> t = series_terms(434e6, 56.9 - 33.3j, 0.2, 0.01, 1.0, nmax=80)
    >>> bool(t[-1] < 1e-12 * t.max())
    True
    """
    _check_source(source)
    nmax = check_int(nmax, "nmax", low=1, high=MAX_TERMS)
    r = check_real(r, "r", low=0.0)
    pb = _setup(f, eps_c, R, d)
    _check_receiver(pb, float(R), r)
    q0, cM, cN, _, _ = _get_coefficients("numpy")(pb.x0, pb.x1, pb.s, pb.n, nmax, source == "magnetic")
    rho = pb.k0 * (R + r)
    hr = (pb.x0 / rho) * np.exp(1j * (rho - pb.x0))
    qr = 1.0 / rho - 1j
    terms = np.zeros(nmax, dtype=np.complex128)
    for n in range(1, nmax + 1):
        if n > 1:
            qr = (2.0 * n - 1.0) / rho - 1.0 / qr
        hr = hr * (qr / q0[n])
        terms[n - 1] = hr * (cM[n] + cN[n] * (1.0 / qr - n / rho))
    return np.abs(terms) / abs(terms.sum())


def _power_and_boresight(f, eps_c, R, d, source, tol, nmax, engine):
    _check_source(source)
    _check_engine(engine)
    tol = check_real(tol, "tol", low=0.0, high=1.0, low_open=True, high_open=True)
    if nmax is not None:
        check_int(nmax, "nmax", low=1, high=MAX_TERMS)
    pb = _setup(f, eps_c, R, d)
    # only the outgoing amplitudes matter (rho -> inf): terms decay like (z0/R)^n beyond |k1 R|
    N = _n_terms(pb, float(R), float(d), float(R) * 1e-3, tol, nmax, MAX_TERMS)
    q0, cM, cN, logh0, w = _get_coefficients(engine)(pb.x0, pb.x1, pb.s, pb.n, N, source == "magnetic")
    inv_h = np.zeros(N + 1, dtype=np.complex128)
    inv_h[1:] = np.exp(-logh0[1:])                     # 1/h_n(k0 R): tiny, never overflows
    nn = np.arange(N + 1)
    wp = np.where(nn > 0, w, 1.0)
    power_sum = float(np.sum((np.abs(cM) ** 2 + np.abs(cN) ** 2) * np.abs(inv_h) ** 2 / wp))
    # far field: h_n(rho) -> (-i)^{n+1} e^{i rho}/rho and xi_n'/xi_n -> i
    phase = (-1j) ** ((nn + 1) % 4)
    far_sum = complex(np.sum(phase * (cM + 1j * cN) * inv_h))
    KE, _ = _prefactors(pb, source)
    return pb, KE, power_sum, far_sum, N


def sphere_power_out(f: float, eps_c: complex, R: float, d: float, *, source: str = "electric",
                     moment: complex = 1.0, tol: float = 1e-12, nmax: int | None = None,
                     engine: str = "numba") -> float:
    r"""Total power escaping the sphere, W (:ref:`pl-sec-directivity`).

    .. math:: P_{\rm out} = \frac{|K|^2}{2\eta_0 k_0^2}\sum_n \frac{2n+1}{8\pi}\big(|\alpha_n|^2+|\beta_n|^2\big),

    where ``alpha_n``, ``beta_n`` are the outgoing M- and N-wave amplitudes and
    ``K = i w^2 mu0 k1 p`` (electric) or ``-w mu0 k1^2 m`` (magnetic).

    Parameters
    ----------
    f, eps_c, R, d, source, moment, tol, nmax, engine
        As in :func:`sphere_boresight_field`.

    Returns
    -------
    float
        Power in W.

    Raises
    ------
    ValueError
        When the series would need more than :data:`MAX_TERMS` terms or the sphere is electrically
        smaller than :data:`MIN_ELECTRICAL_SIZE` (see :func:`sphere_boresight_field`).

    Examples
    --------
    >>> from scipy.constants import c, mu_0
    >>> w = 2 * np.pi * 1e9
    >>> P = sphere_power_out(1e9, 1.0, 0.1, 0.05)       # empty sphere: free-space dipole
    >>> bool(abs(P / (w**4 * mu_0 / (12 * np.pi * c)) - 1) < 1e-10)
    True
    """
    mom = _scalar_moment(moment)
    pb, KE, psum, _, _ = _power_and_boresight(f, eps_c, R, d, source, tol, nmax, engine)
    return float(abs(KE) ** 2 / (2.0 * ETA0 * pb.k0**2) * psum * abs(mom) ** 2)


def sphere_directivity_boresight(f: float, eps_c: complex, R: float, d: float, *, source: str = "electric",
                                 tol: float = 1e-12, nmax: int | None = None, engine: str = "numba") -> float:
    r"""Boresight directivity :math:`D_0 = 4\pi U(0)/P_{\rm out}` of implant plus body (linear, not dB).

    Parameters
    ----------
    f, eps_c, R, d, source, tol, nmax, engine
        As in :func:`sphere_boresight_field` (the directivity does not depend on the moment).

    Returns
    -------
    float

    Raises
    ------
    ValueError
        When the series would need more than :data:`MAX_TERMS` terms or the sphere is electrically
        smaller than :data:`MIN_ELECTRICAL_SIZE` (see :func:`sphere_boresight_field`).

    Examples
    --------
    >>> round(sphere_directivity_boresight(1e9, 1.0, 0.1, 0.1), 12)   # dipole at the centre of nothing
    1.5
    """
    pb, KE, psum, fsum, _ = _power_and_boresight(f, eps_c, R, d, source, tol, nmax, engine)
    return float(4.0 * np.pi * abs(fsum) ** 2 / psum)


def halfspace_boresight_far_field(f: ArrayLike, eps_c: ArrayLike, d: ArrayLike, r: ArrayLike, *,
                                  moment: complex = 1.0) -> np.ndarray:
    r"""Far field of an x-directed electric dipole at depth ``d`` below a flat tissue-air interface.

    By reciprocity with a plane wave at normal incidence (chapter eq. :eq:`pl-flat-exact`),

    .. math:: E_x(r) = \frac{\omega^2\mu_0 p\, e^{ik_0 r}}{4\pi r}\,\frac{2}{1+n}\,e^{ik_1 d},
              \qquad k_0 r\to\infty,

    returned in the time convention of ``eps_c`` (``exp(-iwt)`` if ``Im eps_c >= 0``).

    Parameters
    ----------
    f : array_like
        Frequency, Hz, > 0.
    eps_c : array_like of complex
        Permittivity of the half-space (either sign of the imaginary part).
    d : array_like
        Depth of the dipole, m, > 0.
    r : array_like
        Distance of the receiver from the surface, m, > 0 (far zone).
    moment : complex
        Dipole moment ``p``, C m.

    Returns
    -------
    numpy.ndarray of complex
        :math:`E_x`, V/m; its modulus is computed in logarithms, so it is ``inf`` (or 0) only where
        the true value lies beyond the float range.

    Raises
    ------
    ValueError
        If the phase ``k0 r`` or ``Re(n) k0 d`` exceeds the float range (``f r`` near ``1e308``).

    Examples
    --------
    >>> E = halfspace_boresight_far_field(1e9, 1.0, 0.01, 100.0)
    >>> bool(abs(abs(E) - (2 * np.pi * 1e9) ** 2 * 4e-7 * np.pi / (4 * np.pi * 100.0)) < 1e-6 * abs(E))
    True
    """
    f = check_array(f, "f", low=0.0, low_open=True)
    d = check_array(d, "d", low=0.0, low_open=True)
    r = check_array(r, "r", low=0.0, low_open=True)
    eps = check_permittivity(eps_c)
    mom = _scalar_moment(moment)
    check_broadcast(("f", f), ("eps_c", eps), ("d", d), ("r", r))
    eng = eps.imag < 0
    eps = np.where(eng, np.conj(eps), eps)
    n = np.sqrt(eps)
    # modulus in logarithms (inf or 0 only beyond the float range), phase reduced modulo 2 pi
    log_k0 = np.log(2.0 * np.pi / C0) + np.log(f)
    with np.errstate(over="ignore", invalid="ignore"):
        k0r = np.exp(log_k0 + np.log(r))
        k0d = np.exp(log_k0 + np.log(d))
        log_mag = (2.0 * (np.log(2.0 * np.pi) + np.log(f)) + np.log(MU0) - np.log(4.0 * np.pi) - np.log(r)
                   + np.log(2.0) - np.log(np.abs(1.0 + n)) - n.imag * k0d)
        phase = np.fmod(k0r, 2.0 * np.pi) + np.fmod(n.real * k0d, 2.0 * np.pi) - np.angle(1.0 + n)
    # where the modulus underflows to 0 the phase does not matter
    phase = np.where(np.isfinite(phase) | (log_mag < -800.0), np.nan_to_num(phase, nan=0.0, posinf=0.0), phase)
    if not (np.all(np.isfinite(phase))):
        raise ValueError("k0 r or Re(n) k0 d exceeds the float range (from f, r, d and eps_c): the phase of the "
                         "far field is not representable")
    # the moment and the time convention enter through modulus and phase (inf * 1j would give NaN)
    with np.errstate(divide="ignore"):
        log_mag = log_mag + np.log(abs(mom))
    phase = np.where(eng, -(phase + np.angle(mom)), phase + np.angle(mom))
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):
        mag = np.exp(log_mag)
        c, s_ = np.cos(phase), np.sin(phase)
        E = np.empty(np.broadcast(mag, phase).shape, dtype=np.complex128)
        E.real = np.where(c == 0.0, 0.0, mag * c)  # set the parts separately: inf * (0 + 1j) would give NaN
        E.imag = np.where(s_ == 0.0, 0.0, mag * s_)
    return E


def exact_free_space_path_loss_db(r: ArrayLike, f: float, d: float, R: float, eps_c: complex, *,
                                  source: str = "electric", tol: float = 1e-12, engine: str = "numba") -> np.ndarray:
    r"""Free-space path loss of the exact series, with the in-body part booked as in the closed form, dB.

    The normalisation of :func:`~lossbook.pathloss.free_space_path_loss_db` refers the in-body loss to
    the ray-optics power density just outside the surface, ``S_GO(0+)``. Keeping that booking,

    .. math:: PL^{\rm exact}_{\rm fs}(r) = \Big(\frac{4\pi d}{\lambda_0}\Big)^2\frac{S_{\rm GO}(0^+)}{S_{\rm exact}(r)}
              = PL^{\rm closed}_{\rm fs}(r) + 10\log_{10}\frac{S_{\rm GO}(r)}{S_{\rm exact}(r)},

    so the closed form's error in dB is exactly ``10 log10(S_exact / S_GO)`` at the receiver.

    Parameters
    ----------
    r : array_like
        Free-space distances, m, >= 0.
    f, d, R, eps_c, source, tol, engine
        As in :func:`sphere_boresight_field`.

    Returns
    -------
    numpy.ndarray
        Path loss in dB, shape of ``r``.

    Raises
    ------
    ValueError
        When the series would need more than :data:`MAX_TERMS` terms or the sphere is electrically
        smaller than :data:`MIN_ELECTRICAL_SIZE` (see :func:`sphere_boresight_field`).

    Examples
    --------
    >>> from lossbook.pathloss import free_space_path_loss_db
    >>> eps = 52.7 - 12.8j
    >>> ex = exact_free_space_path_loss_db([1.0], 2.45e9, 0.01, 0.2, eps)
    >>> bool(abs(ex[0] - free_space_path_loss_db(1.0, 2.45e9, 0.01, 0.2, eps)) < 0.1)
    True
    """
    r = check_array(r, "r", low=0.0)
    _check_source(source)
    _check_engine(engine)
    check_real(tol, "tol", low=0.0, high=1.0, low_open=True, high_open=True)
    pb = _setup(f, eps_c, R, d)
    # beyond FAR_RHO the density ratio has converged to double precision (corrections O(1/(k0 r))):
    # evaluate it there, so distant receivers neither underflow S nor exceed MAX_RHO
    r_far = FAR_RHO / pb.k0 - float(R)
    r_eff = np.minimum(r, r_far) if r_far > 0 else r
    out = sphere_boresight_field(f, eps_c, R, d, r_eff, source=source, tol=tol, engine=engine)
    s_go = boresight_power_density(r_eff, f, d, R, eps_c, source=source)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        ratio_db = 10.0 * (np.log10(s_go) - np.log10(out.S))
    if not np.all(np.isfinite(ratio_db)):
        raise ValueError("the exact or ray-optics power density underflows at these arguments (f, d, R, eps_c): "
                         "the path loss is beyond the float range")
    return free_space_path_loss_db(r, f, d, R, eps_c) + ratio_db
