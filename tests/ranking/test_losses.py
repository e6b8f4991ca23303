"""MW loss and InfoNCE: brute-force sums, finite differences, autograd, the AoC bound and shift (in)variance."""

import math

import numpy as np
import pytest
import torch

from lossbook.ranking import (
    info_nce_loss,
    info_nce_loss_torch,
    mw_loss,
    mw_loss_and_grad,
    mw_loss_torch,
    roc_auc,
)

LN2 = math.log(2.0)


def brute_force_mw(y, s):
    """Independent definition (mw-loss): the mean of log(1 + exp(s_n - s_p)) over pairs, pair by pair."""
    pos, neg = s[y == 1], s[y == 0]
    return math.fsum(math.log1p(math.exp(n - p)) for p in pos for n in neg) / (pos.size * neg.size)


def sample(rng, n, scale=1.0):
    y = rng.integers(0, 2, n)
    y[:2] = [0, 1]
    return y, scale * rng.standard_normal(n) + 0.5 * y


@pytest.mark.parametrize("engine", ["numba", "numpy"])
def test_value_matches_brute_force_pair_sum(engine):
    rng = np.random.default_rng(0)
    for n in (2, 5, 60, 300):
        y, s = sample(rng, n)
        # both sides sum O(n^2) terms of size O(1) in float64: relative error below 1e-12
        assert mw_loss(s, y, engine=engine) == pytest.approx(brute_force_mw(y, s), rel=1e-12)


def test_numba_and_numpy_engines_agree_in_value_and_gradient():
    rng = np.random.default_rng(1)
    y, s = sample(rng, 1500, scale=5.0)
    a, b = mw_loss_and_grad(s, y, engine="numba"), mw_loss_and_grad(s, y, engine="numpy")
    assert a.value == pytest.approx(b.value, rel=1e-12)
    np.testing.assert_allclose(a.grad, b.grad, rtol=1e-10, atol=1e-18)


@pytest.mark.claim("mw_grad")
def test_gradient_matches_central_finite_differences():
    rng = np.random.default_rng(2)
    for pooling, shape in (("global", (40,)), ("global", (4, 9)), ("per_query", (4, 9))):
        s = rng.standard_normal(shape)
        y = rng.integers(0, 2, shape)
        y.reshape(-1, shape[-1])[:, :2] = [0, 1]
        g = mw_loss_and_grad(s, y, pooling=pooling).grad
        h = 1e-5
        fd = np.empty_like(s)
        for idx in np.ndindex(shape):
            e = np.zeros_like(s)
            e[idx] = h
            fd[idx] = (mw_loss(s + e, y, pooling=pooling) - mw_loss(s - e, y, pooling=pooling)) / (2 * h)
        # central differences: truncation h^2 |f'''| / 6 <= 1e-11 (|f'''| <= 0.1), rounding 1e-16 / h = 1e-11
        np.testing.assert_allclose(g, fd, atol=1e-9)


def test_torch_value_and_autograd_match_numpy():
    rng = np.random.default_rng(3)
    y, s = sample(rng, 80)
    st = torch.tensor(s, requires_grad=True)
    v = mw_loss_torch(st, y.astype(bool))
    v.backward()
    ref = mw_loss_and_grad(s, y)
    assert v.item() == pytest.approx(ref.value, rel=1e-12)
    np.testing.assert_allclose(st.grad.numpy(), ref.grad, rtol=1e-10, atol=1e-16)


def test_info_nce_with_one_positive_per_row_is_cross_entropy():
    """Oracle: torch's cross_entropy of s / tau against the positive's index."""
    rng = np.random.default_rng(4)
    S = rng.standard_normal((6, 10))
    target = rng.integers(0, 10, 6)
    labels = np.zeros_like(S, dtype=bool)
    labels[np.arange(6), target] = True
    for tau in (0.05, 1.0):
        ref = torch.nn.functional.cross_entropy(torch.tensor(S / tau), torch.tensor(target)).item()
        assert info_nce_loss(S, labels, tau) == pytest.approx(ref, rel=1e-12)
        assert info_nce_loss_torch(torch.tensor(S), labels, tau).item() == pytest.approx(ref, rel=1e-12)


@pytest.mark.claim("mw_bound")
def test_aoc_bound_holds_on_random_score_sets_and_its_constant_is_sharp():
    rng = np.random.default_rng(5)
    slack = np.inf
    for _ in range(300):
        n = int(rng.integers(2, 60))
        y = rng.integers(0, 2, n)
        y[:2] = [0, 1]
        scale = 10.0 ** rng.uniform(-3, 2)
        s = np.round(scale * rng.standard_normal(n), int(rng.integers(0, 3)))  # rounding makes ties
        slack = min(slack, mw_loss(s, y) / LN2 - (1 - roc_auc(y, s)))
    assert slack >= -1e-12  # the bound, up to float rounding of the loss
    # sharpness: one pair misordered by eps has AoC = 1 and L / ln 2 = softplus(eps) / ln 2 -> 1, so no
    # constant below 1/ln 2 can work
    for eps in (1e-3, 1e-6, 1e-9):
        y, s = np.array([1, 0]), np.array([0.0, eps])
        assert 1 - roc_auc(y, s) == 1.0
        assert mw_loss(s, y) / LN2 - 1.0 == pytest.approx(eps / (2 * LN2), rel=1e-3)


