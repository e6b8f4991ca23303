"""Contracts of lossbook.deconv (see tests/contracts/contracts_dsl.py)."""

import numpy as np
from contracts_dsl import CONSTANT, RESULT, Array, Choice, Int, Maybe, Real, Sampled, Seed, fn

HW = {"h": (3, 12), "w": (3, 12)}
IMG = Array(shape=("h", "w"), typical=(0.0, 1.0))
KERNEL = Sampled([np.ones((1, 1)), np.array([[0.0, 0.2, 0.0], [0.2, 0.2, 0.2], [0.0, 0.2, 0.0]]),
                  np.array([[0.5, 0.0, 0.5]]), np.ones((3, 3))],
                 bad=(np.ones((2, 2)), np.zeros((3, 3)), -np.ones((3, 3)), np.full((3, 3), np.nan), None, "k"))
NSR = Real(low=0.0, typical=(1e-4, 1.0))
OVERFLOW = {ValueError: "overflows"}  # documented: a near-zero NSR amplifying y beyond the float range

SPECS = {
    "BOUNDARIES": CONSTANT,
    "NightScene": RESULT,
    "psf_to_otf": fn(k=KERNEL, shape=Sampled([(3, 3), (8, 5), [4, 7]], bad=((0, 3), "ab", (2,), None))),
    "wiener_deconv": fn(y=IMG, k=KERNEL, nsr=NSR, boundary=Choice("circular", "replicate"), dims=HW,
                        may_raise=OVERFLOW),
    "inverse_filter": fn(y=IMG, k=KERNEL, dims=HW, may_raise=OVERFLOW),
    "blur": fn(x=IMG, k=KERNEL, dims=HW),
    "cmos_noise": fn(v=Array(shape=("h", "w"), low=0.0, high=1e6, typical=(0.0, 2.0)),
                     exposure=Real(low=0.0, low_open=True, high=1e9, typical=(1.0, 1e3)),
                     read_std=Real(0.0, 10.0, typical=(0.0, 0.1)), row_std=Real(0.0, 10.0, typical=(0.0, 0.1)),
                     full_well=Sampled([None, 1.0, 1e300], bad=(0.0, -1.0, np.nan)), seed=Seed(), dims=HW,
                     may_raise={ValueError: "photons"}),
    "estimate_nsr": fn(y=IMG, dims=HW, may_raise={ValueError: "constant"}),
    "psnr": fn(x_hat=IMG, x=IMG, data_range=Real(low=0.0, low_open=True, typical=(0.5, 2.0)), dims=HW,
               may_inf=True),
    "ring_energy": fn(err=IMG, centers=Sampled([np.array([[1, 1]]), [[0, 2], [2, 0]]], bad=(np.zeros((0, 2)), "c")),
                      r_in=Real(0.0, 1e6, typical=(0.0, 2.0)),
                      r_out=Real(lambda a: a["r_in"], 1e6, low_open=True, typical=(2.5, 5.0)),
                      dims=HW, may_inf=True, may_raise={ValueError: "no pixel"}),
    "night_scene": fn(size=Int(16, 2048, typical=(16, 40)), n_lights=Int(0, 100, typical=(0, 4)),
                      light_level=Real(low=0.0, low_open=True, high=1e6, typical=(0.5, 50.0)), seed=Seed()),
    "random_motion_kernel": fn(size=Sampled([3, 5, 15], bad=(4, 1, 257, 2.5)), steps=Int(1, 10_000, typical=(1, 50)),
                               seed=Seed()),
}
_ = Maybe
