"""AnyLoss against independent references: scikit-learn's metrics, closed forms, finite differences, autograd."""

import numpy as np
import pytest
import torch
from scipy.special import expit
from sklearn.metrics import accuracy_score, balanced_accuracy_score, f1_score, fbeta_score, recall_score

from lossbook.confusion import (
    METRICS,
    ConfusionCounts,
    amplify,
    anyloss,
    anyloss_gradient,
    anyloss_torch,
    confusion_metric,
    soft_confusion,
    soft_metric_gap,
)

METRIC_BETA = [("accuracy", 1.0), ("f1", 1.0), ("fbeta", 2.0), ("fbeta", 0.5), ("gmean", 1.0),
               ("balanced_accuracy", 1.0)]


def _draw(rng, n, pos=0.3):
    y = (rng.random(n) < pos).astype(float)
    y[0], y[1] = 1.0, 0.0  # both classes present (hypothesis of gmean / balanced accuracy)
    return y


@pytest.mark.claim("any_closed_forms")
def test_amplifier_fixed_point_symmetry_and_range():
    p = np.linspace(0.0, 1.0, 1001)
    for L in (1e-3, 1.0, 73.0, 1e4):
        a = amplify(p, L)
        assert amplify(0.5, L) == 0.5
        np.testing.assert_allclose(amplify(1.0 - p, L), 1.0 - a, atol=1e-15)  # A(1-p) = 1 - A(p)
        assert np.all((a >= 0.0) & (a <= 1.0)) and np.all(np.diff(a) >= 0.0)
    # strictly inside (0, 1) while L|p - 1/2| is moderate; 73/2 gives e^-36.5 ~ 1.4e-16 > 0
    a73 = amplify(p, 73.0)
    assert np.all((a73 > 0.0) & (a73 < 1.0))


@pytest.mark.claim("any_hard_oracle")
@pytest.mark.parametrize("seed", range(20))
def test_hard_predictions_reproduce_scikit_learn(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(5, 400))
    y = _draw(rng, n, pos=rng.uniform(0.02, 0.6)).astype(int)
    h = (rng.random(n) < rng.uniform(0.05, 0.9)).astype(int)
    c = soft_confusion(h, y)
    # integer counts, compared exactly with scikit-learn's own implementation
    assert confusion_metric(c, "accuracy") == pytest.approx(accuracy_score(y, h), abs=1e-15)
    assert confusion_metric(c, "f1") == pytest.approx(f1_score(y, h, zero_division=0.0), abs=1e-15)
    for b in (0.5, 2.0):
        assert confusion_metric(c, "fbeta", b) == pytest.approx(fbeta_score(y, h, beta=b, zero_division=0.0),
                                                                abs=1e-15)
    assert confusion_metric(c, "balanced_accuracy") == pytest.approx(balanced_accuracy_score(y, h), abs=1e-15)
    gmean = np.sqrt(recall_score(y, h, pos_label=1) * recall_score(y, h, pos_label=0))
    assert confusion_metric(c, "gmean") == pytest.approx(gmean, abs=1e-15)


@pytest.mark.claim("any_closed_forms")
@pytest.mark.parametrize("seed", range(10))
def test_soft_metrics_equal_the_closed_forms(seed):
    # The closed forms in sum(y), sum(yhat), sum(y yhat) (paper notes; derived in the chapter), written here
    # from scratch, against confusion_metric of the soft counts.
    rng = np.random.default_rng(seed)
    n = 200
    y = _draw(rng, n)
    yh = rng.random(n)
    P, S, T = y.sum(), yh.sum(), (y * yh).sum()
    c = soft_confusion(yh, y)
    expected = {
        "accuracy": (n - P - S + 2 * T) / n,
        "f1": 2 * T / (P + S),
        "gmean": np.sqrt(T * (n - S - P + T) / (P * (n - P))),
        "balanced_accuracy": (n * (T + P) - P * (S + P)) / (2 * P * (n - P)),
    }
    for m, v in expected.items():
        assert confusion_metric(c, m) == pytest.approx(v, rel=1e-13, abs=1e-15)
    assert confusion_metric(c, "fbeta", 3.0) == pytest.approx(10 * T / (9 * P + S), rel=1e-13)


