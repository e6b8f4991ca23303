"""Bit allocation and GPTQ: our kernels against a generic convex solver, a plain greedy and a PyTorch GPTQ."""

from __future__ import annotations

import heapq

import cvxpy as cp
import numpy as np
import torch
from scipy import integrate, stats

from benchmarks.gptq_torch import torch_gptq
from benchmarks.harness import Case, Scaling
from lossbook.quant import (
    expected_loss,
    gptq_quantize,
    hessian_from_inputs,
    integer_bits,
    uniform_quantizer_mse,
    waterfill_bits,
)

_RNG = np.random.default_rng(0)
_N = 4096
_C = np.exp(2.0 * _RNG.normal(size=_N))
_C = _C / np.exp(np.mean(np.log(_C)))  # GM 1: the solver's absolute tolerances then mean what they say
_R = 3.0
_LN2 = np.log(2.0)


def _cvxpy_waterfill():
    b = cp.Variable(_N)
    # log-offset form sum exp(log C_j - 2 ln2 b_j): the product form C @ exp(-2 ln2 b) makes Clarabel stall
    # ("InsufficientProgress") for this dispersion (log-std 2) at n = 4096 (measured)
    obj = cp.sum(cp.exp(np.log(_C) - 2 * _LN2 * b))
    prob = cp.Problem(cp.Minimize(obj), [cp.sum(b) == _N * _R, b >= 0, b <= 8])
    prob.solve(solver=cp.CLARABEL, tol_gap_abs=1e-12, tol_gap_rel=1e-12, tol_feas=1e-12, tol_ktratio=1e-10)
    return np.asarray(b.value)


def _check_waterfill(ours, peer):
    err = np.max(np.abs(ours.bits - peer))
    if err > 1e-6:
        raise AssertionError(f"water-filling differs from cvxpy by {err:.2e} bits")


def _python_greedy(C, total, b_max=8):
    """Textbook greedy marginal allocation from zero with a heap (pure Python)."""
    b = [0] * len(C)
    heap = [(-c * 0.75, j) for j, c in enumerate(C)]
    heapq.heapify(heap)
    for _ in range(total):
        g, j = heapq.heappop(heap)
        b[j] += 1
        if b[j] < b_max:
            heapq.heappush(heap, (g / 4.0, j))
    return np.array(b)


def _check_integer(ours, peer):
    a, b = expected_loss(_C, ours.astype(float)), expected_loss(_C, peer.astype(float))
    if ours.sum() != peer.sum() or abs(a - b) > 1e-12 * b:
        raise AssertionError(f"integer allocations differ: {a!r} vs {b!r}")


def _layer(m, n, seed=0):
    """Heavy-tailed weights (Student t, 4 dof) and a Hessian from inputs with log-normal channel scales."""
    rng = np.random.default_rng(seed)
    W = 0.05 * rng.standard_t(4, size=(m, n))
    X = np.exp(rng.normal(size=(n, 1))) * rng.normal(size=(n, 2 * n))
    return W, hessian_from_inputs(X)


def _check_gptq(ours, peer, dtype):
    """Same grid points up to a flipped rounding; the same layer loss to the working precision.

    The two sides factorise H differently (ours: one reversed Cholesky and a triangular inverse; the peer:
    Cholesky, inverse, Cholesky), so an entry that lies within round-off of a rounding boundary may land on
    the neighbouring grid point. Measured in float64: bit-identical outputs at both sizes; in float32 a
    small fraction of flipped entries. The total column loss must agree to 1e-9 (float64) or 1e-3 (float32,
    about 1e4 float32 ulps: each flip changes one column's loss by a fraction of its step).
    """
    Q_peer, loss_peer = peer[0].numpy(), peer[1].numpy().astype(np.float64)
    flipped = np.mean(ours.Q != Q_peer)
    if flipped > (0.0 if dtype == "float64" else 1e-3):
        raise AssertionError(f"{flipped:.3%} of GPTQ outputs differ from the PyTorch peer ({dtype})")
    a, b = ours.column_loss.sum(), loss_peer.sum()
    tol = 1e-9 if dtype == "float64" else 1e-3
    if abs(a - b) > tol * b:
        raise AssertionError(f"total column loss {a!r} vs PyTorch {b!r} ({dtype})")


