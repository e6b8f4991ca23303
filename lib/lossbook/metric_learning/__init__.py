"""Similarities between embeddings, and how a loss weights them (metric and contrastive learning).

The chapters of the part "Geometry of learned features" that train embeddings share this
subpackage. Its common language is **general pair weighting** (Wang et al. 2019): a loss written as a
function of the similarity matrix ``S`` (``S[i, j]`` the cosine similarity of anchor ``i`` and sample
``j``) moves the embeddings by ``sum_ij dL/dS_ij * dS_ij/dtheta``, so ``w_ij = |dL/dS_ij|`` is how much
the pair ``(i, j)`` counts. :func:`similarity_gradient` computes that matrix for any loss given as a
function of ``S``; the losses here also give it in closed form.

Modules: :mod:`.similarity` (normalisation, cosine similarities, positive/negative masks,
pair weights by autograd), :mod:`.multi_similarity` (the multi-similarity loss and its miner),
:mod:`.pair_losses` (contrastive, triplet, binomial deviance and multi-similarity as functions of ``S``,
with closed-form weights) and :mod:`.retrieval` (Recall@k, a task with unseen classes, training).
:mod:`.distill` (cross-entropy, KD and per-class binary KL on one or two linear heads: closed-form
gradients and the cosine between the CE and distillation gradients). :mod:`.protoicnn` (Proto-Triplet and
ICNN losses for few-shot learning, and an episodic study). :mod:`.amcl` (adaptive multi-head contrastive
learning: per-pair temperatures with a Gaussian regulariser, and NT-Xent).
Each chapter of the part adds its losses as a module here and cites its equations in the docstrings.
"""

from .multi_similarity import (
    multi_similarity_loss,
    multi_similarity_loss_torch,
    multi_similarity_mine,
    multi_similarity_pair_weights,
)
from .normalized_softmax import (
    FewShotStudy,
    few_shot_accuracy,
    few_shot_study,
    normalized_softmax_gradient,
    normalized_softmax_loss,
    normalized_softmax_loss_torch,
    normalized_softmax_minimum,
    normalized_softmax_pair_weights,
    novel_class_split,
    prototype_classify,
    train_softmax_embedding,
)
from .pair_losses import PAIR_LOSSES, pair_loss_from_similarity, pair_weights
from .retrieval import RetrievalTask, embed, recall_at_k, retrieval_task, train_embedding
from .similarity import cosine_similarity_matrix, l2_normalize, pair_masks, similarity_gradient
from .unpg import (
    MARGIN_TYPES,
    PairSimilarities,
    VerificationStudy,
    box_whisker_filter,
    discriminativeness_gap,
    margin_softmax_loss,
    margin_softmax_loss_torch,
    pair_similarities,
    tar_at_far,
    train_margin_softmax_embedding,
    unpg_loss,
    unpg_loss_torch,
    unpg_verification_study,
)

__all__ = [
    "FewShotStudy",
    "PAIR_LOSSES",
    "RetrievalTask",
    "cosine_similarity_matrix",
    "embed",
    "few_shot_accuracy",
    "few_shot_study",
    "l2_normalize",
    "multi_similarity_loss",
    "multi_similarity_loss_torch",
    "multi_similarity_mine",
    "multi_similarity_pair_weights",
    "normalized_softmax_gradient",
    "normalized_softmax_loss",
    "normalized_softmax_loss_torch",
    "normalized_softmax_minimum",
    "normalized_softmax_pair_weights",
    "novel_class_split",
    "pair_loss_from_similarity",
    "pair_masks",
    "pair_weights",
    "prototype_classify",
    "recall_at_k",
    "retrieval_task",
    "similarity_gradient",
    "train_embedding",
    "train_softmax_embedding",
    # unpg (chapter unpg-negative-pairs)
    "MARGIN_TYPES",
    "PairSimilarities",
    "box_whisker_filter",
    "discriminativeness_gap",
    "margin_softmax_loss",
    "margin_softmax_loss_torch",
    "pair_similarities",
    "tar_at_far",
    "train_margin_softmax_embedding",
    "unpg_loss",
    "unpg_loss_torch",
    "unpg_verification_study",
    "VerificationStudy",
]

# --- distill (chapter dual-head-kd) ---
from .distill import (  # noqa: E402
    DISTILLATION_METHODS,
    DistillationStudy,
    binary_kl_gradient,
    binary_kl_loss,
    binary_kl_loss_torch,
    ce_bkl_head_cosine,
    cross_entropy_gradient,
    cross_entropy_loss,
    distillation_study,
    gradient_cosine,
    head_gradients,
    kd_gradient,
    kd_loss,
)

__all__ += [
    "DISTILLATION_METHODS",
    "DistillationStudy",
    "binary_kl_gradient",
    "binary_kl_loss",
    "binary_kl_loss_torch",
    "ce_bkl_head_cosine",
    "cross_entropy_gradient",
    "cross_entropy_loss",
    "distillation_study",
    "gradient_cosine",
    "head_gradients",
    "kd_gradient",
    "kd_loss",
]

# --- protoicnn (chapter susana-distances) ---
from .protoicnn import (  # noqa: E402
    EPISODIC_METHODS,
    EpisodicStudy,
    episodic_study,
    icnn_loss_torch,
    icnn_score,
    proto_triplet_loss,
    proto_triplet_loss_torch,
    support_prototypes,
)

__all__ += [
    "EPISODIC_METHODS",
    "EpisodicStudy",
    "episodic_study",
    "icnn_loss_torch",
    "icnn_score",
    "proto_triplet_loss",
    "proto_triplet_loss_torch",
    "support_prototypes",
]

# --- amcl (chapter amcl) ---
from .amcl import (  # noqa: E402
    AMCL_METHODS,
    AUGMENTATIONS,
    ContrastiveStudy,
    amcl_loss_torch,
    contrastive_study,
    ntxent_loss_torch,
    optimal_positive_temperature,
    temperature_regulariser,
)

__all__ += [
    "AMCL_METHODS",
    "AUGMENTATIONS",
    "ContrastiveStudy",
    "amcl_loss_torch",
    "contrastive_study",
    "ntxent_loss_torch",
    "optimal_positive_temperature",
    "temperature_regulariser",
]
