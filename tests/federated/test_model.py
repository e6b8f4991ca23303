"""The local objective and the margin-control penalty against PyTorch autograd."""

import numpy as np
import pytest

from lossbook.federated import margin_control_loss, softmax_regression_loss

torch = pytest.importorskip("torch")
torch.set_num_threads(1)


def _torch_objective(W, X, y, lam, mu, anchor, reduction="batch"):
    # written from the official code's formula: CE (mean) + lam * log(1 + ||softmax(Z)||_F^2)
    Wt = torch.tensor(W, requires_grad=True)
    Z = torch.tensor(X) @ Wt[:-1] + Wt[-1]
    P = torch.softmax(Z, dim=1)
    loss = torch.nn.functional.cross_entropy(Z, torch.tensor(y))
    if reduction == "batch":
        loss = loss + lam * torch.log(1 + torch.norm(P, p=2) ** 2)
    else:
        loss = loss + lam * torch.log(1 + (P**2).sum(dim=1)).mean()
    if mu > 0:
        loss = loss + 0.5 * mu * ((Wt - torch.tensor(anchor)) ** 2).sum()
    loss.backward()
    return loss.item(), Wt.grad.numpy()


@pytest.mark.claim("fed_margin")
@pytest.mark.parametrize("lam,mu", [(0.0, 0.0), (0.1, 0.0), (0.0, 0.3), (2.0, 1.0)])
def test_objective_and_gradient_match_torch_autograd(lam, mu):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(17, 5))
    y = rng.integers(0, 4, size=17)
    W = rng.normal(size=(6, 4))
    A = rng.normal(size=(6, 4))
    ours = softmax_regression_loss(W, X, y, margin=lam, mu=mu, anchor=A)
    val, grad = _torch_objective(W, X, y, lam, mu, A)
    # float64 both sides; a few hundred flops per entry: 1e-12 is ample
    assert abs(ours.value - val) < 1e-12
    assert np.allclose(ours.grad, grad, atol=1e-12)


@pytest.mark.claim("fed_margin")
@pytest.mark.parametrize("reduction", ["batch", "sample"])
def test_margin_gradient_wrt_logits_matches_torch(reduction):
    rng = np.random.default_rng(1)
    Z = rng.normal(scale=3.0, size=(9, 7))
    y = rng.integers(0, 7, size=9)
    ours = margin_control_loss(Z, y, lam=0.5, reduction=reduction)
    Zt = torch.tensor(Z, requires_grad=True)
    P = torch.softmax(Zt, dim=1)
    pen = torch.log(1 + (P**2).sum()) if reduction == "batch" else torch.log(1 + (P**2).sum(dim=1)).mean()
    loss = torch.nn.functional.cross_entropy(Zt, torch.tensor(y)) + 0.5 * pen
    loss.backward()
    assert abs(ours.value - loss.item()) < 1e-12
    assert np.allclose(ours.grad, Zt.grad.numpy(), atol=1e-12)


@pytest.mark.claim("fed_margin")
def test_penalty_gradient_vanishes_at_uniform_and_is_largest_at_one_hot():
    n, C, lam = 6, 5, 0.1
    y = np.arange(n) % C
    ce_only = margin_control_loss(np.zeros((n, C)), y, lam=0.0)
    with_pen = margin_control_loss(np.zeros((n, C)), y, lam=lam)
    assert np.allclose(with_pen.grad, ce_only.grad, atol=1e-15)  # penalty gradient is zero at uniform
    # penalty values: log(1 + n/C) at uniform outputs, log(1 + n) at one-hot outputs (its maximum)
    assert abs((with_pen.value - ce_only.value) - lam * np.log1p(n / C)) < 1e-12
    Z = np.full((n, C), -800.0)
    Z[np.arange(n), y] = 800.0
    hot = margin_control_loss(Z, y, lam=lam).value - margin_control_loss(Z, y, lam=0.0).value
    assert abs(hot - lam * np.log1p(n)) < 1e-12
    rng = np.random.default_rng(2)
    for _ in range(50):
        Zr = rng.normal(scale=5.0, size=(n, C))
        pen = margin_control_loss(Zr, y, lam=lam).value - margin_control_loss(Zr, y, lam=0.0).value
        assert lam * np.log1p(n / C) - 1e-12 <= pen <= lam * np.log1p(n) + 1e-12


def test_extreme_logits_stay_finite():
    Z = np.array([[1e5, -1e5, 0.0], [0.0, 0.0, 1e5]])
    out = margin_control_loss(Z, [1, 2], lam=0.1)
    assert np.isfinite(out.value) and np.all(np.isfinite(out.grad))
    # row 1 costs 2e5, row 2 costs 0 (mean 1e5); both rows are one-hot, so the penalty is 0.1 log 3
    assert abs(out.value - (1e5 + 0.1 * np.log(3.0))) < 1e-10 * 1e5


def test_anchor_required_for_positive_mu():
    with pytest.raises(ValueError, match="anchor"):
        softmax_regression_loss(np.zeros((3, 2)), np.ones((2, 2)), [0, 1], mu=1.0)