def _gptq_case(m, n, dtype, threads):
    W, H = _layer(m, n)
    tdt = {"float64": torch.float64, "float32": torch.float32}[dtype]
    Wt, Ht = torch.tensor(W, dtype=tdt), torch.tensor(H, dtype=tdt)
    levels = torch.full((n,), 8)
    return Case("quant.gptq_quantize (blocks 128, numba)", "PyTorch GPTQ (gptq_torch.py)",
                f"{m} x {n} (out x in), 3 bits",
                lambda: gptq_quantize(W, H, 3, dtype=dtype), lambda: torch_gptq(Wt, Ht, levels),
                lambda a, b: _check_gptq(a, b, dtype), repeats=3, kind="external", threads=threads, dtype=dtype)


_MSE_BITS, _MSE_CLIP = 6, 3.0


def _quad_quantizer_mse(bits=_MSE_BITS, c=_MSE_CLIP):
    """Gaussian MSE of the b-bit grid on [-c, c] by adaptive quadrature, cell by cell (what a user would write)."""
    q = np.linspace(-c, c, 2**bits)
    t = np.concatenate([[-np.inf], 0.5 * (q[:-1] + q[1:]), [np.inf]])
    pdf = stats.norm.pdf
    return sum(integrate.quad(lambda x, qk=qk: (x - qk) ** 2 * pdf(x), t[k], t[k + 1], epsabs=0, epsrel=1e-12)[0]
               for k, qk in enumerate(q))


def _check_quantizer_mse(ours, peer):
    if abs(ours.mse - peer) > 1e-9 * peer:
        raise AssertionError(f"uniform_quantizer_mse {ours.mse!r} vs quad {peer!r}")


CASES = [
    Case("quant.uniform_quantizer_mse (gaussian, closed form)", "scipy.integrate.quad per cell (rel 1e-12)",
         f"{_MSE_BITS} bits, c = {_MSE_CLIP} sigma", lambda: uniform_quantizer_mse(_MSE_BITS, _MSE_CLIP, "gaussian"),
         _quad_quantizer_mse, _check_quantizer_mse, repeats=5, kind="external"),
    Case("quant.waterfill_bits (numba)", "cvxpy + Clarabel (tol 1e-12)", f"n = {_N}",
         lambda: waterfill_bits(_C, _R, b_max=8), _cvxpy_waterfill, _check_waterfill, repeats=5, kind="external"),
    Case("quant.integer_bits (numba)", "pure-Python heap greedy", f"n = {_N}, b<=8",
         lambda: integer_bits(_C, _R), lambda: _python_greedy(_C, int(_N * _R)), _check_integer,
         kind="own reference"),
] + [
    _gptq_case(m, n, dtype, threads)
    for (m, n) in ((1024, 1024), (4096, 1024))
    for dtype in ("float64", "float32")
    for threads in (1, 0)
]


def _gptq_scaling(n):
    W, H = _layer(n, n, seed=1)
    return lambda: gptq_quantize(W, H, 3)


# Operation count of gptq_quantize on an n x n layer (m = n outputs): the error feedback of column j reaches
# the n - 1 - j later columns of all m rows (one multiply-add each, in-block or lazily): m n (n - 1) flops;
# the factor of H_lambda^{-1}: Cholesky n^3/3 plus triangular inverse n^3/3 flops; the quantiser O(m n).
SCALING = [
    Scaling("quant.gptq_quantize float64 (n x n, 3 bits)", "n", (256, 512, 1024, 2048), _gptq_scaling,
            lambda n: n * n * (n - 1) + 2 * n**3 / 3 + 10 * n * n),
]
