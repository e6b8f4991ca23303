"""Multi-similarity loss: pytorch-metric-learning as oracle, finite differences, limits and invariances."""

from __future__ import annotations

import numpy as np
import pytest

from lossbook.metric_learning import (
    cosine_similarity_matrix,
    multi_similarity_loss,
    multi_similarity_loss_torch,
    multi_similarity_mine,
    multi_similarity_pair_weights,
    pair_masks,
    similarity_gradient,
)

torch = pytest.importorskip("torch")
pml_losses = pytest.importorskip("pytorch_metric_learning.losses")
pml_miners = pytest.importorskip("pytorch_metric_learning.miners")


def batch(seed, n_classes=6, per_class=4, d=8):
    """Every anchor has >= 1 positive and >= 1 negative (per_class >= 2, n_classes >= 2)."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((n_classes, d))
    y = np.repeat(np.arange(n_classes), per_class)
    E = centres[y] + 0.8 * rng.standard_normal((len(y), d))
    return E, y


def pml(E, y, mine, **kw):
    Et = torch.tensor(E, dtype=torch.float64, requires_grad=True)
    yt = torch.as_tensor(y)
    loss_fn = pml_losses.MultiSimilarityLoss(**{k: kw[k] for k in ("alpha", "beta", "base") if k in kw})
    idx = pml_miners.MultiSimilarityMiner(epsilon=kw.get("epsilon", 0.1))(Et, yt) if mine else None
    v = loss_fn(Et, yt, idx)
    (g,) = torch.autograd.grad(v, Et)
    return v.item(), g.numpy()


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("mine", [True, False])
@pytest.mark.claim("msl_peer")
def test_value_and_gradient_match_pytorch_metric_learning(seed, mine):
    E, y = batch(seed)
    kw = {"alpha": 2.0, "beta": 50.0, "base": 0.5, "epsilon": 0.1}
    v_ref, g_ref = pml(E, y, mine, **kw)
    assert multi_similarity_loss(E, y, mine=mine, **kw) == pytest.approx(v_ref, rel=1e-12, abs=1e-14)
    Et = torch.tensor(E, requires_grad=True)
    v = multi_similarity_loss_torch(Et, torch.as_tensor(y), mine=mine, **kw)
    (g,) = torch.autograd.grad(v, Et)
    # float64 end to end: agreement to ~1e-12 relative (rounding of different summation orders)
    np.testing.assert_allclose(g.numpy(), g_ref, rtol=1e-9, atol=1e-13)


def test_miner_matches_pytorch_metric_learning_pairs():
    E, y = batch(11)
    a1, p, a2, n = pml_miners.MultiSimilarityMiner(epsilon=0.1)(torch.tensor(E), torch.as_tensor(y))
    kp, kn = multi_similarity_mine(E, y, epsilon=0.1)
    assert set(zip(a1.tolist(), p.tolist(), strict=True)) == set(zip(*np.nonzero(kp), strict=True))
    assert set(zip(a2.tolist(), n.tolist(), strict=True)) == set(zip(*np.nonzero(kn), strict=True))
    assert 0 < kn.sum() < pair_masks(y)[1].sum()  # the miner dropped something and kept something


def test_anchor_without_positives_is_not_mined_unlike_the_peer():
    # class 2 has a single member: no positives for anchor 4. Our miner keeps its negatives (documented);
    # pytorch-metric-learning drops them. Every other anchor is treated the same way by both.
    E, y = batch(3, n_classes=2, per_class=2)
    E = np.vstack([E, np.ones(E.shape[1])])
    y = np.append(y, 2)
    kp, kn = multi_similarity_mine(E, y)
    a1, p, a2, n = pml_miners.MultiSimilarityMiner(epsilon=0.1)(torch.tensor(E), torch.as_tensor(y))
    assert kn[4].sum() == 4 and 4 not in a2.tolist()
    ours = set(zip(*np.nonzero(kn[:4]), strict=True))
    assert ours == set(zip(a2.tolist(), n.tolist(), strict=True))


@pytest.mark.parametrize("mine", [True, False])
def test_pair_weights_are_the_derivative_in_s(mine):
    # oracle: autograd of the loss written directly in S (masks fixed), against the closed form
    E, y = batch(5)
    kw = {"alpha": 2.0, "beta": 40.0, "base": 0.5}
    kp, kn = multi_similarity_mine(E, y) if mine else pair_masks(y)

    def loss_of_s(S, labels):
        zero = torch.zeros(S.shape[0], 1, dtype=S.dtype)
        lp = torch.logsumexp(torch.cat([zero, torch.where(torch.as_tensor(kp), -2.0 * (S - 0.5), -torch.inf)], 1), 1)
        ln = torch.logsumexp(torch.cat([zero, torch.where(torch.as_tensor(kn), 40.0 * (S - 0.5), -torch.inf)], 1), 1)
        return (lp / 2.0 + ln / 40.0).mean()

    G = similarity_gradient(loss_of_s, E, y)
    W = multi_similarity_pair_weights(E, y, mine=mine, **kw)
    np.testing.assert_allclose(W, G, rtol=1e-12, atol=1e-15)
    assert np.all(W[kp] < 0) and np.all(W[kn] > 0) and np.all(W[~(kp | kn)] == 0)


@pytest.mark.claim("msl_hinge")
def test_large_beta_tends_to_a_hinge_on_the_hardest_negative():
    E, y = batch(7)
    S = cosine_similarity_matrix(E)
    _, neg = pair_masks(y)
    hinge = np.maximum(0.0, np.where(neg, S, -np.inf).max(axis=1) - 0.5)
    for beta in (1e3, 1e5):
        neg_part = multi_similarity_loss(E, y, alpha=1.0, beta=beta, mine=False) - _pos_part(E, y, alpha=1.0)
        # max(0, M) <= log(1 + sum_k e^{beta x_k}) / beta <= max(0, M) + log(1 + |N_i|) / beta, per anchor
        assert 0.0 <= neg_part - hinge.mean() <= np.log1p(neg.sum(axis=1).max()) / beta + 1e-12


def _pos_part(E, y, alpha):
    S = cosine_similarity_matrix(E)
    pos, _ = pair_masks(y)
    x = np.where(pos, -alpha * (S - 0.5), -np.inf)
    return float(np.mean(np.logaddexp(0.0, np.logaddexp.reduce(x, axis=1)) / alpha))


def test_one_positive_one_negative_is_binomial_deviance():
    # two classes of two: each anchor has one positive and one or two negatives; with one negative it is
    # softplus(-alpha (S_p - base)) / alpha + softplus(beta (S_n - base)) / beta
    E = np.array([[1.0, 0.2], [0.8, 0.5], [-0.3, 1.0]])
    y = np.array([0, 0, 1])
    S = cosine_similarity_matrix(E)
    sp = lambda t: np.logaddexp(0.0, t)  # noqa: E731
    a, b = 2.0, 50.0
    anchor0 = sp(-a * (S[0, 1] - 0.5)) / a + sp(b * (S[0, 2] - 0.5)) / b
    anchor1 = sp(-a * (S[1, 0] - 0.5)) / a + sp(b * (S[1, 2] - 0.5)) / b
    anchor2 = np.logaddexp(0.0, np.logaddexp(b * (S[2, 0] - 0.5), b * (S[2, 1] - 0.5))) / b
    assert multi_similarity_loss(E, y, mine=False) == pytest.approx((anchor0 + anchor1 + anchor2) / 3, rel=1e-14)


def test_infinite_margin_mines_nothing_and_planted_easy_pairs_are_dropped():
    E, y = batch(2)
    assert multi_similarity_loss(E, y, epsilon=np.inf) == multi_similarity_loss(E, y, mine=False)
    # plant a negative exactly opposite to anchor 0: far below its hardest positive, so it is dropped
    E2 = np.vstack([E, -E[0]])
    y2 = np.append(y, y.max() + 1)
    _, kn = multi_similarity_mine(E2, y2)
    assert not kn[0, -1]


def test_permutation_and_scale_invariance():
    E, y = batch(9)
    perm = np.random.default_rng(0).permutation(len(y))
    v = multi_similarity_loss(E, y)
    assert multi_similarity_loss(E[perm], y[perm]) == pytest.approx(v, rel=1e-13)
    scales = np.random.default_rng(1).uniform(1e-200, 1e200, size=(len(y), 1))
    assert multi_similarity_loss(E * scales, y) == pytest.approx(v, rel=1e-13)


def test_extreme_scales_stay_finite():
    E, y = batch(4)
    for alpha, beta in [(1e-3, 1e-3), (1e3, 1e4), (1e6, 1e6)]:
        assert np.isfinite(multi_similarity_loss(E, y, alpha=alpha, beta=beta, mine=False))
        assert np.all(np.isfinite(multi_similarity_pair_weights(E, y, alpha=alpha, beta=beta, mine=False)))


@pytest.mark.parametrize(
    ("kwargs", "exc", "match"),
    [
        ({"alpha": 0.0}, ValueError, "alpha"),
        ({"beta": -1.0}, ValueError, "beta"),
        ({"base": 2.0}, ValueError, "base"),
        ({"epsilon": -0.1}, ValueError, "epsilon"),
        ({"alpha": float("nan")}, ValueError, "alpha"),
        ({"mine": "yes"}, TypeError, "mine"),
    ],
)
def test_bad_arguments_are_named(kwargs, exc, match):
    E, y = batch(0)
    with pytest.raises(exc, match=match):
        multi_similarity_loss(E, y, **kwargs)


def test_bad_inputs_are_named():
    E, y = batch(0)
    with pytest.raises(ValueError, match="zero row"):
        multi_similarity_loss(np.vstack([E, np.zeros(E.shape[1])]), np.append(y, 0))
    with pytest.raises(ValueError, match="finite"):
        multi_similarity_loss(np.where(E > 1, np.nan, E), y)
    with pytest.raises(ValueError, match="labels must have shape"):
        multi_similarity_loss(E, y[:-1])
    with pytest.raises(TypeError, match="integers"):
        multi_similarity_loss(E, y.astype(float))
    with pytest.raises(ValueError, match="at least 2 rows"):
        multi_similarity_loss(E[:1], y[:1])
    with pytest.raises(TypeError, match="torch tensor"):
        multi_similarity_loss_torch(E, y)
