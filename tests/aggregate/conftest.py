"""One BLAS thread for the Monte Carlo tests: the machine is shared, and 200 x 200 factorisations are
slower multi-threaded under contention than on one core."""

import pytest
from threadpoolctl import threadpool_limits


@pytest.fixture(autouse=True, scope="module")
def _one_blas_thread():
    with threadpool_limits(limits=1):
        yield
