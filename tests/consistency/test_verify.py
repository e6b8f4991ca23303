"""The numerical proof engine: no violations on random draws; the Numba search (sampling included) pinned
to its NumPy reference on fixed seeds."""

import numpy as np
import pytest
from numba import njit

from lossbook._rng import as_generator, kernel_seed
from lossbook.consistency import (
    best_conditional_risk,
    bound_T,
    conditional_risk,
    draw_instances,
    uniforms_per_draw,
    verify_bound,
    zero_one_regret,
)
from lossbook.consistency.verify import (
    _draw_numba,
    _draw_numpy,
    _margins_numba,
    _margins_numpy,
    _search_numba,
    _search_numpy,
)

TAUS = [0.0, 0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 1.75, 2.0, 3.0]


@pytest.mark.claim("csh_bound_holds_random")
@pytest.mark.parametrize("tau", TAUS)
def test_bound_holds_on_random_distributions(tau):
    for n, seed in ((3, 1), (10, 2)):
        res = verify_bound(tau, n, 100_000, seed=seed)
        assert res.n_violations == 0
        assert res.min_ratio >= 1 - 1e-9
        assert np.all(res.surrogate_regret >= bound_T(res.regret01, tau, n) - 1e-9)
        if tau <= 1.0:
            # the search gets close to the tight construction: the bound cannot be raised by 1e-4
            assert res.min_ratio < 1 + 1e-4


@njit
def _numba_uniforms(seed, m):
    np.random.seed(seed)  # noqa: NPY002 -- Numba's own generator under test
    out = np.empty(m)
    for i in range(m):
        out[i] = np.random.random()  # noqa: NPY002
    return out


@pytest.mark.parametrize("seed", [0, 1, 12345, 2**31 - 2])
def test_numba_uniform_stream_is_numpy_legacy_stream(seed):
    # the premise of the kernel's reference: np.random.seed(s); np.random.random() inside njit gives
    # exactly numpy.random.RandomState(s).random_sample() (both MT19937 with init_genrand seeding and
    # 53-bit doubles from two 32-bit outputs); bit-for-bit, no tolerance
    assert np.array_equal(_numba_uniforms(seed, 100_000), np.random.RandomState(seed).random_sample(100_000))


@pytest.mark.parametrize("n", [2, 3, 10])
def test_kernel_sampler_equals_numpy_sampler(n):
    pa, ha = _draw_numpy(123, n, 20_000)
    pb, hb = _draw_numba(123, n, 20_000)
    # same uniforms, same formulas; only log/log1p/exp differ in the last ulp between NumPy (SIMD) and
    # Numba (libm). p_k ∝ exp(log(E_k)/alpha - max) has an exponent of size <= 2 * 37 / 0.05 ~ 1.5e3, whose
    # rounding (~1.5e3 * 1.1e-16 = 1.6e-13) is the relative error of p: rtol 1e-12 (measured 1.3e-14).
    # Scores are sigma (E - E') with sigma <= 5, E <= 37.4, so a few ulp of 37 times 5: atol 2e-13
    # (measured 7e-15).
    np.testing.assert_allclose(pb, pa, rtol=1e-12, atol=1e-300)
    np.testing.assert_allclose(hb, ha, rtol=0, atol=2e-13)
    assert np.array_equal(pa == 0.0, pb == 0.0)
    assert np.array_equal(np.argmax(ha, axis=1), np.argmax(hb, axis=1))


def test_public_draws_are_the_searched_draws():
    # draw_instances(seed=s) is the reference sampler of verify_bound(seed=s): recompute the gaps of
    # its pairs with the public NumPy functions and compare with both engines
    n, draws, tau, seed = 5, 4000, 0.5, 21
    p, h = draw_instances(n, draws, seed=seed)
    t = zero_one_regret(h, p)
    gap = conditional_risk(h, p, tau) - best_conditional_risk(p, tau)
    for engine in ("numpy", "numba"):
        res = verify_bound(tau, n, draws, seed=seed, engine=engine)
        np.testing.assert_allclose(res.regret01, t, rtol=0, atol=1e-12)
        np.testing.assert_allclose(res.surrogate_regret, gap, rtol=1e-9, atol=1e-9)
    kseed = kernel_seed(as_generator(seed))
    pr, hr = _draw_numpy(kseed, n, draws)
    assert np.array_equal(pr, p) and np.array_equal(hr, h)


@pytest.mark.parametrize("tau", [0.0, 0.5, 1.0, 1.0 + 5e-9, 1.5, 2.0, 3.0])
@pytest.mark.parametrize("n", [2, 10])
def test_numba_margins_equal_numpy_reference_on_identical_inputs(tau, n):
    p, h = draw_instances(n, 5000, seed=7)
    ours = _margins_numba(p, h, tau, n)
    ref = _margins_numpy(p, h, tau, n)
    names = ("zero-one gap", "surrogate gap", "T_tau", "scale")
    for a, b, name in zip(ours, ref, names, strict=True):
        # identical inputs; the two evaluate C* differently (normalised sum vs log-sum-exp), so they
        # agree to rounding of the risks, a few ulp of C + |C*|
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12 * (1 + ref[3].max()), err_msg=name)


