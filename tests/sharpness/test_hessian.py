"""Power iteration on Hessian-vector products against the dense Hessian and finite differences."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from lossbook.sharpness import (  # noqa: E402
    dense_hessian,
    dense_top_eigenvalue,
    flat_mlp,
    hessian_vector_product,
    top_hessian_eigenvalue,
)


@pytest.fixture(scope="module")
def small_mlp():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((40, 5))
    y = rng.integers(0, 3, size=40)
    return flat_mlp(X, y, hidden=4, seed=1)  # 5*4 + 4 + 4*3 + 3 = 39 parameters


def test_dense_hessian_equals_torch_functional_hessian(small_mlp):
    w = torch.tensor(small_mlp.params)
    peer = torch.autograd.functional.hessian(small_mlp.loss_fn, w).numpy()
    np.testing.assert_allclose(dense_hessian(small_mlp.loss_fn, w), peer, rtol=1e-10, atol=1e-13)


@pytest.mark.claim("saf_power_vs_dense")
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_power_iteration_matches_eigvalsh_on_small_mlp(small_mlp, seed):
    # the oracle is independent of our HVP loop: PyTorch's functional Hessian and LAPACK's eigvalsh
    H = torch.autograd.functional.hessian(small_mlp.loss_fn, torch.tensor(small_mlp.params)).numpy()
    top = np.linalg.eigvalsh(0.5 * (H + H.T))[-1]
    r = top_hessian_eigenvalue(small_mlp.loss_fn, small_mlp.params, max_iter=5000, tol=1e-13, seed=seed)
    assert r.converged
    # the Rayleigh quotient's error falls like (lambda_2/lambda_1)^(2k): at tol 1e-13 it is at rounding level
    assert r.eigenvalue == pytest.approx(top, rel=1e-8)
    assert r.residual < 1e-4
    assert abs(r.eigenvector @ H @ r.eigenvector - top) < 1e-8 * abs(top)


@pytest.mark.claim("saf_power_vs_dense")
def test_power_iteration_returns_largest_algebraic_eigenvalue_when_dominant_is_negative():
    eig = np.array([-5.0, 1.0, 2.0, 0.5])
    Q = np.linalg.qr(np.random.default_rng(3).standard_normal((4, 4)))[0]
    A = torch.tensor(Q @ np.diag(eig) @ Q.T)

    def f(w):
        return 0.5 * w @ A @ w

    r = top_hessian_eigenvalue(f, np.ones(4), max_iter=10000, tol=1e-14)
    assert r.eigenvalue == pytest.approx(2.0, rel=1e-9)
    assert dense_top_eigenvalue(f, np.zeros(4)) == pytest.approx(2.0, rel=1e-12)


@pytest.mark.claim("saf_hvp")
@pytest.mark.parametrize("seed", [0, 1])
def test_hvp_matches_finite_differences_of_the_gradient(small_mlp, seed):
    w = small_mlp.params
    v = np.random.default_rng(seed).standard_normal(w.size)

    def grad(x):
        t = torch.tensor(x, requires_grad=True)
        (g,) = torch.autograd.grad(small_mlp.loss_fn(t), t)
        return g.numpy()

    h = 1e-5
    fd = (grad(w + h * v) - grad(w - h * v)) / (2 * h)
    hv = hessian_vector_product(small_mlp.loss_fn, w, v)
    # central differences: truncation ~ h^2 |third derivative| |v|^3 ~ 1e-9, rounding ~ 1e-16 |g| / h ~ 1e-11
    np.testing.assert_allclose(hv, fd, atol=1e-7 * np.max(np.abs(hv)))


def test_linear_loss_has_zero_hessian():
    r = top_hessian_eigenvalue(lambda w: w.sum(), np.ones(3))
    assert r.eigenvalue == 0.0 and r.converged


@pytest.mark.parametrize(("call", "name"), [
    (lambda: top_hessian_eigenvalue(3, [1.0]), "loss_fn"),
    (lambda: top_hessian_eigenvalue(lambda w: (w**2).sum(), [[1.0]]), "params"),
    (lambda: top_hessian_eigenvalue(lambda w: (w**2).sum(), [1.0], max_iter=0), "max_iter"),
    (lambda: top_hessian_eigenvalue(lambda w: (w**2).sum(), [1.0], tol=1.0), "tol"),
    (lambda: hessian_vector_product(lambda w: (w**2).sum(), [1.0, 2.0], [1.0]), "vector"),
    (lambda: top_hessian_eigenvalue(lambda w: (w / 0).sum(), [1.0]), "loss_fn"),
])
def test_bad_input_names_the_argument(call, name):
    with pytest.raises((ValueError, TypeError), match=name):
        call()
