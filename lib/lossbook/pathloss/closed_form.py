r"""Closed-form (paraxial ray-optics) free-space path loss of an implant, *derived in the chapter*.

This is a reconstruction derived independently from a virtual-source (paraxial) model of refraction
at a spherical body-air interface; it uses the four inputs listed in the abstract of Gao, Raman,
Sipus and Skrivervik (arXiv 2312.14731) but it is **not** their published formula, whose text was
not available. Equation labels refer to the chapter *Free-space path loss of implanted antennas*.

Geometry: tangential elementary source at depth ``d`` below the nearest point of a homogeneous
sphere of radius ``R`` (``R = inf`` is a flat interface); receiver on the boresight at free-space
distance ``r`` from the surface. All functions broadcast over NumPy arrays.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike
from scipy.constants import c as C0
from scipy.constants import mu_0 as MU0

from .._validate import check_array, check_broadcast
from .tissue import check_permittivity

__all__ = [
    "CALIBRATED_RANGE",
    "ERROR_BANDS",
    "ValidityReport",
    "boresight_power_density",
    "defocusing_factor",
    "excess_loss_db",
    "free_space_path_loss_db",
    "friis_path_loss_db",
    "interface_transmission",
    "measure_error_bands",
    "surface_to_receiver_loss_db",
    "validity",
    "virtual_source_depth",
]

_N_MODELS = ("complex", "abs", "real", "sqrt_real_eps")
ETA0 = MU0 * C0


def _depth_radius(d, R):
    d = check_array(d, "d", low=0.0, low_open=True)
    R = check_array(R, "R", low=0.0, low_open=True, finite=False)
    if np.any(np.isnan(R)):
        raise ValueError("R must not be NaN (use np.inf for a flat interface)")
    if np.any(np.isneginf(R)):
        raise ValueError("R must lie in (0, inf]")
    check_broadcast(("d", d), ("R", R))
    if np.any(np.broadcast_to(d, np.broadcast_shapes(d.shape, R.shape))
              > np.broadcast_to(R, np.broadcast_shapes(d.shape, R.shape))):
        raise ValueError("d must lie in (0, R]: the source must be inside the sphere")
    return d, R


def _log10_abs_d_plus_Mr(d, M, r):
    """``log10 |d + M r|`` without overflow or underflow (``d > 0``, ``r >= 0``, ``M`` complex, finite)."""
    d, M, r = np.broadcast_arrays(np.asarray(d, dtype=float), M, np.asarray(r, dtype=float))
    big = r >= d
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        # r >= d: r |M + d/r| (d/r <= 1); r < d: d |1 + M r/d| (r/d < 1)
        a = np.log10(np.where(big, r, 1.0)) + np.log10(np.abs(M + d / np.where(big, r, 1.0)))
        b = np.log10(d) + np.log10(np.abs(1.0 + M * (r / d)))
    return np.where(big, a, b)


def _broadcast_all(**arrays):
    check_broadcast(*[(k, np.asarray(v) if not isinstance(v, np.ndarray) else v) for k, v in arrays.items()])


def _index(eps_c, n_model: str) -> np.ndarray:
    eps = check_permittivity(eps_c)
    if n_model not in _N_MODELS:
        raise ValueError(f"n_model must be one of {_N_MODELS}, got {n_model!r}")
    n = np.sqrt(eps)
    if n_model == "abs":
        return np.abs(n).astype(np.complex128)
    if n_model == "real":
        return n.real.astype(np.complex128)
    if n_model == "sqrt_real_eps":
        if np.any(eps.real <= 0):
            raise ValueError("n_model='sqrt_real_eps' needs Re eps_c > 0")
        return np.sqrt(eps.real).astype(np.complex128)
    return n


def defocusing_factor(d: ArrayLike, R: ArrayLike, eps_c: ArrayLike, n_model: str = "complex") -> np.ndarray:
    r"""Curvature (defocusing) factor :math:`M = n - (n-1)\,d/R` (chapter eq. :eq:`pl-defocusing`).

    ``M = d / d_v`` is the ratio of the true depth to the depth of the paraxial virtual source.

    Parameters
    ----------
    d : array_like
        Implant depth below the nearest surface point, m, in ``(0, R]``.
    R : array_like
        Radius of curvature of the body-air interface, m, in ``(0, inf]`` (``inf``: flat).
    eps_c : array_like of complex
        Complex relative permittivity of the tissue (either sign of the imaginary part).
    n_model : {"complex", "abs", "real", "sqrt_real_eps"}
        Which index to use: ``sqrt(eps_c)`` (default), its modulus, its real part, or
        ``sqrt(Re eps_c)``; the chapter compares them.

    Returns
    -------
    numpy.ndarray of complex

    Examples
    --------
    >>> complex(defocusing_factor(0.05, 0.05, 50.0))  # source at the centre
    (1+0j)
    >>> complex(defocusing_factor(0.01, np.inf, 49.0))  # flat interface: M = n
    (7+0j)
    """
    d, R = _depth_radius(d, R)
    n = _index(eps_c, n_model)
    check_broadcast(("d", d), ("R", R), ("eps_c", n))
    flat = np.isinf(R)
    Rf = np.where(flat, 1.0, R)
    with np.errstate(invalid="ignore"):
        ratio = np.where(flat, 0.0, d / Rf)
        rest = np.where(flat, 1.0, (Rf - d) / Rf)  # 1 - d/R without cancellation
    # M = n (1 - d/R) + d/R: no cancellation between n and (n - 1) d/R for large |n| (M = 1 exactly at d = R)
    return n * rest + ratio


def virtual_source_depth(d: ArrayLike, R: ArrayLike, eps_c: ArrayLike, n_model: str = "complex") -> np.ndarray:
    r"""Depth of the paraxial virtual source, :math:`d_v = d/M = dR/(nR-(n-1)d)` (complex), m.

    Parameters
    ----------
    d, R, eps_c, n_model
        As in :func:`defocusing_factor`.

    Returns
    -------
    numpy.ndarray of complex
        :math:`d_v` in m (real for a real index).

    Examples
    --------
    >>> complex(virtual_source_depth(0.02, np.inf, 4.0))  # apparent depth d/n
    (0.01+0j)
    """
    d, R = _depth_radius(d, R)
    return d / defocusing_factor(d, R, eps_c, n_model)


def interface_transmission(eps_c: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    r"""Normal-incidence transmission tissue -> air: :math:`\tau = 2n/(1+n)` and :math:`T = 1-|(n-1)/(n+1)|^2`.

    ``tau`` is the electric-field coefficient (complex), ``T`` the power transmission factor.

    Parameters
    ----------
    eps_c : array_like of complex
        Complex relative permittivity of the tissue (either sign of the imaginary part).

    Returns
    -------
    tau : numpy.ndarray of complex
    T : numpy.ndarray of float

    Examples
    --------
    >>> tau, T = interface_transmission(1.0)
    >>> complex(tau), float(T)
    ((1+0j), 1.0)
    """
    n = np.sqrt(check_permittivity(eps_c))
    return 2.0 * n / (1.0 + n), 1.0 - np.abs((n - 1.0) / (n + 1.0)) ** 2


def friis_path_loss_db(r: ArrayLike, f: ArrayLike) -> np.ndarray:
    r"""Free-space (Friis) spreading loss :math:`20\log_{10}(4\pi r/\lambda_0)`, dB.

    Parameters
    ----------
    r : array_like
        Distance, m, > 0.
    f : array_like
        Frequency, Hz, > 0.

    Returns
    -------
    numpy.ndarray
        Loss in dB.

    Examples
    --------
    >>> round(float(friis_path_loss_db(1.0, 434e6)), 2)
    25.2
    """
    r = check_array(r, "r", low=0.0, low_open=True)
    f = check_array(f, "f", low=0.0, low_open=True)
    check_broadcast(("r", r), ("f", f))
    # in logarithms: finite for every finite r, f > 0 (friis_path_loss_db(1e300, 1e300) ~ 11,900 dB)
    return 20.0 * (np.log10(4.0 * np.pi / C0) + np.log10(r) + np.log10(f))


def free_space_path_loss_db(r: ArrayLike, f: ArrayLike, d: ArrayLike, R: ArrayLike, eps_c: ArrayLike,
                            n_model: str = "complex") -> np.ndarray:
    r"""Free-space path loss of an implant (chapter eq. :eq:`pl-fspl`), derived here, dB.

    .. math:: PL_{\rm fs} = 20\log_{10}\frac{4\pi\,|d + M r|}{\lambda_0}
              = \underbrace{20\log_{10}\frac{4\pi r}{\lambda_0}}_{\rm Friis}
              + \underbrace{20\log_{10}\left|M + \frac{d}{r}\right|}_{\Delta L},

    normalised so that the in-body part is :math:`PL_{\rm in} = P_t / (4\pi d^2 S(0^+))` with
    :math:`S(0^+)` the (ray-optics) power density just outside the surface, and
    :math:`P_r/P_t = G_r/(PL_{\rm in} PL_{\rm fs})`.

    Parameters
    ----------
    r : array_like
        Free-space distance from the surface to the receiver on the boresight, m, >= 0.
    f : array_like
        Frequency, Hz, > 0.
    d, R, eps_c, n_model
        As in :func:`defocusing_factor`.

    Returns
    -------
    numpy.ndarray
        Path loss in dB.

    Examples
    --------
    >>> eps = 55.0 - 18.6j  # muscle, 915 MHz
    >>> pl = free_space_path_loss_db(1.0, 915e6, 0.01, np.inf, eps)
    >>> bool(abs(pl - friis_path_loss_db(1.0, 915e6) - excess_loss_db(1.0, 0.01, np.inf, eps)) < 1e-12)
    True
    """
    r = check_array(r, "r", low=0.0)
    f = check_array(f, "f", low=0.0, low_open=True)
    M = defocusing_factor(d, R, eps_c, n_model)
    _broadcast_all(r=r, f=f, d=d, R=R, eps_c=eps_c)
    d = np.asarray(d, dtype=float)
    return 20.0 * (np.log10(4.0 * np.pi / C0) + _log10_abs_d_plus_Mr(d, M, r) + np.log10(f))


def excess_loss_db(r: ArrayLike, d: ArrayLike, R: ArrayLike, eps_c: ArrayLike, n_model: str = "complex") -> np.ndarray:
    r"""Extra loss of the interface over Friis spreading, :math:`\Delta L = 20\log_{10}|M + d/r|`, dB.

    For ``r -> inf`` it tends to :math:`20\log_{10}|M|`; for a flat interface to
    :math:`10\log_{10}|\varepsilon_c|` (chapter, flat-interface theorem).

    Parameters
    ----------
    r : array_like
        Free-space distance, m, > 0.
    d, R, eps_c, n_model
        As in :func:`defocusing_factor`.

    Returns
    -------
    numpy.ndarray
        :math:`\Delta L` in dB.

    Examples
    --------
    >>> eps = 52.7 - 12.8j
    >>> bool(abs(excess_loss_db(1e9, 0.01, np.inf, eps) - 10 * np.log10(abs(eps))) < 1e-6)
    True
    """
    r = check_array(r, "r", low=0.0, low_open=True)
    M = defocusing_factor(d, R, eps_c, n_model)
    _broadcast_all(r=r, d=d, R=R, eps_c=eps_c)
    return 20.0 * (_log10_abs_d_plus_Mr(np.asarray(d, dtype=float), M, r) - np.log10(r))


def surface_to_receiver_loss_db(r: ArrayLike, d: ArrayLike, R: ArrayLike, eps_c: ArrayLike,
                                n_model: str = "complex") -> np.ndarray:
    r"""Surface-referenced loss :math:`S(0^+)/S(r) = |1 + M r/d|^2` in dB (frequency-free form).

    Parameters
    ----------
    r : array_like
        Free-space distance, m, >= 0.
    d, R, eps_c, n_model
        As in :func:`defocusing_factor`.

    Returns
    -------
    numpy.ndarray
        Loss in dB.

    Examples
    --------
    >>> float(surface_to_receiver_loss_db(0.0, 0.01, 0.1, 50.0))
    0.0
    """
    r = check_array(r, "r", low=0.0)
    M = defocusing_factor(d, R, eps_c, n_model)
    _broadcast_all(r=r, d=d, R=R, eps_c=eps_c)
    d = np.asarray(d, dtype=float)
    return 20.0 * (_log10_abs_d_plus_Mr(d, M, r) - np.log10(d))


def boresight_power_density(r: ArrayLike, f: ArrayLike, d: ArrayLike, R: ArrayLike, eps_c: ArrayLike, *,
                            source: str = "electric", moment: complex = 1.0,
                            n_model: str = "complex") -> np.ndarray:
    r"""Ray-optics power density on the boresight (chapter eq. :eq:`pl-go-field`), W/m^2.

    .. math:: |E(r)| = |\tau|\,|E^{\rm ff}_t(d)|\,\frac{d}{|d+Mr|},\qquad S = \frac{|E|^2}{2\eta_0},

    with the in-tissue far field of the source at distance ``d``:
    :math:`\omega^2\mu_0|p|e^{-\alpha d}/(4\pi d)` (electric dipole, moment ``p`` in C m) or
    :math:`\omega\mu_0|k_1||m|e^{-\alpha d}/(4\pi d)` (magnetic dipole, ``m`` in A m^2).

    Parameters
    ----------
    r : array_like
        Free-space distance, m, >= 0.
    f : array_like
        Frequency, Hz, > 0.
    d, R, eps_c, n_model
        As in :func:`defocusing_factor`.
    source : {"electric", "magnetic"}
        Tangential electric dipole (moment in C m) or magnetic dipole (moment in A m^2).
    moment : complex
        Dipole moment (only its modulus matters).

    Returns
    -------
    numpy.ndarray
        Power density in W/m^2, computed in logarithms: ``inf`` or 0 only where the true density
        lies beyond the float range (a zero moment gives 0).

    Examples
    --------
    >>> S = boresight_power_density([1.0, 2.0], 2.45e9, 0.01, 0.1, 52.7 - 12.8j)
    >>> bool(S[0] > S[1] > 0)
    True
    """
    r = check_array(r, "r", low=0.0)
    f = check_array(f, "f", low=0.0, low_open=True)
    if source not in ("electric", "magnetic"):
        raise ValueError(f"source must be 'electric' or 'magnetic', got {source!r}")
    moment = check_array(moment, "moment", dtype=np.complex128)
    M = defocusing_factor(d, R, eps_c, n_model)
    _broadcast_all(r=r, f=f, d=d, R=R, eps_c=eps_c, moment=moment)
    d = np.asarray(d, dtype=float)
    n = np.sqrt(check_permittivity(eps_c))
    # in natural logarithms, so that the density is inf (or 0) only where the true value lies beyond
    # the float range, never NaN
    ln10 = np.log(10.0)
    log_w = np.log(2.0 * np.pi) + np.log(f)
    log_k0 = log_w - np.log(C0)
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        alpha_d = np.exp(log_k0 + np.log(d) + np.log(np.abs(n.imag)))  # 0 for a lossless tissue, never inf * 0
        log_tau = np.log(2.0) + np.log(np.abs(n)) - np.log(np.abs(1.0 + n))
        log_m = np.log(np.abs(moment))
        if source == "electric":
            log_amp = 2.0 * log_w + np.log(MU0) + log_m
        else:
            log_amp = log_w + np.log(MU0) + log_k0 + np.log(np.abs(n)) + log_m
        log_E = log_tau + log_amp - alpha_d - np.log(4.0 * np.pi) - ln10 * _log10_abs_d_plus_Mr(d, M, r)
        return np.exp(2.0 * log_E - np.log(2.0 * ETA0))


class ValidityReport(NamedTuple):
    """Where the closed form can be trusted (bounds measured in the chapter)."""

    far_zone: np.ndarray
    """``r >= max(lambda_0, 0.1 m)``: outside the reactive zone on the air side."""
    large_body: np.ndarray
    """``k0 R >= 2.5``."""
    k0R: np.ndarray
    """Electrical size of the body."""
    expected_error_db: np.ndarray
    """Measured bound on ``abs(exact - closed form)`` (dB) for the body size; ``inf`` where none holds."""


#: The tissues, bodies and frequencies on which :data:`ERROR_BANDS` were measured: complex permittivities
#: with modulus of the refractive index |n| in [5.5, 9.5] and loss tangent -Im eps / Re eps in [0.2, 1.2]
#: (high-water tissues: muscle, skin, most organs at 0.4-6 GHz), R in [5, 50] cm, d in [5, 30] mm,
#: f in [434 MHz, 5.8 GHz]. Fat, bone or nearly lossless bodies lie outside it: there the sphere rings
#: (internal reflections decay slowly) and ray optics errs by dB; validity() refuses them.
CALIBRATED_RANGE: dict[str, tuple[float, float]] = {
    "abs_n": (5.5, 9.5),
    "loss_tangent": (0.2, 1.2),
    "R": (0.05, 0.5),
    "d": (0.005, 0.03),
    "f": (434e6, 5.8e9),
}

#: (lower bound on k0 R, bound on abs(exact - closed form) in dB) over CALIBRATED_RANGE, far-zone receivers.
#: Measured by measure_error_bands() (largest errors 0.205, 0.909, 1.377 dB) and rounded up to 0.05 dB;
#: tests re-measure them and check them off the calibration grid, for several tissues.
ERROR_BANDS: tuple[tuple[float, float], ...] = ((4.5, 0.25), (2.5, 0.95), (1.8, 1.4))


def measure_error_bands(k0R_edges=(4.5, 2.5, 1.8), *, eps_real=(5.5, 8, 11, 15, 20, 27, 35, 45, 55, 65),
                        loss_tangents=(0.2, 0.3, 0.5, 0.8, 1.2), freqs=(434e6, 915e6, 2.45e9, 5.8e9),
                        radii=(0.05, 0.1, 0.2, 0.5), depths=(0.005, 0.01, 0.02, 0.03)) -> np.ndarray:
    """Largest ``abs(exact - closed form)`` (dB) per electrical-size band, over a grid of tissues and bodies.

    The calibration behind :data:`ERROR_BANDS`: every complex permittivity ``eps' (1 - j tan_delta)`` of the
    grid whose refractive index lies in ``CALIBRATED_RANGE["abs_n"]``, every frequency, radius and depth
    (``d < R``), and 16 far-zone receivers from ``max(lambda0, 0.1 m)`` to 10 m; the exact series
    (:func:`~lossbook.pathloss.exact_free_space_path_loss_db`) against the closed form.

    Parameters
    ----------
    k0R_edges : sequence of float
        Lower ends of the bands (a point belongs to every band whose edge it reaches).
    eps_real, loss_tangents, freqs, radii, depths : sequences of float
        The grid.

    Returns
    -------
    ndarray, shape (len(k0R_edges),)
        Worst error (dB) in each band; ``nan`` for a band with no grid point.
    """
    from .series import exact_free_space_path_loss_db
    from .tissue import refractive_index

    lo_n, hi_n = CALIBRATED_RANGE["abs_n"]
    worst = np.full(len(k0R_edges), np.nan)
    for er in eps_real:
        for td in loss_tangents:
            eps = er * (1.0 - 1j * td)
            if not lo_n <= abs(complex(refractive_index(eps))) <= hi_n:
                continue
            for f in freqs:
                r = np.geomspace(max(C0 / f, 0.1), 10.0, 16)
                for R in radii:
                    k0R = 2 * np.pi * f / C0 * R
                    for d in depths:
                        if d >= R:
                            continue
                        err = float(np.max(np.abs(exact_free_space_path_loss_db(r, f, d, R, eps)
                                                  - free_space_path_loss_db(r, f, d, R, eps))))
                        for i, edge in enumerate(k0R_edges):
                            if k0R >= edge:
                                worst[i] = err if np.isnan(worst[i]) else max(worst[i], err)
    return worst


def validity(r: ArrayLike, f: ArrayLike, R: ArrayLike, d: ArrayLike, eps_c: ArrayLike) -> ValidityReport:
    r"""Flag where the closed form is accurate for this tissue: far zone and electrically large body.

    The error bounds were measured on high-water tissues only (:data:`CALIBRATED_RANGE`): the accuracy of
    ray optics depends on the tissue, through the refractive index and the loss that damps internal
    reflections. A permittivity outside that range is refused (``ValueError``), rather than given a
    bound measured on another tissue; evaluate :func:`~lossbook.pathloss.exact_free_space_path_loss_db`
    for it instead.

    Parameters
    ----------
    r : array_like
        Free-space distance, m, >= 0.
    f : array_like
        Frequency, Hz, > 0.
    R : array_like
        Body radius, m, in ``(0, inf]``.
    d : array_like
        Depth, m, in ``(0, R]``.
    eps_c : array_like of complex
        Complex relative permittivity of the tissue (either sign convention), broadcast with the rest;
        ``abs(n)`` and the loss tangent must lie in :data:`CALIBRATED_RANGE`.

    Returns
    -------
    ValidityReport
        Boolean masks ``far_zone``, ``large_body``, the electrical size ``k0R`` and the measured
        error bound ``expected_error_db`` (dB) of :data:`ERROR_BANDS` for the body size (``inf`` below
        ``k0R = 1.8`` and where ``far_zone`` is False).

    Raises
    ------
    ValueError
        If the tissue lies outside the calibrated range (the message gives ``abs(n)`` and the loss tangent).

    Examples
    --------
    >>> from lossbook.pathloss import muscle_permittivity
    >>> v = validity(1.0, 2.45e9, 0.1, 0.02, muscle_permittivity(2.45e9))
    >>> bool(v.far_zone), bool(v.large_body), float(v.expected_error_db)
    (True, True, 0.25)
    """
    from .tissue import refractive_index

    r = check_array(r, "r", low=0.0)
    f = check_array(f, "f", low=0.0, low_open=True)
    d, R = _depth_radius(d, R)
    eps = check_permittivity(eps_c, "eps_c")
    check_broadcast(("r", r), ("f", f), ("R", R), ("d", d), ("eps_c", eps))
    n_abs = np.abs(refractive_index(eps))
    tand = np.abs(eps.imag) / np.where(eps.real > 0, eps.real, np.inf)
    (lo_n, hi_n), (lo_t, hi_t) = CALIBRATED_RANGE["abs_n"], CALIBRATED_RANGE["loss_tangent"]
    bad = (n_abs < lo_n) | (n_abs > hi_n) | (tand < lo_t) | (tand > hi_t) | (eps.real <= 0)
    if np.any(bad):
        i = int(np.flatnonzero(np.ravel(bad))[0])
        raise ValueError(
            f"eps_c is outside the range validity() is calibrated on (|n| in [{lo_n}, {hi_n}], loss tangent in "
            f"[{lo_t}, {hi_t}]: high-water tissues); got |n| = {np.ravel(n_abs)[i]:.3g}, loss tangent "
            f"{np.ravel(tand)[i]:.3g}. Evaluate exact_free_space_path_loss_db for this tissue instead.")
    with np.errstate(over="ignore"):
        lam0 = C0 / f  # inf only below f ~ 1e-300 Hz
        # in logs: inf only where the electrical size exceeds the float range, never inf/inf
        k0R = np.exp(np.log(2.0 * np.pi / C0) + np.log(R) + np.log(f))
    far = r >= np.maximum(lam0, 0.1)
    bound = np.full(np.broadcast_shapes(k0R.shape, far.shape, eps.shape), np.inf)
    for lo, b in reversed(ERROR_BANDS):
        bound = np.where(np.broadcast_to(k0R >= lo, bound.shape), b, bound)
    bound = np.where(far, bound, np.inf)
    return ValidityReport(far_zone=far, large_body=k0R >= 2.5, k0R=k0R, expected_error_db=bound)
