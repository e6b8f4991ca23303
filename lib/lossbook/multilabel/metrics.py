"""Micro and macro F1 and ROC AUC for multi-label predictions, and the rare-code split."""

from __future__ import annotations

import numpy as np

from .._validate import check_array
from ..ranking import roc_auc

__all__ = ["multilabel_auc", "multilabel_f1", "per_code_f1"]


def _binary(y, name, shape=None):
    yy = np.asarray(y)
    if yy.dtype.kind not in "biuf" or yy.ndim != 2 or not np.all((yy == 0) | (yy == 1)):
        raise ValueError(f"{name} must be a 2-D array of 0/1 labels")
    if shape is not None and yy.shape != shape:
        raise ValueError(f"{name} must have shape {shape}, got {yy.shape}")
    return yy.astype(bool)


def per_code_f1(y_true, y_pred) -> np.ndarray:
    """F1 of each code (column); a code with no positive label and no positive prediction gets 0.

    Parameters
    ----------
    y_true, y_pred : array_like of 0/1, shape (N, L)

    Returns
    -------
    numpy.ndarray, shape (L,)

    Examples
    --------
    >>> per_code_f1([[1, 0], [1, 1]], [[1, 0], [0, 1]]).tolist()
    [0.6666666666666666, 1.0]
    """
    t = _binary(y_true, "y_true")
    p = _binary(y_pred, "y_pred", t.shape)
    tp = (t & p).sum(axis=0)
    denom = 2 * tp + (~t & p).sum(axis=0) + (t & ~p).sum(axis=0)
    return np.divide(2 * tp, denom, out=np.zeros(denom.shape), where=denom > 0)


def multilabel_f1(y_true, y_pred) -> tuple[float, float]:
    """Micro-F1 (pooled counts) and macro-F1 (mean of per-code F1) of 0/1 predictions.

    A code with no positive label and no positive prediction has F1 = 0 in the macro mean, which is
    scikit-learn's ``zero_division=0`` convention.

    Parameters
    ----------
    y_true, y_pred : array_like of 0/1, shape (N, L)

    Returns
    -------
    (float, float)
        ``(micro, macro)``.

    Examples
    --------
    >>> multilabel_f1([[1, 0], [1, 1]], [[1, 0], [0, 1]])
    (0.8, 0.8333333333333333)
    """
    t = _binary(y_true, "y_true")
    p = _binary(y_pred, "y_pred", t.shape)
    tp = (t & p).sum(axis=0)
    fp = (~t & p).sum(axis=0)
    fn = (t & ~p).sum(axis=0)
    denom = 2 * tp + fp + fn
    per = np.divide(2 * tp, denom, out=np.zeros(denom.shape), where=denom > 0)
    tot = 2 * tp.sum() + fp.sum() + fn.sum()
    micro = float(2 * tp.sum() / tot) if tot else 0.0
    return micro, float(per.mean()) if per.size else 0.0


def multilabel_auc(y_true, scores) -> tuple[float, float]:
    """Micro-AUC (all entries pooled) and macro-AUC (mean over codes with both classes present).

    Parameters
    ----------
    y_true : array_like of 0/1, shape (N, L)
    scores : array_like, shape (N, L)
        Real scores (higher = more likely positive), finite.

    Returns
    -------
    (float, float)
        ``(micro, macro)``; ``nan`` is never returned: a ValueError is raised when no code (macro) or
        the pooled entries (micro) have both a positive and a negative label.

    Examples
    --------
    >>> multilabel_auc([[1, 0], [0, 1]], [[0.9, 0.1], [0.2, 0.8]])
    (1.0, 1.0)
    """
    t = _binary(y_true, "y_true")
    if not (t.any() and (~t).any()):
        raise ValueError("y_true must contain both 0 and 1 labels for an AUC")
    s = check_array(scores, "scores", ndim=2)
    if s.shape != t.shape:
        raise ValueError(f"scores must have the shape of y_true {t.shape}, got {s.shape}")
    micro = roc_auc(t.ravel(), s.ravel(), engine="numpy")
    ok = t.any(axis=0) & (~t).any(axis=0)
    if not ok.any():
        raise ValueError("y_true has no code with both a 0 and a 1 label: the macro-AUC is undefined")
    macro = float(np.mean([roc_auc(t[:, j], s[:, j], engine="numpy") for j in np.flatnonzero(ok)]))
    return micro, macro
