"""A small language for the robustness contract of every public name of :mod:`lossbook`.

A spec file ``tests/contracts/specs/<subpackage>.py`` defines ``SPECS``, a dict from each name in
the subpackage's ``__all__`` to its declaration::

    SPECS = {
        "bound_T": fn(t=Array(low=0, high=1), tau=Real(low=0), n=Int(low=2, typical=(2, 50))),
        "softmax": fn(z=Array(shape=("m", "k")), axis=Int(-2, 1), dims={"m": (0, 4), "k": (1, 5)}),
        "TightInstance": RESULT,          # a NamedTuple result class
        "TAU_ONE_TOL": CONSTANT,          # a module constant
        "LogBarrierPolicyOptimizer": CLASS(fn(c_eta=Real(low=0, low_open=True))),   # constructor args
    }

Each argument domain draws *valid* values (boundary values, extreme magnitudes from 5e-324 to
1.7e308 inside the domain, float32 and integer variants, lists) and lists *invalid* ones (NaN, inf,
out of range, wrong type, wrong number of dimensions, shapes that disagree with another argument,
sizes above the documented limit). The suite (``test_contracts.py``) then asserts: a valid call
returns finite values (or ``inf`` where the spec says so and the docstring mentions it), an invalid
call raises ``ValueError`` or ``TypeError`` whose message names the argument, and no call takes
longer than ``LOSSBOOK_CONTRACT_SECONDS``. ``LOSSBOOK_CONTRACT_EXAMPLES`` sets how many valid
draws each function gets (the one knob for the suite's run time).

A bound may be a callable of the arguments drawn so far (``high=lambda a: a["R"]``); ``a`` also
holds the sizes of ``dims``. Arguments are drawn in the order written, after the dims.
"""

from __future__ import annotations

import math
import os
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from hypothesis import strategies as st

#: valid draws per function (scaled by each spec's ``weight``); the suite's run time knob
EXAMPLES = int(os.environ.get("LOSSBOOK_CONTRACT_EXAMPLES", "10"))
#: longest a single call may take, seconds (a call over it is timed again once, to forgive compilation)
TIME_LIMIT = float(os.environ.get("LOSSBOOK_CONTRACT_SECONDS", "10"))

#: magnitudes every real domain tries, with both signs where the domain allows
EXTREMES = (5e-324, 2.2e-308, 1e-300, 1e-160, 1e-20, 1e-8, 1.0, 1e8, 1e20, 1e160, 1e300, 1.7e308)
_F32 = np.finfo(np.float32)
#: cases tried per subpackage (filled by test_contracts.py, printed by the terminal-summary hook)
COUNTS: defaultdict[str, Counter] = defaultdict(Counter)


def _eval(bound, a):
    return bound(a) if callable(bound) else bound


@dataclass
class Bad:
    """An invalid value for one argument; the error must name ``names`` (default: the argument).

    ``any_of``: the message must also name at least one of these (the arguments a shape clashes with).
    """

    value: Any
    why: str
    names: tuple[str, ...] = ()
    any_of: tuple[str, ...] = ()


# ------------------------------------------------------------------------------------------------
# scalar domains
# ------------------------------------------------------------------------------------------------


class Domain:
    """Base class: ``valid(draw, a)`` draws one valid value, ``invalid(a, name)`` lists bad ones."""

    def valid(self, draw, a):  # pragma: no cover - abstract
        raise NotImplementedError

    def invalid(self, a, name: str) -> list[Bad]:
        return []


