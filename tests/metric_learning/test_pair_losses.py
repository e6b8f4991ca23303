"""Pair losses as functions of S: closed-form weights vs autograd, brute-force triplets, Recall@k vs scikit-learn."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from lossbook.metric_learning import (
    PAIR_LOSSES,
    cosine_similarity_matrix,
    embed,
    multi_similarity_loss,
    pair_loss_from_similarity,
    pair_weights,
    recall_at_k,
    retrieval_task,
    similarity_gradient,
    train_embedding,
)

torch = pytest.importorskip("torch")


def batch(seed, n_classes=5, per_class=4, d=6):
    rng = np.random.default_rng(seed)
    y = np.repeat(np.arange(n_classes), per_class)
    return rng.standard_normal((n_classes, d))[y] + rng.standard_normal((y.size, d)), y


@pytest.mark.claim("msl_weights")
@pytest.mark.parametrize("name", PAIR_LOSSES)
@pytest.mark.parametrize("seed", range(4))
def test_closed_form_weights_equal_autograd(name, seed):
    E, y = batch(seed)
    S = cosine_similarity_matrix(E)
    G = similarity_gradient(lambda St, yt: pair_loss_from_similarity(name, St, yt), E, y)
    np.testing.assert_allclose(pair_weights(name, S, y), G, rtol=1e-12, atol=1e-15)


def test_triplet_loss_equals_the_explicit_triple_loop():
    E, y = batch(1)
    S = cosine_similarity_matrix(E)
    terms = [max(0.0, S[i, k] - S[i, j] + 0.1)
             for i, j, k in itertools.product(range(len(y)), repeat=3)
             if i != j and y[i] == y[j] and y[k] != y[i]]
    got = float(pair_loss_from_similarity("triplet", torch.tensor(S), y))
    assert got == pytest.approx(np.mean(terms), rel=1e-13)


def test_multi_similarity_from_s_equals_the_embedding_version():
    E, y = batch(2)
    S = torch.tensor(cosine_similarity_matrix(E))
    for mine in (True, False):
        assert float(pair_loss_from_similarity("multi_similarity", S, y, mine=mine)) == pytest.approx(
            multi_similarity_loss(E, y, mine=mine), rel=1e-13)


def test_multi_similarity_minus_binomial_deviance_is_the_relative_term():
    # log(1 + e^a) = softplus(a): the two losses differ only through anchors with two or more pairs of a
    # kind, by (sum_k softplus(x_k) - log(1 + sum_k e^{x_k})) / scale >= 0 (the relative-similarity term)
    E = np.array([[1.0, 0.1], [0.8, 0.4], [0.9, 0.3]])  # anchor 2's negatives lie above the base 0.5
    y = np.array([0, 0, 1])  # anchors 0, 1: one positive, one negative; anchor 2: two negatives
    S = cosine_similarity_matrix(E)
    St = torch.tensor(S)
    diff = float(pair_loss_from_similarity("binomial_deviance", St, y)) - float(
        pair_loss_from_similarity("multi_similarity", St, y, mine=False))
    x = 50.0 * (S[2, :2] - 0.5)
    relative = (np.logaddexp(0, x).sum() - np.logaddexp.reduce([0.0, *x])) / 50.0 / 3
    assert relative > 1e-3 and diff == pytest.approx(relative, rel=1e-10)


def test_recall_at_k_matches_scikit_learn_neighbours():
    from sklearn.neighbors import NearestNeighbors

    E, y = batch(3, n_classes=6, per_class=5)
    nn = NearestNeighbors(n_neighbors=4, metric="cosine").fit(E)
    idx = nn.kneighbors(E, return_distance=False)[:, 1:]  # drop the query itself
    for k in (1, 2, 3):
        assert recall_at_k(E, y, k) == pytest.approx(np.mean((y[idx[:, :k]] == y[:, None]).any(axis=1)))
    with pytest.raises(ValueError, match="k"):
        recall_at_k(E, y, 0)
    with pytest.raises(ValueError, match="labels"):
        recall_at_k(E, y[:-1])


def test_task_is_seeded_and_unseen_classes_are_disjoint():
    a, b = retrieval_task(8, 5, seed=3), retrieval_task(8, 5, seed=3)
    assert all(np.array_equal(u, v) for u, v in zip(a, b, strict=True))
    assert set(a.y_train).isdisjoint(a.y_test)
    with pytest.raises(ValueError, match="even"):
        retrieval_task(7, 5, seed=0)
    with pytest.raises(ValueError, match="nuisance"):
        retrieval_task(8, 5, nuisance=-1.0, seed=0)


@pytest.mark.claim("msl_learned")
def test_training_is_reproducible_and_learns_to_ignore_the_nuisance():
    t = retrieval_task(12, 20, seed=1)
    m1, h1 = train_embedding("multi_similarity", t.X_train, t.y_train, seed=4, epochs=15, batch_size=60)
    m2, _ = train_embedding("multi_similarity", t.X_train, t.y_train, seed=4, epochs=15, batch_size=60)
    np.testing.assert_array_equal(embed(m1, t.X_test), embed(m2, t.X_test))
    assert h1.train_loss[-1] < h1.train_loss[0]
    assert recall_at_k(embed(m1, t.X_test), t.y_test) > recall_at_k(t.X_test, t.y_test)


@pytest.mark.parametrize(
    ("kwargs", "exc", "match"),
    [({"margin": 2.0}, ValueError, "margin"), ({"triplet_margin": -1.0}, ValueError, "triplet_margin"),
     ({"gamma": 1.0}, TypeError, "unknown"), ({"mine": 1}, TypeError, "mine")],
)
def test_bad_parameters_are_named(kwargs, exc, match):
    E, y = batch(0)
    with pytest.raises(exc, match=match):
        pair_weights("contrastive", cosine_similarity_matrix(E), y, **kwargs)


def test_bad_names_and_matrices():
    E, y = batch(0)
    S = cosine_similarity_matrix(E)
    with pytest.raises(ValueError, match="name"):
        pair_weights("lifted", S, y)
    with pytest.raises(ValueError, match="square"):
        pair_weights("contrastive", S[:, :3], y)
    with pytest.raises(ValueError, match=r"\[-1"):
        pair_weights("contrastive", 2 * S, y)
    with pytest.raises(TypeError, match="torch tensor"):
        pair_loss_from_similarity("contrastive", S, y)


@pytest.mark.claim("msl_gpw")
@pytest.mark.parametrize("name", PAIR_LOSSES)
def test_embedding_gradient_is_the_pair_weighted_sum(name):
    # Proposition msl-prop-gpw: dL/df_i = (I - u_i u_i^T)/|f_i| * sum_j (W_ij + W_ji) u_j, W = dL/dS.
    # Autograd through the normalisation is the independent side; a wrong Jacobian (missing projection,
    # missing 1/|f_i| or a one-sided sum) changes the result at O(1), far above the 1e-12 float64 tolerance.
    E, y = batch(7)
    E = E * np.linspace(0.5, 3.0, len(y))[:, None]  # unequal norms, so the 1/|f_i| factor matters
    Et = torch.tensor(E, requires_grad=True)
    (g_auto,) = torch.autograd.grad(pair_loss_from_similarity(name, _cos_torch(Et), torch.as_tensor(y)), Et)
    W = pair_weights(name, cosine_similarity_matrix(E), y)
    norms = np.linalg.norm(E, axis=1)
    U = E / norms[:, None]
    P = np.eye(E.shape[1])[None] - U[:, :, None] * U[:, None, :]
    g = np.einsum("iab,ib->ia", P, (W + W.T) @ U) / norms[:, None]
    np.testing.assert_allclose(g, g_auto.numpy(), rtol=1e-10, atol=1e-13 * np.abs(g).max())


def _cos_torch(Et):
    U = Et / Et.norm(dim=1, keepdim=True)
    return U @ U.T


@pytest.mark.claim("msl_experiment")
def test_ms_is_not_resolved_above_contrastive_on_the_chapter_task():
    # The chapter's finding: under its protocol (per-loss learning rate tuned on held-out training classes,
    # five paired seeds) the paired 95% interval of MS minus contrastive Recall@1 on the unseen classes
    # contains zero or lies below it. This reruns exactly that protocol for the two losses; it fails if MS
    # becomes resolved above contrastive (the paper's direction), e.g. after a change to the loss or miner.
    from lossbook.stats import paired_difference

    task = retrieval_task(seed=0)
    fit, val = task.y_train < 15, task.y_train >= 15
    r1 = {}
    for loss in ("multi_similarity", "contrastive"):
        scores = [np.mean([recall_at_k(embed(train_embedding(loss, task.X_train[fit], task.y_train[fit],
                                                             seed=s, lr=lr)[0], task.X_train[val]),
                                       task.y_train[val]) for s in (100, 101)]) for lr in (3e-3, 1e-2, 3e-2)]
        lr = (3e-3, 1e-2, 3e-2)[int(np.argmax(scores))]
        r1[loss] = [recall_at_k(embed(train_embedding(loss, task.X_train, task.y_train, seed=s, lr=lr)[0],
                                      task.X_test), task.y_test) for s in range(5)]
    assert paired_difference(r1["multi_similarity"], r1["contrastive"]).ci_low <= 0
