"""lossbook.quant.elastic against independent oracles: SciPy quadrature, Monte Carlo, limits, autograd.

Chapter: book/compression/eq-net.md.
"""

import numpy as np
import pytest
from scipy import integrate, stats

from lossbook.quant import LAWS, grid_quantization_mse, rtn_quantize, uniform_quantizer_mse, wdr_loss

torch = pytest.importorskip("torch")

SQRT3 = np.sqrt(3.0)


def _law(name, sigma=1.0):
    """The zero-mean law of standard deviation ``sigma``, as a frozen SciPy distribution (the oracle)."""
    if name == "uniform":
        return stats.uniform(loc=-SQRT3 * sigma, scale=2 * SQRT3 * sigma)
    if name == "gaussian":
        return stats.norm(scale=sigma)
    return stats.laplace(scale=sigma / np.sqrt(2.0))


def _quad_mse(levels, name, sigma=1.0, lo=-np.inf, hi=np.inf):
    """``int_lo^hi (x - Q(x))^2 p(x) dx`` for nearest-level rounding, cell by cell with ``scipy.integrate.quad``."""
    q = np.unique(np.asarray(levels, dtype=float))
    t = np.concatenate([[-np.inf], 0.5 * (q[:-1] + q[1:]), [np.inf]])
    law = _law(name, sigma)
    total = 0.0
    for k in range(q.size):
        a, b = max(t[k], lo), min(t[k + 1], hi)
        if name == "uniform":  # integrate over the support only: quad mishandles the density's jumps
            a, b = max(a, -SQRT3 * sigma), min(b, SQRT3 * sigma)
        if a >= b:
            continue
        pts = [p for p in (0.0,) if a < p < b] or None  # the Laplace density has a kink at 0
        if np.isinf(a) or np.isinf(b):
            val = integrate.quad(lambda x, qk=q[k]: (x - qk) ** 2 * law.pdf(x), a, b, epsabs=0, epsrel=1e-12,
                                 limit=200)[0]
        else:
            val = integrate.quad(lambda x, qk=q[k]: (x - qk) ** 2 * law.pdf(x), a, b, epsabs=0, epsrel=1e-12,
                                 limit=200, points=pts)[0]
        total += val
    return total


def _symmetric_grid(bits, c):
    return np.linspace(-c, c, 2**bits)


def _round_to_grid(x, levels):
    """Independent oracle of nearest-level rounding: ``argmin_k |x - q_k|`` by brute force."""
    return levels[np.argmin(np.abs(x[:, None] - levels[None, :]), axis=1)]


@pytest.mark.claim("eqn_cell_closed_form")
@pytest.mark.parametrize("law", LAWS)
def test_grid_mse_matches_quadrature_on_random_grids(law):
    rng = np.random.default_rng(1)
    for _ in range(6):
        L = int(rng.integers(1, 12))
        levels = np.sort(rng.normal(scale=1.5, size=L))
        sigma = float(np.exp(rng.normal()))
        ours = grid_quantization_mse(levels * sigma, law, sigma=sigma)
        ref = _quad_mse(levels * sigma, law, sigma)
        # quad is asked for 1e-12 relative per cell; the closed form is exact up to rounding
        assert ours == pytest.approx(ref, rel=1e-9, abs=1e-300)


@pytest.mark.claim("eqn_cell_closed_form")
@pytest.mark.parametrize("law", LAWS)
@pytest.mark.parametrize("bits", [1, 2, 3, 5, 8])
def test_granular_and_overload_parts_match_quadrature(law, bits):
    for c in (0.5, 1.7, 3.0, 6.0):
        r = uniform_quantizer_mse(bits, c, law)
        grid = _symmetric_grid(bits, c)
        gran = _quad_mse(grid, law, lo=-c, hi=c)
        over = _quad_mse(grid, law, lo=c) + _quad_mse(grid, law, hi=-c)
        assert r.granular == pytest.approx(gran, rel=1e-9, abs=1e-300)
        assert r.overload == pytest.approx(over, rel=1e-9, abs=1e-300)
        assert r.mse == pytest.approx(r.granular + r.overload, rel=1e-15)
        assert r.step == pytest.approx(2 * c / (2**bits - 1), rel=1e-15)
        # the uniform quantiser is nearest-level rounding on its grid: the two library functions agree
        assert r.mse == pytest.approx(grid_quantization_mse(grid, law), rel=1e-10)