@dataclass
class Real(Domain):
    """A real scalar in ``[low, high]`` (open ends with ``low_open``/``high_open``; bounds may be callables)."""

    low: Any = None
    high: Any = None
    low_open: bool = False
    high_open: bool = False
    allow_inf: bool = False
    typical: tuple[float, float] | None = None
    extremes: bool = True

    def bounds(self, a):
        lo, hi = _eval(self.low, a), _eval(self.high, a)
        return (-math.inf if lo is None else float(lo)), (math.inf if hi is None else float(hi))

    def contains(self, x, a) -> bool:
        lo, hi = self.bounds(a)
        x = float(x)
        if math.isnan(x) or (math.isinf(x) and not self.allow_inf):
            return False
        return (x > lo or (x == lo and not self.low_open)) and (x < hi or (x == hi and not self.high_open))

    def candidates(self, a) -> list[float]:
        lo, hi = self.bounds(a)
        pts = [v * s for v in EXTREMES for s in (1.0, -1.0)] + [0.0]
        if math.isfinite(lo):
            pts += [lo, np.nextafter(lo, math.inf), lo + abs(lo) * 1e-9 + 1e-300]
        if math.isfinite(hi):
            pts += [hi, np.nextafter(hi, -math.inf), hi - abs(hi) * 1e-9 - 1e-300]
        if math.isfinite(lo) and math.isfinite(hi):
            pts += [0.5 * (lo + hi), lo + 0.25 * (hi - lo)]
        return sorted({float(p) for p in pts if self.contains(p, a)})

    def valid(self, draw, a):
        lo, hi = self.bounds(a)
        cands = self.candidates(a) if self.extremes else []
        tl, th = self.typical if self.typical is not None else (max(lo, -10.0), min(hi, 10.0))
        if not (tl < th):
            tl, th = lo, hi
        choices = []
        if cands:
            choices.append(st.sampled_from(cands))
        if math.isfinite(tl) and math.isfinite(th) and tl < th:
            choices.append(st.floats(tl, th, allow_nan=False).filter(lambda v: self.contains(v, a)))
        if not choices:
            raise ValueError(f"empty domain [{lo}, {hi}]")
        x = draw(st.one_of(*choices))
        kind = draw(st.sampled_from(["float", "np64", "np32", "int"]))
        if kind == "np64":
            return np.float64(x)
        if kind == "np32" and abs(x) <= _F32.max and self.contains(np.float32(x), a):
            return np.float32(x)
        if kind == "int" and float(x).is_integer() and abs(x) < 2**62:
            return int(x)
        return float(x)

    def invalid(self, a, name):
        lo, hi = self.bounds(a)
        bad = [Bad(float("nan"), "NaN"), Bad(None, "None"), Bad("1.0", "a string"), Bad(1 + 1j, "complex"),
               Bad(True, "a bool"), Bad([1.0], "a list")]
        if not self.allow_inf:
            bad += [Bad(float("inf"), "inf"), Bad(-float("inf"), "-inf"), Bad(10**400, "an int beyond the float range")]
        if math.isfinite(lo):
            bad.append(Bad(lo if self.low_open else lo - max(1.0, abs(lo)), "below the lower bound"))
        if math.isfinite(hi):
            bad.append(Bad(hi if self.high_open else hi + max(1.0, abs(hi)), "above the upper bound"))
        return bad


@dataclass
class Int(Domain):
    """An integer in ``[low, high]``; valid draws come from ``typical`` (keep sizes small), bounds included."""

    low: Any = None
    high: Any = None
    typical: tuple[int, int] | None = None
    extra: tuple[int, ...] = ()  #: further valid values (huge ones, where the function has no size limit)

    def bounds(self, a):
        return _eval(self.low, a), _eval(self.high, a)

    def valid(self, draw, a):
        if self.extra and draw(st.integers(0, 4)) == 0:
            return draw(st.sampled_from(self.extra))
        lo, hi = self.bounds(a)
        tl, th = self.typical if self.typical is not None else (
            lo if lo is not None else -5, hi if hi is not None and hi - (lo or 0) < 50 else (lo or 0) + 10)
        tl = max(tl, lo) if lo is not None else tl
        th = min(th, hi) if hi is not None else th
        pts = [v for v in (lo, tl, th) if v is not None and tl <= v <= th]
        x = draw(st.one_of(st.sampled_from(pts), st.integers(tl, th)))
        return draw(st.sampled_from([int, np.int64, np.int32]))(x) if abs(x) < 2**31 else int(x)

    def invalid(self, a, name):
        lo, hi = self.bounds(a)
        bad = [Bad(1.5, "a float"), Bad("3", "a string"), Bad(None, "None"), Bad(True, "a bool"),
               Bad(np.float64(2.0), "a numpy float")]
        if lo is not None:
            bad.append(Bad(lo - 1, "below the lower bound"))
        if hi is not None:
            bad += [Bad(hi + 1, "above the upper bound (the documented size limit)")]
            bad += [Bad(v, "a size far above the limit") for v in (10**9, 10**18, 2**70) if v > hi]
        return bad


