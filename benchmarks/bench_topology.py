"""Cubical barcodes (dimensions 0 and 1) of a random image: lossbook.topology against gudhi and cripser.

All three use the convention of gudhi's ``CubicalComplex(top_dimensional_cells=...)`` (cripser's
``filtration="T"``); ``check`` compares the barcodes, without zero-length intervals, before a ratio is reported.
Single-threaded on both sides.
"""

import cripser
import gudhi
import numpy as np

from benchmarks.harness import Case, Scaling
from lossbook.topology import betti_matching, cubical_barcode


def _sorted(b):
    b = np.asarray(b, dtype=float).reshape(-1, 2)
    b = b[b[:, 0] != b[:, 1]]
    return b[np.lexsort((b[:, 1], b[:, 0]))]


def _ours(f):
    return cubical_barcode(f, 0), cubical_barcode(f, 1)


def _gudhi(f):
    cc = gudhi.CubicalComplex(top_dimensional_cells=f)
    cc.persistence()
    return tuple(_sorted(cc.persistence_intervals_in_dimension(d)) for d in (0, 1))


def _cripser(f):
    r = cripser.compute_ph(f, filtration="T", maxdim=1, location="no")
    return tuple(_sorted(r[r[:, 0] == d][:, 1:3]) for d in (0, 1))


def _check(a, b):
    for x, y in zip(a, b, strict=True):
        np.testing.assert_array_equal(_sorted(x), _sorted(y))


def _cases(n, repeats):
    f = np.random.default_rng(n).random((n, n))
    size = f"{n} x {n} random image, dims 0 and 1"
    return [Case("topology.cubical_barcode", "gudhi CubicalComplex", size, lambda: _ours(f), lambda: _gudhi(f),
                 _check, repeats=repeats, kind="external"),
            Case("topology.cubical_barcode", "cripser compute_ph (T)", size, lambda: _ours(f), lambda: _cripser(f),
                 _check, repeats=repeats, kind="external")]


CASES = _cases(256, 5) + _cases(1024, 3)


def _matching(n):
    rng = np.random.default_rng(n)
    f, g = rng.random((n, n)), rng.random((n, n))
    return lambda: betti_matching(f, g)


# Growth of the Betti matching with the side n of the image: three sorts of N = n^2 pixels and five union-find
# sweeps, so the operation count is taken as N log2 N.
SCALING = [
    Scaling("topology.betti_matching (random images)", "n (side)", (64, 128, 256, 512), _matching,
            lambda n: n * n * np.log2(n * n), repeats=3),
]
