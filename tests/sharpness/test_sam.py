"""SAM's perturbed loss: first-order relation L(w + rho g/|g|) = L + rho |g| + O(rho^2)."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from lossbook.sharpness import flat_mlp, hessian_vector_product, sam_perturbed_loss  # noqa: E402


@pytest.fixture(scope="module")
def mlp():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((60, 6))
    y = rng.integers(0, 3, size=60)
    return flat_mlp(X, y, hidden=5, seed=2)


@pytest.mark.claim("saf_sam_first_order")
def test_remainder_is_second_order_with_the_hessian_coefficient(mlp):
    w = mlp.params
    rhos = np.geomspace(1e-3, 1e-1, 5)
    rem = np.array([(lambda r: r.perturbed_loss - r.first_order)(sam_perturbed_loss(mlp.loss_fn, w, rho))
                    for rho in rhos])
    slope = np.polyfit(np.log(rhos), np.log(np.abs(rem)), 1)[0]
    # O(rho^2): the log-log slope is 2 up to the O(rho^3) term over two decades
    assert slope == pytest.approx(2.0, abs=0.1)
    r = sam_perturbed_loss(mlp.loss_fn, w, 1.0)
    u = r.epsilon  # unit direction g/|g| at rho = 1
    curvature = 0.5 * u @ hessian_vector_product(mlp.loss_fn, w, u)
    # rem / rho^2 -> 1/2 u^T H u; at rho = 1e-3 the relative gap is O(rho) times a third-derivative ratio
    assert rem[0] / rhos[0] ** 2 == pytest.approx(curvature, rel=2e-2)


def test_perturbed_gradient_is_the_gradient_at_the_shifted_point(mlp):
    r = sam_perturbed_loss(mlp.loss_fn, mlp.params, 0.05)
    t = torch.tensor(mlp.params + r.epsilon, requires_grad=True)
    (g,) = torch.autograd.grad(mlp.loss_fn(t), t)
    np.testing.assert_allclose(r.perturbed_grad, g.numpy(), rtol=1e-12, atol=1e-15)
    assert np.linalg.norm(r.epsilon) == pytest.approx(0.05, rel=1e-12)
    assert r.gradient_evaluations == 2


def test_zero_gradient_gives_no_perturbation():
    r = sam_perturbed_loss(lambda w: (w**2).sum(), np.zeros(3), 0.1)
    assert r.grad_norm == 0.0 and np.all(r.epsilon == 0.0) and r.perturbed_loss == r.loss


def test_bad_rho_is_named():
    with pytest.raises(ValueError, match="rho"):
        sam_perturbed_loss(lambda w: (w**2).sum(), np.ones(2), -1.0)


def _descend(loss_fn, w, lr, steps):
    for _ in range(steps):
        t = torch.tensor(w, requires_grad=True)
        (g,) = torch.autograd.grad(loss_fn(t), t)
        w = w - lr * g.numpy()
    return w


@pytest.mark.claim("saf_link")
def test_past_iterate_is_sams_ascent_point_to_first_order(mlp):
    # after a short window of gradient steps, w_old - w_e points along g(w_e) and the loss drop over the window
    # equals SAM's first-order sharpness rho |g| at the radius the weights travelled; the gap is O(lr * steps)
    gaps = []
    for lr in (1e-2, 1e-3):
        w_old = mlp.params
        w_e = _descend(mlp.loss_fn, w_old, lr, 5)
        rho = float(np.linalg.norm(w_old - w_e))
        r = sam_perturbed_loss(mlp.loss_fn, w_e, rho)
        drop = float(mlp.loss_fn(torch.tensor(w_old))) - r.loss
        cos = (w_old - w_e) @ r.epsilon / rho**2
        assert cos > 0.99
        gaps.append(abs(drop / (rho * r.grad_norm) - 1.0))
        assert abs(r.perturbed_loss - r.loss) == pytest.approx(drop, rel=5 * gaps[-1] + 1e-6)
    assert gaps[1] < 0.2 * gaps[0] and gaps[1] < 1e-2
