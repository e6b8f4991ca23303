"""Multi-similarity loss with mining, value + gradient: lossbook against pytorch-metric-learning."""

import numpy as np
import torch
from pytorch_metric_learning.losses import MultiSimilarityLoss
from pytorch_metric_learning.miners import MultiSimilarityMiner

from benchmarks.harness import Case
from lossbook.metric_learning import multi_similarity_loss_torch

_rng = np.random.default_rng(0)
_Y = torch.as_tensor(np.repeat(np.arange(128), 4))
_E = torch.tensor(np.repeat(_rng.standard_normal((128, 128)), 4, axis=0) + _rng.standard_normal((512, 128)))
_PML_LOSS, _PML_MINER = MultiSimilarityLoss(), MultiSimilarityMiner(epsilon=0.1)


def _ours():
    E = _E.clone().requires_grad_(True)
    v = multi_similarity_loss_torch(E, _Y)
    v.backward()
    return v.item(), E.grad


def _peer():
    E = _E.clone().requires_grad_(True)
    v = _PML_LOSS(E, _Y, _PML_MINER(E, _Y))
    v.backward()
    return v.item(), E.grad


def _check(a, b):
    assert abs(a[0] - b[0]) <= 1e-12 * abs(b[0])
    torch.testing.assert_close(a[1], b[1], rtol=1e-9, atol=1e-13)


CASES = [
    Case("metric_learning.multi_similarity_loss_torch (mined, value+grad)", "pytorch-metric-learning",
         "batch 512 x 128", _ours, _peer, _check, kind="external"),
]
