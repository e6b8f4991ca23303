"""HPM's ranking loss against loops, finite differences and PyTorch; the mask rule against Monte Carlo."""

import numpy as np
import pytest
from scipy.stats import chisquare

from lossbook.mim import (
    expected_hard_coverage,
    hpm_mask,
    n_masked,
    pairwise_rank_loss,
    pairwise_rank_loss_grad,
    pairwise_rank_loss_torch,
)

torch = pytest.importorskip("torch")


def _loop(s, t, v):
    total, count = 0.0, 0
    for n in range(s.shape[0]):
        for i in range(s.shape[1]):
            for j in range(s.shape[1]):
                if v[n, i] and v[n, j] and t[n, j] > t[n, i]:
                    total += np.log1p(np.exp(-(s[n, j] - s[n, i])))
                    count += 1
    return total / count if count else 0.0


@pytest.mark.claim("hpm_rank_loss")
def test_loss_equals_loops_gradient_and_torch():
    rng = np.random.default_rng(0)
    s = rng.standard_normal((4, 7))
    t = np.round(rng.random((4, 7)), 1)  # ties
    v = rng.random((4, 7)) < 0.7
    np.testing.assert_allclose(pairwise_rank_loss(s, t, v), _loop(s, t, v), rtol=1e-13)
    g = pairwise_rank_loss_grad(s, t, v)
    fd = np.zeros_like(s)
    for idx in np.ndindex(*s.shape):
        e = np.zeros_like(s)
        e[idx] = 1e-6
        fd[idx] = (pairwise_rank_loss(s + e, t, v) - pairwise_rank_loss(s - e, t, v)) / 2e-6
    np.testing.assert_allclose(g, fd, atol=1e-8)  # central differences: O(h^2) ~ 1e-12, rounding ~ 1e-10
    st = torch.tensor(s, requires_grad=True)
    lt = pairwise_rank_loss_torch(st, torch.tensor(t), torch.tensor(v))
    lt.backward()
    np.testing.assert_allclose(float(lt), pairwise_rank_loss(s, t, v), rtol=1e-13)
    np.testing.assert_allclose(st.grad.numpy(), g, rtol=1e-11, atol=1e-15)


@pytest.mark.claim("hpm_invariance")
def test_invariances_and_boundaries():
    rng = np.random.default_rng(1)
    s = rng.standard_normal((3, 6))
    t = rng.random((3, 6))
    base = pairwise_rank_loss(s, t)
    np.testing.assert_allclose(pairwise_rank_loss(s, np.exp(5 * t) - 7), base, rtol=1e-14)   # monotone targets
    np.testing.assert_allclose(pairwise_rank_loss(s + rng.standard_normal((3, 1)) * 100, t), base, rtol=1e-9)
    # no pair to rank: loss and gradient exactly 0
    assert pairwise_rank_loss(s, np.ones((3, 6))) == 0.0
    assert np.all(pairwise_rank_loss_grad(s, np.ones((3, 6))) == 0)
    z = pairwise_rank_loss_torch(torch.tensor(s, requires_grad=True), torch.ones(3, 6))
    assert float(z) == 0.0
    # perfectly ordered scores scaled up: loss -> 0; reversed: grows linearly
    r = np.argsort(rng.random((3, 6)), axis=1).astype(float)  # distinct ranks: differences at least 1
    good = [pairwise_rank_loss(c * r, r) for c in (1, 10, 100, 1000)]
    assert np.all(np.diff(good) < 0) and good[-1] < 1e-300 + 1e-12
    bad = [pairwise_rank_loss(-c * r, r) for c in (10, 100)]
    assert 9 < bad[1] / bad[0] < 11  # softplus(c x) ~ c x: linear growth


@pytest.mark.claim("hpm_mask_rule")
def test_mask_counts_top_k_and_uniformity():
    rng = np.random.default_rng(2)
    s = rng.standard_normal((400, 16))
    for ratio, alpha in [(0.75, 0.0), (0.75, 0.5), (0.5, 1.0), (0.1, 0.3)]:
        m = hpm_mask(s, ratio, alpha, seed=3)
        nm = n_masked(16, ratio)
        assert np.all(m.sum(1) == nm)
        k = int(np.floor(alpha * nm))
        top = np.argsort(-s, axis=1, kind="stable")[:, :k]
        assert np.all(np.take_along_axis(m, top, axis=1))
    # alpha = 0: every patch is masked with probability N_m / L (chi-square over 4000 images)
    m = hpm_mask(np.zeros((4000, 16)), 0.75, 0.0, seed=4)
    counts = m.sum(0)
    assert chisquare(counts, np.full(16, counts.sum() / 16)).pvalue > 1e-3


@pytest.mark.claim("hpm_coverage")
@pytest.mark.parametrize("alpha", [0.0, 0.25, 0.5, 1.0])
def test_expected_coverage_against_monte_carlo(alpha):
    hard = np.zeros(16, bool)
    hard[[1, 2, 5, 6, 9, 10, 13, 14]] = True
    scores = np.tile(hard.astype(float) + 0.01 * np.arange(16), (20000, 1))  # a predictor that ranks hard first
    m = hpm_mask(scores, 0.75, alpha, seed=5)
    frac = m[:, hard].sum(1) / m.sum(1)
    se = frac.std() / np.sqrt(frac.size)
    assert abs(frac.mean() - expected_hard_coverage(16, 8, 0.75, alpha)) < 4 * se + 1e-12


def test_bad_inputs():
    with pytest.raises(ValueError, match="targets"):
        pairwise_rank_loss(np.zeros((2, 3)), np.zeros((2, 4)))
    with pytest.raises(ValueError, match="valid"):
        pairwise_rank_loss(np.zeros((2, 3)), np.zeros((2, 3)), np.ones((2, 3)))
    with pytest.raises(ValueError, match="alpha"):
        hpm_mask(np.zeros((2, 3)), 0.5, 1.5, seed=0)
    with pytest.raises(ValueError, match="mask_ratio"):
        n_masked(16, -0.1)
    with pytest.raises(ValueError, match="n_hard"):
        expected_hard_coverage(16, 17, 0.75, 0.5)
