"""Label-distributionally robust (LDR) losses (chapter ``book/consistency/ldr-losses``).

LDR-KL in closed form (``lam log mean exp``), its worst-case label weights, the Crammer–Singer
limit, the adaptive ALDR-KL temperature, and a PyTorch twin of the loss.
"""

from .losses import aldr_kl_lambda, cs_loss, ldr_kl_loss, ldr_kl_loss_torch, ldr_worst_case_weights

__all__ = ["aldr_kl_lambda", "cs_loss", "ldr_kl_loss", "ldr_kl_loss_torch", "ldr_worst_case_weights"]
