"""AMCL: the regulariser, the optimal positive temperature against a grid, the loss's structure, NT-Xent vs a
hand formula, and the chapter's study."""

import numpy as np
import pytest
import scipy.optimize

from lossbook.metric_learning import optimal_positive_temperature, temperature_regulariser

torch = pytest.importorskip("torch")
from lossbook.metric_learning import amcl_loss_torch, contrastive_study, ntxent_loss_torch  # noqa: E402


@pytest.mark.claim("amcl_tau")
def test_regulariser_minimum_and_optimal_temperature():
    for d in (2, 16, 128):
        res = scipy.optimize.minimize_scalar(lambda t, d=d: float(temperature_regulariser([t], d)[0]),
                                             bounds=(1e-6, 10), method="bounded", options={"xatol": 1e-12})
        np.testing.assert_allclose(res.x, 2 / d, rtol=1e-6)
    grid = np.geomspace(1e-5, 2.0, 200001)
    for beta in (0.1, 0.5):
        for d in (4, 16):
            for s in (-0.5, 0.0, 0.05, 0.09, 0.3, 0.9):
                f = -s / grid + beta * temperature_regulariser(grid, d)
                best = grid[np.argmin(f)]
                tau = float(optimal_positive_temperature([s], beta, d)[0])
                # the grid's spacing is a factor 1.00006: the closed form must sit within two grid steps
                assert abs(np.log(best / tau)) < 2e-4, (beta, d, s, best, tau)


def test_ntxent_against_hand_formula():
    rng = np.random.default_rng(0)
    z1, z2 = rng.standard_normal((4, 3)), rng.standard_normal((4, 3))
    z = np.vstack([z1, z2])
    z = z / np.linalg.norm(z, axis=1, keepdims=True)
    S = z @ z.T / 0.5
    losses = []
    for i in range(8):
        j = (i + 4) % 8
        others = [S[i, k] for k in range(8) if k != i]
        losses.append(-S[i, j] + np.log(np.sum(np.exp(others))))
    got = float(ntxent_loss_torch(torch.tensor(z1), torch.tensor(z2), 0.5))
    np.testing.assert_allclose(got, np.mean(losses), rtol=1e-12)


@pytest.mark.claim("amcl_loss")
def test_amcl_loss_structure():
    torch.manual_seed(0)
    z1 = [torch.randn(6, 5, dtype=torch.float64) for _ in range(3)]
    z2 = [torch.randn(6, 5, dtype=torch.float64) for _ in range(3)]

    def const_net(value):
        net = torch.nn.Linear(10, 1, dtype=torch.float64)
        with torch.no_grad():
            net.weight.zero_()
            net.bias.fill_(value)
        return net

    nets = [const_net(0.0) for _ in range(3)]
    loss, _ = amcl_loss_torch(z1, z2, nets, beta=0.0)
    # beta = 0, one constant temperature tau: the loss is (max-negative minus positive similarity) / tau per head
    tau = 1e-5 + (2 - 1e-5) * 0.5
    ref = 0.0
    for a, b in zip(z1, z2, strict=True):
        a = torch.nn.functional.normalize(a, dim=1)
        b = torch.nn.functional.normalize(b, dim=1)
        S = a @ b.T
        neg = S.masked_fill(torch.eye(6, dtype=torch.bool), -2).max(1).values
        ref += float(((neg - S.diagonal()) / tau).mean())
    np.testing.assert_allclose(float(loss), ref, rtol=1e-12)
    # permuting the heads (with their temperature networks) leaves the loss unchanged
    perm = [2, 0, 1]
    loss_p, _ = amcl_loss_torch([z1[i] for i in perm], [z2[i] for i in perm], [nets[i] for i in perm], beta=0.0)
    np.testing.assert_allclose(float(loss_p), float(loss), rtol=1e-14)
    # the gradient with respect to a positive similarity is -1/tau per anchor (mean over 6 anchors)
    s = torch.tensor(0.3, dtype=torch.float64, requires_grad=True)
    t = torch.tensor(tau, dtype=torch.float64)
    (-s / t).backward()
    np.testing.assert_allclose(float(s.grad), -1 / tau)
    with pytest.raises(ValueError, match="heads"):
        amcl_loss_torch(z1, z2[:2], nets)


@pytest.mark.claim("amcl_study")
def test_chapter_study():
    st = contrastive_study(np.arange(3))
    # weak augmentations: both methods separate positive from negative pairs almost perfectly
    assert np.all(st.auc[:, 0] > 0.95)
    # strong augmentations: the chapter's finding is that AMCL does not separate them better than NT-Xent
    assert st.auc[1, 1].mean() <= st.auc[0, 1].mean() + 0.02
    # the adaptive temperatures stay inside the official bounds
    assert np.all((st.tau_pos[1] > 1e-5) & (st.tau_pos[1] < 2))


@pytest.mark.claim("amcl_loss")
def test_ntxent_against_pytorch_metric_learning():
    pml = pytest.importorskip("pytorch_metric_learning.losses")
    rng = np.random.default_rng(3)
    for n, tau in ((4, 0.5), (16, 0.1)):
        z1 = torch.tensor(rng.standard_normal((n, 8)), requires_grad=True)
        z2 = torch.tensor(rng.standard_normal((n, 8)), requires_grad=True)
        ours = ntxent_loss_torch(z1, z2, tau)
        g1, g2 = torch.autograd.grad(ours, (z1, z2))
        a1 = z1.detach().clone().requires_grad_(True)
        a2 = z2.detach().clone().requires_grad_(True)
        # the peer: one label per image, both views carry it; each anchor's negatives are the other 2n - 2 views
        ref = pml.NTXentLoss(temperature=tau)(torch.cat([a1, a2]), torch.arange(n).repeat(2))
        r1, r2 = torch.autograd.grad(ref, (a1, a2))
        np.testing.assert_allclose(float(ours.detach()), float(ref.detach()), rtol=1e-10)
        np.testing.assert_allclose(g1.numpy(), r1.numpy(), rtol=1e-8, atol=1e-12)
        np.testing.assert_allclose(g2.numpy(), r2.numpy(), rtol=1e-8, atol=1e-12)