@pytest.mark.parametrize("tau", [0.0, 0.5, 1.0, 1.0 + 5e-9, 1.5, 2.0, 3.0])
@pytest.mark.parametrize("n", [2, 10])
def test_numba_search_equals_numpy_reference_on_a_fixed_seed(tau, n):
    t_a, g_a, T_a, s_a, have_ratio, ratio_p, ratio_h, margin_p, margin_h = _search_numba(7, n, 20_000, tau)
    t_b, g_b, T_b, s_b, p_b, h_b = _search_numpy(7, n, 20_000, tau)
    # inputs agree to ~1e-12 relative (test above), so the zero-one gaps agree to a few 1e-12 and
    # the surrogate gaps to 1e-12 of the risks C + |C*| (measured <= 8e-15); 1e-11 leaves a margin.
    # T_tau is not compared here: its slope is infinite at t = 1 for tau < 1 (the margins test above
    # pins it on identical inputs).
    np.testing.assert_allclose(t_a, t_b, rtol=0, atol=1e-11)
    assert np.all(np.abs(g_a - g_b) <= 1e-11 * (1 + s_b))
    # the kept worst draws are the reference's argmin draws
    ratio = np.where(t_b > 1e-6, g_b / np.where(t_b > 1e-6, T_b, 1.0), np.inf)
    assert have_ratio == bool(np.any(t_b > 1e-6))
    w = int(np.argmin(ratio))
    np.testing.assert_allclose(ratio_p, p_b[w], rtol=1e-12, atol=1e-300)
    np.testing.assert_allclose(ratio_h, h_b[w], rtol=0, atol=2e-13)
    wm = int(np.argmin(g_b - T_b))
    np.testing.assert_allclose(margin_p, p_b[wm], rtol=1e-12, atol=1e-300)
    # and the public results of the two engines
    r1 = verify_bound(tau, n, 3000, seed=3, engine="numba")
    r2 = verify_bound(tau, n, 3000, seed=3, engine="numpy")
    assert r1.n_violations == r2.n_violations
    # measured agreement ~1e-15; the slack covers the conditioning of T_tau near t = 1
    np.testing.assert_allclose(r1.min_ratio, r2.min_ratio, rtol=1e-9)
    np.testing.assert_allclose(r1.worst_p, r2.worst_p, rtol=1e-12, atol=1e-300)


def test_draws_are_reproducible_valid_and_cover_every_regime():
    p1, h1 = draw_instances(5, 1000, seed=11)
    p2, h2 = draw_instances(5, 1000, seed=11)
    assert np.array_equal(p1, p2) and np.array_equal(h1, h2)
    assert np.all(p1 >= 0) and np.allclose(p1.sum(axis=1), 1.0, rtol=0, atol=1e-14)
    assert np.all(np.isfinite(h1))
    assert uniforms_per_draw(5) == 22
    # regime 2 (separated two-label draws): the n - 2 other labels score at most -5
    separated = np.sum(h1 <= -5.0, axis=1) == 3
    # regime 4 (nearly uniform): every p_k within a factor 3 of 1/n (delta <= 0.5)
    flat = np.all((p1 > 1 / 15) & (p1 < 3 / 5), axis=1)
    # with probability 1/4 each, 1000 draws give 250 +- 14 (binomial sd); 150 is 7 sd below
    assert separated.sum() > 150 and flat.sum() > 150


def test_invalid_arguments_name_the_parameter():
    with pytest.raises(ValueError, match="tau"):
        verify_bound(-1.0, 3, 10, seed=0)
    with pytest.raises(ValueError, match="n must lie"):
        verify_bound(1.0, 1, 10, seed=0)
    with pytest.raises(ValueError, match="draws"):
        verify_bound(1.0, 3, 0, seed=0)
    with pytest.raises(ValueError, match="engine"):
        verify_bound(1.0, 3, 10, seed=0, engine="cuda")
    with pytest.raises(TypeError, match="seed"):
        verify_bound(1.0, 3, 10, seed=None)
    with pytest.raises(ValueError, match="n must lie"):
        draw_instances(1, 10, seed=0)


@pytest.mark.parametrize("engine", ["numba", "numpy"])
def test_sizes_beyond_the_limit_are_refused_up_front(engine):
    # 10^13 (draw, class) pairs can neither be stored nor streamed in a reasonable time: refused before work
    with pytest.raises(ValueError, match=r"n \* draws"):
        verify_bound(1.0, 10**6, 10**7, seed=0, engine=engine)
    with pytest.raises(ValueError, match=r"n \* draws"):
        draw_instances(10**6, 10**7, seed=0)
