"""Contracts of lossbook.quant (see tests/contracts/contracts_dsl.py)."""

import numpy as np
from contracts_dsl import (
    RESULT,
    Array,
    Bad,
    Bool,
    Choice,
    Domain,
    Int,
    Maybe,
    Obj,
    Real,
    Sampled,
    Seed,
    fn,
)
from hypothesis import strategies as st

from lossbook.quant import hessian_from_inputs

MN = {"m": (1, 4), "n": (1, 5), "N": (1, 6)}
W = Array(shape=("m", "n"), typical=(-3.0, 3.0))
X = Array(shape=("n", "N"), typical=(-3.0, 3.0))
OVERFLOW = {ValueError: "overflow"}  # documented: H = 2XX^T/N or the sensitivities beyond the float range
DAMP = Real(low=0.0, high=1e6, typical=(1e-3, 1.0))
C_POS = Array(shape=("n",), low=0.0, low_open=True, typical=(1e-3, 1e3))
C_NONNEG = Array(shape=("n",), low=0.0, typical=(0.0, 1e3))
SINGULAR = {ValueError: "increase damp"}  # documented: a singular H with (numerically) no damping


class PSDHessian(Domain):
    """A symmetric PSD ``(n, n)`` matrix ``X X^T / N`` at a drawn scale, sometimes with a dead input."""

    def __init__(self, clash=("W", "n")):
        self.clash = clash

    def valid(self, draw, a):
        n = a["n"]
        k = draw(st.integers(1, n + 2))
        rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
        Xs = rng.normal(size=(n, k)) * np.exp(rng.normal(size=(n, 1)))
        if n > 1 and draw(st.booleans()):
            Xs[draw(st.integers(0, n - 1))] = 0.0  # a dead input: H_jj = 0
        scale = draw(st.sampled_from([1e-150, 1e-8, 1.0, 1e8, 1e150]))
        return hessian_from_inputs(Xs) * scale

    def invalid(self, a, name):
        n = a["n"]
        eye = np.eye(n)
        nan = eye.copy()
        nan[0, 0] = np.nan
        bad = [Bad(None, "None"), Bad("H", "a string"), Bad(nan, "a NaN entry"), Bad(-eye, "negative definite"),
               Bad(np.ones(n), "1-D")]
        if self.clash:
            bad.append(Bad(np.eye(n + 1), "a shape clash with W", any_of=self.clash))
        if n > 1:
            ns = eye.copy()
            ns[0, 1] = 0.5
            bad.append(Bad(ns, "not symmetric"))
        return bad


class Bits(Domain):
    """Per-column bits ``b >= 0`` with ``2**b`` an integer: a scalar or an ``(n,)`` array."""

    def __init__(self, high=16):
        self.high = high

    def valid(self, draw, a):
        n = a["n"]
        kind = draw(st.sampled_from(["int", "float", "log2", "array", "list"]))
        if kind == "int":
            return draw(st.integers(0, self.high))
        if kind == "float":
            return float(draw(st.integers(0, self.high)))
        if kind == "log2":
            return float(np.log2(draw(st.integers(1, 2**8))))
        b = np.array(draw(st.lists(st.integers(0, 8), min_size=n, max_size=n)), dtype=float)
        return b.tolist() if kind == "list" else b

    def invalid(self, a, name):
        n = a["n"]
        return [Bad(-1.0, "negative"), Bad(0.5, "2**b not an integer"), Bad(np.nan, "NaN"), Bad(None, "None"),
                Bad(np.full(n + 1, 3.0), "wrong length", any_of=("n", "W", "H")), Bad("3", "a string")]


def _mlp(a):
    rng = np.random.default_rng(0)
    return [rng.normal(size=(4, 3)), rng.normal(size=(2, 4))]


def _biases(a):
    return [np.zeros(4), np.zeros(2)]


def _avg_bits_integer(a):
    return Sampled([1.0, 2.0, 3.0, 8.0], bad=(-1.0, 9.0, np.nan))


AVG_INT = Sampled([0.0, 1.0, 2.0, 3.0, 8.0], bad=(-1.0, np.nan, "3"))

