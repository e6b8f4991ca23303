"""The robustness contract of every public name of :mod:`lossbook` (issue #12).

The names come from every subpackage's ``__all__``, subpackages from :mod:`lossbook` itself, so
a new subpackage or function is covered (and fails until it has a spec) the day it lands. The
declarations live in ``tests/contracts/specs/<subpackage>.py`` (see ``contracts_dsl`` and the
"Robustness contract" section of CONTRIBUTING.md). For every function:

* valid arguments (Hypothesis draws, extreme magnitudes and float32 included) give a finite result,
  or ``inf`` where the spec allows it *and* the docstring says so, or a documented exception;
* every invalid argument raises ``ValueError``/``TypeError`` whose message names that argument (and,
  for a shape clash, the argument it clashes with);
* no call takes longer than ``LOSSBOOK_CONTRACT_SECONDS`` (interrupted by an alarm at six times that).
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import math
import re
import resource
import signal
import time
from collections import Counter
from pathlib import Path

import contracts_dsl as dsl
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import lossbook

SPEC_DIR = Path(__file__).parent / "specs"
#: Subpackages whose specs are not written yet (issue #12 is open until this set is empty). It may only
#: shrink: a subpackage listed here that has a spec file fails ``test_pending_list_only_shrinks``, and a
#: subpackage that is neither listed nor specified fails ``test_every_public_name_has_a_spec``.
PENDING = frozenset()
SUBPACKAGES = tuple(s for s in lossbook._SUBPACKAGES if s not in PENDING)
#: cases tried, per subpackage and kind ("valid", "invalid", "other"); reported by tests/conftest.py
COUNTS: dict[str, Counter] = dsl.COUNTS
HOWTO = "see the 'Robustness contract' section of CONTRIBUTING.md"


def _spec_module(sub: str):
    path = SPEC_DIR / f"{sub}.py"
    if not path.exists():
        return None
    mod_spec = importlib.util.spec_from_file_location(f"lossbook_contract_specs_{sub}", path)
    module = importlib.util.module_from_spec(mod_spec)
    mod_spec.loader.exec_module(module)
    return module


_SPECS = {sub: getattr(_spec_module(sub), "SPECS", None) for sub in SUBPACKAGES}
NAMES = [(sub, name) for sub in SUBPACKAGES for name in importlib.import_module(f"lossbook.{sub}").__all__]
FUNCTIONS = [(s, n) for s, n in NAMES if isinstance((_SPECS[s] or {}).get(n), dsl.FunctionSpec)]


def _where(sub: str) -> str:
    return f"tests/contracts/specs/{sub}.py"


def _get_spec(sub: str, name: str):
    specs = _SPECS[sub]
    if specs is None:
        pytest.fail(f"lossbook.{sub} has no contract specs: create {_where(sub)} defining SPECS = {{...}} with "
                    f"one entry per name of its __all__ ({HOWTO})", pytrace=False)
    if name not in specs:
        pytest.fail(f"lossbook.{sub}.{name} has no contract spec: add SPECS[{name!r}] to {_where(sub)} ({HOWTO})",
                    pytrace=False)
    return specs[name]


def test_pending_list_only_shrinks():
    """Every pending subpackage exists and still lacks specs (remove it from PENDING once specified)."""
    unknown = sorted(PENDING - set(lossbook._SUBPACKAGES))
    specified = sorted(s for s in PENDING if (SPEC_DIR / f"{s}.py").exists())
    assert not unknown, f"PENDING names subpackages that do not exist: {unknown}"
    assert not specified, f"remove {specified} from PENDING: they have spec files now"
    COUNTS["(pending)"]["names"] += sum(len(importlib.import_module(f"lossbook.{s}").__all__) for s in PENDING)


def test_every_public_name_has_a_spec():
    """Every name of every ``__all__`` is declared, and nothing is declared that is not public."""
    problems = []
    for sub in SUBPACKAGES:
        public = set(importlib.import_module(f"lossbook.{sub}").__all__)
        specs = _SPECS[sub]
        if specs is None:
            problems.append(f"lossbook.{sub}: no {_where(sub)} (define SPECS there)")
            continue
        problems += [f"lossbook.{sub}.{n}: add SPECS[{n!r}] to {_where(sub)}" for n in sorted(public - set(specs))]
        problems += [f"{_where(sub)}: SPECS[{n!r}] names nothing in lossbook.{sub}.__all__"
                     for n in sorted(set(specs) - public)]
    assert not problems, f"robustness contract incomplete ({HOWTO}):\n  " + "\n  ".join(problems)


# ------------------------------------------------------------------------------------------------
# helpers
# ------------------------------------------------------------------------------------------------


class CallTimeout(BaseException):
    """Raised by the alarm inside a call that runs far over the limit (a hang)."""


def _alarm(signum, frame):
    raise CallTimeout


#: extra memory one call may allocate (bytes); above it the call gets a MemoryError, not the machine an OOM kill
MEMORY_LIMIT = int(float(__import__("os").environ.get("LOSSBOOK_CONTRACT_MEMORY_GB", "3")) * 2**30)


def _data_size() -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmData:"):
                return int(line.split()[1]) * 1024
    return 0


def _bounded(thunk):
    """Run ``thunk()`` under the time and memory limits; returns ``(result, exception, seconds)``.

    A call over the time limit is run once more (the first call may include Numba compilation or a
    cold cache); over the limit twice fails. A call six times over is interrupted by an alarm. The
    data segment may grow by at most ``MEMORY_LIMIT`` during the call (a MemoryError beyond it).
    """
    hard = 6.0 * dsl.TIME_LIMIT
    elapsed = 0.0
    for _attempt in range(2):
        old = signal.signal(signal.SIGALRM, _alarm)
        old_mem = resource.getrlimit(resource.RLIMIT_DATA)
        resource.setrlimit(resource.RLIMIT_DATA, (_data_size() + MEMORY_LIMIT, old_mem[1]))
        signal.setitimer(signal.ITIMER_REAL, hard)
        t0 = time.perf_counter()
        try:
            res, exc = thunk(), None
        except CallTimeout:
            pytest.fail(f"the call did not return within {hard:.0f} s (a hang or an unbounded loop)", pytrace=False)
        except Exception as e:  # noqa: BLE001 - classified by the caller
            res, exc = None, e
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, old)
            resource.setrlimit(resource.RLIMIT_DATA, old_mem)
        elapsed = time.perf_counter() - t0
        if elapsed <= dsl.TIME_LIMIT:
            return res, exc, elapsed
    pytest.fail(f"the call took {elapsed:.1f} s, over the limit of {dsl.TIME_LIMIT:g} s (twice)", pytrace=False)


def _short(v) -> str:
    if isinstance(v, np.ndarray):
        body = np.array2string(v, threshold=6, edgeitems=2, precision=4)
        return f"array({body}, dtype={v.dtype}, shape={v.shape})"
    r = repr(v)
    return r if len(r) < 120 else r[:117] + "..."


def _show(name, kwargs) -> str:
    return f"{name}(" + ", ".join(f"{k}={_short(v)}" for k, v in kwargs.items()) + ")"


def _nonfinite(x, allow_inf: bool, path: str = "result"):
    """First path in ``x`` holding NaN (or inf when not allowed), else None."""
    if x is None or isinstance(x, bool | str | bytes | int | np.integer | np.bool_ | type):
        return None
    if isinstance(x, float | complex | np.floating | np.complexfloating):
        arr = np.asarray(x)
    elif isinstance(x, np.ndarray):
        if x.dtype == object:
            for i, v in enumerate(x.ravel()):
                bad = _nonfinite(v, allow_inf, f"{path}.flat[{i}]")
                if bad:
                    return bad
            return None
        if x.dtype.kind not in "fc":
            return None
        arr = x
    elif type(x).__module__.startswith("torch") and hasattr(x, "detach"):
        arr = x.detach().cpu().numpy()
        if arr.dtype.kind not in "fc":
            return None
    elif isinstance(x, dict):
        for k, v in x.items():
            bad = _nonfinite(v, allow_inf, f"{path}[{k!r}]")
            if bad:
                return bad
        return None
    elif isinstance(x, tuple | list):
        fields = getattr(x, "_fields", None)
        for i, v in enumerate(x):
            bad = _nonfinite(v, allow_inf, f"{path}.{fields[i]}" if fields else f"{path}[{i}]")
            if bad:
                return bad
        return None
    else:
        return None
    if np.any(np.isnan(arr)):
        return f"{path} contains NaN"
    if not allow_inf and np.any(np.isinf(arr)):
        return f"{path} contains inf"
    return None


def _names_in(message: str, name: str) -> bool:
    base = name.split("[")[0]
    return re.search(rf"(?<![A-Za-z0-9_]){re.escape(base)}(?![A-Za-z0-9_])", message) is not None


def _draw(data, spec: dsl.FunctionSpec):
    a: dict = {}
    for dname, rng in spec.dims.items():
        rng = dsl._eval(rng, a)
        a[dname] = data.draw(st.integers(*rng)) if isinstance(rng, tuple) else int(rng)
    kwargs = {}
    for arg, dom in spec.args.items():
        v = dom.valid(data.draw, a)
        a[arg] = v
        if v is not dsl.Maybe.OMIT:
            kwargs[arg] = v
    return a, kwargs


def _invoke(obj, spec, kwargs):
    return spec.call(obj, kwargs) if spec.call is not None else obj(**kwargs)


def _array_domain(dom):
    dom = dom.inner if isinstance(dom, dsl.Maybe) else dom
    shaped = isinstance(dom, dsl.Array | dsl.Labels | dsl.BinaryLabels) and getattr(dom, "shape", None) is not None
    return dom if shaped else None


def _mismatches(spec: dsl.FunctionSpec, arg: str, a: dict, kwargs: dict) -> list[dsl.Bad]:
    """Shape clashes: ``arg`` with one named dim changed, against the other arguments sharing that dim."""
    dom = _array_domain(spec.args[arg])
    if dom is None or arg not in kwargs:
        return []
    out = []
    shape = dsl._dims(dom.shape, a)
    for i, dname in enumerate(dom.shape):
        if not isinstance(dname, str) or shape[i] == 1:
            continue
        others = tuple(o for o, d in spec.args.items() if o != arg and o in kwargs and _array_domain(d) is not None
                       and dname in _array_domain(d).shape)
        if not others:
            continue
        new = list(shape)
        new[i] = shape[i] + 2
        out.append(dsl.Bad(dom.example(a, tuple(new)), f"a shape clash in dimension {dname!r}", names=(arg,),
                           any_of=others))
    return out


def _check_kind(obj, kind: dsl.Kind, qual: str):
    if kind.kind == "constant":
        assert not callable(obj), f"{qual} is declared CONSTANT but is callable"
        bad = _nonfinite(obj, allow_inf=False, path=qual)
        assert bad is None, bad
    elif kind.kind == "result":
        assert isinstance(obj, type) and issubclass(obj, tuple) and hasattr(obj, "_fields"), (
            f"{qual} is declared RESULT but is not a NamedTuple class")
    else:
        assert isinstance(obj, type), f"{qual} is declared CLASS but is not a class"


def _check_signature(obj, spec: dsl.FunctionSpec, qual: str):
    try:
        params = inspect.signature(obj).parameters
    except (TypeError, ValueError):
        return
    has_var = any(p.kind == p.VAR_KEYWORD for p in params.values())
    unknown = [a for a in spec.args if a not in params and not has_var]
    assert not unknown, f"the spec of {qual} declares {unknown}, which its signature does not have"
    required = [n for n, p in params.items() if p.default is p.empty
                and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) and n != "self"]
    missing = [n for n in required if n not in spec.args]
    assert not missing, f"the spec of {qual} lacks the required argument(s) {missing}"
    if spec.may_inf:
        doc = inspect.getdoc(obj) or ""
        assert re.search(r"\binf\b", doc), f"the spec of {qual} allows inf results but its docstring never says inf"
    for etype in spec.may_raise:
        doc = inspect.getdoc(obj) or ""
        assert etype.__name__ in doc, (f"the spec of {qual} allows {etype.__name__} on valid input, but its "
                                       "docstring does not document it (a Raises section)")


def _target(sub, name):
    obj = getattr(importlib.import_module(f"lossbook.{sub}"), name)
    spec = _get_spec(sub, name)
    if isinstance(spec, dsl.Kind):
        _check_kind(obj, spec, f"lossbook.{sub}.{name}")
        if spec.kind == "class" and spec.init is not None:
            return obj, spec.init
        return obj, None
    assert callable(obj), f"lossbook.{sub}.{name} has a function spec but is not callable"
    return obj, spec


# ------------------------------------------------------------------------------------------------
# the contract
# ------------------------------------------------------------------------------------------------


def _settings(n):
    return settings(max_examples=max(1, n), suppress_health_check=list(HealthCheck), deadline=None)


@pytest.mark.parametrize(("sub", "name"), NAMES, ids=[f"{s}.{n}" for s, n in NAMES])
def test_valid_arguments_give_finite_results(sub, name):
    obj, spec = _target(sub, name)
    qual = f"lossbook.{sub}.{name}"
    COUNTS[sub]["names"] += 1
    if spec is None:
        COUNTS[sub]["other"] += 1
        return
    _check_signature(obj, spec, qual)

    @_settings(int(math.ceil(dsl.EXAMPLES * spec.weight)))
    @given(st.data())
    def run(data):
        _, kwargs = _draw(data, spec)
        res, exc, _ = _bounded(lambda: _invoke(obj, spec, kwargs))
        COUNTS[sub]["valid"] += 1
        shown = _show(name, kwargs)
        if exc is not None:
            if not any(isinstance(exc, t) and re.search(p, str(exc)) for t, p in spec.may_raise.items()):
                raise AssertionError(f"{shown} raised {type(exc).__name__}: {exc}") from exc
        else:
            bad = _nonfinite(res, spec.may_inf)
            assert bad is None, f"{shown}: {bad}"
            if spec.check is not None:
                spec.check(res, kwargs)
        if spec.engines and "engine" in kwargs:
            other = dict(kwargs, engine="numpy" if kwargs["engine"] == "numba" else "numba")
            res2, exc2, _ = _bounded(lambda: _invoke(obj, spec, other))
            COUNTS[sub]["valid"] += 1
            assert type(exc) is type(exc2), (f"{shown}: engine {kwargs['engine']!r} gave "
                                             f"{type(exc).__name__ if exc else 'a result'}, engine {other['engine']!r} "
                                             f"gave {type(exc2).__name__ if exc2 else 'a result'}")

    run()


CALLABLES = FUNCTIONS + [(s, n) for s, n in NAMES if isinstance((_SPECS[s] or {}).get(n), dsl.Kind)
                         and _SPECS[s][n].init is not None]


@pytest.mark.parametrize(("sub", "name"), CALLABLES, ids=[f"{s}.{n}" for s, n in CALLABLES])
def test_invalid_arguments_raise_errors_that_name_them(sub, name):
    obj, spec = _target(sub, name)

    @_settings(max(1, dsl.EXAMPLES // 5))
    @given(st.data())
    def run(data):
        a, kwargs = _draw(data, spec)
        for arg, dom in spec.args.items():
            for bad in dom.invalid(a, arg) + _mismatches(spec, arg, a, kwargs):
                kw = dict(kwargs)
                kw[arg] = bad.value
                res, exc, _ = _bounded(lambda kw=kw: _invoke(obj, spec, kw))
                COUNTS[sub]["invalid"] += 1
                shown = f"{_show(name, kw)} [{arg} is {bad.why}]"
                assert exc is not None, f"{shown} was accepted (returned {_short(res)})"
                if not isinstance(exc, ValueError | TypeError):
                    raise AssertionError(f"{shown} raised {type(exc).__name__}, not ValueError/TypeError: {exc}")
                msg = str(exc)
                for nm in bad.names or (arg,):
                    assert _names_in(msg, nm), f"{shown}: the message does not name {nm!r}: {msg}"
                if bad.any_of:
                    assert any(_names_in(msg, o) for o in bad.any_of), (
                        f"{shown}: the message does not name the clashing argument ({' or '.join(bad.any_of)}): {msg}")

    run()
