"""Planar-interface effects outside the sphere model: the off-boresight factor against Monte Carlo ray
tracing, and the layered-stack transmission against its limits and energy conservation."""

import numpy as np
import pytest

from lossbook.pathloss import muscle_permittivity, off_boresight_factor_db, stack_transmission

MUSCLE_245 = muscle_permittivity(2.45e9)


def test_off_boresight_factor_matches_monte_carlo_ray_tracing():
    # isotropic rays in the tissue, each carrying Fresnel-transmitted power into air, binned by the air angle;
    # power per air solid angle relative to the normal must follow the closed form
    eps = 4.0 + 0j  # |n| = 2 keeps the exit cone wide enough to sample well
    n = 2.0
    rng = np.random.default_rng(0)
    m = 4_000_000
    cos_t = 1.0 - rng.random(m) * (1.0 - np.sqrt(1.0 - 1.0 / n**2))  # uniform in solid angle inside the cone
    sin_t = np.sqrt(1.0 - cos_t**2)
    sin_a = n * sin_t
    cos_a = np.sqrt(np.clip(1.0 - sin_a**2, 0.0, None))
    rs = (n * cos_t - cos_a) / (n * cos_t + cos_a)
    rp = (cos_t - n * cos_a) / (cos_t + n * cos_a)
    power = 1.0 - 0.5 * (rs**2 + rp**2)
    edges = np.linspace(0.0, 1.2, 13)
    hist, _ = np.histogram(np.arccos(cos_a), bins=edges, weights=power)
    solid = 2 * np.pi * (np.cos(edges[:-1]) - np.cos(edges[1:]))
    density = hist / solid
    mids = 0.5 * (edges[:-1] + edges[1:])
    pred = 10 ** (off_boresight_factor_db(mids, eps) / 10)
    measured = density / density[0] * pred[0]  # normalise on the first bin
    # Monte Carlo: >= 1e5 rays per bin, relative s.e. below 1%; bin-averaging curvature ~1%; allow 4%
    np.testing.assert_allclose(measured, pred, rtol=0.04)


def test_off_boresight_factor_limits():
    assert float(off_boresight_factor_db(0.0, MUSCLE_245)) == 0.0
    v = off_boresight_factor_db(np.linspace(0, np.pi / 2, 50), MUSCLE_245)
    assert np.all(np.diff(v) < 0) and v[-1] == -np.inf
    with pytest.raises(ValueError, match="theta_air"):
        off_boresight_factor_db(2.0, MUSCLE_245)
    with pytest.raises(ValueError, match="eps_c"):
        off_boresight_factor_db(0.1, 0.5 + 0j)


def test_stack_reduces_to_the_single_interface():
    n0 = np.sqrt(complex(MUSCLE_245))
    tau = 2 * n0 / (1 + n0)
    assert abs(stack_transmission(2.45e9, MUSCLE_245, [], [])) == pytest.approx(abs(tau), rel=1e-14)
    assert abs(stack_transmission(2.45e9, MUSCLE_245, [5.3 - 0.7j], [0.0])) == pytest.approx(abs(tau), rel=1e-14)
    # a layer of the tissue itself changes nothing but a phase
    assert abs(stack_transmission(2.45e9, MUSCLE_245, [MUSCLE_245], [0.013])) == pytest.approx(
        abs(tau) * np.exp(-2 * np.pi * 2.45e9 / 299_792_458.0 * abs(n0.imag) * 0.013), rel=1e-12)


def test_lossless_stack_conserves_energy_and_half_wave_layers_are_transparent():
    f, n0, n1 = 1e9, 3.0, 1.7
    lam1 = 299_792_458.0 / f / n1
    t_half = stack_transmission(f, n0**2 + 0j, [n1**2 + 0j], [lam1 / 2])
    assert abs(t_half) == pytest.approx(2 * n0 / (1 + n0), rel=1e-12)
    # energy: (1/n0) |t|^2 + |r|^2 = 1 for real indices; r from the same matrix
    for thick in (0.01, 0.037, 0.2):
        t = stack_transmission(f, n0**2 + 0j, [n1**2 + 0j, 2.2**2 + 0j], [thick, thick / 3])
        assert abs(t) ** 2 / n0 <= 1.0 + 1e-12
        k0 = 2 * np.pi * f / 299_792_458.0
        M = np.eye(2, dtype=complex)
        for n_j, t_j in ((n1, thick), (2.2, thick / 3)):
            d = k0 * n_j * t_j
            M = M @ np.array([[np.cos(d), -1j * np.sin(d) / n_j], [-1j * n_j * np.sin(d), np.cos(d)]])
        den = n0 * M[0, 0] + n0 * M[0, 1] + M[1, 0] + M[1, 1]
        r = (n0 * M[0, 0] + n0 * M[0, 1] - M[1, 0] - M[1, 1]) / den
        assert abs(t) ** 2 / n0 + abs(r) ** 2 == pytest.approx(1.0, abs=1e-12)


def test_stack_rejects_mismatched_layers():
    with pytest.raises(ValueError, match="same length"):
        stack_transmission(1e9, MUSCLE_245, [5.0, 6.0], [0.01])
