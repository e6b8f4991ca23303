"""Seeding: explicit seeds are required, equal seeds give equal streams, spawned streams differ."""

import numpy as np
import pytest

from lossbook._rng import as_generator, kernel_seed, spawn


def test_same_seed_same_stream_and_generator_passthrough():
    a = as_generator(7).normal(size=5)
    b = as_generator(np.random.SeedSequence(7)).normal(size=5)
    np.testing.assert_array_equal(a, b)
    g = np.random.default_rng(1)
    assert as_generator(g) is g


@pytest.mark.parametrize(("bad", "exc"), [(None, TypeError), (1.5, TypeError), (True, TypeError), (-1, ValueError)])
def test_bad_seeds_are_refused(bad, exc):
    with pytest.raises(exc, match="seed"):
        as_generator(bad)


def test_kernel_seed_range_and_determinism():
    s1 = [kernel_seed(as_generator(3)) for _ in range(3)]
    assert len(set(s1)) == 1 and 0 <= s1[0] < 2**31 - 1


def test_spawned_generators_are_reproducible_and_distinct():
    x = [g.random() for g in spawn(5, 3)]
    y = [g.random() for g in spawn(5, 3)]
    assert x == y and len(set(x)) == 3
