"""Two effects the boresight sphere model leaves out, at planar interfaces (derived here).

* :func:`off_boresight_factor_db`: how the power density radiated into air falls off with the angle
  from the surface normal, for a source inside a half-space of tissue (geometrical optics: Fresnel power
  transmission times the compression of solid angle by refraction, unpolarised).
* :func:`stack_transmission`: the field transmission coefficient at normal incidence from a
  semi-infinite tissue through planar layers (skin, fat, ...) into air, by characteristic matrices;
  with no layers it is the single-interface ``tau = 2 n / (1 + n)`` of the chapter.

Both are in the chapter *Free-space path loss of implanted antennas*, section :ref:`pl-sec-limits`.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from .._validate import check_array, check_real
from .tissue import check_permittivity

__all__ = ["off_boresight_factor_db", "stack_transmission"]

C0 = 299_792_458.0


def _physics_index(eps: np.ndarray) -> np.ndarray:
    """Refractive index in the ``exp(-i w t)`` convention (Im n >= 0), whatever the input convention."""
    e = np.where(eps.imag < 0, np.conj(eps), eps)
    return np.sqrt(e)


def off_boresight_factor_db(theta_air: ArrayLike, eps_c: ArrayLike) -> np.ndarray:
    r"""Power density in air at angle :math:`\theta` from the normal, relative to the normal, dB (flat interface).

    A source of uniform intensity inside tissue of index :math:`n` (the modulus :math:`|n|` is used,
    as the chapter's flat-interface theorem recommends) radiates into air only through the cone
    :math:`\sin\theta_t\le1/|n|`. A ray leaving at :math:`\theta` came from :math:`\theta_t` with
    :math:`\sin\theta=|n|\sin\theta_t`; its intensity per solid angle in air is the tissue intensity times the
    Fresnel power transmission :math:`T(\theta)` (mean of the TE and TM values) times
    :math:`d\Omega_t/d\Omega=\cos\theta/(|n|^2\cos\theta_t)`. Relative to the normal this is

    .. math:: \frac{I(\theta)}{I(0)}=\frac{T(\theta)}{T(0)}\,\frac{\cos\theta}{\cos\theta_t}.

    Parameters
    ----------
    theta_air : array_like
        Angle in air from the surface normal, radians, in ``[0, pi/2]``.
    eps_c : complex
        Complex relative permittivity of the tissue (either sign convention); ``|n| >= 1``.

    Returns
    -------
    ndarray
        :math:`10\log_{10}I(\theta)/I(0)` (``-inf`` at grazing, :math:`\theta=\pi/2`).

    Examples
    --------
    >>> float(off_boresight_factor_db(0.0, 52.7 - 12.8j))
    0.0
    """
    th = check_array(theta_air, "theta_air", low=0.0, high=np.pi / 2)
    eps = check_permittivity(eps_c, "eps_c")
    if eps.ndim:
        raise ValueError("eps_c must be a single complex permittivity")
    n = float(np.abs(np.sqrt(complex(eps))))
    if n < 1.0:
        raise ValueError(f"eps_c must give |n| >= 1 (a denser medium than air), got |n| = {n:.3g}")
    cos_a = np.where(th >= np.pi / 2, 0.0, np.cos(th))  # exactly 0 at grazing: -inf dB, as documented
    sin_a = np.sin(th)
    # cos theta_t = sqrt((1 - s/n)(1 + s/n)) with n - s = (n - 1) + cos^2/(1 + s): no cancellation near grazing
    cos_t = np.sqrt(((n - 1.0) + cos_a**2 / (1.0 + sin_a)) / n * (1.0 + sin_a / n))
    # Fresnel power transmissions relative to normal incidence, T0 = 4n/(n+1)^2, in a form free of
    # cancellation (1 - r^2 = 4ab/(a+b)^2) and of overflow for any |n| up to 1e308:
    # T_s/T0 = ct ca ((n+1)/(n ct + ca))^2, T_p/T0 = ct ca ((n+1)/(ct + n ca))^2
    n1 = 1.0 + n
    with np.errstate(divide="ignore", invalid="ignore"):
        ts = (cos_t * cos_a) * (n1 / (n * cos_t + cos_a)) ** 2
        tp = (cos_t * cos_a) * (n1 / (cos_t + n * cos_a)) ** 2
        ratio = np.where(cos_a > 0, 0.5 * (ts + tp) * cos_a / np.where(cos_a > 0, cos_t, 1.0), 0.0)
        return 10.0 * np.log10(ratio)


def stack_transmission(f: float, eps_tissue: complex, eps_layers, thicknesses) -> complex:
    r"""Field transmission at normal incidence from a tissue half-space through planar layers into air.

    With the characteristic matrix of layer :math:`j`,
    :math:`M_j=\begin{pmatrix}\cos\delta_j&-i\sin\delta_j/n_j\\-in_j\sin\delta_j&\cos\delta_j\end{pmatrix}`,
    :math:`\delta_j=k_0n_jt_j` (``exp(-i w t)``), :math:`M=M_1\cdots M_L` ordered from the tissue outwards, the
    transmission into air is :math:`t=2n_0/(n_0m_{11}+n_0m_{12}+m_{21}+m_{22})`. With no layers (or layers
    of zero thickness) it is :math:`\tau=2n_0/(1+n_0)`.

    Parameters
    ----------
    f : float
        Frequency, Hz, > 0.
    eps_tissue : complex
        Permittivity of the semi-infinite tissue around the source (either sign convention).
    eps_layers : array_like of complex, shape (L,)
        Permittivities of the layers, from the tissue outwards (e.g. fat, then skin).
    thicknesses : array_like, shape (L,)
        Their thicknesses, m, >= 0.

    Returns
    -------
    complex
        The amplitude transmission coefficient (its modulus is convention-independent); 0 where
        the layers' attenuation exceeds the float range.

    Raises
    ------
    ValueError
        If a lossless layer's phase ``k0 Re(n) t`` exceeds the float range.

    Examples
    --------
    >>> n = np.sqrt(52.7 - 12.8j)
    >>> bool(np.isclose(abs(stack_transmission(2.45e9, 52.7 - 12.8j, [], [])), abs(2 * n / (1 + n))))
    True
    """
    f = check_real(f, "f", low=0.0, low_open=True)
    eps0 = check_permittivity(eps_tissue, "eps_tissue")
    if eps0.ndim:
        raise ValueError(f"eps_tissue must be a single complex permittivity, got shape {eps0.shape}")
    n0 = complex(_physics_index(eps0))
    layers = check_permittivity(eps_layers, "eps_layers")
    t = check_array(thicknesses, "thicknesses", ndim=1, low=0.0)
    if layers.ndim != 1 or layers.shape != t.shape:
        raise ValueError(f"eps_layers and thicknesses must be one-dimensional with the same length, got shapes "
                         f"{layers.shape} and {t.shape}")
    k0 = 2.0 * np.pi * f / C0
    # M_j = e^{-i delta_j} M'_j with bounded entries (Im delta_j >= 0): cos d = e^{-id}(1 + e^{2id})/2,
    # sin d = e^{-id}(e^{2id} - 1)/(2i); the scale factors are collected in log_scale, so thick lossy
    # layers give a transmission that underflows to 0 instead of inf/inf
    M = np.eye(2, dtype=complex)
    log_scale = 0j
    with np.errstate(over="ignore", invalid="ignore"):
        for n_j, t_j in zip(_physics_index(layers), t, strict=True):
            dlt = k0 * n_j * t_j
            e2 = np.exp(2j * dlt) if np.isfinite(dlt) else 0j
            c = 0.5 * (1.0 + e2)
            s_ = (e2 - 1.0) / 2j
            M = M @ np.array([[c, -1j * s_ / n_j], [-1j * n_j * s_, c]])
            log_scale += -1j * dlt
        den = n0 * M[0, 0] + n0 * M[0, 1] + M[1, 0] + M[1, 1]
        mag = np.exp(-log_scale.real)
        phase = -log_scale.imag
    if mag == 0.0:
        return 0j
    if not np.isfinite(phase):
        raise ValueError("k0 Re(n) t of a layer exceeds the float range (from f, eps_layers and thicknesses): "
                         "the phase of the transmission is not representable")
    return complex(2.0 * n0 / den * mag * np.exp(1j * np.fmod(phase, 2.0 * np.pi)))
