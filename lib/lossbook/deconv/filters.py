"""Fourier-domain deconvolution: the point-spread function as a transfer function, Wiener and inverse filters.

Chapter ``book/physics/infwide-wiener``: the Wiener filter :eq:`wie-filter` is the linear minimum-mean-square-error
deconvolver of a circular blur with additive noise (:prf:ref:`wie-thm-lmmse`); the inverse filter is its ``nsr = 0``
limit, whose noise gain :eq:`wie-inverse-gain` explodes at the zeros of the transfer function.
"""

from __future__ import annotations

import numpy as np

from .._validate import check_array, check_choice, check_real, check_size

__all__ = ["BOUNDARIES", "inverse_filter", "psf_to_otf", "wiener_deconv"]

#: Boundary handling of :func:`wiener_deconv`: ``"circular"`` (the model of the derivation) or ``"replicate"``
#: (pad by the kernel size with edge values, deconvolve, crop: fewer wrap-around artefacts on real images).
BOUNDARIES = ("circular", "replicate")


def _check_image(y, name: str = "y") -> np.ndarray:
    y = check_array(y, name, ndim=2)
    if min(y.shape) < 1:
        raise ValueError(f"{name} must be a non-empty 2-D image, got shape {y.shape}")
    check_size(y.size, f"{name}.size")
    return y


def _check_psf(k, image_shape=None) -> np.ndarray:
    k = check_array(k, "k", ndim=2, low=0.0)
    if k.size == 0 or k.shape[0] % 2 == 0 or k.shape[1] % 2 == 0:
        raise ValueError(f"k must have odd side lengths (its centre is the middle pixel), got shape {k.shape}")
    if image_shape is not None and (k.shape[0] > image_shape[0] or k.shape[1] > image_shape[1]):
        raise ValueError(f"k {k.shape} must not be larger than the image {image_shape}")
    s = float(np.sum(k))
    if not s > 0.0:
        raise ValueError("k must have a positive sum (a blur kernel conserves light)")
    return k / s