SPECS = {
    "BAQResult": RESULT,
    "GPTQResult": RESULT,
    "KKTResiduals": RESULT,
    "MLPQuantResult": RESULT,
    "WaterfillResult": RESULT,
    "hessian_from_inputs": fn(X=X, dims=MN, may_raise=OVERFLOW),
    "layer_loss": fn(W=W, Q=W, X=X, dims=MN, may_inf=True),
    "rtn_quantize": fn(W=Array(shape=("m", "n"), typical=(-3.0, 3.0)), bits=Bits(), dims=MN),
    "inverse_hessian_factor": fn(H=PSDHessian(clash=()), damp=DAMP,
                                 dtype=Choice("float64", "float32"), dims=MN, may_raise=SINGULAR),
    "gptq_quantize": fn(W=W, H=PSDHessian(), bits=Bits(), damp=DAMP,
                        block_size=Int(1, typical=(1, 8)), group_size=Sampled([None, 1, 2, 3], bad=(0, -1, 1.5)),
                        dtype=Choice("float64", "float32"), engine=Choice("numba", "numpy"), dims=MN,
                        engines=True, may_inf=True, may_raise={ValueError: "increase damp|float32 range"}),
    "analytic_sensitivity": fn(W=W, H=PSDHessian(), damp=DAMP, dims=MN, may_inf=True,
                                 may_raise=SINGULAR),
    "closed_form_interior": fn(C=C_POS, avg_bits=Real(typical=(0.0, 8.0)), dims=MN),
    "expected_loss": fn(C=C_NONNEG, bits=Array(shape=("n",), typical=(0.0, 8.0)), dims=MN, may_inf=True),
    "gm_am_gain": fn(C=C_POS, dims=MN),
    "waterfill_bits": fn(C=C_NONNEG, b_min=Sampled([0.0, 1.0], bad=(-1.0, np.nan)),
                         b_max=Sampled([8.0, None], bad=(np.nan, "8")),
                         avg_bits=Real(lambda a: a["b_min"], lambda a: a["b_max"], typical=(0.0, 8.0)),
                         engine=Choice("numba", "numpy"), dims=MN, engines=True),
    "integer_bits": fn(C=C_NONNEG, avg_bits=AVG_INT, b_min=Sampled([0], bad=(-1, 1.5)),
                       b_max=Sampled([8, 16], bad=(33, 1.5)), engine=Choice("numba", "numpy"), dims=MN,
                       engines=True),
    "kkt_residuals": fn(C=C_NONNEG, bits=Array(shape=("n",), typical=(0.0, 8.0)), may_inf=True,
                        avg_bits=Real(0.0, 8.0), theta=Real(low=0.0, low_open=True, typical=(1e-3, 10.0)),
                        b_min=Sampled([0.0]), b_max=Sampled([8.0]), dims=MN),
    "official_levels": fn(column_loss=C_NONNEG, ref_bits=Real(0.0, 30.0, typical=(0.0, 8.0)),
                          exponent=Real(low=0.0, low_open=True, typical=(0.5, 3.0)),
                          eps=Real(low=0.0, low_open=True, typical=(1e-10, 1e-2)),
                          live_mask=Sampled([None], bad=("mask",)), dims=MN,
                          may_raise={ValueError: "exceed 2"}),  # documented: level counts beyond int64
    "synthetic_layer": fn(m=Int(1, typical=(1, 6)), n=Int(1, typical=(1, 6)), N=Int(1, typical=(1, 10)),
                          sigma=Real(low=0.0, high=100.0, typical=(0.0, 2.0)), seed=Seed(),
                          mixing=Real(0.0, 1.0)),
    "baq_quantize": fn(W=W, X=X, avg_bits=AVG_INT, integer=Bool(), sensitivity=Choice("measured", "analytic"),
                       dims=MN, weight=0.5, may_raise={ValueError: "overflow|increase damp"}),
    "relu_mlp_forward": fn(weights=Obj(_mlp), biases=Obj(_biases),
                           X=Array(shape=("N", 3), typical=(-3.0, 3.0)), dims=MN,
                           may_raise={FloatingPointError: "float range|overflow"}),
    "quantize_relu_mlp": fn(weights=Obj(_mlp), biases=Obj(_biases),
                            X_calib=Array(shape=("N", 3), typical=(-3.0, 3.0)),
                            avg_bits=AVG_INT, method=Choice("baq", "gptq", "rtn", "baq-official"),
                            damp=DAMP,
                            b_max=Sampled([8], bad=(25, -1)), dims=MN, weight=0.5,
                            may_raise={ValueError: "overflow|increase damp", FloatingPointError: "overflow"}),
}
_ = (Maybe, _avg_bits_integer, DAMP)
