"""Principal-gradient aggregation: the projection rule at full rank is FedAvg; the official rule is not."""

import numpy as np
import pytest

from lossbook.federated import fedavg_aggregate, principal_gradient_aggregate


def _official_loop(G, kappa):
    """A literal transcription of the per-layer loop of the FedLD code (uniform client weights), with
    the Gram eigen-decomposition done by numpy.linalg.eigh instead of an SVD of the Gram matrix."""
    m = G.shape[0]
    H = G @ G.T / m
    s, E = np.linalg.eigh(H)
    order = np.argsort(s)[::-1]
    s, E = s[order], E[:, order]
    V = (G.T @ E).T
    k = int(m * kappa)
    W = V[:k].copy()
    for j in range(k):
        pos = sum(1 for i in range(m) if G[i] @ W[j] >= 0)
        if pos < m - pos:
            W[j] = -W[j]
    out = []
    for i in range(m):
        acc = np.zeros(G.shape[1])
        for j in range(k):
            proj = (G[i] @ W[j]) / (W[j] @ W[j]) * W[j]
            acc += proj * s[j] / s.sum() * np.linalg.norm(G[i]) / np.linalg.norm(proj)
        out.append(acc)
    return np.mean(out, axis=0)


@pytest.mark.claim("fed_pga_all")
@pytest.mark.parametrize("m,d", [(1, 7), (5, 40), (8, 3), (6, 6)])
def test_projection_rule_with_every_direction_is_fedavg(m, d):
    rng = np.random.default_rng(m * 100 + d)
    G = rng.normal(size=(m, d)) * rng.lognormal(size=(m, 1))
    p = rng.dirichlet(np.ones(m))
    ours = principal_gradient_aggregate(G, 1.0, weights=p)
    ref = p @ G  # FedAvg written out, not through the library
    assert np.allclose(ours, ref, rtol=0, atol=1e-12 * np.abs(G).max())


@pytest.mark.claim("fed_pga_all")
def test_projection_rule_with_rank_deficient_updates_is_fedavg():
    rng = np.random.default_rng(3)
    B = rng.normal(size=(2, 30))
    G = rng.normal(size=(7, 2)) @ B  # rank 2 with 7 clients
    assert np.allclose(principal_gradient_aggregate(G, 1.0), G.mean(axis=0), atol=1e-12)
    # with kappa m >= rank the truncation loses nothing either
    assert np.allclose(principal_gradient_aggregate(G, 2 / 7), G.mean(axis=0), atol=1e-12)


def test_projection_rule_truncates_to_the_top_principal_subspace():
    rng = np.random.default_rng(4)
    G = rng.normal(size=(6, 10))
    w, V = np.linalg.eigh(G.T @ G)  # principal directions from the d x d matrix, independent of the SVD
    top = V[:, np.argsort(w)[::-1][:3]]
    ref = top @ (top.T @ G.mean(axis=0))
    assert np.allclose(principal_gradient_aggregate(G, 0.5), ref, atol=1e-12)


@pytest.mark.claim("fed_pga_all")
def test_official_rule_is_not_fedavg_even_with_every_direction():
    rng = np.random.default_rng(5)
    rel = []
    for _ in range(20):
        G = rng.normal(size=(5, 20))
        code = principal_gradient_aggregate(G, 1.0, rule="code")
        avg = G.mean(axis=0)
        rel.append(np.linalg.norm(code - avg) / np.linalg.norm(avg))
    # FedAvg keeps the signed projections <g_i, r_j>; the code keeps sign * ||g_i|| * sigma_j^2 / sum sigma^2
    assert min(rel) > 0.1


@pytest.mark.claim("fed_pga_all")
@pytest.mark.parametrize("m,kappa", [(5, 0.8), (7, 1.0), (4, 0.5)])
def test_official_rule_matches_a_literal_transcription(m, kappa):
    rng = np.random.default_rng(m)
    G = rng.normal(size=(m, 25))
    ours = principal_gradient_aggregate(G, kappa, rule="code")
    assert np.allclose(ours, _official_loop(G, kappa), atol=1e-10)


def _official_loop_torch32(G, kappa):
    """The same loop in float32 PyTorch with torch.svd of the Gram matrix, as the official code runs it."""
    torch = pytest.importorskip("torch")
    G = torch.tensor(G, dtype=torch.float32)
    m = G.size(0)
    _, s, e = torch.svd(G @ G.T / m)
    w = (G.T @ e).T[: int(m * kappa)]
    out = []
    for i in range(m):
        acc = torch.zeros_like(G[i])
        for j in range(w.size(0)):
            proj = torch.dot(G[i], w[j]) / torch.dot(w[j], w[j]) * w[j]
            acc += proj * s[j] / s.sum() * torch.norm(G[i]) / torch.norm(proj)
        out.append(acc)
    return torch.stack(out).mean(0).numpy()


