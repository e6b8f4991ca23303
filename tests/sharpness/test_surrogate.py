"""SAF's trajectory surrogate: zero at equal outputs, non-negative, gradient against finite differences."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lossbook.sharpness import MAX_LOGIT, trajectory_kl


def _logits(seed, n=4, k=5, scale=3.0):
    return scale * np.random.default_rng(seed).standard_normal((n, k))


@pytest.mark.claim("saf_kl_properties")
def test_zero_when_outputs_equal_up_to_a_row_shift():
    z = _logits(0)
    assert trajectory_kl(z, z).value == 0.0
    # softmax ignores a constant added to a row, so the KL does too (rounding only)
    shift = np.arange(4.0)[:, None] * 7.0
    assert trajectory_kl(z + shift, z).value < 1e-12
    assert np.max(np.abs(trajectory_kl(z, z).grad)) == 0.0


@pytest.mark.claim("saf_kl_properties")
@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), tau=st.floats(1e-2, 1e2), scale=st.floats(1e-3, 1e3))
def test_nonnegative_on_random_outputs(seed, tau, scale):
    rng = np.random.default_rng(seed)
    z, z_old = scale * rng.standard_normal((3, 4)), scale * rng.standard_normal((3, 4))
    assert trajectory_kl(z, z_old, tau).value >= 0.0


@pytest.mark.claim("saf_kl_gradient")
@pytest.mark.parametrize("tau", [0.5, 1.0, 5.0])
def test_gradient_matches_central_differences(tau):
    z, z_old = _logits(1), _logits(2)
    r = trajectory_kl(z, z_old, tau)
    h = 1e-5
    fd = np.zeros_like(z)
    for idx in np.ndindex(z.shape):
        e = np.zeros_like(z)
        e[idx] = h
        fd[idx] = (trajectory_kl(z + e, z_old, tau).value - trajectory_kl(z - e, z_old, tau).value) / (2 * h)
    # central differences: truncation ~ h^2 * |third derivative| (< 1e-9 here, tau >= 0.5, logits O(3))
    # plus rounding ~ 1e-16 * value / h ~ 1e-10
    np.testing.assert_allclose(r.grad, fd, atol=1e-8)


@pytest.mark.claim("saf_kl_gradient")
def test_torch_autograd_matches_closed_form_gradient():
    torch = pytest.importorskip("torch")
    from lossbook.sharpness import trajectory_kl_torch

    z, z_old = _logits(3), _logits(4)
    zt = torch.tensor(z, requires_grad=True)
    loss = trajectory_kl_torch(zt, torch.tensor(z_old), 5.0)
    loss.backward()
    r = trajectory_kl(z, z_old, 5.0)
    assert float(loss.detach()) == pytest.approx(r.value, rel=1e-12)
    np.testing.assert_allclose(zt.grad.numpy(), r.grad, rtol=1e-10, atol=1e-15)


def test_second_order_expansion_in_the_logit_change():
    # tau^2 KL ~ 1/2 d^T (diag p - p p^T) d / ... with d = z - z_old (chapter, eq. saf-kl-quadratic)
    z_old = _logits(5, n=1)
    d = 1e-4 * _logits(6, n=1)
    tau = 2.0
    p = np.exp(z_old[0] / tau - np.max(z_old[0] / tau))
    p /= p.sum()
    C = np.diag(p) - np.outer(p, p)
    quad = 0.5 * d[0] @ C @ d[0]
    # relative remainder is O(|d|/tau) ~ 1e-4
    assert trajectory_kl(z_old + d, z_old, tau).value == pytest.approx(quad, rel=1e-3)


def test_extreme_logits_stay_finite():
    z = np.array([[MAX_LOGIT, -MAX_LOGIT, 0.0]])
    r = trajectory_kl(z, z[:, ::-1], tau=1e-6)
    assert np.isfinite(r.value) and np.all(np.isfinite(r.grad))


@pytest.mark.parametrize(("kwargs", "name"), [
    ({"logits": np.zeros((2, 3)), "past_logits": np.zeros((2, 4))}, "past_logits"),
    ({"logits": np.zeros((2, 3)), "past_logits": np.zeros((2, 3)), "tau": 0.0}, "tau"),
    ({"logits": np.full((1, 2), np.nan), "past_logits": np.zeros((1, 2))}, "logits"),
    ({"logits": np.zeros(3), "past_logits": np.zeros(3)}, "logits"),
])
def test_bad_input_names_the_argument(kwargs, name):
    with pytest.raises(ValueError, match=name):
        trajectory_kl(**kwargs)
