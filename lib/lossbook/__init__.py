"""lossbook: reference implementations behind *Losses, derived and computed*.

Each topic lives in its own subpackage (``lossbook.consistency``, ``lossbook.quant``, ...);
import the one you need. Importing :mod:`lossbook` itself is cheap: no subpackage is imported
and no Numba kernel is compiled until it is first called.
"""

from importlib import import_module as _import_module
from pkgutil import iter_modules as _iter_modules

__version__ = "0.1.0"
__all__ = ["__version__"]

# Public subpackages are discovered, not listed, so a new topic needs no edit here. Listing the
# package directory costs a directory read; nothing is imported until first use.
_SUBPACKAGES = tuple(sorted(m.name for m in _iter_modules(__path__) if m.ispkg and not m.name.startswith("_")))


def __getattr__(name: str):
    # Lazy subpackage access (``lossbook.quant``) without paying for it at import time.
    if name in _SUBPACKAGES:
        return _import_module(f"{__name__}.{name}")
    raise AttributeError(f"module 'lossbook' has no attribute {name!r}")


def __dir__():
    return sorted(list(globals()) + list(_SUBPACKAGES))
