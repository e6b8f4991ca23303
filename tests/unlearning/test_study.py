"""The tiny fact model: pretraining memorises, unlearning with gradient ascent versus FLAT.

The claims are about the comparison at the chapter's settings, here on three seeds (the chapter
uses more); each assertion is a property that a different outcome would break.
"""

import numpy as np
import pytest

from lossbook.stats import paired_difference
from lossbook.unlearning import unlearning_study


@pytest.fixture(scope="module")
def study():
    return unlearning_study(("GA", "FLAT-KL", "FLAT-TV"), (0, 1, 2), eval_every=20)


def test_pretraining_memorises_every_fact(study):
    assert np.all(study.pretrain_retain > 0.99) and np.all(study.pretrain_forget > 0.99)
    assert np.all(study.forget[:, :, 0] > 0.99)  # unlearning starts from the pretrained model


@pytest.mark.claim("flat_forget")
def test_every_method_drives_the_forget_probability_down(study):
    assert np.all(study.forget[:, :, -1] < 0.01)


@pytest.mark.claim("flat_retain")
def test_flat_keeps_more_retain_probability_than_gradient_ascent(study):
    ga = study.retain[0, :, -1]
    for m in (1, 2):
        d = paired_difference(study.retain[m, :, -1], ga)
        assert d.ci_low > 0.0


@pytest.mark.claim("flat_retain_matched")
def test_most_of_the_retain_gap_arises_after_forgetting(study):
    def matched(m):  # retain probability at the first evaluation with forget probability < 0.05
        out = []
        for si in range(len(study.seeds)):
            hit = np.flatnonzero(study.forget[m, si] < 0.05)
            assert hit.size, "a method never reached forget probability 0.05"
            out.append(study.retain[m, si, hit[0]])
        return np.array(out)

    ga_final, ga_matched = study.retain[0, :, -1], matched(0)
    for m in (1, 2):
        gain_final = study.retain[m, :, -1] - ga_final
        gain_matched = matched(m) - ga_matched
        # the gain at matched forgetting is smaller than the gain at the last step, on the paired seeds
        assert paired_difference(gain_final, gain_matched).ci_low > 0.0
        assert gain_matched.mean() < 0.5 * gain_final.mean()


@pytest.mark.claim("flat_template")
def test_flat_raises_the_template_probability_on_forget_prompts(study):
    rise = study.template[1:, :, -1] - study.template[1:, :, 0]
    # partly: the rise is never negative and positive on average, but it need not reach every prompt
    assert np.all(rise > -1e-6) and rise.mean() > 0.05


def test_same_seed_gives_identical_traces():
    a = unlearning_study(("FLAT-TV",), (5,), n_retain=5, n_forget=2, pretrain_steps=20, steps=10, eval_every=5)
    b = unlearning_study(("FLAT-TV",), (5,), n_retain=5, n_forget=2, pretrain_steps=20, steps=10, eval_every=5)
    for x, y in zip(a[2:], b[2:], strict=True):
        np.testing.assert_array_equal(x, y)


def test_refusals_name_the_argument():
    with pytest.raises(ValueError, match="methods"):
        unlearning_study(("SGD",), (0,))
    with pytest.raises(ValueError, match="seeds"):
        unlearning_study(("GA",), ())
    with pytest.raises(ValueError, match="vocab"):
        unlearning_study(("GA",), (0,), vocab=3, answer_len=3)
    with pytest.raises(ValueError, match="eval_every"):
        unlearning_study(("GA",), (0,), steps=5, eval_every=6)
