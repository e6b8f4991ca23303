"""Row-wise log-sum-exp: the Numba kernel against scipy.special.logsumexp and torch.logsumexp (CPU, float64)."""

import numpy as np
import torch
from scipy.special import logsumexp as scipy_logsumexp

from benchmarks.harness import Case
from lossbook.losses import logsumexp_rows

_Z = np.random.default_rng(0).normal(scale=30.0, size=(20_000, 10))
_ZT = torch.from_numpy(_Z)


def _check(a, b):
    np.testing.assert_allclose(a, b, rtol=1e-12, atol=0)


CASES = [
    Case("losses.logsumexp_rows (numba)", "scipy.special.logsumexp", "20000 x 10",
         lambda: logsumexp_rows(_Z), lambda: scipy_logsumexp(_Z, axis=1), _check, kind="external"),
    # The torch side includes the conversion of its result to NumPy (zero-copy), as a NumPy user would need it.
    Case("losses.logsumexp_rows (numba)", "torch.logsumexp (CPU)", "20000 x 10",
         lambda: logsumexp_rows(_Z), lambda: torch.logsumexp(_ZT, dim=1).numpy(), _check, kind="external"),
]
