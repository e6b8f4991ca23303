"""f-divergences on a finite alphabet and their variational (Fenchel) lower bound.

Chapter ``book/feedback/flat-unlearning``. For a convex generator ``f`` with ``f(1) = 0`` the
f-divergence of ``P`` from ``Q`` is ``D_f(P||Q) = sum_i q_i f(p_i / q_i)`` (eq. :eq:`flat-fdiv`).
Fenchel duality ``f(u) = sup_t (t u - f*(t))`` gives, for every critic ``T``,

    D_f(P||Q) >= E_P[T] - E_Q[f*(T)]                                     (eq. :eq:`flat-bound`)

with equality at ``T_i = f'(p_i / q_i)`` (:prf:ref:`flat-thm-bound`). The four divergences here
use the parametrisation of the f-GAN family that the FLAT code also uses: an *activation*
``g`` maps a real score into the domain of ``f*``.

- KL: ``f(u) = u log u``, ``f*(t) = exp(t - 1)`` on all reals, ``g(v) = v``;
- TV: ``f(u) = |u - 1| / 2``, ``f*(t) = max(t, -1/2)`` for ``t <= 1/2``, ``g(v) = tanh(v) / 2``;
- JS: ``f(u) = u log u - (u + 1) log((u + 1) / 2)``, ``f*(t) = -log(2 - e^t)`` for ``t < log 2``,
  ``g(v) = log 2 - softplus(-v)``;
- Pearson: ``f(u) = (u - 1)^2``, ``f*(t) = t + t^2 / 4`` for ``t >= -2`` and ``-1`` below, ``g(v) = v``.

The conjugates are exact for generators defined on ``u >= 0``; the f-GAN tables list ``t`` (TV, on
``[-1/2, 1/2]``) and ``t + t^2/4`` (Pearson, on all reals), which agree with these wherever the
optimal critic can lie and elsewhere are larger, so they give a looser but still valid bound.
``JS`` with this generator is *twice* the Jensen-Shannon divergence (it lies in ``[0, 2 log 2]``).
"""

from __future__ import annotations

import math

import numpy as np

from .._validate import check_array, check_choice, check_probability_vectors, check_same_length

__all__ = [
    "CRITIC_MAX_ABS",
    "DIVERGENCES",
    "activation",
    "conjugate",
    "f_divergence",
    "f_generator",
    "optimal_critic",
    "variational_bound",
]

#: the divergences implemented (names as in the FLAT code's table, shortened)
DIVERGENCES = ("KL", "TV", "JS", "Pearson")
#: largest critic magnitude accepted by :func:`variational_bound` (keeps ``E_P[T]`` inside the float range)
CRITIC_MAX_ABS = 1e300

_LOG2 = math.log(2.0)


def _div(divergence) -> str:
    return check_choice(divergence, "divergence", DIVERGENCES)


def f_generator(u, divergence: str = "KL") -> np.ndarray:
    """The convex generator ``f(u)`` of an f-divergence, for ratios ``u >= 0`` (table of eq. :eq:`flat-fdiv`).

    Parameters
    ----------
    u : array_like
        Likelihood ratios ``p / q``, finite and ``>= 0``.
    divergence : {"KL", "TV", "JS", "Pearson"}

    Returns
    -------
    numpy.ndarray
        ``f(u)``, same shape as ``u``; ``f(1) = 0``. ``inf`` only where the value exceeds the float
        range (Pearson for ``u`` beyond about ``1e154``, KL for ``u`` beyond about ``2.4e305``).

    Raises
    ------
    TypeError, ValueError
        for a non-numeric ``u``, a negative or non-finite entry, or an unknown ``divergence``.

    Examples
    --------
    >>> f_generator([0.0, 1.0, 2.0], "TV").tolist()
    [0.5, 0.0, 0.5]
    """
    div = _div(divergence)
    u = check_array(u, "u", low=0.0)
    if div == "KL":
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            return np.where(u > 0, u * np.log(np.where(u > 0, u, 1.0)), 0.0)
    if div == "TV":
        return 0.5 * np.abs(u - 1.0)
    if div == "Pearson":
        with np.errstate(over="ignore"):
            return (u - 1.0) ** 2
    # JS: u log(2u/(u+1)) + log(2/(u+1)), written so that no large terms cancel
    with np.errstate(divide="ignore", invalid="ignore"):
        safe = np.where(u > 0, u, 1.0)
        # log(2u/(u+1)): log u - log1p(u) for small u (1/u would overflow), -log1p(1/u) for large u
        log_ratio = np.where(safe <= 1.0, np.log(safe) - np.log1p(safe), -np.log1p(1.0 / np.maximum(safe, 1.0)))
        first = np.where(u > 0, u * (_LOG2 + log_ratio), 0.0)
    return first + _LOG2 - np.log1p(u)


