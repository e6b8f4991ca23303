"""Seeded data sets: shapes, geometry, noise rates against their binomial standard errors, determinism."""

import numpy as np
import pytest
from scipy import stats

from lossbook.datasets import flip_labels, gaussian_mixture_data, load_digits_split, long_tailed_counts, torch_loader


def test_long_tailed_counts_follow_the_geometric_profile():
    c = long_tailed_counts(10, 5000, 100.0)
    assert c[0] == 5000 and c[-1] == 50 and np.all(np.diff(c) <= 0)
    # constant ratio between neighbours: 100^(1/9)
    assert np.allclose(c[1:] / c[:-1], 100 ** (-1 / 9), rtol=0.02)
    assert long_tailed_counts(3, 7, 1.0).tolist() == [7, 7, 7]


def test_mixture_means_are_orthogonal_with_the_requested_norm():
    data = gaussian_mixture_data([30, 30, 30, 30], 8, separation=2.5, seed=1)
    G = data.means @ data.means.T
    assert np.allclose(np.diag(G), 2.5**2) and np.allclose(G - np.diag(np.diag(G)), 0.0, atol=1e-12)
    assert np.bincount(data.y).tolist() == [30] * 4


def test_mixture_noise_has_the_requested_scale():
    data = gaussian_mixture_data([4000], 3, separation=0.0, noise=0.5, seed=2)
    # sample variance of 12000 N(0, 0.25) draws: relative s.e. sqrt(2/12000) ~ 1.3%; allow 5 s.e.
    assert data.X.var() == pytest.approx(0.25, rel=5 * np.sqrt(2 / 12000))


def test_mixture_is_reproducible_and_seed_dependent():
    a = gaussian_mixture_data([5, 5], 3, seed=3)
    b = gaussian_mixture_data([5, 5], 3, seed=3)
    c = gaussian_mixture_data([5, 5], 3, seed=4)
    assert np.array_equal(a.X, b.X) and not np.array_equal(a.X, c.X)


def test_uniform_flip_rate_within_binomial_error_and_never_to_itself():
    y = np.repeat(np.arange(5), 2000)
    noisy = flip_labels(y, 5, 0.3, seed=0)
    se = np.sqrt(0.3 * 0.7 / y.size)
    assert abs(noisy.flip_rate - 0.3) < 4 * se
    assert np.all(noisy.y[noisy.flipped] != y[noisy.flipped])
    # flipped labels are spread uniformly over the other four classes (chi-square, 1% level)
    dest = (noisy.y[noisy.flipped] - y[noisy.flipped]) % 5
    counts = np.bincount(dest, minlength=5)[1:]
    assert stats.chisquare(counts).pvalue > 0.01


def test_transition_matrix_noise_matches_its_rows():
    T = np.array([[0.6, 0.4, 0.0], [0.0, 1.0, 0.0], [0.1, 0.1, 0.8]])
    y = np.repeat(np.arange(3), 5000)
    noisy = flip_labels(y, 3, transition=T, seed=5)
    for k in range(3):
        freq = np.bincount(noisy.y[y == k], minlength=3) / 5000
        se = np.sqrt(T[k] * (1 - T[k]) / 5000) + 1e-12
        assert np.all(np.abs(freq - T[k]) <= 4 * se + 1e-12)
    assert noisy.flip_rate == pytest.approx(np.mean(noisy.y != y))


def test_digits_split_is_stratified_standardised_on_train_and_seeded():
    s = load_digits_split(test_size=0.25, standardize=True, seed=7)
    assert s.X_train.shape[0] + s.X_test.shape[0] == 1797 and s.X_train.shape[1] == 64
    assert np.allclose(s.X_train.mean(axis=0), 0.0, atol=1e-12)
    ratio = np.bincount(s.y_test, minlength=10) / np.bincount(s.y_train, minlength=10)
    assert np.all(np.abs(ratio - 1 / 3) < 0.05)  # stratified: every class split 1 : 3
    again = load_digits_split(test_size=0.25, standardize=True, seed=7)
    assert np.array_equal(s.X_test, again.X_test)
    assert load_digits_split(seed=0, dtype=np.float32).X_train.dtype == np.float32


def test_torch_loader_order_is_fixed_by_the_seed():
    X = np.arange(20.0).reshape(10, 2)
    y = np.arange(10)
    order = [[int(v) for b in torch_loader(X, y, batch_size=3, seed=s) for v in b[1]] for s in (1, 1, 2)]
    assert order[0] == order[1] and order[0] != order[2] and sorted(order[0]) == list(range(10))


@pytest.mark.parametrize("call, match", [
    (lambda: long_tailed_counts(0, 10, 2.0), "n_classes"),
    (lambda: long_tailed_counts(3, 10, 0.5), "imbalance"),
    (lambda: gaussian_mixture_data([2.5, 3], 2, seed=0), "class_counts"),
    (lambda: gaussian_mixture_data([0, 0], 2, seed=0), "class_counts"),
    (lambda: gaussian_mixture_data([3], 2, noise=0.0, seed=0), "noise"),
    (lambda: gaussian_mixture_data([10**6, 10**6], 1000, seed=0), "limit"),
    (lambda: flip_labels([0, 1], 2, 1.5, seed=0), "rate"),
    (lambda: flip_labels([0, 3], 2, 0.1, seed=0), "y"),
    (lambda: flip_labels([0, 1], 2, seed=0), "exactly one"),
    (lambda: flip_labels([0, 1], 2, transition=np.eye(3), seed=0), "transition"),
    (lambda: load_digits_split(test_size=1.0, seed=0), "test_size"),
    (lambda: torch_loader(np.zeros((3, 2)), [0, 1], batch_size=2, seed=0), "rows"),
])
def test_bad_arguments_raise_naming_the_argument(call, match):
    with pytest.raises((ValueError, TypeError), match=match):
        call()