@dataclass
class Bool(Domain):
    strict: bool = True  #: non-bools are refused

    def valid(self, draw, a):
        return draw(st.sampled_from([True, False, np.bool_(True)]))

    def invalid(self, a, name):
        return [Bad("yes", "a string"), Bad(None, "None")] if self.strict else []


class Choice(Domain):
    def __init__(self, *options):
        self.options = options

    def valid(self, draw, a):
        return draw(st.sampled_from(self.options))

    def invalid(self, a, name):
        return [Bad("no-such-option", "an unknown option"), Bad(None, "None"), Bad(3, "an int")]


@dataclass
class Seed(Domain):
    """``seed``: an int, SeedSequence or Generator (``optional``: ``None`` allowed too)."""

    optional: bool = False

    def valid(self, draw, a):
        kind = draw(st.sampled_from(["int", "big", "seq", "gen"] + (["none"] if self.optional else [])))
        return {"int": 0, "big": 2**63, "seq": np.random.SeedSequence(1), "gen": np.random.default_rng(2),
                "none": None}[kind]

    def invalid(self, a, name):
        bad = [Bad(-1, "a negative int"), Bad("seed", "a string"), Bad(1.5, "a float")]
        return bad if self.optional else bad + [Bad(None, "None (a seed is required)")]


class Const(Domain):
    """A fixed valid value (no invalid draws), or a builder ``lambda a: ...`` of one."""

    def __init__(self, value, bad=()):
        self.value = value
        self.bad = bad

    def valid(self, draw, a):
        return self.value(a) if callable(self.value) and not isinstance(self.value, type) else self.value

    def invalid(self, a, name):
        return [Bad(v, "a wrong object") for v in self.bad]


class Obj(Const):
    """An object built by ``build(a)``; ``None``, a string and an int must be refused with a TypeError."""

    def __init__(self, build, bad=(None, "object", 3)):
        super().__init__(build, bad)


class Sampled(Domain):
    """One of a list of valid values (``bad``: values to refuse)."""

    def __init__(self, values, bad=()):
        self.values = list(values)
        self.bad = bad

    def valid(self, draw, a):
        v = draw(st.sampled_from(self.values))
        return v(a) if callable(v) and not isinstance(v, type) else v  # a builder, not a dtype or class

    def invalid(self, a, name):
        return [Bad(v, "a wrong value") for v in self.bad]


class OneOf(Domain):
    """A value of any of the given domains (e.g. ``tau`` in [0, 1] or exactly 2); ``bad``: values to refuse."""

    def __init__(self, *domains, bad=()):
        self.domains = domains
        self.bad = bad

    def valid(self, draw, a):
        return draw(st.sampled_from(self.domains)).valid(draw, a)

    def invalid(self, a, name):
        return [Bad(v, "outside every accepted range") for v in self.bad] + [
            b for b in self.domains[0].invalid(a, name) if b.why in ("NaN", "None", "a string", "inf")]


