"""The chapter's toy: an MLP masked autoencoder on 8 x 8 digits cut into 16 patches of 2 x 2 pixels.

The encoder sees the image with the masked patches set to 0 plus the 16-entry mask, and maps it to a
32-d code; a decoder reconstructs all 64 pixels, and a second head predicts one difficulty score per
patch. The reconstruction loss is the mean squared error over the masked patches; the predictor is
trained with :func:`~lossbook.mim.pairwise_rank_loss` on the *detached* per-patch losses of the masked
patches. Masks are random (MAE) or HPM's easy-to-hard masks computed from an exponential moving
average (EMA) of the model that sees the full image, with ``alpha_t = alpha_max (t + 1) / T`` over
epochs. A linear probe (scikit-learn's logistic regression) on the code of the full image measures
the representation. Sizes, optimiser and epochs are the chapter's choices, not the paper's.
"""

from __future__ import annotations

import copy
import functools
from typing import NamedTuple

import numpy as np

from .._rng import as_generator
from .._torch import require_torch
from .._validate import check_array, check_int, check_real, check_seeds
from ..progress import progress
from .ranking import hpm_mask

__all__ = ["CENTRAL_PATCHES", "MaskingStudy", "digit_patches", "masking_study"]

#: the 8 patches (of the 4 x 4 grid of 2 x 2 patches) in the two central columns: where digits' strokes vary
CENTRAL_PATCHES = (1, 2, 5, 6, 9, 10, 13, 14)


def digit_patches(X) -> np.ndarray:
    """Reorder 8 x 8 images stored as 64-pixel rows into 16 patches of 4 pixels, shape (N, 16, 4).

    Patches are numbered row-major on the 4 x 4 grid.

    Examples
    --------
    >>> digit_patches(np.arange(64.0)[None])[0, 1].tolist()
    [2.0, 3.0, 10.0, 11.0]
    """
    X = check_array(X, "X", ndim=2)
    if X.shape[1] != 64:
        raise ValueError(f"X must have shape (N, 64) (8 x 8 images as rows), got {X.shape}")
    return X.reshape(-1, 4, 2, 4, 2).transpose(0, 1, 3, 2, 4).reshape(-1, 16, 4)


@functools.cache
def _model_class():
    torch = require_torch()
    nn = torch.nn

    class MLPMAE(nn.Module):
        def __init__(self, hidden=128, code=32):
            super().__init__()
            self.enc = nn.Sequential(nn.Linear(64 + 16, hidden), nn.ReLU(), nn.Linear(hidden, code))
            self.dec = nn.Sequential(nn.Linear(code, hidden), nn.ReLU(), nn.Linear(hidden, 64))
            self.pred = nn.Sequential(nn.Linear(code + 16, hidden), nn.ReLU(), nn.Linear(hidden, 16))

        def forward(self, P, mask):
            # P: (B, 16, 4) patches; mask: (B, 16) float, 1 = masked
            visible = (P * (1 - mask)[:, :, None]).reshape(P.shape[0], 64)
            z = self.enc(torch.cat([visible, mask], dim=1))
            rec = self.dec(z).reshape(-1, 16, 4)
            scores = self.pred(torch.cat([z, mask], dim=1))
            return rec, scores, z

    return MLPMAE


class MaskingStudy(NamedTuple):
    """Per-seed results of :func:`masking_study`; arrays (2, R), row 0 random masking, row 1 HPM."""

    seeds: np.ndarray
    spearman: np.ndarray  #: mean over test images of Spearman's rho between scores and realised losses (masked)
    central_coverage: np.ndarray  #: fraction of masked patches in CENTRAL_PATCHES, last epoch's training masks
    probe_accuracy: np.ndarray  #: linear-probe test accuracy on the full-image code
    final_rec_loss: np.ndarray  #: test reconstruction loss under random masks


def _spearman_rows(a, b, valid):
    from scipy.stats import spearmanr

    vals = []
    for x, y, v in zip(a, b, valid, strict=True):
        if v.sum() >= 3 and np.ptp(y[v]) > 0 and np.ptp(x[v]) > 0:
            vals.append(spearmanr(x[v], y[v]).statistic)
    return float(np.mean(vals)) if vals else 0.0