def conjugate(t, divergence: str = "KL") -> np.ndarray:
    """Convex conjugate ``f*(t) = sup_u (t u - f(u))`` of the generator (eq. :eq:`flat-conj`).

    Parameters
    ----------
    t : array_like
        Points in the domain of ``f*``: all reals for KL and Pearson, ``t <= 1/2`` for TV,
        ``t < log 2`` for JS.
    divergence : {"KL", "TV", "JS", "Pearson"}

    Returns
    -------
    numpy.ndarray
        ``f*(t)``; ``inf`` only where the value exceeds the float range (KL for ``t > 710``,
        Pearson for ``|t|`` beyond about ``1e154``).

    Raises
    ------
    TypeError, ValueError
        for a non-numeric ``t``, a point outside the domain of the conjugate, or an unknown
        ``divergence``.

    Examples
    --------
    >>> float(conjugate(1.0, "KL")), float(conjugate(2.0, "Pearson"))
    (1.0, 3.0)
    """
    div = _div(divergence)
    t = check_array(t, "t")
    if div == "TV" and t.size and np.max(t) > 0.5:
        raise ValueError("t must be at most 0.5, the domain of the conjugate for TV")
    if div == "JS" and t.size and np.max(t) >= _LOG2:
        raise ValueError("t must be below log 2, the domain of the conjugate for JS")
    return _conjugate(t, div)


def _conjugate(t: np.ndarray, div: str) -> np.ndarray:
    with np.errstate(over="ignore"):
        if div == "KL":
            return np.exp(t - 1.0)
        if div == "TV":
            return np.maximum(t, -0.5)  # below -1/2 the supremum over u >= 0 sits at u = 0
        if div == "Pearson":
            # t + t^2/4 at u = 1 + t/2 >= 0; for t < -2 the supremum over u >= 0 is at u = 0: -f(0) = -1
            return np.where(t < -2.0, -1.0, np.where(t > 1e150, np.inf, t + 0.25 * t * t))
    # JS: -log(2 - e^t) = -log 2 - log(-expm1(t - log 2)), stable as t -> log 2
    return -_LOG2 - np.log(-np.expm1(t - _LOG2))


def activation(v, divergence: str = "KL") -> np.ndarray:
    """Output activation ``g(v)`` mapping any real score into the domain of ``f*`` (table after eq. :eq:`flat-conj`).

    Parameters
    ----------
    v : array_like
        Real scores, finite.
    divergence : {"KL", "TV", "JS", "Pearson"}

    Returns
    -------
    numpy.ndarray
        ``g(v)``: ``v`` (KL, Pearson), ``tanh(v)/2`` (TV), ``log 2 - softplus(-v)`` (JS).

    Raises
    ------
    TypeError, ValueError
        for a non-numeric or non-finite ``v`` or an unknown ``divergence``.

    Examples
    --------
    >>> round(float(activation(0.0, "JS")), 12)
    0.0
    """
    div = _div(divergence)
    v = check_array(v, "v")
    return _activation(v, div)


def _activation(v: np.ndarray, div: str) -> np.ndarray:
    if div in ("KL", "Pearson"):
        return v.copy()
    if div == "TV":
        return 0.5 * np.tanh(v)
    return _LOG2 - np.logaddexp(0.0, -v)


def _probabilities(p, q):
    p = check_probability_vectors(p, "p")
    q = check_probability_vectors(q, "q")
    if p.ndim != 1:
        raise ValueError(f"p must be one probability vector (1 dimension), got shape {p.shape}")
    if q.ndim != 1:
        raise ValueError(f"q must be one probability vector (1 dimension), got shape {q.shape}")
    check_same_length(("p", p), ("q", q))
    return p, q


def f_divergence(p, q, divergence: str = "KL") -> float:
    """Exact f-divergence ``D_f(P||Q) = sum_i q_i f(p_i/q_i)`` of two distributions on a finite set.

    Terms with ``q_i = 0`` are ``p_i f'(inf)`` (eq. :eq:`flat-fdiv`): infinite for KL and Pearson,
    ``p_i / 2`` for TV and ``p_i log 2`` for JS.

    Parameters
    ----------
    p, q : array_like, shape (k,)
        Probability vectors (entries ``>= 0`` summing to one).
    divergence : {"KL", "TV", "JS", "Pearson"}
        ``JS`` is twice the Jensen-Shannon divergence (the f-GAN generator).

    Returns
    -------
    float
        ``D_f(P||Q) >= 0``; ``inf`` for KL and Pearson when ``P`` puts mass where ``Q`` has none, or
        when the value exceeds the float range.

    Raises
    ------
    TypeError, ValueError
        for inputs that are not probability vectors of the same length, or an unknown ``divergence``.

    Examples
    --------
    >>> f_divergence([0.5, 0.5, 0.0], [0.0, 0.5, 0.5], "TV")
    0.5
    """
    div = _div(divergence)
    p, q = _probabilities(p, q)
    if div == "TV":
        return float(0.5 * np.sum(np.abs(p - q)))
    pos, qpos = p > 0, q > 0
    if div in ("KL", "Pearson") and np.any(pos & ~qpos):
        return math.inf
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        if div == "KL":
            terms = np.where(pos, p * (np.log(np.where(pos, p, 1.0)) - np.log(np.where(qpos, q, 1.0))), 0.0)
        elif div == "Pearson":
            terms = np.where(qpos, (p - q) * ((p - q) / np.where(qpos, q, 1.0)), 0.0)
        else:
            m = p + q
            safe_m = np.where(m > 0, m, 1.0)
            terms = (np.where(pos, p * (_LOG2 + np.log(np.where(pos, p, 1.0)) - np.log(safe_m)), 0.0)
                     + np.where(qpos, q * (_LOG2 + np.log(np.where(qpos, q, 1.0)) - np.log(safe_m)), 0.0))
    total = float(np.sum(terms))
    return max(total, 0.0)  # rounding can leave -1e-17 where the divergence is zero


