"""The chapter's toy regression study: its target, its equal budgets and its outcome."""

import numpy as np
import pytest

pytest.importorskip("torch")

from lossbook.lowrank import METHODS, channel_regression_study, outlier_channel_target  # noqa: E402
from lossbook.stats import paired_difference  # noqa: E402

#: the chapter's protocol (book/compression/lost-low-rank-sparse.md): five seeds, defaults otherwise
CHAPTER_SEEDS = range(5)


def test_outlier_target_has_the_stated_structure():
    t = outlier_channel_target(40, 30, 4, 5, 2.0, seed=0)
    assert np.linalg.matrix_rank(t.lowrank_part) == 4
    C = t.W - t.lowrank_part
    nonzero = np.flatnonzero(np.linalg.norm(C, axis=0) > 0)
    assert nonzero.tolist() == t.outliers.tolist() and t.outliers.size == 5
    # outlier entries have standard deviation 2 (chi-square with 40*5 dof: 5 sigma is about 25%)
    assert np.std(C[:, t.outliers]) == pytest.approx(2.0, rel=0.25)


@pytest.fixture(scope="module")
def chapter_study():
    return channel_regression_study(CHAPTER_SEEDS)


@pytest.mark.claim("lost_experiment")
def test_chapter_experiment_lost_channels_beat_both_baselines_at_equal_budget(chapter_study):
    st = chapter_study
    assert len(set(st.parameters.tolist())) == 1  # equal parameter count, exactly
    lost = st.test_mse[METHODS.index("LOST channels")]
    for other in ("low rank", "low rank + random sparse"):
        diff = paired_difference(st.test_mse[METHODS.index(other)], lost)
        assert diff.ci_low > 0, f"LOST does not beat {other}: {diff}"
    assert np.all(st.channel_hits == 6)  # the warm-up's residual finds every outlier channel


@pytest.mark.claim("lost_order")
def test_chapter_experiment_random_sparse_is_worse_than_low_rank_alone(chapter_study):
    st = chapter_study
    diff = paired_difference(st.test_mse[METHODS.index("low rank + random sparse")],
                             st.test_mse[METHODS.index("low rank")])
    assert diff.ci_low > 0


def test_study_refuses_bad_arguments():
    with pytest.raises(ValueError, match="seeds"):
        channel_regression_study([-1])
    with pytest.raises(ValueError, match="lr"):
        channel_regression_study([0], lr=0.0)
    with pytest.raises(ValueError, match="n_channels"):
        channel_regression_study([0], out_features=8, in_features=8, n_channels=9)


@pytest.mark.claim("lost_hits")
def test_split_keeps_weak_outlier_channels_and_misses_dominant_ones():
    # the chapter's scan (figure lost-fig-hits): 10 targets per outlier scale, r = 8, k = 6
    from lossbook.lowrank import lost_decomposition

    def hits(scale):
        out = []
        for s in range(10):
            t = outlier_channel_target(128, 128, 8, 6, scale, seed=s)
            out.append(np.intersect1d(lost_decomposition(t.W, 8, 6).channels, t.outliers).size)
        return np.array(out)

    assert np.all(hits(0.5) == 6) and np.all(hits(0.25) == 6)
    assert np.all(hits(2.0) == 0) and np.all(hits(4.0) == 0)
