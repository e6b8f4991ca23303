"""Dirichlet label split: a partition with the floor-cut sizes; iid proportions as alpha grows."""

import numpy as np
import pytest

from lossbook.federated import dirichlet_label_split


def _labels(seed=0, n=600, C=6):
    return np.random.default_rng(seed).integers(0, C, size=n)


@pytest.mark.claim("fed_dirichlet")
@pytest.mark.parametrize("alpha", [0.01, 0.1, 1.0, 10.0, 1e4])
@pytest.mark.parametrize("m", [1, 3, 10])
def test_split_is_a_partition_with_floor_cut_sizes(alpha, m):
    y = _labels()
    s = dirichlet_label_split(y, m, alpha, seed=1)
    allidx = np.concatenate(s.indices)
    assert np.array_equal(np.sort(allidx), np.arange(y.size))  # disjoint and covering
    for k, idx in enumerate(s.indices):
        # the counts describe the indices actually handed out
        assert np.array_equal(np.bincount(y[idx], minlength=6), s.counts[k])
    n_c = np.bincount(y, minlength=6)
    assert np.array_equal(s.counts.sum(axis=0), n_c)
    assert np.allclose(s.proportions.sum(axis=1), 1.0)
    # floor cuts of the cumulative proportions: each block is within one sample of n_c * q_ck
    assert np.all(np.abs(s.counts - (s.proportions * n_c[:, None]).T) < 1.0 + 1e-9)


@pytest.mark.claim("fed_dirichlet")
def test_large_alpha_gives_iid_proportions_small_alpha_does_not():
    y = _labels(n=3000)
    n_c = np.bincount(y)
    m = 5
    big = dirichlet_label_split(y, m, 1e7, seed=2)
    # q_ck = 1/m + O(1/sqrt(alpha m)) and the floor cut adds less than 1
    assert np.all(np.abs(big.counts - n_c[None, :] / m) < 1.0 + 1e-2 * n_c.max())
    small = dirichlet_label_split(y, m, 0.1, seed=2)
    # with alpha = 0.1 a typical class lands mostly on one client: far from n_c / m
    assert np.max(np.abs(small.counts - n_c[None, :] / m)) > 0.3 * n_c.min()


def test_mean_share_is_one_over_m_at_any_alpha():
    # E[q_ck] = 1/m for Dir(alpha 1_m): Monte Carlo over seeds, tolerance 5 standard errors
    y = np.repeat(np.arange(2), 500)
    share = np.array([dirichlet_label_split(y, 4, 0.5, seed=s).counts[0, 0] / 500 for s in range(400)])
    se = share.std(ddof=1) / np.sqrt(share.size)
    assert abs(share.mean() - 0.25) < 5 * se


def test_min_size_is_met_or_refused():
    y = _labels()
    s = dirichlet_label_split(y, 10, 0.05, seed=3, min_size=20)
    assert min(a.size for a in s.indices) >= 20
    with pytest.raises(ValueError, match="min_size"):
        dirichlet_label_split(y, 10, 0.001, seed=3, min_size=60, max_tries=3)


def test_same_seed_same_split():
    y = _labels()
    a = dirichlet_label_split(y, 4, 0.3, seed=7)
    b = dirichlet_label_split(y, 4, 0.3, seed=7)
    assert all(np.array_equal(u, v) for u, v in zip(a.indices, b.indices, strict=True))


@pytest.mark.parametrize("kw,match", [(dict(alpha=0.0), "alpha"), (dict(n_clients=0), "n_clients"),
                                      (dict(min_size=-1), "min_size")])
def test_bad_arguments_are_named(kw, match):
    args = dict(y=_labels(), n_clients=3, alpha=1.0, seed=0) | kw
    with pytest.raises(ValueError, match=match):
        dirichlet_label_split(**args)
