"""Federated learning under label skew (chapter ``book/feedback/fedld``).

Clients are drawn by a Dirichlet(α) label split; a linear softmax model is trained by FedAvg, FedProx
(proximal term μ) or principal-gradient aggregation with the margin-control regulariser of the FedLD
code; the global loss of any round splits exactly into local, distribution-shift and aggregation
terms (a telescoping identity derived in the chapter).
"""

from .aggregate import fedavg_aggregate, principal_gradient_aggregate
from .decompose import LossDecomposition, loss_decomposition
from .model import LossGrad, margin_control_loss, softmax_regression_loss
from .split import ClientSplit, dirichlet_label_split
from .train import AGGREGATORS, FederatedRun, federated_train

__all__ = [
    "AGGREGATORS",
    "ClientSplit",
    "FederatedRun",
    "LossDecomposition",
    "LossGrad",
    "dirichlet_label_split",
    "federated_train",
    "fedavg_aggregate",
    "loss_decomposition",
    "margin_control_loss",
    "principal_gradient_aggregate",
    "softmax_regression_loss",
]
