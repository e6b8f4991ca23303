"""Bit allocation and GPTQ: our kernels against a generic convex solver and straightforward code."""

from __future__ import annotations

import heapq

import cvxpy as cp
import numpy as np

from benchmarks.harness import Case
from lossbook.quant import expected_loss, gptq_quantize, hessian_from_inputs, integer_bits, waterfill_bits

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


_M = 1024
_W = 0.05 * _RNG.standard_t(4, size=(_M, _M))
_X = np.exp(_RNG.normal(size=(_M, 1))) * _RNG.normal(size=(_M, 2 * _M))
_H = hessian_from_inputs(_X)


def _straightforward_gptq(W, H, bits, damp=0.01):
    """GPTQ without lazy blocks: after each column, update every remaining column at once."""
    W = W.copy()
    n = W.shape[1]
    Hd = H + damp * np.mean(np.diag(H)) * np.eye(n)
    U = np.linalg.cholesky(np.linalg.inv(Hd)).T
    lo = np.minimum(W.min(axis=1), 0.0)
    hi = np.maximum(W.max(axis=1), 0.0)
    step = (hi - lo) / (2**bits - 1)
    z = np.round(-lo / step)
    Q = np.empty_like(W)
    for j in range(n):
        q = step * (np.clip(np.round(W[:, j] / step) + z, 0, 2**bits - 1) - z)
        Q[:, j] = q
        W[:, j:] -= np.outer((W[:, j] - q) / U[j, j], U[j, j:])
    return Q


def _check_gptq(ours, peer):
    # Different factorisation route: allow round-off, not a different grid point (a flipped rounding
    # moves an entry by a whole step, >= 1e-3 here). Measured: the two outputs are bit-identical.
    diff = np.max(np.abs(ours.Q - peer))
    if diff > 1e-9:
        frac = np.mean(np.abs(ours.Q - peer) > 1e-9)
        raise AssertionError(f"GPTQ outputs differ by up to {diff:.2e} in {frac:.2%} of entries")


CASES = [
    Case("quant.waterfill_bits (numba)", "cvxpy + Clarabel (tol 1e-12)", f"n = {_N}",
         lambda: waterfill_bits(_C, _R, b_max=8), _cvxpy_waterfill, _check_waterfill, repeats=5),
    Case("quant.integer_bits (numba)", "pure-Python heap greedy", f"n = {_N}, b<=8",
         lambda: integer_bits(_C, _R), lambda: _python_greedy(_C, int(_N * _R)), _check_integer),
    Case("quant.gptq_quantize (blocks 128)", "NumPy, rank-1 update per column", f"{_M} x {_M}, 3 bits",
         lambda: gptq_quantize(_W, _H, 3), lambda: _straightforward_gptq(_W, _H, 3), _check_gptq, repeats=3),
]
