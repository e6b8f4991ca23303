"""Distillation losses: closed-form gradients vs autograd and finite differences, BKL as a Bregman divergence,
temperature limits, the collapse theorem, the two-head separation and the chapter's toy experiment."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import expit

from lossbook.collapse import simplex_etf
from lossbook.metric_learning import (
    DISTILLATION_METHODS,
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
from lossbook.stats import paired_difference, summarize_seeds

torch = pytest.importorskip("torch")
F = torch.nn.functional


def logits(seed, n=7, C=5, scale=3.0):
    rng = np.random.default_rng(seed)
    return scale * rng.standard_normal((n, C)), scale * rng.standard_normal((n, C)), rng.integers(0, C, n)


def torch_bkl(zs, zt, T):
    """Independent oracle: BCE with soft targets minus the targets' entropy is the binary KL."""
    target = torch.sigmoid(zt / T)
    cross = F.binary_cross_entropy_with_logits(zs / T, target, reduction="sum")
    entropy = F.binary_cross_entropy_with_logits(zt / T, target, reduction="sum")
    return T * T * (cross - entropy) / zs.shape[0]


def torch_kd(zs, zt, T):
    return T * T * F.kl_div(F.log_softmax(zs / T, 1), F.log_softmax(zt / T, 1), log_target=True,
                            reduction="batchmean")


def _grad(fn, zs):
    z = torch.tensor(zs, requires_grad=True)
    v = fn(z)
    (g,) = torch.autograd.grad(v, z)
    return v.item(), g.numpy()


# tolerances: float64 throughout; the closed forms and torch differ only by rounding (a few ulps of values of
# order 1-100), so 1e-10 relative is generous; central differences with h = 1e-5 err by O(h^2) ~ 1e-10 times the
# third derivative plus rounding ~ eps / h ~ 1e-11, hence 1e-6.
@pytest.mark.claim("dhkd_grads")
@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("T", [0.5, 1.0, 4.0, 20.0])
def test_losses_and_logit_gradients_equal_torch_autograd(seed, T):
    zs, zt, y = logits(seed)
    yt = torch.as_tensor(y)
    for ours, grad, ref in (
        (lambda: cross_entropy_loss(zs, y), lambda: cross_entropy_gradient(zs, y),
         lambda z: F.cross_entropy(z, yt)),
        (lambda: kd_loss(zs, zt, temperature=T), lambda: kd_gradient(zs, zt, temperature=T),
         lambda z: torch_kd(z, torch.tensor(zt), T)),
        (lambda: binary_kl_loss(zs, zt, temperature=T), lambda: binary_kl_gradient(zs, zt, temperature=T),
         lambda z: torch_bkl(z, torch.tensor(zt), T)),
    ):
        v_ref, g_ref = _grad(ref, zs)
        assert ours() == pytest.approx(v_ref, rel=1e-10, abs=1e-12)
        np.testing.assert_allclose(grad(), g_ref, rtol=1e-9, atol=1e-12)


@pytest.mark.claim("dhkd_grads")
@pytest.mark.parametrize("seed", range(4))
def test_logit_and_head_gradients_match_central_finite_differences(seed):
    zs, zt, y = logits(seed, n=4, C=3)
    h = 1e-5
    for loss, grad in ((lambda z: cross_entropy_loss(z, y), cross_entropy_gradient(zs, y)),
                       (lambda z: kd_loss(z, zt, temperature=2.0), kd_gradient(zs, zt, temperature=2.0)),
                       (lambda z: binary_kl_loss(z, zt, temperature=2.0), binary_kl_gradient(zs, zt, temperature=2.0))):
        fd = np.zeros_like(zs)
        for idx in np.ndindex(zs.shape):
            e = np.zeros_like(zs)
            e[idx] = h
            fd[idx] = (loss(zs + e) - loss(zs - e)) / (2 * h)
        np.testing.assert_allclose(grad, fd, rtol=1e-6, atol=1e-8)
    # head: z = H W^T + b; finite differences of BKL in W through the head
    rng = np.random.default_rng(seed)
    H, W, b = rng.standard_normal((4, 6)), rng.standard_normal((3, 6)), rng.standard_normal(3)
    gW, gb, gH = head_gradients(binary_kl_gradient(H @ W.T + b, zt, temperature=2.0), H, W)
    for idx in np.ndindex(W.shape):
        e = np.zeros_like(W)
        e[idx] = h
        fd = (binary_kl_loss(H @ (W + e).T + b, zt, temperature=2.0)
              - binary_kl_loss(H @ (W - e).T + b, zt, temperature=2.0)) / (2 * h)
        assert gW[idx] == pytest.approx(fd, rel=1e-6, abs=1e-8)
    # the same three gradients by autograd through torch.nn.functional.linear
    Ht, Wt, bt = (torch.tensor(a, requires_grad=True) for a in (H, W, b))
    ref = torch.autograd.grad(torch_bkl(F.linear(Ht, Wt, bt), torch.tensor(zt), 2.0), (Wt, bt, Ht))
    for ours, r in zip((gW, gb, gH), ref, strict=True):
        np.testing.assert_allclose(ours, r.numpy(), rtol=1e-9, atol=1e-12)


