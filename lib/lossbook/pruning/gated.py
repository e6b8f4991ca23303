"""A small gated CNN for 8 x 8 digits and the chapter's FTWT study (PyTorch, CPU).

The network is ``conv1 (1 -> 16) -> conv2 (16 -> 32) -> max-pool -> conv3 (32 -> 32) -> average ->
linear``, 3 x 3 kernels with padding 1 and ReLU after each convolution. ``conv2`` and ``conv3`` carry
FTWT gates: a gate reads the layer's *input*, averages it over space and maps it linearly to one logit
per output channel; the channel is kept when the logit is positive (sigmoid above 1/2), and the
layer's output is multiplied by that binary mask. Gates are trained in FTWT's *decoupled* mode: the
gate sees a detached copy of its input, its logits are fitted by binary cross-entropy to the
self-supervised targets of :func:`~lossbook.pruning.mass_target_mask` computed from the layer's own
output in the same forward pass, and the mask applied in the forward pass passes no gradient, so the
task loss trains the backbone and the mask loss trains the gates, with no interaction
(:prf:ref:`ftwt-prop-decoupled`). The layer sizes, the optimiser and the epochs are the chapter's
choices for digits, not the paper's.
"""

from __future__ import annotations

import copy
import functools
from typing import NamedTuple

import numpy as np

from .._rng import SeedLike, as_generator
from .._torch import require_torch
from .._validate import check_array, check_int, check_real, check_seeds
from ..progress import progress
from .flops import ConvShape, network_macs
from .masks import mass_target_mask

__all__ = ["DIGIT_SHAPES", "FTWTStudy", "GatedRun", "gated_digits_cnn", "mask_bce_loss", "run_ftwt",
           "ftwt_study"]

#: (out_h, out_w, k_h, k_w) of conv1, conv2, conv3 of :func:`gated_digits_cnn` on 8 x 8 inputs
DIGIT_SHAPES = (ConvShape(8, 8, 3, 3), ConvShape(8, 8, 3, 3), ConvShape(4, 4, 3, 3))
#: channels of conv1, conv2, conv3
DIGIT_CHANNELS = (16, 32, 32)


def mask_bce_loss(logits, targets, lam: float = 10.0):
    r"""FTWT's mask loss: ``lam`` times the mean over layers of the per-layer BCE, :eq:`ftwt-loss`.

    For each layer the binary cross-entropy with logits is averaged over the batch and **summed** over
    channels (the official code's reduction), then the layers are averaged.

    Parameters
    ----------
    logits : list of torch.Tensor, each (B, C_l)
        Gate logits, finite.
    targets : list of torch.Tensor, each (B, C_l)
        0/1 targets.
    lam : float, default 10.0
        The loss weight :math:`\lambda`, in ``[0, 1e6]``.

    Returns
    -------
    torch.Tensor
        A scalar.

    Examples
    --------
    >>> import torch
    >>> z = [torch.zeros(2, 3)]; t = [torch.ones(2, 3)]
    >>> round(float(mask_bce_loss(z, t, lam=1.0)), 6)   # 3 channels x log 2
    2.079442
    """
    torch = require_torch()
    lam = check_real(lam, "lam", low=0.0, high=1e6)
    if not isinstance(logits, list | tuple) or not isinstance(targets, list | tuple) or not logits:
        raise TypeError("logits and targets must be non-empty lists of tensors")
    if len(logits) != len(targets):
        raise ValueError(f"logits and targets must have one entry per layer, got {len(logits)} and {len(targets)}")
    total = 0.0
    for i, (z, t) in enumerate(zip(logits, targets, strict=True)):
        if not (isinstance(z, torch.Tensor) and isinstance(t, torch.Tensor)):
            raise TypeError(f"logits[{i}] and targets[{i}] must be tensors")
        if z.shape != t.shape or z.ndim != 2:
            raise ValueError(f"logits[{i}] and targets[{i}] must have the same (B, C) shape, got {tuple(z.shape)} "
                             f"and {tuple(t.shape)}")
        if not torch.isfinite(z).all():
            raise ValueError(f"logits[{i}] must be finite")
        if not ((t == 0) | (t == 1)).all():
            raise ValueError(f"targets[{i}] must hold only 0 and 1")
        per = torch.nn.functional.binary_cross_entropy_with_logits(z, t.to(z.dtype), reduction="none")
        total = total + per.mean(dim=0).sum()
    return lam * total / len(logits)


