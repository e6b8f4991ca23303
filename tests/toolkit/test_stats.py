"""Seed summaries: the t interval against SciPy, its coverage by simulation, paired tests against ttest_rel."""

import numpy as np
import pytest
from scipy import stats

from lossbook.stats import format_mean_ci, paired_difference, summarize_seeds


def test_interval_equals_scipy_t_interval():
    v = np.array([0.81, 0.84, 0.79, 0.88, 0.83, 0.86])
    s = summarize_seeds(v, confidence=0.9)
    lo, hi = stats.t.interval(0.9, v.size - 1, loc=v.mean(), scale=stats.sem(v))
    assert (s.ci_low, s.ci_high) == pytest.approx((lo, hi), rel=1e-12)


def test_coverage_of_the_interval_by_simulation():
    # 4000 experiments of 5 normal draws; coverage must be 0.95 within 4 binomial standard errors
    rng = np.random.default_rng(0)
    reps, hits = 4000, 0
    for _ in range(reps):
        s = summarize_seeds(rng.normal(1.0, 2.0, size=5))
        hits += s.ci_low <= 1.0 <= s.ci_high
    se = np.sqrt(0.95 * 0.05 / reps)
    assert abs(hits / reps - 0.95) < 4 * se


def test_paired_difference_matches_scipy_paired_t_test():
    rng = np.random.default_rng(1)
    base = rng.normal(size=8)
    a, b = base + rng.normal(0.3, 0.2, 8), base
    d = paired_difference(a, b)
    assert d.p_value == pytest.approx(stats.ttest_rel(a, b).pvalue, rel=1e-10)
    assert d.mean == pytest.approx(np.mean(a - b)) and d.wins == int(np.sum(a > b))
    # pairing removes the shared seed effect: the paired interval is narrower than the unpaired one
    assert d.half_width < summarize_seeds(a).half_width


def test_degenerate_equal_values():
    s = summarize_seeds([2.0, 2.0, 2.0])
    assert s.half_width == 0.0 and s.ci_low == s.ci_high == 2.0
    assert paired_difference([1.0, 1.0], [1.0, 1.0]).p_value == 1.0


def test_format():
    assert format_mean_ci(summarize_seeds([1.0, 2.0, 3.0]), digits=2, unit="dB") == "2.00 ± 2.48 dB"


@pytest.mark.parametrize("call, match", [
    (lambda: summarize_seeds([1.0]), "values"),
    (lambda: summarize_seeds([1.0, np.nan]), "values"),
    (lambda: summarize_seeds([1.0, 2.0], confidence=1.0), "confidence"),
    (lambda: paired_difference([1.0, 2.0], [1.0, 2.0, 3.0]), "a and b"),
    (lambda: format_mean_ci((1.0, 2.0)), "summary"),
])
def test_bad_arguments(call, match):
    with pytest.raises((ValueError, TypeError), match=match):
        call()


def test_statistics_of_values_near_the_float_range_do_not_overflow():
    # issue #12 (found by the contract suite): np.std squared 1e160 into inf
    s = summarize_seeds([0.0, 1e160])
    assert s.std == pytest.approx(1e160 / np.sqrt(2), rel=1e-15)
    assert np.isfinite(s.half_width)
    # a - b overflows although the mean difference (1.7e308) is representable: formed from halves
    d = paired_difference([1.2e308, 1.0e308], [-0.6e308, -0.6e308])
    assert d.mean == pytest.approx(1.7e308, rel=1e-15)
    assert d.std == pytest.approx(0.2e308 / np.sqrt(2), rel=1e-12)
    assert 0.0 < d.p_value < 1.0
