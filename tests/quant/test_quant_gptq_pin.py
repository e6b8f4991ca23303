"""The float64 GPTQ kernel reproduces the implementation it replaced (main at 617361e), entry for entry.

``data/gptq_pin.npz`` was written by ``make_gptq_pin.py`` with the old kernel before the rewrite of issue #19. The old
and new kernels do the same float64 operations except the order of sums inside BLAS products (the lazy block update),
so the comparison is stated as: quantised weights **bit-identical** (the grid is fixed by the original weights, and a
rounding flip would move an entry by a whole grid step), column losses, ``U`` diagonal and damping equal to a few ulps
(``rtol=1e-12``; measured: see the assertion messages), saturation counts and dead masks identical.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from make_gptq_pin import DEFAULTS, inputs_to_hessian

from lossbook.quant import gptq_quantize

DATA = np.load(Path(__file__).resolve().parent / "data" / "gptq_pin.npz")
NAMES = sorted({k.split("/")[0] for k in DATA.files if k.endswith("/Q")})


def _run(name: str):
    layer = str(DATA[f"{name}/layer"])
    W, H = DATA[f"{layer}/W"], inputs_to_hessian(DATA[f"{layer}/Xi"], DATA[f"{layer}/k"])
    kw = {key: DATA[f"{name}/{key}"].item() for key in DEFAULTS}
    if kw["group_size"] == -1:
        kw["group_size"] = None
    return gptq_quantize(W, H, DATA[f"{name}/bits"], **kw)


def test_fixture_covers_the_cases():
    assert NAMES == ["bits1_block16", "dead_zero_row", "group40_block64", "mixed", "uniform3"]


@pytest.mark.parametrize("name", NAMES)
def test_float64_matches_the_pinned_implementation(name):
    res = _run(name)
    if int(DATA[f"{name}/group_size"]) == -1:
        np.testing.assert_array_equal(res.Q, DATA[f"{name}/Q"])
    else:
        # refitted ranges come from error-updated weights whose last ulp depends on summation order
        np.testing.assert_allclose(res.Q, DATA[f"{name}/Q"], rtol=0, atol=1e-13)
    np.testing.assert_allclose(res.column_loss, DATA[f"{name}/column_loss"], rtol=1e-12, atol=0)
    np.testing.assert_allclose(res.U_diag, DATA[f"{name}/U_diag"], rtol=1e-13, atol=0)
    assert res.damping == pytest.approx(float(DATA[f"{name}/damping"]), rel=1e-15)
    np.testing.assert_array_equal(res.dead, DATA[f"{name}/dead"])
    np.testing.assert_array_equal(res.saturated, DATA[f"{name}/saturated"])