@pytest.mark.claim("dhkd_grads")
def test_head_cosine_equals_the_cosine_of_autograd_head_gradients():
    rng = np.random.default_rng(3)
    H, W, b = rng.standard_normal((9, 4)), rng.standard_normal((5, 4)), rng.standard_normal(5)
    zt, y = 3 * rng.standard_normal((9, 5)), rng.integers(0, 5, 9)
    Wt = torch.tensor(W, requires_grad=True)
    z = F.linear(torch.tensor(H), Wt, torch.tensor(b))
    (g1,) = torch.autograd.grad(F.cross_entropy(z, torch.as_tensor(y)), Wt, retain_graph=True)
    (g2,) = torch.autograd.grad(torch_bkl(z, torch.tensor(zt), 4.0), Wt)
    ref = float((g1 * g2).sum() / (g1.norm() * g2.norm()))
    assert ce_bkl_head_cosine(H, W, y, zt, bias=b, temperature=4.0) == pytest.approx(ref, abs=1e-12)


@pytest.mark.claim("dhkd_bregman")
@pytest.mark.parametrize("seed", range(20))
def test_bkl_is_the_softplus_bregman_divergence_nonnegative_and_zero_only_at_equality(seed):
    rng = np.random.default_rng(seed)
    zs, zt = 10 * rng.standard_normal((3, 4)), 10 * rng.standard_normal((3, 4))
    T = float(rng.choice([0.01, 1.0, 7.0]))
    a, b = zt / T, zs / T
    sp = lambda x: np.logaddexp(0.0, x)  # noqa: E731
    sig = expit(a)
    # direct Bernoulli KL, p log p/q + (1-p) log (1-p)/(1-q) (log-sigmoid forms), as a second definition
    direct = sig * (-sp(-a) + sp(-b)) + (1 - sig) * (-sp(a) + sp(b))
    assert binary_kl_loss(zs, zt, temperature=T) == pytest.approx(T * T * direct.sum() / 3, rel=1e-9, abs=1e-300)
    assert binary_kl_loss(zs, zt, temperature=T) > 0
    assert binary_kl_loss(zt, zt, temperature=T) == 0.0
    # strict convexity in the student logits: the midpoint lies strictly below the chord
    w = 10 * rng.standard_normal((3, 4))
    mid = binary_kl_loss((zs + w) / 2, zt, temperature=1.0)
    assert mid < (binary_kl_loss(zs, zt, temperature=1.0) + binary_kl_loss(w, zt, temperature=1.0)) / 2
    # one entry off by a little is already positive (at a moderate |zt / T|: far out in the tails the true
    # value, of order e^{-|zt| / T}, underflows), and the gradient is bounded by T / n
    zt2 = zt.copy()
    zt2[0, 0] = 0.3 * T
    zs2 = zt2.copy()
    zs2[0, 0] += 1e-3 * T
    assert binary_kl_loss(zs2, zt2, temperature=T) > 0
    assert np.max(np.abs(binary_kl_gradient(zs, zt, temperature=T))) <= T / 3


@pytest.mark.claim("dhkd_bregman")
def test_bkl_stays_finite_and_exact_for_extreme_logits():
    zs = np.array([[1e100, -1e100, 50.0, 0.0]])
    zt = np.array([[-1e100, 1e100, 50.0 + 1e-8, 700.0]])
    v = binary_kl_loss(zs, zt, temperature=1e-3)
    assert np.isfinite(v) and v > 0
    # teacher and student both very confident and equal: exactly 0, not a cancellation residue
    assert binary_kl_loss([[800.0, -800.0]], [[800.0, -800.0]], temperature=1.0) == 0.0
    # a > 0 large, b slightly larger: KL ~ e^{-a} (b - a - 1 + e^{-(b-a)}) ~ e^{-a} (b-a)^2 / 2
    a, d = 40.0, 1e-3
    expected = np.exp(-a) * (d * d / 2 - d ** 3 / 6)
    assert binary_kl_loss([[a + d]], [[a]], temperature=1.0) == pytest.approx(expected, rel=1e-6)
    tt = torch.tensor(zs, requires_grad=True)
    assert torch.isfinite(binary_kl_loss_torch(tt, torch.tensor(zt), temperature=1e-3))