def psf_to_otf(k, shape) -> np.ndarray:
    """Transfer function (real FFT) of the centred point-spread function ``k`` for images of ``shape``.

    The kernel is normalised to sum 1, zero-padded to ``shape`` and rolled so that its middle pixel sits at the
    origin: then circular convolution with ``k`` is multiplication by the result, without a shift (the convention
    of MATLAB's ``psf2otf`` and of scikit-image's ``uft.ir2tf``).

    Parameters
    ----------
    k : array_like, shape (p, q)
        Non-negative kernel with odd side lengths and a positive sum.
    shape : tuple of int
        Image shape ``(H, W)``, at least ``(p, q)``.

    Returns
    -------
    ndarray of complex, shape (H, W // 2 + 1)
        ``np.fft.rfft2`` of the padded, rolled kernel.

    Raises
    ------
    ValueError
        for a kernel with even sides, a non-positive sum or larger than the image.

    Examples
    --------
    >>> K = psf_to_otf([[0.0, 1.0, 0.0]], (1, 4))   # the identity kernel
    >>> np.allclose(K, 1.0)
    True
    """
    if not (isinstance(shape, tuple | list) and len(shape) == 2):
        raise TypeError(f"shape must be a pair (H, W), got {shape!r}")
    H, W = (int(v) for v in shape)
    if H < 1 or W < 1:
        raise ValueError(f"shape must be positive, got {shape!r}")
    check_size(H * W, "H * W")
    k = _check_psf(k, (H, W))
    pad = np.zeros((H, W))
    pad[: k.shape[0], : k.shape[1]] = k
    pad = np.roll(pad, (-(k.shape[0] // 2), -(k.shape[1] // 2)), axis=(0, 1))
    return np.fft.rfft2(pad)


def _check_nsr(nsr, freq_shape) -> np.ndarray | float:
    if np.ndim(nsr) == 0:
        return check_real(nsr, "nsr", low=0.0)
    arr = check_array(nsr, "nsr", ndim=2, low=0.0)
    if arr.shape != freq_shape:
        raise ValueError(f"nsr must be a scalar or an array of the rfft2 shape {freq_shape}, got {arr.shape}")
    return arr


def wiener_deconv(y, k, nsr, *, boundary: str = "circular") -> np.ndarray:
    r"""Wiener deconvolution :eq:`wie-filter`, :math:`\hat X=\overline{K}\,Y/(|K|^2+\mathrm{NSR})`.

    With ``nsr`` the noise-to-signal power ratio :math:`S_n/S_x` (a scalar, or one value per frequency) this is
    the linear minimum-mean-square-error estimate of :prf:ref:`wie-thm-lmmse`. ``nsr = 0`` is the inverse filter,
    with frequencies where :math:`K = 0` set to 0 (they carry no information).

    Parameters
    ----------
    y : array_like, shape (H, W)
        Blurred, noisy image (finite).
    k : array_like, shape (p, q)
        Point-spread function: non-negative, odd sides, positive sum (normalised here).
    nsr : float or array_like, shape (H, W // 2 + 1)
        Noise-to-signal ratio, ``>= 0`` (with ``boundary="replicate"`` a scalar only).
    boundary : {"circular", "replicate"}
        ``"circular"``: the periodic model of the derivation. ``"replicate"``: pad each side by the kernel size
        with edge values, deconvolve, crop (the official INFWIDE code's choice).

    Returns
    -------
    ndarray, shape (H, W)

    Raises
    ------
    ValueError
        for bad images, kernels, ``nsr`` or ``boundary``.

    Examples
    --------
    >>> x = np.random.default_rng(0).random((8, 8))
    >>> k = np.array([[0.0, 0.1, 0.0], [0.1, 0.6, 0.1], [0.0, 0.1, 0.0]])  # |K| >= 0.2: invertible
    >>> y = np.fft.irfft2(psf_to_otf(k, x.shape) * np.fft.rfft2(x), s=x.shape)
    >>> bool(np.allclose(wiener_deconv(y, k, 0.0), x))
    True
    """
    y = _check_image(y)
    boundary = check_choice(boundary, "boundary", BOUNDARIES)
    k = _check_psf(k, y.shape)
    if boundary == "replicate":
        if np.ndim(nsr) != 0:
            raise ValueError("nsr must be a scalar with boundary='replicate' (the padded image has other frequencies)")
        p, q = k.shape
        check_size((y.shape[0] + 2 * p) * (y.shape[1] + 2 * q), "padded image size")
        yp = np.pad(y, ((p, p), (q, q)), mode="edge")
        return wiener_deconv(yp, k, nsr, boundary="circular")[p:-p, q:-q]
    K = psf_to_otf(k, y.shape)
    nsr = _check_nsr(nsr, K.shape)
    scale = float(np.max(np.abs(y)))
    if scale == 0.0:
        return np.zeros_like(y)
    Y = np.fft.rfft2(y / scale)  # scaled: the FFT of an image near the float limit cannot overflow
    K2 = np.abs(K) ** 2
    den = K2 + nsr
    with np.errstate(divide="ignore", invalid="ignore"):
        G = np.where(den > 0, np.conj(K) / np.where(den > 0, den, 1.0), 0.0)
    out = np.fft.irfft2(G * Y, s=y.shape)
    with np.errstate(over="ignore"):
        out = out * scale
    if not np.all(np.isfinite(out)):
        raise ValueError("the deconvolved image overflows the float range (an nsr near 0 with a kernel whose "
                         "transfer function nearly vanishes amplifies y beyond it); raise nsr")
    return out


def inverse_filter(y, k) -> np.ndarray:
    """Inverse filter :math:`\\hat X = Y / K` (``wiener_deconv(y, k, 0)``), zero where :math:`K = 0`.

    Its noise gain is :math:`\\sum_\\omega S_n/|K(\\omega)|^2` (:eq:`wie-inverse-gain`): unbounded as
    :math:`|K|\\to 0`.

    Parameters
    ----------
    y : array_like, shape (H, W)
    k : array_like, shape (p, q)
        As in :func:`wiener_deconv`.

    Returns
    -------
    ndarray, shape (H, W)

    Raises
    ------
    ValueError
        as :func:`wiener_deconv`, including when the result overflows.

    Examples
    --------
    >>> inverse_filter(np.ones((4, 4)), [[1.0]]).tolist()[0]
    [1.0, 1.0, 1.0, 1.0]
    """
    return wiener_deconv(y, k, 0.0)
