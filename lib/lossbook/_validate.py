"""Shared argument checks.

Every public function of :mod:`lossbook` validates its inputs with these helpers, so that a bad
argument raises :class:`ValueError` or :class:`TypeError` *naming the parameter and the accepted
range* instead of propagating NaN.
"""

from __future__ import annotations

import numbers
import operator

import numpy as np

__all__ = [
    "ENGINES",
    "MAX_ELEMENTS",
    "MAX_LOOP",
    "check_array",
    "check_axis",
    "check_broadcast",
    "check_choice",
    "check_int",
    "check_labels",
    "check_probability_vectors",
    "check_real",
    "check_same_length",
    "check_size",
    "pow2_exponent",
    "probability_tolerance",
]

#: Largest number of array entries a public function allocates (8e8 bytes of float64). Sizes that
#: would need more are refused up front with this limit in the message, instead of failing with a
#: MemoryError after allocating (or swapping) on a shared machine.
MAX_ELEMENTS = 10**8

#: Largest number of iterations of a pure-Python or compiled loop a public function runs for one
#: call (steps of an integrator, terms of a series, ...). Problems that would need more are refused.
MAX_LOOP = 10**7


def _interval_text(low, high, low_open: bool, high_open: bool) -> str:
    left = "(" if low_open or low is None else "["
    right = ")" if high_open or high is None else "]"
    lo = "-inf" if low is None else repr(low)
    hi = "inf" if high is None else repr(high)
    return f"{left}{lo}, {hi}{right}"


ENGINES = ("numba", "numpy")


def check_choice(value, name: str, choices: tuple[str, ...]) -> str:
    """Check that ``value`` is one of ``choices`` (e.g. ``engine`` in :data:`ENGINES`); returns it.

    >>> check_choice("numpy", "engine", ENGINES)
    'numpy'
    """
    try:
        ok = isinstance(value, str | int | float | type(None)) and value in choices
    except TypeError:  # unhashable or un-comparable objects are simply not one of the choices
        ok = False
    if not ok:
        names = [repr(c) for c in choices]
        allowed = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]
        raise ValueError(f"{name} must be {allowed}, got {value!r}")
    return value


