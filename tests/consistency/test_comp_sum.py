"""The comp-sum losses: symbolic identities, direct-formula agreement, PyTorch/NumPy agreement, gradients."""

import numpy as np
import pytest
import sympy as sp
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from lossbook.consistency import (
    comp_sum_loss,
    comp_sum_loss_all_labels,
    comp_sum_loss_torch,
    conditional_risk,
    phi_tau,
    zero_one_regret,
)

TAUS = [0.0, 0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 1.75, 2.0, 3.0]


@pytest.mark.claim("csh_phi_softmax_identities")
def test_softmax_forms_are_symbolic_identities():
    s, tau = sp.symbols("s tau", positive=True)
    u = 1 / s - 1
    phi = ((1 + u) ** (1 - tau) - 1) / (1 - tau)
    # general form: (1 - s^(tau-1)) / (tau - 1)
    assert sp.simplify(phi - (1 - s ** (tau - 1)) / (tau - 1)) == 0
    table = {0: 1 / s - 1, sp.Rational(1, 2): 2 * (s ** sp.Rational(-1, 2) - 1),
             sp.Rational(3, 2): 2 * (1 - sp.sqrt(s)), 2: 1 - s}
    for t, form in table.items():
        assert sp.simplify(phi.subs(tau, t) - form) == 0, t
    # tau = 1 is log(1 + u) = -log s
    assert sp.simplify(sp.log(1 + u) + sp.log(s)) == 0


@pytest.mark.claim("csh_phi_tau1_limit")
def test_tau_to_one_limit_is_logistic_loss():
    u, tau = sp.symbols("u tau", positive=True)
    phi = ((1 + u) ** (1 - tau) - 1) / (1 - tau)
    assert sp.simplify(sp.limit(phi, tau, 1) - sp.log(1 + u)) == 0
    # and numerically the library is continuous across tau = 1
    uu = np.array([0.0, 0.3, 5.0, 1e3])
    for eps in (1e-4, 1e-7, 1e-9):
        for side in (-1, 1):
            np.testing.assert_allclose(phi_tau(uu, 1 + side * eps), np.log1p(uu), rtol=10 * eps * np.log1p(1e3))


@pytest.mark.parametrize("tau", TAUS)
def test_loss_equals_direct_definition(tau):
    rng = np.random.default_rng(0)
    h = rng.normal(scale=2.0, size=(200, 5))
    y = rng.integers(0, 5, size=200)
    u = np.array([np.sum(np.exp(np.delete(h[i], y[i]) - h[i, y[i]])) for i in range(200)])
    direct = np.log1p(u) if tau == 1 else ((1 + u) ** (1 - tau) - 1) / (1 - tau)
    np.testing.assert_allclose(comp_sum_loss(h, y, tau), direct, rtol=1e-12, atol=1e-14)


def test_loss_is_stable_for_huge_scores():
    h = np.array([[1000.0, 0.0, -1000.0]])
    assert comp_sum_loss(h, [0], 1.0)[0] == pytest.approx(np.exp(-1000.0), abs=1e-300)
    assert comp_sum_loss(h, [1], 1.0)[0] == pytest.approx(1000.0)
    assert comp_sum_loss(h, [2], 2.0)[0] == pytest.approx(1.0)
    assert np.isinf(comp_sum_loss(h, [2], 0.0)[0])  # e^2000 is beyond float range: inf, not NaN


def test_zero_probability_labels_with_infinite_loss_contribute_zero():
    h = np.array([0.0, 0.0, -2000.0])
    assert conditional_risk(h, [0.5, 0.5, 0.0], 0.0) == pytest.approx(1.0)


@pytest.mark.parametrize("tau", TAUS)
def test_torch_loss_equals_numpy_loss(tau):
    rng = np.random.default_rng(1)
    h = rng.normal(scale=3.0, size=(64, 7))
    y = rng.integers(0, 7, size=64)
    ours = comp_sum_loss_torch(torch.from_numpy(h), torch.from_numpy(y), tau).numpy()
    np.testing.assert_allclose(ours, comp_sum_loss(h, y, tau), rtol=1e-13, atol=1e-15)


