"""The exact series against independent references: the free-space dipole (empty sphere), energy
conservation in a lossless sphere (emitted power from a direct scipy evaluation), a direct scipy
evaluation of the series where it does not overflow, the flat-interface reciprocity formula, values
of an independent implementation recorded in the paper notes, and self-convergence."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.constants import c, mu_0
from scipy.special import spherical_jn, spherical_yn

from lossbook.pathloss import (
    MUSCLE,
    SeriesTruncationWarning,
    boresight_power_density,
    complex_permittivity,
    exact_free_space_path_loss_db,
    free_space_path_loss_db,
    halfspace_boresight_far_field,
    muscle_permittivity,
    series_terms,
    sphere_boresight_field,
    sphere_directivity_boresight,
    sphere_power_out,
    validity,
)

ETA0 = mu_0 * c


def _free_space_dipole(f, D, source):
    """Fields of a unit dipole in vacuum on the axis perpendicular to it (Jackson 9.18 and 9.36)."""
    w = 2 * np.pi * f
    k = w / c
    g = np.exp(1j * k * D) / (4 * np.pi * D)
    near2 = 1 + 1j / (k * D) - 1 / (k * D) ** 2
    near1 = 1 + 1j / (k * D)
    if source == "electric":
        return w**2 * mu_0 * g * near2, w * k * g * near1
    return w * mu_0 * k * g * near1, k**2 * g * near2


def _go_error_db(f, R, d, r, source="electric", n_model="complex"):
    eps = muscle_permittivity(f)
    out = sphere_boresight_field(f, eps, R, d, r, source=source)
    return 10 * np.log10(out.S / boresight_power_density(r, f, d, R, eps, source=source, n_model=n_model))


@pytest.mark.claim("pl_free_space_identity")
@pytest.mark.parametrize("engine", ["numba", "numpy"])
@pytest.mark.parametrize("source", ["electric", "magnetic"])
def test_empty_sphere_reproduces_free_space_dipole(engine, source):
    r = np.array([0.0, 1e-3, 0.02, 0.3, 3.0, 30.0])
    worst = 0.0
    for f, R, d in [(434e6, 0.05, 0.01), (2.45e9, 0.1, 0.03), (5.8e9, 0.2, 0.2), (915e6, 0.5, 0.01)]:
        out = sphere_boresight_field(f, 1.0, R, d, r, source=source, engine=engine)
        E, H = _free_space_dipole(f, d + r, source)
        worst = max(worst, np.max(np.abs(out.E / E - 1)), np.max(np.abs(out.H / H - 1)))
    assert worst < 1e-9


def _emitted_power_lossless(f, eps, R, d, N=80):
    """Dipole power in a lossless sphere from the reflected field at the source (direct scipy)."""
    w = 2 * np.pi * f
    k0 = w / c
    m = np.sqrt(eps)
    k1 = m * k0
    x0, x1, s = k0 * R, k1 * R, k1 * (R - d)
    n = np.arange(1, N + 1)
    j = lambda x: spherical_jn(n, x)
    dj = lambda x: spherical_jn(n, x, derivative=True)
    h = lambda x: spherical_jn(n, x) + 1j * spherical_yn(n, x)
    dh = lambda x: dj(x) + 1j * spherical_yn(n, x, derivative=True)
    psi, dpsi = (lambda x: x * j(x)), (lambda x: j(x) + x * dj(x))
    xi, dxi = (lambda x: x * h(x)), (lambda x: h(x) + x * dh(x))
    rM = -(xi(x1) * dxi(x0) - m * xi(x0) * dxi(x1)) / (psi(x1) * dxi(x0) - m * xi(x0) * dpsi(x1))
    rN = -(xi(x0) * dxi(x1) - m * dxi(x0) * xi(x1)) / (xi(x0) * dpsi(x1) - m * dxi(x0) * psi(x1))
    E_refl = 1j * w**2 * mu_0 * k1 * np.sum((2 * n + 1) / (8 * np.pi) * (rM * j(s) ** 2 + rN * (dpsi(s) / s) ** 2))
    return w**3 * mu_0 * k1 / (12 * np.pi) + w / 2 * np.imag(E_refl)


@pytest.mark.claim("pl_power_conservation")
@pytest.mark.parametrize("eps", [50.0, 57.0, 40.0])
def test_lossless_sphere_radiates_all_emitted_power(eps):
    for f, R, d in [(434e6, 0.05, 0.01), (915e6, 0.1, 0.02), (2.45e9, 0.05, 0.02)]:
        P_out = sphere_power_out(f, eps, R, d)
        assert P_out == pytest.approx(_emitted_power_lossless(f, eps, R, d), rel=1e-10)


def _direct_scipy_series(f, eps, R, d, r, N):
    """Boresight E_x straight from the transmission coefficients, no ratios: overflows for large n."""
    w = 2 * np.pi * f
    k0 = w / c
    m = np.sqrt(eps)
    k1 = m * k0
    x0, x1, s = k0 * R, k1 * R, k1 * (R - d)
    rho = k0 * (R + np.asarray(r))[:, None]
    n = np.arange(1, N + 1)
    j = lambda x: spherical_jn(n, x)
    dj = lambda x: spherical_jn(n, x, derivative=True)
    h = lambda x: spherical_jn(n, x) + 1j * spherical_yn(n, x)
    dh = lambda x: dj(x) + 1j * spherical_yn(n, x, derivative=True)
    tM = 1j / ((h(x0) + x0 * dh(x0)) * x1 * j(x1) - m * x0 * h(x0) * (j(x1) + x1 * dj(x1)))
    tN = 1j / (m * (h(x0) + x0 * dh(x0)) * x1 * j(x1) - x0 * h(x0) * (j(x1) + x1 * dj(x1)))
    terms = (2 * n + 1) / (8 * np.pi) * (tM * h(rho) * j(s) + tN * (h(rho) + rho * dh(rho)) / rho
                                         * (j(s) + s * dj(s)) / s)
    return 1j * w**2 * mu_0 * k1 * terms.sum(axis=1)


def test_series_matches_direct_scipy_evaluation_where_that_does_not_overflow():
    r = np.array([0.05, 0.5, 2.0])
    for f, R, d in [(434e6, 0.05, 0.01), (915e6, 0.1, 0.04), (2.45e9, 0.1, 0.02)]:
        eps = muscle_permittivity(f, convention="physics")
        out = sphere_boresight_field(f, eps, R, d, r)
        direct = _direct_scipy_series(f, eps, R, d, r, out.n_terms)
        assert np.all(np.isfinite(direct))
        np.testing.assert_allclose(out.E, direct, rtol=1e-9)


def test_direct_scipy_evaluation_overflows_at_high_order_but_series_does_not():
    f, R = 5.8e9, 0.5
    eps = muscle_permittivity(f, convention="physics")
    with np.errstate(all="ignore"):
        direct = _direct_scipy_series(f, eps, R, 0.01, [1.0], 520)
    out = sphere_boresight_field(f, eps, R, 0.01, [1.0])
    assert not np.all(np.isfinite(direct))
    assert np.all(np.isfinite(out.E)) and out.S[0] > 0


@pytest.mark.claim("pl_series_convergence")
def test_raising_the_number_of_terms_changes_nothing():
    r = np.array([0.0, 0.1, 1.0, 10.0])
    worst = 0.0
    for f in MUSCLE:
        for R, d in [(0.05, 0.01), (0.2, 0.005), (0.5, 0.03)]:
            eps = muscle_permittivity(f)
            a = sphere_boresight_field(f, eps, R, d, r)
            b = sphere_boresight_field(f, eps, R, d, r, nmax=int(1.5 * a.n_terms))
            worst = max(worst, np.max(np.abs(b.E / a.E - 1)))
            assert np.all(a.tail < 1e-12)
    assert worst < 1e-12


@pytest.mark.parametrize("source", ["electric", "magnetic"])
def test_numba_kernel_equals_numpy_reference(source):
    # the Numba kernel stops early on a bound of the remaining terms; the NumPy reference sums all N
    r = np.geomspace(1e-3, 10, 25)
    for f, R, d in [(434e6, 0.2, 0.01), (5.8e9, 0.3, 0.02), (5.8e9, 0.5, 0.01), (2.45e9, 0.5, 0.05)]:
        eps = muscle_permittivity(f)
        a = sphere_boresight_field(f, eps, R, d, r, source=source, engine="numba")
        b = sphere_boresight_field(f, eps, R, d, r, source=source, engine="numpy")
        np.testing.assert_allclose(a.E, b.E, rtol=1e-12)
        np.testing.assert_allclose(a.H, b.H, rtol=1e-12)
        assert sphere_power_out(f, eps, R, d, engine="numba") == pytest.approx(
            sphere_power_out(f, eps, R, d, engine="numpy"), rel=1e-12)


@pytest.mark.claim("pl_convention")
def test_series_magnitudes_do_not_depend_on_time_convention():
    r = np.array([0.1, 1.0])
    for f in (434e6, 2.45e9):
        eps = muscle_permittivity(f)
        a = sphere_boresight_field(f, eps, 0.1, 0.02, r)
        b = sphere_boresight_field(f, np.conj(eps), 0.1, 0.02, r)
        np.testing.assert_allclose(a.E, np.conj(b.E), rtol=1e-12)
        np.testing.assert_allclose(a.S, b.S, rtol=1e-12)


def test_source_at_centre_is_continuous():
    f, R = 915e6, 0.1
    eps = muscle_permittivity(f)
    a = sphere_boresight_field(f, eps, R, R, [0.5, 2.0])
    b = sphere_boresight_field(f, eps, R, R * (1 - 1e-9), [0.5, 2.0])
    # moving the source by delta = 1e-10 m changes the field by O(|k1| delta) ~ 1.5e-8 (measured 1e-8):
    # rtol 1e-7 would catch a missing or wrong centre branch (an O(1) jump), not this smooth change
    np.testing.assert_allclose(a.E, b.E, rtol=1e-7)


@pytest.mark.claim("pl_flat_limit")
def test_large_sphere_approaches_flat_interface_reciprocity_formula():
    f = 2.45e9
    eps = muscle_permittivity(f)
    for R, d, tol_db in [(2.0, 0.01, 0.05), (1.0, 0.03, 0.25)]:
        out = sphere_boresight_field(f, eps, R, d, [10.0])
        flat = halfspace_boresight_far_field(f, eps, d, 10.0)
        assert abs(20 * np.log10(abs(out.E[0]) / abs(flat))) < tol_db
        # the closed form keeps the curvature and is much closer
        assert abs(_go_error_db(f, R, d, np.array([10.0]))[0]) < 0.01


@pytest.mark.claim("pl_flat_extra_loss")
def test_exact_flat_extra_loss_is_ten_log_modulus_eps():
    # exact half-space far field booked through the ray-optics surface field: excess over Friis
    for f in MUSCLE:
        eps = muscle_permittivity(f)
        w = 2 * np.pi * f
        d, r = 0.01, 1e4
        alpha = w / c * abs(np.sqrt(eps).imag)
        tau = abs(2 * np.sqrt(eps) / (1 + np.sqrt(eps)))
        E0 = tau * w**2 * mu_0 * np.exp(-alpha * d) / (4 * np.pi * d)   # GO field just outside
        E = abs(halfspace_boresight_far_field(f, eps, d, r))
        excess = 20 * np.log10(E0 / E) - 20 * np.log10(r / d)
        assert excess == pytest.approx(10 * np.log10(abs(eps)), abs=1e-3)


# Regression targets from an independent implementation of the same series, recorded in the paper
# notes (table V1(d)): X = 10 log10[S_exact(r) / S_air(d + r)], quoted to 0.01 dB.
ORACLE = [
    (434e6, 0.10, 0.01, [-12.45, -12.44, -12.42]),
    (434e6, 0.10, 0.03, [-13.37, -13.43, -13.44]),
    (434e6, 0.20, 0.01, [-13.66, -13.76, -13.80]),
    (434e6, 0.20, 0.03, [-15.92, -16.16, -16.27]),
    (2.45e9, 0.10, 0.01, [-15.27, -15.33, -15.36]),
    (2.45e9, 0.10, 0.03, [-20.97, -21.16, -21.26]),
    (2.45e9, 0.20, 0.01, [-15.75, -15.82, -15.86]),
    (2.45e9, 0.20, 0.03, [-22.44, -22.65, -22.75]),
]


@pytest.mark.claim("pl_oracle")
def test_matches_independent_implementation_values():
    r = np.array([0.5, 1.0, 2.0])
    for f, R, d, want in ORACLE:
        w = 2 * np.pi * f
        out = sphere_boresight_field(f, muscle_permittivity(f), R, d, r)
        S_air = (w**2 * mu_0 / (4 * np.pi * (d + r))) ** 2 / (2 * ETA0)
        np.testing.assert_allclose(10 * np.log10(out.S / S_air), want, atol=0.0051)


GRID_F = sorted(MUSCLE)
GRID_R = [0.05, 0.1, 0.2, 0.5]
GRID_D = [0.005, 0.01, 0.02, 0.03]


def _grid_errors():
    rows = []
    for f in GRID_F:
        lam = c / f
        r = np.geomspace(max(lam, 0.1), 10.0, 16)
        for R in GRID_R:
            for d in GRID_D:
                if d < R:
                    e = _go_error_db(f, R, d, r)
                    rows.append((2 * np.pi * R / lam, float(e.min()), float(e.max())))
    return rows


@pytest.mark.claim("pl_accuracy_region")
@pytest.mark.claim("pl_paper_structure")
def test_closed_form_within_measured_bands_of_exact_series():
    from lossbook.pathloss.closed_form import ERROR_BANDS
    rows = _grid_errors()
    for lo, bound in ERROR_BANDS:
        worst = max(max(-a, b) for k0R, a, b in rows if k0R >= lo)
        assert worst <= bound
    # and validity() hands out the same bound on a representative far-zone point
    assert float(validity(3.0, 5.8e9, 0.5, 0.01, muscle_permittivity(5.8e9)).expected_error_db) == ERROR_BANDS[0][1]


@pytest.mark.claim("pl_accuracy_region")
def test_error_bands_are_the_measured_worst_case_rounded_up():
    from lossbook.pathloss.closed_form import ERROR_BANDS, measure_error_bands
    worst = measure_error_bands()
    for (_, bound), w in zip(ERROR_BANDS, worst, strict=True):
        assert w <= bound <= w + 0.1  # rounded up to 0.05 dB: no looser than that


@pytest.mark.claim("pl_accuracy_region")
def test_closed_form_bounds_hold_off_the_calibration_grid_for_several_tissues():
    # Random tissues inside the calibrated range (|n| in [5.5, 9.5], loss tangent in [0.2, 1.2]) that are NOT
    # grid points, with radii, depths and frequencies off the grid too: the bands must hold. (Measured worst
    # ratio error/bound on this sample: 0.8.)
    from lossbook.pathloss.closed_form import CALIBRATED_RANGE, ERROR_BANDS

    rng = np.random.default_rng(11)
    rows, tissues = [], 0
    while tissues < 12:
        eps = rng.uniform(30.0, 70.0) * (1 - 1j * rng.uniform(0.2, 1.2))
        n_abs = abs(complex(np.sqrt(eps)))
        if not CALIBRATED_RANGE["abs_n"][0] <= n_abs <= CALIBRATED_RANGE["abs_n"][1]:
            continue
        tissues += 1
        f = float(np.exp(rng.uniform(np.log(500e6), np.log(5.5e9))))
        lam = c / f
        r = np.geomspace(max(lam, 0.1), 10.0, 10)
        for R in rng.uniform(0.06, 0.45, 2):
            d = float(rng.uniform(0.006, 0.028))
            v = validity(r, f, R, d, eps)
            e = np.abs(exact_free_space_path_loss_db(r, f, d, R, eps) - free_space_path_loss_db(r, f, d, R, eps))
            ok = np.isfinite(v.expected_error_db)
            assert np.all(e[ok] <= v.expected_error_db[ok])
            rows.append(2 * np.pi * R / lam)
    for lo, _ in ERROR_BANDS:
        assert any(k >= lo for k in rows)  # every band was exercised


@pytest.mark.claim("pl_validity_tissue")
def test_validity_refuses_tissues_outside_its_calibration():
    # the reviewer's fat-like tissue: eps' = 5.3, sigma = 0.1 S/m at 2.45 GHz, R = 10 cm, d = 1 cm, where the
    # muscle band (0.2 dB) was handed out although the closed form is off by 0.93 dB
    fat = complex_permittivity(2.45e9, 5.3, 0.1)
    r = np.geomspace(0.3, 10.0, 16)
    err = np.abs(exact_free_space_path_loss_db(r, 2.45e9, 0.01, 0.1, fat) - free_space_path_loss_db(r, 2.45e9, 0.01,
                                                                                                      0.1, fat))
    assert err.max() == pytest.approx(0.93, abs=0.01)
    with pytest.raises(ValueError, match="eps_c is outside"):
        validity(r, 2.45e9, 0.1, 0.01, fat)
    with pytest.raises(ValueError, match="loss tangent"):
        validity(1.0, 2.45e9, 0.1, 0.01, 52.0 - 1j)  # nearly lossless water-like tissue
    # and a second tissue inside the range is accepted (skin-like, 2.45 GHz)
    assert np.isfinite(validity(1.0, 2.45e9, 0.1, 0.01, complex_permittivity(2.45e9, 38.0, 1.46)).expected_error_db)


@pytest.mark.claim("pl_small_body")
def test_closed_form_fails_for_electrically_small_bodies():
    rows = _grid_errors()
    worst_small = max(max(-a, b) for k0R, a, b in rows if k0R < 1)
    assert worst_small > 1.0            # measured 2.9 dB
    centre = _go_error_db(434e6, 0.05, 0.05, np.array([1.0, 3.0]))
    assert np.all(centre < -10.0)       # measured -11.8 dB: the plane-wave tau is meaningless


@pytest.mark.claim("pl_near_zone")
def test_exact_field_exceeds_ray_optics_in_the_near_zone():
    e = _go_error_db(434e6, 0.2, 0.005, np.array([0.01, 0.3]))
    assert e[0] >= 10.0                 # measured +18.0 dB at r = 1 cm
    assert not bool(validity(0.01, 434e6, 0.2, 0.005, muscle_permittivity(434e6)).far_zone)
    e = _go_error_db(2.45e9, 0.2, 0.02, np.array([0.01, 1.0]))
    assert e[0] > 1.0 and abs(e[1]) < 0.2


@pytest.mark.claim("pl_index_choice")
def test_choice_of_refractive_index():
    r = np.array([3.0])
    got = {m: float(_go_error_db(434e6, 0.5, 0.01, r, n_model=m)[0]) for m in
           ("complex", "abs", "real", "sqrt_real_eps")}
    assert abs(got["complex"]) < 0.1 and abs(got["abs"]) < 0.1
    # notes: about -0.30 dB (Re n) and -0.63 dB (sqrt eps'), from the independent implementation
    assert got["real"] == pytest.approx(-0.30, abs=0.02)
    assert got["sqrt_real_eps"] == pytest.approx(-0.63, abs=0.02)


@pytest.mark.claim("pl_magnetic_source")
def test_magnetic_source_has_the_same_free_space_part():
    r = np.geomspace(0.5, 10, 8)
    for R in (0.1, 0.2, 0.5):
        e = _go_error_db(2.45e9, R, 0.01, r, source="magnetic")
        assert np.max(np.abs(e)) <= 0.15


@pytest.mark.claim("pl_directivity")
def test_boresight_directivity_matches_independent_values():
    # table R7 of the paper notes (independent implementation), dBi, d = 5/10/20/30 mm
    table = {(434e6, 0.10): [3.35, 3.28, 3.28, 3.37], (2.45e9, 0.20): [4.62, 4.60, 4.56, 4.52],
             (2.45e9, 0.50): [5.07, 5.07, 5.07, 5.07], (915e6, 0.50): [4.54, 4.54, 4.53, 4.52]}
    for (f, R), want in table.items():
        got = [10 * np.log10(sphere_directivity_boresight(f, muscle_permittivity(f), R, d)) for d in GRID_D]
        np.testing.assert_allclose(got, want, atol=0.0051)
    # the claim itself, on the chapter's cases: over d = 5-30 mm, D0 changes by less than 0.5 dB
    # (measured at most 0.30 dB, at 2.45 GHz and R = 10 cm)
    for f in (434e6, 915e6, 2.45e9):
        for R in (0.1, 0.2, 0.5):
            got = [10 * np.log10(sphere_directivity_boresight(f, muscle_permittivity(f), R, d)) for d in GRID_D]
            assert max(got) - min(got) < 0.5


def test_exact_path_loss_booking():
    f, R, d = 2.45e9, 0.2, 0.01
    eps = muscle_permittivity(f)
    r = np.array([0.5, 2.0])
    gap = exact_free_space_path_loss_db(r, f, d, R, eps) - free_space_path_loss_db(r, f, d, R, eps)
    np.testing.assert_allclose(gap, -_go_error_db(f, R, d, r), atol=1e-12)


def test_truncation_cap_warns():
    with pytest.warns(SeriesTruncationWarning, match="n_cap"):
        out = sphere_boresight_field(2.45e9, 50.0, 0.5, 0.001, [0.0], n_cap=500)
    assert out.n_terms == 500


def test_series_terms_decay():
    t = series_terms(2.45e9, muscle_permittivity(2.45e9), 0.1, 0.02, 1.0, nmax=120)
    assert t[-1] < 1e-12 * t.max()


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(d=0.0), "d"),
        (dict(d=-0.01), "d"),
        (dict(d=0.2), "d must lie in"),
        (dict(r=[-1.0]), "r"),
        (dict(f=0.0), "f"),
        (dict(f=-1.0), "f"),
        (dict(R=0.0), "R"),
        (dict(R=np.inf), "R"),
        (dict(eps_c=complex(np.nan, 0.0)), "eps_c"),
        (dict(eps_c=complex(50.0, np.inf)), "eps_c"),
        (dict(tol=0.0), "tol"),
        (dict(source="quadrupole"), "source"),
        (dict(engine="fortran"), "engine"),
        (dict(nmax=0), "nmax"),
    ],
)
def test_series_rejects_invalid_inputs(kwargs, match):
    args = dict(f=1e9, eps_c=50.0 - 10.0j, R=0.1, d=0.01, r=[1.0])
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        sphere_boresight_field(args.pop("f"), args.pop("eps_c"), args.pop("R"), args.pop("d"), args.pop("r"),
                               **args)


def test_series_type_errors():
    with pytest.raises(TypeError, match="moment"):
        sphere_boresight_field(1e9, 50.0, 0.1, 0.01, [1.0], moment=[1.0, 2.0])
    with pytest.raises(TypeError, match="eps_c"):
        sphere_boresight_field(1e9, [50.0, 40.0], 0.1, 0.01, [1.0])
    with pytest.raises(TypeError, match="r"):
        sphere_boresight_field(1e9, 50.0, 0.1, 0.01, [1.0 + 1j])


def test_power_out_scales_with_moment_squared_and_matches_far_field_flux():
    f, R, d = 915e6, 0.1, 0.02
    eps = muscle_permittivity(f)
    P1 = sphere_power_out(f, eps, R, d)
    assert sphere_power_out(f, eps, R, d, moment=3.0 - 4.0j) == pytest.approx(25 * P1, rel=1e-12)
    # boresight flux far away equals D0 P_out / (4 pi r^2): ties the power sum to the field series
    D0 = sphere_directivity_boresight(f, eps, R, d)
    # The offset falls like 1/r (measured 9.5e-5 at 2 km, 9.5e-6 at 20 km: the effective centre of the
    # far field is not the sphere's centre); a normalisation error would not decay. Bounds: 2x measured.
    for r, rel in ((2000.0, 2e-4), (20000.0, 2e-5)):
        S = sphere_boresight_field(f, eps, R, d, [r]).S[0]
        assert S == pytest.approx(D0 * P1 / (4 * np.pi * (R + r) ** 2), rel=rel)


@given(f=st.floats(1e8, 6e9), R=st.floats(0.01, 0.6), frac=st.floats(0.01, 1.0), r=st.floats(0.0, 20.0),
       source=st.sampled_from(["electric", "magnetic"]))
@settings(max_examples=40, deadline=None)
def test_empty_sphere_is_free_space_for_random_geometry(f, R, frac, r, source):
    d = frac * R
    out = sphere_boresight_field(f, 1.0, R, d, [r], source=source)
    E, H = _free_space_dipole(f, np.array([d + r]), source)
    assert abs(out.E[0] / E[0] - 1) < 1e-9
    assert abs(out.H[0] / H[0] - 1) < 1e-9


@pytest.mark.parametrize("source", ["electric", "magnetic"])
def test_empty_sphere_radiates_free_space_dipole_power_with_directivity_one_and_a_half(source):
    # Larmor-type formulas: P = w^4 mu0 |p|^2 / (12 pi c) and P = w mu0 k^3 |m|^2 / (12 pi)
    for f, R, frac in [(434e6, 0.05, 0.3), (2.45e9, 0.2, 1.0), (5.8e9, 0.1, 0.05)]:
        w = 2 * np.pi * f
        k = w / c
        want = w**4 * mu_0 / (12 * np.pi * c) if source == "electric" else w * mu_0 * k**3 / (12 * np.pi)
        assert sphere_power_out(f, 1.0, R, frac * R, source=source) == pytest.approx(want, rel=1e-10)
        if frac == 1.0:
            assert sphere_directivity_boresight(f, 1.0, R, R, source=source) == pytest.approx(1.5, rel=1e-12)
