"""Progress bars that show in an interactive notebook and stay silent in the book build and in CI.

The rule is an environment variable, not a guess about the terminal: the book build (``make``)
exports ``TQDM_DISABLE=1``, which tqdm itself honours, and ``LOSSBOOK_PROGRESS=0`` switches the
bars off too. In JupyterLab, Classic or Colab neither is set, so long loops show a bar
(``tqdm.auto`` picks the notebook widget). ``isatty`` is not used: it is false inside Jupyter too.
"""

from __future__ import annotations

import os
from collections.abc import Iterable

import numpy as np

__all__ = ["progress", "progress_enabled"]

_OFF = {"1", "true", "yes", "on"}


def progress_enabled() -> bool:
    """True unless ``TQDM_DISABLE`` is set truthy or ``LOSSBOOK_PROGRESS`` is set to 0/false/no/off.

    Examples
    --------
    >>> import os
    >>> os.environ["LOSSBOOK_PROGRESS"] = "0"
    >>> progress_enabled()
    False
    >>> del os.environ["LOSSBOOK_PROGRESS"]
    """
    if os.environ.get("TQDM_DISABLE", "").strip().lower() in _OFF:
        return False
    return os.environ.get("LOSSBOOK_PROGRESS", "1").strip().lower() not in {"0", "false", "no", "off"}


def progress(iterable: Iterable, *, total: int | None = None, desc: str | None = None, leave: bool = False):
    """Wrap ``iterable`` in a tqdm bar when :func:`progress_enabled`, else return it unchanged.

    Parameters
    ----------
    iterable : iterable
        What the loop runs over.
    total : int, optional
        Number of items, for iterables without ``len``.
    desc : str, optional
        Label of the bar.
    leave : bool, default False
        Keep the finished bar on screen.

    Returns
    -------
    iterable
        ``iterable`` itself, or a tqdm iterator over it.

    Examples
    --------
    >>> import os
    >>> os.environ["LOSSBOOK_PROGRESS"] = "0"
    >>> list(progress(range(3)))
    [0, 1, 2]
    >>> del os.environ["LOSSBOOK_PROGRESS"]
    """
    if desc is not None and not isinstance(desc, str):
        raise TypeError(f"desc must be a string or None, got {type(desc).__name__}")
    try:
        iter(iterable)
    except TypeError:
        raise TypeError(f"iterable must be iterable, got {type(iterable).__name__}") from None
    if total is not None:
        from .._validate import check_int

        total = check_int(total, "total", low=0)
    if not isinstance(leave, bool | np.bool_):
        raise TypeError(f"leave must be a bool, got {type(leave).__name__}")
    if not progress_enabled():
        return iterable
    try:
        from tqdm.auto import tqdm
    except ImportError:  # tqdm is in the book/notebooks extras, not a core dependency
        return iterable
    return tqdm(iterable, total=total, desc=desc, leave=leave)