@pytest.mark.claim("eqn_uniform_support")
@pytest.mark.parametrize("bits", range(1, 13))
def test_uniform_law_on_its_support_gives_sigma2_over_L_minus_1_squared(bits):
    sigma = 0.37
    r = uniform_quantizer_mse(bits, SQRT3 * sigma, "uniform", sigma=sigma)
    assert r.overload == 0.0
    assert r.mse == pytest.approx(sigma**2 / (2**bits - 1) ** 2, rel=1e-12)
    assert r.mse == pytest.approx(r.step**2 / 12, rel=1e-12)  # every cell is a full Delta-cell of Delta^2/12
    if bits <= 6:  # quad is slow for many cells; the identity above covers the rest
        assert r.mse == pytest.approx(_quad_mse(_symmetric_grid(bits, SQRT3 * sigma), "uniform", sigma), rel=1e-9)


@pytest.mark.claim("eqn_uniform_support")
@pytest.mark.parametrize("bits", [1, 2, 4, 8])
def test_best_clip_of_the_uniform_law_puts_levels_at_cell_centres(bits):
    from scipy.optimize import minimize_scalar

    L = 2**bits
    res = minimize_scalar(lambda c: uniform_quantizer_mse(bits, c, "uniform").mse, bounds=(0.1, 2.0),
                          method="bounded", options={"xatol": 1e-10})
    # levels at the centres of L equal cells of [-sqrt3, sqrt3]: c = sqrt3 (L - 1) / L, MSE = 1 / L^2
    assert res.x == pytest.approx(SQRT3 * (L - 1) / L, rel=1e-5)
    assert res.fun == pytest.approx(1.0 / L**2, rel=1e-8)


@pytest.mark.claim("eqn_high_resolution")
@pytest.mark.parametrize("law", ["gaussian", "laplace"])
def test_granular_error_tends_to_delta2_over_12_times_mass(law):
    c = 4.0
    inside = _law(law).cdf(c) - _law(law).cdf(-c)
    gaps = []
    for bits in range(4, 13):
        r = uniform_quantizer_mse(bits, c, law)
        gaps.append(abs(r.granular / (r.step**2 / 12 * inside) - 1))
    gaps = np.array(gaps)
    # the next term is O(Delta^2): each extra bit divides the relative gap by about 4
    assert np.all(np.diff(gaps) < 0)
    assert gaps[-1] < 1e-5
    ratios = gaps[:-1] / gaps[1:]
    assert np.all((ratios > 3.0) & (ratios < 5.0))


def _monte_carlo_cases():
    return [(law, b) for law in LAWS for b in range(2, 9)]


@pytest.mark.claim("eqn_monte_carlo")
def test_closed_form_matches_monte_carlo():
    rng = np.random.default_rng(2024)
    n = 100_000
    zs = []
    for law, bits in _monte_carlo_cases():
        x = _law(law).rvs(size=n, random_state=rng)
        for c in (1.0, 2.5):
            levels = _symmetric_grid(bits, c)
            err2 = (x - _round_to_grid(x, levels)) ** 2
            se = err2.std(ddof=1) / np.sqrt(n)
            zs.append((err2.mean() - uniform_quantizer_mse(bits, c, law).mse) / se)
    zs = np.abs(np.array(zs))
    # 42 independent z-scores: 4.5 standard errors keeps the family-wise false-alarm rate below 1e-4
    assert zs.max() < 4.5
    # and they look like |N(0,1)| draws, not like a systematic bias hidden under a loose bound
    assert zs.mean() < 1.2


@pytest.mark.claim("eqn_monte_carlo")
@pytest.mark.parametrize("law", LAWS)
def test_rtn_quantize_error_matches_the_closed_form_on_its_own_grid(law):
    rng = np.random.default_rng(7)
    n = 300_000
    w = _law(law, 0.3).rvs(size=2000, random_state=rng)  # one layer: sets the grid (min-max range)
    x = _law(law, 0.3).rvs(size=n, random_state=rng)  # fresh weights, independent of the grid
    lo, hi = w.min(), w.max()

    def on_grid(v, bits):
        # rows (clip(v), lo, hi) all have the range [lo, hi]; clipping does not change the nearest level
        return rtn_quantize(np.column_stack([np.clip(v, lo, hi), np.full(v.size, lo), np.full(v.size, hi)]),
                            bits)[:, 0]

    for bits in (2, 4, 6, 8):
        levels = np.unique(on_grid(np.linspace(lo, hi, 8 * 2**bits), bits))
        assert levels.size == 2**bits
        err2 = (x - on_grid(x, bits)) ** 2
        se = err2.std(ddof=1) / np.sqrt(n)
        # 12 z-scores over the parametrisation: 4.5 standard errors keeps false alarms below 1e-4
        assert abs(err2.mean() - grid_quantization_mse(levels, law, sigma=0.3)) < 4.5 * se


