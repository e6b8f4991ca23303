"""Closed form (derived in the chapter): limits, the paraxial image against exact ray tracing,
input validation, convention invariance. None of these compares the code with its own output."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.constants import c, epsilon_0

from lossbook.pathloss import (
    MUSCLE,
    complex_permittivity,
    defocusing_factor,
    excess_loss_db,
    free_space_path_loss_db,
    friis_path_loss_db,
    interface_transmission,
    muscle_permittivity,
    refractive_index,
    surface_to_receiver_loss_db,
    validity,
    virtual_source_depth,
)

EPS_434 = muscle_permittivity(434e6)
EPS_2G45 = muscle_permittivity(2.45e9)


def test_complex_permittivity_matches_definition():
    for f, (er, sg) in MUSCLE.items():
        want = er - 1j * sg / (2 * np.pi * f * epsilon_0)
        assert complex(complex_permittivity(f, er, sg)) == pytest.approx(want, rel=1e-14)
        assert complex(complex_permittivity(f, er, sg, "physics")) == pytest.approx(np.conj(want), rel=1e-14)
    # the tabulated imaginary parts of the paper notes (one decimal)
    assert abs(abs(EPS_434.imag) - 33.3) < 0.05 and abs(abs(EPS_2G45.imag) - 12.8) < 0.05


# Subnormal Im eps excluded: Im n = Im eps / (2 Re n) then underflows to 0 (Hypothesis found
# im = 5e-324), a floating-point limit rather than a wrong branch.
@given(st.floats(0.1, 100.0), st.floats(-80.0, 80.0, allow_subnormal=False))
@settings(max_examples=60, deadline=None)
def test_refractive_index_is_principal_square_root(re, im):
    n = complex(refractive_index(complex(re, im)))
    assert n.real > 0
    assert n * n == pytest.approx(complex(re, im), rel=1e-13)
    assert np.sign(n.imag) == np.sign(im) or im == 0


def _paraxial_image_by_ray_tracing(n: float, d: float, R: float, theta: float) -> float:
    """Trace one ray from the source with exact vector Snell's law; return the depth where the refracted
    ray, extended backwards, meets the axis (measured from the surface point on the axis)."""
    src = np.array([0.0, R - d])
    u = np.array([np.sin(theta), np.cos(theta)])
    b = src @ u
    t = -b + np.sqrt(b * b - (src @ src - R * R))   # hit point on |P| = R
    P = src + t * u
    nrm = P / R
    cos_i = u @ nrm
    eta = n  # n_tissue / n_air
    cos_t = np.sqrt(1 - eta**2 * (1 - cos_i**2))
    v = eta * u + (cos_t - eta * cos_i) * nrm
    s = -P[0] / v[0]                                  # back to x = 0
    return R - (P[1] + s * v[1])


@pytest.mark.parametrize("n,d,R", [(7.5, 0.01, 0.1), (7.5, 0.03, 0.1), (3.0, 0.05, 0.2), (7.0, 0.2, 0.2)])
def test_virtual_source_depth_matches_exact_ray_tracing_in_paraxial_limit(n, d, R):
    # paraxial error is O(theta^2); theta = 1e-5 leaves ~1e-9 relative, far below the rtol
    traced = _paraxial_image_by_ray_tracing(n, d, R, 1e-5)
    assert complex(virtual_source_depth(d, R, n * n)).real == pytest.approx(traced, rel=1e-6)


@pytest.mark.claim("pl_limit_centre")
def test_source_at_centre_gives_friis_over_radius_plus_distance():
    r = np.geomspace(0.01, 10, 30)
    for eps in (EPS_434, EPS_2G45, 40.0):
        for R in (0.05, 0.2):
            np.testing.assert_allclose(defocusing_factor(R, R, eps), 1.0, rtol=0, atol=1e-14)
            np.testing.assert_allclose(virtual_source_depth(R, R, eps), R, rtol=1e-14)
            np.testing.assert_allclose(free_space_path_loss_db(r, 434e6, R, R, eps),
                                       20 * np.log10(4 * np.pi * (R + r) * 434e6 / c), rtol=0, atol=1e-12)


@pytest.mark.claim("pl_limit_no_body")
def test_no_body_gives_friis_over_the_whole_path():
    r = np.geomspace(0.01, 10, 30)
    for d, R in [(0.01, 0.1), (0.03, np.inf), (0.2, 0.2)]:
        np.testing.assert_allclose(free_space_path_loss_db(r, 2.45e9, d, R, 1.0),
                                   20 * np.log10(4 * np.pi * (d + r) * 2.45e9 / c), rtol=0, atol=1e-12)
        np.testing.assert_allclose(excess_loss_db(r, d, R, 1.0), 20 * np.log10(1 + d / r), atol=1e-12)


@pytest.mark.claim("pl_limit_shallow")
def test_shallow_source_and_flat_interface_give_M_equal_n():
    for eps in (EPS_434, EPS_2G45):
        n = complex(refractive_index(eps))
        # M - n = -(n - 1) d / R: linear in d, so d = 1e-9 R leaves |n - 1| * 1e-9
        assert complex(defocusing_factor(1e-10, 0.1, eps)) == pytest.approx(n, abs=1e-8)
        assert complex(defocusing_factor(0.05, np.inf, eps)) == pytest.approx(n, rel=1e-15)
        tau, T = interface_transmission(eps)
        assert complex(tau) == pytest.approx(2 * n / (1 + n))
        assert float(T) == pytest.approx(1 - abs((n - 1) / (n + 1)) ** 2)


@pytest.mark.claim("pl_flat_extra_loss")
def test_flat_interface_extra_loss_is_ten_log_modulus_eps():
    for f in MUSCLE:
        eps = muscle_permittivity(f)
        # Delta L(r) = 20 log10|n + d/r| -> 10 log10|eps| with an O(d/r) correction
        got = excess_loss_db(1e7, 0.01, np.inf, eps)
        assert float(got) == pytest.approx(10 * np.log10(abs(eps)), abs=1e-7)
    # the paper notes' table: 18.19, 17.64, 17.34, 17.07 dB at 434 MHz ... 5.8 GHz
    want = [18.19, 17.64, 17.34, 17.07]
    got = [10 * np.log10(abs(muscle_permittivity(f))) for f in sorted(MUSCLE)]
    np.testing.assert_allclose(got, want, atol=0.006)


@given(st.floats(1.0, 10.0), st.floats(0.01, 1.0), st.floats(0.01, 1.0))
@settings(max_examples=80, deadline=None)
def test_extra_loss_is_nonnegative_and_decreases_with_depth_ratio(n, t1, t2):
    lo, hi = sorted((t1, t2))
    R = 0.3
    big = 20 * np.log10(abs(complex(defocusing_factor(lo * R, R, n * n))))
    small = 20 * np.log10(abs(complex(defocusing_factor(hi * R, R, n * n))))
    assert small >= -1e-12
    assert big >= small - 1e-12


def test_decibel_forms_are_consistent():
    r = np.geomspace(0.1, 10, 20)
    d, R = 0.02, 0.15
    lhs = free_space_path_loss_db(r, 915e6, d, R, EPS_434)
    # Friis + Delta L and (4 pi d/lambda)^2 * S(0+)/S(r) describe the same number
    np.testing.assert_allclose(lhs, friis_path_loss_db(r, 915e6) + excess_loss_db(r, d, R, EPS_434), atol=1e-12)
    np.testing.assert_allclose(lhs, 20 * np.log10(4 * np.pi * d * 915e6 / c)
                               + surface_to_receiver_loss_db(r, d, R, EPS_434), atol=1e-12)


@pytest.mark.claim("pl_convention")
def test_closed_form_does_not_depend_on_time_convention():
    r = np.geomspace(0.1, 10, 11)
    for eps in (EPS_434, EPS_2G45):
        for model in ("complex", "abs", "real", "sqrt_real_eps"):
            a = free_space_path_loss_db(r, 434e6, 0.02, 0.1, eps, n_model=model)
            b = free_space_path_loss_db(r, 434e6, 0.02, 0.1, np.conj(eps), n_model=model)
            np.testing.assert_allclose(a, b, rtol=0, atol=1e-12)


def test_broadcasting_over_grids():
    d = np.array([0.005, 0.01, 0.02])[:, None]
    R = np.array([0.05, 0.1, np.inf])[None, :]
    M = defocusing_factor(d, R, EPS_2G45)
    assert M.shape == (3, 3)
    assert np.all(np.isfinite(M))


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: defocusing_factor(0.0, 0.1, 50.0), "d"),
        (lambda: defocusing_factor(-0.01, 0.1, 50.0), "d"),
        (lambda: defocusing_factor(0.2, 0.1, 50.0), "d must lie in"),
        (lambda: defocusing_factor(0.01, 0.0, 50.0), "R"),
        (lambda: defocusing_factor(0.01, np.nan, 50.0), "R"),
        (lambda: defocusing_factor(0.01, 0.1, np.nan), "eps_c"),
        (lambda: defocusing_factor(0.01, 0.1, complex(np.inf, 1.0)), "eps_c"),
        (lambda: defocusing_factor(0.01, 0.1, -4.0), "eps_c"),
        (lambda: defocusing_factor(0.01, 0.1, 50.0, n_model="magic"), "n_model"),
        (lambda: free_space_path_loss_db(-1.0, 1e9, 0.01, 0.1, 50.0), "r"),
        (lambda: free_space_path_loss_db(1.0, 0.0, 0.01, 0.1, 50.0), "f"),
        (lambda: free_space_path_loss_db(1.0, -1e9, 0.01, 0.1, 50.0), "f"),
        (lambda: excess_loss_db(0.0, 0.01, 0.1, 50.0), "r"),
        (lambda: complex_permittivity(1e9, 50.0, -1.0), "sigma"),
        (lambda: complex_permittivity(1e9, 50.0, 1.0, "other"), "convention"),
        (lambda: muscle_permittivity(1e9), "f"),
        (lambda: validity(1.0, 1e9, 0.1, 0.2, 50 - 20j), "d"),
    ],
)
def test_invalid_inputs_raise_value_error_naming_the_parameter(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_complex_distance_is_a_type_error():
    with pytest.raises(TypeError, match="r"):
        free_space_path_loss_db(1.0 + 1j, 1e9, 0.01, 0.1, 50.0)


def test_validity_flags_the_reactive_zone_and_small_bodies():
    lam = c / 434e6
    v = validity(np.array([0.01, 0.3, lam, 5.0]), 434e6, 0.2, 0.005, muscle_permittivity(434e6))
    assert v.far_zone.tolist() == [False, False, True, True]
    assert np.all(np.isinf(v.expected_error_db[:2]))
    assert not bool(validity(1.0, 434e6, 0.05, 0.01, muscle_permittivity(434e6)).large_body)   # k0 R = 0.45
    assert bool(validity(1.0, 5.8e9, 0.05, 0.01, muscle_permittivity(5.8e9)).large_body)       # k0 R = 6.1
