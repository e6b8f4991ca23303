"""Write ``data/gptq_pin.npz``: float64 GPTQ outputs of the implementation as of commit 617361e (main).

Run once, BEFORE the GPTQ kernel was rewritten for speed (issue #19), so that ``test_quant_gptq_pin.py`` can pin the
float64 results of the new kernel to the old one. The inputs are stored, not regenerated, so the pin does not depend on
NumPy's random streams; the calibration inputs are small integers times powers of two with ``N = 256`` samples, so
``H = 2 X X^T / N`` is exact in float64 whatever the BLAS summation order and only ``X`` (int8) needs storing.
Re-running this with later code would pin the code to itself: don't.

    .venv/bin/python tests/quant/make_gptq_pin.py
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from lossbook.quant import gptq_quantize, hessian_from_inputs

OUT = Path(__file__).resolve().parent / "data" / "gptq_pin.npz"
N_SAMPLES = 256


def exact_inputs(rng, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Correlated integer inputs (int8) and per-input power-of-two scales; ``X = 2**k[:, None] * Xi``."""
    Z = rng.normal(size=(n, N_SAMPLES))
    A = rng.normal(size=(n, n)) / np.sqrt(n)
    Xi = np.clip(np.round(12.0 * (0.5 * Z + 0.5 * (A @ Z))), -127, 127).astype(np.int8)
    k = rng.integers(-3, 4, size=n).astype(np.int8)  # input scales spanning 2^-3..2^3: a wide Hessian diagonal
    return Xi, k


def inputs_to_hessian(Xi: np.ndarray, k: np.ndarray) -> np.ndarray:
    return hessian_from_inputs(np.ldexp(Xi.astype(np.float64), k.astype(np.int64)[:, None]))


def cases(data):
    """(name, layer, bits, kwargs); ``data`` holds the layers' ``W``, ``Xi``, ``k``."""
    rng = np.random.default_rng(20261205)
    # layer a: n = 200 > one 128-column block
    Xi, k = exact_inputs(rng, 200)
    data.update({"a/W": 0.05 * rng.standard_t(4, size=(12, 200)), "a/Xi": Xi, "a/k": k})
    # layer b: dead inputs (zero rows of X) and a zero weight row
    Xi, k = exact_inputs(rng, 150)
    Xi[[7, 130]] = 0
    W = 0.05 * rng.standard_t(4, size=(10, 150))
    W[3] = 0.0
    data.update({"b/W": W, "b/Xi": Xi, "b/k": k})
    yield "mixed", "a", np.log2(rng.choice([1, 2, 3, 4, 8, 16], size=200)), {}
    yield "uniform3", "a", np.array(3.0), {}
    yield "group40_block64", "a", np.array(2.0), {"group_size": 40, "block_size": 64}
    yield "dead_zero_row", "b", np.array(4.0), {"damp": 0.05}
    yield "bits1_block16", "b", np.array(1.0), {"block_size": 16}


DEFAULTS = {"damp": 0.01, "block_size": 128, "group_size": -1}


def main():
    data: dict[str, np.ndarray] = {}
    for name, layer, bits, kw in cases(data):
        W, H = data[f"{layer}/W"], inputs_to_hessian(data[f"{layer}/Xi"], data[f"{layer}/k"])
        res = gptq_quantize(W, H, bits, **kw)
        data[f"{name}/layer"] = np.array(layer)
        data[f"{name}/bits"] = bits
        for key, default in DEFAULTS.items():
            data[f"{name}/{key}"] = np.array(kw.get(key, default))
        for field in ("Q", "column_loss", "U_diag", "damping", "dead", "saturated"):
            data[f"{name}/{field}"] = np.asarray(getattr(res, field))
    np.savez_compressed(OUT, **data)
    print(f"wrote {OUT} ({OUT.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