def optimal_critic(p, q, divergence: str = "KL") -> np.ndarray:
    """The critic ``T_i = f'(p_i / q_i)`` at which the bound :eq:`flat-bound` is tight.

    Parameters
    ----------
    p, q : array_like, shape (k,)
        Probability vectors.
    divergence : {"KL", "TV", "JS", "Pearson"}

    Returns
    -------
    numpy.ndarray, shape (k,)
        ``1 + log(p/q)`` (KL), ``sign(p - q)/2`` (TV), ``log(2p/(p+q))`` (JS), ``2(p/q - 1)``
        (Pearson). Entries may be ``-inf`` (KL, JS where ``p_i = 0``) or ``inf`` (KL, Pearson where
        ``q_i = 0 < p_i``, or beyond the float range): the supremum is then approached, not attained.
        Where ``p_i = q_i = 0`` the entry is ``f'(1)``.

    Raises
    ------
    TypeError, ValueError
        as :func:`f_divergence`.

    Examples
    --------
    >>> optimal_critic([0.5, 0.5], [0.25, 0.75], "TV").tolist()
    [0.5, -0.5]
    """
    div = _div(divergence)
    p, q = _probabilities(p, q)
    if div == "TV":
        return 0.5 * np.sign(p - q)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        lp = np.log(p)
        if div == "KL":
            out = 1.0 + (lp - np.log(q))
        elif div == "JS":
            # -log((1 + q/p)/2) while q <= p (exactly 0 at p = q); the log form otherwise (no overflow of q/p)
            small = np.where(q <= p, -np.log(0.5 + 0.5 * (q / np.where(p > 0, p, 1.0))), 0.0)
            out = np.where(q <= p, small, _LOG2 + lp - np.log(p + q))
        else:
            out = np.where(q > 0, 2.0 * ((p - q) / np.where(q > 0, q, 1.0)), np.inf)
    both_zero = (p == 0) & (q == 0)
    return np.where(both_zero, 0.0 if div != "KL" else 1.0, out)


def variational_bound(critic, p, q, divergence: str = "KL") -> float:
    """Fenchel lower bound ``E_P[T] - E_Q[f*(T)]`` of ``D_f(P||Q)`` for a critic ``T`` (eq. :eq:`flat-bound`).

    Parameters
    ----------
    critic : array_like, shape (k,)
        Critic values ``T_i``, finite with ``|T_i| <= CRITIC_MAX_ABS``, in the domain of ``f*``
        (``T_i <= 1/2`` for TV, ``T_i < log 2`` for JS). Where ``q_i = 0`` the conjugate is not
        evaluated and ``T_i`` may also take the end point ``f'(inf)`` of the domain (``log 2`` for JS),
        which keeps the bound valid there (``p_i T_i <= p_i f'(inf)``).
    p, q : array_like, shape (k,)
        Probability vectors.
    divergence : {"KL", "TV", "JS", "Pearson"}

    Returns
    -------
    float
        The bound, ``<= f_divergence(p, q, divergence)`` (:prf:ref:`flat-thm-bound`); ``-inf`` when
        ``E_Q[f*(T)]`` exceeds the float range (KL with critics above about 710).

    Raises
    ------
    TypeError, ValueError
        for a critic of the wrong shape, out of the conjugate's domain, or non-finite, for inputs
        that are not probability vectors, or an unknown ``divergence``.

    Examples
    --------
    >>> p, q = [0.2, 0.8], [0.5, 0.5]
    >>> b = variational_bound(optimal_critic(p, q, "KL"), p, q, "KL")
    >>> abs(b - f_divergence(p, q, "KL")) < 1e-15
    True
    """
    div = _div(divergence)
    p, q = _probabilities(p, q)
    t = check_array(critic, "critic", ndim=1, max_abs=CRITIC_MAX_ABS)
    check_same_length(("critic", t), ("p", p))
    live = q > 0
    tq = t[live]
    if div == "TV" and t.size and np.max(t) > 0.5:
        raise ValueError("critic must be at most 0.5, the domain of the conjugate for TV")
    # JS: f*(t) is finite for t < log 2 only; where q = 0 the critic may reach f'(inf) = log 2, no further
    if div == "JS" and t.size and (np.max(t) > _LOG2 or (tq.size and np.max(tq) >= _LOG2)):
        raise ValueError("critic must be at most log 2, and below log 2 where q > 0 (the domain of the "
                         "conjugate for JS)")
    gain = float(np.dot(p, t))
    with np.errstate(over="ignore"):
        cost = float(np.sum(q[live] * _conjugate(tq, div)))
    return gain - cost
