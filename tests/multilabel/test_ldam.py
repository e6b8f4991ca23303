"""LDAM margins and loss against PyTorch and finite differences; the population threshold against a solver."""

import numpy as np
import pytest
import scipy.optimize

from lossbook.multilabel import ldam_bce_grad, ldam_bce_loss, ldam_margins, ldam_threshold

torch = pytest.importorskip("torch")


@pytest.mark.claim("ticd_margin_law")
def test_margins():
    m = ldam_margins([1, 16, 81, 10000], C=2.0)
    np.testing.assert_allclose(m, 2.0 * np.array([1, 0.5, 1 / 3, 0.1]), rtol=1e-15)
    assert np.all(np.diff(ldam_margins(np.arange(1, 50))) < 0)  # strictly decreasing in frequency
    # the n^(-1/4) law minimises sum_j 1 / (gamma_j sqrt(n_j)) at fixed sum_j gamma_j: compare with SLSQP
    n = np.array([600.0, 150.0, 40.0, 10.0])
    obj = lambda g: np.sum(1.0 / (g * np.sqrt(n)))  # noqa: E731
    res = scipy.optimize.minimize(obj, np.full(4, 0.5), method="SLSQP", bounds=[(1e-6, None)] * 4,
                                  constraints=[{"type": "eq", "fun": lambda g: g.sum() - 2.0}],
                                  options={"ftol": 1e-14, "maxiter": 500})
    law = ldam_margins(n, 1.0)
    np.testing.assert_allclose(res.x, 2.0 * law / law.sum(), rtol=1e-4)
    with pytest.raises(ValueError, match="freq"):
        ldam_margins([0, 3])


@pytest.mark.claim("ticd_ldam_loss")
def test_loss_and_gradient_against_torch():
    rng = np.random.default_rng(0)
    z = rng.standard_normal((7, 5)) * 4
    y = (rng.random((7, 5)) < 0.4).astype(float)
    freq = rng.integers(1, 500, 5)
    d = ldam_margins(freq, 3.0)
    zt = torch.tensor(z, requires_grad=True)
    ref = torch.nn.functional.binary_cross_entropy_with_logits(zt - torch.tensor(y * d), torch.tensor(y))
    ref.backward()
    np.testing.assert_allclose(ldam_bce_loss(z, y, freq), float(ref), rtol=1e-13)
    np.testing.assert_allclose(ldam_bce_grad(z, y, freq), zt.grad.numpy(), rtol=1e-12, atol=1e-16)
    # equal frequencies: BCE on logits shifted by the constant C n^(-1/4) where y = 1
    same = ldam_bce_loss(z, y, np.full(5, 81))
    np.testing.assert_allclose(same, ldam_bce_loss(z - y * 1.0, y, np.ones(5), C=0.0), rtol=1e-14)
    # negatives' gradient does not depend on the margin
    g3, g0 = ldam_bce_grad(z, y, freq, 3.0), ldam_bce_grad(z, y, freq, 0.0)
    np.testing.assert_array_equal(g3[y == 0], g0[y == 0])
    assert np.all(g3[y == 1] <= g0[y == 1])  # positives are pushed harder


def test_extreme_logits_stay_finite():
    z = np.array([[1e300, -1e300, 800.0, -800.0]])
    y = np.array([[0, 1, 1, 0]])
    assert np.isfinite(ldam_bce_loss(z, y, np.ones(4)))
    assert np.all(np.isfinite(ldam_bce_grad(z, y, np.ones(4))))


@pytest.mark.claim("ticd_threshold")
@pytest.mark.parametrize("delta", [0.0, 0.3, 1.0, 3.0, 8.0])
def test_population_threshold_against_a_generic_minimiser(delta):
    # minimise eta softplus(delta - f) + (1 - eta) softplus(f) over f numerically; the sign of the minimiser
    # must switch at the closed-form threshold
    def fstar(eta):
        res = scipy.optimize.minimize_scalar(
            lambda f: eta * np.logaddexp(0, delta - f) + (1 - eta) * np.logaddexp(0, f), bounds=(-60, 60),
            method="bounded", options={"xatol": 1e-12})
        return res.x

    eta0 = float(ldam_threshold([delta])[0])
    assert fstar(eta0 + 1e-4) > 0 > fstar(eta0 - 1e-4)
    f_grid = [fstar(e) for e in np.linspace(0.05, 0.95, 19)]
    assert np.all(np.diff(f_grid) > 0)  # the minimiser increases with eta
    assert 1 / 3 < eta0 <= 0.5


def test_threshold_limits():
    np.testing.assert_allclose(ldam_threshold([0.0, 50.0, np.inf]), [0.5, 1 / 3, 1 / 3], rtol=1e-15, atol=1e-20)
    with pytest.raises(ValueError, match="margin"):
        ldam_threshold([-1.0])
