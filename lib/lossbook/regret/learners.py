"""Policy-optimisation learners for adversarial linear MDPs with bandit feedback.

Three learners share one episode loop (chapter section "The algorithms"):

* :class:`LogBarrierPolicyOptimizer` - log-barrier FTRL per state on ``hatQ - B`` with
  ``eta = c_eta K^{-1/2}``, ``beta = c_beta K^{-1/2}``, ``gamma = c_gamma K^{-1}`` (Algorithm 1 of
  Dai et al. 2023 as reconstructed in the chapter);
* :class:`MagnitudeReducedPolicyOptimizer` - exponential weights on the magnitude-reduced estimate
  minus the bonus, same exponents (Algorithm 2, reconstructed; ``mode="oracle"`` computes
  ``E[min(hatQ, 0)]`` with the true current losses, ``mode="plugin"`` without them);
* :class:`DilatedBonusBaseline` - exponential weights on ``hatQ - B`` with ``eta = c_eta K^{-2/3}``,
  ``gamma = c_gamma K^{-2/3}``, ``beta = c_beta K^{-1/3}`` (the K^{2/3} method of Luo, Wei and Lee 2021);
* :class:`ExpWeightsPolicyOptimizer` - the ablation: exponential weights on the plain ``hatQ - B`` with the
  ``sqrt(K)`` rates of Algorithm 1, i.e. neither a log-barrier nor magnitude reduction, so nothing keeps
  ``eta hatQ >= -1``.

**Default constants.** They are the values the chapter's one-off tuning selected (``c_eta`` on a log
grid, at ``K0 = 10^4``, four held-out seeds, instance ``make_linear_mdp(1, 6, 4, 5, seed=0)``, switching
adversary): on that instance only. On any other instance, tune them (:func:`~lossbook.regret.tune_constants`).

All use the exact covariance ``Sigma_{k,h}`` of the current policy (an idealised simulator) and the
dilated bonus ``B`` computed by exact backward recursion (chapter eq. :eq:`amdp-dilated`). The
episode loop is a Numba kernel (``_run_numba``) beside a NumPy reference (``_run_numpy``); both
consume the same pre-drawn uniforms, so they produce the same trajectories.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit

from .._rng import SeedLike, as_generator
from .._validate import ENGINES, check_array, check_choice, check_int, check_real
from .env import LinearMDP, _check_mdp, best_fixed_policy, policy_values, uniform_policy
from .ftrl import _log_barrier_row_numba, _log_barrier_rows_numpy

__all__ = [
    "DilatedBonusBaseline",
    "ExpWeightsPolicyOptimizer",
    "LearningRates",
    "LogBarrierPolicyOptimizer",
    "MagnitudeReducedPolicyOptimizer",
    "RegretRun",
    "uniform_policy_regret",
]

_LOG_BARRIER, _NEG_ENTROPY = 0, 1
_PLAIN, _MR_ORACLE, _MR_PLUGIN = 0, 1, 2


class LearningRates(NamedTuple):
    """FTRL learning rate ``eta``, bonus coefficient ``beta`` and covariance regulariser ``gamma``.

    Attributes
    ----------
    eta : float
        Learning rate, ``> 0``.
    beta : float
        Dilated-bonus coefficient, ``>= 0``.
    gamma : float
        Regulariser added to the feature covariance, ``> 0``.
    """

    eta: float
    beta: float
    gamma: float


class RegretRun(NamedTuple):
    """Result of one run of a learner.

    Attributes
    ----------
    expected_losses : ndarray, shape (K,)
        ``V^{pi_k}_k(s_1)``, exact expected loss of the policy played in episode ``k``.
    observed_losses : ndarray, shape (K,)
        Realised loss of the sampled trajectory in episode ``k``.
    pseudo_regret : float
        ``sum_k V^{pi_k}_k - min_pi sum_k V^pi_k`` (exact, chapter eq. :eq:`amdp-regret`).
    comparator_loss : float
        ``min_pi sum_k V^pi_k``.
    final_policy : ndarray, shape (H, S, A)
        The policy the learner would play in episode ``K + 1``.
    rates : LearningRates
    """

    expected_losses: np.ndarray
    observed_losses: np.ndarray
    pseudo_regret: float
    comparator_loss: float
    final_policy: np.ndarray
    rates: LearningRates


# --------------------------------------------------------------------------------------------
# Numba kernel
# --------------------------------------------------------------------------------------------


@njit(cache=True)
def _spd_inverse(M, out, work):
    # Gauss-Jordan with partial pivoting on [M | I]; d <= ~10 so this beats a LAPACK call's overhead.
    d = M.shape[0]
    for i in range(d):
        for j in range(d):
            work[i, j] = M[i, j]
            out[i, j] = 1.0 if i == j else 0.0
    for col in range(d):
        piv = col
        best = abs(work[col, col])
        for r in range(col + 1, d):
            if abs(work[r, col]) > best:
                best = abs(work[r, col])
                piv = r
        if piv != col:
            for j in range(d):
                t = work[col, j]
                work[col, j] = work[piv, j]
                work[piv, j] = t
                t = out[col, j]
                out[col, j] = out[piv, j]
                out[piv, j] = t
        inv = 1.0 / work[col, col]
        for j in range(d):
            work[col, j] *= inv
            out[col, j] *= inv
        for r in range(d):
            if r != col:
                f = work[r, col]
                if f != 0.0:
                    for j in range(d):
                        work[r, j] -= f * work[col, j]
                        out[r, j] -= f * out[col, j]


@njit(cache=True)
def _sample(p, u):
    acc = 0.0
    n = p.shape[0]
    for i in range(n):
        acc += p[i]
        if u < acc:
            return i
    return n - 1


@njit(cache=True)
def _run_numba(phi, P, rho, theta, U, reg, est, eta, beta, gamma):
    H, S, A, d = phi.shape
    K = theta.shape[0]
    SA = S * A
    C = np.zeros((H, S, A))
    pi = np.empty((H, S, A))
    mu = np.zeros((H, S))
    ell = np.empty((H, S, A))
    Q = np.zeros((H, S, A))
    Vn = np.zeros(S)
    Qest = np.empty((H, S, A))
    b = np.empty((H, S, A))
    B = np.zeros((H, S, A))
    Sig = np.empty((d, d))
    Sinv = np.empty((d, d))
    work = np.empty((d, d))
    v = np.empty(d)
    W = np.empty((SA, d))
    neg = np.empty(SA)
    wq = np.empty(SA)
    states = np.empty(H, np.int64)
    actions = np.empty(H, np.int64)
    Lobs = np.empty(H)
    exp_loss = np.empty(K)
    obs_loss = np.empty(K)
    dil = 1.0 + 1.0 / H
    for k in range(K):
        # 1. policy from the cumulative estimates (one FTRL instance per state)
        for h in range(H):
            for s in range(S):
                if reg == 0:
                    _log_barrier_row_numba(C[h, s], eta, pi[h, s])
                else:
                    m = C[h, s, 0]
                    for a in range(1, A):
                        if C[h, s, a] < m:
                            m = C[h, s, a]
                    tot = 0.0
                    for a in range(A):
                        pi[h, s, a] = np.exp(-eta * (C[h, s, a] - m))
                        tot += pi[h, s, a]
                    for a in range(A):
                        pi[h, s, a] /= tot
        # 2. occupancy, losses, exact expected loss
        for s in range(S):
            mu[0, s] = rho[s]
        for h in range(H - 1):
            for t in range(S):
                mu[h + 1, t] = 0.0
            for s in range(S):
                for a in range(A):
                    w = mu[h, s] * pi[h, s, a]
                    if w != 0.0:
                        for t in range(S):
                            mu[h + 1, t] += w * P[h, s, a, t]
        tot = 0.0
        for h in range(H):
            for s in range(S):
                for a in range(A):
                    x = 0.0
                    for j in range(d):
                        x += phi[h, s, a, j] * theta[k, h, j]
                    ell[h, s, a] = x
                    tot += mu[h, s] * pi[h, s, a] * x
        exp_loss[k] = tot
        if est == 1:
            for t in range(S):
                Vn[t] = 0.0
            for h in range(H - 1, -1, -1):
                for s in range(S):
                    for a in range(A):
                        x = ell[h, s, a]
                        if h < H - 1:
                            for t in range(S):
                                x += P[h, s, a, t] * Vn[t]
                        Q[h, s, a] = x
                for s in range(S):
                    x = 0.0
                    for a in range(A):
                        x += pi[h, s, a] * Q[h, s, a]
                    Vn[s] = x
        # 3. one trajectory with bandit feedback
        s = _sample(rho, U[k, 0, 0])
        for h in range(H):
            a = _sample(pi[h, s], U[k, h, 1])
            states[h] = s
            actions[h] = a
            Lobs[h] = ell[h, s, a]
            if h < H - 1:
                s = _sample(P[h, s, a], U[k, h + 1, 0])
        for h in range(H - 2, -1, -1):
            Lobs[h] += Lobs[h + 1]
        obs_loss[k] = Lobs[0]
        # 4. estimates and bonuses, layer by layer
        for h in range(H):
            for i in range(d):
                for j in range(d):
                    Sig[i, j] = gamma if i == j else 0.0
            for s2 in range(S):
                for a2 in range(A):
                    w = mu[h, s2] * pi[h, s2, a2]
                    if w != 0.0:
                        for i in range(d):
                            fi = w * phi[h, s2, a2, i]
                            for j in range(d):
                                Sig[i, j] += fi * phi[h, s2, a2, j]
            _spd_inverse(Sig, Sinv, work)
            sh = states[h]
            ah = actions[h]
            for i in range(d):
                x = 0.0
                for j in range(d):
                    x += Sinv[i, j] * phi[h, sh, ah, j]
                v[i] = x
            for s2 in range(S):
                for a2 in range(A):
                    r = s2 * A + a2
                    x = 0.0
                    nb = 0.0
                    for i in range(d):
                        wi = 0.0
                        for j in range(d):
                            wi += Sinv[i, j] * phi[h, s2, a2, j]
                        W[r, i] = wi
                        nb += phi[h, s2, a2, i] * wi
                        x += phi[h, s2, a2, i] * v[i]
                    Qest[h, s2, a2] = x * Lobs[h]
                    b[h, s2, a2] = beta * nb
            if est != 0:
                # magnitude reduction: max(hatQ, 0) + E[min(hatQ, 0)] with
                # min(hatQ, 0) = L_h min(c, 0) because L_h >= 0
                for r in range(SA):
                    s2 = r // A
                    a2 = r - s2 * A
                    wq[r] = mu[h, s2] * pi[h, s2, a2]
                for r in range(SA):
                    s2 = r // A
                    a2 = r - s2 * A
                    acc = 0.0
                    for r2 in range(SA):
                        if wq[r2] == 0.0:
                            continue
                        s3 = r2 // A
                        a3 = r2 - s3 * A
                        c = 0.0
                        for i in range(d):
                            c += W[r, i] * phi[h, s3, a3, i]
                        if c < 0.0:
                            if est == 1:
                                acc += wq[r2] * c * Q[h, s3, a3]
                            else:
                                acc += wq[r2] * c
                    neg[r] = acc if est == 1 else acc * Lobs[h]
                    q = Qest[h, s2, a2]
                    Qest[h, s2, a2] = (q if q > 0.0 else 0.0) + neg[r]
        # 5. dilated bonus by backward recursion, then the FTRL loss update
        for h in range(H - 1, -1, -1):
            for s2 in range(S):
                for a2 in range(A):
                    x = b[h, s2, a2]
                    if h < H - 1:
                        nxt = 0.0
                        for t in range(S):
                            if P[h, s2, a2, t] != 0.0:
                                inner = 0.0
                                for a3 in range(A):
                                    inner += pi[h + 1, t, a3] * B[h + 1, t, a3]
                                nxt += P[h, s2, a2, t] * inner
                        x += dil * nxt
                    B[h, s2, a2] = x
        for h in range(H):
            for s2 in range(S):
                for a2 in range(A):
                    C[h, s2, a2] += Qest[h, s2, a2] - B[h, s2, a2]
    return exp_loss, obs_loss, C


# --------------------------------------------------------------------------------------------
# NumPy reference (same algorithm, same uniforms)
# --------------------------------------------------------------------------------------------


def _sample_numpy(p, u):
    idx = int(np.searchsorted(np.cumsum(p), u, side="right"))
    return min(idx, p.shape[0] - 1)


def _policy_numpy(C, reg, eta):
    H, S, A = C.shape
    rows = C.reshape(-1, A)
    if reg == _LOG_BARRIER:
        p = _log_barrier_rows_numpy(rows, eta)
    else:
        w = np.exp(-eta * (rows - rows.min(axis=1, keepdims=True)))
        p = w / w.sum(axis=1, keepdims=True)
    return p.reshape(H, S, A)


def _run_numpy(phi, P, rho, theta, U, reg, est, eta, beta, gamma):
    H, S, A, d = phi.shape
    K = theta.shape[0]
    C = np.zeros((H, S, A))
    exp_loss = np.empty(K)
    obs_loss = np.empty(K)
    dil = 1.0 + 1.0 / H
    for k in range(K):
        pi = _policy_numpy(C, reg, eta)
        mu = np.zeros((H, S))
        mu[0] = rho
        for h in range(H - 1):
            mu[h + 1] = np.einsum("s,sa,sat->t", mu[h], pi[h], P[h])
        ell = np.einsum("hsaj,hj->hsa", phi, theta[k])
        exp_loss[k] = float(np.sum(mu[:, :, None] * pi * ell))
        Q = np.zeros((H, S, A))
        V = np.zeros(S)
        for h in range(H - 1, -1, -1):
            Q[h] = ell[h] + (P[h] @ V if h < H - 1 else 0.0)
            V = np.sum(pi[h] * Q[h], axis=1)
        states = np.empty(H, dtype=np.int64)
        actions = np.empty(H, dtype=np.int64)
        s = _sample_numpy(rho, U[k, 0, 0])
        for h in range(H):
            a = _sample_numpy(pi[h, s], U[k, h, 1])
            states[h], actions[h] = s, a
            if h < H - 1:
                s = _sample_numpy(P[h, s, a], U[k, h + 1, 0])
        obs = ell[np.arange(H), states, actions]
        Lobs = np.cumsum(obs[::-1])[::-1]
        obs_loss[k] = Lobs[0]
        Qest = np.empty((H, S, A))
        b = np.empty((H, S, A))
        for h in range(H):
            w = mu[h][:, None] * pi[h]
            Sig = gamma * np.eye(d) + np.einsum("sa,sai,saj->ij", w, phi[h], phi[h])
            Sinv = np.linalg.inv(Sig)
            F = phi[h].reshape(-1, d)
            Qest[h] = (F @ (Sinv @ phi[h, states[h], actions[h]])).reshape(S, A) * Lobs[h]
            b[h] = beta * np.einsum("ri,ij,rj->r", F, Sinv, F).reshape(S, A)
            if est != _PLAIN:
                negc = np.minimum(F @ Sinv @ F.T, 0.0)
                wr = w.ravel()
                if est == _MR_ORACLE:
                    shift = negc @ (wr * Q[h].ravel())
                else:
                    shift = (negc @ wr) * Lobs[h]
                Qest[h] = np.maximum(Qest[h], 0.0) + shift.reshape(S, A)
        B = np.zeros((H, S, A))
        for h in range(H - 1, -1, -1):
            B[h] = b[h]
            if h < H - 1:
                B[h] += dil * P[h] @ np.sum(pi[h + 1] * B[h + 1], axis=1)
        C += Qest - B
    return exp_loss, obs_loss, C


# --------------------------------------------------------------------------------------------
# Public learners
# --------------------------------------------------------------------------------------------


def _check_schedule(mdp: LinearMDP, schedule, K: int) -> np.ndarray:
    theta = check_array(schedule, "schedule", ndim=3, low=0.0, high=1.0)
    if theta.shape[1:] != (mdp.H, mdp.d):
        raise ValueError(f"schedule must have shape (K, H, d) with (H, d) = {(mdp.H, mdp.d)}, got {theta.shape}")
    if theta.shape[0] < K:
        raise ValueError(f"schedule has {theta.shape[0]} episodes but K = {K} were requested")
    return np.ascontiguousarray(theta[:K])


def _comparator(mdp: LinearMDP, theta: np.ndarray) -> float:
    ell_cum = np.einsum("hsaj,hj->hsa", mdp.phi, theta.sum(axis=0))
    return best_fixed_policy(mdp, ell_cum)[1]


def uniform_policy_regret(mdp: LinearMDP, schedule, K: int) -> float:
    """Exact pseudo-regret of always playing the uniform policy for ``K`` episodes (linear in ``K``).

    Parameters
    ----------
    mdp : LinearMDP
        The environment.
    schedule : array_like, shape (K_total, H, d)
        Loss parameters ``theta_k`` (from :func:`~lossbook.regret.make_loss_schedule`), ``K_total >= K``.
    K : int
        Number of episodes, ``>= 1``.

    Returns
    -------
    float
        ``sum_k V^uniform_k - min_pi sum_k V^pi_k``, ``>= 0``.

    Examples
    --------
    >>> from lossbook.regret import make_linear_mdp, make_loss_schedule
    >>> mdp = make_linear_mdp(1, 3, 3, 4, seed=0)
    >>> theta = make_loss_schedule(mdp, 200, "stationary", seed=0)
    >>> r1, r2 = uniform_policy_regret(mdp, theta, 100), uniform_policy_regret(mdp, theta, 200)
    >>> bool(np.isclose(r2, 2 * r1))
    True
    """
    mdp = _check_mdp(mdp)
    K = check_int(K, "K", low=1)
    theta = _check_schedule(mdp, schedule, K)
    ell_cum = np.einsum("hsaj,hj->hsa", mdp.phi, theta.sum(axis=0))
    V, _ = policy_values(mdp, uniform_policy(mdp), ell_cum)
    return float(mdp.rho @ V[0]) - _comparator(mdp, theta)


class _PolicyOptimizer:
    _reg = _LOG_BARRIER
    _est = _PLAIN
    _exponents = (0.5, 0.5, 1.0)  # K-exponents of eta, beta, gamma

    def __init__(self, c_eta: float, c_beta: float, c_gamma: float):
        self.c_eta = check_real(c_eta, "c_eta", low=0.0, low_open=True)
        self.c_beta = check_real(c_beta, "c_beta", low=0.0)
        self.c_gamma = check_real(c_gamma, "c_gamma", low=0.0, low_open=True)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(c_eta={self.c_eta:g}, c_beta={self.c_beta:g}, c_gamma={self.c_gamma:g})"

    def rates(self, K: int) -> LearningRates:
        """Learning rate, bonus coefficient and regulariser for a horizon of ``K`` episodes."""
        K = check_int(K, "K", low=1)
        e_eta, e_beta, e_gamma = self._exponents
        return LearningRates(self.c_eta * K**-e_eta, self.c_beta * K**-e_beta, self.c_gamma * K**-e_gamma)

    def run(self, mdp: LinearMDP, schedule, K: int, *, seed: SeedLike, engine: str = "numba") -> RegretRun:
        """Play ``K`` episodes against the loss parameters ``schedule[:K]`` (shape (>= K, H, d)).

        Parameters
        ----------
        mdp : LinearMDP
        schedule : array_like, shape (K_total, H, d)
            Loss parameters in ``[0, 1]``, e.g. from :func:`make_loss_schedule`; ``K_total >= K``.
        K : int
            Number of episodes (>= 1); the learning rates are tuned for this horizon.
        seed : int, SeedSequence or Generator
            Randomness of the trajectories.
        engine : {"numba", "numpy"}
            Compiled episode loop or the NumPy reference.

        Returns
        -------
        RegretRun
        """
        mdp = _check_mdp(mdp)
        K = check_int(K, "K", low=1)
        theta = _check_schedule(mdp, schedule, K)
        rng = as_generator(seed)
        U = rng.random((K, mdp.H, 2))
        r = self.rates(K)
        args = (np.ascontiguousarray(mdp.phi), np.ascontiguousarray(mdp.P), np.ascontiguousarray(mdp.rho),
                theta, U, self._reg, self._est, r.eta, r.beta, r.gamma)
        kernel = _run_numba if check_choice(engine, "engine", ENGINES) == "numba" else _run_numpy
        exp_loss, obs_loss, C = kernel(*args)
        if not np.all(np.isfinite(C)):
            raise FloatingPointError("cumulative loss estimates became non-finite; reduce c_eta or raise c_gamma")
        comp = _comparator(mdp, theta)
        final = _policy_numpy(C, self._reg, r.eta)
        return RegretRun(exp_loss, obs_loss, float(exp_loss.sum() - comp), comp, final, r)


class LogBarrierPolicyOptimizer(_PolicyOptimizer):
    """Log-barrier FTRL per state on ``hatQ - B`` (Algorithm 1, reconstructed; :prf:ref:`amdp-alg-lb`).

    ``eta = c_eta K^{-1/2}``, ``beta = c_beta K^{-1/2}``, ``gamma = c_gamma K^{-1}``.

    Parameters
    ----------
    c_eta : float, default 64
        Learning-rate constant, ``> 0`` (tuned on the chapter's H = 1 instance, K0 = 10^4).
    c_beta : float, default 0
        Bonus constant, ``>= 0``.
    c_gamma : float, default 1
        Covariance-regulariser constant, ``> 0``.

    Methods
    -------
    rates(K)
        The :class:`LearningRates` for a horizon of ``K`` episodes.
    run(mdp, schedule, K, seed=...)
        Play ``K`` episodes and return a :class:`RegretRun`.

    Examples
    --------
    >>> from lossbook.regret import make_linear_mdp, make_loss_schedule
    >>> mdp = make_linear_mdp(1, 4, 3, 4, seed=0)
    >>> theta = make_loss_schedule(mdp, 300, seed=1)
    >>> run = LogBarrierPolicyOptimizer().run(mdp, theta, 300, seed=2)
    >>> run.expected_losses.shape, bool(run.pseudo_regret < uniform_policy_regret(mdp, theta, 300))
    ((300,), True)
    """

    _reg = _LOG_BARRIER
    _est = _PLAIN
    _exponents = (0.5, 0.5, 1.0)

    def __init__(self, c_eta: float = 64.0, c_beta: float = 0.0, c_gamma: float = 1.0):
        super().__init__(c_eta, c_beta, c_gamma)


class MagnitudeReducedPolicyOptimizer(_PolicyOptimizer):
    """Exponential weights on ``max(hatQ,0) + E[min(hatQ,0)] - B`` (Algorithm 2, reconstructed).

    ``mode="oracle"`` evaluates ``E[min(hatQ,0)] = E[min(c,0) Q^{pi_k}_k(s_h,a_h)]`` exactly with the
    current (unobserved) losses - a testbed device; ``mode="plugin"`` uses ``L_h E[min(c,0)]``, which
    needs no losses but is biased (chapter eq. :eq:`amdp-plugin-bias`). Same exponents as
    :class:`LogBarrierPolicyOptimizer`.

    Parameters
    ----------
    c_eta : float, default 4
        Learning-rate constant, ``> 0`` (tuned on the chapter's H = 1 instance, K0 = 10^4).
    c_beta : float, default 0
        Bonus constant, ``>= 0``.
    c_gamma : float, default 1
        Covariance-regulariser constant, ``> 0``.
    mode : {"oracle", "plugin"}, default "oracle"
        How ``E[min(hatQ, 0)]`` is evaluated (see above).

    Methods
    -------
    rates(K)
        The :class:`LearningRates` for a horizon of ``K`` episodes.
    run(mdp, schedule, K, seed=...)
        Play ``K`` episodes and return a :class:`RegretRun`.

    Examples
    --------
    >>> from lossbook.regret import make_linear_mdp, make_loss_schedule
    >>> mdp = make_linear_mdp(1, 4, 3, 4, seed=0)
    >>> theta = make_loss_schedule(mdp, 300, seed=1)
    >>> run = MagnitudeReducedPolicyOptimizer(mode="plugin").run(mdp, theta, 300, seed=2)
    >>> bool(np.isfinite(run.pseudo_regret))
    True
    """

    _reg = _NEG_ENTROPY
    _exponents = (0.5, 0.5, 1.0)

    def __init__(self, c_eta: float = 4.0, c_beta: float = 0.0, c_gamma: float = 1.0, *, mode: str = "oracle"):
        super().__init__(c_eta, c_beta, c_gamma)
        if mode not in ("oracle", "plugin"):
            raise ValueError(f"mode must be 'oracle' or 'plugin', got {mode!r}")
        self.mode = mode
        self._est = _MR_ORACLE if mode == "oracle" else _MR_PLUGIN


class DilatedBonusBaseline(_PolicyOptimizer):
    """Exponential weights on ``hatQ - B`` with K^{2/3} tuning (Luo, Wei and Lee 2021, as reconstructed).

    ``eta = c_eta K^{-2/3}``, ``gamma = c_gamma K^{-2/3}``, ``beta = c_beta K^{-1/3}``.

    Parameters
    ----------
    c_eta : float, default 256
        Learning-rate constant, ``> 0`` (tuned on the chapter's H = 1 instance, K0 = 10^4).
    c_beta : float, default 0
        Bonus constant, ``>= 0``.
    c_gamma : float, default 1
        Covariance-regulariser constant, ``> 0``.

    Methods
    -------
    rates(K)
        The :class:`LearningRates` for a horizon of ``K`` episodes.
    run(mdp, schedule, K, seed=...)
        Play ``K`` episodes and return a :class:`RegretRun`.

    Examples
    --------
    >>> [round(x, 6) for x in DilatedBonusBaseline().rates(1000)]
    [2.56, 0.0, 0.01]
    """

    _reg = _NEG_ENTROPY
    _est = _PLAIN
    _exponents = (2.0 / 3.0, 1.0 / 3.0, 2.0 / 3.0)

    def __init__(self, c_eta: float = 256.0, c_beta: float = 0.0, c_gamma: float = 1.0):
        super().__init__(c_eta, c_beta, c_gamma)


class ExpWeightsPolicyOptimizer(_PolicyOptimizer):
    """Ablation: exponential weights on plain ``hatQ - B`` with the sqrt(K) rates of Algorithm 1.

    ``eta = c_eta K^{-1/2}``, ``beta = c_beta K^{-1/2}``, ``gamma = c_gamma K^{-1}``. The classical
    exponential-weights analysis needs ``eta hatQ >= -1``, which these rates do not guarantee (``hatQ`` can be
    as negative as ``-H/gamma``); the chapter measures how often it fails
    (:func:`~lossbook.regret.negative_estimate_probability`).

    Parameters
    ----------
    c_eta : float, default 4
        Learning-rate constant, ``> 0`` (the chapter's tuned value on its H = 1 instance).
    c_beta : float, default 0
        Bonus constant, ``>= 0``.
    c_gamma : float, default 1
        Covariance-regulariser constant, ``> 0``.

    Examples
    --------
    >>> [round(x, 6) for x in ExpWeightsPolicyOptimizer().rates(10_000)]
    [0.04, 0.0, 0.0001]
    """

    _reg = _NEG_ENTROPY
    _est = _PLAIN
    _exponents = (0.5, 0.5, 1.0)

    def __init__(self, c_eta: float = 4.0, c_beta: float = 0.0, c_gamma: float = 1.0):
        super().__init__(c_eta, c_beta, c_gamma)
