"""Tissue dielectric inputs: complex permittivity from (eps', sigma, f) and the refractive index.

Two time conventions are in use. In the engineering convention (fields ``~ exp(+j w t)``) a lossy
medium has ``eps_c = eps' - j sigma / (w eps0)``; in the physics convention (``~ exp(-i w t)``) it has
``eps' + i sigma / (w eps0)``. Every function of :mod:`lossbook.pathloss` accepts either sign of
``Im eps_c``; magnitudes and decibel values do not depend on it.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike
from scipy.constants import epsilon_0

from .._validate import check_array, check_broadcast, check_real

__all__ = ["MUSCLE", "complex_permittivity", "muscle_permittivity", "refractive_index"]

#: Muscle, (frequency in Hz) -> (relative permittivity eps', conductivity sigma in S/m).
#: Commonly tabulated Gabriel / IT'IS values, rounded; *not* re-checked against the IT'IS database
#: here (see the chapter). They are the inputs used throughout the chapter and its tests.
MUSCLE: dict[float, tuple[float, float]] = {
    434e6: (56.9, 0.805),
    915e6: (55.0, 0.948),
    2.45e9: (52.7, 1.74),
    5.8e9: (48.5, 4.96),
}


def complex_permittivity(f: ArrayLike, eps_r: ArrayLike, sigma: ArrayLike,
                         convention: str = "engineering") -> np.ndarray:
    r"""Complex relative permittivity of a conductive dielectric.

    .. math:: \varepsilon_c = \varepsilon' \mp j\,\frac{\sigma}{\omega\varepsilon_0},\qquad \omega = 2\pi f,

    with the minus sign in the engineering convention (``exp(+j w t)``, default) and the plus sign in
    the physics convention (``exp(-i w t)``). Chapter *Free-space path loss of implanted antennas*,
    section "Setup and notation".

    Parameters
    ----------
    f : array_like
        Frequency in Hz, > 0.
    eps_r : array_like
        Real relative permittivity eps' (finite).
    sigma : array_like
        Conductivity in S/m, >= 0.
    convention : {"engineering", "physics"}
        Sign of the imaginary part (negative or positive).

    Returns
    -------
    numpy.ndarray
        Complex relative permittivity, broadcast over the inputs (an imaginary part is ``inf`` only
        where ``sigma / (2 pi f eps0)`` exceeds the float range).

    Examples
    --------
    >>> eps = complex_permittivity(434e6, 56.9, 0.805)
    >>> round(float(eps.real), 1), round(float(eps.imag), 1)
    (56.9, -33.3)
    """
    f = check_array(f, "f", low=0.0, low_open=True)
    eps_r = check_array(eps_r, "eps_r")
    sigma = check_array(sigma, "sigma", low=0.0)
    if convention not in ("engineering", "physics"):
        raise ValueError(f"convention must be 'engineering' or 'physics', got {convention!r}")
    check_broadcast(("f", f), ("eps_r", eps_r), ("sigma", sigma))
    with np.errstate(over="ignore"):
        # sigma / (w eps0) in logarithms: inf only where the true loss term exceeds the float range
        loss = np.where(sigma > 0, np.exp(np.log(np.where(sigma > 0, sigma, 1.0)) - np.log(2.0 * np.pi * epsilon_0)
                                          - np.log(f)), 0.0)
    sign = -1.0 if convention == "engineering" else 1.0
    shape = np.broadcast_shapes(eps_r.shape, loss.shape)
    out = np.empty(shape, dtype=np.complex128)
    out.real = np.broadcast_to(eps_r, shape)  # set the parts separately: 1j * inf would put NaN in Re
    out.imag = np.broadcast_to(sign * loss, shape)
    return out


def muscle_permittivity(f: float, convention: str = "engineering") -> complex:
    """Complex permittivity of muscle at one of the tabulated frequencies of :data:`MUSCLE`.

    Parameters
    ----------
    f : float
        One of the keys of :data:`MUSCLE` (434 MHz, 915 MHz, 2.45 GHz, 5.8 GHz), Hz.
    convention : {"engineering", "physics"}
        Sign of the imaginary part, as in :func:`complex_permittivity`.

    Returns
    -------
    complex

    Examples
    --------
    >>> abs(muscle_permittivity(2.45e9)) > 50
    True
    """
    check_real(f, "f", low=0.0, low_open=True)
    for key, (er, sg) in MUSCLE.items():
        if np.isclose(f, key, rtol=1e-9, atol=0.0):
            return complex(complex_permittivity(key, er, sg, convention))
    raise ValueError(f"f must be one of the tabulated frequencies {sorted(MUSCLE)} Hz, got {f!r}")


def check_permittivity(eps_c: ArrayLike, name: str = "eps_c") -> np.ndarray:
    """Validate a complex relative permittivity: finite, and not on the closed negative real axis."""
    eps = check_array(eps_c, name, dtype=np.complex128)
    if eps.size and np.any((eps.imag == 0) & (eps.real <= 0)):
        raise ValueError(f"{name} must not be zero or a negative real number (no principal index with Re n > 0)")
    return eps


def refractive_index(eps_c: ArrayLike) -> np.ndarray:
    r"""Complex refractive index :math:`n = \sqrt{\varepsilon_c}`, principal branch (``Re n > 0``).

    ``Im n`` has the sign of ``Im eps_c``, so the convention of the input is kept.

    Parameters
    ----------
    eps_c : array_like of complex
        Complex relative permittivity (finite, not zero or negative real).

    Returns
    -------
    numpy.ndarray
        The index, same shape as ``eps_c``.

    Examples
    --------
    >>> n = refractive_index(complex_permittivity(434e6, 56.9, 0.805))
    >>> round(float(n.real), 2), round(float(n.imag), 2)
    (7.84, -2.13)
    """
    eps = check_permittivity(eps_c)
    return np.sqrt(eps)
