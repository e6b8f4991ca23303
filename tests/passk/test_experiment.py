"""The softmax-linear toy: reproducible, its gradient steps descend, and the chapter's findings hold
on an independent set of seeds (the chapter uses seeds 0-9, these tests 100-104)."""

from __future__ import annotations

import numpy as np
import pytest

from lossbook.passk import make_teacher_task, pass_at_n_loss, train_softmax_linear
from lossbook.stats import paired_difference

TEST_SEEDS = range(100, 105)


def test_runs_are_reproducible_and_N1_is_cross_entropy_descent():
    task = make_teacher_task(seed=7, n_train=60, n_test=80)
    a = train_softmax_linear(task, N_loss=1, steps=50, eval_every=10)
    b = train_softmax_linear(make_teacher_task(seed=7, n_train=60, n_test=80), N_loss=1, steps=50, eval_every=10)
    assert np.array_equal(a.test_pass, b.test_pass) and np.array_equal(a.weights, b.weights)
    # the recorded loss is the library's loss of the final weights, and GD with a small step descends
    z = task.X_train @ a.weights
    assert a.train_loss[-1] == pytest.approx(pass_at_n_loss(z, task.y_train, 1).mean(), rel=1e-12)
    assert np.all(np.diff(a.train_loss) < 0)
    # at W = 0 the model is uniform: pass@N = 1 - (1 - 1/K)^N exactly
    K = task.q_test.shape[1]
    np.testing.assert_allclose(a.test_pass[0], [1 - (1 - 1 / K) ** n for n in a.eval_N], rtol=1e-12)


def test_labels_follow_the_teacher():
    # 2000 test labels: the mean of q_test[i, y_i] matches E_q[q_y] = mean sum_j q_j^2 within 4 standard errors
    task = make_teacher_task(seed=3)
    got = task.q_test[np.arange(task.y_test.size), task.y_test]
    want = np.sum(task.q_test**2, axis=1)
    se = got.std() / np.sqrt(got.size)
    assert abs(got.mean() - want.mean()) < 4 * se


@pytest.fixture(scope="module")
def runs():
    out = {}
    for s in TEST_SEEDS:
        task = make_teacher_task(seed=s)
        out[s] = {N: train_softmax_linear(task, N_loss=N, steps=4000, eval_every=100) for N in (1, 32)}
    return out


@pytest.mark.claim("pak_ce_pass32_falls")
def test_cross_entropy_pass32_falls_with_training(runs):
    early = [r[1].test_pass[list(r[1].step).index(100), 1] for r in runs.values()]
    final = [r[1].test_pass[-1, 1] for r in runs.values()]
    d = paired_difference(early, final)
    assert d.ci_low > 0.1  # the chapter reports a drop of about 0.3; 0.1 is far below it and far above noise
    # pass@1 does not fall meanwhile (it rises slightly): the same criterion as the chapter's verdict
    d1 = paired_difference([r[1].test_pass[list(r[1].step).index(100), 0] for r in runs.values()],
                           [r[1].test_pass[-1, 0] for r in runs.values()])
    assert d1.ci_high <= 0.01


@pytest.mark.claim("pak_dco_tradeoff")
def test_pass_at_n_loss_trades_pass1_for_pass32(runs):
    p32 = paired_difference([r[32].test_pass[-1, 1] for r in runs.values()],
                            [r[1].test_pass[-1, 1] for r in runs.values()])
    p1 = paired_difference([r[1].test_pass[-1, 0] for r in runs.values()],
                           [r[32].test_pass[-1, 0] for r in runs.values()])
    assert p32.ci_low > 0 and p1.ci_low > 0
