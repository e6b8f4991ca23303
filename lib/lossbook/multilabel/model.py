"""Synthetic long-tailed multi-label documents and a one-layer encoder with code-wise attention (PyTorch).

Documents are token sequences; code ``l`` is present with probability ``max_rate / (l + 1)^zipf`` and,
when present, one of its ``n_triggers`` trigger tokens is planted at a random position. The labels are
therefore a deterministic function of the tokens, and rare codes are rare only in their number of
training examples. The model embeds the tokens (plus sinusoidal positions), applies one Transformer
encoder layer, then code-wise attention (:eq:`ticd-attention`) and one linear output per code. These
sizes are the chapter's choices for a CPU toy, not the paper's (two layers, d = 128, MIMIC-III notes).
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import numpy as np

from .._rng import SeedLike, as_generator
from .._torch import require_torch
from .._validate import check_int, check_real, check_seeds
from ..progress import progress
from .attention import token_contributions
from .ldam import ldam_margins
from .metrics import multilabel_auc, multilabel_f1, per_code_f1

__all__ = ["LOSSES", "CodewiseStudy", "TriggerData", "codewise_study", "trigger_documents"]

#: the two training losses compared, in the order of the study's arrays
LOSSES = ("bce", "ldam")


class TriggerData(NamedTuple):
    """Synthetic documents (:func:`trigger_documents`)."""

    tokens: np.ndarray  #: (N, S) int64 token ids
    labels: np.ndarray  #: (N, L) 0/1 int64
    is_trigger: np.ndarray  #: (N, L, S) bool: token s of document n is a trigger of code l
    rates: np.ndarray  #: (L,) probability of each code


def trigger_documents(n_docs: int, *, n_codes: int = 12, vocab: int = 300, length: int = 48, n_triggers: int = 2,
                      zipf: float = 1.3, max_rate: float = 0.5, seed: SeedLike) -> TriggerData:
    """Draw documents with planted trigger tokens and Zipf-distributed codes.

    Parameters
    ----------
    n_docs : int
        In ``[1, 10**6]``.
    n_codes : int, default 12
        In ``[1, 1000]``; ``n_codes <= length``.
    vocab : int, default 300
        Vocabulary size, larger than ``n_codes * n_triggers`` (the trigger ids come first).
    length : int, default 48
        Tokens per document, in ``[1, 10**4]``.
    n_triggers : int, default 2
        Trigger tokens per code, in ``[1, 100]``.
    zipf : float, default 1.3
        Exponent of the code rates, in ``[0, 10]``.
    max_rate : float, default 0.5
        Rate of the most frequent code, in ``(0, 1]``.
    seed : int, SeedSequence or Generator

    Returns
    -------
    TriggerData

    Raises
    ------
    ValueError
        on out-of-range arguments, or if ``n_docs * n_codes * length`` exceeds 1e8 (the trigger indicator's size).

    Examples
    --------
    >>> d = trigger_documents(5, n_codes=3, vocab=20, length=6, seed=0)
    >>> d.tokens.shape, d.labels.shape, bool(np.all(d.is_trigger.any(axis=2) == d.labels.astype(bool)))
    ((5, 6), (5, 3), True)
    """
    n_docs = check_int(n_docs, "n_docs", low=1, high=10**6)
    n_codes = check_int(n_codes, "n_codes", low=1, high=1000)
    length = check_int(length, "length", low=n_codes, high=10**4)
    n_triggers = check_int(n_triggers, "n_triggers", low=1, high=100)
    vocab = check_int(vocab, "vocab", low=n_codes * n_triggers + 1, high=10**6)
    zipf = check_real(zipf, "zipf", low=0.0, high=10.0)
    max_rate = check_real(max_rate, "max_rate", low=0.0, high=1.0, low_open=True)
    if n_docs * n_codes * length > 10**8:
        raise ValueError("n_docs * n_codes * length must be at most 1e8")
    rng = as_generator(seed)
    rates = max_rate / np.arange(1, n_codes + 1) ** zipf
    labels = (rng.random((n_docs, n_codes)) < rates).astype(np.int64)
    tokens = rng.integers(n_codes * n_triggers, vocab, size=(n_docs, length))
    is_trigger = np.zeros((n_docs, n_codes, length), dtype=bool)
    for i in range(n_docs):
        present = np.flatnonzero(labels[i])
        pos = rng.choice(length, size=present.size, replace=False)
        which = rng.integers(0, n_triggers, size=present.size)
        tokens[i, pos] = present * n_triggers + which
        is_trigger[i, present, pos] = True
    return TriggerData(tokens.astype(np.int64), labels, is_trigger, rates)


@functools.cache
def _model_class():
    torch = require_torch()
    nn = torch.nn

    class CodewiseAttentionNet(nn.Module):
        def __init__(self, vocab, n_codes, d, k, length):
            super().__init__()
            self.embed = nn.Embedding(vocab, d)
            pos = torch.arange(length, dtype=torch.float32)[:, None]
            freq = torch.exp(-np.log(10000.0) * torch.arange(0, d, 2, dtype=torch.float32) / d)
            pe = torch.zeros(length, d)
            pe[:, 0::2] = torch.sin(pos * freq)
            pe[:, 1::2] = torch.cos(pos * freq)
            self.register_buffer("pe", pe)
            self.encoder = nn.TransformerEncoderLayer(d, nhead=2, dim_feedforward=2 * d, dropout=0.0,
                                                      batch_first=True)
            self.W1 = nn.Linear(d, k, bias=False)
            self.U = nn.Parameter(torch.randn(n_codes, k) / np.sqrt(k))
            self.w = nn.Parameter(torch.randn(n_codes, d) / np.sqrt(d))
            self.b = nn.Parameter(torch.zeros(n_codes))

        def forward_all(self, tokens):
            H = self.encoder(self.embed(tokens) + self.pe[: tokens.shape[1]])
            scores = torch.einsum("lk,bsk->bls", self.U, torch.tanh(self.W1(H)))
            alpha = torch.softmax(scores, dim=2)
            V = torch.einsum("bls,bsd->bld", alpha, H)
            return (V * self.w).sum(-1) + self.b, alpha, H

        def forward(self, tokens):
            return self.forward_all(tokens)[0]

    return CodewiseAttentionNet


class CodewiseStudy(NamedTuple):
    """Per-seed results of :func:`codewise_study`; arrays (2, R) follow :data:`LOSSES`."""

    seeds: np.ndarray
    train_counts: np.ndarray  #: (R, L) training frequency of each code
    rare: np.ndarray  #: (L,) bool: the rarer half of the codes (by rate)
    micro_f1: np.ndarray
    macro_f1: np.ndarray
    rare_macro_f1: np.ndarray  #: macro-F1 over the rare codes
    frequent_macro_f1: np.ndarray
    micro_auc: np.ndarray
    macro_auc: np.ndarray
    attention_hit: np.ndarray  #: fraction of positive (document, code) pairs whose attention argmax is a trigger
    contribution_hit: np.ndarray  #: the same for the argmax of the token contributions
    rare_recall: np.ndarray  #: recall pooled over the rare codes
    per_code_f1: np.ndarray  #: (2, R, L) test F1 of each code


def codewise_study(seeds, *, n_train: int = 1200, n_test: int = 600, epochs: int = 12, C: float = 3.0,
                   lr: float = 3e-3, d: int = 32, batch_size: int = 64, data_kwargs=None) -> CodewiseStudy:
    """Train the code-wise attention model with BCE and with LDAM-BCE on the same data and initialisation.

    Per seed: fresh documents (train and test), one initialisation shared by both losses, Adam for
    ``epochs`` epochs; margins from the training counts (codes never seen in training get count 1).
    Predictions threshold the raw logits at 0.

    Parameters
    ----------
    seeds : array_like of int, shape (R,)
        Non-negative seeds, at least one.
    n_train, n_test : int, default 1200 and 600
        Documents, each in ``[1, 10**5]``.
    epochs : int, default 12
        In ``[0, 1000]``.
    C : float, default 3.0
        LDAM margin scale, in ``[0, 1e6]``.
    lr : float, default 3e-3
        Adam's learning rate, in ``(0, 1]``.
    d : int, default 32
        Model width (even), in ``[2, 512]``.
    batch_size : int, default 64
        In ``[1, n_train]``.
    data_kwargs : dict, optional
        Passed to :func:`trigger_documents`.

    Returns
    -------
    CodewiseStudy

    Raises
    ------
    ValueError
        on out-of-range arguments, or when the test set has no code with both labels (an AUC is undefined).

    Examples
    --------
    >>> st = codewise_study([0], n_train=64, n_test=64, epochs=1)
    >>> st.macro_f1.shape
    (2, 1)
    """
    torch = require_torch()
    from ..training import seeded

    seeds_arr = check_seeds(seeds)
    n_train = check_int(n_train, "n_train", low=1, high=10**5)
    n_test = check_int(n_test, "n_test", low=1, high=10**5)
    epochs = check_int(epochs, "epochs", low=0, high=1000)
    C = check_real(C, "C", low=0.0, high=1e6)
    lr = check_real(lr, "lr", low=0.0, high=1.0, low_open=True)
    d = check_int(d, "d", low=2, high=512)
    if d % 2:
        raise ValueError(f"d must be even (sinusoidal positions), got {d}")
    batch_size = check_int(batch_size, "batch_size", low=1, high=n_train)
    kw = dict(data_kwargs or {})
    R = seeds_arr.size
    out = {k: np.empty((2, R)) for k in ("micro_f1", "macro_f1", "rare_macro_f1", "frequent_macro_f1", "micro_auc",
                                         "macro_auc", "attention_hit", "contribution_hit", "rare_recall")}
    counts = []
    rare = None
    per_code = []
    for j in progress(range(R), desc="TransICD seeds"):
        rng = as_generator(int(seeds_arr[j]))
        tr = trigger_documents(n_train, seed=rng, **kw)
        te = trigger_documents(n_test, seed=rng, **kw)
        L = tr.labels.shape[1]
        rare = np.arange(L) >= L // 2
        n_l = tr.labels.sum(axis=0)
        counts.append(n_l)
        margins = torch.from_numpy(ldam_margins(np.maximum(n_l, 1), C).astype(np.float32))
        vocab = int(max(tr.tokens.max(), te.tokens.max())) + 1
        init_seed = int(rng.integers(0, 2**31 - 1))
        order_seed = int(rng.integers(0, 2**31 - 1))
        Xtr = torch.from_numpy(tr.tokens)
        Ytr = torch.from_numpy(tr.labels.astype(np.float32))
        per_code.append(np.empty((2, tr.labels.shape[1])))
        for m, loss_name in enumerate(LOSSES):
            with seeded(init_seed):
                net = _model_class()(vocab, L, d, d, tr.tokens.shape[1])
                opt = torch.optim.Adam(net.parameters(), lr=lr)
                order = np.random.default_rng(order_seed)
                for _ in range(epochs):
                    perm = order.permutation(n_train)
                    for start in range(0, n_train, batch_size):
                        idx = torch.from_numpy(perm[start:start + batch_size])
                        z = net(Xtr[idx])
                        yb = Ytr[idx]
                        if loss_name == "ldam":
                            z = z - yb * margins
                        loss = torch.nn.functional.binary_cross_entropy_with_logits(z, yb)
                        opt.zero_grad()
                        loss.backward()
                        opt.step()
                with torch.no_grad():
                    z, alpha, H = net.forward_all(torch.from_numpy(te.tokens))
                scores = z.numpy().astype(float)
                pred = (scores > 0).astype(int)
                out["micro_f1"][m, j], out["macro_f1"][m, j] = multilabel_f1(te.labels, pred)
                per_code[-1][m] = per_code_f1(te.labels, pred)
                out["rare_macro_f1"][m, j] = multilabel_f1(te.labels[:, rare], pred[:, rare])[1]
                out["frequent_macro_f1"][m, j] = multilabel_f1(te.labels[:, ~rare], pred[:, ~rare])[1]
                out["micro_auc"][m, j], out["macro_auc"][m, j] = multilabel_auc(te.labels, scores)
                pos = te.labels.astype(bool)
                tp_rare = (pos & (pred == 1))[:, rare].sum()
                out["rare_recall"][m, j] = tp_rare / max(pos[:, rare].sum(), 1)
                a = alpha.numpy().astype(float)
                c = token_contributions(a, H.numpy().astype(float), net.w.detach().numpy().astype(float))
                arg_a = a.argmax(axis=2)
                arg_c = c.argmax(axis=2)
                hit_a = np.take_along_axis(te.is_trigger, arg_a[:, :, None], axis=2)[:, :, 0]
                hit_c = np.take_along_axis(te.is_trigger, arg_c[:, :, None], axis=2)[:, :, 0]
                out["attention_hit"][m, j] = hit_a[pos].mean()
                out["contribution_hit"][m, j] = hit_c[pos].mean()
    return CodewiseStudy(seeds_arr, np.array(counts), rare, **out,
                         per_code_f1=np.stack(per_code, axis=1))
