"""Top Hessian eigenvalue: power iteration on Hessian-vector products against the dense Hessian + eigvalsh.

The peer is what a PyTorch user would otherwise write: ``torch.autograd.functional.hessian`` (one backward
pass per parameter) followed by ``torch.linalg.eigvalsh`` (O(n^3)). Ours needs one double-backward product
per power-iteration step, independent of n: the dense route costs about n backward passes plus n^3/3 flops,
ours about 2k backward passes for k products, so ours wins once n exceeds roughly 2k. k depends on the
eigengap, not on n; each row's size label gives n and the number k of Hessian-vector products our run used,
and the ratio column shows where the ratio crosses 1 (measured: at n = 29 with k = 69 the dense route wins;
from n = 37 on, power iteration wins, by two orders of magnitude at n = 3610). Model: the tanh MLP of
:func:`lossbook.sharpness.flat_mlp` on 300 digits images (10 classes) using the d highest-variance pixels,
hidden width h, at a random initialisation (seed 0). Both sides run in float64 on one thread.
"""

from __future__ import annotations

import numpy as np
import torch
from sklearn.datasets import load_digits

from benchmarks.harness import Case
from lossbook.sharpness import flat_mlp, top_hessian_eigenvalue

_X, _Y = load_digits(return_X_y=True)
_X, _Y = _X[:300] / 16.0, _Y[:300]
_COLS = np.argsort(-_X.var(axis=0), kind="stable")
#: relative tolerance of the Rayleigh quotient; the check below allows 100x that against LAPACK's answer
_TOL = 1e-7


def _problem(d, hidden):
    m = flat_mlp(_X[:, _COLS[:d]], _Y, hidden, seed=0)
    return m.loss_fn, torch.tensor(m.params)


def _ours(loss_fn, w):
    return lambda: top_hessian_eigenvalue(loss_fn, w, max_iter=2000, tol=_TOL, seed=0).eigenvalue


def _peer(loss_fn, w):
    def run():
        H = torch.autograd.functional.hessian(loss_fn, w)
        return float(torch.linalg.eigvalsh(0.5 * (H + H.T))[-1])

    return run


def _check(ours, peer):
    # the Rayleigh quotient converges at twice the rate of the vector; at tol 1e-7 its error is far below 1e-5
    if abs(ours - peer) > 1e-5 * abs(peer):
        raise AssertionError(f"power iteration gives {ours!r}, dense eigvalsh {peer!r}")


CASES = []
for _d, _h in ((8, 1), (16, 1), (64, 1), (64, 4), (64, 16), (64, 48)):
    _f, _w = _problem(_d, _h)
    _k = top_hessian_eigenvalue(_f, _w, max_iter=2000, tol=_TOL, seed=0).hvp_count
    CASES.append(Case("sharpness.top_hessian_eigenvalue", "torch hessian + linalg.eigvalsh",
                      f"n={_w.numel()} (d={_d},h={_h}) k={_k}", _ours(_f, _w), _peer(_f, _w), _check,
                      repeats=3 if _h >= 16 else 5, kind="external", threads=1, dtype="float64"))