class Mapped(Domain):
    """``convert(value)`` of a value drawn from ``inner`` (e.g. a torch tensor); ``bad``: extra values to refuse.

    The invalid values of ``inner`` are converted too where ``convert`` accepts them.
    """

    def __init__(self, inner: Domain, convert, bad=()):
        self.inner = inner
        self.convert = convert
        self.bad = bad

    def valid(self, draw, a):
        return self.convert(self.inner.valid(draw, a))

    def invalid(self, a, name):
        out = [Bad(v, "a wrong type") for v in self.bad]
        for b in self.inner.invalid(a, name):
            try:
                out.append(Bad(self.convert(b.value), b.why, b.names, b.any_of))
            except Exception:  # noqa: BLE001 - not representable after conversion: skip
                pass
        return out


class Maybe(Domain):
    """The argument may be omitted (its default is used) or given a valid value of ``inner``."""

    OMIT = object()

    def __init__(self, inner: Domain):
        self.inner = inner

    def valid(self, draw, a):
        return Maybe.OMIT if draw(st.booleans()) else self.inner.valid(draw, a)

    def invalid(self, a, name):
        return self.inner.invalid(a, name)


# ------------------------------------------------------------------------------------------------
# arrays
# ------------------------------------------------------------------------------------------------


def _dims(shape, a):
    return tuple(int(_eval(d, a)) if not isinstance(d, str) else int(a[d]) for d in shape)


