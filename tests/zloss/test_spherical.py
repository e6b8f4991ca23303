"""The O(d^2) spherical evaluation against the explicit outputs W h, and its cancellation guard."""

import numpy as np
import pytest

from lossbook.zloss import spherical_cache, z_loss, z_loss_grad, z_loss_spherical

EPS = np.finfo(float).eps


@pytest.mark.claim("zl_spherical")
@pytest.mark.parametrize("D,d", [(2, 1), (50, 4), (2000, 16)])
def test_spherical_form_equals_the_explicit_outputs(D, d):
    rng = np.random.default_rng(D + d)
    W = rng.standard_normal((D, d)) + 0.3  # a non-zero mean row: sum(o) is not ~0
    H = rng.standard_normal((40, d))
    y = rng.integers(0, D, 40)
    for a, b in [(1.0, 0.0), (0.1, 10.0)]:
        r = z_loss_spherical(H, y, spherical_cache(W), a, b)
        O = H @ W.T
        # mu/sigma is O(1) here, so the mean-square form loses only a few digits: 1e-9 is generous
        np.testing.assert_allclose(r.loss, z_loss(O, y, a, b), rtol=1e-9)
        np.testing.assert_allclose(r.grad_hidden, z_loss_grad(O, y, a, b) @ W, rtol=1e-7, atol=1e-10)


@pytest.mark.claim("zl_cancellation")
def test_cancellation_guard_refuses_exactly_where_the_mean_square_form_would_be_inaccurate():
    """W = W0 + 2^k (all entries shifted) with small integers: W and o = W h are exact in float64.

    By shift invariance the true loss equals the loss of W0 h, computed on exact integer outputs.
    The guard promises a relative error of sigma^2 below 1e-3, so |dL| <= |dz| <= 1e-3 (1 + |z_c|).
    """
    rng = np.random.default_rng(0)
    D, d = 300, 4
    W0 = rng.integers(-8, 9, (D, d)).astype(float)
    H = rng.integers(-8, 9, (30, d)).astype(float)
    H[:, 0] = 9.0  # the offset enters every output as 2^k * sum(h) != 0
    y = rng.integers(0, D, 30)
    truth = z_loss(H @ W0.T, y)
    accepted, refused, worst = [], [], 0.0
    for k in range(0, 44, 2):
        W = W0 + 2.0**k
        assert np.array_equal(W - 2.0**k, W0)  # exact construction
        # the explicit two-pass form: centring after the mean's rounding errs by ~eps |mu| per entry, so
        # |dz| <~ eps |mu| / sigma (linear in the offset) and |dL| <= |dz| since |dL/dz| <= 1
        O = H @ W.T
        ratio = np.abs(O.mean(axis=1)) / O.std(axis=1)
        assert np.all(np.abs(z_loss(O, y) - truth) <= 4 * EPS * (1 + ratio))
        try:
            r = z_loss_spherical(H, y, spherical_cache(W))
        except ValueError as exc:
            assert "cancellation" in str(exc)
            refused.append(k)
            continue
        accepted.append(k)
        zc = np.log(np.expm1(truth))  # invert softplus(-z_c) for a = 1, b = 0: z_c = -log(e^L - 1)
        err = np.abs(r.loss - truth)
        assert np.all(err <= 1e-3 * (1 + np.abs(zc)))
        worst = max(worst, float(err.max()))
    assert accepted and refused and max(accepted) < min(refused), (accepted, refused)


def test_bad_input_is_refused_with_the_argument_named():
    cache = spherical_cache(np.eye(3, 2))
    with pytest.raises(TypeError, match="cache"):
        z_loss_spherical([[1.0, 0.0]], [0], np.eye(3, 2))
    with pytest.raises(ValueError, match="hidden must have 2 columns"):
        z_loss_spherical([[1.0, 0.0, 0.0]], [0], cache)
    with pytest.raises(ValueError, match="labels must lie"):
        z_loss_spherical([[1.0, 0.0]], [3], cache)
    with pytest.raises(ValueError, match="hidden row 0"):
        z_loss_spherical([[0.0, 0.0]], [0], cache)  # W 0 = 0: every output equal
    with pytest.raises(ValueError, match="weights must not be all zero"):
        spherical_cache(np.zeros((3, 2)))
    with pytest.raises(ValueError, match="weights must have at least 2 rows"):
        spherical_cache(np.ones((1, 2)))
