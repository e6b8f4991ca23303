"""Shared pytest configuration.

Hypothesis runs derandomized (a fixed seed per test), so the suite is reproducible run to run
like everything else in the book; deadlines are off because timings on a shared 2-core machine
say nothing about correctness.
"""

from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

ROOT = Path(__file__).resolve().parents[1]

settings.register_profile(
    "lossbook", derandomize=True, deadline=None, suppress_health_check=[HealthCheck.too_slow], print_blob=True
)
settings.load_profile("lossbook")


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return ROOT
