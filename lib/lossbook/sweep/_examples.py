"""Point functions for the examples and tests of :mod:`lossbook.sweep` (importable by worker processes)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np


def demo_point(x: int, scale: int, seed: int) -> int:
    """``scale * x + seed``: the docstring example of :func:`~lossbook.sweep.run_sweep`."""
    return scale * x + seed


def noisy_point(x: float, mode: str, seed: int, *, log: str | None = None, fail_at=None, crash: bool = False,
                marker: str | None = None) -> dict:
    """A seeded Monte Carlo estimate, with switches for the failure tests.

    Returns the mean of 1000 draws of ``N(x, 1)`` (``mode="normal"``) or ``x + Exp(1) - 1``
    (``mode="exp"``) from a generator seeded by ``(seed, x, mode)`` only, and the count 1000. When
    ``log`` is a file path, one line per call is appended to it (to count evaluations). When the file
    ``marker`` exists and ``[x, seed] == fail_at``, the call raises (``crash=False``) or kills its
    process with ``os._exit(3)`` (``crash=True``).
    """
    if log is not None:
        with open(log, "a", encoding="utf-8") as fh:
            fh.write(f"{x} {mode} {seed}\n")
    if marker is not None and fail_at is not None and Path(marker).exists() and [x, seed] == list(fail_at):
        if crash:
            os._exit(3)
        raise RuntimeError(f"injected failure at x={x}, seed={seed}")
    rng = np.random.default_rng([seed, int(round(1000 * x)), 0 if mode == "normal" else 1])
    draws = rng.standard_normal(1000) + x if mode == "normal" else x + rng.exponential(1.0, 1000) - 1.0
    return {"mean": float(draws.mean()), "n": 1000}