def check_real(
    value,
    name: str,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
    allow_inf: bool = False,
) -> float:
    """Return ``value`` as a Python float, checking that it is a finite real in an interval.

    Raises
    ------
    TypeError
        if ``value`` is not a real number (booleans are rejected).
    ValueError
        if it is NaN, infinite (unless ``allow_inf``), or outside the interval.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Real | np.number):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__}")
    if isinstance(value, np.complexfloating):
        raise TypeError(f"{name} must be a real number, got complex")
    try:
        x = float(value)
    except OverflowError:  # a Python int beyond the float range
        raise ValueError(f"{name} must be finite, got an integer of {len(str(abs(int(value))))} digits") from None
    if np.isnan(x):
        raise ValueError(f"{name} must not be NaN")
    if np.isinf(x) and not allow_inf:
        raise ValueError(f"{name} must be finite, got {x}")
    bad = (
        (low is not None and (x < low or (low_open and x == low)))
        or (high is not None and (x > high or (high_open and x == high)))
    )
    if bad:
        raise ValueError(f"{name} must lie in {_interval_text(low, high, low_open, high_open)}, got {x!r}")
    return x


def check_int(value, name: str, *, low: int | None = None, high: int | None = None) -> int:
    """Return ``value`` as a Python int, checking that it is an integer in ``[low, high]``."""
    if isinstance(value, bool):
        raise TypeError(f"{name} must be an integer, got bool")
    try:
        i = operator.index(value)
    except TypeError:
        raise TypeError(f"{name} must be an integer, got {type(value).__name__}") from None
    if (low is not None and i < low) or (high is not None and i > high):
        raise ValueError(f"{name} must lie in {_interval_text(low, high, False, False)}, got {i}")
    return i


def check_array(
    value,
    name: str,
    *,
    ndim: int | tuple[int, ...] | None = None,
    dtype=np.float64,
    finite: bool = True,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    min_size: int = 0,
    max_abs: float | None = None,
) -> np.ndarray:
    """Convert ``value`` to an array of ``dtype`` and check its shape and values.

    ``ndim`` may be an int or a tuple of accepted ranks. ``low``/``high`` bound every entry
    (``low_open`` makes the lower bound strict). ``max_abs`` bounds the modulus of every entry (a
    documented domain limit, for functions whose products would otherwise overflow). Complex input
    is accepted only when ``dtype`` is complex.
    """
    try:
        arr = np.asarray(value)
    except (ValueError, TypeError) as exc:  # ragged nesting, unconvertible objects
        raise TypeError(f"{name} must be array-like: {exc}") from None
    if arr.dtype == object:
        raise TypeError(f"{name} must be a numeric array, got dtype=object (ragged or non-numeric input?)")
    if arr.dtype.kind not in "biufc":
        raise TypeError(f"{name} must be numeric, got dtype={arr.dtype}")
    if arr.dtype.kind == "c" and np.dtype(dtype).kind != "c":
        raise TypeError(f"{name} must be real, got a complex array")
    target = np.dtype(dtype)
    if target.kind == "f" and arr.dtype.kind in "fiu" and arr.size and (
            arr.dtype.kind != "f" or arr.dtype.itemsize > target.itemsize):
        big = np.max(np.abs(arr[np.isfinite(arr)]), initial=0)
        if big > np.finfo(target).max:
            raise ValueError(f"{name} entries must fit in {target.name} (magnitude at most "
                             f"{np.finfo(target).max:.4g}); largest is {big!r}")
    arr = arr.astype(dtype, copy=False)
    if ndim is not None:
        accepted = (ndim,) if isinstance(ndim, int) else tuple(ndim)
        if arr.ndim not in accepted:
            want = " or ".join(str(a) for a in accepted)
            raise ValueError(f"{name} must have {want} dimension(s), got shape {arr.shape}")
    if arr.size < min_size:
        raise ValueError(f"{name} must have at least {min_size} entries, got {arr.size}")
    if finite and arr.size and not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must contain only finite values (found NaN or inf)")
    if max_abs is not None and arr.size and np.max(np.abs(arr)) > max_abs:
        raise ValueError(f"{name} entries must have magnitude at most {max_abs:g}; largest is {np.max(np.abs(arr))!r}")
    if arr.size and (low is not None or high is not None):
        real = arr.real if arr.dtype.kind == "c" else arr
        if low is not None and (np.any(real < low) or (low_open and np.any(real == low))):
            raise ValueError(
                f"{name} entries must lie in {_interval_text(low, high, low_open, False)}; "
                f"smallest is {real.min()!r}"
            )
        if high is not None and np.any(real > high):
            raise ValueError(
                f"{name} entries must lie in {_interval_text(low, high, low_open, False)}; "
                f"largest is {real.max()!r}"
            )
    return arr


def probability_tolerance(dtype, n: int) -> float:
    """Tolerance on the sum of ``n`` probabilities stored in ``dtype``: ``max(1e-9, 4 n eps(dtype))``.

    Rounding ``n`` numbers to ``dtype`` and adding them errs by at most about ``n eps``; a float32
    distribution is therefore accepted with its own rounding, not refused by a float64 tolerance.
    """
    eps = float(np.finfo(dtype).eps) if np.dtype(dtype).kind in "fc" else 0.0
    return max(1e-9, 4.0 * max(n, 1) * eps)


def check_probability_vectors(p, name: str = "p", *, axis: int = -1, atol: float | None = None) -> np.ndarray:
    """Check that ``p`` holds probability vectors along ``axis`` (entries >= 0, sums equal 1 within ``atol``).

    The default ``atol`` scales with the input's dtype (:func:`probability_tolerance`).
    """
    in_dtype = getattr(p, "dtype", np.float64)
    arr = check_array(p, name, ndim=None, low=0.0, min_size=1)
    if arr.ndim == 0:
        raise ValueError(f"{name} must have at least one dimension")
    ax = check_axis(axis, "axis", arr.ndim)
    if atol is None:
        atol = probability_tolerance(in_dtype, arr.shape[ax])
    sums = arr.sum(axis=ax)
    if not np.all(np.abs(sums - 1.0) <= atol):
        worst = float(np.max(np.abs(sums - 1.0)))
        raise ValueError(f"{name} must sum to 1 along axis {axis} (within {atol:g}); worst deviation {worst:.3g}")
    return arr


def check_labels(y, name: str, n_classes: int) -> np.ndarray:
    """Check integer class labels in ``{0, ..., n_classes - 1}``; returns an int64 array."""
    arr = np.asarray(y)
    if arr.dtype.kind == "f":
        if not np.all(np.isfinite(arr)) or np.any(arr != np.round(arr)):
            raise TypeError(f"{name} must hold integer class labels")
    elif arr.dtype.kind not in "iub":
        raise TypeError(f"{name} must hold integer class labels, got dtype={arr.dtype}")
    arr = arr.astype(np.int64)
    if arr.size and (arr.min() < 0 or arr.max() >= n_classes):
        raise ValueError(
            f"{name} must lie in [0, {n_classes - 1}] (n_classes={n_classes}); got {arr.min()}..{arr.max()}"
        )
    return arr


def check_axis(axis, name: str, ndim: int) -> int:
    """Check that ``axis`` is an integer axis of an array of rank ``ndim``; returns it non-negative."""
    if isinstance(axis, bool):
        raise TypeError(f"{name} must be an integer, got bool")
    try:
        a = operator.index(axis)
    except TypeError:
        raise TypeError(f"{name} must be an integer, got {type(axis).__name__}") from None
    if not -ndim <= a < ndim:
        raise ValueError(f"{name} must lie in [{-ndim}, {ndim - 1}] for an array of {ndim} dimension(s), got {a}")
    return a % ndim


def check_size(count: int, name: str, *, limit: int = MAX_ELEMENTS, what: str = "entries") -> int:
    """Refuse a problem size above ``limit`` up front, with the limit in the message.

    ``name`` says which arguments set the size (``"K * n * d"``); ``what`` what is counted.
    """
    if count > limit:
        raise ValueError(f"{name} = {count:.4g} {what} exceeds the limit of {limit:.0e}; "
                         "the call would not fit in memory or time")
    return int(count)


def check_broadcast(*pairs: tuple[str, np.ndarray]) -> tuple[int, ...]:
    """Check that arrays broadcast together; pairs are ``(name, array)``. Returns the common shape.

    The error names the first two arguments whose shapes clash.
    """
    shape: tuple[int, ...] = ()
    seen: list[tuple[str, tuple[int, ...]]] = []
    for name, a in pairs:
        s = np.shape(a)
        try:
            shape = np.broadcast_shapes(shape, s)
        except ValueError:
            for other, t in seen:
                try:
                    np.broadcast_shapes(t, s)
                except ValueError:
                    raise ValueError(f"{other} with shape {t} and {name} with shape {s} cannot be broadcast "
                                     "together") from None
            names = ", ".join(f"{o} {t}" for o, t in seen)
            raise ValueError(f"{name} with shape {s} cannot be broadcast against {names}") from None
        seen.append((name, s))
    return shape


def pow2_exponent(maxabs: float) -> int:
    """Exponent ``k`` with ``maxabs * 2**-k`` in ``[0.5, 1)`` (0 for 0 or non-finite).

    Scaling an array by ``2**-k`` is exact (no rounding) unless entries fall below the subnormal
    range, so a scale-equivariant computation done on the scaled array and scaled back gives the
    same bits as the direct one where that one neither overflows nor underflows.
    """
    m = float(maxabs)
    if m == 0.0 or not np.isfinite(m):
        return 0
    return int(np.frexp(m)[1])


def check_same_length(*pairs: tuple[str, np.ndarray], axis: int = 0) -> int:
    """Check that arrays share their length along ``axis``; pairs are ``(name, array)``."""
    lengths = {name: np.shape(a)[axis] for name, a in pairs}
    if len(set(lengths.values())) > 1:
        detail = ", ".join(f"{k}: {v}" for k, v in lengths.items())
        raise ValueError(f"{' and '.join(lengths)} must have the same length along axis {axis} ({detail})")
    return next(iter(lengths.values()))


def check_seeds(seeds, name: str = "seeds") -> np.ndarray:
    """Return ``seeds`` as a non-empty 1-D int64 array of non-negative integers (one run per entry).

    >>> check_seeds([0, 3]).tolist()
    [0, 3]
    """
    arr = np.asarray(seeds)
    if arr.dtype.kind not in "iu" or arr.ndim != 1 or arr.size < 1 or np.any(arr < 0):
        raise ValueError(f"{name} must be a non-empty 1-D array of non-negative integers, got {seeds!r}")
    return arr.astype(np.int64)
