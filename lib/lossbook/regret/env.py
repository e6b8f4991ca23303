"""Exactly linear layered MDPs (soft state aggregation), adversarial loss schedules, exact DP.

The testbed of the chapter *Refined regret for adversarial MDPs with linear function
approximation* (``book/feedback/adversarial-mdp-regret``). Every layer has ``S`` states; the first
state is drawn from ``rho``; transitions are ``P_h(s'|s,a) = sum_j phi_j(s,a) nu_{h,j}(s')`` with
``phi(s,a)`` on the probability simplex of ``R^d`` and ``nu_{h,j}`` distributions over the next
layer, so the MDP is linear and every ``Q^pi`` is linear in ``phi`` (eq. :eq:`amdp-linear-mdp`).
Losses are ``ell_k(s,a) = phi(s,a)^T theta_{k,h}`` with ``theta_{k,h} in [0,1]^d``.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .._rng import SeedLike, as_generator
from .._validate import check_array, check_int, check_real

__all__ = [
    "LinearMDP",
    "best_fixed_policy",
    "loss_table",
    "make_linear_mdp",
    "make_loss_schedule",
    "occupancy",
    "policy_values",
    "uniform_policy",
]


class LinearMDP(NamedTuple):
    """A layered, exactly linear MDP.

    Attributes
    ----------
    phi : ndarray, shape (H, S, A, d)
        Features; each ``phi[h, s, a]`` lies on the probability simplex of ``R^d``.
    P : ndarray, shape (H, S, A, S)
        ``P[h, s, a, s']`` is the probability of moving to state ``s'`` of layer ``h + 1``;
        the last layer's slice is zero (episodes end after layer ``H``).
    rho : ndarray, shape (S,)
        Distribution of the first state.
    nu : ndarray, shape (H, d, S)
        Next-state distributions of the aggregation factors (``nu[H-1]`` is zero).
    """

    phi: np.ndarray
    P: np.ndarray
    rho: np.ndarray
    nu: np.ndarray

    @property
    def H(self) -> int:
        return self.phi.shape[0]

    @property
    def S(self) -> int:
        return self.phi.shape[1]

    @property
    def A(self) -> int:
        return self.phi.shape[2]

    @property
    def d(self) -> int:
        return self.phi.shape[3]


def make_linear_mdp(H: int, S: int, A: int, d: int, *, alpha: float = 0.3, seed: SeedLike) -> LinearMDP:
    """Random exactly linear MDP built by soft state aggregation.

    ``phi(s, a) ~ Dirichlet(alpha 1_d)``, ``nu_{h,j} ~ Dirichlet(1_S)``, ``rho ~ Dirichlet(1_S)`` and
    ``P_h(.|s,a) = sum_j phi_j(s,a) nu_{h,j}`` (chapter eq. :eq:`amdp-linear-mdp`).

    Parameters
    ----------
    H, S, A, d : int
        Horizon (>= 1), states per layer (>= 1), actions (>= 2), feature dimension (>= 1).
    alpha : float
        Dirichlet concentration of the features, > 0 (small values give sparse features).
    seed : int, SeedSequence or Generator
        Randomness.

    Returns
    -------
    LinearMDP

    Examples
    --------
    >>> mdp = make_linear_mdp(2, 3, 2, 4, seed=0)
    >>> mdp.phi.shape, mdp.P.shape
    ((2, 3, 2, 4), (2, 3, 2, 3))
    >>> bool(np.allclose(mdp.P[0].sum(axis=-1), 1.0))
    True
    """
    H = check_int(H, "H", low=1)
    S = check_int(S, "S", low=1)
    A = check_int(A, "A", low=2)
    d = check_int(d, "d", low=1)
    alpha = check_real(alpha, "alpha", low=0.0, low_open=True)
    rng = as_generator(seed)
    phi = rng.dirichlet(np.full(d, alpha), size=(H, S, A))
    # Dirichlet draws with tiny alpha can underflow to an all-zero row; renormalise defensively.
    phi = np.where(np.isfinite(phi), phi, 0.0)
    bad = phi.sum(axis=-1) <= 0
    phi[bad] = 1.0 / d
    phi /= phi.sum(axis=-1, keepdims=True)
    nu = np.zeros((H, d, S))
    if H > 1:
        nu[:-1] = rng.dirichlet(np.ones(S), size=(H - 1, d))
    P = np.einsum("hsaj,hjt->hsat", phi, nu)
    rho = rng.dirichlet(np.ones(S))
    return LinearMDP(phi=phi, P=P, rho=rho, nu=nu)


def _check_mdp(mdp) -> LinearMDP:
    if not isinstance(mdp, LinearMDP):
        raise TypeError(f"mdp must be a LinearMDP (from make_linear_mdp), got {type(mdp).__name__}")
    return mdp


def make_loss_schedule(
    mdp: LinearMDP,
    K: int,
    kind: str = "switch",
    *,
    block: int = 50,
    amp: float = 0.25,
    seed: SeedLike,
) -> np.ndarray:
    """Oblivious adversarial loss parameters ``theta[k, h] in [0, 1]^d`` for ``K`` episodes.

    ``kind`` is one of

    * ``"switch"``: ``theta_k = clip(theta_bar + amp * sigma_k * u)`` with ``sigma_k = +-1``
      alternating in blocks of ``block`` episodes;
    * ``"drift"``: ``theta_k = clip(theta_bar + amp * sin(2 pi k / block + c) * u)``, a slow sinusoid
      when ``block`` is large;
    * ``"stationary"``: ``theta_k = theta_bar``.

    ``theta_bar ~ U(0.2, 0.8)^d`` and ``u ~ U(-1, 1)^d`` per layer. The losses are
    ``ell_k(s, a) = phi(s, a)^T theta_{k,h} in [0, 1]`` (see :func:`loss_table`).

    Parameters
    ----------
    mdp : LinearMDP
        The instance (only ``H`` and ``d`` are used).
    K : int
        Number of episodes, >= 1.
    kind : {"switch", "drift", "stationary"}
        The adversary.
    block : int
        Block length of ``"switch"`` / period of ``"drift"``, in episodes, >= 1.
    amp : float
        Perturbation amplitude, in ``[0, 1]``.
    seed : int, SeedSequence or Generator
        Randomness of ``theta_bar``, ``u`` and the drift phase.

    Returns
    -------
    ndarray, shape (K, H, d)

    Examples
    --------
    >>> mdp = make_linear_mdp(1, 4, 3, 5, seed=1)
    >>> theta = make_loss_schedule(mdp, 100, "switch", seed=2)
    >>> theta.shape, bool(theta.min() >= 0 and theta.max() <= 1)
    ((100, 1, 5), True)
    """
    mdp = _check_mdp(mdp)
    K = check_int(K, "K", low=1)
    block = check_int(block, "block", low=1)
    amp = check_real(amp, "amp", low=0.0, high=1.0)
    if kind not in ("switch", "drift", "stationary"):
        raise ValueError(f"kind must be 'switch', 'drift' or 'stationary', got {kind!r}")
    rng = as_generator(seed)
    H, d = mdp.H, mdp.d
    theta_bar = rng.uniform(0.2, 0.8, size=(H, d))
    u = rng.uniform(-1.0, 1.0, size=(H, d))
    k = np.arange(K)
    if kind == "switch":
        sig = np.where((k // block) % 2 == 0, 1.0, -1.0)
    elif kind == "drift":
        sig = np.sin(2.0 * np.pi * k / block + rng.uniform(0, 2 * np.pi))
    else:
        sig = np.zeros(K)
    theta = theta_bar[None] + amp * sig[:, None, None] * u[None]
    return np.clip(theta, 0.0, 1.0)


def loss_table(mdp: LinearMDP, theta_k) -> np.ndarray:
    """Loss table ``ell[h, s, a] = phi[h, s, a]^T theta_k[h]`` (chapter eq. :eq:`amdp-linear-mdp`).

    Parameters
    ----------
    mdp : LinearMDP
    theta_k : array_like, shape (H, d)
        Loss parameter of one episode (e.g. ``make_loss_schedule(...)[k]``).

    Returns
    -------
    ndarray, shape (H, S, A)

    Examples
    --------
    >>> mdp = make_linear_mdp(1, 2, 2, 3, seed=0)
    >>> loss_table(mdp, np.ones((1, 3)))   # phi is on the simplex
    array([[[1., 1.],
            [1., 1.]]])
    """
    mdp = _check_mdp(mdp)
    theta_k = check_array(theta_k, "theta_k", ndim=2)
    if theta_k.shape != (mdp.H, mdp.d):
        raise ValueError(f"theta_k must have shape (H, d) = {(mdp.H, mdp.d)}, got {theta_k.shape}")
    return np.einsum("hsaj,hj->hsa", mdp.phi, theta_k)


def _check_policy(mdp: LinearMDP, pi) -> np.ndarray:
    pi = check_array(pi, "pi", ndim=3, low=0.0)
    if pi.shape != (mdp.H, mdp.S, mdp.A):
        raise ValueError(f"pi must have shape (H, S, A) = {(mdp.H, mdp.S, mdp.A)}, got {pi.shape}")
    if not np.allclose(pi.sum(axis=-1), 1.0, atol=1e-9):
        raise ValueError("pi must hold probability vectors over actions (rows summing to 1)")
    return pi


def _check_table(mdp: LinearMDP, ell, name: str) -> np.ndarray:
    ell = check_array(ell, name, ndim=3)
    if ell.shape != (mdp.H, mdp.S, mdp.A):
        raise ValueError(f"{name} must have shape (H, S, A) = {(mdp.H, mdp.S, mdp.A)}, got {ell.shape}")
    return ell


def uniform_policy(mdp: LinearMDP) -> np.ndarray:
    """The uniform policy ``pi[h, s, a] = 1/A``, shape (H, S, A).

    Parameters
    ----------
    mdp : LinearMDP
        The environment (only its shape ``(H, S, A)`` is used).

    Returns
    -------
    ndarray, shape (H, S, A)
        Every entry ``1/A``.

    Examples
    --------
    >>> uniform_policy(make_linear_mdp(1, 2, 4, 3, seed=0))[0, 0].tolist()
    [0.25, 0.25, 0.25, 0.25]
    """
    mdp = _check_mdp(mdp)
    return np.full((mdp.H, mdp.S, mdp.A), 1.0 / mdp.A)


def policy_values(mdp: LinearMDP, pi, ell) -> tuple[np.ndarray, np.ndarray]:
    """Exact values of policy ``pi`` for the loss table ``ell`` by backward recursion.

    ``Q[h, s, a] = ell[h, s, a] + sum_s' P[h, s, a, s'] V[h + 1, s']`` and
    ``V[h, s] = sum_a pi[h, s, a] Q[h, s, a]`` (chapter eq. :eq:`amdp-bellman`). The value of the
    episode is ``rho @ V[0]``.

    Parameters
    ----------
    mdp : LinearMDP
        The environment.
    pi : array_like, shape (H, S, A)
        Markov policy; each ``pi[h, s]`` is a probability vector.
    ell : array_like, shape (H, S, A)
        Loss of every state-action pair of every layer.

    Returns
    -------
    V : ndarray, shape (H, S)
    Q : ndarray, shape (H, S, A)
        Entries are ``inf`` only where the true value exceeds the float range (losses near the float limit).

    Examples
    --------
    >>> mdp = make_linear_mdp(2, 3, 2, 2, seed=0)
    >>> V, Q = policy_values(mdp, uniform_policy(mdp), np.ones((2, 3, 2)))
    >>> bool(np.allclose(V[0], 2.0))
    True
    """
    mdp = _check_mdp(mdp)
    pi = _check_policy(mdp, pi)
    ell = _check_table(mdp, ell, "ell")
    H, S, A = mdp.H, mdp.S, mdp.A
    V = np.zeros((H + 1, S))
    Q = np.zeros((H, S, A))
    with np.errstate(over="ignore", invalid="ignore"):  # inf only where the true values exceed the float range
        for h in range(H - 1, -1, -1):
            Q[h] = ell[h] + mdp.P[h] @ V[h + 1]
            V[h] = np.sum(pi[h] * Q[h], axis=-1)
    return V[:H], Q


def occupancy(mdp: LinearMDP, pi) -> np.ndarray:
    """State occupancy ``mu[h, s] = Pr(s_h = s)`` under ``pi`` (forward recursion), shape (H, S).

    Parameters
    ----------
    mdp : LinearMDP
        The environment.
    pi : array_like, shape (H, S, A)
        Markov policy; each ``pi[h, s]`` is a probability vector.

    Returns
    -------
    ndarray, shape (H, S)
        Each row is a probability vector.

    Examples
    --------
    >>> mdp = make_linear_mdp(3, 4, 2, 3, seed=0)
    >>> bool(np.allclose(occupancy(mdp, uniform_policy(mdp)).sum(axis=1), 1.0))
    True
    """
    mdp = _check_mdp(mdp)
    pi = _check_policy(mdp, pi)
    mu = np.zeros((mdp.H, mdp.S))
    mu[0] = mdp.rho
    for h in range(mdp.H - 1):
        mu[h + 1] = np.einsum("s,sa,sat->t", mu[h], pi[h], mdp.P[h])
    return mu


def best_fixed_policy(mdp: LinearMDP, ell_cum) -> tuple[np.ndarray, float]:
    """Best fixed policy in hindsight for the cumulative loss table ``ell_cum`` (shape (H, S, A)).

    Because the transitions do not change with ``k``, ``sum_k V^pi_k = V^pi(sum_k ell_k)``; the
    minimum over all (randomised, Markov) policies is attained by a deterministic policy found by
    backward dynamic programming (chapter eq. :eq:`amdp-comparator`).

    Parameters
    ----------
    mdp : LinearMDP
        The environment.
    ell_cum : array_like, shape (H, S, A)
        Sum of the loss tables of all episodes.

    Returns
    -------
    pi_star : ndarray, shape (H, S, A)
        Deterministic (one-hot) optimal policy.
    value : float
        ``min_pi sum_k V^pi_k(s_1)`` including the expectation over ``rho``.

    Examples
    --------
    >>> mdp = make_linear_mdp(1, 2, 2, 2, seed=0)
    >>> ell = np.array([[[1.0, 0.0], [0.5, 2.0]]])
    >>> pi, v = best_fixed_policy(mdp, ell)
    >>> pi[0].argmax(axis=1).tolist(), bool(np.isclose(v, mdp.rho @ [0.0, 0.5]))
    ([1, 0], True)
    """
    mdp = _check_mdp(mdp)
    ell_cum = _check_table(mdp, ell_cum, "ell_cum")
    H, S, A = mdp.H, mdp.S, mdp.A
    V = np.zeros(S)
    pi = np.zeros((H, S, A))
    for h in range(H - 1, -1, -1):
        Q = ell_cum[h] + mdp.P[h] @ V
        best = np.argmin(Q, axis=1)
        pi[h, np.arange(S), best] = 1.0
        V = Q[np.arange(S), best]
    return pi, float(mdp.rho @ V)
