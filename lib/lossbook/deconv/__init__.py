"""Wiener deconvolution in image space and the low-light failure modes (chapter ``book/physics/infwide-wiener``).

The Wiener and inverse filters with circular or replicate boundaries, the point-spread function as a transfer
function, a night scene with point lights, camera-shake kernels, a CMOS-style noise model with saturation, the
official code's NSR estimate, PSNR and the ring energy around lights.
"""

from .filters import BOUNDARIES, inverse_filter, psf_to_otf, wiener_deconv
from .scene import (
    NightScene,
    blur,
    cmos_noise,
    estimate_nsr,
    night_scene,
    psnr,
    random_motion_kernel,
    ring_energy,
)

__all__ = [
    "BOUNDARIES",
    "NightScene",
    "blur",
    "cmos_noise",
    "estimate_nsr",
    "inverse_filter",
    "night_scene",
    "psf_to_otf",
    "psnr",
    "random_motion_kernel",
    "ring_energy",
    "wiener_deconv",
]
