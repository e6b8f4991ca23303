"""A tiny conditional language model of facts, and unlearning by gradient ascent or FLAT.

Chapter ``book/feedback/flat-unlearning``. Each of ``n_retain + n_forget`` prompts (one learned
embedding each) has a random ``answer_len``-token answer over ``vocab`` tokens; the first
``answer_len`` tokens are reserved for the template (refusal) answer, which no fact uses. A
one-hidden-layer network predicts each answer token from the prompt, the position and the
previous token. After pretraining on all facts, unlearning sees **only the forget prompts**, their
answers and the template. ``n_refuse`` further prompts are pretrained to answer with the template
(the model knows how to refuse before unlearning starts).

* ``"GA"``: gradient ascent, minimise the mean log-likelihood of the forget answers;
* ``"FLAT-KL"``, ``"FLAT-TV"``, ...: minimise :func:`~lossbook.unlearning.flat_loss_torch` of
  the mean token probabilities of template and forget answers (eq. :eq:`flat-loss`).

Defaults were set once, on seeds 0 and 1: sizes and pretraining so that every fact is memorised,
and the unlearning step size chosen from {0.003, 0.001} so that the traces resolve the first 200
steps. They are a toy setting, not a recommendation.
"""

from __future__ import annotations

import copy
from typing import NamedTuple

import numpy as np

from .._rng import as_generator
from .._torch import require_torch
from .._validate import check_int, check_real, check_size
from .divergence import DIVERGENCES

__all__ = ["METHODS", "UnlearningStudy", "unlearning_study"]

#: unlearning methods: gradient ascent and FLAT with each divergence
METHODS = ("GA",) + tuple(f"FLAT-{d}" for d in DIVERGENCES)


class UnlearningStudy(NamedTuple):
    """Traces over unlearning steps; the metric arrays have shape ``(methods, seeds, evaluations)``.

    ``forget``: mean probability of the forget answers; ``template``: of the template answer on the
    forget prompts; ``retain``: of the retain answers; ``retain_template``: of the template answer
    on the retain prompts (over-refusal). ``pretrain_retain``/``pretrain_forget``: mean answer
    probabilities after pretraining, per seed.
    """

    methods: tuple
    seeds: tuple
    step: np.ndarray
    forget: np.ndarray
    template: np.ndarray
    retain: np.ndarray
    retain_template: np.ndarray
    pretrain_retain: np.ndarray
    pretrain_forget: np.ndarray


_KEYS = ("forget", "template", "retain", "retain_template")


def _mean_probs(torch, model, sets):
    # mean over prompts of the probability of the whole answer (product of its token probabilities)
    with torch.no_grad():
        return tuple(float(model(x, y).sum(1).exp().mean()) for x, y in sets)


