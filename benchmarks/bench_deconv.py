"""Wiener deconvolution: lossbook.deconv.wiener_deconv against scikit-image's restoration.wiener.

scikit-image regularises with |K|^2 + balance |R|^2; with R the identity kernel the two compute the same filter,
and ``check`` compares the outputs before a ratio is reported.
"""

import numpy as np
from skimage.restoration import wiener as sk_wiener

from benchmarks.harness import Case
from lossbook.deconv import blur, random_motion_kernel, wiener_deconv

_DELTA = np.zeros((3, 3))
_DELTA[1, 1] = 1.0


def _case(n):
    rng = np.random.default_rng(n)
    x = rng.random((n, n))
    k = random_motion_kernel(15, 40, seed=1)
    y = blur(x, k) + 0.01 * rng.normal(size=x.shape)

    def check(a, b):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-10)

    return Case("deconv.wiener_deconv (NSR 0.01)", "scikit-image restoration.wiener", f"{n} x {n}, 15 x 15 kernel",
                lambda: wiener_deconv(y, k, 0.01), lambda: sk_wiener(y, k, 0.01, reg=_DELTA, clip=False), check,
                repeats=5, kind="external")


CASES = [_case(256), _case(1024)]
