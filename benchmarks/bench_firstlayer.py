"""TrAct's first-layer update: lossbook.firstlayer against a generic least-squares solve.

The peer is what a user would otherwise call to realise the pre-activation step: ``scipy.linalg.lstsq`` on
the ridge problem written as an ordinary least-squares system ``[X / sqrt(b); sqrt(lam) I] D^T =
[-sqrt(b) grad_z; 0]`` (the oracle of ``tests/firstlayer/test_core.py``). Sizes: a digits MLP batch (b < n,
the dual form), a ViT-style patch embedding (4 x 4 x 3 patches of 64 patches per image, batch 128) and a
ResNet-style first convolution (3 x 3 x 3 patches at 32 x 32 positions, batch 32). A second case per size
measures the overhead over the ordinary gradient ``grad_z^T X`` (our own NumPy reference for that cost).
"""

import numpy as np
import scipy.linalg

from benchmarks.harness import Case
from lossbook.firstlayer import tract_weight_grad

SIZES = [(32, 64, 64, "digits MLP batch"), (8192, 48, 192, "ViT patch embedding"),
         (32768, 27, 64, "ResNet first conv")]


def _data(b, n, m):
    rng = np.random.default_rng(b + n)
    return rng.standard_normal((b, n)), rng.standard_normal((b, m)) / b


def _lstsq(X, gz, lam):
    b, n = X.shape
    A = np.vstack([X / np.sqrt(b), np.sqrt(lam) * np.eye(n)])
    B = np.vstack([-np.sqrt(b) * gz, np.zeros((n, gz.shape[1]))])
    return -scipy.linalg.lstsq(A, B, lapack_driver="gelsd")[0].T


def _cases(b, n, m, label):
    X, gz = _data(b, n, m)

    def check(a, c):
        np.testing.assert_allclose(a, c, rtol=1e-8, atol=1e-8 * np.abs(c).max())

    size = f"{label}: b = {b}, n = {n}, m = {m}"
    return [
        Case("firstlayer.tract_weight_grad", "scipy.linalg.lstsq (ridge as augmented least squares)", size,
             lambda: tract_weight_grad(X, gz, 0.1), lambda: _lstsq(X, gz, 0.1), check, repeats=5,
             kind="external", threads=1),
        Case("firstlayer.tract_weight_grad (overhead)", "ordinary gradient grad_z.T @ X (NumPy)", size,
             lambda: tract_weight_grad(X, gz, 0.1), lambda: gz.T @ X, None, repeats=5,
             kind="own reference", threads=1),
    ]


CASES = [c for s in SIZES for c in _cases(*s)]
