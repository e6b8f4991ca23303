"""Exact implant series (lossbook.pathloss): Numba kernel vs the NumPy reference, and vs a direct
evaluation with scipy.special spherical Bessel functions where those do not overflow.

Each case evaluates the boresight field at 200 receiver distances; divide a median by 200 for the
cost per evaluation point. The coefficient tables (per frequency, radius and depth) are included.
"""

import numpy as np
from scipy.constants import c, mu_0
from scipy.special import spherical_jn, spherical_yn

from benchmarks.harness import Case, Scaling
from lossbook.pathloss import muscle_permittivity, sphere_boresight_field

_R_POINTS = np.geomspace(0.1, 10.0, 200)


def _scipy_direct(f, eps, R, d, r, N):
    # Straight transcription of the series with scipy's spherical Bessel functions (no ratios).
    w = 2 * np.pi * f
    k0 = w / c
    m = np.sqrt(eps)
    k1 = m * k0
    x0, x1, s = k0 * R, k1 * R, k1 * (R - d)
    rho = k0 * (R + r)[:, None]
    n = np.arange(1, N + 1)

    def h(x, der=False):
        return spherical_jn(n, x, der) + 1j * spherical_yn(n, x, der)

    jx1, djx1, js, djs = spherical_jn(n, x1), spherical_jn(n, x1, True), spherical_jn(n, s), spherical_jn(n, s, True)
    hx0, dhx0 = h(x0), h(x0, True)
    hr, dhr = h(rho), h(rho, True)
    tM = 1j / ((hx0 + x0 * dhx0) * x1 * jx1 - m * x0 * hx0 * (jx1 + x1 * djx1))
    tN = 1j / (m * (hx0 + x0 * dhx0) * x1 * jx1 - x0 * hx0 * (jx1 + x1 * djx1))
    terms = (2 * n + 1) / (8 * np.pi) * (tM * hr * js + tN * (hr + rho * dhr) / rho * (js + s * djs) / s)
    return 1j * w**2 * mu_0 * k1 * terms.sum(axis=1)


def _case(f, R, d, peer):
    eps = muscle_permittivity(f, convention="physics")
    n_terms = sphere_boresight_field(f, eps, R, d, _R_POINTS).n_terms
    ours = lambda: sphere_boresight_field(f, eps, R, d, _R_POINTS).E
    if peer == "numpy":
        other = lambda: sphere_boresight_field(f, eps, R, d, _R_POINTS, engine="numpy").E
        name, kind = "pathloss NumPy reference", "own reference"
    else:
        other = lambda: _scipy_direct(f, eps, R, d, _R_POINTS, n_terms)
        name, kind = "scipy.special direct", "external"
    size = f"{f / 1e9:g} GHz R={R:g} m N={n_terms} x200"
    return Case("pathloss.sphere_boresight_field", name, size, ours, other, _check, kind=kind, dtype="complex128")


def _check(a, b):
    np.testing.assert_allclose(a, b, rtol=1e-9, atol=0)


CASES = [
    _case(2.45e9, 0.1, 0.02, "numpy"),
    _case(2.45e9, 0.5, 0.02, "numpy"),
    _case(5.8e9, 0.5, 0.02, "numpy"),
    _case(434e6, 0.1, 0.02, "scipy"),
    _case(2.45e9, 0.1, 0.02, "scipy"),
]


_F_SCALE = 2.45e9
_EPS_SCALE = muscle_permittivity(_F_SCALE, convention="physics")


def _terms(R):
    return sphere_boresight_field(_F_SCALE, _EPS_SCALE, R, 0.02, _R_POINTS).n_terms


# Growth with the sphere radius R at 2.45 GHz: the series needs N(R) terms (about k0 R plus a margin) and
# evaluates each at 200 receiver points, so the operation count is N(R) x 200 terms.
SCALING = [
    Scaling("pathloss.sphere_boresight_field (200 points, 2.45 GHz)", "R (m)", (0.2, 0.4, 0.8, 1.6, 3.2, 6.4),
            lambda R: (lambda: sphere_boresight_field(_F_SCALE, _EPS_SCALE, R, 0.02, _R_POINTS).E),
            lambda R: _terms(R) * _R_POINTS.size, repeats=5),
]
