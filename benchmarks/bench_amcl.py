"""NT-Xent, value and gradients in both views: lossbook against pytorch-metric-learning's NTXentLoss.

The tool a user would otherwise call for the chapter's baseline loss. AMCL itself has no peer implementation
installed; its own-reference case times the three-head adaptive loss against NT-Xent on the same batch.
"""

import numpy as np
import torch
from pytorch_metric_learning.losses import NTXentLoss

from benchmarks.harness import Case
from lossbook.metric_learning import amcl_loss_torch, ntxent_loss_torch

_rng = np.random.default_rng(0)
_N, _D, _TAU = 128, 128, 0.5  # the peer materialises (positive x negative) pair tensors: 512 exhausts memory
_Z1 = _rng.standard_normal((_N, _D))
_Z2 = _rng.standard_normal((_N, _D))
_PEER = NTXentLoss(temperature=_TAU)
torch.manual_seed(0)
_NETS = [torch.nn.Sequential(torch.nn.Linear(2 * _D, 32), torch.nn.ReLU(), torch.nn.Linear(32, 1)).double()
         for _ in range(3)]


def _ours():
    a, b = torch.tensor(_Z1, requires_grad=True), torch.tensor(_Z2, requires_grad=True)
    v = ntxent_loss_torch(a, b, _TAU)
    v.backward()
    return v.item(), a.grad.numpy(), b.grad.numpy()


def _peer():
    a, b = torch.tensor(_Z1, requires_grad=True), torch.tensor(_Z2, requires_grad=True)
    v = _PEER(torch.cat([a, b]), torch.arange(_N).repeat(2))
    v.backward()
    return v.item(), a.grad.numpy(), b.grad.numpy()


def _amcl():
    a, b = torch.tensor(_Z1, requires_grad=True), torch.tensor(_Z2, requires_grad=True)
    v, _ = amcl_loss_torch([a] * 3, [b] * 3, _NETS, 0.1)
    v.backward()
    return v.item()


def _check(x, y):
    np.testing.assert_allclose(x[0], y[0], rtol=1e-9)
    np.testing.assert_allclose(x[1], y[1], rtol=1e-7, atol=1e-12)
    np.testing.assert_allclose(x[2], y[2], rtol=1e-7, atol=1e-12)


CASES = [
    Case("metric_learning.ntxent_loss_torch (value + grads)", "pytorch-metric-learning NTXentLoss",
         f"batch {_N} x 2 views, d = {_D}", _ours, _peer, _check, repeats=5, kind="external", threads=1),
    Case("metric_learning.amcl_loss_torch (3 heads, value + grads)", "ntxent_loss_torch (same batch)",
         f"batch {_N}, d = {_D}", _amcl, lambda: ntxent_loss_torch(torch.tensor(_Z1), torch.tensor(_Z2), _TAU),
         None, repeats=3, kind="own reference", threads=1),
]