@dataclass
class Array(Domain):
    """An array of the given ``shape`` (dim names from ``dims``, ints, or ``None`` for any shape up to 2-D).

    ``low``/``high`` bound the entries, ``max_abs`` is a documented magnitude limit (beyond it the
    function must refuse), ``dtype`` is ``"float"``, ``"int"`` or ``"complex"``.
    """

    shape: tuple | None = None
    low: Any = None
    high: Any = None
    low_open: bool = False
    high_open: bool = False
    max_abs: float | None = None
    dtype: str = "float"
    typical: tuple[float, float] = (-3.0, 3.0)
    finite: bool = True
    extremes: bool = True
    lists: bool = True
    any_ndim: bool = False  #: the function accepts any number of dimensions (no wrong-ndim cases)

    def _shape(self, draw, a):
        if self.shape is None:
            nd = draw(st.integers(0, 2))
            return tuple(draw(st.integers(0, 3)) for _ in range(nd))
        return _dims(self.shape, a)

    def _real(self, a):
        return Real(self.low, self.high, self.low_open, self.high_open,
                    typical=self.typical, extremes=self.extremes)

    def _ok(self, x, a):
        dom = self._real(a)
        vals = np.real(x).ravel() if np.iscomplexobj(x) else np.asarray(x, dtype=float).ravel()
        if self.max_abs is not None and vals.size and np.max(np.abs(x)) > self.max_abs:
            return False
        return all(dom.contains(v, a) for v in vals)

    def valid(self, draw, a):
        shape = self._shape(draw, a)
        size = int(np.prod(shape))
        dom = self._real(a)
        lo, hi = dom.bounds(a)
        tl, th = max(self.typical[0], lo), min(self.typical[1], hi)
        if self.max_abs is not None:
            tl, th = max(tl, -self.max_abs), min(th, self.max_abs)
        if self.dtype == "int":
            base = np.array(draw(st.lists(st.integers(int(math.ceil(tl)), int(math.floor(th))), min_size=size,
                                          max_size=size)), dtype=np.int64).reshape(shape)
            return self._container(draw, base, a)
        vals = draw(st.lists(st.floats(tl, th, allow_nan=False), min_size=size, max_size=size))
        x = np.array(vals, dtype=float).reshape(shape)
        if self.extremes and size:
            mode = draw(st.sampled_from(["plain", "scaled", "spiky", "bounds"]))
            cands = [c for c in dom.candidates(a) if self.max_abs is None or abs(c) <= self.max_abs]
            if mode == "scaled":
                s = draw(st.sampled_from([v for v in EXTREMES if v != 1.0]))
                y = x * s
                if np.all(np.isfinite(y)) and self._ok(y, a):
                    x = y
            elif mode in ("spiky", "bounds") and cands:
                pool = cands if mode == "spiky" else [c for c in cands if c in (lo, hi)] or cands
                k = draw(st.integers(1, min(size, 3)))
                idx = draw(st.lists(st.integers(0, size - 1), min_size=k, max_size=k))
                flat = x.ravel()
                for i in idx:
                    flat[i] = draw(st.sampled_from(pool))
                x = flat.reshape(shape)
        if self.dtype == "complex":
            im = np.array(draw(st.lists(st.floats(-3, 3), min_size=size, max_size=size))).reshape(shape)
            x = x + 1j * im
        return self._container(draw, x, a)

    def _container(self, draw, x, a):
        kinds = ["np"] + (["list"] if self.lists else []) + ["f32"] * (x.dtype.kind == "f")
        kind = draw(st.sampled_from(kinds))
        if kind == "f32":
            with np.errstate(over="ignore"):
                y = x.astype(np.float32)
            if np.all(np.isfinite(y)) and self._ok(y, a):
                return y
        if kind == "list" and x.ndim and (x.size or x.ndim == 1):  # [] cannot carry the shape (0, k)
            return x.tolist()
        return x

    def example(self, a, shape):
        """A valid-looking value of the given shape (for shape-mismatch cases)."""
        return np.broadcast_to(self._example(a).ravel()[:1] if self._example(a).size else np.ones(1),
                               shape).copy() if int(np.prod(shape)) else np.zeros(shape)

    def _example(self, a):
        shape = _dims(self.shape, a) if self.shape is not None else (2,)
        lo, hi = self._real(a).bounds(a)
        v = 1.0 if lo <= 1.0 <= hi and not (self.high_open and hi == 1.0) else (lo + hi) / 2 if math.isfinite(
            lo + hi) else (lo + 1 if math.isfinite(lo) else hi - 1)
        return np.full(shape, v, dtype=complex if self.dtype == "complex" else float)

    def invalid(self, a, name):
        x = self._example(a)
        bad = [Bad(None, "None"), Bad("abc", "a string"), Bad([[1.0], [1.0, 2.0]], "a ragged list")]
        if self.shape is not None and not self.any_ndim:
            bad.append(Bad(x[None], "one dimension too many"))
            if x.ndim and not self.any_ndim:
                bad.append(Bad(np.ones(x.shape[:-1]), "one dimension too few"))
        if x.size:
            if self.finite:
                for v, why in ((np.nan, "a NaN entry"), (np.inf, "an inf entry")):
                    y = x.copy()
                    y.flat[0] = v
                    bad.append(Bad(y, why))
            if self.dtype != "complex":
                bad.append(Bad(x + 1j, "complex entries"))
            lo, hi = self._real(a).bounds(a)
            if math.isfinite(lo):
                y = x.copy()
                y.flat[0] = lo if self.low_open else lo - max(1.0, abs(lo))
                bad.append(Bad(y, "an entry below the lower bound"))
            if math.isfinite(hi):
                y = x.copy()
                y.flat[0] = hi if self.high_open else hi + max(1.0, abs(hi))
                bad.append(Bad(y, "an entry above the upper bound"))
            if self.max_abs is not None:
                y = x.copy()
                y.flat[0] = 2.0 * self.max_abs if 2.0 * self.max_abs < 1.7e308 else 1.7e308
                bad.append(Bad(y, "an entry above the magnitude limit"))
        return bad


