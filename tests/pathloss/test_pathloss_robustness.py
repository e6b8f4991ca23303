"""Regression tests for the path-loss defects of issue #12 (overflow to inf, unclear shape errors, series hangs)."""

import time

import mpmath
import numpy as np
import pytest
from scipy.constants import c as C0

from lossbook.pathloss import (
    MAX_TERMS,
    boresight_power_density,
    defocusing_factor,
    exact_free_space_path_loss_db,
    excess_loss_db,
    free_space_path_loss_db,
    friis_path_loss_db,
    halfspace_boresight_far_field,
    off_boresight_factor_db,
    series_terms,
    sphere_boresight_field,
    sphere_power_out,
    stack_transmission,
    surface_to_receiver_loss_db,
    validity,
    virtual_source_depth,
)

mpmath.mp.dps = 50
EPS = 52.7 - 12.8j


def _mp_friis(r, f):
    return 20 * mpmath.log10(4 * mpmath.pi * mpmath.mpf(r) * mpmath.mpf(f) / mpmath.mpf(C0))


@pytest.mark.parametrize(("r", "f"), [(1e300, 1e300), (1e-300, 1e-300), (1.7e308, 1.7e308), (5e-324, 434e6)])
def test_friis_is_finite_at_extreme_arguments(r, f):
    # issue #12: friis_path_loss_db(1e300, 1e300) returned inf (the true value is ~11,852 dB)
    assert float(friis_path_loss_db(r, f)) == pytest.approx(float(_mp_friis(r, f)), rel=1e-14)


def test_closed_form_path_loss_at_extreme_distance_against_50_digits():
    r, f, d, R = 1e300, 2.45e9, 0.01, 0.1
    n = mpmath.sqrt(mpmath.mpc(EPS.real, EPS.imag))
    M = n - (n - 1) * mpmath.mpf(d) / mpmath.mpf(R)
    ref = 20 * mpmath.log10(4 * mpmath.pi * abs(mpmath.mpf(d) + M * mpmath.mpf(r)) * mpmath.mpf(f) / mpmath.mpf(C0))
    assert float(free_space_path_loss_db(r, f, d, R, EPS)) == pytest.approx(float(ref), rel=1e-13)
    ref_ex = 20 * mpmath.log10(abs(M + mpmath.mpf(d) / mpmath.mpf(5e-324)))
    assert float(excess_loss_db(5e-324, d, R, EPS)) == pytest.approx(float(ref_ex), rel=1e-13)
    ref_s = 20 * mpmath.log10(abs(1 + M * mpmath.mpf(1e300) / mpmath.mpf(d)))
    assert float(surface_to_receiver_loss_db(1e300, d, R, EPS)) == pytest.approx(float(ref_s), rel=1e-13)
    S = boresight_power_density(1e200, f, d, R, EPS)  # true value ~1e-400: below the float range
    assert S == 0.0


def test_defocusing_factor_has_no_cancellation_for_a_huge_index():
    assert complex(defocusing_factor(5e-324, 5e-324, 1e300)) == 1.0  # source at the centre: M = 1 exactly
    assert np.isfinite(complex(virtual_source_depth(5e-324, 5e-324, 1e300)))


CLOSED_FORMS = [
    ("friis_path_loss_db", lambda r: friis_path_loss_db(r, [1e9, 2e9]), ("r", "f")),
    ("free_space_path_loss_db", lambda r: free_space_path_loss_db(r, 1e9, [0.01, 0.02], 0.1, EPS), ("r", "d")),
    ("excess_loss_db", lambda r: excess_loss_db(r, [0.01, 0.02], 0.1, EPS), ("r", "d")),
    ("surface_to_receiver_loss_db", lambda r: surface_to_receiver_loss_db(r, [0.01, 0.02], 0.1, EPS), ("r", "d")),
    ("boresight_power_density", lambda r: boresight_power_density(r, 1e9, [0.01, 0.02], 0.1, EPS), ("r", "d")),
    ("validity", lambda r: validity(r, 2.45e9, 0.1, [0.01, 0.02], EPS), ("r", "d")),
    ("defocusing_factor", lambda r: defocusing_factor([0.01, 0.02], np.full(len(r), 0.1), EPS), ("d", "R")),
    ("virtual_source_depth", lambda r: virtual_source_depth([0.01, 0.02], np.full(len(r), 0.1), EPS), ("d", "R")),
    ("halfspace_boresight_far_field", lambda r: halfspace_boresight_far_field([1e9, 2e9], EPS, 0.01, r), ("f", "r")),
]