@functools.cache
def _model_class():
    torch = require_torch()
    nn = torch.nn

    class GatedDigitsCNN(nn.Module):
        """See :func:`gated_digits_cnn`."""

        def __init__(self):
            super().__init__()
            c1, c2, c3 = DIGIT_CHANNELS
            self.conv1 = nn.Conv2d(1, c1, 3, padding=1)
            self.conv2 = nn.Conv2d(c1, c2, 3, padding=1)
            self.conv3 = nn.Conv2d(c2, c3, 3, padding=1)
            self.fc = nn.Linear(c3, 10)
            self.gate2 = nn.Linear(c1, c2)
            self.gate3 = nn.Linear(c2, c3)
            self.gated = False  #: apply the gates' masks in forward
            self.r = 1.0  #: mass-rule fraction for the targets

        def forward_all(self, x):
            """Logits and, per gated layer, (gate logits, pre-mask output, applied mask)."""
            h1 = torch.relu(self.conv1(x))
            o2 = torch.relu(self.conv2(h1))
            z2 = self.gate2(h1.detach().mean(dim=(2, 3)))
            m2 = (z2 > 0).to(o2.dtype).detach() if self.gated else torch.ones_like(z2)
            h2 = torch.max_pool2d(o2 * m2[:, :, None, None], 2)
            o3 = torch.relu(self.conv3(h2))
            z3 = self.gate3(h2.detach().mean(dim=(2, 3)))
            m3 = (z3 > 0).to(o3.dtype).detach() if self.gated else torch.ones_like(z3)
            h3 = o3 * m3[:, :, None, None]
            return self.fc(h3.mean(dim=(2, 3))), [(z2, o2, m2), (z3, o3, m3)]

        def forward(self, x):
            return self.forward_all(x)[0]

    return GatedDigitsCNN


def gated_digits_cnn():
    """Build the chapter's CNN for 1 x 8 x 8 inputs with FTWT gates on ``conv2`` and ``conv3``.

    The returned module's ``forward(x)`` gives class logits; ``forward_all(x)`` also returns, for each gated
    layer, the gate logits ``(B, C)``, the layer's output before masking ``(B, C, H, W)`` and the mask
    applied ``(B, C)`` (all ones while ``model.gated`` is False, the dense network). Initialise it inside
    :func:`lossbook.training.seeded` for reproducibility.

    Returns
    -------
    torch.nn.Module

    Examples
    --------
    >>> import torch
    >>> net = gated_digits_cnn()
    >>> net(torch.zeros(2, 1, 8, 8)).shape
    torch.Size([2, 10])
    """
    return _model_class()()


class GatedRun(NamedTuple):
    """One seed of :func:`run_ftwt` (arrays over the ``r`` values)."""

    r: np.ndarray  #: (K,) mass fractions
    dense_accuracy: float  #: test accuracy of the dense network after pre-training
    dense_macs: float  #: MACs per input of the dense network
    estimated_macs: np.ndarray  #: (K,) mean MACs per test input from the dense network's targets
    realised_macs: np.ndarray  #: (K,) mean MACs per test input of the gated network (its own masks)
    gate_accuracy: np.ndarray  #: (K,) fraction of gate decisions equal to the targets (test set)
    test_accuracy: np.ndarray  #: (K,) of the gated network
    target_keep: np.ndarray  #: (K, 2) mean kept fraction of conv2, conv3 by the targets (gated net, test)


