"""Topology of 2-D images: cubical persistence barcodes and Betti matching.

Chapter ``book/physics/betti-matching``.
"""

from .barcode import betti_numbers, cubical_barcode, persistence_pairs
from .experiment import SegmentationFit, fit_segmentation, vessel_mask
from .matching import BettiMatching, betti_matching, betti_matching_error, betti_matching_loss, betti_number_error

__all__ = ["BettiMatching", "betti_matching", "betti_matching_error", "betti_matching_loss", "betti_number_error",
           "betti_numbers", "cubical_barcode", "fit_segmentation", "persistence_pairs",
           "SegmentationFit", "vessel_mask"]
