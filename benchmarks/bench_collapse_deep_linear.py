"""Deep-linear objective: Numba value-and-gradient kernel against PyTorch autograd (CPU, float64).

Same parameters, same objective (MSE and cross-entropy, depth 3, last-layer bias); ``check``
compares the values and the full gradients before a ratio is reported. Both sides run with the same
thread count (1 and 2), set by the harness for PyTorch, Numba and the BLAS our kernel calls (SciPy's
OpenBLAS, through threadpoolctl) outside the timed calls.
"""

import numpy as np
import torch

from benchmarks.harness import Case
from lossbook.collapse._deep_linear_kernels import LOSS_CODES, _value_and_grad_numba, n_params

D, K, DEPTH = 64, 4, 3
COUNTS = np.array([200, 100, 50, 50])
N = int(COUNTS.sum())
LABELS = np.repeat(np.arange(K), COUNTS)
LAM = np.full(DEPTH, 5e-4)
LAM_H = 5e-4
THETA = 0.1 * np.random.default_rng(0).standard_normal(n_params(D, N, K, DEPTH, True))


def _ours(code):
    def run():
        return _value_and_grad_numba(THETA, D, N, K, DEPTH, LABELS, LAM, LAM_H, True, code)

    return run


def _torch(loss):
    th = torch.tensor(THETA, dtype=torch.float64)
    lab = torch.tensor(LABELS)
    y = torch.nn.functional.one_hot(lab, K).T.to(torch.float64)

    def run():
        t = th.clone().requires_grad_(True)
        o = 0
        ht = t[o:o + D * N].view(D, N)
        o += D * N
        ws = []
        for _ in range(DEPTH - 1):
            ws.append(t[o:o + D * D].view(D, D))
            o += D * D
        ws.append(t[o:o + K * D].view(K, D))
        o += K * D
        bt = t[o:o + K]
        z = ht
        for w in ws:
            z = w @ z
        z = z + bt[:, None]
        if loss == "mse":
            f = 0.5 * ((z - y) ** 2).sum() / N
        else:
            f = torch.nn.functional.cross_entropy(z.T, lab)
        f = f + sum(0.5 * float(lm) * (w**2).sum() for lm, w in zip(LAM, ws, strict=True))
        f = f + 0.5 * LAM_H * (ht**2).sum()
        f.backward()
        return float(f.detach()), t.grad.numpy()

    return run


def _check(a, b):
    assert abs(a[0] - b[0]) <= 1e-12 * max(1.0, abs(b[0])), (a[0], b[0])
    np.testing.assert_allclose(a[1], b[1], rtol=1e-9, atol=1e-13)


CASES = [
    Case(f"collapse.deep_linear value+grad {name.upper()}", "torch autograd (CPU)", f"d={D} N={N} M={DEPTH}",
         _ours(LOSS_CODES[name]), _torch(name), _check, repeats=21, kind="external", threads=threads)
    for threads in (1, 2)
    for name in ("mse", "ce")
]
