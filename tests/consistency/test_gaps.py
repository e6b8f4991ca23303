"""Minimizability gaps and the population form of the bound, against brute force, SciPy and scikit-learn."""

import itertools

import numpy as np
import pytest
from scipy.optimize import minimize
from sklearn.linear_model import LogisticRegression

from lossbook.consistency import (
    best_conditional_risk,
    bound_gamma,
    box_best_conditional_risk,
    comp_sum_loss,
    fit_linear_population,
    make_mixture_task,
    population_excess_risks,
    quadratic_posterior_example,
    train_comp_sum,
)

TAUS = [0.0, 0.5, 1.0, 1.5, 2.0]


@pytest.mark.claim("csh_box_gap")
@pytest.mark.parametrize("tau", TAUS + [3.0])
@pytest.mark.parametrize("n, bound", [(2, 0.5), (4, 2.0), (6, 1.0)])
def test_box_closed_form_matches_corner_search_and_bounded_solver(tau, n, bound):
    corners = np.array(list(itertools.product((-bound, bound), repeat=n)))
    brute = np.min(comp_sum_loss(corners, 0, tau))
    closed = box_best_conditional_risk(bound, tau, n)
    assert closed == pytest.approx(brute, rel=1e-13)
    rng = np.random.default_rng(0)
    res = minimize(lambda h: float(comp_sum_loss(h, 0, tau)), rng.uniform(-bound, bound, n), method="L-BFGS-B",
                   bounds=[(-bound, bound)] * n)
    # the minimiser is a vertex of the box, where L-BFGS-B stops with every bound active (measured
    # agreement 2e-15); 1e-9 is L-BFGS-B's default relative stopping tolerance, in case it stops short
    assert closed == pytest.approx(res.fun, rel=1e-9)


def test_box_value_is_non_increasing_in_tau():
    vals = [box_best_conditional_risk(2.0, t, 4) for t in np.linspace(0, 3, 31)]
    assert np.all(np.diff(vals) <= 1e-15)


def test_linear_population_fit_matches_scikit_learn_at_tau_one():
    X, w, P = quadratic_posterior_example(21, 1.0)
    fit = fit_linear_population(X, w, P, 1.0, seed=0, restarts=2)
    # the same population risk as a weighted multinomial logistic regression on (x, y) pairs
    n = P.shape[1]
    Xr = np.repeat(X, n, axis=0)
    yr = np.tile(np.arange(n), X.shape[0])
    sw = (w[:, None] * P).ravel()
    clf = LogisticRegression(C=np.inf, tol=1e-12, max_iter=10_000).fit(Xr, yr, sample_weight=sw)
    sk_risk = float(np.sum(sw * comp_sum_loss(clf.decision_function(Xr), yr, 1.0)))
    # two convex solvers with tight stopping rules (gtol 1e-10 / tol 1e-12): measured agreement 2e-16;
    # 1e-7 allows either to stop on its own criterion without hiding a wrong objective (risk ~ 0.7)
    assert fit.risk == pytest.approx(sk_risk, abs=1e-7)


@pytest.mark.claim("csh_gap_example")
def test_gap_example_gaps_are_positive_and_bound_the_best_in_class_error():
    X, w, P = quadratic_posterior_example(41, 1.0)
    gaps, guarantees = {}, {}
    for tau in TAUS:
        fit = fit_linear_population(X, w, P, tau, seed=0, restarts=8)
        gap = fit.risk - float(w @ best_conditional_risk(P, tau))
        z01, zs = population_excess_risks(X @ fit.W.T + fit.b, w, P, tau)
        assert gap == pytest.approx(zs, abs=1e-12)   # at the best-in-class h, the excess is the gap
        assert gap > 1e-3                             # linear scores cannot fit the posterior
        assert z01 <= float(bound_gamma(gap, tau, 3)) + 1e-12
        gaps[tau], guarantees[tau] = gap, float(bound_gamma(gap, tau, 3))
    assert min(gaps, key=gaps.get) == 2.0 and min(guarantees, key=guarantees.get) == 2.0
    # limit check: on a softmax-linear posterior every gap vanishes (up to optimiser tolerance)
    x = np.linspace(-2, 2, 21)[:, None]
    Pl = np.exp(np.hstack([x, -x, 0 * x]))
    Pl /= Pl.sum(1, keepdims=True)
    wl = np.full(21, 1 / 21)
    for tau in (0.0, 0.5, 1.0, 1.5):
        fit = fit_linear_population(x, wl, Pl, tau, seed=0, restarts=3)
        assert fit.risk - float(wl @ best_conditional_risk(Pl, tau)) < 1e-7


@pytest.mark.parametrize("tau", TAUS)
def test_population_bound_holds_for_random_linear_scores(tau):
    rng = np.random.default_rng(5)
    n, d, m = 4, 3, 30
    X = rng.normal(size=(m, d))
    w = rng.dirichlet(np.ones(m))
    logits = X @ rng.normal(size=(d, n)) + rng.normal(size=n)
    P = np.exp(logits - logits.max(1, keepdims=True))
    P /= P.sum(1, keepdims=True)
    for _ in range(300):
        scores = X @ rng.normal(scale=2.0, size=(d, n)) + rng.normal(size=n)
        z01, zs = population_excess_risks(scores, w, P, tau)
        assert z01 <= float(bound_gamma(zs, tau, n)) + 1e-12


def test_training_rejects_a_task_that_is_not_a_mixture():
    with pytest.raises(TypeError, match="task must be a MixtureTask"):
        train_comp_sum(object(), 1.0, seed=0)
    task = make_mixture_task(3, 2, seed=0)
    with pytest.raises(ValueError, match="model"):
        train_comp_sum(task, 1.0, model="cnn", seed=0)


@pytest.mark.claim("csh_experiment_bound")
@pytest.mark.parametrize("model", ["linear", "mlp"])
def test_training_trajectories_respect_the_bound(model):
    # the chapter's exact experiment (same task, seeds and settings)
    task = make_mixture_task(5, 10, seed=0, separation=1.0, imbalance=4.0, noise=0.2)
    lr = 0.05 if model == "linear" else 0.01
    for tau in TAUS:
        tr = train_comp_sum(task, tau, model=model, lr=lr, steps=300, log_every=20, m_train=2000, m_eval=5000,
                            hidden=32, seed=1)
        gamma = bound_gamma(tr.surrogate_excess, tau, 5)
        assert np.all(tr.zero_one_excess >= -1e-15)
        assert np.all(tr.zero_one_excess <= gamma + 1e-12)
