"""Summaries of a metric over seeds: mean with a confidence interval, and paired comparisons.

Every comparison between methods in the book runs over several seeds and reports these. The
interval is Student's t interval for the mean,
:math:`\\bar x\\pm t_{1-\\alpha/2,\\,n-1}\\,s/\\sqrt n`, which assumes that the per-seed values are
independent and roughly normal; with few seeds that is an assumption, and the chapters say so.
A *paired* difference (the same seeds, data splits and initialisations for both methods) removes
the seed-to-seed variation the two methods share, so it is the right test of "A beats B".
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .._validate import check_array, check_real

__all__ = ["PairedDifference", "SeedSummary", "format_mean_ci", "paired_difference", "summarize_seeds"]


class SeedSummary(NamedTuple):
    """Mean of a metric over ``n`` seeds with its Student-t confidence interval."""

    mean: float
    std: float
    n: int
    ci_low: float
    ci_high: float
    half_width: float
    confidence: float


class PairedDifference(NamedTuple):
    """Mean of the per-seed differences ``a - b`` with its t interval and the two-sided p-value."""

    mean: float
    std: float
    n: int
    ci_low: float
    ci_high: float
    half_width: float
    confidence: float
    p_value: float
    wins: int  # seeds with a > b


def _t_quantile(confidence: float, dof: int) -> float:
    from scipy import stats

    return float(stats.t.ppf(0.5 + confidence / 2.0, dof))


def summarize_seeds(values, confidence: float = 0.95) -> SeedSummary:
    """Mean, sample standard deviation and Student-t interval of a metric measured once per seed.

    Parameters
    ----------
    values : array_like, shape (n,)
        One finite value per seed, ``n >= 2``.
    confidence : float, default 0.95
        Coverage of the interval, in ``(0, 1)``.

    Returns
    -------
    SeedSummary
        ``half_width`` is :math:`t_{(1+c)/2,\\,n-1}\\,s/\\sqrt n`; with ``std == 0`` the interval is the point.
        Mean and deviation are formed from the values divided by their largest modulus, so values near the
        float range neither overflow nor lose their spread; a statistic whose true value exceeds the float
        range (``std``, ``half_width`` or an interval end for values near 1e308, or a confidence
        within 1e-16 of 1) is ``inf``, never NaN.

    Examples
    --------
    >>> s = summarize_seeds([0.90, 0.92, 0.91, 0.93, 0.89])
    >>> round(s.mean, 3), round(s.half_width, 4)
    (0.91, 0.0196)
    """
    v = check_array(values, "values", ndim=1, min_size=2)
    confidence = check_real(confidence, "confidence", low=0.0, high=1.0, low_open=True, high_open=True)
    n = v.size
    scale = float(np.max(np.abs(v)))
    if scale == 0.0:
        return SeedSummary(0.0, 0.0, n, 0.0, 0.0, 0.0, confidence)
    u = v / scale
    with np.errstate(over="ignore"):
        mean = float(scale * np.mean(u))
        std = float(scale * np.std(u, ddof=1))
        h = float(_t_quantile(confidence, n - 1) * std / np.sqrt(n))
        return SeedSummary(mean, std, n, mean - h, mean + h, h, confidence)


def paired_difference(a, b, confidence: float = 0.95) -> PairedDifference:
    """Paired comparison of two methods run on the same seeds: the mean of ``a - b`` and its interval.

    Parameters
    ----------
    a, b : array_like, shape (n,)
        The metric of each method, seed by seed (``a[i]`` and ``b[i]`` share seed ``i``), ``n >= 2``.
    confidence : float, default 0.95
        Coverage of the interval, in ``(0, 1)``.

    Returns
    -------
    PairedDifference
        The interval excludes 0 exactly when the two-sided paired t-test rejects at ``1 - confidence``.
        Differences beyond the float range are handled as in :func:`summarize_seeds` (``inf``, never NaN).

    Examples
    --------
    >>> d = paired_difference([0.91, 0.93, 0.92], [0.90, 0.91, 0.91])
    >>> round(d.mean, 4), d.wins
    (0.0133, 3)
    """
    a = check_array(a, "a", ndim=1, min_size=2)
    b = check_array(b, "b", ndim=1, min_size=2)
    if a.shape != b.shape:
        raise ValueError(f"a and b must hold one value per seed for the same seeds; got lengths {a.size} and {b.size}")
    from scipy import stats

    with np.errstate(over="ignore"):
        d = a - b
    if np.all(np.isfinite(d)):
        s = half = summarize_seeds(d, confidence)
    else:  # a - b overflows: summarise (a - b) / 2, exact in halves, and scale back (inf where it must be)
        half = summarize_seeds(a / 2.0 - b / 2.0, confidence)
        with np.errstate(over="ignore"):
            s = SeedSummary(*(2.0 * x for x in half[:2]), half.n, *(2.0 * x for x in half[3:6]), confidence)
    if half.std == 0.0:
        p = 1.0 if half.mean == 0.0 else 0.0
    else:
        tstat = half.mean / (half.std / np.sqrt(half.n))  # scale-free: the same from d or d / 2
        p = float(2.0 * stats.t.sf(abs(tstat), half.n - 1))
    return PairedDifference(s.mean, s.std, s.n, s.ci_low, s.ci_high, s.half_width, confidence, p,
                            int(np.sum(a > b)))


def format_mean_ci(summary: SeedSummary | PairedDifference, digits: int = 3, unit: str = "") -> str:
    """Render ``"0.912 ± 0.004"`` (mean ± half-width of the interval), with an optional unit.

    Parameters
    ----------
    summary : SeedSummary or PairedDifference
        What to render.
    digits : int, default 3
        Decimal places, in ``[0, 12]``.
    unit : str, default ""
        Appended after a space when non-empty (``"dB"``, ``"%"``).

    Returns
    -------
    str

    Examples
    --------
    >>> format_mean_ci(summarize_seeds([1.0, 2.0, 3.0]), digits=2)
    '2.00 ± 2.48'
    """
    if not isinstance(summary, SeedSummary | PairedDifference):
        raise TypeError(f"summary must be a SeedSummary or PairedDifference, got {type(summary).__name__}")
    from .._validate import check_int

    digits = check_int(digits, "digits", low=0, high=12)
    if not isinstance(unit, str):
        raise TypeError(f"unit must be a string, got {type(unit).__name__}")
    text = f"{summary.mean:.{digits}f} ± {summary.half_width:.{digits}f}"
    return f"{text} {unit}" if unit else text
