"""Loss estimators for linear-Q policy optimisation with bandit feedback.

* The linear Q estimator ``hatQ(s,a) = phi(s,a)^T Sigma^+ phi(s_h,a_h) L_h`` (chapter eq.
  :eq:`amdp-qhat`), unbiased when ``Sigma^+ = Sigma^{-1}`` (eq. :eq:`amdp-unbiased`).
* The magnitude-reduced transform ``hatZ = max(Z,0) + E[min(Z,0)]`` (eq. :eq:`amdp-mr`), with the
  same mean and no larger second moment (Lemma :prf:ref:`amdp-lemma-mr`).
* Matrix Geometric Resampling (Neu and Olkhovskaya 2020), whose mean
  ``(gamma I + Sigma)^{-1} (I - (I - beta (gamma I + Sigma))^{M+1})`` approaches the regularised inverse
  geometrically in ``M`` (eq. :eq:`amdp-mgr-mean`).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .._validate import check_array, check_int, check_probability_vectors, check_real
from .env import LinearMDP, _check_mdp, _check_policy, _check_table, occupancy, policy_values

__all__ = [
    "negative_estimate_probability",
    "EstimatorMeans",
    "estimator_means",
    "feature_covariance",
    "magnitude_reduce",
    "mgr_inverse",
    "q_hat",
]


def magnitude_reduce(values, probs) -> np.ndarray:
    """Magnitude-reduced values of a discrete random variable (chapter eq. :eq:`amdp-mr`).

    For ``Z`` taking ``values[i]`` with probability ``probs[i]``, returns the support of
    ``hatZ = max(Z, 0) + E[min(Z, 0)]``: ``E hatZ = E Z``, ``E hatZ^2 <= E Z^2`` and
    ``hatZ >= E[min(Z, 0)] >= -sqrt(E Z^2)`` (Lemma :prf:ref:`amdp-lemma-mr`).

    Parameters
    ----------
    values : array_like, shape (n,)
        Finite support points of ``Z``.
    probs : array_like, shape (n,)
        Probabilities (non-negative, summing to 1).

    Returns
    -------
    ndarray, shape (n,)
        The value ``hatZ`` takes where ``Z = values[i]``.

    Examples
    --------
    >>> magnitude_reduce([-100.0, 1.0], [0.01, 0.99])
    array([-1.,  0.])
    """
    z = check_array(values, "values", ndim=1, min_size=1)
    p = check_probability_vectors(probs, "probs")
    if p.ndim != 1 or p.shape != z.shape:
        raise ValueError(f"probs must have the same shape as values {z.shape}, got {p.shape}")
    return np.maximum(z, 0.0) + float(p @ np.minimum(z, 0.0))


def feature_covariance(mdp: LinearMDP, pi) -> np.ndarray:
    """Per-layer covariance ``Sigma_h = E_{s ~ mu_h^pi} sum_a pi(a|s) phi(s,a) phi(s,a)^T``, shape (H, d, d).

    Parameters
    ----------
    mdp : LinearMDP
        The environment.
    pi : array_like, shape (H, S, A)
        The policy whose occupancy weights the features.

    Returns
    -------
    ndarray, shape (H, d, d)
        Symmetric positive semi-definite ``Sigma_h`` for every layer.

    Examples
    --------
    >>> from lossbook.regret import make_linear_mdp, uniform_policy
    >>> mdp = make_linear_mdp(2, 3, 2, 3, seed=0)
    >>> Sig = feature_covariance(mdp, uniform_policy(mdp))
    >>> bool(np.allclose(Sig, Sig.transpose(0, 2, 1)))
    True
    """
    mdp = _check_mdp(mdp)
    pi = _check_policy(mdp, pi)
    mu = occupancy(mdp, pi)
    return np.einsum("hs,hsa,hsai,hsaj->hij", mu, pi, mdp.phi, mdp.phi)


def q_hat(mdp: LinearMDP, h: int, sigma_plus, state: int, action: int, loss_to_go: float) -> np.ndarray:
    """Linear Q estimate for every ``(s, a)`` of layer ``h`` (chapter eq. :eq:`amdp-qhat`).

    ``hatQ(s, a) = phi(s, a)^T sigma_plus phi(s_h, a_h) L_h`` where ``(s_h, a_h) = (state, action)``
    was visited at layer ``h`` and ``L_h`` is the observed loss-to-go.

    Parameters
    ----------
    mdp : LinearMDP
        The environment.
    h : int
        Layer, ``0 <= h < H``.
    sigma_plus : array_like, shape (d, d)
        The (estimated) inverse covariance ``(gamma I + Sigma_h)^{-1}``.
    state, action : int
        The visited pair ``(s_h, a_h)``, ``0 <= state < S``, ``0 <= action < A``.
    loss_to_go : float
        Observed loss from layer ``h`` to the end of the episode, finite.

    Returns
    -------
    ndarray, shape (S, A)
        ``hatQ(s, a)`` for every pair of layer ``h``.

    Examples
    --------
    >>> from lossbook.regret import make_linear_mdp
    >>> mdp = make_linear_mdp(1, 2, 2, 2, seed=0)
    >>> q_hat(mdp, 0, np.eye(2), 0, 1, 0.0)
    array([[0., 0.],
           [0., 0.]])
    """
    mdp = _check_mdp(mdp)
    h = check_int(h, "h", low=0, high=mdp.H - 1)
    state = check_int(state, "state", low=0, high=mdp.S - 1)
    action = check_int(action, "action", low=0, high=mdp.A - 1)
    L = check_real(loss_to_go, "loss_to_go")
    M = check_array(sigma_plus, "sigma_plus", ndim=2)
    if M.shape != (mdp.d, mdp.d):
        raise ValueError(f"sigma_plus must have shape (d, d) = {(mdp.d, mdp.d)}, got {M.shape}")
    return mdp.phi[h] @ (M @ mdp.phi[h, state, action]) * L


def mgr_inverse(samples, beta: float, gamma: float) -> np.ndarray:
    """Matrix Geometric Resampling estimate of ``(gamma I + Sigma)^{-1}``.

    With ``A_0 = I`` and ``A_j = A_{j-1} (I - beta (gamma I + Phi_j))`` for the ``M`` sampled
    matrices ``Phi_j`` (unbiased draws of ``Sigma``), returns ``beta sum_{j=0}^{M} A_j``. Its mean is
    ``(gamma I + Sigma)^{-1} (I - (I - beta (gamma I + Sigma))^{M+1})`` (chapter eq. :eq:`amdp-mgr-mean`)
    when the ``Phi_j`` are independent.

    Parameters
    ----------
    samples : array_like, shape (M, d, d)
        Symmetric positive semi-definite samples (e.g. ``phi phi^T``), ``M >= 0``.
    beta : float
        Step, in ``(0, 1/(gamma + max ||Phi_j||)]`` so that every factor is a contraction.
    gamma : float
        Regulariser, >= 0.

    Returns
    -------
    ndarray, shape (d, d)
        The estimate ``beta sum_{j=0}^{M} A_j`` (``beta`` times the identity when ``M = 0``).

    Examples
    --------
    >>> S = np.array([[[2.0]]] * 60)          # a deterministic 1-d "sample" equal to 2
    >>> float(mgr_inverse(S, beta=0.5, gamma=0.0)[0, 0])   # (1/2) * sum_j 0^j
    0.5
    """
    Phi = check_array(samples, "samples", ndim=3)
    if Phi.shape[1] != Phi.shape[2]:
        raise ValueError(f"samples must have shape (M, d, d), got {Phi.shape}")
    if Phi.shape[0]:
        scale = np.max(np.abs(Phi), axis=(1, 2))
        asym = np.max(np.abs(Phi - np.swapaxes(Phi, 1, 2)), axis=(1, 2))
        if np.any(asym > 1e-12 * scale):
            raise ValueError(f"samples must be symmetric; sample {int(np.argmax(asym > 1e-12 * scale))} is not")
        lam_min = np.linalg.eigvalsh(0.5 * (Phi + np.swapaxes(Phi, 1, 2)))[:, 0]
        bad = lam_min < -1e-12 * np.maximum(scale, np.finfo(float).tiny)
        if np.any(bad):
            j = int(np.argmax(bad))
            raise ValueError(f"samples must be positive semi-definite; sample {j} has eigenvalue {lam_min[j]:.3g}")
    gamma = check_real(gamma, "gamma", low=0.0)
    beta = check_real(beta, "beta", low=0.0, low_open=True)
    d = Phi.shape[1]
    if Phi.shape[0]:
        top = gamma + max(float(np.linalg.norm(P, 2)) for P in Phi)
        if beta * top > 1.0 + 1e-12:
            raise ValueError(f"beta must lie in (0, 1/(gamma + max ||Phi_j||)] = (0, {1.0 / top:.6g}], got {beta}")
    I = np.eye(d)
    Aj = I.copy()
    total = I.copy()
    for P in Phi:
        Aj = Aj @ (I - beta * (gamma * I + P))
        total += Aj
    return beta * total


class EstimatorMeans(NamedTuple):
    """Exact expectations (over one episode of ``pi``) of the Q estimators, each of shape (H, S, A).

    Attributes
    ----------
    Q : ndarray, shape (H, S, A)
        True action values ``Q^pi`` (the target).
    plain : ndarray, shape (H, S, A)
        Mean of the plain linear estimate (eq. :eq:`amdp-unbiased`).
    mr_oracle : ndarray, shape (H, S, A)
        Mean of the magnitude-reduced estimate with the exact correction.
    mr_plugin : ndarray, shape (H, S, A)
        Mean of the loss-free plug-in magnitude-reduced estimate (eq. :eq:`amdp-plugin-bias`).
    """

    Q: np.ndarray
    plain: np.ndarray
    mr_oracle: np.ndarray
    mr_plugin: np.ndarray


def estimator_means(mdp: LinearMDP, pi, ell, gamma: float = 0.0) -> EstimatorMeans:
    """Exact means of the plain, magnitude-reduced (oracle) and magnitude-reduced (plug-in) estimators.

    With ``Sigma^+_h = (gamma I + Sigma_h)^{-1}`` and ``c(s,a; s',a') = phi(s,a)^T Sigma^+_h phi(s',a')``:

    * plain: ``E hatQ(s,a) = sum_{s',a'} mu_h(s') pi(a'|s') c Q(s',a')`` (eq. :eq:`amdp-unbiased`);
    * MR-oracle: ``max(hatQ,0) + E[min(hatQ,0)]`` with the exact expectation, which needs the current
      losses; its mean equals the plain mean;
    * MR-plug-in (loss-free): ``max(hatQ,0) + L_h E[min(c,0)]``; its mean differs from the plain one
      by ``V_h E[min(c,0)] - E[min(c,0) Q]`` (eq. :eq:`amdp-plugin-bias`), which is zero only when
      ``c`` and ``Q`` are uncorrelated under the learner's own play.

    Parameters
    ----------
    mdp : LinearMDP
        The environment.
    pi : array_like, shape (H, S, A)
        The policy that generates the episode.
    ell : array_like, shape (H, S, A)
        Loss table of the episode.
    gamma : float, default 0
        Covariance regulariser, ``>= 0``.

    Returns
    -------
    EstimatorMeans

    Raises
    ------
    ValueError
        If ``gamma I + Sigma_h`` is numerically singular (condition number >= 1e12) for some layer,
        e.g. ``gamma = 0`` with a deterministic policy.

    Examples
    --------
    >>> from lossbook.regret import make_linear_mdp, uniform_policy
    >>> mdp = make_linear_mdp(2, 3, 2, 3, seed=0)
    >>> m = estimator_means(mdp, uniform_policy(mdp), np.full((2, 3, 2), 0.5))
    >>> bool(np.allclose(m.plain, m.Q)) and bool(np.allclose(m.mr_oracle, m.Q))
    True
    """
    mdp = _check_mdp(mdp)
    pi = _check_policy(mdp, pi)
    ell = _check_table(mdp, ell, "ell")
    gamma = check_real(gamma, "gamma", low=0.0)
    _, Q = policy_values(mdp, pi, ell)
    mu = occupancy(mdp, pi)
    Sig = feature_covariance(mdp, pi) + gamma * np.eye(mdp.d)[None]
    cond = np.linalg.cond(Sig)
    if not np.all(cond < 1e12):
        # eq. :eq:`amdp-unbiased` needs (gamma I + Sigma_h)^{-1}; without this check solve() would either fail
        # with a LinAlgError or return rounding noise of size cond * eps
        raise ValueError(f"gamma must be > 0 when some Sigma_h is (numerically) singular; got gamma = {gamma} "
                         f"and condition numbers {np.array2string(cond, precision=2)}")
    plain = np.empty_like(Q)
    plug = np.empty_like(Q)
    for h in range(mdp.H):
        F = mdp.phi[h].reshape(-1, mdp.d)                  # (SA, d)
        w = (mu[h][:, None] * pi[h]).ravel()               # probability of (s', a') at layer h
        c = F @ np.linalg.solve(Sig[h], F.T)               # c[(s,a), (s',a')]
        q = Q[h].ravel()
        plain[h] = (c @ (w * q)).reshape(mdp.S, mdp.A)
        neg = np.minimum(c, 0.0)
        plug[h] = plain[h] + ((w @ q) * (neg @ w) - neg @ (w * q)).reshape(mdp.S, mdp.A)
    return EstimatorMeans(Q=Q, plain=plain, mr_oracle=plain.copy(), mr_plugin=plug)


def negative_estimate_probability(mdp: LinearMDP, pi, ell, eta: float, gamma: float) -> float:
    r"""Probability, over one episode of ``pi``, that ``eta * min_{s,a} hatQ(s,a) < -1`` (horizon ``H = 1``).

    The classical exponential-weights bound needs every loss estimate to be at least ``-1/eta``. With the
    plain estimator :eq:`amdp-qhat` at ``H = 1``, the sample ``(s', a')`` of the episode gives
    ``hatQ(s,a) = c(s,a; s',a') ell(s',a')`` with ``c = phi(s,a)^T (gamma I + Sigma)^{-1} phi(s',a')``, so the
    probability is ``sum_{s',a'} rho(s') pi(a'|s') 1[eta ell(s',a') min_{s,a} c(s,a; s',a') < -1]``, computed
    exactly.

    Parameters
    ----------
    mdp : LinearMDP
        With ``H = 1`` (for longer horizons the loss-to-go is random and the event has no closed form here).
    pi : array_like, shape (1, S, A)
        The learner's policy for the episode.
    ell : array_like, shape (1, S, A)
        The episode's losses, in ``[0, 1]``.
    eta : float
        Learning rate, ``> 0``.
    gamma : float
        Covariance regulariser, ``>= 0`` (``0`` needs a non-singular covariance).

    Returns
    -------
    float
        In ``[0, 1]``.

    Raises
    ------
    ValueError
        for bad arguments (``ell`` outside ``[0, 1]``, ``H != 1``), or ``gamma = 0`` with a (numerically)
        singular covariance of the policy.

    Examples
    --------
    >>> from lossbook.regret import make_linear_mdp, uniform_policy
    >>> mdp = make_linear_mdp(1, 3, 2, 3, seed=0)
    >>> negative_estimate_probability(mdp, uniform_policy(mdp), np.full((1, 3, 2), 0.5), 1e-3, 1.0)
    0.0
    """
    mdp = _check_mdp(mdp)
    if mdp.H != 1:
        raise ValueError(f"mdp must have horizon H = 1 (the event is computed exactly only there), got H = {mdp.H}")
    pi = _check_policy(mdp, pi)
    ell = _check_table(mdp, ell, "ell")
    if np.any(ell < 0) or np.any(ell > 1):
        raise ValueError("ell must lie in [0, 1] (the closed form uses losses in [0, 1])")
    eta = check_real(eta, "eta", low=0.0, low_open=True)
    gamma = check_real(gamma, "gamma", low=0.0)
    Sig = feature_covariance(mdp, pi)[0] + gamma * np.eye(mdp.d)
    if not np.linalg.cond(Sig) < 1e12:
        raise ValueError(f"gamma must be > 0 when the policy's covariance is (numerically) singular, got {gamma}")
    F = mdp.phi[0].reshape(-1, mdp.d)
    c = F @ np.linalg.solve(Sig, F.T)                      # c[(s,a), (s',a')]
    worst = eta * c.min(axis=0) * ell[0].ravel()           # most negative eta * hatQ, per sample (s', a')
    w = (mdp.rho[:, None] * pi[0]).ravel()
    return float(np.sum(w[worst < -1.0]))
