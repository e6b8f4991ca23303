"""TrAct's first-layer weight update: a gradient step on the pre-activations, realised by ridge regression.

For a first layer ``Z = X W^T`` (``X``: ``(b, n)`` inputs or unfolded patches, ``W``: ``(m, n)``) and
``grad_z = dL/dZ`` of the batch-mean loss, ordinary gradient descent moves ``W`` by
``-lr * grad_z^T X``. TrAct replaces that matrix by

    G = grad_z^T X (X^T X / b + lam I_n)^{-1} = grad_z^T (X X^T / b + lam I_b)^{-1} X

(:eq:`tract-grad`, :eq:`tract-grad-dual`), the unique minimiser's step of the ridge problem of
:prf:ref:`tract-thm-ridge`. Both forms are computed through a symmetric eigendecomposition of the
smaller Gram matrix, so the result is finite for every ``lam > 0`` even when ``X`` is rank deficient.
"""

from __future__ import annotations

import numpy as np

from .._validate import check_array, check_choice, check_real

__all__ = ["FORMS", "MAX_ENTRY", "tract_preactivation_change", "tract_weight_grad"]

#: how :func:`tract_weight_grad` inverts: the ``(n, n)`` primal Gram, the ``(b, b)`` dual Gram, or the smaller one
FORMS = ("auto", "primal", "dual")

#: Largest input or gradient entry accepted: products of two entries, summed over at most 1e8 terms,
#: stay inside the float64 range.
MAX_ENTRY = 1e100

#: Largest ``lam`` accepted: beyond it the update ``G`` is ``grad_z^T X / lam`` to within float rounding
#: (:prf:ref:`tract-thm-limits`) and so small that it underflows.
MAX_LAM = 1e100


def _inputs(X, grad_z, lam):
    X = check_array(X, "X", ndim=2, max_abs=MAX_ENTRY)
    grad_z = check_array(grad_z, "grad_z", ndim=2, max_abs=MAX_ENTRY)
    if X.shape[0] != grad_z.shape[0]:
        raise ValueError(f"X and grad_z must have the same number of rows (the batch size b); got X with "
                         f"shape {X.shape} and grad_z with shape {grad_z.shape}")
    if X.shape[0] == 0:
        raise ValueError("X must have at least one row (the batch size b must be >= 1)")
    lam = check_real(lam, "lam", low=0.0, high=MAX_LAM, low_open=True)
    return X, grad_z, lam


def _inverse_apply(gram, rhs, lam):
    """``(gram + lam I)^{-1} rhs`` for a symmetric positive semi-definite ``gram``, via ``eigh``."""
    evals, evecs = np.linalg.eigh(gram)
    evals = np.maximum(evals, 0.0)  # a PSD Gram's rounding can leave tiny negative eigenvalues
    return evecs @ ((evecs.T @ rhs) / (evals + lam)[:, None])


