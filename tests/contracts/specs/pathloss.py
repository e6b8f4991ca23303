"""Contracts of lossbook.pathloss (see tests/contracts/contracts_dsl.py)."""

import numpy as np
from contracts_dsl import CLASS, CONSTANT, RESULT, Array, Bad, Choice, Int, Maybe, Real, Sampled, _dims, fn
from hypothesis import strategies as st

from lossbook.pathloss import MUSCLE, muscle_permittivity

DIMS = {"m": (1, 3)}
# the closed forms broadcast array_like arguments of any shape
POS = Array(shape=("m",), low=0.0, low_open=True, typical=(1e-3, 3.0), any_ndim=True)
NONNEG = Array(shape=("m",), low=0.0, any_ndim=True)
FREQ = Array(shape=("m",), low=0.0, low_open=True, typical=(1e8, 6e9), any_ndim=True)
#: R in (0, inf] (inf: a flat interface), so inf entries are valid
RADIUS = Array(shape=("m",), low=0.0, low_open=True, typical=(0.01, 1.0), any_ndim=True, finite=False)
class Depth(Array):
    """Depths in (0, min R]: fractions (from 1 down to 1e-300) of the smallest radius."""

    def valid(self, draw, a):
        r_min = float(np.min(np.asarray(a["R"], dtype=float)))
        r_min = 1.0 if not np.isfinite(r_min) else r_min
        shape = _dims(self.shape, a)
        frac = st.one_of(st.sampled_from([1.0, 0.5, 1e-3, 1e-9, 1e-160, 1e-300]), st.floats(1e-6, 1.0))
        vals = [r_min * draw(frac) for _ in range(int(np.prod(shape)))]
        x = np.array([v if v > 0 else r_min for v in vals]).reshape(shape)
        return self._container(draw, x, a)

    def example(self, a, shape):
        r_min = float(np.min(np.asarray(a["R"], dtype=float)))
        return np.full(shape, 1.0 if not np.isfinite(r_min) else r_min)

    def invalid(self, a, name):
        bad = [b for b in super().invalid(a, name) if b.why != "an entry above the upper bound"]
        R = np.asarray(a["R"], dtype=float)
        if np.all(R < 1e300):  # the bound is elementwise: d <= R
            bad.append(Bad(2.0 * R, "deeper than R"))
        return bad


class Opt(Maybe):
    """An optional argument whose default is ``None`` (so ``None`` is valid, not refused)."""

    def invalid(self, a, name):
        return [b for b in self.inner.invalid(a, name) if b.value is not None]


#: depth in (0, min R]
DEPTH = Depth(shape=("m",), low=0.0, low_open=True, high=lambda a: float(np.min(np.asarray(a["R"], dtype=float))),
              any_ndim=True)
#: complex permittivities off the closed negative real axis (Re > 0 here; either sign of Im)
EPS = Array(shape=("m",), dtype="complex", low=0.0, low_open=True, typical=(1.0, 80.0), any_ndim=True)
N_MODEL = Maybe(Choice("complex", "abs", "real", "sqrt_real_eps"))
#: scalar permittivities of the series (tissues, an empty sphere, a low-loss dielectric)
EPS_SCALAR = Sampled([52.7 - 12.8j, 56.9 - 33.3j, 1.0, 4.0 + 0.5j, 48.5 - 15.4j],
                     bad=(0.0, -1.0, None, "x", complex(np.nan, 0.0), [50.0, 40.0]))
EPS_CAL = Sampled([muscle_permittivity(f) for f in MUSCLE], bad=(1.0, 2.0 - 0.1j, None, "x"))
SERIES_RAISES = {ValueError: "MAX_TERMS|electrically too small|too far|underflows|too high"}
SERIES = {
    "f": Real(low=0.0, low_open=True, typical=(1e8, 6e9)),
    "eps_c": EPS_SCALAR,
    "R": Real(low=0.0, low_open=True, typical=(0.01, 0.3)),
    "d": Real(low=0.0, low_open=True, high=lambda a: a["R"], typical=(1e-3, 0.05)),
}
ENGINE = Choice("numba", "numpy")
TOL = Maybe(Real(0.0, 1.0, low_open=True, high_open=True, typical=(1e-12, 1e-3)))

