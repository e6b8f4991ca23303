"""Seeding: one way to turn a user's ``seed``/``rng`` argument into a generator.

Randomness in :mod:`lossbook` only enters through an explicit argument. Public functions accept
``seed`` as an ``int``, a :class:`numpy.random.SeedSequence` or a :class:`numpy.random.Generator`
and call :func:`as_generator`. Numba kernels never seed themselves from global state: they are
handed numbers drawn here beforehand, or an integer from :func:`kernel_seed` that they pass to
``np.random.seed`` inside the jitted code.
"""

from __future__ import annotations

import numbers

import numpy as np

__all__ = ["SeedLike", "as_generator", "kernel_seed", "spawn"]

SeedLike = int | np.integer | np.random.SeedSequence | np.random.Generator


def as_generator(seed: SeedLike, name: str = "seed") -> np.random.Generator:
    """Return a :class:`numpy.random.Generator` for ``seed``.

    A Generator is returned as is (so state is shared with the caller, which is what a caller
    passing one expects); an int or SeedSequence makes a fresh PCG64 generator. ``None`` is
    refused: reproducibility is the default here, not an option.
    """
    if isinstance(seed, np.random.Generator):
        return seed
    if isinstance(seed, np.random.SeedSequence):
        return np.random.default_rng(seed)
    if seed is None:
        raise TypeError(f"{name} is required: pass an int, a numpy SeedSequence or a numpy Generator")
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise TypeError(f"{name} must be an int, a numpy SeedSequence or a numpy Generator, got {type(seed).__name__}")
    if int(seed) < 0:
        raise ValueError(f"{name} must be a non-negative integer, got {int(seed)}")
    return np.random.default_rng(int(seed))


def kernel_seed(rng: np.random.Generator) -> int:
    """Draw a seed in ``[0, 2**31 - 1)`` for a Numba kernel's own ``np.random.seed`` call."""
    return int(rng.integers(0, 2**31 - 1))


def spawn(seed: SeedLike, n: int) -> list[np.random.Generator]:
    """Return ``n`` statistically independent generators derived from ``seed``."""
    if isinstance(seed, np.random.Generator):
        return list(seed.spawn(n))
    as_generator(seed)  # validates
    ss = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(int(seed))
    return [np.random.default_rng(s) for s in ss.spawn(n)]