def _model(torch, n_prompts, vocab, answer_len, width, hidden):
    class FactLM(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.prompt = torch.nn.Embedding(n_prompts, width)
            self.token = torch.nn.Embedding(vocab + 1, width)  # index `vocab` is the start token
            self.position = torch.nn.Embedding(answer_len, width)
            self.hidden = torch.nn.Linear(width, hidden)
            self.out = torch.nn.Linear(hidden, vocab)

        def forward(self, prompts, answers):
            # teacher forcing: the input at position t is the answer token t-1 (start token at t = 0)
            start = torch.full((answers.shape[0], 1), vocab, dtype=answers.dtype)
            prev = torch.cat([start, answers[:, :-1]], dim=1)
            pos = torch.arange(answers.shape[1])
            h = self.prompt(prompts)[:, None, :] + self.token(prev) + self.position(pos)[None]
            logits = self.out(torch.tanh(self.hidden(torch.tanh(h))))
            return torch.log_softmax(logits, dim=-1).gather(-1, answers[..., None])[..., 0]  # (B, L) log p

    return FactLM()


def unlearning_study(methods=("GA", "FLAT-KL", "FLAT-TV"), seeds=(0, 1, 2, 3, 4), *, n_retain: int = 100,
                     n_forget: int = 10, n_refuse: int = 10, vocab: int = 50, answer_len: int = 3,
                     width: int = 32, hidden: int = 64,
                     pretrain_steps: int = 300, pretrain_lr: float = 0.03, steps: int = 200, lr: float = 0.001,
                     eval_every: int = 10) -> UnlearningStudy:
    """Pretrain the tiny fact model per seed, then unlearn the forget facts with each method.

    Both phases use Adam on the full batch; every method starts from the same pretrained weights of
    its seed and uses the same step size ``lr`` and number of ``steps``.

    Parameters
    ----------
    methods : sequence of str
        Names from :data:`METHODS`.
    seeds : sequence of int
        Non-negative seeds (facts, initialisation); at least one.
    n_retain, n_forget : int
        Number of retain facts (``>= 1``) and forget facts (``>= 1``).
    n_refuse : int
        Number of further prompts pretrained to answer with the template (``>= 0``).
    vocab : int
        Vocabulary size, ``answer_len + 1 <= vocab <= 10000``.
    answer_len : int
        Tokens per answer, ``1..10``.
    width, hidden : int
        Embedding and hidden sizes, ``1..1024``.
    pretrain_steps, steps : int
        Adam steps of pretraining (``>= 1``) and of unlearning (``>= 1``), at most 100000.
    pretrain_lr, lr : float
        Adam step sizes, in ``(0, 10]``.
    eval_every : int
        Evaluate at step 0 and every ``eval_every`` steps (``>= 1``).

    Returns
    -------
    UnlearningStudy

    Raises
    ------
    TypeError, ValueError
        for a bad argument (the message names it).

    Examples
    --------
    >>> s = unlearning_study(("FLAT-TV",), (0,), n_retain=5, n_forget=2, pretrain_steps=5, steps=4,
    ...                      eval_every=2)
    >>> s.step.tolist(), s.forget.shape
    ([0, 2, 4], (1, 1, 3))
    """
    torch = require_torch()
    if isinstance(methods, str):
        raise TypeError("methods must be a sequence of method names, not a single string")
    methods = tuple(methods)
    if not methods:
        raise ValueError(f"methods must name at least one of {METHODS}")
    for m in methods:
        if not isinstance(m, str) or m not in METHODS:
            raise ValueError(f"methods entries must be among {METHODS}, got {m!r}")
    try:
        seeds = tuple(seeds)
    except TypeError:
        raise TypeError(f"seeds must be a sequence of non-negative integers, got {type(seeds).__name__}") from None
    if not seeds:
        raise ValueError("seeds must hold at least one seed")
    seeds = tuple(check_int(s, "seeds entries", low=0, high=2**32 - 1) for s in seeds)
    n_retain = check_int(n_retain, "n_retain", low=1, high=10**5)
    n_forget = check_int(n_forget, "n_forget", low=1, high=10**5)
    n_refuse = check_int(n_refuse, "n_refuse", low=0, high=10**5)
    answer_len = check_int(answer_len, "answer_len", low=1, high=10)
    vocab = check_int(vocab, "vocab", low=answer_len + 1, high=10000)
    width = check_int(width, "width", low=1, high=1024)
    hidden = check_int(hidden, "hidden", low=1, high=1024)
    pretrain_steps = check_int(pretrain_steps, "pretrain_steps", low=1, high=100000)
    steps = check_int(steps, "steps", low=1, high=100000)
    pretrain_lr = check_real(pretrain_lr, "pretrain_lr", low=0.0, low_open=True, high=10.0)
    lr = check_real(lr, "lr", low=0.0, low_open=True, high=10.0)
    eval_every = check_int(eval_every, "eval_every", low=1, high=steps)
    n = n_retain + n_forget + n_refuse
    check_size(len(seeds) * (1 + len(methods)) * (pretrain_steps + steps) * n * answer_len * vocab,
               "seeds * methods * steps * facts * answer_len * vocab", limit=10**12, what="operations")
    from .flat import flat_loss_torch

    eval_steps = np.arange(0, steps + 1, eval_every)
    shape = (len(methods), len(seeds), eval_steps.size)
    out = {k: np.empty(shape) for k in _KEYS}
    pre_r, pre_f = np.empty(len(seeds)), np.empty(len(seeds))
    old_threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        for si, seed in enumerate(seeds):
            rng = as_generator(seed)
            answers = torch.as_tensor(rng.integers(answer_len, vocab, size=(n, answer_len)), dtype=torch.long)
            template = torch.arange(answer_len)[None].expand(n, answer_len)
            answers[n_retain + n_forget:] = template[n_retain + n_forget:]  # prompts the model learns to refuse
            prompts = torch.arange(n)
            retain, forget = prompts[:n_retain], prompts[n_retain:n_retain + n_forget]
            torch.manual_seed(seed)
            base = _model(torch, n, vocab, answer_len, width, hidden).double()
            opt = torch.optim.Adam(base.parameters(), lr=pretrain_lr)
            for _ in range(pretrain_steps):
                opt.zero_grad()
                (-base(prompts, answers).sum(1).mean()).backward()
                opt.step()

            sets = ((forget, answers[forget]), (forget, template[forget]), (retain, answers[retain]),
                    (retain, template[retain]))
            p0 = _mean_probs(torch, base, sets)
            pre_f[si], pre_r[si] = p0[0], p0[2]
            for mi, method in enumerate(methods):
                model = copy.deepcopy(base)
                opt = torch.optim.Adam(model.parameters(), lr=lr)
                k = 0
                for t in range(steps + 1):
                    if t % eval_every == 0:
                        for key, v in zip(_KEYS, _mean_probs(torch, model, sets), strict=True):
                            out[key][mi, si, k] = v
                        k += 1
                    if t == steps:
                        break
                    opt.zero_grad()
                    logp_f = model(forget, answers[forget])
                    if method == "GA":
                        loss = logp_f.sum(1).mean()
                    else:
                        logp_e = model(forget, template[forget])
                        loss = flat_loss_torch(logp_e.exp().mean(1), logp_f.exp().mean(1), method[5:])
                    loss.backward()
                    opt.step()
    finally:
        torch.set_num_threads(old_threads)
    return UnlearningStudy(methods, seeds, eval_steps, out["forget"], out["template"], out["retain"],
                           out["retain_template"], pre_r, pre_f)
