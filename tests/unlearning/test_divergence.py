"""f-divergences and their Fenchel lower bound against independent oracles.

Oracles: scipy.special.rel_entr (KL), scipy.spatial.distance.jensenshannon (JS), direct sums
(TV, Pearson), a numerical supremum for the conjugates, and scipy.optimize maximising the bound
over critics (L-BFGS-B; linprog for TV, where the bound is linear in the critic).
"""

import math

import numpy as np
import pytest
from scipy.optimize import linprog, minimize, minimize_scalar
from scipy.spatial.distance import jensenshannon
from scipy.special import rel_entr

from lossbook.unlearning import (
    DIVERGENCES,
    activation,
    conjugate,
    f_divergence,
    f_generator,
    optimal_critic,
    variational_bound,
)

LOG2 = math.log(2.0)


def _oracle(p, q, div):
    p, q = np.asarray(p, float), np.asarray(q, float)
    if div == "KL":
        return float(np.sum(rel_entr(p, q)))
    if div == "TV":
        return 0.5 * float(np.sum(np.abs(p - q)))
    if div == "JS":  # the f-GAN generator gives twice the Jensen-Shannon divergence
        return 2.0 * float(jensenshannon(p, q)) ** 2
    if np.any((p > 0) & (q == 0)):
        return math.inf
    m = q > 0
    return float(np.sum((p[m] - q[m]) ** 2 / q[m]))


def _pairs(rng, n, k=6):
    for _ in range(n):
        yield rng.dirichlet(np.ones(k)), rng.dirichlet(np.ones(k))


@pytest.mark.parametrize("div", DIVERGENCES)
def test_exact_divergence_matches_scipy_and_direct_sums(div):
    rng = np.random.default_rng(0)
    for p, q in _pairs(rng, 50):
        # float64 sums of six terms: relative error a few ulp; 1e-12 leaves room for jensenshannon's sqrt
        assert f_divergence(p, q, div) == pytest.approx(_oracle(p, q, div), rel=1e-12, abs=1e-14)


@pytest.mark.claim("flat_conjugates")
@pytest.mark.parametrize("div", DIVERGENCES)
def test_conjugate_matches_numerical_supremum(div):
    """f*(t) = sup_{u >= 0} (t u - f(u)) computed by a bounded scalar search on a log scale of u."""
    ts = {"KL": [-3.0, -0.5, 0.0, 0.7, 2.0], "Pearson": [-5.0, -2.0, -1.9, -1.0, 0.0, 1.0, 3.0],
          "JS": [-3.0, -1.0, 0.0, 0.4, 0.6], "TV": [-2.0, -0.5, -0.2, 0.0, 0.3, 0.5]}[div]
    for t in ts:
        def neg(s, t=t):
            u = math.exp(s)
            return -(t * u - float(f_generator(u, div)))
        res = minimize_scalar(neg, bounds=(-30.0, 8.0), method="bounded", options={"xatol": 1e-10})
        sup = max(-res.fun, t * 0.0 - float(f_generator(0.0, div)))  # u = 0 is not on the log grid
        if div == "TV":  # at |t| = 1/2 the supremum is attained on a whole ray; the search reaches it
            sup = max(sup, t * 1.0)
        # the scalar search stops at xatol 1e-10 in log u: error in the value of order 1e-9 or below
        assert float(conjugate(t, div)) == pytest.approx(sup, abs=1e-7)


@pytest.mark.parametrize("div", DIVERGENCES)
def test_fenchel_young_inequality_on_a_grid(div):
    u = np.linspace(0.0, 5.0, 41)
    v = np.linspace(-4.0, 4.0, 33)
    t = activation(v, div)
    gap = f_generator(u, div)[:, None] + conjugate(t, div)[None, :] - u[:, None] * t[None, :]
    assert gap.min() >= -1e-12  # f(u) + f*(t) >= t u, up to rounding of O(1) terms


@pytest.mark.claim("flat_bound_random")
@pytest.mark.parametrize("div", DIVERGENCES)
def test_bound_below_divergence_for_random_critics(div):
    rng = np.random.default_rng(1)
    worst = -np.inf
    for p, q in _pairs(rng, 200):
        d = _oracle(p, q, div)
        for scale in (0.3, 3.0):
            critic = activation(rng.normal(scale=scale, size=p.size), div)
            worst = max(worst, variational_bound(critic, p, q, div) - d)
    assert worst <= 1e-12


@pytest.mark.claim("flat_bound_random")
def test_bound_check_fails_for_a_wrong_conjugate():
    """The same check with f* replaced by a smaller function (exp(t - 2) for KL) is violated."""
    rng = np.random.default_rng(2)
    p, q = rng.dirichlet(np.ones(6)), rng.dirichlet(np.ones(6))
    critic = optimal_critic(p, q, "KL")
    wrong = float(p @ critic - q @ np.exp(critic - 2.0))
    assert wrong > _oracle(p, q, "KL") + 0.1


@pytest.mark.claim("flat_bound_tight")
@pytest.mark.parametrize("div", DIVERGENCES)
def test_bound_tight_at_optimal_critic(div):
    rng = np.random.default_rng(3)
    for p, q in _pairs(rng, 50):
        critic = optimal_critic(p, q, div)
        # sums of six O(1) terms: 1e-12 absolute
        assert variational_bound(critic, p, q, div) == pytest.approx(_oracle(p, q, div), abs=1e-12)