def _masks_and_macs(net, X, r):
    torch = require_torch()
    with torch.no_grad():
        logits, layers = net.forward_all(X)
    heat = [np.abs(o.numpy()).max(axis=(2, 3)) for _, o, _ in layers]
    targets = [mass_target_mask(h, r) for h in heat]
    applied = [m.numpy() > 0.5 for _, _, m in layers]
    gate = [z.numpy() > 0 for z, _, _ in layers]
    full1 = np.ones((X.shape[0], DIGIT_CHANNELS[0]), dtype=bool)
    return logits, targets, applied, gate, full1


def run_ftwt(r_values, *, seed: SeedLike, pretrain_epochs: int = 15, gate_epochs: int = 10, lr: float = 3e-3,
             mask_lam: float = 10.0, batch_size: int = 64) -> GatedRun:
    r"""Pre-train the dense CNN on digits, then train gates (decoupled) at each mass fraction ``r``.

    For each ``r`` a copy of the pre-trained network is trained for ``gate_epochs`` with Adam on
    cross-entropy of the gated network plus :func:`mask_bce_loss` (targets from the same forward pass).
    The *estimate* of the MACs is computed before any gate training, from the dense network's targets
    at ``r`` on the test inputs; the *realised* MACs are those of the trained gated network's own masks
    on the same inputs (:eq:`ftwt-macs`, conv1 dense).

    Parameters
    ----------
    r_values : array_like, shape (K,)
        Mass fractions in ``[0, 1]``, at least one.
    seed : int, SeedSequence or Generator
        Data split, initialisation and minibatch order.
    pretrain_epochs, gate_epochs : int, default 15 and 10
        Epochs of each phase, in ``[0, 1000]``.
    lr : float, default 3e-3
        Adam's learning rate for both phases, in ``(0, 1]``.
    mask_lam : float, default 10.0
        Mask-loss weight :math:`\lambda` of :func:`mask_bce_loss`, in ``[0, 1e6]``.
    batch_size : int, default 64
        In ``[1, 1257]``.

    Returns
    -------
    GatedRun

    Examples
    --------
    >>> run = run_ftwt([0.9], seed=0, pretrain_epochs=1, gate_epochs=1)
    >>> bool(run.realised_macs[0] <= run.dense_macs)
    True
    """
    torch = require_torch()
    from ..datasets import load_digits_split
    from ..training import seeded, train

    rs = check_array(r_values, "r_values", ndim=1, low=0.0, high=1.0, min_size=1)
    pretrain_epochs = check_int(pretrain_epochs, "pretrain_epochs", low=0, high=1000)
    gate_epochs = check_int(gate_epochs, "gate_epochs", low=0, high=1000)
    lr = check_real(lr, "lr", low=0.0, high=1.0, low_open=True)
    mask_lam = check_real(mask_lam, "mask_lam", low=0.0, high=1e6)
    batch_size = check_int(batch_size, "batch_size", low=1, high=1257)
    rng = as_generator(seed)
    split_seed, init_seed, order_seed = (int(v) for v in rng.integers(0, 2**31 - 1, size=3))
    d = load_digits_split(seed=split_seed, dtype=np.float32)
    Xtr = torch.from_numpy(d.X_train.reshape(-1, 1, 8, 8))
    ytr = torch.from_numpy(d.y_train)
    Xte = torch.from_numpy(d.X_test.reshape(-1, 1, 8, 8))
    yte = d.y_test
    with seeded(init_seed):
        net = gated_digits_cnn()
    if pretrain_epochs:
        train(net, torch.nn.functional.cross_entropy, Xtr, ytr, epochs=pretrain_epochs, lr=lr, seed=order_seed,
              batch_size=batch_size, optimizer="adam")
    net.eval()
    logits, dense_targets, _, _, full1 = _masks_and_macs(net, Xte, 1.0)
    dense_acc = float(np.mean(logits.argmax(1).numpy() == yte))
    ones = [full1] + [np.ones_like(t) for t in dense_targets]
    dense_macs = float(network_macs(ones, 1, DIGIT_SHAPES).mean())
    K = rs.size
    est, real, gacc, tacc = (np.empty(K) for _ in range(4))
    keep = np.empty((K, 2))
    for k in range(K):
        r = float(rs[k])
        _, targets, _, _, _ = _masks_and_macs(net, Xte, r)
        est[k] = network_macs([full1] + targets, 1, DIGIT_SHAPES).mean()
        gnet = copy.deepcopy(net)
        gnet.gated, gnet.r = True, r
        with seeded(order_seed + 1 + k):
            opt = torch.optim.Adam(gnet.parameters(), lr=lr)
            order_rng = np.random.default_rng(order_seed + 1 + k)
            for _ in range(gate_epochs):
                perm = order_rng.permutation(Xtr.shape[0])
                for start in range(0, perm.size, batch_size):
                    idx = torch.from_numpy(perm[start:start + batch_size])
                    out, layers = gnet.forward_all(Xtr[idx])
                    tg = [torch.from_numpy(mass_target_mask(o.detach().abs().amax(dim=(2, 3)).numpy(), r)
                                           .astype(np.float32)) for _, o, _ in layers]
                    loss = (torch.nn.functional.cross_entropy(out, ytr[idx])
                            + mask_bce_loss([z for z, _, _ in layers], tg, mask_lam))
                    opt.zero_grad()
                    loss.backward()
                    opt.step()
        logits, targets, applied, gate, _ = _masks_and_macs(gnet, Xte, r)
        real[k] = network_macs([full1] + applied, 1, DIGIT_SHAPES).mean()
        gacc[k] = np.mean(np.concatenate([(g == t).ravel() for g, t in zip(gate, targets, strict=True)]))
        tacc[k] = float(np.mean(logits.argmax(1).numpy() == yte))
        keep[k] = [t.mean() for t in targets]
    return GatedRun(rs, dense_acc, dense_macs, est, real, gacc, tacc, keep)