SPECS = {
    "CALIBRATED_RANGE": CONSTANT,
    "ERROR_BANDS": CONSTANT,
    "MUSCLE": CONSTANT,
    "MAX_TERMS": CONSTANT,
    "MIN_ELECTRICAL_SIZE": CONSTANT,
    "SeriesTruncationWarning": CLASS(),
    "SphereField": RESULT,
    "ValidityReport": RESULT,
    # --- tissue
    "complex_permittivity": fn(f=POS, eps_r=Array(shape=("m",), any_ndim=True), sigma=NONNEG,
                               convention=Maybe(Choice("engineering", "physics")), dims=DIMS, may_inf=True),
    "muscle_permittivity": fn(f=Sampled(list(MUSCLE), bad=(1e9, None, "x")),
                              convention=Maybe(Choice("engineering", "physics"))),
    "refractive_index": fn(eps_c=EPS, dims=DIMS),
    # --- closed form
    "defocusing_factor": fn(R=RADIUS, d=DEPTH, eps_c=EPS, n_model=N_MODEL, dims=DIMS),
    "virtual_source_depth": fn(R=RADIUS, d=DEPTH, eps_c=EPS, n_model=N_MODEL, dims=DIMS),
    "interface_transmission": fn(eps_c=EPS, dims=DIMS),
    "friis_path_loss_db": fn(r=POS, f=POS, dims=DIMS),
    "free_space_path_loss_db": fn(r=NONNEG, f=POS, R=RADIUS, d=DEPTH, eps_c=EPS, n_model=N_MODEL, dims=DIMS),
    "excess_loss_db": fn(r=POS, R=RADIUS, d=DEPTH, eps_c=EPS, n_model=N_MODEL, dims=DIMS),
    "surface_to_receiver_loss_db": fn(r=NONNEG, R=RADIUS, d=DEPTH, eps_c=EPS, n_model=N_MODEL, dims=DIMS),
    "boresight_power_density": fn(r=NONNEG, f=POS, R=RADIUS, d=DEPTH, eps_c=EPS,
                                  source=Maybe(Choice("electric", "magnetic")),
                                  moment=Maybe(Sampled([1.0, 2.0 + 1.0j, 1e-300, 1e300])), n_model=N_MODEL,
                                  dims=DIMS, may_inf=True),
    "validity": fn(r=NONNEG, f=POS, R=RADIUS, d=DEPTH, eps_c=EPS_CAL, dims=DIMS, may_inf=True),
    "measure_error_bands": fn(k0R_edges=Maybe(Sampled([(4.5, 2.5, 1.8), (2.0,)])), eps_real=Sampled([(55.0,)]),
                              loss_tangents=Sampled([(0.3,)]), freqs=Sampled([(2.45e9,)]), radii=Sampled([(0.1,)]),
                              depths=Sampled([(0.01,)]), weight=0.2),
    # --- planar interfaces
    "off_boresight_factor_db": fn(theta_air=Array(shape=("m",), low=0.0, high=np.pi / 2, any_ndim=True),
                                  eps_c=Sampled([52.7 - 12.8j, 1.0, 4.0, 1e300 + 0j, 80.0 + 1e-300j],
                                                bad=(0.5, None, "x", [50.0, 40.0])),
                                  dims=DIMS, may_inf=True),
    "stack_transmission": fn(f=Real(low=0.0, low_open=True, typical=(1e8, 6e9)), eps_tissue=EPS_SCALAR,
                             eps_layers=Array(shape=("L",), dtype="complex", low=0.0, low_open=True,
                                              typical=(1.0, 80.0)),
                             thicknesses=Array(shape=("L",), low=0.0, typical=(0.0, 0.01)), dims={"L": (0, 3)},
                             may_raise={ValueError: "phase"}),
    # --- exact series
    "sphere_boresight_field": fn(**SERIES, r=Array(shape=("m",), low=0.0, typical=(0.0, 2.0), any_ndim=True),
                                 source=Maybe(Choice("electric", "magnetic")), moment=Maybe(Sampled([1.0, 1j])),
                                 tol=TOL, nmax=Opt(Int(1, 20000, typical=(1, 200))),
                                 n_cap=Maybe(Int(1, 20000, typical=(100, 20000))), engine=ENGINE, dims=DIMS,
                                 engines=True, may_raise=SERIES_RAISES, weight=0.5),
    "series_terms": fn(**SERIES, r=Real(low=0.0, typical=(0.0, 2.0)), nmax=Int(1, 20000, typical=(1, 200)),
                       source=Maybe(Choice("electric", "magnetic")), may_raise=SERIES_RAISES),
    "sphere_power_out": fn(**SERIES, source=Maybe(Choice("electric", "magnetic")),
                           moment=Maybe(Sampled([1.0, 1j])), tol=TOL, engine=ENGINE, engines=True,
                           may_raise=SERIES_RAISES, weight=0.5),
    "sphere_directivity_boresight": fn(**SERIES, source=Maybe(Choice("electric", "magnetic")), tol=TOL,
                                       engine=ENGINE, engines=True, may_raise=SERIES_RAISES, weight=0.5),
    "exact_free_space_path_loss_db": fn(r=Array(shape=("m",), low=0.0, typical=(0.0, 2.0), any_ndim=True), **SERIES,
                                        source=Maybe(Choice("electric", "magnetic")), tol=TOL, engine=ENGINE,
                                        dims=DIMS, engines=True, may_raise=SERIES_RAISES, weight=0.5),
    "halfspace_boresight_far_field": fn(f=FREQ, eps_c=EPS, d=POS, r=POS, moment=Maybe(Sampled([1.0, 1j])),
                                        dims=DIMS, may_inf=True, may_raise={ValueError: "phase"}),
}