@pytest.mark.claim("fed_pga_nan")
@pytest.mark.parametrize("rule", ["projection", "code"])
def test_identical_updates_return_that_update_without_nan(rule):
    gs = [np.random.default_rng(seed).normal(size=12) for seed in range(5)]
    # two identical updates, every direction kept: the second direction is zero up to the eigensolver's
    # rounding, and the code divides 0 by 0 whenever the rounding gives exactly zero
    nan_seen = [np.isnan(_official_loop_torch32(np.tile(g, (2, 1)), 1.0)).any() for g in gs]
    assert any(nan_seen)
    for g in gs:
        for m, kappa in ((2, 1.0), (5, 0.8), (6, 1.0)):
            assert np.allclose(principal_gradient_aggregate(np.tile(g, (m, 1)), kappa, rule=rule), g, atol=1e-12)


@pytest.mark.claim("fed_pga_nan")
def test_a_client_with_a_zero_update_contributes_nothing_instead_of_nan():
    rng = np.random.default_rng(10)
    G = rng.normal(size=(5, 9))
    G[2] = 0.0
    assert np.isnan(_official_loop_torch32(G, 0.8)).all()  # 0 * ||0|| / ||0|| for the zero client
    with np.errstate(all="ignore"):
        assert np.isnan(_official_loop(G, 0.8)).all()
    ours = principal_gradient_aggregate(G, 0.8, rule="code")
    assert np.all(np.isfinite(ours))
    assert np.linalg.norm(ours) <= np.linalg.norm(G, axis=1).sum() / 5 * (1 + 1e-12)


@pytest.mark.parametrize("rule", ["projection", "code"])
def test_zero_updates_give_zero(rule):
    assert np.array_equal(principal_gradient_aggregate(np.zeros((4, 3)), rule=rule), np.zeros(3))


def test_official_rule_norm_is_bounded_by_mean_update_norm():
    rng = np.random.default_rng(7)
    for _ in range(50):
        G = rng.normal(size=(6, 9)) * rng.lognormal(size=(6, 1))
        bound = np.linalg.norm(G, axis=1).mean()
        agg = principal_gradient_aggregate(G, rng.uniform(0.2, 1.0), rule="code")
        assert np.linalg.norm(agg) <= bound * (1 + 1e-12)


def test_official_rule_is_invariant_to_client_order_with_odd_m():
    rng = np.random.default_rng(8)
    G = rng.normal(size=(5, 11))
    perm = rng.permutation(5)
    assert np.allclose(principal_gradient_aggregate(G, rule="code"), principal_gradient_aggregate(G[perm], rule="code"),
                       atol=1e-12)


def test_both_rules_are_positively_homogeneous():
    rng = np.random.default_rng(9)
    G = rng.normal(size=(5, 8))
    for rule in ("projection", "code"):
        a = principal_gradient_aggregate(G, rule=rule)
        assert np.allclose(principal_gradient_aggregate(1e-200 * G, rule=rule), 1e-200 * a, rtol=1e-10, atol=0)


def test_fedavg_weights_must_sum_to_one():
    with pytest.raises(ValueError, match="weights"):
        fedavg_aggregate(np.ones((2, 3)), [0.5, 0.6])


@pytest.mark.claim("fed_fedld")
def test_official_rule_jumps_when_a_projection_changes_sign():
    # a client contributes sign<g_i, r_j> ||g_i|| sigma_j^2 / sum sigma^2 along r_j, whatever the size of the
    # projection: g_2 is orthogonal to the top direction, and tilting it by +-1e-9 flips the signs of the
    # near-zero projections, which moves the aggregate by a finite amount (theorem fedld-thm-pga (iv));
    # FedAvg moves by 1e-9
    e = np.eye(4)
    out = {}
    for eps in (1e-9, -1e-9):
        G = np.array([3.0 * e[0] + 0.5 * e[2], 1.0 * e[1] + eps * e[0], 0.2 * e[3] + 2.0 * e[0]])
        out[eps] = (principal_gradient_aggregate(G, 1.0, rule="code"), principal_gradient_aggregate(G, 1.0))
    sig = np.linalg.svd(G, compute_uv=False)
    jump = np.linalg.norm(out[1e-9][0] - out[-1e-9][0])
    # at least the flip of client 2 along r_1: 2 * (1/3) * ||g_2|| * share_1
    assert jump >= 2.0 / 3.0 * sig[0] ** 2 / np.sum(sig**2) - 1e-6
    assert np.linalg.norm(out[1e-9][1] - out[-1e-9][1]) < 1e-8
