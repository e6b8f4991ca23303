"""Free-space path loss of implanted antennas: a closed form (derived in the book) and an exact series.

* :mod:`.tissue` -- complex permittivity and refractive index of tissue;
* :mod:`.closed_form` -- the paraxial virtual-source closed form (a reconstruction derived in the
  chapter, not the published formula of Gao et al., whose text was unavailable);
* :mod:`.series` -- the exact vector spherical-wave series for a dipole inside a lossy sphere.
"""

from .closed_form import (
    CALIBRATED_RANGE,
    ERROR_BANDS,
    ValidityReport,
    boresight_power_density,
    defocusing_factor,
    excess_loss_db,
    free_space_path_loss_db,
    friis_path_loss_db,
    interface_transmission,
    measure_error_bands,
    surface_to_receiver_loss_db,
    validity,
    virtual_source_depth,
)
from .interfaces import off_boresight_factor_db, stack_transmission
from .series import (
    MAX_TERMS,
    MIN_ELECTRICAL_SIZE,
    SeriesTruncationWarning,
    SphereField,
    exact_free_space_path_loss_db,
    halfspace_boresight_far_field,
    series_terms,
    sphere_boresight_field,
    sphere_directivity_boresight,
    sphere_power_out,
)
from .tissue import MUSCLE, complex_permittivity, muscle_permittivity, refractive_index

__all__ = [
    "CALIBRATED_RANGE",
    "ERROR_BANDS",
    "MAX_TERMS",
    "MIN_ELECTRICAL_SIZE",
    "MUSCLE",
    "SeriesTruncationWarning",
    "SphereField",
    "ValidityReport",
    "boresight_power_density",
    "complex_permittivity",
    "defocusing_factor",
    "exact_free_space_path_loss_db",
    "excess_loss_db",
    "free_space_path_loss_db",
    "friis_path_loss_db",
    "halfspace_boresight_far_field",
    "interface_transmission",
    "muscle_permittivity",
    "refractive_index",
    "series_terms",
    "sphere_boresight_field",
    "sphere_directivity_boresight",
    "sphere_power_out",
    "surface_to_receiver_loss_db",
    "measure_error_bands",
    "off_boresight_factor_db",
    "stack_transmission",
    "validity",
    "virtual_source_depth",
]