def test_torch_loss_matches_cross_entropy_and_mae():
    rng = np.random.default_rng(2)
    z = torch.from_numpy(rng.normal(size=(32, 4)))
    y = torch.from_numpy(rng.integers(0, 4, size=32))
    ce = torch.nn.functional.cross_entropy(z, y, reduction="none")
    torch.testing.assert_close(comp_sum_loss_torch(z, y, 1.0), ce, rtol=1e-13, atol=1e-15)
    mae = 1 - torch.softmax(z, 1).gather(1, y[:, None])[:, 0]
    torch.testing.assert_close(comp_sum_loss_torch(z, y, 2.0), mae, rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize("tau", [0.0, 0.5, 1.0, 1.5, 2.0, 3.0])
def test_autograd_matches_finite_differences_and_closed_form_gradient(tau):
    rng = np.random.default_rng(3)
    z = torch.from_numpy(rng.normal(size=(6, 5))).requires_grad_(True)
    y = torch.from_numpy(rng.integers(0, 5, size=6))
    assert torch.autograd.gradcheck(lambda a: comp_sum_loss_torch(a, y, tau), (z,), eps=1e-6, atol=1e-7)
    comp_sum_loss_torch(z, y, tau, reduction="sum").backward()
    # independent: central differences of the NumPy loss (step 1e-6, error O(h^2) ~ 1e-12 + rounding 1e-10)
    zn, yn = z.detach().numpy(), y.numpy()
    fd = np.zeros_like(zn)
    for i in range(zn.shape[0]):
        for k in range(zn.shape[1]):
            e = np.zeros_like(zn)
            e[i, k] = 1e-6
            fd[i, k] = (comp_sum_loss(zn + e, yn, tau).sum() - comp_sum_loss(zn - e, yn, tau).sum()) / 2e-6
    np.testing.assert_allclose(z.grad.numpy(), fd, atol=1e-7)
    # the chapter's gradient formula s_y^(tau-1) (s - e_y)
    s = np.exp(zn - zn.max(1, keepdims=True))
    s /= s.sum(1, keepdims=True)
    sy = s[np.arange(6), yn]
    closed = sy[:, None] ** (tau - 1) * (s - np.eye(5)[yn])
    np.testing.assert_allclose(z.grad.numpy(), closed, rtol=1e-10, atol=1e-12)


def test_phi_is_non_increasing_in_tau():
    u = np.linspace(0, 50, 101)
    vals = np.array([phi_tau(u, t) for t in np.linspace(0, 3, 31)])
    assert np.all(np.diff(vals, axis=0) <= 1e-12)


def test_zero_one_regret_uses_lowest_index_tie_break():
    assert zero_one_regret([1.0, 1.0, 0.0], [0.2, 0.5, 0.3]) == pytest.approx(0.3)
    assert zero_one_regret([0.0, 1.0, 1.0], [0.2, 0.3, 0.5]) == pytest.approx(0.2)


def test_invalid_arguments_name_the_parameter():
    with pytest.raises(ValueError, match="tau"):
        comp_sum_loss([0.0, 1.0], 0, -0.5)
    with pytest.raises(ValueError, match="y must lie"):
        comp_sum_loss([0.0, 1.0], 2, 1.0)
    with pytest.raises(TypeError, match="y must hold integer"):
        comp_sum_loss([0.0, 1.0], 0.5, 1.0)
    with pytest.raises(ValueError, match="p must sum to 1"):
        conditional_risk([0.0, 1.0], [0.5, 0.6], 1.0)
    with pytest.raises(ValueError, match="p entries"):
        conditional_risk([0.0, 1.0], [-0.5, 1.5], 1.0)
    with pytest.raises(ValueError, match="n >= 2"):
        comp_sum_loss_all_labels([1.0], 1.0)
    with pytest.raises(ValueError, match="finite"):
        comp_sum_loss([np.nan, 1.0], 0, 1.0)
    with pytest.raises(ValueError, match="y must lie"):
        comp_sum_loss_torch(torch.zeros(2, 3), torch.tensor([0, 3]), 1.0)
    with pytest.raises(TypeError, match="scores must be a floating-point torch.Tensor"):
        comp_sum_loss_torch(np.zeros((2, 3)), torch.tensor([0, 1]), 1.0)
    with pytest.raises(ValueError, match="scores must have shape"):
        comp_sum_loss_torch(torch.zeros(3), torch.tensor([0, 1, 2]), 1.0)
    with pytest.raises(ValueError, match="y must have shape"):
        comp_sum_loss_torch(torch.zeros(2, 3), torch.tensor([0, 1, 2]), 1.0)
    with pytest.raises(TypeError, match="y must be an integer"):
        comp_sum_loss_torch(torch.zeros(2, 3), torch.tensor([0.0, 1.0]), 1.0)
    with pytest.raises(ValueError, match="finite"):
        comp_sum_loss_torch(torch.tensor([[0.0, float("nan")]]), torch.tensor([0]), 1.0)
    with pytest.raises(ValueError, match="reduction"):
        comp_sum_loss_torch(torch.zeros(2, 3), torch.tensor([0, 1]), 1.0, reduction="avg")


@settings(max_examples=200, deadline=None)
@given(h=arrays(np.float64, st.integers(2, 8), elements=st.floats(-30, 30)),
       shift=st.floats(-100, 100), tau=st.sampled_from(TAUS), data=st.data())
def test_loss_is_shift_invariant_and_a_function_of_the_softmax(h, shift, tau, data):
    y = data.draw(st.integers(0, h.size - 1))
    base = comp_sum_loss(h, y, tau)
    # adding a constant to every score changes nothing (up to rounding of h + shift, |h| <= 130)
    assert comp_sum_loss(h + shift, y, tau) == pytest.approx(base, rel=1e-9, abs=1e-9)
    # and the loss is (1 - s_y^(tau-1)) / (tau-1) of the softmax probability (eq. csh-softmax-form)
    z = h - h.max()
    s_y = np.exp(z[y]) / np.exp(z).sum()
    expected = -np.log(s_y) if tau == 1 else (1 - s_y ** (tau - 1)) / (tau - 1)
    assert base == pytest.approx(expected, rel=1e-9, abs=1e-12)
