"""The FLAT loss and its loss-adjustment weights.

Oracles: the per-divergence table transcribed from the official code (written out here, not taken
from the library), central finite differences, and PyTorch autograd.
"""

import math

import numpy as np
import pytest
import torch

from lossbook.unlearning import DIVERGENCES, flat_loss, flat_loss_torch, flat_weights

# (g(u), f*(g(u))) as listed in the official code's get_contrastive_loss (read at commit 05a6e6a)
TABLE = {
    "KL": (lambda u: u, lambda u: np.exp(u - 1.0)),
    "TV": (lambda u: 0.5 * np.tanh(u), lambda u: 0.5 * np.tanh(u)),
    "JS": (lambda u: math.log(2.0) - np.log1p(np.exp(-u)), lambda u: np.log1p(np.exp(u)) - math.log(2.0)),
    "Pearson": (lambda u: u, lambda u: u * u / 4.0 + u),
}
RNG = np.random.default_rng(0)
PE, PF = RNG.uniform(size=7), RNG.uniform(size=5)


@pytest.mark.parametrize("div", DIVERGENCES)
def test_loss_matches_the_code_table(div):
    g, fg = TABLE[div]
    expected = -np.mean(g(PE)) + np.mean(fg(PF))
    assert flat_loss(PE, PF, div) == pytest.approx(expected, rel=1e-14, abs=1e-15)


@pytest.mark.claim("flat_weights_fd")
@pytest.mark.parametrize("div", DIVERGENCES)
def test_weights_match_central_finite_differences(div):
    w = flat_weights(PE, PF, div)
    h = 1e-6
    for i in range(PE.size):
        up, dn = PE.copy(), PE.copy()
        up[i] += h
        dn[i] -= h
        fd = (flat_loss(up, PF, div) - flat_loss(dn, PF, div)) / (2 * h)
        # central differences: truncation O(h^2) ~ 1e-12, rounding O(eps / h) ~ 1e-10
        assert fd == pytest.approx(-w.template[i] / PE.size, abs=1e-8)
    for j in range(PF.size):
        up, dn = PF.copy(), PF.copy()
        up[j] += h
        dn[j] -= h
        fd = (flat_loss(PE, up, div) - flat_loss(PE, dn, div)) / (2 * h)
        assert fd == pytest.approx(w.forget[j] / PF.size, abs=1e-8)


@pytest.mark.claim("flat_weights_fd")
@pytest.mark.parametrize("div", DIVERGENCES)
def test_torch_loss_and_autograd_agree_with_numpy(div):
    pe = torch.tensor(PE, requires_grad=True)
    pf = torch.tensor(PF, requires_grad=True)
    loss = flat_loss_torch(pe, pf, div)
    loss.backward()
    w = flat_weights(PE, PF, div)
    assert float(loss.detach()) == pytest.approx(flat_loss(PE, PF, div), rel=1e-13, abs=1e-15)
    np.testing.assert_allclose(pe.grad.numpy(), -w.template / PE.size, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(pf.grad.numpy(), w.forget / PF.size, rtol=1e-12, atol=1e-15)


@pytest.mark.claim("flat_weights_bounded")
def test_weights_lie_in_the_stated_intervals_and_ga_weight_is_unbounded():
    u = np.linspace(0.0, 1.0, 1001)
    e = math.e
    sech2 = lambda x: 1.0 / math.cosh(x) ** 2  # noqa: E731
    sig = lambda x: 1.0 / (1.0 + math.exp(-x))  # noqa: E731
    stated = {  # (template interval, forget interval) derived in the chapter
        "KL": ((1.0, 1.0), (1 / e, 1.0)),
        "TV": ((0.5 * sech2(1.0), 0.5), (0.5 * sech2(1.0), 0.5)),
        "JS": ((sig(-1.0), 0.5), (0.5, sig(1.0))),
        "Pearson": ((1.0, 1.0), (1.0, 1.5)),
    }
    for div, ((tl, th), (fl, fh)) in stated.items():
        w = flat_weights(u, u, div)
        assert w.template.min() == pytest.approx(tl, rel=1e-12) and w.template.max() == pytest.approx(th, rel=1e-12)
        assert w.forget.min() == pytest.approx(fl, rel=1e-12) and w.forget.max() == pytest.approx(fh, rel=1e-12)
        assert np.all(w.template > 0) and np.all(w.forget > 0)
    # gradient ascent on log p puts weight 1/p on grad p: beyond any bound as p -> 0
    p = torch.tensor([1e-1, 1e-3, 1e-6], requires_grad=True)
    torch.log(p).sum().backward()
    assert np.all(np.diff(p.grad.numpy()) > 0) and float(p.grad[-1]) == pytest.approx(1e6)


@pytest.mark.parametrize("div", DIVERGENCES)
def test_loss_falls_with_template_and_rises_with_forget_probability(div):
    grid = np.linspace(0.0, 1.0, 11)
    a = [flat_loss([x], [0.5], div) for x in grid]
    b = [flat_loss([0.5], [x], div) for x in grid]
    assert np.all(np.diff(a) < 0) and np.all(np.diff(b) > 0)


@pytest.mark.claim("flat_rkl_code")
def test_code_reverse_kl_entry_moves_the_probabilities_the_wrong_way():
    """The code's reverse-KL entry, g(u) = -exp(u), f*(g(u)) = -1 - u, is a valid f-GAN pair (f*(t) =
    -1 - log(-t)) but g is decreasing, so the loss rises with the template probability."""
    u = np.linspace(0.0, 1.0, 11)
    g = -np.exp(u)
    assert np.allclose(-1.0 - np.log(-g), -1.0 - u)  # the pair is consistent with the RKL conjugate
    def g_code(x):
        return -math.exp(x)

    def fstar_g_code(x):
        return -1.0 - x

    def loss(pe, pf, g=g_code):  # the code's loss: -g(P_e) + f*(g(P_f))
        return -g(pe) + fstar_g_code(pf)

    loss_e = [loss(x, 0.5) for x in u]  # vary P_e at P_f = 0.5
    loss_f = [loss(0.5, x) for x in u]  # vary P_f at P_e = 0.5
    assert np.all(np.diff(loss_e) > 0) and np.all(np.diff(loss_f) < 0)
    # the f-GAN activation -exp(-v) is increasing and gives the right direction on the template side
    loss_e_fgan = [loss(x, 0.5, g=lambda y: -math.exp(-y)) for x in u]
    assert np.all(np.diff(loss_e_fgan) < 0)


def test_refusals_name_the_argument():
    with pytest.raises(ValueError, match="pbar_template"):
        flat_loss([1.2], [0.5])
    with pytest.raises(ValueError, match="pbar_forget"):
        flat_weights([0.5], [[0.5]])
    with pytest.raises(ValueError, match="divergence"):
        flat_loss([0.5], [0.5], "RKL")
    with pytest.raises(TypeError, match="pbar_forget"):
        flat_loss_torch(torch.tensor([0.5]), [0.5])
    with pytest.raises(ValueError, match="pbar_template"):
        flat_loss_torch(torch.tensor([float("nan")]), torch.tensor([0.5]))