@pytest.mark.claim("dhkd_limits")
@pytest.mark.parametrize("seed", range(5))
def test_high_temperature_limits_are_logit_mse_and_centred_mse(seed):
    zs, zt, _ = logits(seed, n=6, C=4, scale=2.0)
    n, C = zs.shape
    d = zs - zt
    bkl_lim = np.sum(d * d) / (8 * n)
    dc = d - d.mean(axis=1, keepdims=True)
    kd_lim = np.sum(dc * dc) / (2 * C * n)
    err = {}
    for T in (1e2, 1e3):
        err[T] = (abs(binary_kl_loss(zs, zt, temperature=T) / bkl_lim - 1),
                  abs(kd_loss(zs, zt, temperature=T) / kd_lim - 1))
    # BKL: softplus has f'''(0) = 0, so the next term is O(|z|^2 / T^2): tenfold T, error down ~ a hundredfold.
    # KD: the softmax's third cumulant does not vanish, so its next term is O(|z| / T): down ~ tenfold.
    assert err[1e3][0] < 1e-4 and err[1e3][1] < 2e-3
    assert err[1e2][0] / err[1e3][0] > 30 and 5 < err[1e2][1] / err[1e3][1] < 20


@pytest.mark.claim("dhkd_limits")
@pytest.mark.parametrize("seed", range(5))
def test_low_temperature_limit_of_bkl_is_a_hinge_on_the_teacher_sign(seed):
    rng = np.random.default_rng(seed)
    zs = 3 * rng.standard_normal((5, 4))
    zt = np.sign(rng.standard_normal((5, 4))) * rng.uniform(0.5, 3.0, (5, 4))  # |zt| >= 0.5
    T = 1e-3
    hinge = np.sum(np.maximum(0.0, -np.sign(zt) * zs)) / 5
    # softplus(x) - max(0, x) lies in (0, log 2] and the sigma(-|a|) term is below e^{-500}: error <= 2 C T log 2
    assert abs(binary_kl_loss(zs, zt, temperature=T) / T - hinge) <= 2 * 4 * T * np.log(2)


@pytest.mark.claim("dhkd_limits")
@pytest.mark.parametrize("seed", range(5))
def test_kd_ignores_a_per_row_shift_and_bkl_does_not(seed):
    zs, zt, _ = logits(seed)
    shift = np.random.default_rng(seed).normal(0, 5, (zs.shape[0], 1))
    assert kd_loss(zs + shift, zt, temperature=3.0) == pytest.approx(kd_loss(zs, zt, temperature=3.0), rel=1e-10)
    assert kd_loss(zt + shift, zt, temperature=3.0) == pytest.approx(0.0, abs=1e-12)
    assert binary_kl_loss(zt + shift, zt, temperature=3.0) > 1e-3
    np.testing.assert_allclose(kd_gradient(zs, zt).sum(axis=1), 0.0, atol=1e-15)
    np.testing.assert_allclose(cross_entropy_gradient(zs, np.zeros(7, int)).sum(axis=1), 0.0, atol=1e-15)


@pytest.mark.claim("dhkd_dominance")
@pytest.mark.parametrize("seed", range(30))
def test_a_student_dominating_the_teacher_conflicts_and_the_reverse_agrees(seed):
    rng = np.random.default_rng(seed)
    C = int(rng.integers(2, 8))
    y = int(rng.integers(0, C))
    zt = 3 * rng.standard_normal((1, C))
    gap = rng.uniform(0.0, 2.0, (1, C))
    gap[0, int(rng.integers(0, C))] += 0.1  # at least one strict inequality
    sign = -np.ones((1, C))
    sign[0, y] = 1.0
    T = float(rng.uniform(0.5, 8.0))
    for direction in (1.0, -1.0):
        zs = zt + direction * sign * gap  # +1: own logit up, rivals down (dominates); -1: the reverse
        inner = np.sum(cross_entropy_gradient(zs, [y]) * binary_kl_gradient(zs, zt, temperature=T))
        assert inner * direction < 0
    # with both sides free (neither order) either sign occurs: the hypothesis is not superfluous
    signs = set()
    for s2 in range(200):
        zs = zt + np.random.default_rng(1000 + s2).normal(0, 2, (1, C))
        signs.add(np.sign(np.sum(cross_entropy_gradient(zs, [y]) * binary_kl_gradient(zs, zt, temperature=T))))
    assert {-1.0, 1.0} <= signs


