"""Z-loss values and gradient against independent oracles: scipy's zscore, central differences, autograd."""

import numpy as np
import pytest
from scipy.stats import zscore

from lossbook.zloss import z_loss, z_loss_grad, z_loss_torch, z_scores

EPS = np.finfo(float).eps


def _oracle(o, y, a=1.0, b=0.0):
    """Direct transcription of the definition with scipy's population z-score (ddof=0)."""
    z = zscore(o, axis=1, ddof=0)
    t = a * (b - z[np.arange(len(y)), y])
    return np.log1p(np.exp(t)) / a


def _batch(seed, n=20, D=7, scale=3.0):
    rng = np.random.default_rng(seed)
    return scale * rng.standard_normal((n, D)), rng.integers(0, D, n)


@pytest.mark.parametrize("a,b", [(1.0, 0.0), (0.1, 10.0), (3.0, -2.0)])
def test_matches_the_definition_with_scipy_zscore(a, b):
    o, y = _batch(0)
    # moderate inputs: the oracle's log1p(exp(t)) is accurate to a few ulps, the z-scores to ~D eps
    np.testing.assert_allclose(z_loss(o, y, a, b), _oracle(o, y, a, b), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(z_scores(o), zscore(o, axis=1, ddof=0), rtol=1e-12, atol=1e-13)


@pytest.mark.claim("zl_invariance")
def test_invariant_to_positive_affine_maps_and_not_to_negative_scale():
    o, y = _batch(1)
    base = z_loss(o, y, 0.5, 1.0)
    spread = o.std(axis=1)
    for alpha, beta in [(3.7, -2.1), (1e-3, 50.0), (2.0**200, 0.0), (1e-200, 1e-190)]:
        # computing alpha o + beta rounds each entry by eps |beta|, i.e. by eps |beta| / (alpha sigma) in
        # z-units; |dL/dz| <= 1, so that (plus the loss's own ~D eps) bounds the change
        tol = 16 * EPS * (1 + abs(beta) / (alpha * spread))
        assert np.all(np.abs(z_loss(alpha * o + beta, y, 0.5, 1.0) - base) <= tol)
    flipped = z_loss(-2.0 * o + 5.0, y, 0.5, 1.0)
    # alpha < 0 flips the sign of z: softplus(a (b + z_c)) / a, which differs from the original loss
    z = zscore(o, axis=1, ddof=0)[np.arange(len(y)), y]
    np.testing.assert_allclose(flipped, np.logaddexp(0.0, 0.5 * (1.0 + z)) / 0.5, rtol=1e-12)
    assert np.max(np.abs(flipped - base)) > 0.1


@pytest.mark.claim("zl_grad")
@pytest.mark.parametrize("a,b", [(1.0, 0.0), (0.2, 8.0)])
def test_gradient_matches_central_differences(a, b):
    o, y = _batch(2, n=6, D=5, scale=1.0)
    g = z_loss_grad(o, y, a, b)
    h = 1e-5  # central differences: truncation ~h^2 |L'''| ~ 1e-10, rounding ~eps / h ~ 1e-11
    fd = np.zeros_like(o)
    for k in range(o.shape[1]):
        e = np.zeros_like(o)
        e[:, k] = h
        fd[:, k] = (z_loss(o + e, y, a, b) - z_loss(o - e, y, a, b)) / (2 * h)
    np.testing.assert_allclose(g, fd, atol=1e-8)


@pytest.mark.claim("zl_grad")
def test_gradient_matches_torch_autograd_of_an_independent_expression():
    torch = pytest.importorskip("torch")
    o, y = _batch(3, n=10, D=9)
    ot = torch.tensor(o, requires_grad=True)
    # written from the definition, not through lossbook: torch.std with correction=0 is the population std
    z = (ot - ot.mean(dim=1, keepdim=True)) / ot.std(dim=1, correction=0, keepdim=True)
    loss = torch.nn.functional.softplus(0.7 * (1.5 - z[torch.arange(10), torch.tensor(y)])) / 0.7
    loss.sum().backward()
    np.testing.assert_allclose(z_loss_grad(o, y, 0.7, 1.5), ot.grad.numpy(), atol=1e-13)
    # the library's own torch twin: same values, and its autograd gives the same gradient
    ot2 = torch.tensor(o, requires_grad=True)
    lt = z_loss_torch(ot2, torch.tensor(y), 0.7, 1.5)
    lt.sum().backward()
    np.testing.assert_allclose(lt.detach().numpy(), z_loss(o, y, 0.7, 1.5), rtol=1e-13)
    np.testing.assert_allclose(ot2.grad.numpy(), ot.grad.numpy(), atol=1e-13)


@pytest.mark.claim("zl_orth")
def test_gradient_is_orthogonal_to_ones_and_to_outputs():
    for seed, D in [(4, 3), (5, 10), (6, 1000)]:
        o, y = _batch(seed, n=8, D=D)
        o = o + 40.0  # a large mean makes g . o a real test (o is far from orthogonal to 1)
        g = z_loss_grad(o, y)
        gn = np.linalg.norm(g, axis=1)
        # rounding: the z-scores carry ~eps |mu| / sigma each (centring after the rounded mean), and each
        # sum of D products adds ~D eps |g| |o|
        tol = 4 * D * EPS * (1 + np.abs(o.mean(axis=1)) / o.std(axis=1))
        assert np.all(np.abs(g.sum(axis=1)) <= tol * gn * np.sqrt(D))
        assert np.all(np.abs(np.einsum("ij,ij->i", g, o)) <= tol * gn * np.linalg.norm(o, axis=1))
        assert np.all(gn > 0)


@pytest.mark.claim("zl_bound")
@pytest.mark.parametrize("D", [2, 3, 9, 1000])
def test_target_z_score_is_at_most_sqrt_d_minus_1_with_equality_at_one_hot(D):
    rng = np.random.default_rng(D)
    o = np.vstack([rng.standard_normal((50, D)), rng.standard_cauchy((50, D)), rng.exponential(size=(50, D))])
    y = rng.integers(0, D, len(o))
    zc = z_scores(o)[np.arange(len(o)), y]
    assert np.all(np.abs(zc) <= np.sqrt(D - 1) * (1 + 1e-12))
    # equality: o = alpha e_c + beta 1 with alpha > 0; the loss then attains its lower bound
    c = np.arange(min(D, 5))
    onehot = 2.5 * np.eye(D)[c] - 7.0
    np.testing.assert_allclose(z_scores(onehot)[np.arange(len(c)), c], np.sqrt(D - 1), rtol=1e-12)
    floor = np.logaddexp(0.0, 0.3 * (1.0 - np.sqrt(D - 1))) / 0.3
    np.testing.assert_allclose(z_loss(onehot, c, 0.3, 1.0), floor, rtol=1e-12)
    assert np.all(z_loss(o, y, 0.3, 1.0) >= floor * (1 - 1e-12))
    # and the negative extreme: the target is the only low output
    np.testing.assert_allclose(z_scores(-onehot)[np.arange(len(c)), c], -np.sqrt(D - 1), rtol=1e-12)


def test_two_classes_the_loss_is_piecewise_constant_and_its_gradient_zero():
    # D = 2: z = (-1, 1) or (1, -1) whatever the outputs, so only the sign of o_c - o_other matters
    o, y = _batch(8, n=30, D=2)
    win = o[np.arange(30), y] > o[np.arange(30), 1 - y]
    np.testing.assert_allclose(z_loss(o, y), np.where(win, np.logaddexp(0, -1.0), np.logaddexp(0, 1.0)), rtol=1e-14)
    assert np.all(np.abs(z_loss_grad(o, y)) <= 1e-14 / o.std(axis=1)[:, None])


def test_extreme_magnitudes_give_the_same_loss():
    o, y = _batch(7, n=5, D=6)
    base = z_loss(o, y)
    for s in (1e300, 1e-300, 2.0**-1060):  # the last makes subnormal rows: a few digits are lost
        np.testing.assert_allclose(z_loss(o * s, y), base, rtol=1e-12 if s > 1e-305 else 1e-3)
    assert np.all(np.isfinite(z_loss_grad(o * 1e300, y)))
    with pytest.raises(ValueError, match="overflows"):
        z_loss_grad(np.array([[0.0, 5e-324]]), [0])


def test_bad_input_is_refused_with_the_argument_named():
    with pytest.raises(ValueError, match="outputs row 1 is constant"):
        z_loss([[0.0, 1.0], [2.0, 2.0]], [0, 1])
    with pytest.raises(ValueError, match="outputs must have at least 2 columns"):
        z_loss([[1.0]], [0])
    with pytest.raises(ValueError, match="outputs must contain only finite"):
        z_loss([[0.0, np.nan]], [0])
    with pytest.raises(ValueError, match="labels must lie"):
        z_loss([[0.0, 1.0]], [2])
    with pytest.raises(TypeError, match="labels"):
        z_loss([[0.0, 1.0]], [0.5])
    with pytest.raises(ValueError, match="labels must have shape"):
        z_loss([[0.0, 1.0]], [0, 1])
    with pytest.raises(ValueError, match="^a must lie"):
        z_loss([[0.0, 1.0]], [0], a=0.0)
    with pytest.raises(ValueError, match="^b must lie"):
        z_loss([[0.0, 1.0]], [0], b=1e7)


def test_torch_twin_refuses_constant_rows_and_bad_types():
    torch = pytest.importorskip("torch")
    with pytest.raises(ValueError, match="zero standard deviation"):
        z_loss_torch(torch.ones(2, 3), torch.tensor([0, 1]))
    with pytest.raises(TypeError, match="outputs"):
        z_loss_torch(np.zeros((2, 3)), torch.tensor([0, 1]))
    with pytest.raises(TypeError, match="labels"):
        z_loss_torch(torch.zeros(2, 3), torch.tensor([0.0, 1.0]))
