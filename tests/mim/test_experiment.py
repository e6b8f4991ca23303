"""Patch layout and the chapter's study (book/feedback/hpm-hard-patches.md)."""

import numpy as np
import pytest

from lossbook.mim import digit_patches

pytest.importorskip("torch")


def test_digit_patches_against_loops():
    X = np.arange(2 * 64, dtype=float).reshape(2, 64)
    P = digit_patches(X)
    img = X.reshape(2, 8, 8)
    for r in range(4):
        for c in range(4):
            np.testing.assert_array_equal(P[:, 4 * r + c], img[:, 2 * r:2 * r + 2, 2 * c:2 * c + 2].reshape(2, 4))
    with pytest.raises(ValueError, match="X"):
        digit_patches(np.ones((2, 63)))


@pytest.mark.claim("hpm_predictor")
@pytest.mark.claim("hpm_mining")
@pytest.mark.claim("hpm_probe")
def test_chapter_study():
    from lossbook.mim import expected_hard_coverage, masking_study
    from lossbook.stats import paired_difference

    st = masking_study(np.arange(5), epochs=30)
    assert np.all(st.spearman > 0.5)                       # the ranking head learns which patches are hard
    assert abs(st.central_coverage[0].mean() - 0.5) < 0.02  # random masks: chance
    d = paired_difference(st.central_coverage[1], st.central_coverage[0])
    assert d.ci_low > 0                                     # HPM masks the central patches more often
    # and no more often than a perfect ranker could (averaged over the alpha schedule it is below that bound)
    assert st.central_coverage[1].mean() <= expected_hard_coverage(16, 8, 0.75, 0.5) + 0.02
    # the chapter's finding: no downstream gain from HPM on this toy (the paired interval does not exceed +0.02)
    assert paired_difference(st.probe_accuracy[1], st.probe_accuracy[0]).ci_high < 0.02
