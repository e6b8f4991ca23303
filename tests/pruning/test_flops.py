"""MAC counts against PyTorch's FlopCounterMode on physically pruned layers and networks."""

import numpy as np
import pytest

from lossbook.pruning import DIGIT_SHAPES, ConvShape, gated_conv_macs, gated_digits_cnn, network_macs

torch = pytest.importorskip("torch")
from torch.utils.flop_counter import FlopCounterMode  # noqa: E402


def _count(fn):
    with FlopCounterMode(display=False) as fc:
        fn()
    return fc.get_total_flops()


@pytest.mark.claim("ftwt_macs")
@pytest.mark.parametrize("kin,kout,hw", [(1, 16, 8), (16, 32, 8), (7, 3, 4), (0, 5, 4), (32, 0, 8)])
def test_layer_macs_equal_flop_counter(kin, kout, hw):
    # FlopCounterMode counts 2 FLOPs per multiply-accumulate of a convolution
    conv = torch.nn.Conv2d(kin, kout, 3, padding=1, bias=False)
    x = torch.randn(1, kin, hw, hw)
    flops = _count(lambda: conv(x)) if kin and kout else 0
    assert 2 * gated_conv_macs(kin, kout, ConvShape(hw, hw, 3, 3)) == flops


@pytest.mark.claim("ftwt_macs")
def test_network_macs_equal_flop_counter_on_the_pruned_network():
    torch.manual_seed(0)
    net = gated_digits_cnn()
    net.gated = True
    with torch.no_grad():
        net.gate2.bias.copy_(torch.randn(32))  # some channels on, some off, varying with the input
        net.gate3.bias.copy_(torch.randn(32))
        x = torch.randn(6, 1, 8, 8)
        logits, layers = net.forward_all(x)
    masks = [np.ones((6, 16), bool)] + [m.numpy() > 0.5 for _, _, m in layers]
    ours = network_macs(masks, 1, DIGIT_SHAPES)
    for b in range(6):
        k2 = torch.from_numpy(np.flatnonzero(masks[1][b]))
        k3 = torch.from_numpy(np.flatnonzero(masks[2][b]))
        c2 = torch.nn.Conv2d(16, k2.numel(), 3, padding=1)
        c3 = torch.nn.Conv2d(k2.numel(), k3.numel(), 3, padding=1)
        with torch.no_grad():
            c2.weight.copy_(net.conv2.weight[k2]); c2.bias.copy_(net.conv2.bias[k2])  # noqa: E702
            c3.weight.copy_(net.conv3.weight[k3][:, k2]); c3.bias.copy_(net.conv3.bias[k3])  # noqa: E702

        def pruned(xb=x[b:b + 1], c2=c2, c3=c3, k2=k2, k3=k3):
            h1 = torch.relu(net.conv1(xb))
            h2 = torch.max_pool2d(torch.relu(c2(h1)), 2) if k2.numel() else torch.zeros(1, 0, 4, 4)
            h3 = torch.relu(c3(h2)) if k3.numel() and k2.numel() else torch.zeros(1, k3.numel(), 4, 4)
            feat = torch.zeros(1, 32)
            feat[0, k3] = h3.mean(dim=(2, 3))[0]
            return net.fc(feat)

        with torch.no_grad():
            flops = _count(pruned)
            out = pruned()
        conv_flops = flops - 2 * 32 * 10  # FlopCounterMode also counts the final linear layer (32 x 10 MACs)
        assert 2 * ours[b] == conv_flops
        torch.testing.assert_close(out[0], logits[b], rtol=1e-5, atol=1e-6)  # slicing = masking


@pytest.mark.claim("ftwt_covariance")
def test_mean_macs_is_product_of_means_plus_covariance():
    rng = np.random.default_rng(0)
    m1 = rng.random((500, 16)) < rng.uniform(0.2, 0.9, (500, 1))   # input-dependent keep rates
    m2 = (rng.random((500, 32)) < 0.5) & (m1[:, :1] | (rng.random((500, 1)) < 0.3))
    s = [ConvShape(8, 8, 3, 3), ConvShape(8, 8, 3, 3)]
    total = network_macs([m1, m2], 1, s).mean()
    k1, k2 = m1.sum(1).astype(float), m2.sum(1).astype(float)
    c = 8 * 8 * 9
    product_of_means = c * k1.mean() + c * k1.mean() * k2.mean()
    cov = np.mean((k1 - k1.mean()) * (k2 - k2.mean()))
    np.testing.assert_allclose(total, product_of_means + c * cov, rtol=1e-12)
    assert abs(cov) * c > 0.01 * total  # the covariance term is not negligible here


def test_bad_arguments():
    with pytest.raises(TypeError, match="shape"):
        gated_conv_macs(1, 1, (8, 8, 3, 3))
    with pytest.raises(ValueError, match="kept_in"):
        gated_conv_macs(-1, 1, ConvShape(8, 8, 3, 3))
    with pytest.raises(ValueError, match="whole"):
        gated_conv_macs(1.5, 1, ConvShape(8, 8, 3, 3))
    with pytest.raises(ValueError, match="k_h"):
        ConvShape(8, 8, 0, 3)
    with pytest.raises(ValueError, match="shapes"):
        network_macs([np.ones((2, 3), bool)], 1, [])
    with pytest.raises(TypeError, match="masks"):
        network_macs([np.ones((2, 3))], 1, [ConvShape(1, 1, 1, 1)])
