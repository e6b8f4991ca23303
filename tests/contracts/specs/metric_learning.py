"""Contracts of lossbook.metric_learning (see tests/contracts/contracts_dsl.py)."""

import numpy as np
from contracts_dsl import (
    CONSTANT,
    RESULT,
    Array,
    Bad,
    Bool,
    Choice,
    Const,
    Domain,
    Int,
    Labels,
    Mapped,
    Obj,
    Real,
    Sampled,
    Seed,
    fn,
)
from hypothesis import strategies as st

from lossbook.metric_learning import PAIR_LOSSES, cosine_similarity_matrix

ND = {"n": (2, 6), "d": (1, 4), "c": (1, 3)}


def _nonzero_rows(E):
    E = np.array(E, dtype=float, copy=True) if not isinstance(E, np.ndarray) else E.copy()
    if E.ndim == 2 and E.size:
        zero = ~np.any(E != 0, axis=1)
        E[zero, 0] = 1.0  # a zero row has no direction (documented refusal); draws avoid it
    return E


def _tensor(x):
    import torch

    return torch.as_tensor(np.asarray(x, dtype="float64"))


def _cos(E):
    return cosine_similarity_matrix(E)


EMB = Mapped(Array(shape=("n", "d"), typical=(-3.0, 3.0)), _nonzero_rows, bad=(np.zeros((2, 2)),))
class AnyLabels(Domain):
    """Integer class labels, any integers (documented): drawn from ``0..c-1`` shifted by a drawn offset."""

    def valid(self, draw, a):
        y = np.asarray(Labels(("n",), "c").valid(draw, a))
        return y + draw(st.sampled_from([0, -3, 10**6]))

    def invalid(self, a, name):
        n = a["n"]
        return [Bad(None, "None"), Bad("y", "a string"), Bad(np.full(n, 0.5), "non-integer labels"),
                Bad(np.zeros((n, 1), dtype=int), "2-D labels")]


LABELS = AnyLabels()
S = Mapped(EMB, _cos, bad=(np.full((2, 2), 1.5), np.zeros((2, 3))))
S_TORCH = Mapped(EMB, lambda E: _tensor(_cos(E)), bad=(np.eye(2), [[1.0, 0.0], [0.0, 1.0]]))
SCALE = Real(1e-6, 1e6, typical=(0.1, 100.0))  # documented range
BASE = Real(-1.0, 1.0)
EPSILON = Real(low=0.0, allow_inf=True, typical=(0.0, 1.0))  # documented: inf keeps every pair


def _sum_loss(a):
    return lambda S, labels: S.sum()


def _linear(a):
    import torch

    torch.manual_seed(0)
    return torch.nn.Linear(3, 2).double()


SPECS = {
    "PAIR_LOSSES": CONSTANT,
    "RetrievalTask": RESULT,
    "l2_normalize": fn(embeddings=EMB, name=Sampled(["embeddings"]), dims=ND),
    "cosine_similarity_matrix": fn(embeddings=EMB, dims=ND),
    "pair_masks": fn(labels=LABELS, dims=ND),
    "multi_similarity_loss": fn(embeddings=EMB, labels=LABELS, alpha=SCALE, beta=SCALE, base=BASE, epsilon=EPSILON,
                                mine=Bool(), dims=ND),
    "multi_similarity_pair_weights": fn(embeddings=EMB, labels=LABELS, alpha=SCALE, beta=SCALE, base=BASE,
                                        epsilon=EPSILON, mine=Bool(), dims=ND),
    "multi_similarity_loss_torch": fn(embeddings=Mapped(EMB, _tensor, bad=(np.ones((2, 2)), [[1.0, 0.0]])),
                                      labels=LABELS, alpha=SCALE, beta=SCALE, base=BASE, epsilon=EPSILON,
                                      mine=Bool(), dims=ND),
    "multi_similarity_mine": fn(embeddings=EMB, labels=LABELS, epsilon=Real(low=0.0, allow_inf=True,
                                                                              typical=(0.0, 1.0)), dims=ND),
    "pair_weights": fn(name=Choice(*PAIR_LOSSES), S=S, labels=LABELS, dims=ND),
    "pair_loss_from_similarity": fn(name=Choice(*PAIR_LOSSES), S=S_TORCH, labels=LABELS, dims=ND),
    "recall_at_k": fn(embeddings=EMB, labels=LABELS, k=Int(1, lambda a: a["n"] - 1), dims=ND),
    "similarity_gradient": fn(loss_of_s=Const(_sum_loss, bad=(None, 3)), embeddings=EMB, labels=LABELS, dims=ND),
    "retrieval_task": fn(n_classes=Sampled([4, 6], bad=(3, 2, 5)), per_class=Int(2, typical=(2, 4)),
                         dim=Int(1, typical=(1, 5)), latent=Int(1, typical=(1, 3)),
                         spread=Real(low=0.0, high=1e100, typical=(0.0, 2.0)),
                         nuisance=Real(low=0.0, high=1e100, typical=(0.0, 3.0)),
                         noise=Real(low=0.0, high=1e100, typical=(0.0, 1.0)), seed=Seed()),
    "embed": fn(model=Obj(_linear), X=Array(shape=("n", 3), typical=(-3.0, 3.0)), dims=ND),
    "train_embedding": fn(loss=Choice(*PAIR_LOSSES), X=Array(shape=("n", 3), typical=(-3.0, 3.0)),
                          y=LABELS, seed=Sampled([0, 1, 2**63 - 1], bad=(-1, 1.5, "s")),
                          epochs=Int(1, typical=(1, 2)),
                          lr=Real(low=0.0, low_open=True, high=1e30, typical=(1e-4, 1e-2)),
                          batch_size=Int(2, typical=(2, 6)),
                          hidden=Int(1, typical=(1, 8)), out_dim=Int(1, typical=(1, 4)), dims=ND, weight=0.3),
}