@dataclass
class ProbVectors(Array):
    """Probability vectors along the last axis of ``shape`` (Dirichlet, one-hot, tiny entries, float32)."""

    def valid(self, draw, a):
        shape = _dims(self.shape, a)
        n = shape[-1]
        rows = int(np.prod(shape[:-1]))
        out = np.empty((rows, n))
        for r in range(rows):
            mode = draw(st.sampled_from(["dirichlet", "onehot", "tiny", "uniform"]))
            if mode == "onehot":
                v = np.zeros(n)
                v[draw(st.integers(0, n - 1))] = 1.0
            elif mode == "uniform":
                v = np.full(n, 1.0 / n)
            else:
                w = np.array(draw(st.lists(st.floats(1e-3, 1.0), min_size=n, max_size=n)))
                if mode == "tiny" and n > 1:
                    w[draw(st.integers(0, n - 1))] = draw(st.sampled_from([1e-300, 1e-160, 1e-20, 5e-324]))
                v = w / w.sum()
            out[r] = v
        x = out.reshape(shape)
        if draw(st.booleans()):
            with np.errstate(under="ignore"):
                y = x.astype(np.float32)
            return y / y.sum(axis=-1, keepdims=True)
        return x if draw(st.booleans()) or (x.size == 0 and x.ndim > 1) else x.tolist()

    def _example(self, a):
        shape = _dims(self.shape, a)
        return np.full(shape, 1.0 / shape[-1])

    def example(self, a, shape):
        return np.full(shape, 1.0 / shape[-1]) if shape[-1] else np.zeros(shape)

    def invalid(self, a, name):
        x = self._example(a)
        y = x.copy()
        y[..., 0] += 0.25
        z = x.copy()
        z[..., 0] = -0.5
        if x.shape[-1] > 1:
            z[..., -1] += 0.5 + x[..., 0]  # still sums to 1
        else:
            z[...] = -1.0  # one entry: a negative vector cannot sum to 1
        bad = [Bad(None, "None"), Bad("p", "a string"), Bad(y, "rows summing to 1.25"), Bad(z, "a negative entry")]
        if not self.any_ndim:
            bad.append(Bad(x[None], "one dimension too many"))
        w = x.copy()
        w.flat[0] = np.nan
        bad.append(Bad(w, "a NaN entry"))
        return bad


@dataclass
class Labels(Domain):
    """Integer class labels of ``shape`` in ``{0, ..., a[classes] - 1}``."""

    shape: tuple = ()
    classes: Any = "n"

    def valid(self, draw, a):
        shape = _dims(self.shape, a)
        k = int(_eval(self.classes, a) if not isinstance(self.classes, str) else a[self.classes])
        size = int(np.prod(shape))
        y = np.array(draw(st.lists(st.integers(0, k - 1), min_size=size, max_size=size)), dtype=np.int64)
        y = y.reshape(shape)
        kind = draw(st.sampled_from(["i64", "i32", "list"]))
        return y.astype(np.int32) if kind == "i32" else (y.tolist() if kind == "list" and y.ndim else y)

    def example(self, a, shape):
        return np.zeros(shape, dtype=np.int64)

    def invalid(self, a, name):
        shape = _dims(self.shape, a)
        k = int(_eval(self.classes, a) if not isinstance(self.classes, str) else a[self.classes])
        y = np.zeros(shape, dtype=np.int64)
        bad = [Bad(None, "None"), Bad("y", "a string")]
        if y.size:
            big, neg, half = y.copy(), y.copy(), y.astype(float)
            big.flat[0] = k
            neg.flat[0] = -1
            half.flat[0] = 0.5
            bad += [Bad(big, "a label equal to the number of classes"), Bad(neg, "a negative label"),
                    Bad(half, "a non-integer label")]
        return bad


