"""Learning curves: the sample-complexity claim at small scale, its negative control, and helpers."""

import numpy as np
import pytest

from lossbook.generative import learning_curves, mixture_params, sample_mixture, samples_to_reach


def _grid(n, top=10):
    return np.unique(np.round(np.geomspace(6, top * n, 12)).astype(int))


@pytest.mark.claim("dvg_mstar")
def test_naive_bayes_sample_size_stays_flat_while_logistic_grows_with_n():
    # the paper-mixture design (signal 1): fixed threshold 0.05 as in the paper notes' reproduction
    res = {}
    for n in (25, 200):
        lc = learning_curves(n, 3, _grid(n), repeats=3, test_size=3000, seed=100 + n)
        res[n] = (samples_to_reach(lc.m_grid, lc.nb_error, 0.05), samples_to_reach(lc.m_grid, lc.lr_error, 0.05))
    nb25, lr25 = res[25]
    nb200, lr200 = res[200]
    assert nb200 is not None and nb200 <= 40  # NB: tens of samples at n = 200
    assert lr200 is not None and lr200 >= 1.5 * 200  # LR: grows at least like 1.5 n
    assert lr200 >= 1.5 * lr25 and nb200 <= nb25


@pytest.mark.claim("dvg_control")
def test_negative_control_shrinking_signal_makes_naive_bayes_grow_with_n():
    # per-feature signal ~ n^(-1/2) breaks the beta0 hypothesis: NB's m* (to Bayes + 0.01) must grow with n
    ms = {}
    for n in (25, 200):
        lc = learning_curves(n, 3, _grid(n), repeats=3, test_size=3000, seed=200 + n, signal=np.sqrt(25 / n))
        ms[n] = samples_to_reach(lc.m_grid, lc.nb_error, lc.bayes_error + 0.01)
    assert ms[25] is not None
    assert ms[200] is None or ms[200] >= 4 * ms[25]


def test_both_asymptotes_are_the_bayes_error_when_naive_bayes_is_correct():
    lc = learning_curves(6, 3, [6000], repeats=2, test_size=20000, seed=3)
    # with m = 6000 both parameter estimates are within ~1e-2; the excess error is then O(1e-3); the
    # test-set standard error is sqrt(0.1 * 0.9 / 20000) = 0.002
    assert np.all(np.abs(lc.nb_error - lc.bayes_error) < 0.01)
    assert np.all(np.abs(lc.lr_error - lc.bayes_error) < 0.01)
    assert lc.lr_converged == 1.0


def test_sample_mixture_moments_and_balance():
    X, y = sample_mixture(8, 4, 40_001, seed=0)
    means, var = mixture_params(8, 4)
    assert np.bincount(y).tolist() == [10001, 10000, 10000, 10000]
    for k in range(4):
        Xk = X[y == k]
        se = np.sqrt(var / len(Xk))
        assert np.all(np.abs(Xk.mean(0) - means[k]) < 5 * se)
        assert np.all(np.abs(Xk.var(0) / var - 1) < 5 * np.sqrt(2 / len(Xk)))


def test_samples_to_reach_and_its_errors():
    assert samples_to_reach([5, 10, 20], [[0.2, 0.05, 0.0], [0.0, 0.07, 0.0]], 0.061) == 10
    assert samples_to_reach([5, 10], [0.2, 0.1], 0.05) is None
    with pytest.raises(ValueError, match="m_grid"):
        samples_to_reach([10, 5], [0.1, 0.1], 0.1)
    with pytest.raises(ValueError, match="errors"):
        samples_to_reach([5, 10], [0.1, 0.1, 0.1], 0.1)
    with pytest.raises(ValueError, match="m_grid"):
        learning_curves(5, 3, [4], 1, 10, seed=0)  # m < 2K
