"""PyTorch is optional: one way to import it, with one message when it is missing.

``pip install lossbook`` installs NumPy, SciPy and Numba only; the few functions that train a
network need the ``torch`` extra. Such a function calls :func:`require_torch` as its first
statement (before checking its arguments), so a user without PyTorch learns what to install at
once rather than from a ``ModuleNotFoundError`` deep inside the call::

    def train_something(...):
        torch = require_torch()
        ...
"""

from __future__ import annotations

__all__ = ["TORCH_HINT", "require_torch"]

TORCH_HINT = "pip install lossbook[torch]"


def require_torch():
    """Return the :mod:`torch` module, or raise an ImportError that says how to install it."""
    try:
        import torch
    except ImportError as exc:
        raise ImportError(f"this function needs PyTorch, which is not installed: {TORCH_HINT}") from exc
    return torch
