"""lossbook: reference implementations behind *Losses, derived and computed*.

Each topic lives in its own subpackage (``lossbook.consistency``, ``lossbook.quant``, ...);
import the one you need. Importing :mod:`lossbook` itself is cheap: no subpackage is imported
and no Numba kernel is compiled until it is first called.
"""

from importlib import import_module as _import_module

__version__ = "0.1.0"
__all__ = ["__version__"]

_SUBPACKAGES = ("collapse", "consistency", "losses", "pathloss", "quant", "regret")


def __getattr__(name: str):
    # Lazy subpackage access (``lossbook.quant``) without paying for it at import time.
    if name in _SUBPACKAGES:
        return _import_module(f"{__name__}.{name}")
    raise AttributeError(f"module 'lossbook' has no attribute {name!r}")
