"""Multi-label classification with long-tailed labels: LDAM margins and code-wise attention (TransICD).

Reference code for the chapter ``book/physics/transicd``: the label-distribution-aware margins and
their multi-label loss, code-wise attention and token contributions (NumPy), micro/macro F1 and AUC,
synthetic documents with planted triggers and the chapter's PyTorch study.
"""

from .attention import codewise_attention, token_contributions
from .ldam import ldam_bce_grad, ldam_bce_loss, ldam_margins, ldam_threshold
from .metrics import multilabel_auc, multilabel_f1, per_code_f1
from .model import LOSSES, CodewiseStudy, TriggerData, codewise_study, trigger_documents

__all__ = [
    "LOSSES",
    "CodewiseStudy",
    "TriggerData",
    "codewise_attention",
    "codewise_study",
    "ldam_bce_grad",
    "ldam_bce_loss",
    "ldam_margins",
    "ldam_threshold",
    "multilabel_auc",
    "multilabel_f1",
    "per_code_f1",
    "token_contributions",
    "trigger_documents",
]
