"""Contracts of lossbook.quant (see tests/contracts/contracts_dsl.py)."""

import numpy as np
from contracts_dsl import (
    CONSTANT,
    EXTREMES,
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

from lossbook.quant import LAWS, hessian_from_inputs

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

class TensorList(Domain):
    """A list of 1-3 floating torch tensors (float64 or float32) at a drawn scale, for ``wdr_loss``/``gpg_loss``.

    ``shape`` names dims (``("n", "K")`` for logits) or is ``None`` (any small shape with >= 2 entries, not
    constant). ``bad`` extra cases: a bare tensor, an empty list, NaN, a constant tensor, an integer tensor.
    """

    def __init__(self, shape=None):
        self.shape = shape

    def valid(self, draw, a):
        import torch

        k = draw(st.integers(1, 3))
        dtype = draw(st.sampled_from([torch.float64, torch.float32]))
        finfo = torch.finfo(dtype)
        out = []
        for _ in range(k):
            shape = (a["n"], a["K"]) if self.shape else tuple(draw(st.lists(st.integers(1, 4), min_size=1,
                                                                              max_size=2)))
            if not self.shape and int(np.prod(shape)) < 2:
                shape = (2,)
            rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
            x = rng.normal(size=shape)
            if not self.shape:
                x.flat[0], x.flat[-1] = 1.0, -1.0  # never constant
            scale = draw(st.sampled_from([v for v in EXTREMES if v * 4 < finfo.max and v >= finfo.tiny]))
            out.append(torch.as_tensor(np.clip(x, -4, 4) * scale, dtype=dtype))
        return out

    def invalid(self, a, name):
        import torch

        shape = (a["n"], a["K"]) if self.shape else (3,)
        good = torch.ones(shape, dtype=torch.float64)
        good.view(-1)[0] = 2.0
        nan = good.clone()
        nan.view(-1)[0] = float("nan")
        bad = [Bad(None, "None"), Bad(good, "a bare tensor, not a list"), Bad([], "an empty list"),
               Bad([nan], "a NaN entry"), Bad([good.long()], "an integer tensor"), Bad("w", "a string"),
               Bad([good.numpy()], "a NumPy array")]
        if self.shape:
            bad.append(Bad([good, torch.ones((a["n"] + 1, a["K"]), dtype=torch.float64)], "shapes that differ"))
            bad.append(Bad([torch.ones(a["K"], dtype=torch.float64)], "1-D logits"))
        else:
            bad += [Bad([torch.ones(4, dtype=torch.float64)], "a constant tensor"),
                    Bad([torch.ones(1, dtype=torch.float64)], "a single entry")]
        return bad


class TorchLabels(Domain):
    """Integer class labels ``(n,)`` in ``[0, K)`` as an int64 torch tensor."""

    def valid(self, draw, a):
        import torch

        y = draw(st.lists(st.integers(0, a["K"] - 1), min_size=a["n"], max_size=a["n"]))
        return torch.as_tensor(np.array(y, dtype=np.int64))

    def invalid(self, a, name):
        import torch

        n, K = a["n"], a["K"]
        return [Bad(None, "None"), Bad(np.zeros(n, dtype=np.int64), "a NumPy array"),
                Bad(torch.zeros(n, dtype=torch.float64), "float labels"),
                Bad(torch.full((n,), K, dtype=torch.int64), "a label equal to K"),
                Bad(torch.full((n,), -1, dtype=torch.int64), "a negative label"),
                Bad(torch.zeros(n + 1, dtype=torch.int64), "a length clash with logits", any_of=("logits",))]


SIGMA = Real(low=0.0, low_open=True, typical=(1e-3, 1e3))
CLIP_RATIO = {ValueError: "sigma"}  # documented: |level| / sigma and clip / sigma at most MAX_CLIP_RATIO

SPECS = {
    "LAWS": CONSTANT,
    "MAX_CLIP_RATIO": CONSTANT,
    "QuantizerMSE": RESULT,
    "grid_quantization_mse": fn(levels=Array(shape=("L",), typical=(-3.0, 3.0)), law=Choice(*LAWS), sigma=SIGMA,
                                dims={"L": (1, 6)}, may_inf=True, may_raise=CLIP_RATIO),
    "uniform_quantizer_mse": fn(bits=Int(1, 12, typical=(1, 8)), clip=Real(low=0.0, low_open=True,
                                                                           typical=(1e-2, 10.0)),
                                law=Choice(*LAWS), sigma=SIGMA, may_inf=True, may_raise=CLIP_RATIO),
    "wdr_loss": fn(weights=TensorList(), kurt_target=Real(1.0, 1e6, typical=(1.0, 10.0)),
                   lam_k=Real(0.0, 1e6, typical=(0.0, 1.0)), lam_s=Real(0.0, 1e6, typical=(0.0, 1.0))),
    "gpg_loss": fn(logits=TensorList(("n", "K")), labels=TorchLabels(), alpha=Real(0.0, 1.0),
                   dims={"n": (1, 4), "K": (2, 5)}, may_inf=True),
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