def tract_weight_grad(X, grad_z, lam: float = 0.1, *, form: str = "auto") -> np.ndarray:
    r"""TrAct's replacement for the first layer's weight gradient, :eq:`tract-grad`.

    Returns :math:`\tilde G = \nabla_Z^\top X\,(X^\top X/b + \lambda I_n)^{-1}`; taking
    ``W <- W - lr * G`` solves the ridge problem of :prf:ref:`tract-thm-ridge`: the weights that best
    realise the pre-activation step ``Z - lr * b * grad_z`` while staying near ``W``. The bias gradient
    is unchanged (``grad_z.sum(0)``) and is not returned.

    Parameters
    ----------
    X : array_like, shape (b, n)
        The layer's inputs for the batch (for a convolution, the unfolded patches, one per row).
    grad_z : array_like, shape (b, m)
        Gradient of the batch-mean loss with respect to the pre-activations ``Z = X W^T`` (what
        autograd returns for a ``mean``-reduced loss; row ``i`` is ``1/b`` times sample ``i``'s own
        gradient).
    lam : float, default 0.1
        Ridge weight :math:`\lambda`, in ``(0, 1e100]``. The paper's default 0.1 was chosen for inputs
        normalised to zero mean and unit variance per channel; rescaling the inputs by ``c`` is
        equivalent to using ``lam / c**2`` (:prf:ref:`tract-thm-scale`), so 0.1 is not a universal value.
    form : {"auto", "primal", "dual"}, default "auto"
        Invert the ``(n, n)`` Gram :math:`X^\top X/b` (``"primal"``) or the ``(b, b)`` Gram
        :math:`XX^\top/b` (``"dual"``, :eq:`tract-grad-dual`); ``"auto"`` takes the smaller.

    Returns
    -------
    numpy.ndarray, shape (m, n)

    Raises
    ------
    ValueError
        if the shapes disagree, ``b == 0``, an entry exceeds ``MAX_ENTRY``, ``lam`` is outside
        ``(0, 1e100]``, or the result overflows.
    TypeError
        if an input is not numeric.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.array([[1.0, 0.0], [0.0, 2.0]]); gz = np.array([[0.5], [-0.5]])
    >>> tract_weight_grad(X, gz, lam=0.5)            # diag(X^T X / 2) = (0.5, 2)
    array([[ 0.5, -0.4]])
    >>> (gz.T @ X)                                   # the ordinary gradient, for comparison
    array([[ 0.5, -1. ]])
    """
    X, grad_z, lam = _inputs(X, grad_z, lam)
    form = check_choice(form, "form", FORMS)
    b, n = X.shape
    if form == "auto":
        form = "dual" if b < n else "primal"
    with np.errstate(over="ignore", invalid="ignore"):
        if form == "primal":
            G = _inverse_apply(X.T @ X / b, X.T @ grad_z, lam).T
        else:
            G = _inverse_apply(X @ X.T / b, grad_z, lam).T @ X
    if not np.all(np.isfinite(G)):
        raise ValueError("the TrAct update overflowed the float64 range; rescale X or grad_z, or raise lam")
    return G


def tract_preactivation_change(X, grad_z, lam: float = 0.1, *, lr: float = 1.0) -> np.ndarray:
    r"""The change of the pre-activations ``Z = X W^T`` made by one TrAct step, :eq:`tract-dz`.

    ``-lr * X G^T`` with ``G = tract_weight_grad(X, grad_z, lam)``, computed as
    :math:`-\mathrm{lr}\; b\, A(A+\lambda I_b)^{-1}\nabla_Z` with :math:`A = XX^\top/b`. As
    ``lam -> 0`` with ``X`` of full row rank it tends to ``-lr * b * grad_z``, the per-sample gradient
    step on the pre-activations themselves (:prf:ref:`tract-thm-limits`). The bias step is excluded.

    Parameters
    ----------
    X, grad_z, lam
        As in :func:`tract_weight_grad`.
    lr : float, default 1.0
        Learning rate, in ``[0, 1e100]``.

    Returns
    -------
    numpy.ndarray, shape (b, m)

    Raises
    ------
    ValueError
        as :func:`tract_weight_grad`, and if ``lr`` is outside ``[0, 1e100]`` or the result overflows.
    TypeError
        if an input is not numeric.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.eye(2); gz = np.array([[1.0], [0.5]])
    >>> tract_preactivation_change(X, gz, lam=1e-12)   # ~ -b * grad_z
    array([[-2.],
           [-1.]])
    """
    X, grad_z, lam = _inputs(X, grad_z, lam)
    lr = check_real(lr, "lr", low=0.0, high=MAX_ENTRY)
    b = X.shape[0]
    A = X @ X.T / b
    with np.errstate(over="ignore", invalid="ignore"):
        evals, evecs = np.linalg.eigh(A)
        evals = np.maximum(evals, 0.0)
        shrink = evals / (evals + lam)
        dZ = -(lr * b) * (evecs @ (shrink[:, None] * (evecs.T @ grad_z)))
    if not np.all(np.isfinite(dZ)):
        raise ValueError("the pre-activation change overflowed the float64 range; lower lr or rescale grad_z")
    return dZ
