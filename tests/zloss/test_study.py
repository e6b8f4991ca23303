"""The chapter's top-k experiment, re-run with the chapter's protocol, and the study's determinism."""

import pytest

from lossbook.stats import paired_difference
from lossbook.zloss import topk_study

pytest.importorskip("torch")

# the chapter's protocol (book/consistency/z-loss.md, section "Top-k accuracy on a toy problem")
SEEDS = range(5)
PARAMS = ((1.0, 0.0), (0.1, 10.0))
MARGIN = 0.02  # the accuracy difference the chapter calls negligible (chosen, stated in the chapter)


@pytest.fixture(scope="module")
def study():
    return topk_study(SEEDS, zloss_params=PARAMS)


def _diff(study, name, metric):
    return paired_difference([getattr(r, metric) for r in study[name]],
                             [getattr(r, metric) for r in study["softmax"]])


@pytest.mark.claim("zl_topk")
def test_chapter_experiment_default_z_loss_matches_softmax_in_top1_and_top5(study):
    for metric in ("top1", "top5"):
        d = _diff(study, "z(a=1, b=0)", metric)
        assert -MARGIN < d.ci_low and d.ci_high < MARGIN, (metric, d)
    assert min(r.top1 for r in study["softmax"]) < 0.9  # the task is not saturated: top-5 differs from top-1


@pytest.mark.claim("zl_topk_sharp")
def test_chapter_experiment_soft_z_loss_with_high_target_loses_top1(study):
    d = _diff(study, "z(a=0.1, b=10)", "top1")
    assert d.ci_high < 0, d


def test_study_is_deterministic_given_the_seed():
    kw = dict(zloss_params=((1.0, 0.0),), n_classes=10, dim=5, per_class=10, epochs=5)
    assert topk_study([3], **kw) == topk_study([3], **kw)