def masking_study(seeds, *, epochs: int = 30, mask_ratio: float = 0.75, alpha_max: float = 0.5,
                  lr: float = 2e-3, ema: float = 0.99, batch_size: int = 64) -> MaskingStudy:
    """Train the MLP-MAE with random masks and with HPM masks on the same data and initialisation.

    Parameters
    ----------
    seeds : array_like of int, shape (R,)
        Non-negative seeds (data split, initialisation, masks, minibatch order), at least one.
    epochs : int, default 30
        In ``[1, 1000]``.
    mask_ratio : float, default 0.75
        In ``(0, 1)``: at least one patch masked and one visible.
    alpha_max : float, default 0.5
        HPM's final fraction of masked patches chosen by score, in ``[0, 1]``.
    lr : float, default 2e-3
        Adam's learning rate, in ``(0, 1]``.
    ema : float, default 0.99
        Decay of the EMA model that produces HPM's scores, in ``[0, 1)``.
    batch_size : int, default 64
        In ``[1, 1257]``.

    Returns
    -------
    MaskingStudy

    Examples
    --------
    >>> st = masking_study([0], epochs=1)
    >>> st.spearman.shape
    (2, 1)
    """
    torch = require_torch()
    from sklearn.linear_model import LogisticRegression

    from ..datasets import load_digits_split
    from ..training import seeded
    from .ranking import n_masked
    from .torch_loss import pairwise_rank_loss_torch

    seeds_arr = check_seeds(seeds)
    epochs = check_int(epochs, "epochs", low=1, high=1000)
    mask_ratio = check_real(mask_ratio, "mask_ratio", low=0.0, high=1.0, low_open=True, high_open=True)
    if not 1 <= n_masked(16, mask_ratio) <= 15:
        raise ValueError(f"mask_ratio must mask between 1 and 15 of the 16 patches, got {mask_ratio}")
    alpha_max = check_real(alpha_max, "alpha_max", low=0.0, high=1.0)
    lr = check_real(lr, "lr", low=0.0, high=1.0, low_open=True)
    ema = check_real(ema, "ema", low=0.0, high=1.0, high_open=True)
    batch_size = check_int(batch_size, "batch_size", low=1, high=1257)
    R = seeds_arr.size
    out = {k: np.empty((2, R)) for k in ("spearman", "central_coverage", "probe_accuracy", "final_rec_loss")}
    central = np.zeros(16, dtype=bool)
    central[list(CENTRAL_PATCHES)] = True
    for j in progress(range(R), desc="HPM seeds"):
        rng = as_generator(int(seeds_arr[j]))
        d = load_digits_split(seed=rng, standardize=False, dtype=np.float32)
        Ptr = torch.from_numpy(digit_patches(d.X_train).astype(np.float32))
        Pte = torch.from_numpy(digit_patches(d.X_test).astype(np.float32))
        init_seed, order_seed, mask_seed, eval_seed = (int(v) for v in rng.integers(0, 2**31 - 1, size=4))
        for m in range(2):
            with seeded(init_seed):
                net = _model_class()()
                ema_net = copy.deepcopy(net)
                opt = torch.optim.Adam(net.parameters(), lr=lr)
                order = np.random.default_rng(order_seed)
                mask_rng = np.random.default_rng(mask_seed)
                coverage = []
                for epoch in range(epochs):
                    alpha = alpha_max * (epoch + 1) / epochs if m == 1 else 0.0
                    perm = order.permutation(Ptr.shape[0])
                    coverage = []
                    for start in range(0, perm.size, batch_size):
                        idx = torch.from_numpy(perm[start:start + batch_size])
                        P = Ptr[idx]
                        if alpha > 0:
                            with torch.no_grad():
                                _, s_full, _ = ema_net(P, torch.zeros(P.shape[0], 16))
                            mk = hpm_mask(s_full.numpy().astype(float), mask_ratio, alpha, seed=mask_rng)
                        else:
                            mk = hpm_mask(np.zeros((P.shape[0], 16)), mask_ratio, 0.0, seed=mask_rng)
                        coverage.append(mk[:, central].sum() / mk.sum())
                        mt = torch.from_numpy(mk.astype(np.float32))
                        rec, scores, _ = net(P, mt)
                        per_patch = ((rec - P) ** 2).mean(dim=2)  # (B, 16)
                        rec_loss = (per_patch * mt).sum() / mt.sum()
                        pred_loss = pairwise_rank_loss_torch(scores, per_patch.detach(), mt > 0)
                        opt.zero_grad()
                        (rec_loss + pred_loss).backward()
                        opt.step()
                        with torch.no_grad():
                            for pe, po in zip(ema_net.parameters(), net.parameters(), strict=True):
                                pe.mul_(ema).add_(po, alpha=1 - ema)
                # evaluation on the test set with random masks
                mk = hpm_mask(np.zeros((Pte.shape[0], 16)), mask_ratio, 0.0, seed=eval_seed)
                mt = torch.from_numpy(mk.astype(np.float32))
                with torch.no_grad():
                    rec, scores, _ = net(Pte, mt)
                    per_patch = ((rec - Pte) ** 2).mean(dim=2).numpy().astype(float)
                    _, _, z_tr = net(Ptr, torch.zeros(Ptr.shape[0], 16))
                    _, _, z_te = net(Pte, torch.zeros(Pte.shape[0], 16))
                out["spearman"][m, j] = _spearman_rows(scores.numpy().astype(float), per_patch, mk)
                out["final_rec_loss"][m, j] = float((per_patch * mk).sum() / mk.sum())
                out["central_coverage"][m, j] = float(np.mean(coverage))
                probe = LogisticRegression(max_iter=500).fit(z_tr.numpy(), d.y_train)
                out["probe_accuracy"][m, j] = float(probe.score(z_te.numpy(), d.y_test))
    return MaskingStudy(seeds_arr, **out)