# --- normalized_softmax (chapter hyperspherical-embedding) ---------------------------------------------------------
TEMPERATURE = Real(1e-6, 1e6, typical=(0.01, 10.0))  # documented range
PROXIES = Mapped(Array(shape=("c", "d"), typical=(-3.0, 3.0)), _nonzero_rows, bad=(np.zeros((1, 1)),))
CLASS_LABELS = Labels(("n",), "c")
QUERY = Mapped(Array(shape=("q", "d"), typical=(-3.0, 3.0)), _nonzero_rows, bad=(np.zeros((1, 1)),))
NDQ = {**ND, "q": (0, 4)}
F32_MAX = float(np.finfo(np.float32).max)  # documented input limit of the float32 network
NS_ARGS = {"embeddings": EMB, "weights": PROXIES, "labels": CLASS_LABELS, "temperature": TEMPERATURE}


def _two_classes(a):
    return np.arange(a["n"]) % 2  # every class has n // 2 >= shots + 1 samples


SPECS.update({
    "FewShotStudy": RESULT,
    "few_shot_study": fn(X=Mapped(Array(shape=("n", 3), typical=(-3.0, 3.0), max_abs=1e6), _nonzero_rows,
                                  bad=(np.zeros((9, 3)), np.full((9, 3), 1e7))),
                         y=Const(lambda a: np.arange(a["n"]) % 3),  # 3 classes of >= 3 samples
                         seeds=Sampled([(0,), [1, 2]], bad=((-1,), (), 5)),
                         temperatures=Sampled([(0.05,), [1.0, 1e-6]], bad=((0.0,), (), (float("nan"),))),
                         n_novel=Int(2, 2), shots=Sampled([(1,), [1, 2]], bad=((0,), (), "1")),
                         n_episodes=Int(1, 100_000, typical=(1, 2)), epochs=Int(1, 10_000, typical=(1, 1)),
                         dims={**ND, "n": (9, 12)}, weight=0.2, may_raise={FloatingPointError: "the loss became"}),
    "normalized_softmax_loss": fn(**NS_ARGS, dims=ND),
    "normalized_softmax_pair_weights": fn(**NS_ARGS, dims=ND),
    # a row of norm below ~1e-308 gives a gradient beyond the float range (documented: inf)
    "normalized_softmax_gradient": fn(**NS_ARGS, dims=ND, may_inf=True),
    "normalized_softmax_loss_torch": fn(embeddings=Mapped(EMB, _tensor, bad=(np.ones((2, 2)),)),
                                        weights=Mapped(PROXIES, _tensor, bad=(np.ones((2, 2)),)),
                                        labels=CLASS_LABELS, temperature=TEMPERATURE, dims=ND),
    "normalized_softmax_minimum": fn(n_classes=Int(1, typical=(1, 50)), temperature=TEMPERATURE),
    "prototype_classify": fn(support=EMB, support_labels=LABELS, query=QUERY,
                             metric=Choice("cosine", "euclidean"), dims=NDQ),
    "few_shot_accuracy": fn(embeddings=EMB, labels=Const(_two_classes), shots=Int(1, lambda a: a["n"] // 2 - 1),
                            n_episodes=Int(1, 100_000, typical=(1, 4)), n_query=Sampled([None, 1], bad=(0, 1.5, "1")),
                            metric=Choice("cosine", "euclidean"), seed=Seed(), dims={**ND, "n": (4, 8)}),
    "novel_class_split": fn(X=Array(shape=("n", "d"), typical=(-3.0, 3.0)), y=Const(_two_classes),
                            n_novel=Int(1, 1), seed=Seed(), dims=ND),
    "train_softmax_embedding": fn(X=Array(shape=("n", 3), typical=(-3.0, 3.0), max_abs=F32_MAX), y=LABELS,
                                  normalized=Bool(),
                                  temperature=TEMPERATURE, seed=Sampled([0, 1, 2**63 - 1], bad=(-1, 1.5, "s")),
                                  epochs=Int(1, typical=(1, 2)),
                                  lr=Real(low=0.0, low_open=True, high=1e30, typical=(1e-4, 1e-2)),
                                  batch_size=Int(1, typical=(1, 6)), hidden=Int(1, typical=(1, 8)),
                                  out_dim=Int(1, typical=(1, 4)), dims=ND, weight=0.3,
                                  may_raise={FloatingPointError: "the loss became"}),  # documented divergence
})

# --- distill (chapter dual-head-kd) ----------------------------------------------------------------------------------
from lossbook.metric_learning import DISTILLATION_METHODS  # noqa: E402

LOGITS = Array(shape=("n", "c"), typical=(-10.0, 10.0), max_abs=1e100)  # documented logit limit
KD_T = Real(1e-3, 1e6, typical=(0.5, 10.0))  # documented temperature range
CL = Labels(("n",), "c")
PAIR = {"student_logits": LOGITS, "teacher_logits": LOGITS, "temperature": KD_T}
T_LOGITS = Mapped(LOGITS, _tensor, bad=(np.ones((2, 2)), [[1.0]]))
SIZE = Int(3, 10**6, typical=(3, 12))
HID = Int(1, 10_000, typical=(1, 4))
STEPS = Int(1, 100_000, typical=(1, 3))

SPECS.update({
    "DISTILLATION_METHODS": CONSTANT,
    "DistillationStudy": RESULT,
    "cross_entropy_loss": fn(logits=LOGITS, labels=CL, dims=ND),
    "cross_entropy_gradient": fn(logits=LOGITS, labels=CL, dims=ND),
    "kd_loss": fn(**PAIR, dims=ND),
    "kd_gradient": fn(**PAIR, dims=ND),
    "binary_kl_loss": fn(**PAIR, dims=ND),
    "binary_kl_gradient": fn(**PAIR, dims=ND),
    "binary_kl_loss_torch": fn(student_logits=T_LOGITS, teacher_logits=T_LOGITS, temperature=KD_T, dims=ND),
    # products of entries near the float range overflow: documented refusal
    "head_gradients": fn(logit_gradient=Array(shape=("n", "c")), features=Array(shape=("n", "d")),
                         weights=Array(shape=("c", "d")), dims=ND, may_raise={ValueError: "overflows"}),
    "gradient_cosine": fn(a=Array(shape=("n", "d")), b=Array(shape=("n", "d")), dims=ND,
                          may_raise={ValueError: "all zero"}),
    "ce_bkl_head_cosine": fn(features=Array(shape=("n", "d")), weights=Array(shape=("c", "d")), labels=CL,
                             teacher_logits=LOGITS, bias=Sampled([None, lambda a: np.ones(a["c"])],
                                                                 bad=("b", np.zeros((2, 2)))),
                             temperature=KD_T, dims=ND,
                             may_raise={ValueError: "all zero|beyond 1e100|overflows"}),
    "distillation_study":
    fn(seeds=Sampled([(0,), [1, 2]], bad=((-1,), (), 5, ("a",))),
       methods=Sampled([("ce",), DISTILLATION_METHODS], bad=(("x",), (), "ce")),
       n_classes=Sampled([3], bad=(1, 1.5, "3")), dim=Int(1, 10_000, typical=(1, 4)),
       n_train=SIZE, n_teacher=SIZE, n_test=SIZE,
       separation=Real(0.0, 1e6, typical=(0.0, 3.0)), teacher_hidden=HID, student_hidden=HID,
       temperature=KD_T, distill_weight=Real(0.0, 1e6, typical=(0.0, 2.0)), steps=STEPS,
       teacher_steps=STEPS, lr=Real(0.0, 1.0, low_open=True, typical=(1e-4, 1e-2)),
       log_every=Int(1, typical=(1, 3)), weight=0.2, may_raise={ValueError: "the loss became"}),
})

# --- unpg (chapter unpg-negative-pairs) ----------------------------------------------------------------------------
from lossbook.metric_learning import MARGIN_TYPES  # noqa: E402

MARGIN_ARGS = {"embeddings": EMB, "weights": PROXIES, "labels": CLASS_LABELS, "margin_type": Choice(*MARGIN_TYPES),
               "scale": Real(1e-6, 1e6, typical=(1.0, 64.0)), "margin": Real(0.0, 2.0)}
WHISKER = Sampled([None, 0.0, 1.0, 1.5, 1e6], bad=(-1.0, float("nan"), "w"))
MARGIN_TORCH = {**MARGIN_ARGS, "embeddings": Mapped(EMB, _tensor, bad=(np.ones((2, 2)),)),
                "weights": Mapped(PROXIES, _tensor, bad=(np.ones((2, 2)),))}


def _pos_and_neg(a):
    return np.arange(a["n"]) % 2  # n >= 3: at least one positive and one negative pair


SPECS.update({
    "MARGIN_TYPES": CONSTANT,
    "PairSimilarities": RESULT,
    "VerificationStudy": RESULT,
    "pair_similarities": fn(embeddings=EMB, labels=LABELS, dims=ND),
    "discriminativeness_gap": fn(embeddings=EMB, labels=Const(_pos_and_neg), dims={**ND, "n": (3, 6)}),
    "box_whisker_filter": fn(similarities=Array(shape=("l",), typical=(-1.0, 1.0)),
                             whisker=Real(0.0, 1e6, typical=(0.0, 3.0)), dims={"l": (0, 8)}),
    "tar_at_far": fn(genuine=Array(shape=("g",), typical=(-1.0, 1.0)),
                     impostor=Array(shape=("m",), typical=(-1.0, 1.0)),
                     far=Real(0.0, 1.0), dims={"g": (1, 5), "m": (1, 8)}),
    "margin_softmax_loss": fn(**MARGIN_ARGS, dims=ND),
    "unpg_loss": fn(**MARGIN_ARGS, whisker=WHISKER, dims=ND),
    "margin_softmax_loss_torch": fn(**MARGIN_TORCH, dims=ND),
    "unpg_loss_torch": fn(**MARGIN_TORCH, whisker=WHISKER, dims=ND),
    "train_margin_softmax_embedding": fn(X=Array(shape=("n", 3), typical=(-3.0, 3.0), max_abs=F32_MAX), y=LABELS,
                                         margin_type=Choice(*MARGIN_TYPES), scale=Real(1e-6, 1e6, typical=(1.0, 64.0)),
                                         margin=Real(0.0, 2.0), unpg=Bool(), whisker=WHISKER,
                                         seed=Sampled([0, 1, 2**63 - 1], bad=(-1, 1.5, "s")),
                                         epochs=Int(1, typical=(1, 2)),
                                         lr=Real(low=0.0, low_open=True, high=1e30, typical=(1e-4, 1e-2)),
                                         batch_size=Int(1, typical=(1, 6)), hidden=Int(1, typical=(1, 8)),
                                         out_dim=Int(1, typical=(1, 4)), dims=ND, weight=0.3,
                                         may_raise={FloatingPointError: "the loss became"}),  # documented divergence
    "unpg_verification_study": fn(seeds=Sampled([(0,), [1, 2]], bad=((-1,), (), 5)),
                                  n_identities=Sampled([4, 6], bad=(3, 2, 5)),
                                  per_identity=Sampled([2, 3], bad=(1, 2.5)),
                                  far=Real(0.0, 1.0), margin_type=Choice(*MARGIN_TYPES),
                                  scale=Sampled([1.0, 16.0], bad=(0.0, -1.0)),
                                  margin=Sampled([0.0, 0.5], bad=(-0.1, 3.0)),
                                  whisker=WHISKER, epochs=Sampled([1], bad=(0, 1.5)),
                                  lr=Sampled([1e-2], bad=(0.0, -1.0)),
                                  spread=Real(0.0, 1e6, typical=(0.0, 1.0)),
                                  nuisance=Real(0.0, 1e6, typical=(0.0, 1.0)),
                                  weight=0.2, may_raise={FloatingPointError: "the loss became"}),
})

# --- protoicnn (chapter susana-distances) ---------------------------------------------------------------------------


def _icnn_labels(a):
    y = np.arange(a["n"]) % 2  # at least two classes when n >= 2
    return y


def _pt_tensors(a):
    import torch

    g = torch.Generator().manual_seed(3)
    return torch.randn(4, 3, generator=g, dtype=torch.float64)


SPECS.update({
    "EPISODIC_METHODS": CONSTANT,
    "EpisodicStudy": RESULT,
    "support_prototypes": fn(support=Array(shape=("n", "d"), max_abs=1e150),
                             labels=Const(lambda a: np.arange(a["n"]) % 2, bad=(None, "x", [[0]], [-1, 0])),
                             n_way=Sampled([2], bad=(0, 1.5, None)), dims={"n": (2, 5), "d": (1, 3)}),
    "proto_triplet_loss": fn(queries=Array(shape=("q", "d"), max_abs=1e150),
                             labels=Const(lambda a: np.arange(a["q"]) % a["c"], bad=(None, "x", [[0]], [-1])),
                             prototypes=Array(shape=("c", "d"), max_abs=1e150), margin=Real(0.0, 1e6),
                             dims={"q": (1, 4), "c": (2, 4), "d": (1, 3)}),
    "icnn_score": fn(embeddings=Array(shape=("n", "d"), max_abs=1e150),
                     labels=Const(_icnn_labels, bad=(None, "x", [[0]], [-1, 0])),
                     k=Int(1, lambda a: a["n"] - 1, typical=(1, 3)), dims={"n": (2, 6), "d": (1, 3)}),
    "proto_triplet_loss_torch": fn(queries=Const(_pt_tensors), labels=Const(lambda a: __import__("torch").tensor(
        [0, 1, 0, 1])), prototypes=Const(lambda a: __import__("torch").eye(2, 3, dtype=__import__("torch").float64)),
        margin=Real(0.0, 1e6)),
    "icnn_loss_torch": fn(embeddings=Const(_pt_tensors), labels=Const(lambda a: __import__("torch").tensor(
        [0, 1, 0, 1])), k=Int(1, 3)),
    "episodic_study": fn(seeds=Sampled([[0]], bad=([-1], [], None)), n_way=Sampled([2, 5], bad=(1, 101)),
                         k_shot=Sampled([1, 2], bad=(0, 20)), n_query=Sampled([1], bad=(0, 30)),
                         train_episodes=Sampled([0, 2], bad=(-1,)), test_episodes=Sampled([1, 3], bad=(0,)),
                         n_base=Sampled([5], bad=(1,)), n_novel=Sampled([5], bad=(1,)), margin=Real(0.0, 1e6),
                         k=Sampled([1], bad=(0,)), lr=Real(0.0, 1.0, low_open=True, typical=(1e-4, 1e-2)),
                         separation=Real(0.0, 100.0, low_open=True, typical=(0.5, 2.0)), weight=0.2,
                         may_inf=True),
})

# --- amcl (chapter amcl) ----------------------------------------------------------------------------------------------


def _heads(a):
    import torch

    g = torch.Generator().manual_seed(5)
    return [torch.randn(4, 3, generator=g, dtype=torch.float64) for _ in range(2)]


def _tnets(a):
    import torch

    torch.manual_seed(0)
    return [torch.nn.Linear(6, 1, dtype=torch.float64) for _ in range(2)]


SPECS.update({
    "AMCL_METHODS": CONSTANT,
    "AUGMENTATIONS": CONSTANT,
    "ContrastiveStudy": RESULT,
    "temperature_regulariser": fn(tau=Array(shape=("n",), low=1e-300, max_abs=1e300), d=Int(1, 10**6),
                                  dims={"n": (0, 4)}),
    "optimal_positive_temperature": fn(s=Array(shape=("n",), low=-1.0, high=1.0), beta=Real(0.0, 1e6, low_open=True),
                                       d=Int(1, 10**6), tau_bounds=Sampled([(1e-5, 2.0), (0.1, 0.1)],
                                                                          bad=((0.0, 1.0), (2.0, 1.0), "x", None)),
                                       dims={"n": (0, 4)}),
    "ntxent_loss_torch": fn(z1=Const(lambda a: _heads(a)[0]), z2=Const(lambda a: _heads(a)[1]),
                            tau=Real(1e-6, 1e6, typical=(0.05, 2.0))),
    "amcl_loss_torch": fn(heads1=Const(_heads), heads2=Const(_heads), temp_nets=Const(_tnets),
                          beta=Real(0.0, 1e6, typical=(0.0, 1.0))),
    "contrastive_study": fn(seeds=Sampled([[0]], bad=([-1], [], None)), epochs=Sampled([1], bad=(0, 1001)),
                            n_heads=Sampled([1, 2], bad=(0, 17)), beta=Real(0.0, 1e6, typical=(0.0, 1.0)),
                            tau=Real(1e-6, 100.0, typical=(0.1, 1.0)),
                            lr=Real(0.0, 1.0, low_open=True, typical=(1e-4, 1e-2)),
                            batch_size=Sampled([256, 1257], bad=(1, 1258)), weight=0.1,
                            may_raise={ValueError: "diverged"}),
})
