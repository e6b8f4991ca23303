"""The PyTorch layers and the exact counts against torch's own numel, optimiser state and FLOP counter."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")
from torch.utils.flop_counter import FlopCounterMode  # noqa: E402

from lossbook.lowrank import (  # noqa: E402
    lost_decomposition,
    lost_linear,
    lowrank_sparse_cost,
    random_support_decomposition,
    random_support_linear,
    rank_for_budget,
)


def _layer(m, n, r, k, seed=0):
    W = np.random.default_rng(seed).standard_normal((m, n))
    d = lost_decomposition(W, r, k)
    return W, d, lost_linear(d.B, d.A, d.channels, d.S, dtype="float64")


@pytest.mark.claim("lost_forward_grad")
def test_forward_and_gradient_equal_the_dense_layer_restricted_to_the_channels():
    W, d, layer = _layer(9, 7, 2, 3)
    x = torch.tensor(np.random.default_rng(1).standard_normal((5, 7)))
    target = torch.tensor(np.random.default_rng(2).standard_normal((5, 9)))
    W_eff = layer.effective_weight().detach()
    S_full = np.zeros_like(W)
    S_full[:, d.channels] = d.S
    np.testing.assert_allclose(W_eff.numpy(), d.B @ d.A + S_full, rtol=0, atol=1e-13)
    y = layer(x)
    torch.testing.assert_close(y, x @ W_eff.T, rtol=0, atol=1e-12)
    # gradient of a loss w.r.t. S equals the dense gradient dL/dW restricted to the columns J,
    # and w.r.t. B and A the chain rule through W = B A (dL/dB = G A^T, dL/dA = B^T G)
    ((y - target) ** 2).sum().backward()
    Wd = W_eff.clone().requires_grad_(True)
    ((x @ Wd.T - target) ** 2).sum().backward()
    G = Wd.grad
    torch.testing.assert_close(layer.S.grad, G[:, layer.channels], rtol=0, atol=1e-11)
    torch.testing.assert_close(layer.B.grad, G @ layer.A.detach().T, rtol=0, atol=1e-11)
    torch.testing.assert_close(layer.A.grad, layer.B.detach().T @ G, rtol=0, atol=1e-11)


def test_random_support_layer_applies_its_sparse_matrix():
    W = np.random.default_rng(3).standard_normal((6, 5))
    d = random_support_decomposition(W, 1, 8, seed=0)
    layer = random_support_linear(d.B, d.A, d.rows, d.cols, d.values, dtype="float64")
    S = np.zeros_like(W)
    S[d.rows, d.cols] = d.values
    np.testing.assert_allclose(layer.effective_weight().detach().numpy(), d.B @ d.A + S, atol=1e-13)
    assert np.linalg.norm(W - d.B @ d.A - S) == pytest.approx(d.error, rel=1e-10)
    x = torch.ones(2, 5, dtype=torch.float64)
    torch.testing.assert_close(layer(x), x @ layer.effective_weight().T)
    assert sum(p.numel() for p in layer.parameters()) == 1 * (6 + 5) + 8


@pytest.mark.claim("lost_params")
@pytest.mark.parametrize(("m", "n", "r", "k", "b"), [(128, 128, 8, 6, 1), (9, 7, 2, 3, 5), (5, 12, 0, 4, 3),
                                                     (6, 4, 4, 0, 2), (1, 1, 1, 1, 1)])
def test_counts_equal_torch_numel_adam_state_and_flop_counter(m, n, r, k, b):
    _, _, layer = _layer(m, n, r, k)
    layer = layer.float()
    cost = lowrank_sparse_cost(m, n, r, k, batch_size=b, itemsize=4)
    params = list(layer.parameters())
    assert cost.parameters == sum(p.numel() for p in params)
    assert cost.parameter_bytes == sum(p.numel() * p.element_size() for p in params)
    assert cost.index_bytes == sum(t.numel() * t.element_size() for t in layer.buffers())
    dense = torch.nn.Linear(n, m, bias=False)
    assert cost.dense_parameters == dense.weight.numel()
    # gradients and Adam's two moments, as PyTorch allocates them after one step
    x = torch.randn(b, n, generator=torch.Generator().manual_seed(0))
    opt = torch.optim.Adam(layer.parameters())
    layer(x).sum().backward()
    opt.step()
    grad_bytes = sum(p.grad.numel() * p.grad.element_size() for p in params)
    moments = sum(v.numel() * v.element_size() for st in opt.state.values() for key, v in st.items()
                  if key in ("exp_avg", "exp_avg_sq"))
    assert cost.gradient_bytes == grad_bytes and cost.adam_bytes == moments
    assert cost.training_bytes == cost.parameter_bytes + cost.index_bytes + grad_bytes + moments
    with FlopCounterMode(display=False) as counter:
        with torch.no_grad():
            layer(x)
    assert cost.forward_flops == counter.get_total_flops()
    with FlopCounterMode(display=False) as counter:
        with torch.no_grad():
            dense(x)
    assert cost.dense_forward_flops == counter.get_total_flops()


def test_rank_for_budget_is_the_largest_fitting_rank_brute_force():
    for m, n, k in [(128, 128, 6), (7, 3, 1), (5, 9, 0)]:
        for budget in range(m * k, m * k + 3 * (m + n) * min(m, n), 7):
            fits = [r for r in range(min(m, n) + 1) if r * (m + n) + m * k <= budget]
            assert rank_for_budget(m, n, budget, k) == max(fits)
    with pytest.raises(ValueError, match="budget"):
        rank_for_budget(10, 10, 5, n_channels=1)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"channels": [0, 0]}, "distinct"),
        ({"channels": [0, 9]}, "channels"),
        ({"channels": [0.0, 1.0]}, "channels"),
        ({"S": np.zeros((3, 1))}, "S"),
        ({"B": np.ones((3, 2))}, "B"),
        ({"S": np.full((3, 2), 1e39)}, "S"),  # beyond the float32 range
        ({"dtype": "float16"}, "dtype"),
    ],
)
def test_lost_linear_refuses_bad_input_naming_it(kwargs, match):
    args = {"B": np.ones((3, 1)), "A": np.ones((1, 4)), "channels": [0, 2], "S": np.zeros((3, 2))}
    args.update(kwargs)
    with pytest.raises((ValueError, TypeError), match=match):
        lost_linear(**args)


def test_random_support_linear_refuses_repeated_or_mismatched_support():
    B, A = np.ones((3, 1)), np.ones((1, 4))
    with pytest.raises(ValueError, match="repeat"):
        random_support_linear(B, A, [0, 0], [1, 1], [1.0, 2.0])
    with pytest.raises(ValueError, match="same length"):
        random_support_linear(B, A, [0, 1], [1], [1.0, 2.0])
    with pytest.raises(ValueError, match="rows"):
        random_support_linear(B, A, [3], [1], [1.0])