@pytest.mark.claim("any_gradient")
@pytest.mark.parametrize(("metric", "beta"), METRIC_BETA)
def test_gradient_matches_central_differences(metric, beta):
    rng = np.random.default_rng(3)
    y = _draw(rng, 30)
    p = 0.5 + rng.uniform(-0.04, 0.04, 30)  # L|p-1/2| <= 3: far from saturation so differences resolve
    L = 73.0
    g = anyloss_gradient(p, y, metric, L, beta)
    h = 1e-6
    fd = np.array([(anyloss(p + h * e, y, metric, L, beta) - anyloss(p - h * e, y, metric, L, beta)) / (2 * h)
                   for e in np.eye(30)])
    # central differences: truncation O(h^2 * third derivative) ~ 1e-12 * L^3 ~ 4e-7, rounding ~ 1e-16/h
    np.testing.assert_allclose(g, fd, rtol=1e-5, atol=1e-8)


@pytest.mark.claim("any_gradient")
@pytest.mark.parametrize(("metric", "beta"), METRIC_BETA)
def test_torch_value_and_autograd_agree_with_numpy(metric, beta):
    rng = np.random.default_rng(4)
    y = _draw(rng, 50)
    p = rng.uniform(0.3, 0.7, 50)
    pt = torch.tensor(p, requires_grad=True)
    v = anyloss_torch(pt, torch.tensor(y), metric, 20.0, beta)
    v.backward()
    assert v.item() == pytest.approx(anyloss(p, y, metric, 20.0, beta), rel=1e-13, abs=1e-15)
    np.testing.assert_allclose(pt.grad.numpy(), anyloss_gradient(p, y, metric, 20.0, beta), rtol=1e-11, atol=1e-15)


@pytest.mark.claim("any_gradient")
def test_fbeta_gradient_formula_of_the_notes():
    # d(1 - F_beta)/d yhat_i = -(1+b^2) (y_i (b^2 P + S) - T) / (b^2 P + S)^2, then times L yhat (1 - yhat)
    rng = np.random.default_rng(5)
    y = _draw(rng, 40)
    p = rng.uniform(0.4, 0.6, 40)
    L, b = 30.0, 1.7
    yh = expit(L * (p - 0.5))
    P, S, T = y.sum(), yh.sum(), (y * yh).sum()
    formula = -(1 + b**2) * (y * (b**2 * P + S) - T) / (b**2 * P + S) ** 2 * L * yh * (1 - yh)
    np.testing.assert_allclose(anyloss_gradient(p, y, "fbeta", L, b), formula, rtol=1e-12, atol=1e-16)


@pytest.mark.claim("any_gap_bound")
@pytest.mark.parametrize(("metric", "beta"), METRIC_BETA)
def test_gap_bound_holds_on_random_draws(metric, beta):
    rng = np.random.default_rng(6)
    worst = 0.0
    for _ in range(1500):
        n = int(rng.integers(2, 60))
        y = _draw(rng, n, pos=rng.uniform(0.05, 0.95))
        spread = 10 ** rng.uniform(-3, -0.3)  # margins from 1e-3 to 0.5: the bound is active near 1/2
        p = np.clip(0.5 + spread * rng.standard_normal(n), 0.0, 1.0)
        if rng.random() < 0.2:
            p[rng.integers(n)] = 0.5  # boundary case: e_i = 1/2
        L = 10 ** rng.uniform(0, 3)
        g = soft_metric_gap(p, y, metric, L, beta)
        assert g.gap <= g.bound * (1 + 1e-12) + 1e-15
        worst = max(worst, g.gap / g.bound if g.bound > 0 else 0.0)
    assert worst > 0.05  # the draws reach the regime where the bound matters (else the test proves nothing)


@pytest.mark.claim("any_gap_bound")
def test_accuracy_bound_is_attained_when_every_point_is_on_its_side():
    rng = np.random.default_rng(7)
    y = _draw(rng, 100)
    p = np.where(y == 1, rng.uniform(0.5001, 0.6, 100), rng.uniform(0.4, 0.4999, 100))  # all correct
    g = soft_metric_gap(p, y, "accuracy", 73.0)
    assert g.hard == 1.0
    assert g.gap == pytest.approx(g.bound, rel=1e-12)


@pytest.mark.claim("any_hard_limit")
@pytest.mark.parametrize("metric", ["accuracy", "f1", "gmean", "balanced_accuracy"])
def test_soft_metric_tends_to_hard_metric_as_L_grows(metric):
    rng = np.random.default_rng(8)
    y = _draw(rng, 200)
    p = rng.random(200)
    p[np.abs(p - 0.5) < 0.01] = 0.3  # minimum margin 0.01 (hypothesis: no p at 1/2)
    gaps = [soft_metric_gap(p, y, metric, L).gap for L in (1e2, 1e3, 1e4)]
    assert gaps[-1] < 1e-12 and gaps[0] > gaps[-1]
    # boundary of the hypothesis: one p exactly at 1/2 keeps e = 1/2 for every L, so the gap stays open
    p[0], y[0] = 0.5, 1.0
    assert soft_metric_gap(p, y, metric, 1e6).gap > 1e-4


