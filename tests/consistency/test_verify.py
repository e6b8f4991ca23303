"""The numerical proof engine: no violations on random draws, Numba kernel pinned to the NumPy reference."""

import numpy as np
import pytest

from lossbook.consistency import bound_T, draw_instances, verify_bound
from lossbook.consistency.verify import _margins_numba, _margins_numpy

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


@pytest.mark.parametrize("tau", [0.0, 0.5, 1.0, 1.0 + 5e-9, 1.5, 2.0, 3.0])
@pytest.mark.parametrize("n", [2, 10])
def test_numba_kernel_equals_numpy_reference(tau, n):
    p, h = draw_instances(n, 5000, seed=7)
    ours = _margins_numba(p, h, tau, n)
    ref = _margins_numpy(p, h, tau, n)
    names = ("zero-one gap", "surrogate gap", "T_tau", "scale")
    for a, b, name in zip(ours, ref, names, strict=True):
        # identical inputs; the two evaluate C* differently (normalised sum vs log-sum-exp), so they
        # agree to rounding of the risks, a few ulp of C + |C*|
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12 * (1 + ref[3].max()), err_msg=name)
    r1 = verify_bound(tau, n, 3000, seed=3, engine="numba")
    r2 = verify_bound(tau, n, 3000, seed=3, engine="numpy")
    assert r1.n_violations == r2.n_violations
    np.testing.assert_allclose(r1.min_ratio, r2.min_ratio, rtol=1e-9)


def test_draws_are_reproducible_and_valid():
    p1, h1 = draw_instances(5, 1000, seed=11)
    p2, h2 = draw_instances(5, 1000, seed=11)
    assert np.array_equal(p1, p2) and np.array_equal(h1, h2)
    assert np.all(p1 >= 0) and np.allclose(p1.sum(axis=1), 1.0)
    assert np.all(np.isfinite(h1))


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
