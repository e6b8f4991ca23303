"""Label differential privacy through aggregation (chapter ``book/feedback/aggregate-responses``).

The Laplace mechanism on clipped bag means (:func:`~lossbook.aggregate.laplace_bag_responses`) adds
noise of variance ``2 (2C/(k eps))^2`` to each bag mean; in the reduced model :eq:`agg-reduced`,
where ``v_a = sqrt(k) ybar_a``, that is an extra ``8 C^2/(k eps^2)`` of noise variance per bag
(:eq:`agg-dp-noise`). Ignoring the clipping bias, the risk under privacy is
:func:`~lossbook.aggregate.bag_regression_risk` with ``sigma2`` replaced by this effective variance.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .._validate import check_array, check_real
from .theory import bag_regression_risk, optimal_rho

__all__ = ["DPBagSizeCurve", "dp_bag_size_curve", "dp_effective_noise"]


class DPBagSizeCurve(NamedTuple):
    """Asymptotic risk under label-DP against the bag size ``k``."""

    k: np.ndarray            #: bag sizes
    best_rho: np.ndarray     #: minimising rho per k (0 at k = 1, where rho plays no role)
    best_risk: np.ndarray    #: min over rho of the risk
    bag_risk: np.ndarray     #: risk of the bag-level estimator (rho = 0)
    instance_risk: np.ndarray  #: risk of the instance-level estimator (rho = 1)
    k_star: int              #: bag size with the smallest ``best_risk``


MAX_NOISE_SCALE = 1e100  #: largest clip / epsilon accepted (the Laplace noise scale, up to a factor 2/k)


def check_privacy(epsilon, clip) -> tuple[float, float]:
    """Validate ``epsilon, clip > 0`` with ``clip / epsilon <= MAX_NOISE_SCALE`` (noise variances stay finite)."""
    epsilon = check_real(epsilon, "epsilon", low=0.0, low_open=True)
    clip = check_real(clip, "clip", low=0.0, low_open=True)
    if clip > MAX_NOISE_SCALE * epsilon:
        raise ValueError(f"clip / epsilon must be at most {MAX_NOISE_SCALE:g} (the privacy noise would overflow), "
                         f"got clip={clip!r}, epsilon={epsilon!r}")
    return epsilon, clip


def dp_effective_noise(k, epsilon, clip, *, sigma2=1.0) -> float:
    """Effective noise variance :eq:`agg-dp-noise`, ``sigma2 + 8 clip^2/(k epsilon^2)``.

    Valid for the reduced model with the Laplace mechanism of :prf:ref:`agg-prop-dp`; it ignores the
    bias that clipping introduces (measured in the chapter by simulation).

    Parameters
    ----------
    k : float
        Bag size ``>= 1``.
    epsilon : float
        Privacy parameter ``> 0``.
    clip : float
        Clipping level ``> 0``; ``clip / epsilon`` (the Laplace noise scale up to a factor) at most ``1e100``.
    sigma2 : float, optional
        Label noise variance ``>= 0``.

    Returns
    -------
    float
        ``inf`` only when the true value exceeds the float range (``sigma2`` near the float limit).

    Raises
    ------
    ValueError, TypeError
        If an argument is outside its range.

    Examples
    --------
    >>> dp_effective_noise(8, 1.0, 3.0)      # 1 + 8 * 9 / 8
    10.0
    """
    k = check_real(k, "k", low=1.0)
    epsilon, clip = check_privacy(epsilon, clip)
    sigma2 = check_real(sigma2, "sigma2", low=0.0)
    r = clip / epsilon
    return sigma2 + 8.0 * r * (r / k)


def dp_bag_size_curve(gamma, epsilon, clip, ks, *, r2=1.0, sigma2=1.0) -> DPBagSizeCurve:
    """Risk against bag size under label-DP: best ``rho`` per ``k``, and the bag size ``k*`` minimising it.

    Each ``k`` uses :func:`~lossbook.aggregate.optimal_rho` with the noise of :func:`dp_effective_noise`;
    ``k = 1`` is least squares on the privatised individual labels. The clipping bias is ignored.

    Parameters
    ----------
    gamma : float
        ``d/n`` in ``(0, 1)``; every ``k`` must satisfy ``gamma k != 1``.
    epsilon, clip : float
        Privacy parameter and clipping level, both ``> 0``, with ``clip / epsilon <= 1e100``.
    ks : array_like of int
        Bag sizes ``>= 1``.
    r2, sigma2 : float, optional

    Returns
    -------
    DPBagSizeCurve

    Raises
    ------
    ValueError, TypeError
        If an argument is outside its range.

    Examples
    --------
    >>> c = dp_bag_size_curve(0.1, 1.0, 3.0, [1, 2, 4, 8])
    >>> bool(c.best_risk[0] > c.best_risk.min())     # aggregation helps under privacy
    True
    """
    gamma = check_real(gamma, "gamma", low=0.0, high=1.0, low_open=True, high_open=True)
    epsilon, clip = check_privacy(epsilon, clip)
    r2 = check_real(r2, "r2", low=0.0)
    sigma2 = check_real(sigma2, "sigma2", low=0.0)
    karr = check_array(ks, "ks", ndim=1, dtype=float, low=1.0, min_size=1)
    if np.any(karr != np.round(karr)):
        raise TypeError("ks must hold integer bag sizes")
    ks_int = karr.astype(int)
    if np.any(gamma * ks_int == 1.0):
        raise ValueError(f"gamma * k must differ from 1 for every k in ks (the bag-level risk diverges there); "
                         f"gamma={gamma!r}, ks={ks_int.tolist()}")
    best_rho, best, bag, inst = [], [], [], []
    for k in ks_int:
        s2 = dp_effective_noise(int(k), epsilon, clip, sigma2=sigma2)
        if k == 1:
            r = bag_regression_risk(1, gamma, 0.0, r2=r2, sigma2=s2).risk
            best_rho.append(0.0)  # rho has no effect for k = 1 (no within-bag deviations)
            best.append(r)
            bag.append(r)
            inst.append(r)
            continue
        o = optimal_rho(int(k), gamma, r2=r2, sigma2=s2)
        best_rho.append(o.rho)
        best.append(o.risk)
        bag.append(bag_regression_risk(int(k), gamma, 0.0, r2=r2, sigma2=s2).risk)
        inst.append(bag_regression_risk(int(k), gamma, 1.0, r2=r2, sigma2=s2).risk)
    best = np.asarray(best)
    return DPBagSizeCurve(ks_int, np.asarray(best_rho), best, np.asarray(bag), np.asarray(inst),
                          int(ks_int[int(np.argmin(best))]))
