"""Row-wise log-sum-exp: the Numba kernel against scipy.special.logsumexp."""

import numpy as np
from scipy.special import logsumexp as scipy_logsumexp

from benchmarks.harness import Case
from lossbook.losses import logsumexp_rows

_Z = np.random.default_rng(0).normal(scale=30.0, size=(20_000, 10))


def _check(a, b):
    np.testing.assert_allclose(a, b, rtol=1e-12, atol=0)


CASES = [
    Case("losses.logsumexp_rows (numba)", "scipy.special.logsumexp", "20000 x 10",
         lambda: logsumexp_rows(_Z), lambda: scipy_logsumexp(_Z, axis=1), _check),
]
