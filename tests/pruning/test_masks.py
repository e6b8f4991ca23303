"""The mass and uniform target rules against brute-force loops, and their structural properties."""

import numpy as np
import pytest

from lossbook.pruning import MASS_TOL, filter_heat, mass_target_mask, uniform_target_mask


def _mass_loop(h, r):
    """Independent reference: one input at a time, filters visited hottest first (ties: lower index first)."""
    out = np.zeros(h.shape, dtype=bool)
    for b in range(h.shape[0]):
        total = sum(h[b])
        if total == 0:
            continue
        norm = [v / total for v in h[b]]
        if r == 1.0:
            out[b] = [v > MASS_TOL for v in norm]
            continue
        visit = sorted(range(len(norm)), key=lambda j: (-norm[j], j))
        acc = 0.0
        for j in visit:
            acc += norm[j]
            if acc - r > MASS_TOL:
                break
            out[b, j] = True
    return out


def _heats(rng, B=40, C=9):
    h = rng.exponential(size=(B, C))
    h[rng.random((B, C)) < 0.2] = 0.0                     # dead filters
    h[:5] = np.round(h[:5] * 2) / 2                        # ties
    h[5] = 0.0                                             # an input with no firing filter
    h[6] = 1.0                                             # all equal
    return h


@pytest.mark.claim("ftwt_mass_rule")
@pytest.mark.parametrize("r", [0.0, 0.3, 0.5, 0.7, 0.9, 0.99, 1.0])
def test_mass_rule_equals_the_loop(r):
    h = _heats(np.random.default_rng(int(r * 100)))
    np.testing.assert_array_equal(mass_target_mask(h, r), _mass_loop(h, r))


@pytest.mark.claim("ftwt_mass_rule")
def test_mass_rule_structure():
    rng = np.random.default_rng(1)
    h = _heats(rng, B=200, C=12)
    norm = h / np.maximum(h.sum(1, keepdims=True), 1e-300)
    prev = np.zeros_like(h, dtype=bool)
    for r in np.linspace(0, 0.999, 40):
        m = mass_target_mask(h, r)
        assert np.all(prev <= m)                              # monotone in r
        kept = (norm * m).sum(1)
        assert np.all(kept <= r + MASS_TOL + 1e-12)           # kept mass within r
        # a prefix of the hottest: every dropped filter is at most as hot as every kept one
        hot_dropped = np.where(m, -np.inf, norm).max(1)
        cold_kept = np.where(m, norm, np.inf).min(1)
        assert np.all((hot_dropped <= cold_kept) | ~m.any(1))
        # maximal: adding the hottest dropped filter would exceed r + tol (unless none is left or the input is dead)
        alive = h.sum(1) > 0
        room = ~m.all(1) & alive
        assert np.all(kept[room] + hot_dropped[room] > r + MASS_TOL)
        # empty iff the hottest filter alone exceeds r + tol
        np.testing.assert_array_equal(~m.any(1) & alive, alive & (norm.max(1) > r + MASS_TOL))
        prev = m
    # r = 1: exactly the filters with normalised heat above the tolerance
    np.testing.assert_array_equal(mass_target_mask(h, 1.0), norm > MASS_TOL)


@pytest.mark.claim("ftwt_mass_rule")
def test_mass_rule_invariances():
    rng = np.random.default_rng(2)
    acts = rng.standard_normal((6, 5, 4, 4))
    m = mass_target_mask(filter_heat(acts), 0.8)
    np.testing.assert_array_equal(mass_target_mask(filter_heat(3.7 * acts), 0.8), m)      # positive rescaling
    perm = rng.permutation(16)
    shuffled = acts.reshape(6, 5, 16)[:, :, perm].reshape(6, 5, 4, 4)
    np.testing.assert_array_equal(mass_target_mask(filter_heat(shuffled), 0.8), m)        # spatial permutation
    np.testing.assert_array_equal(mass_target_mask(filter_heat(-acts), 0.8), mass_target_mask(filter_heat(acts), 0.8))


def test_uniform_rule():
    rng = np.random.default_rng(3)
    h = _heats(rng, B=50, C=10)
    for ratio in (0.0, 0.25, 0.5, 1.0):
        m = uniform_target_mask(h, ratio)
        k = int(np.floor(ratio * 10))
        for b in range(50):
            cold = set(np.flatnonzero(h[b] <= MASS_TOL))
            coolest = set(sorted(range(10), key=lambda j: (h[b, j], j))[:k])
            assert set(np.flatnonzero(~m[b])) == cold | coolest


def test_heat_and_bad_inputs():
    acts = np.zeros((1, 2, 3, 3))
    acts[0, 0, 1, 2] = -4.0
    acts[0, 1, 0, 0] = 1.5
    np.testing.assert_array_equal(filter_heat(acts), [[4.0, 1.5]])
    with pytest.raises(ValueError, match="heat"):
        mass_target_mask([[-1.0, 2.0]], 0.5)
    with pytest.raises(ValueError, match="r must"):
        mass_target_mask([[1.0, 2.0]], 1.5)
    with pytest.raises(ValueError, match="ratio"):
        uniform_target_mask([[1.0]], -0.1)
    with pytest.raises(ValueError, match="activations"):
        filter_heat(np.ones((2, 3, 4)))
    with pytest.raises(ValueError, match="heat"):
        mass_target_mask(np.ones((2, 0)), 0.5)
