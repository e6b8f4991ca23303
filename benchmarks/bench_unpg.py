"""CosFace and ArcFace, value + gradients in embeddings and proxies: lossbook against pytorch-metric-learning.

A separate module from ``bench_metric_learning.py`` so that the chapters of the part can add their peers
without editing one shared file. UNPG has no peer implementation; its own-reference case times the
appended in-batch negatives against the plain CosFace loss of the same batch.
"""

import numpy as np
import torch
from pytorch_metric_learning.losses import ArcFaceLoss, CosFaceLoss

from benchmarks.harness import Case
from lossbook.metric_learning import margin_softmax_loss, margin_softmax_loss_torch, unpg_loss_torch

_rng = np.random.default_rng(0)
_N, _C, _D = 512, 1000, 128
_Y = _rng.integers(0, _C, _N)
_E = _rng.standard_normal((_N, _D))
_W = _rng.standard_normal((_C, _D))
_M = 0.35
_PEERS = {"cosface": CosFaceLoss(_C, _D, margin=_M, scale=64).double(),
          "arcface": ArcFaceLoss(_C, _D, margin=float(np.degrees(_M)), scale=64).double()}  # degrees
for _p in _PEERS.values():
    _p.W.data = torch.tensor(_W.T.copy())


def _peer(kind):
    def run():
        f = _PEERS[kind]
        E = torch.tensor(_E, requires_grad=True)
        f.W.grad = None
        v = f(E, torch.as_tensor(_Y))
        v.backward()
        return v.item(), E.grad.numpy(), f.W.grad.numpy().T
    return run


def _ours(kind, fn=margin_softmax_loss_torch, **kw):
    def run():
        E, W = torch.tensor(_E, requires_grad=True), torch.tensor(_W, requires_grad=True)
        v = fn(E, W, _Y, margin_type=kind, scale=64.0, margin=_M, **kw)
        v.backward()
        return v.item(), E.grad.numpy(), W.grad.numpy()
    return run


def _check(a, b):
    assert abs(a[0] - b[0]) <= 1e-12 * abs(b[0])
    np.testing.assert_allclose(a[1], b[1], rtol=1e-9, atol=1e-14)
    np.testing.assert_allclose(a[2], b[2], rtol=1e-9, atol=1e-14)


def _check_unpg(a, b):
    assert a[0] >= b[0]  # the appended negatives only add to each denominator (Proposition unpg-prop-appended)


CASES = [
    Case("metric_learning.margin_softmax_loss_torch (CosFace, value+grads)", "pytorch-metric-learning",
         f"batch {_N} x {_D}, {_C} classes", _ours("cosface"), _peer("cosface"), _check, kind="external"),
    Case("metric_learning.margin_softmax_loss_torch (ArcFace, value+grads)", "pytorch-metric-learning",
         f"batch {_N} x {_D}, {_C} classes", _ours("arcface"), _peer("arcface"), _check, kind="external"),
    Case("metric_learning.margin_softmax_loss (CosFace, NumPy value)", "pytorch-metric-learning (value+grads)",
         f"batch {_N} x {_D}, {_C} classes",
         lambda: (margin_softmax_loss(_E, _W, _Y, scale=64.0, margin=_M),), _peer("cosface"),
         lambda a, b: _check_value(a[0], b[0]), kind="external"),
    Case("metric_learning.unpg_loss_torch (CosFace+UNPG, value+grads)", "lossbook CosFace alone",
         f"batch {_N} x {_D}, {_C} classes", _ours("cosface", unpg_loss_torch), _ours("cosface"), _check_unpg,
         kind="own reference"),
]


def _check_value(a, b):
    assert abs(a - b) <= 1e-12 * abs(b)