def _minmax_clip(law, n):
    """The median of ``max_i |X_i|`` over ``n`` draws (the min-max range of a symmetric quantiser)."""
    return float(_law(law).ppf(0.5 + 0.5 * 0.5 ** (1.0 / n)))


@pytest.mark.claim("eqn_minmax_ordering")
@pytest.mark.parametrize("n", [256, 4096, 65536])
def test_min_max_error_is_ordered_uniform_gaussian_laplace_at_every_bit_width(n):
    for bits in range(2, 9):
        # the layer's own weights lie inside their min-max range: the granular part is their error
        m = [uniform_quantizer_mse(bits, _minmax_clip(law, n), law).granular for law in LAWS]
        assert m[0] < m[1] < m[2]
        # and from 3 bits on the penalty is nearly bit-independent: within 30% of its 8-bit (high-resolution)
        # value; at 2 bits the Laplace law's tail makes it up to 1.9 times larger
        m8 = [uniform_quantizer_mse(8, _minmax_clip(law, n), law).granular * 255**2 for law in LAWS]
        ratio = np.array(m) * (2**bits - 1) ** 2 / np.array(m8)
        assert np.all((ratio > 0.99) & (ratio < (1.3 if bits >= 3 else 2.0)))
    # the uniform law's min-max range is its support whatever n: its error stays within 1% of 1/(L-1)^2
    assert uniform_quantizer_mse(8, _minmax_clip("uniform", n), "uniform").mse * 255**2 == pytest.approx(1, rel=1e-2)


@pytest.mark.claim("eqn_minmax_ordering")
def test_min_max_ordering_holds_for_sampled_weights():
    rng = np.random.default_rng(11)
    n = 4096
    for bits in range(2, 9):
        mses = []
        for law in LAWS:
            x = _law(law).rvs(size=(20, n), random_state=rng)
            q = rtn_quantize(x, bits)  # one row per draw: per-row min-max ranges
            mses.append(np.mean((x - q) ** 2))
        assert mses[0] < mses[1] < mses[2]


@pytest.mark.claim("eqn_kurtosis")
@pytest.mark.parametrize(("law", "kurt"), [("uniform", 1.8), ("gaussian", 3.0), ("laplace", 6.0)])
def test_kurtosis_of_the_three_laws_and_wdr_loss(law, kurt):
    # exact (non-excess) kurtosis from SciPy
    assert float(_law(law).stats(moments="k")) + 3.0 == pytest.approx(kurt, abs=1e-12)
    rng = np.random.default_rng(3)
    n = 1_000_000
    x = _law(law).rvs(size=n, random_state=rng)
    z = (x - x.mean()) / x.std()
    se = (z**4).std() / np.sqrt(n)  # standard error of the sample fourth moment (a slight overestimate)
    w = torch.as_tensor(x)
    # with the target at 0 and no skewness term, wdr_loss returns Kurt^2
    k_ours = float(wdr_loss([w], kurt_target=1.0, lam_k=1.0, lam_s=0.0)) ** 0.5 + 1.0
    assert k_ours == pytest.approx(stats.kurtosis(x, fisher=False), rel=1e-10)
    assert abs(k_ours - kurt) < 5 * se
    if law == "uniform":
        assert float(wdr_loss([w])) < 1e-4  # the skewness term is O(1/n) and the kurtosis gap O(se^2)


@pytest.mark.claim("eqn_kurtosis")
def test_wdr_loss_matches_scipy_moments_and_averages_layers():
    rng = np.random.default_rng(5)
    ws = [rng.gamma(2.0, size=(7, 5)), rng.normal(size=40), rng.standard_t(4, size=(3, 3, 4))]
    ref_k = np.mean([(stats.kurtosis(w.ravel(), fisher=False) - 1.8) ** 2 for w in ws])
    ref_s = np.mean([stats.skew(w.ravel()) ** 2 for w in ws])
    got = float(wdr_loss([torch.as_tensor(w) for w in ws], lam_k=0.015, lam_s=1.0))
    assert got == pytest.approx(0.015 * ref_k + ref_s, rel=1e-12)
    # scale and shift invariance, float32 at extreme scales
    w = torch.as_tensor(ws[0])
    for s in (1e-300, 1e-30, 1e30, 1e300):
        assert float(wdr_loss([w * s + 3 * s])) == pytest.approx(float(wdr_loss([w])), rel=1e-9)
    for s in (1e-40, 1.0, 1e30):
        w32 = (w * s).float()
        assert float(wdr_loss([w32])) == pytest.approx(float(wdr_loss([w])), rel=1e-3)