class FTWTStudy(NamedTuple):
    """:func:`ftwt_study` results: arrays (S, K) over seeds and ``r`` values."""

    r: np.ndarray
    seeds: np.ndarray
    dense_accuracy: np.ndarray  #: (S,)
    dense_macs: float
    estimated_macs: np.ndarray
    realised_macs: np.ndarray
    gate_accuracy: np.ndarray
    test_accuracy: np.ndarray
    target_keep: np.ndarray  #: (S, K, 2)


def ftwt_study(r_values, seeds, **kwargs) -> FTWTStudy:
    """:func:`run_ftwt` over several seeds (keyword arguments passed on).

    Parameters
    ----------
    r_values : array_like, shape (K,)
        Mass fractions in ``[0, 1]``.
    seeds : array_like of int, shape (S,)
        Non-negative seeds, at least one.
    **kwargs
        ``pretrain_epochs``, ``gate_epochs``, ``lr``, ``mask_lam``, ``batch_size`` of :func:`run_ftwt`.

    Returns
    -------
    FTWTStudy

    Examples
    --------
    >>> st = ftwt_study([1.0], [0], pretrain_epochs=1, gate_epochs=1)
    >>> st.realised_macs.shape
    (1, 1)
    """
    seeds_arr = check_seeds(seeds)
    runs = [run_ftwt(r_values, seed=int(s), **kwargs) for s in progress(seeds_arr, desc="FTWT seeds")]
    return FTWTStudy(runs[0].r, seeds_arr, np.array([r.dense_accuracy for r in runs]),
                     runs[0].dense_macs, np.stack([r.estimated_macs for r in runs]),
                     np.stack([r.realised_macs for r in runs]), np.stack([r.gate_accuracy for r in runs]),
                     np.stack([r.test_accuracy for r in runs]), np.stack([r.target_keep for r in runs]))