@pytest.mark.claim("any_coupling")
def test_accuracy_loss_is_separable_and_f1_is_not():
    rng = np.random.default_rng(9)
    y = _draw(rng, 12)
    yh = rng.uniform(0.2, 0.8, 12)

    def mixed(metric, i, j, h=1e-3):
        def f(di, dj):
            z = yh.copy()
            z[i] += di
            z[j] += dj
            return confusion_metric(soft_confusion(z, y), metric)
        return (f(h, h) - f(h, -h) - f(-h, h) + f(-h, -h)) / (4 * h * h)

    pairs = [(0, 1), (0, 5), (2, 7), (3, 11)]
    # accuracy is affine in yhat: the mixed difference is rounding only, ~ 1e-16 / h^2 = 1e-10
    assert max(abs(mixed("accuracy", i, j)) for i, j in pairs) < 1e-8
    # F1 = 2T/(P+S): d2F/dyi dyj = -2(y_i + y_j)/(P+S)^2 + 4T/(P+S)^3, nonzero for these draws
    assert min(abs(mixed("f1", i, j)) for i, j in pairs) > 1e-3


@pytest.mark.parametrize("metric", ["f1", "fbeta", "gmean", "balanced_accuracy"])
def test_undefined_metrics_raise(metric):
    with pytest.raises(ValueError, match="y must contain"):
        anyloss([0.2, 0.7], [0, 0], metric=metric, beta=1.0)
    if metric in ("gmean", "balanced_accuracy"):
        with pytest.raises(ValueError, match="both classes"):
            anyloss([0.2, 0.7], [1, 1], metric=metric)


def test_bad_inputs_name_the_argument():
    with pytest.raises(ValueError, match="p"):
        anyloss([0.2, 1.5], [0, 1])
    with pytest.raises(ValueError, match="p"):
        anyloss([0.2, np.nan], [0, 1])
    with pytest.raises(ValueError, match="binary"):
        anyloss([0.2, 0.5], [0, 2])
    with pytest.raises(ValueError, match="length"):
        anyloss([0.2, 0.5], [0, 1, 1])
    with pytest.raises(ValueError, match="metric"):
        anyloss([0.2, 0.5], [0, 1], metric="auc")
    with pytest.raises(ValueError, match="L"):
        anyloss([0.2, 0.5], [0, 1], L=0.0)
    with pytest.raises(ValueError, match="beta"):
        anyloss([0.2, 0.5], [0, 1], metric="fbeta", beta=-1.0)
    with pytest.raises(ValueError, match="beta"):
        anyloss([0.2, 0.5], [0, 1], metric="f1", beta=2.0)
    with pytest.raises(TypeError, match="y"):
        anyloss([0.2, 0.5], ["a", "b"])
    with pytest.raises(TypeError, match="counts"):
        confusion_metric((1, 2, 3), "f1")
    with pytest.raises(ValueError, match="counts.tp"):
        confusion_metric(ConfusionCounts(-1, 2, 3, 4), "f1")
    with pytest.raises(TypeError, match="torch"):
        anyloss_torch(np.array([0.5]), torch.tensor([1]))
    with pytest.raises(ValueError, match="p entries"):
        anyloss_torch(torch.tensor([1.5, 0.2]), torch.tensor([1, 0]))
    assert set(METRICS) == {"accuracy", "f1", "fbeta", "gmean", "balanced_accuracy"}


def test_gmean_gradient_at_zero_count_raises():
    with pytest.raises(ValueError, match="gmean gradient"):
        anyloss_gradient([0.0, 0.0], [1, 0], metric="gmean", L=1e4)


def test_extreme_amplification_stays_finite():
    p = np.array([0.0, 0.4999999, 0.5, 0.5000001, 1.0])
    y = np.array([1, 0, 1, 0, 1])
    for L in (1e-3, 1e8):
        for metric, beta in METRIC_BETA:
            assert np.all(np.isfinite(anyloss_gradient(p, y, metric, L, beta)))
            assert np.isfinite(anyloss(p, y, metric, L, beta))
