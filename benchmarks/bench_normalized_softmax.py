"""Normalised softmax, value + gradients in embeddings and proxies: lossbook against pytorch-metric-learning.

A separate module from ``bench_metric_learning.py`` so that the chapters of the part can add their peers
without editing one shared file.
"""

import numpy as np
import torch
from pytorch_metric_learning.losses import NormalizedSoftmaxLoss

from benchmarks.harness import Case
from lossbook.metric_learning import normalized_softmax_gradient, normalized_softmax_loss, normalized_softmax_loss_torch

_rng = np.random.default_rng(0)
_N, _C, _D = 512, 100, 128
_Y = _rng.integers(0, _C, _N)
_E = _rng.standard_normal((_N, _D))
_W = _rng.standard_normal((_C, _D))
_PML = NormalizedSoftmaxLoss(num_classes=_C, embedding_size=_D, temperature=0.05)
_PML.W.data = torch.tensor(_W.T.copy())


def _peer():
    E = torch.tensor(_E, requires_grad=True)
    _PML.W.grad = None
    v = _PML(E, torch.as_tensor(_Y))
    v.backward()
    return v.item(), E.grad.numpy(), _PML.W.grad.numpy().T


def _ours_torch():
    E, W = torch.tensor(_E, requires_grad=True), torch.tensor(_W, requires_grad=True)
    v = normalized_softmax_loss_torch(E, W, _Y, temperature=0.05)
    v.backward()
    return v.item(), E.grad.numpy(), W.grad.numpy()


def _ours_numpy():
    gE, gW = normalized_softmax_gradient(_E, _W, _Y, temperature=0.05)
    return normalized_softmax_loss(_E, _W, _Y, temperature=0.05), gE, gW


def _check(a, b):
    assert abs(a[0] - b[0]) <= 1e-12 * abs(b[0])
    np.testing.assert_allclose(a[1], b[1], rtol=1e-9, atol=1e-14)
    np.testing.assert_allclose(a[2], b[2], rtol=1e-9, atol=1e-14)


CASES = [
    Case("metric_learning.normalized_softmax_loss_torch (value+grads)", "pytorch-metric-learning",
         "batch 512 x 128, 100 classes", _ours_torch, _peer, _check, kind="external"),
    Case("metric_learning.normalized_softmax_gradient (NumPy closed form, value+grads)", "pytorch-metric-learning",
         "batch 512 x 128, 100 classes", _ours_numpy, _peer, _check, kind="external"),
]