def test_wdr_gradient_matches_finite_differences():
    rng = np.random.default_rng(8)
    ws = [torch.tensor(rng.normal(size=(4, 3)), requires_grad=True),
          torch.tensor(rng.laplace(size=6), requires_grad=True)]
    assert torch.autograd.gradcheck(lambda a, b: wdr_loss([a, b]), ws, eps=1e-6, atol=1e-7)


def test_wdr_refuses_bad_input_with_named_errors():
    w = torch.ones(3, dtype=torch.float64)
    with pytest.raises(ValueError, match="weights\\[0\\] is constant"):
        wdr_loss([w])
    with pytest.raises(TypeError, match="weights"):
        wdr_loss(w)
    with pytest.raises(ValueError, match="kurt_target"):
        wdr_loss([torch.randn(5, dtype=torch.float64)], kurt_target=0.5)


@pytest.mark.claim("eqn_gpg_properties")
def test_gpg_gradient_is_a_pull_toward_the_mixed_target():
    from lossbook.quant import gpg_loss

    gen = torch.Generator().manual_seed(3)
    n, K, alpha = 5, 4, 0.3
    f = [torch.randn(n, K, generator=gen, dtype=torch.float64, requires_grad=True) for _ in range(3)]
    y = torch.tensor([0, 3, 1, 1, 2])
    loss = gpg_loss(f, y, alpha=alpha)
    loss.sum().backward()
    p = [torch.softmax(t.detach(), 1) for t in f]
    e = torch.nn.functional.one_hot(y, K).double()
    # subnet 0: plain cross-entropy; subnet j >= 1: p_j - (alpha p_{j-1} + (1 - alpha) e_y), batch mean.
    # Summed losses: subnet j's gradient comes only from its own term (the teacher is detached).
    assert torch.allclose(f[0].grad, (p[0] - e) / n, atol=1e-14)
    for j in (1, 2):
        assert torch.allclose(f[j].grad, (p[j] - (alpha * p[j - 1] + (1 - alpha) * e)) / n, atol=1e-14)


@pytest.mark.claim("eqn_gpg_properties")
def test_gpg_kl_matches_scipy_and_vanishes_for_equal_logits():
    from scipy.special import log_softmax, rel_entr

    from lossbook.quant import gpg_loss

    rng = np.random.default_rng(4)
    a, b = rng.normal(size=(6, 3)) * 3, rng.normal(size=(6, 3)) * 3
    y = rng.integers(0, 3, size=6)
    la, lb = log_softmax(a, axis=1), log_softmax(b, axis=1)
    kl = rel_entr(np.exp(la), np.exp(lb)).sum(axis=1).mean()
    ce = -lb[np.arange(6), y].mean()
    got = gpg_loss([torch.as_tensor(a), torch.as_tensor(b)], torch.as_tensor(y), alpha=0.5)
    assert float(got[1]) == pytest.approx(0.5 * kl + 0.5 * ce, rel=1e-12)
    assert float(got[0]) == pytest.approx(-la[np.arange(6), y].mean(), rel=1e-12)
    same = gpg_loss([torch.as_tensor(a), torch.as_tensor(a)], torch.as_tensor(y), alpha=1.0)
    assert float(same[1]) == pytest.approx(0.0, abs=1e-15)
    # a teacher with zero probabilities (logit gap beyond the float range) gives no NaN
    big = torch.tensor([[1e308, -1e308]], dtype=torch.float64)
    out = gpg_loss([big, big.clone()], torch.tensor([0]))
    assert torch.all(torch.isfinite(out))


def _per_tensor(W, bits):
    """rtn_quantize with one min-max range per matrix: rows (w, min W, max W) all have the range of W."""
    v = W.ravel()
    return rtn_quantize(np.column_stack([v, np.full(v.size, v.min()), np.full(v.size, v.max())]), bits)[:, 0].reshape(
        W.shape)


def test_per_tensor_rows_equal_rtn_on_the_flattened_matrix():
    W = np.random.default_rng(9).normal(size=(6, 5)) * 0.1
    for bits in (2, 3, 8):
        assert np.array_equal(_per_tensor(W, bits), rtn_quantize(W.reshape(1, -1), bits).reshape(W.shape))