def collapsed(C, d, rho, gamma, beta, n_per, Tlog, seed):
    """Balanced, collapsed features at an ETF of squared norm rho, self-dual head, class-constant teacher."""
    M = simplex_etf(C, d, scale=np.sqrt(rho), seed=seed).T  # (C, d), rows mu_k
    y = np.repeat(np.arange(C), n_per)
    H = M[y]
    W, b = gamma * M, np.full(C, beta)
    return M, y, H, W, b, Tlog[y]


@pytest.mark.claim("dhkd_collapse")
@pytest.mark.parametrize("seed", range(8))
def test_collapse_theorem_inner_products_at_head_and_features(seed):
    rng = np.random.default_rng(seed)
    C = int(rng.integers(2, 7))
    d = C + int(rng.integers(0, 3))
    rho, gamma, beta, T = rng.uniform(0.5, 3), rng.uniform(0.2, 2), rng.normal(), rng.uniform(0.5, 6)
    teacher = 3 * rng.standard_normal((C, C)) + 8 * (seed % 2) * np.eye(C)  # odd seeds: a sharp teacher (kappa < 0)
    M, y, H, W, b, zt = collapsed(C, d, rho, gamma, beta, 3, teacher, seed)
    n = y.size
    Z = H @ W.T + b
    g_ce, g_bkl = cross_entropy_gradient(Z, y), binary_kl_gradient(Z, zt, temperature=T)
    W_ce, _, H_ce = head_gradients(g_ce, H, W)
    W_bkl, _, H_bkl = head_gradients(g_bkl, H, W)
    zk = M @ W.T + b  # student logits of each class
    D = 1 / (1 + np.exp(-zk / T)) - 1 / (1 + np.exp(-teacher / T))
    kappa = np.trace(D) / C - D.sum() / C**2
    p = np.exp(zk[0] - zk[0].max())
    p_b = (p / p.sum())[1]
    head_inner = -(p_b * T * rho * C / (C - 1)) * kappa
    feat_inner = -(p_b * gamma**2 * T * rho * C**2 / (n * (C - 1))) * kappa
    assert np.sum(W_ce * W_bkl) == pytest.approx(head_inner, rel=1e-9, abs=1e-13)
    assert np.sum(H_ce * H_bkl) == pytest.approx(feat_inner, rel=1e-9, abs=1e-13)
    # the CE head gradient is -p_b M, the BKL one (T / C) D^T M
    np.testing.assert_allclose(W_ce, -p_b * M, atol=1e-12)
    np.testing.assert_allclose(W_bkl, T / C * D.T @ M, atol=1e-12)


@pytest.mark.claim("dhkd_collapse")
@pytest.mark.parametrize("a_t", [-1.0, 0.5, 2.0, 6.0])
def test_symmetric_teacher_makes_the_head_and_feature_gradients_exactly_antiparallel_or_parallel(a_t):
    C, T = 5, 4.0
    teacher = a_t * np.eye(C) - a_t / (C - 1) * (1 - np.eye(C))
    M, y, H, W, b, zt = collapsed(C, C, 1.0, 1.5, 0.0, 2, teacher, 0)
    zk = M @ W.T
    a_s = zk[0, 0]
    sig = lambda x: 1 / (1 + np.exp(-x / T))  # noqa: E731
    delta = (sig(a_s) - sig(a_t)) - (sig(zk[0, 1]) - sig(teacher[0, 1]))
    expected = -np.sign(delta)
    assert ce_bkl_head_cosine(H, W, y, zt, temperature=T) == pytest.approx(expected, abs=1e-12)
    Z = H @ W.T
    _, _, g1 = head_gradients(cross_entropy_gradient(Z, y), H, W)
    _, _, g2 = head_gradients(binary_kl_gradient(Z, zt, temperature=T), H, W)
    for i in range(y.size):
        assert gradient_cosine(g1[i], g2[i]) == pytest.approx(expected, abs=1e-12)


@pytest.mark.claim("dhkd_twohead")
def test_second_head_gives_exactly_zero_bkl_gradient_to_the_main_head_but_not_to_the_backbone():
    torch.manual_seed(0)
    backbone, h0, h1 = torch.nn.Linear(6, 4).double(), torch.nn.Linear(4, 3).double(), torch.nn.Linear(4, 3).double()
    X, zt = torch.randn(8, 6, dtype=torch.float64), 3 * torch.randn(8, 3, dtype=torch.float64)
    loss = binary_kl_loss_torch(h1(torch.relu(backbone(X))), zt)
    g = torch.autograd.grad(loss, [h0.weight, h0.bias, backbone.weight], allow_unused=True)
    assert g[0] is None and g[1] is None  # the main head is not in the graph at all
    assert g[2].abs().max() > 0


