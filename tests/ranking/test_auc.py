"""Exact AUC: against a brute-force pair count, scikit-learn's roc_auc_score and SciPy's Mann-Whitney U."""

import numpy as np
import pytest
from scipy.stats import mannwhitneyu
from sklearn.metrics import roc_auc_score

from lossbook.ranking import mann_whitney_u, roc_auc


def brute_force_u(y, s):
    """Independent definition (mw-auc): count every positive/negative pair, ties one half."""
    pos, neg = s[y == 1], s[y == 0]
    return float(sum((p > n) + 0.5 * (p == n) for p in pos for n in neg))


def tied_sample(rng, n, levels):
    y = rng.integers(0, 2, size=n)
    y[0], y[1] = 0, 1  # both classes present
    s = rng.integers(0, levels, size=n).astype(float) + 0.3 * y * rng.integers(0, 2, size=n)
    return y, s


@pytest.mark.claim("mw_rank")
@pytest.mark.parametrize("engine", ["numba", "numpy"])
def test_u_equals_brute_force_pair_count_with_ties(engine):
    rng = np.random.default_rng(0)
    for n, levels in [(2, 1), (7, 2), (40, 3), (200, 10), (300, 1000)]:
        for _ in range(5):
            y, s = tied_sample(rng, n, levels)
            # U is a multiple of 1/2 below 2^52: both sides are exact in float64, so equality is exact
            assert mann_whitney_u(y, s, engine=engine) == brute_force_u(y, s)


def test_numba_merge_and_numpy_reference_agree_exactly():
    rng = np.random.default_rng(1)
    for levels in (2, 50, 10**9):
        y, s = tied_sample(rng, 5000, levels)
        assert mann_whitney_u(y, s, engine="numba") == mann_whitney_u(y, s, engine="numpy")


@pytest.mark.claim("mw_sklearn")
def test_roc_auc_matches_scikit_learn_with_and_without_ties():
    rng = np.random.default_rng(2)
    worst = 0.0
    for n, levels in [(10, 2), (1000, 5), (1000, 10**6), (100_000, 100)]:
        y, s = tied_sample(rng, n, levels)
        worst = max(worst, abs(roc_auc(y, s) - roc_auc_score(y, s)))
    y = rng.integers(0, 2, 10_000)
    s = rng.standard_normal(10_000) + y
    worst = max(worst, abs(roc_auc(y, s) - roc_auc_score(y, s)))
    # scikit-learn sums trapezoids in float64 (about n roundings of relative size 1e-16): 1e-12 is ample
    assert worst < 1e-12


def test_u_matches_scipy_mannwhitneyu():
    rng = np.random.default_rng(3)
    y, s = tied_sample(rng, 500, 7)
    u_scipy = mannwhitneyu(s[y == 1], s[y == 0], method="asymptotic").statistic
    assert mann_whitney_u(y, s) == u_scipy


def test_boundary_cases():
    assert roc_auc([1, 0], [1.0, 0.0]) == 1.0
    assert roc_auc([1, 0], [0.0, 1.0]) == 0.0
    assert roc_auc([1, 0, 1, 0], [3.0, 3.0, 3.0, 3.0]) == 0.5  # every pair tied
    assert roc_auc([True, False], [0.0, -0.0]) == 0.5  # -0.0 == 0.0 is a tie
    assert roc_auc([1, 0, 0, 0], [0.5, 0.1, 0.9, 0.5]) == pytest.approx(0.5)  # one positive: (1 + 1/2) / 3
    assert roc_auc(np.array([1.0, 0.0, 1.0]), [2.0, 1.0, 0.0]) == 0.5


def test_auc_is_invariant_under_increasing_transforms():
    rng = np.random.default_rng(4)
    y, s = tied_sample(rng, 400, 20)
    for f in (np.exp, lambda t: 3 * t - 7, np.arctan):
        assert roc_auc(y, f(s)) == roc_auc(y, s)
    assert roc_auc(y, -s) == pytest.approx(1 - roc_auc(y, s), abs=1e-15)


@pytest.mark.parametrize(
    "y, s, exc, match",
    [
        ([1, 1], [0.1, 0.2], ValueError, "both classes"),
        ([0, 0], [0.1, 0.2], ValueError, "both classes"),
        ([0, 2], [0.1, 0.2], ValueError, "y_true"),
        ([0, 1], [0.1, np.nan], ValueError, "scores"),
        ([0, 1], [0.1, np.inf], ValueError, "scores"),
        ([0, 1, 1], [0.1, 0.2], ValueError, "y_true"),
        ([0, 1], [[0.1, 0.2]], ValueError, "scores"),
        (["a", "b"], [0.1, 0.2], TypeError, "y_true"),
        ([0, 1], ["a", "b"], TypeError, "scores"),
        ([0, 1], [0.1 + 1j, 0.2], TypeError, "scores"),
    ],
)
def test_bad_input_names_the_argument(y, s, exc, match):
    with pytest.raises(exc, match=match):
        roc_auc(y, s)


def test_bad_engine_is_refused():
    with pytest.raises(ValueError, match="engine"):
        roc_auc([0, 1], [0.0, 1.0], engine="fortran")