@pytest.mark.claim("flat_bound_tight")
@pytest.mark.parametrize("div", DIVERGENCES)
def test_optimiser_over_critics_reaches_divergence(div):
    rng = np.random.default_rng(4)
    for p, q in _pairs(rng, 5, k=5):
        d = _oracle(p, q, div)
        if div == "TV":  # linear in the critic on the box |T| <= 1/2: a linear programme
            res = linprog(-(p - q), bounds=[(-0.5, 0.5)] * p.size, method="highs")
            best = variational_bound(res.x, p, q, div)
        else:  # unconstrained in the activation's argument v
            res = minimize(lambda v, p=p, q=q: -variational_bound(activation(v, div), p, q, div), np.zeros(p.size),
                           method="L-BFGS-B", options={"ftol": 1e-15, "gtol": 1e-10, "maxiter": 2000})
            best = -res.fun
        # a smooth concave maximisation stopped at gtol 1e-10 with O(1) curvature: value within 1e-8
        assert best == pytest.approx(d, abs=1e-7)
        assert best <= d + 1e-12


@pytest.mark.claim("flat_boundaries")
@pytest.mark.parametrize("div", DIVERGENCES)
def test_identical_distributions_give_zero_and_a_constant_critic(div):
    p = np.array([0.1, 0.2, 0.3, 0.4])
    assert f_divergence(p, p, div) == 0.0
    critic = optimal_critic(p, p, div)
    assert np.ptp(critic) == 0.0  # f'(1) everywhere
    assert variational_bound(critic, p, p, div) == pytest.approx(0.0, abs=1e-15)


@pytest.mark.claim("flat_boundaries")
def test_disjoint_supports_values_and_limits_of_clipped_critics():
    p = np.array([0.5, 0.5, 0.0, 0.0])
    q = np.array([0.0, 0.0, 0.25, 0.75])
    assert f_divergence(p, q, "TV") == 1.0
    assert f_divergence(p, q, "JS") == pytest.approx(2 * LOG2, rel=1e-15)
    assert f_divergence(p, q, "KL") == math.inf and f_divergence(p, q, "Pearson") == math.inf
    assert _oracle(p, q, "KL") == math.inf
    # TV: the optimal critic is finite and attains the value
    assert variational_bound(optimal_critic(p, q, "TV"), p, q, "TV") == 1.0
    # KL, JS, Pearson: the optimal critic is infinite; clipping it at +-c gives bounds that increase
    # with c, without limit for KL and Pearson and to 2 log 2 for JS
    for div in ("KL", "JS", "Pearson"):
        star = optimal_critic(p, q, div)
        assert np.isinf(star).any()
        vals = []
        for c in (1.0, 10.0, 100.0):
            t = np.clip(star, -c, c)  # JS: the entries at log 2 sit where q = 0, so f* is not evaluated there
            vals.append(variational_bound(t, p, q, div))
        assert vals[0] < vals[1] < vals[2]
        if div == "JS":
            assert vals[2] == pytest.approx(2 * LOG2, abs=1e-12)
        else:
            assert vals[2] > 40.0


@pytest.mark.parametrize("div", DIVERGENCES)
def test_extreme_probabilities_stay_finite_and_ordered(div):
    p = np.array([1 - 1e-300, 1e-300, 0.0])
    q = np.array([1e-300, 1 - 1e-300, 0.0])
    d = f_divergence(p, q, div)
    assert d >= 0.0 and not math.isnan(d)
    critic = np.clip(optimal_critic(p, q, div), -1e6, 1e6)
    if div == "JS":
        critic = np.minimum(critic, 0.69)
    assert variational_bound(critic, p, q, div) <= d + 1e-9


def test_refusals_name_the_argument():
    with pytest.raises(ValueError, match="divergence"):
        f_divergence([1.0], [1.0], "Hellinger")
    with pytest.raises(ValueError, match="critic"):
        variational_bound([0.6, 0.0], [0.5, 0.5], [0.5, 0.5], "TV")
    with pytest.raises(ValueError, match="critic"):
        variational_bound([LOG2, 0.0], [0.5, 0.5], [0.5, 0.5], "JS")
    # where q = 0 the critic may reach f'(inf) = log 2 but not beyond (the bound would exceed D)
    assert variational_bound([LOG2, -50.0], [1.0, 0.0], [0.0, 1.0], "JS") <= 2 * LOG2
    with pytest.raises(ValueError, match="critic"):
        variational_bound([1.0, -50.0], [1.0, 0.0], [0.0, 1.0], "JS")
    with pytest.raises(ValueError, match="critic"):
        variational_bound([0.6, 0.0], [1.0, 0.0], [0.0, 1.0], "TV")


def test_f_gan_table_conjugates_are_larger_outside_the_critic_range():
    """The f-GAN forms t + t^2/4 (Pearson) and t (TV) exceed the exact conjugates on u >= 0 below
    t = -2 and t = -1/2: they loosen the bound there, they never break it."""
    t = np.array([-6.0, -3.0, -2.5])
    assert np.all(t + t * t / 4 > conjugate(t, "Pearson"))
    assert np.all(conjugate(t, "Pearson") == -1.0)
    t = np.array([-3.0, -1.0, -0.6])
    assert np.all(conjugate(t, "TV") == -0.5) and np.all(t < -0.5)
    with pytest.raises(ValueError, match="p"):
        f_divergence([0.5, 0.6], [0.5, 0.5], "KL")
    with pytest.raises(ValueError, match="q"):
        f_divergence([0.5, 0.5], [0.2, 0.3, 0.5], "KL")
    with pytest.raises(ValueError, match="t"):
        conjugate(0.7, "JS")
