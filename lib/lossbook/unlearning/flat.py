"""The FLAT unlearning loss and its loss-adjustment weights.

Chapter ``book/feedback/flat-unlearning``. Each forget prompt ``x`` has its answer ``y_f`` and a
template (refusal) answer ``y_e``; ``P_e`` and ``P_f`` are the model's *mean token probabilities*
of the two answers. FLAT minimises the negative Fenchel bound of ``D_f(template || forget)`` with
the critic ``T = g(P)`` (eq. :eq:`flat-loss`):

    L = -mean_i g(P_e,i) + mean_j f*(g(P_f,j)).

Its gradient reweights ``grad P_e`` and ``grad P_f`` by the bounded weights of
:func:`flat_weights` (:prf:ref:`flat-thm-weights`).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from .._torch import require_torch
from .._validate import check_array
from .divergence import _activation, _div

__all__ = ["FlatWeights", "flat_loss", "flat_loss_torch", "flat_weights"]

_LOG2 = math.log(2.0)


class FlatWeights(NamedTuple):
    """Loss-adjustment weights: ``dL/dP_e,i = -template_i / n_e`` and ``dL/dP_f,j = forget_j / n_f``."""

    template: np.ndarray
    forget: np.ndarray


def _scores(x, name: str) -> np.ndarray:
    return check_array(x, name, ndim=1, low=0.0, high=1.0, min_size=1)


def _fstar_of_g(u: np.ndarray, div: str) -> np.ndarray:
    # f*(g(u)) in closed form (never through f* of a rounded g(u))
    if div == "KL":
        return np.exp(u - 1.0)
    if div == "TV":
        return 0.5 * np.tanh(u)
    if div == "Pearson":
        return u + 0.25 * u * u
    return np.logaddexp(0.0, u) - _LOG2


def flat_loss(pbar_template, pbar_forget, divergence: str = "TV") -> float:
    """FLAT loss ``-mean g(P_e) + mean f*(g(P_f))`` of eq. :eq:`flat-loss`.

    Parameters
    ----------
    pbar_template : array_like, shape (n_e,)
        Mean token probabilities of the template answers, in ``[0, 1]``.
    pbar_forget : array_like, shape (n_f,)
        Mean token probabilities of the forget answers, in ``[0, 1]``.
    divergence : {"KL", "TV", "JS", "Pearson"}, default "TV"
        The f-divergence (TV is the default of the official code).

    Returns
    -------
    float
        The loss; it decreases as a template probability rises and increases with a forget
        probability.

    Raises
    ------
    TypeError, ValueError
        for scores that are not 1-D arrays in ``[0, 1]`` or an unknown ``divergence``.

    Examples
    --------
    >>> round(flat_loss([1.0], [0.0], "KL"), 6)  # -1 + exp(-1)
    -0.632121
    """
    div = _div(divergence)
    pe = _scores(pbar_template, "pbar_template")
    pf = _scores(pbar_forget, "pbar_forget")
    return float(-np.mean(_activation(pe, div)) + np.mean(_fstar_of_g(pf, div)))


def flat_weights(pbar_template, pbar_forget, divergence: str = "TV") -> FlatWeights:
    """Weights ``g'(P_e)`` and ``(f* o g)'(P_f)`` of the loss adjustment (:prf:ref:`flat-thm-weights`).

    Parameters
    ----------
    pbar_template, pbar_forget : array_like
        Mean token probabilities in ``[0, 1]`` (as :func:`flat_loss`).
    divergence : {"KL", "TV", "JS", "Pearson"}, default "TV"

    Returns
    -------
    FlatWeights
        ``template``: ``1`` (KL, Pearson), ``sech^2(P)/2`` (TV), ``sigmoid(-P)`` (JS);
        ``forget``: ``exp(P - 1)`` (KL), ``sech^2(P)/2`` (TV), ``sigmoid(P)`` (JS), ``1 + P/2``
        (Pearson). On ``[0, 1]`` every weight lies between two positive constants.

    Raises
    ------
    TypeError, ValueError
        as :func:`flat_loss`.

    Examples
    --------
    >>> w = flat_weights([0.0], [1.0], "KL")
    >>> w.template.tolist(), w.forget.tolist()
    ([1.0], [1.0])
    """
    div = _div(divergence)
    pe = _scores(pbar_template, "pbar_template")
    pf = _scores(pbar_forget, "pbar_forget")
    if div == "KL":
        return FlatWeights(np.ones_like(pe), np.exp(pf - 1.0))
    if div == "Pearson":
        return FlatWeights(np.ones_like(pe), 1.0 + 0.5 * pf)
    if div == "TV":
        return FlatWeights(0.5 / np.cosh(pe) ** 2, 0.5 / np.cosh(pf) ** 2)
    return FlatWeights(1.0 / (1.0 + np.exp(pe)), 1.0 / (1.0 + np.exp(-pf)))


def flat_loss_torch(pbar_template, pbar_forget, divergence: str = "TV"):
    """PyTorch version of :func:`flat_loss` (differentiable; same formula, eq. :eq:`flat-loss`).

    Parameters
    ----------
    pbar_template, pbar_forget : torch.Tensor
        1-D tensors of mean token probabilities in ``[0, 1]``.
    divergence : {"KL", "TV", "JS", "Pearson"}, default "TV"

    Returns
    -------
    torch.Tensor
        A scalar tensor.

    Raises
    ------
    TypeError, ValueError
        for arguments that are not 1-D tensors in ``[0, 1]`` or an unknown ``divergence``.

    Examples
    --------
    >>> import torch
    >>> round(float(flat_loss_torch(torch.tensor([1.0]), torch.tensor([0.0]), "KL")), 6)
    -0.632121
    """
    torch = require_torch()
    div = _div(divergence)
    for name, x in (("pbar_template", pbar_template), ("pbar_forget", pbar_forget)):
        if not isinstance(x, torch.Tensor):
            raise TypeError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
        if not torch.is_floating_point(x):
            raise TypeError(f"{name} must be a floating-point tensor, got {x.dtype}")
        if x.ndim != 1 or x.numel() == 0:
            raise ValueError(f"{name} must be a non-empty 1-D tensor, got shape {tuple(x.shape)}")
        with torch.no_grad():
            ok = bool(torch.all((x >= 0) & (x <= 1)))
        if not ok:
            raise ValueError(f"{name} entries must lie in [0, 1] (NaN refused)")
    pe, pf = pbar_template, pbar_forget
    if div in ("KL", "Pearson"):
        ge = pe
    elif div == "TV":
        ge = 0.5 * torch.tanh(pe)
    else:
        ge = _LOG2 - torch.nn.functional.softplus(-pe)
    if div == "KL":
        cf = torch.exp(pf - 1.0)
    elif div == "TV":
        cf = 0.5 * torch.tanh(pf)
    elif div == "Pearson":
        cf = pf + 0.25 * pf * pf
    else:
        cf = torch.nn.functional.softplus(pf) - _LOG2
    return -ge.mean() + cf.mean()