@pytest.mark.parametrize(("name", "call", "names"), CLOSED_FORMS, ids=[c[0] for c in CLOSED_FORMS])
def test_mismatched_lengths_name_both_arguments(name, call, names):
    # issue #12: seven closed forms raised raw NumPy broadcast errors naming no argument
    with pytest.raises(ValueError, match="cannot be broadcast") as info:
        call(np.array([1.0, 2.0, 3.0]))
    for n in names:
        assert f"{n} with shape" in str(info.value)


@pytest.mark.parametrize("engine", ["numpy", "numba"])
@pytest.mark.parametrize("kwargs", [dict(R=1e6), dict(eps_c=1e300), dict(eps_c=1e300 - 1e300j),
                                    dict(f=1e300), dict(eps_c=5e-324), dict(d=1e-300, r=[0.0])])
def test_series_refuses_up_front_instead_of_hanging(engine, kwargs):
    # issue #12: R = 1e6 ran ~4e8 Python iterations (numpy) or returned a truncated result (numba);
    # eps = 1e300 hung (numpy) or raised ZeroDivisionError (numba)
    args = dict(f=2.45e9, eps_c=EPS, R=0.1, d=0.02, r=[0.5])
    args.update(kwargs)
    t0 = time.perf_counter()
    with pytest.raises(ValueError, match="MAX_TERMS|electrically too small") as info:
        sphere_boresight_field(**args, engine=engine)
    assert time.perf_counter() - t0 < 2.0
    assert str(MAX_TERMS) in str(info.value) or "1e-06" in str(info.value)


@pytest.mark.parametrize("call", [
    lambda e: sphere_power_out(2.45e9, EPS, 1e6, 0.02, engine=e),
    lambda e: series_terms(2.45e9, 1e300, 0.1, 0.02, 0.5, nmax=10),
    lambda e: exact_free_space_path_loss_db([1.0], 2.45e9, 0.02, 1e6, EPS, engine=e),
])
@pytest.mark.parametrize("engine", ["numpy", "numba"])
def test_every_series_function_refuses_electrically_huge_bodies(call, engine):
    with pytest.raises(ValueError, match="MAX_TERMS"):
        call(engine)


def test_series_limits_are_checked():
    with pytest.raises(ValueError, match="n_cap"):
        sphere_boresight_field(2.45e9, EPS, 0.1, 0.02, [0.5], n_cap=MAX_TERMS + 1)
    with pytest.raises(ValueError, match="nmax"):
        sphere_boresight_field(2.45e9, EPS, 0.1, 0.02, [0.5], nmax=MAX_TERMS + 1)
    with pytest.raises(ValueError, match="too far"):
        sphere_boresight_field(2.45e9, EPS, 0.1, 0.02, [1e300])


@pytest.mark.parametrize(("d", "r"), [(0.1, [0.0]), (0.1, [0.0, 1e3]), (1e-9, [2.0]), (0.05, [0.0])])
def test_engines_agree_on_edge_cases(d, r):
    a = sphere_boresight_field(2.45e9, EPS, 0.1, d, r, engine="numpy")
    b = sphere_boresight_field(2.45e9, EPS, 0.1, d, r, engine="numba")
    np.testing.assert_allclose(a.S, b.S, rtol=1e-10)


def test_exact_path_loss_of_distant_receivers_is_finite_and_converged():
    r = np.array([1e3, 1e100, 1e250])
    pl = exact_free_space_path_loss_db(r, 2.45e9, 0.02, 0.1, EPS)
    closed = free_space_path_loss_db(r, 2.45e9, 0.02, 0.1, EPS)
    assert np.all(np.isfinite(pl))
    # the density ratio converges like 1/(k0 r): the same correction at 1e100 and 1e250, close to that at 1 km
    assert pl[2] - closed[2] == pytest.approx(pl[1] - closed[1], abs=1e-12)
    assert pl[0] - closed[0] == pytest.approx(pl[1] - closed[1], abs=1e-3)


def test_interfaces_at_extreme_arguments():
    assert np.all(np.isfinite(off_boresight_factor_db([0.0, 0.5, 1.5], 1e300)))
    assert float(off_boresight_factor_db(0.0, 1e300)) == 0.0
    assert stack_transmission(2.45e9, EPS, [5.0 - 2.0j], [1e200]) == 0j  # the layer absorbs everything
    n0 = np.sqrt(EPS)
    assert abs(stack_transmission(2.45e9, EPS, [], [])) == pytest.approx(abs(2 * n0 / (1 + n0)), rel=1e-14)
