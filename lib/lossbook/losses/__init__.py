"""Small, shared loss primitives used across topics: stable log-sum-exp and log-softmax.

These are the only pieces topic subpackages share (see the style guide); each has a NumPy
reference and, for the row-wise reduction, a Numba kernel that a test pins to it.
"""

from ._softmax import log_softmax, logsumexp, logsumexp_rows, softmax

__all__ = ["log_softmax", "logsumexp", "logsumexp_rows", "softmax"]
