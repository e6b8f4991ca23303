"""The PyTorch layer's weight gradient is TrAct's; its input and bias gradients are the ordinary ones."""

import numpy as np
import pytest

from lossbook.firstlayer import tract_linear, tract_weight_grad

torch = pytest.importorskip("torch")


@pytest.mark.claim("tract_layer")
@pytest.mark.parametrize("b,n", [(5, 9), (12, 4)])
def test_layer_gradients(b, n):
    torch.manual_seed(0)
    layer = tract_linear(n, 3, lam=0.3, dtype=torch.float64)
    plain = torch.nn.Linear(n, 3, dtype=torch.float64)
    plain.load_state_dict(layer.state_dict())
    x = torch.randn(b, n, dtype=torch.float64, requires_grad=True)
    x2 = x.detach().clone().requires_grad_(True)
    target = torch.randn(b, 3, dtype=torch.float64)
    for mod, inp in ((layer, x), (plain, x2)):
        ((torch.tanh(mod(inp)) - target) ** 2).mean().backward()
    # the output gradient is the same for both (same forward); recover it from the plain layer's bias path
    with torch.no_grad():
        z = plain(x2)
        gz = (2 * (torch.tanh(z) - target) * (1 - torch.tanh(z) ** 2) / (b * 3)).numpy()
    np.testing.assert_allclose(layer.weight.grad.numpy(), tract_weight_grad(x.detach().numpy(), gz, 0.3),
                               rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(plain.weight.grad.numpy(), gz.T @ x.detach().numpy(), rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(layer.bias.grad.numpy(), plain.bias.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(x.grad.numpy(), x2.grad.numpy(), rtol=1e-12)


def test_leading_dimensions_are_rows():
    torch.manual_seed(1)
    layer = tract_linear(4, 2, lam=0.1, dtype=torch.float64)
    x = torch.randn(3, 5, 4, dtype=torch.float64)
    assert layer(x).shape == (3, 5, 2)
    layer(x).sum().backward()
    gz = np.ones((15, 2))
    np.testing.assert_allclose(layer.weight.grad.numpy(), tract_weight_grad(x.reshape(15, 4).numpy(), gz, 0.1),
                               rtol=1e-10)


def test_bad_arguments():
    with pytest.raises(ValueError, match="lam"):
        tract_linear(3, 2, lam=-1.0)
    with pytest.raises(ValueError, match="in_features"):
        tract_linear(0, 2)
    with pytest.raises(TypeError, match="bias"):
        tract_linear(3, 2, bias="yes")