@pytest.mark.claim("mw_limits")
def test_scaling_limits_ln2_and_mean_hinge():
    rng = np.random.default_rng(6)
    y, s = sample(rng, 50)
    d = s[y == 0][None, :] - s[y == 1][:, None]
    hinge = np.maximum(d, 0).mean()
    for c in (1e-2, 1e-4, 1e-6):
        # softplus(t) = ln2 + t/2 + t^2/8 + O(t^4): the mean of t/2 is c * mean(d) / 2
        gap = mw_loss(c * s, y) - LN2 - c * d.mean() / 2
        assert abs(gap) <= c**2 * (d**2).mean() / 8 * 1.01 + 1e-15
    for c in (1e2, 1e4, 1e6):
        # 0 <= softplus(c t) - c t_+ <= ln 2: the mean of L(cs)/c lies in [hinge, hinge + ln2 / c]
        v = mw_loss(c * s, y) / c
        assert hinge - 1e-12 <= v <= hinge + LN2 / c + 1e-12


@pytest.mark.claim("mw_shift")
def test_per_query_shifts_leave_info_nce_and_per_query_mw_unchanged_but_not_global_mw_or_auc():
    rng = np.random.default_rng(7)
    S = rng.standard_normal((8, 30))
    Y = rng.random((8, 30)) < 0.2
    Y[:, 0], Y[:, 1] = True, False
    c = 3.0 * rng.standard_normal((8, 1))
    for tau in (0.05, 1.0):
        assert info_nce_loss(S + c, Y, tau) == pytest.approx(info_nce_loss(S, Y, tau), rel=1e-12)
    assert mw_loss(S + c, Y, pooling="per_query") == pytest.approx(mw_loss(S, Y, pooling="per_query"), rel=1e-12)
    assert abs(mw_loss(S + c, Y) - mw_loss(S, Y)) > 1e-2
    assert abs(roc_auc(Y.ravel(), (S + c).ravel()) - roc_auc(Y.ravel(), S.ravel())) > 1e-2
    # a common shift (the same constant for every query) changes nothing, even globally
    assert mw_loss(S + 5.0, Y) == pytest.approx(mw_loss(S, Y), rel=1e-12)
    # item 3: stacking Q perfectly ranked queries (m positives, k negatives each) gives AUC (Q + 1) / (2Q)
    for Q, m, k in ((2, 1, 1), (5, 3, 4), (40, 2, 7)):
        base = np.hstack([np.ones((Q, m)), np.zeros((Q, k))])
        stacked = base + 10.0 * np.arange(Q)[:, None]
        assert roc_auc((base == 1).ravel(), stacked.ravel()) == pytest.approx((Q + 1) / (2 * Q), abs=1e-15)
        assert roc_auc((base == 1).ravel(), base.ravel()) == 1.0
    # and the global MW gradient has a non-zero component along each per-query shift direction
    g = mw_loss_and_grad(S + c, Y).grad
    assert np.abs(g.sum(axis=1)).max() > 1e-3


def test_extreme_scores_stay_finite():
    y = np.array([1, 0, 1, 0])
    s = np.array([1e4, -1e4, -1e4, 1e4])
    for engine in ("numba", "numpy"):
        out = mw_loss_and_grad(s, y, engine=engine)
        assert np.isfinite(out.value) and np.all(np.isfinite(out.grad))
        assert out.value == pytest.approx((2e4 + 2 * LN2) / 4, rel=1e-12)  # pair terms: ~0, ln2, ln2, 2e4
    assert np.isfinite(info_nce_loss([[1e4, -1e4]], [[1, 0]], tau=1e-3))


@pytest.mark.parametrize(
    "call, exc, match",
    [
        (lambda: mw_loss([0.0, 1.0], [1, 1]), ValueError, "both classes"),
        (lambda: mw_loss([0.0, np.nan], [1, 0]), ValueError, "scores"),
        (lambda: mw_loss([0.0, 1.0], [1, 0, 1]), ValueError, "labels"),
        (lambda: mw_loss([0.0, 1.0], [1, 3]), ValueError, "labels"),
        (lambda: mw_loss([0.0, 1.0], [1, 0], pooling="per_query"), ValueError, "per_query"),
        (lambda: mw_loss([0.0, 1.0], [1, 0], pooling="batch"), ValueError, "pooling"),
        (lambda: mw_loss(["a", "b"], [1, 0]), TypeError, "scores"),
        (lambda: info_nce_loss([[0.0, 1.0]], [[1, 0]], tau=0.0), ValueError, "tau"),
        (lambda: info_nce_loss([[0.0, 1.0]], [[1, 1]]), ValueError, "negative"),
        (lambda: info_nce_loss([0.0, 1.0], [1, 0]), ValueError, "scores"),
        (lambda: mw_loss_torch(torch.zeros(3), [1, 1, 1]), ValueError, "both classes"),
        (lambda: info_nce_loss_torch(torch.zeros(2, 2), [[1, 0], [1, 1]]), ValueError, "negative"),
    ],
)
def test_bad_input_names_the_argument(call, exc, match):
    with pytest.raises(exc, match=match):
        call()