@pytest.mark.claim("dhkd_twohead")
@pytest.mark.parametrize("seed", range(5))
def test_at_collapse_an_affine_second_head_fits_class_constant_teacher_logits_exactly(seed):
    rng = np.random.default_rng(seed)
    C = int(rng.integers(2, 8))
    teacher = 4 * rng.standard_normal((C, C))
    M, y, H, W, b, zt = collapsed(C, C + 1, 1.0, 1.0, 0.0, 2, teacher, seed)
    A = np.hstack([M, np.ones((C, 1))])  # affine design on the C class means (affinely independent)
    sol = np.linalg.lstsq(A, teacher, rcond=None)[0]
    W1, b1 = sol[:-1].T, sol[-1]
    Z1 = H @ W1.T + b1
    assert np.max(np.abs(Z1 - zt)) < 1e-9
    # rounding floor: each term is a difference of softplus values of order |z| / T, so about
    # T^2 * C * eps * |z| / T ~ 1e-13 at T = 4, C <= 7, |z| ~ 10
    assert binary_kl_loss(Z1, zt) < 1e-12
    assert np.max(np.abs(head_gradients(binary_kl_gradient(Z1, zt), H, W1)[2])) < 1e-10
    # without the bias the fit needs centred teacher columns; a generic teacher is not fitted
    lin = np.linalg.lstsq(M, teacher, rcond=None)[0]
    assert np.max(np.abs(M @ lin - teacher)) > 1e-3


def test_input_validation_names_the_argument():
    with pytest.raises(ValueError, match="temperature"):
        kd_loss([[1.0]], [[1.0]], temperature=0.0)
    with pytest.raises(ValueError, match="same shape"):
        binary_kl_loss([[1.0, 2.0]], [[1.0]])
    with pytest.raises(ValueError, match="labels"):
        cross_entropy_loss([[1.0, 2.0]], [2])
    with pytest.raises(ValueError, match="finite"):
        binary_kl_gradient([[np.nan]], [[1.0]])
    with pytest.raises(ValueError, match="all zero"):
        gradient_cosine([0.0, 0.0], [1.0, 0.0])
    with pytest.raises(ValueError, match="weights"):
        head_gradients([[1.0, 2.0]], [[1.0]], [[1.0, 2.0]])
    with pytest.raises(ValueError, match="methods"):
        distillation_study([0], methods=("bkl",))
    with pytest.raises(TypeError, match="student_logits"):
        binary_kl_loss_torch(np.zeros((1, 1)), torch.zeros(1, 1))


# --- the chapter's experiment (same arguments; about 10 s of CPU on one core) ---------------------------------
SEEDS = list(range(5))


@pytest.fixture(scope="module")
def study():
    return distillation_study(SEEDS)


def test_study_is_reproducible_and_shaped():
    kw = dict(n_classes=3, dim=4, n_train=30, n_teacher=60, n_test=30, steps=6, teacher_steps=5, log_every=3)
    a, b = distillation_study([1], **kw), distillation_study([1], **kw)
    assert a.methods == DISTILLATION_METHODS and a.steps.tolist() == [0, 3]
    for m in DISTILLATION_METHODS:
        np.testing.assert_array_equal(a.accuracy[m], b.accuracy[m])
        np.testing.assert_array_equal(a.head_cosine[m], b.head_cosine[m])
    # at step 0 every method has the same student, so the same cosines
    assert len({float(a.head_cosine[m][0, 0]) for m in DISTILLATION_METHODS}) == 1


@pytest.mark.claim("dhkd_head_conflict")
def test_shared_head_ends_in_conflict_at_the_head(study):
    final = summarize_seeds(study.head_cosine["ce+bkl shared"][:, -1])
    assert final.ci_high < 0


@pytest.mark.claim("dhkd_backbone")
def test_shared_head_backbone_cosine_is_negative_too(study):
    final = summarize_seeds(study.backbone_cosine["ce+bkl shared"][:, -1])
    assert final.ci_high < 0


@pytest.mark.claim("dhkd_accuracy")
def test_two_heads_are_not_more_accurate_than_the_shared_head(study):
    diff = paired_difference(study.accuracy["ce+bkl two heads"], study.accuracy["ce+bkl shared"])
    assert diff.ci_high < 0


@pytest.mark.claim("dhkd_distill_helps")
def test_bkl_on_the_shared_head_beats_plain_ce(study):
    assert paired_difference(study.accuracy["ce+bkl shared"], study.accuracy["ce"]).ci_low > 0