@dataclass
class BinaryLabels(Domain):
    """Binary labels of ``shape`` as bool, ints or floats equal to 0/1 (or lists of them).

    ``both``: ``"all"`` if both classes must occur somewhere, ``"rows"`` if in every row (last axis),
    ``"pos"`` / ``"rowpos"`` if a positive must occur somewhere / in every row, ``None`` if nothing is
    required. A draw always satisfies the requirement; an array that breaks it is an invalid value.
    """

    shape: tuple = ()
    both: str | None = "all"
    refuse: bool = True  #: whether an array breaking ``both`` must be refused (False: it is valid for some options)

    def _fix(self, y):
        if y.size >= 2 and self.both == "all" and y.min() == y.max():
            y.flat[0], y.flat[-1] = 1, 0
        elif self.both == "pos" and y.size and y.max() == 0:
            y.flat[0] = 1
        elif self.both in ("rows", "rowpos") and y.ndim and y.shape[-1] >= 2:
            rows = y.reshape(-1, y.shape[-1])
            for r in rows:
                if r.min() == r.max() and (self.both == "rows" or r[0] == 0):
                    r[0], r[-1] = 1, 0
        return y

    def valid(self, draw, a):
        shape = _dims(self.shape, a)
        size = int(np.prod(shape))
        y = np.array(draw(st.lists(st.integers(0, 1), min_size=size, max_size=size)), dtype=np.int64)
        y = self._fix(y.reshape(shape))
        kind = draw(st.sampled_from(["bool", "i64", "i32", "f64", "list"]))
        if kind == "list" and y.ndim:
            return y.tolist()
        return y.astype({"bool": bool, "i64": np.int64, "i32": np.int32, "f64": float, "list": np.int64}[kind])

    def example(self, a, shape):
        return (np.arange(int(np.prod(shape))) % 2).reshape(shape)

    def invalid(self, a, name):
        shape = _dims(self.shape, a)
        y = self.example(a, shape)
        bad = [Bad(None, "None"), Bad("y", "a string")]
        if y.size:
            two, neg, half, nan = y.copy(), y.copy(), y.astype(float), y.astype(float)
            two.flat[0] = 2
            neg.flat[0] = -1
            half.flat[0] = 0.5
            nan.flat[0] = np.nan
            bad += [Bad(two, "a label 2"), Bad(neg, "a label -1"), Bad(half, "a label 0.5"), Bad(nan, "a NaN label"),
                    Bad(y.astype(complex), "complex labels")]
            if not self.refuse:
                pass
            elif self.both in ("all", "rows"):
                bad.append(Bad(np.ones(shape, dtype=np.int64), "one class only"))
            elif self.both in ("pos", "rowpos"):
                bad.append(Bad(np.zeros(shape, dtype=np.int64), "no positive"))
        return bad


# ------------------------------------------------------------------------------------------------
# declarations
# ------------------------------------------------------------------------------------------------


@dataclass
class FunctionSpec:
    """The contract of one public function (see the module docstring)."""

    args: dict[str, Domain]
    dims: dict[str, Any] = field(default_factory=dict)
    may_inf: bool = False                     #: ±inf allowed in valid results (the docstring must say "inf")
    may_raise: dict = field(default_factory=dict)  #: {ExceptionType: regex} documented errors on valid input
    call: Callable | None = None              #: call(f, kwargs) -> result, for context managers and the like
    weight: float = 1.0                       #: fraction of EXAMPLES (expensive functions)
    engines: bool = False                     #: numba and numpy engines must agree on success/failure
    check: Callable | None = None             #: check(result, kwargs): extra assertion on valid results
    note: str = ""


def fn(*, dims=None, may_inf=False, may_raise=None, call=None, weight=1.0, engines=False, check=None, note="",
       **args) -> FunctionSpec:
    """Declare a function: one domain per argument (keyword), plus options (see :class:`FunctionSpec`)."""
    return FunctionSpec(dict(args), dims or {}, may_inf, may_raise or {}, call, weight, engines, check, note)


@dataclass(frozen=True)
class Kind:
    kind: str
    init: FunctionSpec | None = None


CONSTANT = Kind("constant")   #: a module constant: a finite number, string, or container of them
RESULT = Kind("result")       #: a NamedTuple class returned by a function


def CLASS(init: FunctionSpec | None = None) -> Kind:  # noqa: N802 - reads as a declaration
    """A public class (a learner, an exception or warning); ``init`` is the contract of its constructor."""
    return Kind("class", init)