def _train_digits(seed, regularise, epochs=20, hidden=32):
    """The chapter's protocol at a smaller scale: 64-h-h-10 ReLU net, Adam, WDR on the layers after the first."""
    import torch.nn.functional as F

    from lossbook.datasets import load_digits_split
    from lossbook.training import accuracy, seeded, train

    split = load_digits_split(standardize=True, seed=seed)
    with seeded(seed):
        net = torch.nn.Sequential(torch.nn.Linear(64, hidden), torch.nn.ReLU(), torch.nn.Linear(hidden, hidden),
                                  torch.nn.ReLU(), torch.nn.Linear(hidden, 10))
    reg = [net[2].weight, net[4].weight]

    def loss_fn(out, y):
        ce = F.cross_entropy(out, y)
        return ce + wdr_loss(reg) if regularise else ce

    train(net, loss_fn, split.X_train, split.y_train, epochs=epochs, lr=1e-2, seed=seed, batch_size=64,
          optimizer="adam")
    full = {i: net[i].weight.detach().double().numpy().copy() for i in (0, 2, 4)}
    out = {"fp": accuracy(net, split.X_test, split.y_test),
           "kurt": [stats.kurtosis(full[i].ravel(), fisher=False) for i in (2, 4)], "acc": {}, "err": {}}
    for bits in (2, 4, 8):
        q = {i: _per_tensor(w, bits) for i, w in full.items()}
        with torch.no_grad():
            for i in q:
                net[i].weight.copy_(torch.as_tensor(q[i]))
        out["acc"][bits] = accuracy(net, split.X_test, split.y_test)
        out["err"][bits] = [np.sum((full[i] - q[i]) ** 2) / np.sum((full[i] - full[i].mean()) ** 2) for i in (2, 4)]
    return out


@pytest.mark.claim("eqn_wdr_kurtosis")
@pytest.mark.claim("eqn_wdr_mse")
@pytest.mark.claim("eqn_wdr_accuracy")
def test_wdr_training_reaches_the_kurtosis_target_and_lowers_quantisation_error():
    torch.set_num_threads(1)
    seeds = (0, 1, 2)
    plain = [_train_digits(s, False) for s in seeds]
    wdr = [_train_digits(s, True) for s in seeds]
    for p, r in zip(plain, wdr, strict=True):
        # the regulariser reaches its target; without it the trained layers are heavier-tailed than uniform
        assert np.all(np.abs(np.array(r["kurt"]) - 1.8) < 0.05)
        assert np.mean(p["kurt"]) > 1.9
        # lower relative quantisation error in both regularised layers at every tested bit-width
        for bits in (2, 4, 8):
            assert np.all(np.array(r["err"][bits]) < np.array(p["err"][bits]))
    # no full-precision cost beyond a test-set sample or two (540 test digits: 0.01 is about 5 samples)
    assert np.mean([r["fp"] for r in wdr]) > np.mean([p["fp"] for p in plain]) - 0.01
    # accuracy: a gain at 2 bits on average, and the curves meet at 8 bits
    assert np.mean([r["acc"][2] - p["acc"][2] for p, r in zip(plain, wdr, strict=True)]) > 0
    assert abs(np.mean([r["acc"][8] - p["acc"][8] for p, r in zip(plain, wdr, strict=True)])) < 0.01


@pytest.mark.claim("eqn_cell_closed_form")
@pytest.mark.parametrize("law", ["gaussian", "laplace"])
def test_narrow_cells_keep_full_accuracy_against_mpmath(law):
    mp = pytest.importorskip("mpmath")
    mp.mp.dps = 40
    bits, c = 7, 4.0  # step 0.063 sigma: the plain antiderivatives lose about 5 digits here
    q = [mp.mpf(v) for v in np.linspace(-c, c, 2**bits)]
    t = [-mp.inf] + [(q[k] + q[k + 1]) / 2 for k in range(len(q) - 1)] + [mp.inf]
    if law == "gaussian":
        def pdf(x):
            return mp.exp(-x * x / 2) / mp.sqrt(2 * mp.pi)
    else:
        def pdf(x):
            return mp.exp(-mp.sqrt(2) * abs(x)) / mp.sqrt(2)
    ref = mp.mpf(0)
    for k, qk in enumerate(q):
        pts = [t[k]] + ([mp.mpf(0)] if t[k] < 0 < t[k + 1] else []) + [t[k + 1]]
        ref += mp.quad(lambda x, qk=qk: (x - qk) ** 2 * pdf(x), pts)
    assert uniform_quantizer_mse(bits, c, law).mse == pytest.approx(float(ref), rel=1e-12)
