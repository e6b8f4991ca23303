"""Proto-Triplet and ICNN: brute-force references, invariances, NumPy vs PyTorch, the chapter's study."""

import numpy as np
import pytest

from lossbook.metric_learning import icnn_score, proto_triplet_loss, support_prototypes

torch = pytest.importorskip("torch")
from lossbook.metric_learning import episodic_study, icnn_loss_torch, proto_triplet_loss_torch  # noqa: E402


def _pt_loop(Q, y, P, m):
    out = []
    for q, c in zip(Q, y, strict=True):
        d = [np.linalg.norm(q - p) for p in P]
        rival = min(d[j] for j in range(len(P)) if j != c)
        out.append(max(0.0, d[c] - rival + m))
    return float(np.mean(out))


@pytest.mark.claim("susana_pt")
def test_proto_triplet_against_loop_torch_and_zero_region():
    rng = np.random.default_rng(0)
    Q, P = rng.standard_normal((12, 4)), rng.standard_normal((5, 4))
    y = rng.integers(0, 5, 12)
    np.testing.assert_allclose(proto_triplet_loss(Q, y, P, 0.5), _pt_loop(Q, y, P, 0.5), rtol=1e-12)
    Qt = torch.tensor(Q, requires_grad=True)
    lt = proto_triplet_loss_torch(Qt, torch.tensor(y), torch.tensor(P), 0.5)
    np.testing.assert_allclose(float(lt), _pt_loop(Q, y, P, 0.5), rtol=1e-9)
    lt.backward()
    fd = np.zeros_like(Q)
    for idx in np.ndindex(*Q.shape):
        e = np.zeros_like(Q)
        e[idx] = 1e-6
        fd[idx] = (proto_triplet_loss(Q + e, y, P) - proto_triplet_loss(Q - e, y, P)) / 2e-6
    np.testing.assert_allclose(Qt.grad.numpy(), fd, atol=1e-6)  # away from hinge kinks (random data)
    # queries at their prototype with rivals farther than the margin: exactly 0
    P2 = np.eye(3) * 10
    assert proto_triplet_loss(P2, [0, 1, 2], P2, 0.5) == 0.0


def _icnn_loop(X, y, k):
    n = len(X)
    D = np.array([[np.linalg.norm(X[i] - X[j]) for j in range(n)] for i in range(n)])
    gam, lsc, dcs = [], [], []
    for i in range(n):
        order = sorted((j for j in range(n) if j != i), key=lambda j: (D[i, j], j))[:k]
        same = [j for j in order if y[j] == y[i]]
        gam.append(len(same) / k)
        b = min(D[i, j] for j in range(n) if y[j] != y[i])
        if same and b > 0:
            lsc.append(min(1.0, max(0.0, 1 - np.mean([D[i, j] for j in same]) / b)))
        else:
            lsc.append(0.0)
        dcs += [D[i, j] for j in order if y[j] != y[i]]
    dmax = D.max()
    ldc = np.mean(dcs) / dmax if dcs else 1.0
    return 0.5 * ((np.mean(lsc) + ldc) / 2 + np.mean(gam))


@pytest.mark.claim("susana_icnn")
def test_icnn_against_loop_range_scale_and_torch():
    rng = np.random.default_rng(1)
    for _ in range(5):
        X = rng.standard_normal((20, 3))
        y = rng.integers(0, 3, 20)
        y[:3] = [0, 1, 2]
        for k in (1, 4):
            s = icnn_score(X, y, k)
            np.testing.assert_allclose(s, _icnn_loop(X, y, k), rtol=1e-12)
            assert 0 <= s <= 1
            np.testing.assert_allclose(icnn_score(7.5 * X, y, k), s, rtol=1e-12)  # scale invariant
            lt = icnn_loss_torch(torch.tensor(X), torch.tensor(y), k)
            # the tensor version expands |a - b|^2 = |a|^2 + |b|^2 - 2ab: cancellation of order eps |x|^2 / d^2
            np.testing.assert_allclose(float(lt), -np.log(s), rtol=1e-7)
    # proto-triplet is not scale invariant
    P = rng.standard_normal((3, 3))
    assert proto_triplet_loss(X, y, P) != pytest.approx(proto_triplet_loss(3 * X, y, 3 * P))


@pytest.mark.claim("susana_icnn")
def test_icnn_rises_as_clusters_tighten():
    rng = np.random.default_rng(2)
    centres = rng.standard_normal((4, 5)) * 5
    noise = rng.standard_normal((4, 10, 5))
    y = np.repeat(np.arange(4), 10)
    scores = [icnn_score((centres[:, None] + s * noise).reshape(-1, 5), y) for s in (3.0, 1.0, 0.3, 0.1, 0.01)]
    assert np.all(np.diff(scores) > 0) and scores[-1] > 0.99


def test_prototypes_and_bad_inputs():
    np.testing.assert_allclose(support_prototypes([[0.0], [2.0], [5.0]], [0, 0, 1], 2), [[1.0], [5.0]])
    with pytest.raises(ValueError, match="support"):
        support_prototypes([[0.0]], [0], 2)
    with pytest.raises(ValueError, match="prototypes"):
        proto_triplet_loss([[0.0]], [0], [[0.0]])
    with pytest.raises(ValueError, match="labels"):
        icnn_score([[0.0], [1.0]], [0, 0], k=1)


@pytest.mark.claim("susana_fewshot")
def test_chapter_study():
    from lossbook.stats import paired_difference

    st = episodic_study(np.arange(3))
    # every added loss improves over CE alone on the novel classes (paired over seeds, mean > 0), and
    # the combination is the best on average
    gains = st.accuracy[1:] - st.accuracy[0]
    assert np.all(gains.mean(axis=1) > 0), gains
    assert st.accuracy[3].mean() >= st.accuracy[1:3].mean(axis=1).max() - 0.01
    assert paired_difference(st.accuracy[3], st.accuracy[0]).ci_low > 0
