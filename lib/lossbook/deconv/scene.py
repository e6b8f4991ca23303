"""Synthetic low-light scenes, motion-blur kernels, a CMOS-style noise model, NSR estimation and error measures.

Chapter ``book/physics/infwide-wiener``. The noise model follows the structure of the official INFWIDE code's
(shot noise at an exposure, Gaussian read noise, a per-row gain, clipping at the sensor's full well); its
parameter values here are ours, chosen for a visible low-light regime on a 0-1 intensity scale, not the code's.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from scipy.ndimage import median_filter

from .._rng import SeedLike, as_generator
from .._validate import check_array, check_int, check_real, check_size
from .filters import psf_to_otf

__all__ = ["NightScene", "blur", "cmos_noise", "estimate_nsr", "night_scene", "psnr", "random_motion_kernel",
           "ring_energy"]


class NightScene(NamedTuple):
    """Output of :func:`night_scene`: the radiance ``x`` and the centres of its point lights (row, col)."""

    x: np.ndarray
    lights: np.ndarray


def random_motion_kernel(size: int = 15, steps: int = 40, *, seed: SeedLike) -> np.ndarray:
    """A camera-shake kernel: a random walk with momentum, rasterised with bilinear weights, normalised to sum 1.

    Parameters
    ----------
    size : int, default 15
        Odd side length, in ``[3, 255]``.
    steps : int, default 40
        Points of the trajectory, in ``[1, 10000]``.
    seed : int, SeedSequence or Generator

    Returns
    -------
    ndarray, shape (size, size)
        Non-negative, sums to 1, centred on the trajectory's mean.

    Raises
    ------
    ValueError
        for an even or out-of-range ``size`` or ``steps``, or a bad seed.

    Examples
    --------
    >>> k = random_motion_kernel(9, 20, seed=0)
    >>> k.shape, bool(np.isclose(k.sum(), 1.0))
    ((9, 9), True)
    """
    size = check_int(size, "size", low=3, high=255)
    if size % 2 == 0:
        raise ValueError(f"size must be odd (the kernel's centre is its middle pixel), got {size}")
    steps = check_int(steps, "steps", low=1, high=10_000)
    rng = as_generator(seed)
    v = rng.normal(size=2)
    v /= np.linalg.norm(v) + 1e-12
    p = np.zeros(2)
    pts = []
    for _ in range(steps):
        v = 0.8 * v + 0.6 * rng.normal(size=2)
        v /= np.linalg.norm(v) + 1e-12
        p = p + 0.5 * v
        pts.append(p.copy())
    pts = np.array(pts)
    pts -= pts.mean(axis=0)
    r = (size - 1) / 2
    extent = np.max(np.abs(pts))
    if extent > r - 1:
        pts *= (r - 1) / extent  # fit the trajectory inside the kernel
    k = np.zeros((size, size))
    for y, x in pts + r:
        i, j = int(np.floor(y)), int(np.floor(x))
        fy, fx = y - i, x - j
        for di, dj, w in ((0, 0, (1 - fy) * (1 - fx)), (1, 0, fy * (1 - fx)), (0, 1, (1 - fy) * fx), (1, 1, fy * fx)):
            k[i + di, j + dj] += w
    return k / k.sum()


def night_scene(size: int = 128, n_lights: int = 6, *, light_level: float = 20.0, seed: SeedLike) -> NightScene:
    """A dark piecewise-constant scene (radiance 0.02-0.25) with small bright point lights.

    Parameters
    ----------
    size : int, default 128
        Side length, in ``[16, 2048]``.
    n_lights : int, default 6
        Number of lights, in ``[0, 100]``; they are placed at least ``min(12, size // 4)`` pixels from the border.
    light_level : float, default 20
        Peak radiance of a light relative to the sensor's full well 1 (so lights saturate after blur when the
        blurred peak exceeds 1), in ``(0, 1e6]``.
    seed : int, SeedSequence or Generator

    Returns
    -------
    NightScene

    Raises
    ------
    ValueError
        for out-of-range arguments.

    Examples
    --------
    >>> s = night_scene(32, 2, seed=0)
    >>> s.x.shape, s.lights.shape
    ((32, 32), (2, 2))
    """
    size = check_int(size, "size", low=16, high=2048)
    n_lights = check_int(n_lights, "n_lights", low=0, high=100)
    light_level = check_real(light_level, "light_level", low=0.0, low_open=True, high=1e6)
    rng = as_generator(seed)
    x = np.full((size, size), 0.02)
    for _ in range(8):  # buildings and windows: rectangles of dim radiance
        r0, c0 = rng.integers(0, size - 4, size=2)
        h, w = rng.integers(4, max(5, size // 3), size=2)
        x[r0:r0 + h, c0:c0 + w] = rng.uniform(0.05, 0.25)
    margin = min(12, size // 4)
    lights = (rng.integers(margin, size - margin, size=(n_lights, 2)) if n_lights
              else np.zeros((0, 2), dtype=np.int64))
    rr, cc = np.mgrid[0:size, 0:size]
    for r, c in lights:
        x += light_level * np.exp(-((rr - r) ** 2 + (cc - c) ** 2) / (2 * 0.8**2))
    return NightScene(x, lights.astype(np.int64))


def blur(x, k) -> np.ndarray:
    """Circular convolution of ``x`` with the centred kernel ``k`` (normalised to sum 1), by FFT.

    Parameters
    ----------
    x : array_like, shape (H, W)
    k : array_like, shape (p, q)
        As in :func:`~lossbook.deconv.wiener_deconv`.

    Returns
    -------
    ndarray, shape (H, W)

    Raises
    ------
    ValueError
        for bad images or kernels.

    Examples
    --------
    >>> blur(np.eye(3), [[1.0]]).round(12).tolist() == np.eye(3).tolist()
    True
    """
    x = check_array(x, "x", ndim=2)
    check_size(x.size, "x.size")
    K = psf_to_otf(k, x.shape)  # validates k first
    scale = float(np.max(np.abs(x))) if x.size else 0.0
    if scale == 0.0:
        return np.zeros_like(x)
    return scale * np.fft.irfft2(K * np.fft.rfft2(x / scale), s=x.shape)


def cmos_noise(v, *, exposure: float = 200.0, read_std: float = 0.01, row_std: float = 0.02,
               full_well: float | None = 1.0, seed: SeedLike) -> np.ndarray:
    """CMOS-style noise on the irradiance ``v`` (after the optics): shot, read and row-gain noise, then clipping.

    ``y = clip(g_row * Poisson(v * exposure) / exposure + N(0, read_std^2), 0, full_well)`` with a gain
    ``g_row ~ N(1, row_std^2)`` per row. ``full_well=None`` disables the upper clip (no saturation); the lower
    clip at 0 always applies.

    Parameters
    ----------
    v : array_like, shape (H, W)
        Non-negative irradiance in units of the full well, entries at most ``1e6``.
    exposure : float, default 200
        Photons per unit irradiance, in ``(0, 1e9]``; lower is noisier.
    read_std, row_std : float
        Standard deviations of the read noise and of the row gain, in ``[0, 10]``.
    full_well : float or None, default 1
        Saturation level (``> 0``), or ``None``.
    seed : int, SeedSequence or Generator

    Returns
    -------
    ndarray, shape (H, W)

    Raises
    ------
    ValueError
        for out-of-range arguments or ``v * exposure`` above ``1e15`` photons.

    Examples
    --------
    >>> y = cmos_noise(np.full((4, 4), 2.0), seed=0)
    >>> float(y.max())   # saturated at the full well
    1.0
    """
    v = check_array(v, "v", ndim=2, low=0.0, high=1e6)
    check_size(v.size, "v.size")
    exposure = check_real(exposure, "exposure", low=0.0, low_open=True, high=1e9)
    read_std = check_real(read_std, "read_std", low=0.0, high=10.0)
    row_std = check_real(row_std, "row_std", low=0.0, high=10.0)
    if full_well is not None:
        full_well = check_real(full_well, "full_well", low=0.0, low_open=True)
    if v.size and float(np.max(v)) * exposure > 1e15:
        raise ValueError("v * exposure must be at most 1e15 photons (Poisson sampling range)")
    rng = as_generator(seed)
    shot = rng.poisson(v * exposure) / exposure
    gain = rng.normal(1.0, row_std, size=(v.shape[0], 1))
    y = gain * shot + rng.normal(0.0, read_std, size=v.shape)
    return np.clip(y, 0.0, full_well)  # a sensor reads no negative charge; full_well=None: no upper clip


def estimate_nsr(y) -> float:
    """Noise-to-signal estimate of the official INFWIDE/DWDN code, reproduced as written there.

    ``NSR = (8/30) * var(med3(y) - y) / std(y)``, where ``med3`` is a 3x3 median filter and the "variance" is the
    sum of squares divided by ``H**2`` (the code's pixel count, correct only for square images). It mixes a
    variance with a standard deviation, so it is not scale-free: multiplying ``y`` by ``c`` multiplies it by
    ``c``. The chapter measures how it compares with the oracle ``sigma_n^2 / sigma_x^2``.

    Parameters
    ----------
    y : array_like, shape (H, W)
        Finite image, ``H, W >= 3``, not constant.

    Returns
    -------
    float

    Raises
    ------
    ValueError
        for a constant or too small image.

    Examples
    --------
    >>> y = np.random.default_rng(0).random((16, 16))
    >>> bool(estimate_nsr(y) > 0)
    True
    """
    y = check_array(y, "y", ndim=2)
    if min(y.shape) < 3:
        raise ValueError(f"y must be at least 3x3, got {y.shape}")
    check_size(y.size, "y.size")
    scale = float(np.max(np.abs(y)))
    s = float(np.std(y / scale)) if scale > 0 else 0.0
    if s == 0.0:
        raise ValueError("y must not be constant (its standard deviation is the denominator)")
    r = (median_filter(y / scale, size=3, mode="reflect") - y / scale)
    var = float(np.sum(r * r)) / (y.shape[0] ** 2)  # the code's count, H**2
    return (8.0 / 30.0) * var / s * scale


def psnr(x_hat, x, *, data_range: float = 1.0) -> float:
    """Peak signal-to-noise ratio ``10 log10(data_range^2 / MSE)`` in dB (``inf`` for a perfect match).

    Parameters
    ----------
    x_hat, x : array_like, same shape
    data_range : float, default 1
        ``> 0``.

    Returns
    -------
    float
        ``inf`` only for identical images.

    Raises
    ------
    ValueError
        for shape clashes or a bad ``data_range``.

    Examples
    --------
    >>> round(psnr([[0.0, 0.1]], [[0.0, 0.0]]), 6)   # MSE 0.005
    23.0103
    """
    a = check_array(x_hat, "x_hat", ndim=2)
    b = check_array(x, "x", ndim=2)
    if a.shape != b.shape:
        raise ValueError(f"x_hat and x must have the same shape, got {a.shape} and {b.shape}")
    data_range = check_real(data_range, "data_range", low=0.0, low_open=True)
    d = a - b
    top = float(np.max(np.abs(d))) if d.size else 0.0
    if top == 0.0:
        return float("inf")
    mse_scaled = float(np.mean((d / top) ** 2))  # MSE = top^2 * mse_scaled, formed in logs
    return float(20 * np.log10(data_range) - 20 * np.log10(top) - 10 * np.log10(mse_scaled))


def ring_energy(err, centers, r_in: float = 3.0, r_out: float = 10.0) -> float:
    """Mean squared error over the annuli ``r_in <= |p - c| <= r_out`` around the ``centers`` (the ringing).

    Parameters
    ----------
    err : array_like, shape (H, W)
        Error image ``x_hat - x``.
    centers : array_like, shape (n, 2)
        (row, col) centres, ``n >= 1``.
    r_in, r_out : float
        Radii in pixels, ``0 <= r_in < r_out <= 1e6``.

    Returns
    -------
    float
        ``inf`` only when the true value exceeds the float range.

    Raises
    ------
    ValueError
        for bad radii, no centres, or annuli that contain no pixel.

    Examples
    --------
    >>> ring_energy(np.ones((21, 21)), [[10, 10]], 2.0, 5.0)
    1.0
    """
    err = check_array(err, "err", ndim=2)
    c = check_array(centers, "centers", ndim=2)
    if c.shape[0] < 1 or c.shape[1] != 2:
        raise ValueError(f"centers must have shape (n, 2) with n >= 1, got {c.shape}")
    r_in = check_real(r_in, "r_in", low=0.0, high=1e6)
    r_out = check_real(r_out, "r_out", low=r_in, low_open=True, high=1e6)
    rr, cc = np.mgrid[0:err.shape[0], 0:err.shape[1]]
    mask = np.zeros(err.shape, dtype=bool)
    for r, q in c:
        d = np.hypot(rr - r, cc - q)
        mask |= (d >= r_in) & (d <= r_out)
    if not mask.any():
        raise ValueError("the annuli contain no pixel of err (centres outside or radii too small)")
    e = err[mask]
    top = float(np.max(np.abs(e)))
    if top == 0.0:
        return 0.0
    with np.errstate(over="ignore"):
        return float(top * (top * np.mean((e / top) ** 2)))
